#!/usr/bin/python3
"""convnet vs the Python peer (../shared/peer), alternately on the same machine, medians and ratios.

Run from the repository root after the jar is built (./convnet models builds it):
    /usr/bin/python3 scripts/side_by_side.py --rounds 3 --out bench-results.json
Each round runs, each in a fresh process: peer, convnet, for every measurement below. Prints a
table of medians and the ratio convnet/peer, and writes all raw figures as JSON.

Time to accuracy (--only recipe): trains configs/preact-resnet20-cifar10-30.yaml with convnet and its
PyTorch twin peer_recipe.py on the same seeded CIFAR-10 subset, one after the other, same threads:
    /usr/bin/python3 scripts/side_by_side.py --only recipe --subset 25000 --epochs 15 \
        --set train.ema.validate_model=false --set train.best_metric=ema_val_acc --out tta.json
and reports for each side the minutes to 70 % and 80 % validation accuracy (from the command's start,
data loading included; for convnet the better of the model and its weight average), the final and best
accuracy, seconds per epoch and the precision. Measured 2026-12-04: docs/bench/tta-2026-12-04-25k.md.
ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 in the environment hold both sides to AVX2 code paths.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--cifar", default="../shared/datasets/cifar10/train")
ap.add_argument("--out", default="bench-results.json")
ap.add_argument("--only", default="train,epoch,predict,loader", help="comma list (train, train-bf16, epoch, predict, loader); or 'recipe' (time to accuracy)")
ap.add_argument("--memory-format", default="nhwc", choices=["nhwc", "nchw"], help="convnet's memory format in the train cases")
ap.add_argument("--subset", type=int, default=10000, help="recipe: training images (the peer's seeded subset; 0 = all)")
ap.add_argument("--epochs", type=int, default=15, help="recipe: epochs for both sides")
ap.add_argument("--threads", type=int, default=2, help="recipe: compute threads for both sides")
ap.add_argument("--precision", default="auto", choices=["auto", "32", "bf16"], help="recipe: both sides")
ap.add_argument("--config", default="configs/preact-resnet20-cifar10-30.yaml", help="recipe: convnet's config")
ap.add_argument("--set", action="append", default=[], help="recipe: extra convnet --set KEY=VALUE")
ap.add_argument("--order", default="peer,convnet", help="recipe: which side runs first")
ap.add_argument("--keep", default="", help="recipe: keep the logs and convnet's run directory under this folder")
a = ap.parse_args()
only = a.only.split(",")
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def cpu_info():
    text = open("/proc/cpuinfo").read()
    flags = text.split("flags", 1)[1].split("\n", 1)[0].split()
    return {"model": next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "?"),
            "cores": os.cpu_count(), **{f: f in flags for f in ["avx2", "avx512f", "avx512_bf16", "amx_bf16"]},
            "isa_env": {k: os.environ[k] for k in ["ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"] if k in os.environ}}


def timed_lines(cmd, parse, log):
    """Runs cmd, timestamps each parsed stdout line from the command's start; returns (rows, seconds, loads)."""
    import threading
    loads, done = [], threading.Event()
    def sample():
        while not done.wait(10):
            loads.append(float(open("/proc/loadavg").read().split()[0]))
    threading.Thread(target=sample, daemon=True).start()
    rows, start = [], time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as p:
        for line in p.stdout:
            log.write(line); log.flush()
            row = parse(line)
            if row is not None:
                row["t"] = round(time.monotonic() - start, 2)
                rows.append(row)
                print(f"  {cmd[0].split('/')[-1]} epoch {row['epoch']}: acc {row['acc']} ema {row.get('ema_acc')} at {row['t']:.0f} s", flush=True)
    done.set()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with exit {p.returncode}; see {log.name}")
    return rows, round(time.monotonic() - start, 1), loads


def recipe():
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.path.dirname(os.path.abspath(a.cifar.rstrip("/")))  # train/ and test/ inside
    work = a.keep or tempfile.mkdtemp(prefix="tta-")
    os.makedirs(work, exist_ok=True)
    cpu = cpu_info()
    print("cpu:", cpu, flush=True)
    manifest = os.path.join(work, f"subset{a.subset}.csv")
    if a.subset:
        with open(manifest, "w") as f:
            subprocess.run(["/usr/bin/python3", os.path.join(here, "cifar_subset_manifest.py"), data, str(a.subset)],
                           stdout=f, check=True)
    train = manifest if a.subset else os.path.join(data, "train")
    epoch_re = re.compile(r"epoch (\d+)/\d+ .*val loss \S+ acc (\S+)")
    ema_re = re.compile(r"ema acc (\S+)")
    precision_re = re.compile(r"precision (\S+)")
    seen = {}

    def parse_convnet(line):
        m = precision_re.search(line)
        if m and "epoch" not in line:
            seen["convnet_precision"] = m.group(1)
        m = epoch_re.search(line)
        if not m:
            return None
        e = ema_re.search(line)
        acc = None if m.group(2) == "-" else float(m.group(2))  # "-": ema.validate_model false, the average only
        return {"epoch": int(m.group(1)), "acc": acc, "ema_acc": float(e.group(1)) if e else None}

    def parse_peer(line):
        if line.startswith("RESULT "):
            seen["peer_result"] = json.loads(line[7:])
        if not line.startswith("EPOCH "):
            return None
        d = json.loads(line[6:])
        return {"epoch": d["epoch"], "acc": d["val_acc"], "epoch_s": d["epoch_s"]}

    sides = {
        "peer": ["/usr/bin/python3", os.path.join(a.peer, "peer_recipe.py"), "--data", data, "--epochs", str(a.epochs),
                 "--subset", str(a.subset), "--threads", str(a.threads), "--precision", a.precision],
        "convnet": ["./convnet", "train", a.config, "--run", os.path.join(work, "convnet-run"), "--restart",
                    "--threads", str(a.threads), "--set", f"data.train={train}",
                    "--set", f"data.val={os.path.join(data, 'test')}", "--set", f"train.epochs={a.epochs}",
                    "--set", "train.precision=" + {"auto": "auto", "32": "32", "bf16": "bf16-mixed"}[a.precision],
                    *[x for kv in a.set for x in ("--set", kv)]],
    }
    results = {}
    for side in a.order.split(","):
        print(f"{side}: {' '.join(sides[side])}", flush=True)
        with open(os.path.join(work, f"{side}.log"), "w") as log:
            rows, total, loads = timed_lines(sides[side], parse_convnet if side == "convnet" else parse_peer, log)
        results[side] = summarize(rows, total, loads)
    results["peer"]["precision"] = "bf16" if seen.get("peer_result", {}).get("bf16") else "32"
    results["peer"]["torch"] = seen.get("peer_result", {}).get("torch")
    results["convnet"]["precision"] = seen.get("convnet_precision", "?")
    report(results, cpu, work)


def summarize(rows, total, loads):
    best = lambda r: max(r["acc"] or 0, r.get("ema_acc") or 0)  # the better of the model and its weight average
    def reach(goal):
        hit = next((r for r in rows if best(r) >= goal), None)
        return {"epoch": hit["epoch"], "s": hit["t"]} if hit else None
    gaps = [b["t"] - a_["t"] for a_, b in zip(rows, rows[1:])]
    accs = [r["acc"] for r in rows if r["acc"] is not None]
    out = {"epochs": rows, "final_acc": rows[-1]["acc"], "best_acc": max(accs) if accs else None,
           "first_epoch_s": rows[0]["t"], "median_epoch_s": round(statistics.median(gaps), 2) if gaps else None,
           "to_70": reach(0.70), "to_80": reach(0.80), "command_s": total,
           "load_avg_median": round(statistics.median(loads), 1) if loads else None}
    if rows[-1].get("ema_acc") is not None:
        out["final_ema_acc"] = rows[-1]["ema_acc"]; out["best_ema_acc"] = max(r["ema_acc"] for r in rows)
    return out


def report(results, cpu, work):
    p, c = results["peer"], results["convnet"]
    fmt_acc = lambda x: "—" if x is None else f"{100 * x:.2f} %"
    def fmt_reach(r):
        return "not reached" if r is None else f"{r['s'] / 60:.1f} min (epoch {r['epoch']})"
    def ratio(goal):
        return f"{p[goal]['s'] / c[goal]['s']:.2f}×" if p[goal] and c[goal] else "—"
    lines = [f"CPU: {cpu['model']}, {cpu['cores']} cores, " + ", ".join(k for k in ['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'] if cpu[k])
             + (f", {cpu['isa_env']}" if cpu['isa_env'] else ""),
             f"subset {a.subset or 'all'} images, {a.epochs} epochs, {a.threads} threads, precision {a.precision}", "",
             "| | convnet | PyTorch (peer) | peer/convnet |", "|---|---|---|---|",
             f"| precision used | {c['precision']} | {p['precision']} (torch {p.get('torch')}) | |",
             f"| time to 70 % | {fmt_reach(c['to_70'])} | {fmt_reach(p['to_70'])} | {ratio('to_70')} |",
             f"| time to 80 % | {fmt_reach(c['to_80'])} | {fmt_reach(p['to_80'])} | {ratio('to_80')} |",
             f"| final accuracy | {fmt_acc(c['final_acc'])} (weight average {fmt_acc(c.get('final_ema_acc'))}) | {fmt_acc(p['final_acc'])} | |",
             f"| best accuracy | {fmt_acc(c['best_acc'])} (weight average {fmt_acc(c.get('best_ema_acc'))}) | {fmt_acc(p['best_acc'])} | |",
             f"| seconds per epoch (median) | {c['median_epoch_s']} | {p['median_epoch_s']} | {p['median_epoch_s'] / c['median_epoch_s']:.2f}× |",
             f"| first epoch ends after | {c['first_epoch_s']} s | {p['first_epoch_s']} s | |",
             f"| whole command | {c['command_s']} s | {p['command_s']} s | {p['command_s'] / c['command_s']:.2f}× |",
             f"| load average (median) | {c['load_avg_median']} | {p['load_avg_median']} | |"]
    print("\n".join(lines))
    json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "mode": "recipe", "cpu": cpu, "subset": a.subset, "epochs": a.epochs,
               "threads": a.threads, "precision": a.precision, "set": a.set, "results": results, "table": lines,
               "logs": work}, open(a.out, "w"), indent=2)
    print(f"raw figures: {a.out}; logs: {work}")


if only == ["recipe"]:
    recipe()
    sys.exit(0)
if "recipe" in only:
    sys.exit("--only recipe runs alone (it takes tens of minutes)")

def peer(script, *args):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), script) if script == "peer_epoch.py" else os.path.join(a.peer, script)
    out = subprocess.run(["/usr/bin/python3", path, *args], capture_output=True, text=True, env=env).stdout
    line = [l for l in out.splitlines() if l.startswith("RESULT ")]
    return json.loads(line[-1][7:])["img_per_s"] if line else float("nan")

def convnet(*args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(["./convnet", "bench", "--json", f.name, "--repeats", "1", *args], capture_output=True, text=True, env=env)
        try:
            doc = json.load(open(f.name))
        except (OSError, ValueError):
            return {}
        return {(r["what"], r["model"], r["precision"], r["channelsLast"], r["batch"]): r["median"] for r in doc["results"]}

cases = []  # (name, peer call, convnet args, key)
if "train" in only or "train-bf16" in only:
    for m in ["vgg11bn32", "resnet20"]:
        if "train" in only:
            cases.append((f"train fp32 {m} b64", ("peer_bench.py", "--model", m, "--mode", "train", "--steps", "20"),
                          ("--only", "train", "--models", m, "--precisions", "32", "--memory-format", a.memory_format, "--steps", "20"),
                          ("train", m, "32", a.memory_format == "nhwc", 64)))
        if "train-bf16" in only:  # the peer's autocast against convnet's bf16-mixed (CPUs with avx512_bf16 or AMX)
            cases.append((f"train bf16 {m} b64", ("peer_bench.py", "--model", m, "--mode", "train_autocast", "--steps", "20"),
                          ("--only", "train", "--models", m, "--precisions", "bf16-mixed", "--memory-format", a.memory_format, "--steps", "20"),
                          ("train", m, "bf16-mixed", a.memory_format == "nhwc", 64)))
if "epoch" in only:
    cases.append(("epoch from JPEG resnet20 b64", ("peer_epoch.py", "--peer", a.peer, "--root", a.cifar, "--model", "resnet20", "--max-batches", "200"),
                  ("--only", "epoch", "--models", "resnet20", "--memory-format", "nhwc", "--cifar", a.cifar),
                  ("epoch-jpeg", "resnet20", "32", True, 64)))
    # the same convnet run also timed the epoch from the decoded-image cache (data.cache: ram); same peer figure
    cases.append(("epoch, convnet cached, resnet20 b64", None, None, ("epoch-jpeg-cached", "resnet20", "32", True, 64)))
if "predict" in only:
    cases.append(("predict 1 image resnet20", ("peer_bench.py", "--model", "resnet20", "--mode", "eval", "--batch", "1", "--steps", "200", "--warmup", "20"),
                  ("--only", "predict", "--models", "resnet20", "--precisions", "32", "--memory-format", "nchw"),
                  ("predict", "resnet20", "32", False, 1)))
if "loader" in only:
    cases.append(("loader cifar 2 workers", ("peer_data.py", "--root", a.cifar, "--recipe", "cifar", "--mode", "loader"),
                  ("--only", "loader", "--cifar", a.cifar, "--photos", "samples/flowers"),  # bench now refuses a missing --photos folder
                  ("loader-cifar", "train", "-", False, 64)))

raw = {c[0]: {"peer": [], "convnet": []} for c in cases}
for r in range(a.rounds):
    last_peer, last_doc = float("nan"), {}
    for name, pcall, cargs, key in cases:
        if pcall is not None:
            last_peer = peer(*pcall)
        if cargs is not None:
            last_doc = convnet(*cargs)
        raw[name]["peer"].append(last_peer)
        raw[name]["convnet"].append(last_doc.get(key, float("nan")))
        print(f"round {r + 1}: {name}: peer {raw[name]['peer'][-1]:.1f}  convnet {raw[name]['convnet'][-1]:.1f}", flush=True)

print(f"\n{'measurement':34s} {'peer img/s':>11s} {'convnet img/s':>14s} {'ratio':>7s}")
summary = {}
for name in raw:
    p, c = statistics.median(raw[name]["peer"]), statistics.median(raw[name]["convnet"])
    summary[name] = {"peer_median": p, "convnet_median": c, "ratio": c / p if p else float("nan"), **raw[name]}
    print(f"{name:34s} {p:11.1f} {c:14.1f} {c / p:7.2f}")
cpu = cpu_info()
print("cpu:", cpu)
json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "rounds": a.rounds, "cpu": cpu, "results": summary}, open(a.out, "w"), indent=2)

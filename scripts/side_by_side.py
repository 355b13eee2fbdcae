#!/usr/bin/python3
"""convnet vs the Python peer (../shared/peer), alternately on the same machine, medians and ratios.

Run from the repository root after the jar is built (./convnet models builds it):
    /usr/bin/python3 scripts/side_by_side.py --rounds 3 --out bench-results.json
Each round runs, each in a fresh process: peer, convnet, for every measurement below. Prints a
table of medians and the ratio convnet/peer, and writes all raw figures as JSON.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--peer", default="../shared/peer")
ap.add_argument("--cifar", default="../shared/datasets/cifar10/train")
ap.add_argument("--out", default="bench-results.json")
ap.add_argument("--only", default="train,epoch,predict,loader")
a = ap.parse_args()
only = a.only.split(",")
env = dict(os.environ, OPENBLAS_NUM_THREADS="1")

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
if "train" in only:
    for m in ["vgg11bn32", "resnet20"]:
        cases.append((f"train fp32 {m} b64", ("peer_bench.py", "--model", m, "--mode", "train", "--steps", "20"),
                      ("--only", "train", "--models", m, "--precisions", "32", "--memory-format", "nhwc", "--steps", "20"),
                      ("train", m, "32", True, 64)))
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
flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split()
cpu = {"model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
       "cores": os.cpu_count(), **{f: f in flags for f in ["avx2", "avx512f", "avx512_bf16", "amx_bf16"]}}
print("cpu:", cpu)
json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "rounds": a.rounds, "cpu": cpu, "results": summary}, open(a.out, "w"), indent=2)

#!/usr/bin/env bash
# Throughput and latency of `convnet serve` with dynamic batching on (--max-batch 16) and off (--max-batch 1):
# 16 concurrent clients (scripts/ServeBench.java) POST single images; prints a Markdown table.
#   scripts/serve_bench.sh [RUN] [IMAGE_DIR]
# Without RUN it trains a small run first (pre-activation ResNet-20, CIFAR layout, 32 px, one epoch on two classes
# of samples/flowers: the weights do not matter for speed) into target/serve-bench/run. IMAGE_DIR defaults to
# samples/flowers (its JPEGs, up to 64, are the request bodies). Settings: CLIENTS (16), REQUESTS (2000),
# WARMUP (500), THREADS (the server's compute threads, 0 = one per core), ROUNDS (3: the settings alternate,
# each server a fresh process, and the medians close the table), BATCHES ("16 1").
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-}"
images_dir="${2:-samples/flowers}"
rounds="${ROUNDS:-3}" clients="${CLIENTS:-16}" requests="${REQUESTS:-2000}" warmup="${WARMUP:-500}" threads="${THREADS:-0}"
out=target/serve-bench
mkdir -p "$out"
if [ -z "$run" ]; then
  run="$out/run"
  if [ ! -f "$run/model/model.json" ]; then
    mkdir -p "$out/data"
    for c in daisy rose; do
      mkdir -p "$out/data/$c"
      find "samples/flowers/$c" -name '*.jpg' | sort | head -8 | xargs -I{} cp {} "$out/data/$c/"
    done
    cat > "$out/bench.yaml" <<YAML
name: serve-bench
seed: 1
model: {name: preact_resnet20_cifar}
data: {train: $PWD/$out/data, image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}
train: {epochs: 1}
YAML
    ./convnet train "$out/bench.yaml" --run "$run" >"$out/train.log" 2>&1
  fi
fi
mapfile -t images < <(find "$images_dir" -type f -iname '*.jpg' | sort | head -64)
name="$(basename "$run")"
echo "| --max-batch | requests/s | p50 ms | p90 ms | p99 ms | mean images per forward pass | not 200 |"
echo "|---|---|---|---|---|---|---|"
rm -f "$out"/result-*.json
for round in $(seq 1 "$rounds"); do
for batch in ${BATCHES:-16 1}; do
  log="$out/serve-batch$batch.log"
  ./convnet serve "$run" --port 0 --max-batch "$batch" --threads "$threads" >"$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 1 600); do
    port="$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  result="$(java scripts/ServeBench.java "http://127.0.0.1:$port/v1/models/$name:predict" "$clients" "$requests" "$warmup" "${images[@]}")"
  metrics="$(curl -s "http://127.0.0.1:$port/metrics")"
  kill -TERM "$pid"
  wait "$pid" || true
  mean="$(echo "$metrics" | awk '/^convnet_batch_size_sum/ {s=$2} /^convnet_batch_size_count/ {c=$2} END {printf "%.1f", s/c}')"
  echo "$result" | sed "s/}\$/, \"max_batch\": $batch, \"images_per_pass\": $mean}/" >"$out/result-round$round-batch$batch.json"
  echo "$result" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("| %s | %.1f | %.1f | %.1f | %.1f | %s | %d |" % (sys.argv[1], r["requests_per_s"], r["p50_ms"], r["p90_ms"], r["p99_ms"], sys.argv[2], r["not_200"]))
' "$batch" "$mean"
done
done
python3 - "$out" <<'PY'
import glob, json, statistics, sys
rows = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/result-*.json"))]
for b in sorted({r["max_batch"] for r in rows}, reverse=True):
    rs = [r for r in rows if r["max_batch"] == b]
    m = lambda k: statistics.median(r[k] for r in rs)
    print("| **%d, median of %d** | **%.1f** | **%.1f** | **%.1f** | **%.1f** | %.1f | %d |" % (
        b, len(rs), m("requests_per_s"), m("p50_ms"), m("p90_ms"), m("p99_ms"), m("images_per_pass"), sum(r["not_200"] for r in rs)))
PY

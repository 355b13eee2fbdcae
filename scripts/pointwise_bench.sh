#!/usr/bin/env bash
# 1×1 convolutions: convnet's matrix-product path against libtorch's conv2d (oneDNN), forward + backward, on the
# layer shapes of preact_resnet50's first stages; each setting in its own JVM because oneDNN's 1×1 kernel may crash
# it on AVX-512 CPUs (reported as "crashed"). Prints the CPU flags first. Usage: scripts/pointwise_bench.sh [batch] [size]
set -uo pipefail
cd "$(dirname "$0")/.."
./convnet --version >/dev/null || exit 1          # builds the jar and its lib/ when the sources changed
mvn -B -q -o test-compile -pl convnet-core >/dev/null 2>&1 || mvn -B -q test-compile -pl convnet-core || exit 1
cp="convnet-core/target/test-classes:convnet-core/target/classes:convnet-cli/target/lib/*"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
export OPENBLAS_NUM_THREADS=1
for isa in ALL AVX2; do
  for p in 32 bf16-mixed; do
    for impl in matmul conv; do
      [ "$isa" = AVX2 ] && [ "$p" = bf16-mixed ] && continue   # bf16 is emulated below AVX-512: not a fair figure
      if [ "$isa" = ALL ]; then env=(); else env=(ONEDNN_MAX_CPU_ISA=$isa); fi
      out=$(env "${env[@]}" java --enable-native-access=ALL-UNNAMED -XX:ErrorFile=/tmp/pointwise_hs_%p.log -cp "$cp" \
        convnet.bench.PointwiseBench "$impl" "$p" "${1:-32}" "${2:-56}" 2>&1)
      line=$(echo "$out" | grep -E "total|SIGFPE|SIGSEGV|SIGILL" | head -1)
      echo "${line:-$impl $p ISA=$isa: $(echo "$out" | tail -1)}"
    done
  done
done

#!/usr/bin/env bash
# build.sh [BUILD_DIR]: builds step_bench with nvcc + gcc only (the GPU
# machine has no cmake/flex/bison): libvortexrt from runtime/src (as
# scripts/gpu_check.sh does), the generated kernels of bench/step/gen (from
# prepare.sh), the adapter and the benchmark. Runs from any directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
B=${1:-build-step}
mkdir -p "$B"
CUDA=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}
# EXTRA_NVFLAGS: tuning builds (e.g. -DVX_PDL=0), see bench/step/ab.sh.
NV="nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Werror=all-warnings ${EXTRA_NVFLAGS:-}"
[ -f bench/step/gen/quest.cu ] && [ -f bench/step/gen/block_topk.cu ] ||
  { echo "bench/step/gen/*.cu missing: run bench/step/prepare.sh on the build machine"; exit 1; }
pids=()
for f in status validate hash nvrtc_loader; do
  gcc -std=c17 -O2 -fPIC -Wall -Wextra -Iruntime/include -I"$CUDA/include" \
    -DVXRT_CUDA_INCLUDE_DIR="\"$CUDA/include\"" -DVXRT_DEVICE_INCLUDE_DIR="\"$root/runtime/device\"" \
    -c runtime/src/$f.c -o "$B/rt_$f.o" & pids+=($!)
done
$NV -Iruntime/include -Iruntime/device -Iruntime/src -c runtime/src/decode_launch.cu -o "$B/rt_decode_launch.o" & pids+=($!)
# The generated sources stand alone (runtime headers pasted in): no -I.
for a in quest block_topk; do $NV -c bench/step/gen/$a.cu -o "$B/gen_$a.o" & pids+=($!); done
$NV -Ibench/step -c bench/step/algos.cu -o "$B/algos.o" & pids+=($!)
$NV -Ibench/step -Iruntime/include -c bench/step/step_bench.cu -o "$B/step_bench.o" & pids+=($!)
ok=1
for p in "${pids[@]}"; do wait "$p" || ok=0; done
[ $ok = 1 ] || { echo "build.sh: a compile failed"; exit 1; }
$NV "$B"/step_bench.o "$B"/algos.o "$B"/gen_*.o "$B"/rt_*.o -lnvrtc -o "$B/step_bench"
echo "built $B/step_bench"

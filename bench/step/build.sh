#!/usr/bin/env bash
# build.sh [BUILD_DIR]: builds step_bench with nvcc + gcc only (the GPU
# machine has no cmake/flex/bison): libvortexrt (vx_build_runtime,
# scripts/gpu_build.sh), the generated kernels of bench/step/gen (from
# prepare.sh), the adapter and the benchmark. Runs from any directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # CUDA, NVFLAGS, HASH_*, vx_build_runtime (it also sets B=build-gpu)
B=${1:-build-step}
mkdir -p "$B"
# EXTRA_NVFLAGS: tuning builds (e.g. -DVX_PDL=0), see bench/step/ab.sh.
NV="nvcc -O3 -std=c++17 $GENCODE -Werror=all-warnings ${EXTRA_NVFLAGS:-}"
[ -f bench/step/gen/quest.cu ] && [ -f bench/step/gen/block_topk.cu ] ||
  { echo "bench/step/gen/*.cu missing: run bench/step/prepare.sh on the build machine"; exit 1; }
pids=()
# shellcheck disable=SC2086
vx_build_runtime "$B" ${EXTRA_NVFLAGS:-} & pids+=($!)
# The generated sources stand alone (runtime headers pasted in): no -I.
for a in quest block_topk; do $NV -c bench/step/gen/$a.cu -o "$B/gen_$a.o" & pids+=($!); done
$NV -Ibench/step -c bench/step/algos.cu -o "$B/algos.o" & pids+=($!)
$NV -Ibench/step -Iruntime/include -Itests/gpu -c bench/step/step_bench.cu -o "$B/step_bench.o" & pids+=($!)
ok=1
for p in "${pids[@]}"; do wait "$p" || ok=0; done
[ $ok = 1 ] || { echo "build.sh: a compile failed"; exit 1; }
# shellcheck disable=SC2086
$NV "$B"/step_bench.o "$B"/algos.o "$B"/gen_*.o "$B/libvortexrt.a" -lnvrtc $HASH_LIB -o "$B/step_bench"
echo "built $B/step_bench"

#!/usr/bin/env bash
# build.sh [BUILD_DIR]: builds model_bench with nvcc only (the GPU machine
# has no cmake/flex/bison): libvortexrt (vx_build_runtime,
# scripts/gpu_build.sh), the generated kernels of bench/model/gen (from
# bench/step/prepare.sh), the adapter and the benchmark, linked with cuBLAS.
# Runs from any directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # CUDA, NVFLAGS, GENCODE, HASH_*, vx_build_runtime (it also sets B=build-gpu)
B=${1:-build-model}
mkdir -p "$B"
NV="nvcc -O3 -std=c++17 $GENCODE -Werror=all-warnings ${EXTRA_NVFLAGS:-}"
[ -f bench/model/gen/quest.cu ] && [ -f bench/model/gen/block_topk.cu ] ||
  { echo "bench/model/gen/*.cu missing: run bench/step/prepare.sh on the build machine"; exit 1; }
# cuBLAS: the toolkit's, else the copy PyTorch's wheels bring (nvidia-cublas).
CUBLAS=(-lcublas)
if ! printf '#include <cublas_v2.h>\nint main(){cublasHandle_t h;return (int)cublasCreate(&h);}\n' |
  nvcc -x cu - -lcublas -o /dev/null > /dev/null 2>&1; then
  dir=$(${PYTHON:-python3} -c 'import importlib.util as u; print(list(u.find_spec("nvidia.cublas").submodule_search_locations)[0])' 2>/dev/null || true)
  lib=""
  [ -n "$dir" ] && lib=$(find "$dir/lib" -name "libcublas.so.*" 2>/dev/null | head -1 || true)
  [ -n "$lib" ] || { echo "build.sh: no cuBLAS (neither the CUDA toolkit's nor PyTorch's nvidia-cublas)"; exit 1; }
  echo "build.sh: cuBLAS from $dir"
  NV="$NV -I$dir/include"
  CUBLAS=(-L"$dir/lib" "-l:$(basename "$lib")" -Xlinker -rpath -Xlinker "$dir/lib")
fi
pids=()
# shellcheck disable=SC2086
vx_build_runtime "$B" ${EXTRA_NVFLAGS:-} & pids+=($!)
for a in quest block_topk; do $NV -c bench/model/gen/$a.cu -o "$B/gen_$a.o" & pids+=($!); done
$NV -Ibench/model -c bench/model/model_algos.cu -o "$B/model_algos.o" & pids+=($!)
$NV -Ibench/model -Ibench/step -Iruntime/include -Itests/gpu -c bench/model/model_bench.cu -o "$B/model_bench.o" &
pids+=($!)
ok=1
for p in "${pids[@]}"; do wait "$p" || ok=0; done
[ $ok = 1 ] || { echo "build.sh: a compile failed"; exit 1; }
# shellcheck disable=SC2086
$NV "$B"/model_bench.o "$B"/model_algos.o "$B"/gen_*.o "$B/libvortexrt.a" "${CUBLAS[@]}" -lnvrtc $HASH_LIB -o "$B/model_bench"
echo "built $B/model_bench"

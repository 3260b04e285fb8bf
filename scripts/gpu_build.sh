# shellcheck shell=bash
# gpu_build.sh - sourced by scripts/gpu_check.sh, bench/run_all.sh and
# bench/step/build.sh (from
# the repository root): the nvcc/gcc flags and vx_gpu_build, which builds
# libvortexrt and the programs that run it on the GPU into build-gpu/
# (vx_gpu_test, vortex-bench, nvrtc_time) with plain nvcc and gcc: no cmake,
# flex, bison or cmocka needed on the GPU machine. It always rebuilds (the
# device machine keeps ignored outputs between calls; a stale binary must
# not be timed).
CUDA=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}
B=build-gpu
mkdir -p $B
GENCODE="-gencode=arch=compute_90a,code=sm_90a"
NVFLAGS="-O3 -std=c++17 $GENCODE -Werror=all-warnings -Iruntime/include -Iruntime/device -Iruntime/src -Itests/gpu"
# XXH3 cache keys when libxxhash-dev is there (as in the CMake build), else FNV-1a.
HASH_DEF=""; HASH_LIB=""
if printf '#include <xxhash.h>\nint main(void){return (int)XXH3_64bits_withSeed("",0,0);}\n' | \
   gcc -x c - -lxxhash -o /dev/null > /dev/null 2>&1; then
  HASH_DEF="-DVXRT_HAVE_XXHASH=1"; HASH_LIB="-lxxhash"
fi

# libvortexrt's host part (C17, no device code: status text, validation,
# hashing, the NVRTC loader) and the gcc flags it builds with; also compiled
# into tests/gpu/codegen/gen_gpu.sh's GEN_NVRTC harness.
VXRT_HOST_SRCS="status validate hash nvrtc_options nvrtc_loader"
VXRT_HOST_CFLAGS=(-Iruntime/include -I"$CUDA/include" $HASH_DEF "-DVXRT_CUDA_INCLUDE_DIR=\"$CUDA/include\""
                  "-DVXRT_DEVICE_INCLUDE_DIR=\"$PWD/runtime/device\"")

# vx_build_runtime DIR [NVCC_FLAGS...]: libvortexrt into DIR/libvortexrt.a
# (the C sources with gcc, decode_launch.cu with nvcc and the extra flags of
# a tuning build; ptxas' register report in DIR/ptxas.log). Shared by
# vx_gpu_build, gpu_check.sh's --variants builds and bench/step/build.sh.
vx_build_runtime() {
  local dir=$1; shift
  local pids=() f p ok=1
  for f in $VXRT_HOST_SRCS; do
    gcc -std=c17 -O2 -fPIC -Wall -Wextra -Werror "${VXRT_HOST_CFLAGS[@]}" -c runtime/src/$f.c -o "$dir/rt_$f.o" &
    pids+=($!)
  done
  nvcc $NVFLAGS "$@" -Xptxas -v -c runtime/src/decode_launch.cu -o "$dir/rt_decode_launch.o" > "$dir/ptxas.log" 2>&1 & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || ok=0; done
  [ $ok = 1 ] || { cat "$dir/ptxas.log"; return 1; }
  rm -f "$dir/libvortexrt.a" && ar rcs "$dir/libvortexrt.a" "$dir"/rt_*.o
}

vx_gpu_build() {
  echo "== build ($(nvcc --version | tail -1))"
  vx_build_runtime $B || return 1
  nvcc $NVFLAGS -lineinfo tests/gpu/gpu_test.cu $B/libvortexrt.a -lnvrtc $HASH_LIB -o $B/vx_gpu_test & local p1=$!
  nvcc $NVFLAGS bench/vortex_bench.cu $B/libvortexrt.a -lnvrtc $HASH_LIB -o $B/vortex-bench & local p2=$!
  nvcc $NVFLAGS tests/gpu/nvrtc_time.cu $B/libvortexrt.a -lnvrtc $HASH_LIB -o $B/nvrtc_time & local p3=$!
  wait $p1 && wait $p2 && wait $p3
}

#!/usr/bin/env bash
# check_example.sh MODE VORTEXC EXAMPLE.vtx WORKDIR [vortexc flags...]
# Emits EXAMPLE with vortexc -o into WORKDIR, then checks the output:
#   nvcc   compile for sm_90a with every warning an error
#   nvrtc  compile in-process through NVRTC (NVRTC_CHECK: the checker binary)
#   clang  parse the .h as C17 with libclang and check the ABI (CLANG_ABI)
#   golden compare .cu and .h with tests/codegen/golden (GOLDEN_DIR)
#   where  no warp shuffle under a lazy ?: whose condition may differ between
#          the lanes taking part in it (lazy_where.awk)
#   regs   nvcc as above with ptxas -v; EXPECT_REGS="KERNEL N": KERNEL must
#          start at exactly N registers a thread (a kernel whose warpgroups
#          trade registers by setmaxnreg assumes its count)
set -euo pipefail
mode=$1 vortexc=$2 vtx=$3 work=$4
shift 4
name=$(basename "$vtx" .vtx)
mkdir -p "$work"
cu="$work/$name.cu"
h="$work/$name.h"
rm -f "$cu" "$h"
"$vortexc" "$vtx" "$@" -o "$cu"
test -s "$cu" && test -s "$h"
cuda_include=${CUDA_INCLUDE:-/usr/local/cuda/include}
# The .cu as an sm_90a object; NVCC_FLAGS: a tuning build's switches
# (-DVX_STEP_FUSE=1); extra arguments go to nvcc before the input.
compile_cu() {
  # shellcheck disable=SC2086
  "${NVCC:-nvcc}" -gencode=arch=compute_90a,code=sm_90a -Werror all-warnings -std=c++17 ${NVCC_FLAGS:-} "$@" -c "$cu" -o "$work/$name.o"
}
case $mode in
  nvcc)
    compile_cu
    # The header must also stand alone in C++ translation units.
    printf '#include "%s"\nint main(void) { return 0; }\n' "$h" > "$work/${name}_h.cpp"
    "${NVCC:-nvcc}" -Werror all-warnings -c "$work/${name}_h.cpp" -o "$work/${name}_h.o"
    ;;
  nvrtc)
    # NVRTC_FLAGS: a tuning build's options (-DVX_STEP_FUSE=1)
    # shellcheck disable=SC2086
    "$NVRTC_CHECK" "$cu" "$cuda_include" ${NVRTC_FLAGS:-}
    ;;
  clang) "$CLANG_ABI" "$h" "$name" "$cuda_include" ;;
  golden)
    # The pasted runtime headers belong to runtime/ and change with it: the
    # golden files hold what codegen writes, with that block elided.
    "$(dirname "$0")/strip_runtime.sh" < "$cu" | diff -u "$GOLDEN_DIR/$name.cu" -
    diff -u "$GOLDEN_DIR/$name.h" "$h"
    ;;
  where) awk -f "$(dirname "$0")/lazy_where.awk" "$cu" ;;
  regs)
    read -r kernel want <<< "${EXPECT_REGS:?EXPECT_REGS=\"KERNEL N\"}"
    compile_cu -Xptxas -v 2> "$work/$name.ptxas"
    # ptxas -v: "Compiling entry function 'K'", then "... Used N registers, ..."
    got=$(awk -v k="'$kernel'" '$0 ~ "Compiling entry function " k {on = 1}
      on && /Used [0-9]+ registers/ {for (i = 1; i < NF; i++) if ($(i + 1) == "registers,") {print $i; exit}}' "$work/$name.ptxas")
    [ "$got" = "$want" ] || { echo "$kernel: ${got:-no ptxas report} registers, expected $want" >&2; exit 1; }
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

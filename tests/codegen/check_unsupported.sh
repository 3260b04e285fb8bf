#!/usr/bin/env bash
# check_unsupported.sh VORTEXC EXAMPLES_DIR WORKDIR: inputs the CUDA backend
# rejects must give a clear diagnostic, exit status 1 and no output files.
set -uo pipefail
vortexc=$1 examples=$2 work=$3
mkdir -p "$work"
fail=0
expect_reject() { # NAME PATTERN vortexc-args...
  local name=$1 pattern=$2
  shift 2
  rm -f "$work/$name".*
  "$vortexc" "$@" -o "$work/$name.cu" 2> "$work/$name.err"
  local rc=$?
  if [ $rc -ne 1 ]; then echo "$name: exit $rc, expected 1"; fail=1; fi
  if ! grep -q "$pattern" "$work/$name.err"; then echo "$name: no diagnostic matching '$pattern':"; cat "$work/$name.err"; fail=1; fi
  if ls "$work/$name".cu "$work/$name".h >/dev/null 2>&1; then echo "$name: output files left behind"; fail=1; fi
}
# The MLA decode kernel (tensor cores) takes 16 to 128 heads.
expect_reject mla_4_heads "MLA with 4 heads" "$examples/mla_centroid.vtx" --group=4
# The decode kernels read head dims that are multiples of 64.
expect_reject head_dim_96 "head dim 96" "$examples/quest.vtx" --head-dim=96
exit $fail

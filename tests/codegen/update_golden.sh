#!/usr/bin/env bash
# update_golden.sh VORTEXC: regenerates tests/codegen/golden/*.{cu,h} for the
# golden examples. Review the diff (git diff tests/codegen/golden) before
# committing: the golden files are the reviewed form of the emitted code.
set -euo pipefail
vortexc=${1:?usage: update_golden.sh path/to/vortexc}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
for name in quest block_topk lserve_subpage_quest; do
  "$vortexc" "$root/examples/$name.vtx" -o "$here/golden/$name.cu"
  "$here/strip_runtime.sh" < "$here/golden/$name.cu" > "$here/golden/$name.cu.tmp"
  mv "$here/golden/$name.cu.tmp" "$here/golden/$name.cu"
done

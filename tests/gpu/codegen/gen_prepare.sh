#!/usr/bin/env bash
# gen_prepare.sh VORTEXC: runs HERE (where flex/bison built vortexc). Emits,
# for every line of gen_cases.list, the generated .cu/.h and the optimised
# IR (.vir) the interpreter checks them against, into
# tests/gpu/codegen/generated/TAG/ (git-ignored; carried to the GPU machine).
set -euo pipefail
vortexc=${1:?usage: gen_prepare.sh path/to/vortexc}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rm -rf "$here/generated"
grep -v '^#' "$here/gen_cases.list" | while read -r tag example flags; do
  [ -n "$tag" ] || continue
  dir="$here/generated/$tag"
  mkdir -p "$dir"
  # EXAMPLE: a name in examples/ or tests/codegen/algorithms/, or a path to
  # any .vtx file (held-out algorithms), relative to the repository root.
  case $example in
    *.vtx) src="$root/$example"; [ -f "$example" ] && src="$example"; example=$(basename "$example" .vtx) ;;
    *) src="$root/examples/$example.vtx"; [ -f "$src" ] || src="$root/tests/codegen/algorithms/$example.vtx" ;;
  esac
  # shellcheck disable=SC2086
  "$vortexc" "$src" $flags -o "$dir/$example.cu"
  # shellcheck disable=SC2086
  "$vortexc" "$src" $flags --emit=ir -o "$dir/$example.vir"
  # The other index emitters (--index-codegen=vector, =scalar) as cases
  # TAG.vector and TAG.scalar, only where they differ from the default
  # output, so one GPU run checks every code path.
  for form in vector scalar; do
    vdir="$here/generated/$tag.$form"
    mkdir -p "$vdir"
    # shellcheck disable=SC2086
    "$vortexc" "$src" $flags --index-codegen=$form -o "$vdir/$example.cu"
    if cmp -s "$dir/$example.cu" "$vdir/$example.cu" ||
       { [ "$form" = scalar ] && [ -f "$here/generated/$tag.vector/$example.cu" ] &&
         cmp -s "$here/generated/$tag.vector/$example.cu" "$vdir/$example.cu"; }; then
      rm -rf "$vdir"
    else
      cp "$dir/$example.vir" "$vdir/$example.vir"
    fi
  done
done
# Negative control: quest compiled with another budget, checked against the
# unmodified IR. gen_gpu.sh requires this one to FAIL (the harness can fail).
dir="$here/generated/mutant_quest_budget32"
mkdir -p "$dir"
"$vortexc" "$root/examples/quest.vtx" -D budget=32 -o "$dir/quest.cu"
"$vortexc" "$root/examples/quest.vtx" --emit=ir -o "$dir/quest.vir"
echo "generated $(ls "$here/generated" | wc -l) cases into $here/generated"
# The commit these cases were emitted from (dirty: with uncommitted changes):
# the device copy's git history can be stale, so gpu_all.sh reports this too.
git -C "$root" describe --always --dirty --abbrev=12 > "$here/generated/COMMIT" 2>/dev/null || rm -f "$here/generated/COMMIT"

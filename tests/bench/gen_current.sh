#!/usr/bin/env bash
# gen_current.sh VORTEXC REPO_ROOT: bench/step/gen and bench/model/gen
# (committed, so that a fresh clone's GPU machine can build the benchmarks
# without vortexc) must be what this vortexc emits today. A codegen or runtime-header change
# without bench/step/prepare.sh would otherwise have run_all.sh time the
# old kernels without a word.
set -euo pipefail
vortexc=$(realpath "$1") root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && VORTEXC=$vortexc GEN_OUT=$tmp/step GEN_MODEL_OUT=$tmp/model bash bench/step/prepare.sh \
  > "$tmp/prepare.log" 2>&1) || { cat "$tmp/prepare.log"; exit 1; }
status=0
for set in step model; do
  for f in "$root/bench/$set/gen"/*.cu "$root/bench/$set/gen"/*.h; do
    if ! cmp -s "$f" "$tmp/$set/$(basename "$f")"; then
      echo "stale: ${f#"$root"/} differs from what $vortexc emits now"
      status=1
    fi
  done
  for f in "$tmp/$set"/*.cu "$tmp/$set"/*.h; do
    [ -f "$root/bench/$set/gen/$(basename "$f")" ] || { echo "missing: bench/$set/gen/$(basename "$f")"; status=1; }
  done
done
[ $status = 0 ] && echo "bench/step/gen and bench/model/gen match $vortexc" ||
  echo "fix: VORTEXC=$vortexc bash bench/step/prepare.sh, then commit bench/step/gen and bench/model/gen"
exit $status

#!/usr/bin/env bash
# gen_current.sh VORTEXC REPO_ROOT: bench/step/gen (committed, so that a
# fresh clone's GPU machine can build the step benchmark without vortexc)
# must be what this vortexc emits today. A codegen or runtime-header change
# without bench/step/prepare.sh would otherwise have run_all.sh time the
# old kernels without a word.
set -euo pipefail
vortexc=$(realpath "$1") root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && VORTEXC=$vortexc GEN_OUT=$tmp bash bench/step/prepare.sh > "$tmp/prepare.log" 2>&1) ||
  { cat "$tmp/prepare.log"; exit 1; }
status=0
for f in "$root"/bench/step/gen/*.cu "$root"/bench/step/gen/*.h; do
  if ! cmp -s "$f" "$tmp/$(basename "$f")"; then
    echo "stale: ${f#"$root"/} differs from what $vortexc emits now"
    status=1
  fi
done
for f in "$tmp"/*.cu "$tmp"/*.h; do
  [ -f "$root/bench/step/gen/$(basename "$f")" ] || { echo "missing: bench/step/gen/$(basename "$f")"; status=1; }
done
[ $status = 0 ] && echo "bench/step/gen matches $vortexc" ||
  echo "fix: VORTEXC=$vortexc bash bench/step/prepare.sh, then commit bench/step/gen"
exit $status

#!/usr/bin/env bash
# Every bundled example checks cleanly (--emit=ast, exit 0, no diagnostics)
# and opens with a header comment; there are at least nine.
# usage: check_examples.sh VORTEXC EXAMPLES_DIR
set -u
vortexc=$1
dir=$2
n=0 fails=0
for f in "$dir"/*.vtx; do
  n=$((n + 1))
  if ! head -n 1 "$f" | grep -q '^//'; then
    echo "FAIL $f: no header comment"; fails=$((fails + 1)); continue
  fi
  err=$("$vortexc" "$f" --emit=ast 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$err" ]; then
    echo "FAIL $f (exit $rc)"; echo "$err"; fails=$((fails + 1))
  fi
done
echo "examples: $((n - fails))/$n check cleanly"
[ "$fails" -eq 0 ] && [ "$n" -ge 9 ]

#!/usr/bin/env bash
# Bad-input corpus: every tests/bad/NAME.vtx must make `vortexc --emit=ast`
# exit 1 (never crash, hang or print to stdout) and its FIRST diagnostic
# line must equal tests/bad/NAME.expected (written by hand).
# usage: run_bad.sh VORTEXC BAD_DIR
set -u
vortexc=$(realpath "$1") # absolute: the loop runs inside BAD_DIR
dir=$2
cd "$dir" || exit 2
fail=0 n=0
for src in *.vtx; do
  name=${src%.vtx}
  n=$((n + 1))
  expected=$(cat "$name.expected")
  stdout=$(timeout 10 "$vortexc" "$src" --emit=ast --color=never 2>/tmp/vx_bad_$$.err)
  rc=$?
  first=$(head -n 1 /tmp/vx_bad_$$.err)
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $name: exit status $rc (want 1)"; fail=$((fail + 1))
  elif [ -n "$stdout" ]; then
    echo "FAIL $name: wrote to stdout"; fail=$((fail + 1))
  elif [ "$first" != "$expected" ]; then
    printf 'FAIL %s:\n  want: %s\n  got:  %s\n' "$name" "$expected" "$first"; fail=$((fail + 1))
  fi
done
rm -f /tmp/vx_bad_$$.err
echo "bad-input corpus: $((n - fail))/$n passed"
[ "$fail" -eq 0 ] && [ "$n" -ge 40 ]

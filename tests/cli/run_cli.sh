#!/usr/bin/env bash
# CLI behaviour of vortexc: exit statuses, --help/--version, -D, JSON
# diagnostics, --max-errors, colour, never a partial output file.
# usage: run_cli.sh VORTEXC REPO_ROOT
set -u
vortexc=$1
root=$2
umask 022
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() { # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
run() { # run ARGS... ; sets rc, out, err
  out=$("$vortexc" "$@" 2>"$work/err")
  rc=$?
  err=$(cat "$work/err")
}
quest=$root/examples/quest.vtx

run "$quest" --foo
check "unknown flag exits 2" test "$rc" -eq 2
check "unknown flag message" test "$(head -n1 <<<"$err")" = "vortexc: error: unknown option '--foo'"
check "unknown flag hint" grep -q "^hint: .*vortexc --help" <<<"$err"
run "$quest" --emitt=ast
check "did you mean for flags" grep -q "did you mean '--emit'" <<<"$err"
run
check "no input exits 2" test "$rc" -eq 2
run "$quest" --max-errors=lots
check "bad flag value exits 2" test "$rc" -eq 2

run --version
check "--version" test "$rc" -eq 0 -a "${out%% *}" = "vortexc"
run --help
check "--help lists options" bash -c '[ '"$rc"' -eq 0 ] && grep -q -- "--emit=ast|ir|cuda" <<<"$1" && grep -q -- "--model-config" <<<"$1"' _ "$out"

run "$quest" --emit=ast
check "emit ast" test "$rc" -eq 0 -a -z "$err"
check "emit ast content" grep -q "(param budget int 64 (range 1 65536))" <<<"$out"
run "$quest" --emit=ast -D budget=128
check "-D overrides" grep -q "(param budget int 128 (range 1 65536) overridden)" <<<"$out"
run "$quest" --emit=ast -Dbudget=128
check "-DNAME=VALUE form" grep -q "overridden" <<<"$out"
run "$quest" --emit=ast -D budget=0
check "-D out of range exits 1" test "$rc" -eq 1
check "-D out of range message" grep -q "error: -D budget=0 is out of range \[1, 65536\]" <<<"$err"
run "$quest" --emit=ast -D bugdet=5
check "-D unknown param exits 1" test "$rc" -eq 1
check "-D unknown param suggests" grep -q "did you mean 'budget'" <<<"$err"
run "$quest" --emit=ast -D budget=1.5
check "-D int param with float" test "$rc" -eq 1
run "$quest" --emit=ast -D budget
check "malformed -D exits 2" test "$rc" -eq 2

{ printf 'algorithm big {\n'; head -c 1100000 /dev/zero | tr '\0' ' '; printf '}\n'; } >"$work/big.vtx"
run "$work/big.vtx" --emit=ast
check "file size limit" test "$rc" -eq 1 -a "$(head -n1 <<<"$err")" = "$work/big.vtx:1:1: error: file is too large (the limit is 1048576 bytes)"

run "$root/examples" --emit=ast
check "a directory is not a source" test "$rc" -eq 1 -a "$err" = "vortexc: error: cannot read '$root/examples': Is a directory"
out=$(printf 'algorithm s { cache { } index { score = nope; select top(1); } }' | "$vortexc" - --emit=ast 2>&1)
check "stdin is named <stdin>" test "$(head -n1 <<<"$out")" = "<stdin>:1:41: error: use of undefined name 'nope'"

run "$work/missing.vtx" --emit=ast
check "missing file exits 1" test "$rc" -eq 1
check "missing file message" grep -q "^vortexc: error: cannot open '.*missing.vtx'" <<<"$err"

printf 'algorithm j {\n  cache { c = mean(k, tok); }\n  index { score = sum(mean(q, head) * cc, dim); select top(0); }\n}\n' >"$work/j.vtx"
run "$work/j.vtx" --diagnostics=json
check "json exits 1" test "$rc" -eq 1
check "json: one object per line" bash -c '[ "$(grep -c . <<<"$1")" -ge 1 ] && ! grep -qv "^{\"file\":.*}$" <<<"$1"' _ "$err"
check "json fields" grep -q '^{"file":"[^"]*j.vtx","line":3,"column":39,"end_column":40,"severity":"error","id":"undefined-name","message":"use of undefined name '"'cc'"'","hint":"did you mean '"'c'"'?"}$' <<<"$err"

printf 'algorithm m {\n  cache { }\n  index {\n%s  }\n}\n' "$(for i in $(seq 30); do printf '    x%d = nope%d;\n' "$i" "$i"; done)" >"$work/many.vtx"
run "$work/many.vtx" --max-errors=3
check "--max-errors caps" test "$(grep -c ': error: ' <<<"$err")" -eq 3
check "--max-errors notice" grep -q "too many errors emitted" <<<"$err"
run "$work/many.vtx"
check "default cap is 20" test "$(grep -c ': error: ' <<<"$err")" -eq 20

run "$work/j.vtx" --color=always
check "--color=always colours" grep -q $'\033\[' <<<"$err"
run "$work/j.vtx" --color=auto
check "--color=auto is plain off a tty" bash -c '! grep -q $'"'"'\033'"'"' <<<"$1"' _ "$err"

# Never a partial output file: failures leave the directory untouched.
mkdir "$work/o"
run "$work/j.vtx" -o "$work/o/out.cu"
check "bad input writes nothing" test "$rc" -eq 1 -a -z "$(ls -A "$work/o")"
run "$quest" -o "$work/o/out.cu"
if [ "$rc" -eq 0 ]; then
  check "-o writes OUT.cu and OUT.h" test -s "$work/o/out.cu" -a -s "$work/o/out.h"
  check "-o leaves no temporary files" test "$(ls -A "$work/o" | wc -l)" -eq 2
  check "outputs get 0666 & ~umask" test "$(stat -c %a "$work/o/out.cu")" = 644
else
  check "-o before codegen: exit 1, nothing written" test "$rc" -eq 1 -a -z "$(ls -A "$work/o")"
fi
rm -f "$work/o/"*
run "$quest" --emit=ast -o "$work/o/q.ast"
check "--emit=ast -o writes exactly one file" test "$rc" -eq 0 -a "$(ls -A "$work/o")" = "q.ast"
if [ -c /dev/null ]; then
  run "$quest" --emit=ast -o /dev/null
  check "-o /dev/null is written through, not replaced" test "$rc" -eq 0 -a -c /dev/null
fi
run "$quest" --emit=ast -o "$work/nodir/q.ast"
check "unwritable -o exits 1" test "$rc" -eq 1 -a ! -e "$work/nodir"

echo "cli: $fails failure(s)"
[ "$fails" -eq 0 ]

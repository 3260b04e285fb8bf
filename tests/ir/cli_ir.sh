#!/bin/sh
# CLI checks of the IR path: for every example, `--emit=ir` output read
# back as .vir prints identically (at -O0, i.e. verify only) and again
# after -O2 (the passes are idempotent on optimised IR); --dump-ir=after-all
# names every pass; a malformed .vir gets file:line:col and exit 1.
# usage: cli_ir.sh VORTEXC SOURCE_DIR
set -u
VORTEXC=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
for f in "$SRC"/examples/*.vtx; do
  name=$(basename "$f" .vtx)
  "$VORTEXC" "$f" --emit=ir > "$TMP/$name.vir" || { echo "FAIL: $f --emit=ir"; fail=1; continue; }
  "$VORTEXC" "$TMP/$name.vir" --emit=ir -O0 > "$TMP/$name.rt.vir" || { echo "FAIL: reading $name.vir"; fail=1; continue; }
  cmp -s "$TMP/$name.vir" "$TMP/$name.rt.vir" || { echo "FAIL: $name: .vir round trip differs"; diff "$TMP/$name.vir" "$TMP/$name.rt.vir"; fail=1; }
  "$VORTEXC" "$TMP/$name.vir" --emit=ir -O2 > "$TMP/$name.o2.vir" || { echo "FAIL: -O2 on $name.vir"; fail=1; continue; }
  cmp -s "$TMP/$name.vir" "$TMP/$name.o2.vir" || { echo "FAIL: $name: -O2 is not idempotent"; diff "$TMP/$name.vir" "$TMP/$name.o2.vir"; fail=1; }
  "$VORTEXC" "$f" --emit=ir --dump-ir=after-all > /dev/null 2> "$TMP/$name.dump"
  for p in verify canonicalize cse select-monotone reduce-reorder dce incremental-cache fusion memory-plan; do
    grep -q "IR Dump After $p" "$TMP/$name.dump" || { echo "FAIL: $name: no dump after $p"; fail=1; }
  done
done
printf 'module @t {\n  geometry kv = gqa, head_dim = 64, group = 4, page_size = 16, kv_dtype = bf16\n  func @index {\n    %%0 = frob\n  }\n}\n' > "$TMP/bad.vir"
"$VORTEXC" "$TMP/bad.vir" --emit=ir > "$TMP/bad.out" 2> "$TMP/bad.err"
rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: bad.vir exit status $rc (want 1)"; fail=1; }
grep -q "bad.vir:4:10: error: unknown op 'frob'" "$TMP/bad.err" || { echo "FAIL: bad.vir diagnostic:"; cat "$TMP/bad.err"; fail=1; }
[ -s "$TMP/bad.out" ] && { echo "FAIL: output written for bad.vir"; fail=1; }
"$VORTEXC" "$SRC/examples/quest.vtx" --emit=ir --passes=nope > /dev/null 2> "$TMP/nope.err"
[ $? -eq 1 ] && grep -q "unknown pass 'nope'" "$TMP/nope.err" || { echo "FAIL: --passes=nope"; cat "$TMP/nope.err"; fail=1; }
[ $fail -eq 0 ] && echo "cli_ir: all checks passed"
exit $fail

#!/usr/bin/env bash
# `vortexc run`: every example runs, run directories round-trip, state
# advances over steps, and bad input gets a message and the right exit
# status (never a crash).
# usage: run_cmd.sh VORTEXC REPO_ROOT
set -u
vortexc=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() { # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
run() { # run ARGS... ; sets rc, out, err
  out=$("$vortexc" run "$@" 2>"$work/err")
  rc=$?
  err=$(cat "$work/err")
}
ex=$root/examples

for f in "$ex"/*.vtx; do
  name=$(basename "$f" .vtx)
  run "$f" --batch 3 --context 200 --ragged --seed 3
  rows=$(grep -c '^request ' <<<"$out")
  heads=2
  grep -q '^algorithm .*(MLA)' <<<"$out" && heads=1
  check "$name runs" test "$rc" -eq 0 -a "$rows" -eq $((3 * heads))
  check "$name prints output checksums" grep -q '^checksum out_dense ' <<<"$out"
done

run "$ex/quest.vtx" --batch 2 --context 100 -D budget=2 --kv-heads 1
check "selected pages listed" grep -q '^request 0 kv_head 0: 100 tokens, 7 pages, selected 5: 0[-0-9 ]* 5-6$' <<<"$out"
run "$ex/quest.vtx" --batch 2 --context 100 -D budget=100 --kv-heads 1
check "budget covering every page: sparse == dense" \
  test "$(grep '^checksum out_sparse' <<<"$out" | cut -d= -f2)" = "$(grep '^checksum out_dense' <<<"$out" | cut -d= -f2)"

# results do not depend on the thread count (OpenMP builds)
one=$(OMP_NUM_THREADS=1 "$vortexc" run "$ex/lserve_subpage_quest.vtx" --batch 5 --context 300 --ragged 2>&1)
three=$(OMP_NUM_THREADS=3 "$vortexc" run "$ex/lserve_subpage_quest.vtx" --batch 5 --context 300 --ragged 2>&1)
check "same output on 1 and 3 threads" test -n "$one" -a "$one" = "$three"

# run directories
run "$ex/quest.vtx" --batch 3 --context 300 --ragged --seed 9 --out "$work/rd"
first=$out
check "--out writes a manifest" test "$rc" -eq 0 -a -f "$work/rd/manifest.json"
check "--out writes raw arrays" test "$(stat -c %s "$work/rd/seq_lens.i32")" -eq 12
run "$ex/quest.vtx" --in "$work/rd"
check "--in reproduces the run" test "$rc" -eq 0 -a "$out" = "$first"
run "$root/tests/ir/vir/quest.vir" --batch 1 --context 64 --out "$work/vir"
check ".vir input runs" test "$rc" -eq 0
run "$root/tests/ir/vir/quest.vir" --batch 1 --context 64 -D nosuch=3
check "-D of an unknown param on .vir" test "$rc" -eq 1 -a -n "$(grep 'no such param' <<<"$err")"

# state over steps
run "$ex/running_average.vtx" --batch 2 --context 200 --steps 1
one=$(grep '^checksum state' <<<"$out")
run "$ex/running_average.vtx" --batch 2 --context 200 --steps 2
two=$(grep '^checksum state' <<<"$out")
check "state changes over steps" test -n "$one" -a "$one" != "$two"

# bad command lines: exit 2
for args in "--batch 0" "--batch x" "--context -3" "--steps 0" "--seed -1" "--scale 0" "--out" "--frobnicate"; do
  run "$ex/quest.vtx" $args
  check "rejects $args" test "$rc" -eq 2 -a -n "$err"
done
run --help
check "run --help" test "$rc" -eq 0 -a -n "$(grep -- '--context L' <<<"$out")"

# bad inputs: exit 1 with a message
run "$ex/mla_centroid.vtx" --kv-heads 2
check "MLA with two KV heads" test "$rc" -eq 1 -a -n "$(grep 'one latent KV head' <<<"$err")"
run "$ex/quest.vtx" --in "$work/nothing-here"
check "missing run directory" test "$rc" -eq 1 -a -n "$(grep 'manifest.json' <<<"$err")"
run "$ex/quest.vtx" --in "$work/rd" --batch 4
check "--in with a generator option" test "$rc" -eq 2 -a -n "$(grep -- '--batch shapes random inputs' <<<"$err")"
run "$ex/quest.vtx" --in "$work/rd" --group=8
check "--in geometry wins over --group" test "$rc" -eq 0 -a "$out" = "$first"
run "$root/tests/ir/vir/quest.vir" --in "$work/rd"
check ".vir geometry must match the run directory" test "$rc" -eq 1 -a -n "$(grep 'but the module is GQA with head dim 128, group 8' <<<"$err")"
cp -r "$work/rd" "$work/bad"
head -c 100 "$work/rd/k_pool.f32" >"$work/bad/k_pool.f32"
run "$ex/quest.vtx" --in "$work/bad"
check "truncated array" test "$rc" -eq 1 -a -n "$(grep 'expected .* bytes' <<<"$err")"
cp "$work/rd/k_pool.f32" "$work/bad/k_pool.f32"
printf '\377\377\377\177' | dd of="$work/bad/indices.i32" bs=1 seek=4 conv=notrunc status=none
run "$ex/quest.vtx" --in "$work/bad"
check "page id out of range" test "$rc" -eq 1 -a -n "$(grep 'outside 0\.\.' <<<"$err")"
cp "$work/rd/indices.i32" "$work/bad/indices.i32"
printf '\000\000\000\000' | dd of="$work/bad/last_page_len.i32" bs=1 seek=0 conv=notrunc status=none
run "$ex/quest.vtx" --in "$work/bad"
check "last_page_len 0" test "$rc" -eq 1 -a -n "$(grep 'last_page_len\[0\] = 0' <<<"$err")"
echo '{"format": "something else"}' >"$work/bad/manifest.json"
run "$ex/quest.vtx" --in "$work/bad"
check "foreign manifest" test "$rc" -eq 1 -a -n "$(grep 'not a vortexc run manifest' <<<"$err")"
run "$work/does-not-exist.vtx"
check "missing source file" test "$rc" -eq 1 -a -n "$err"

echo "$fails failure(s)"
test "$fails" -eq 0

#!/usr/bin/env bash
# ab.sh: A/B of a tuning switch ON THE GPU MACHINE. Builds step_bench twice
# (build-step: default flags, build-step-ab: EXTRA_NVFLAGS=$AB_FLAGS) and
# times both on the same shapes, interleaved A B A B so drift hits both;
# prints op, shape and ms of each run side by side. Env: AB_FLAGS (required,
# e.g. "-DVX_PDL=0"), AB_ARGS (step_bench arguments, default quest and
# block_topk at 32K, B16 and B32, no dense baseline), AB_ROUNDS (default 2),
# AB_PREBUILT=1 (build-step-ab was already built with AB_FLAGS, e.g. in the
# background while another stage ran: skip its build).
# Writes $OUT/ab_{a,b}_N.json and $OUT/ab.txt.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT"
[ -n "${AB_FLAGS:-}" ] || { echo "ab.sh: set AB_FLAGS"; exit 2; }
ARGS=${AB_ARGS:---algos quest,block_topk --contexts 32768 --batches 16,32 --no-dense --reps 20}
[ -x build-step/step_bench ] || bash bench/step/build.sh build-step > "$OUT/build_a.log" 2>&1 || { echo "ab.sh: build A failed"; exit 1; }
if [ "${AB_PREBUILT:-0}" != 1 ] || [ ! -x build-step-ab/step_bench ]; then
  EXTRA_NVFLAGS="$AB_FLAGS" bash bench/step/build.sh build-step-ab > "$OUT/build_b.log" 2>&1 || { echo "ab.sh: build B failed"; exit 1; }
fi
for i in $(seq 1 "${AB_ROUNDS:-2}"); do
  for v in a b; do
    dir=build-step; [ $v = b ] && dir=build-step-ab
    # shellcheck disable=SC2086
    "$dir/step_bench" $ARGS --json "$OUT/ab_${v}_$i.json" > "$OUT/ab_${v}_$i.log" 2>&1 || echo "ab.sh: run $v $i failed (see ab_${v}_$i.log)"
  done
done
python3 - "$OUT" "${AB_ROUNDS:-2}" "$AB_FLAGS" <<'PY' | tee "$OUT/ab.txt"
import json, sys, os, collections
out, rounds, flags = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ms = collections.OrderedDict()
for v in "ab":
    for i in range(1, rounds + 1):
        p = os.path.join(out, f"ab_{v}_{i}.json")
        try:
            txt = open(p).read().rstrip()
            if not txt.endswith("}"): txt += "]}"  # a crashed run: keep whole records
            recs = json.loads(txt)["results"]
        except (OSError, ValueError, KeyError):
            continue
        for r in recs:
            key = (r["kind"], r["name"], r["batch"], r["context"])
            ms.setdefault(key, {"a": [], "b": []})[v].append(r["ms"])
print(f"A = default build, B = {flags}; ms per run")
print(f"{'algo':<11} {'op':<13} {'B':>3} {'ctx':>7} | {'A runs':<17} | {'B runs':<17} | B/A (min)")
for (algo, op, b, c), d in ms.items():
    a_s = " ".join(f"{x:.4f}" for x in d["a"]); b_s = " ".join(f"{x:.4f}" for x in d["b"])
    ratio = f"{min(d['b']) / min(d['a']):.3f}" if d["a"] and d["b"] else "-"
    print(f"{algo:<11} {op:<13} {b:>3} {c:>7} | {a_s:<17} | {b_s:<17} | {ratio}")
PY

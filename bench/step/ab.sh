#!/usr/bin/env bash
# ab.sh: A/B(/C/D) of tuning switches ON THE GPU MACHINE. Builds step_bench
# with the default flags (build-step, A), with EXTRA_NVFLAGS=$AB_FLAGS
# (build-step-ab, B) and, if AB_FLAGS_C is set, with it (build-step-ab-c, C),
# and, if AB_FLAGS_D is set too, with it (build-step-ab-d, D),
# and times them on the same shapes interleaved (A B [C [D]] A B ...) so drift
# hits every build; prints op, shape and ms of each run side by side, and
# each variant's ratio to A. Env: AB_FLAGS (required, e.g. "-DVX_PDL=0"),
# AB_FLAGS_C, AB_FLAGS_D (optional second and third variants: several
# switches timed in one device call), AB_ARGS (step_bench arguments,
# default quest and block_topk at 32K, B16 and B32, no dense baseline), AB_ROUNDS (default 2), AB_PREBUILT=1 (the
# variant builds were already made with those flags, e.g. in the background
# while another stage ran: skip them where they exist).
# Writes $OUT/ab_{a,b,c,d}_N.json and $OUT/ab.txt.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT"
[ -n "${AB_FLAGS:-}" ] || { echo "ab.sh: set AB_FLAGS"; exit 2; }
ARGS=${AB_ARGS:---algos quest,block_topk --contexts 32768 --batches 16,32 --no-dense --reps 20}
variants="a b"
[ -n "${AB_FLAGS_C:-}" ] && variants="a b c"
[ -n "${AB_FLAGS_C:-}" ] && [ -n "${AB_FLAGS_D:-}" ] && variants="a b c d"
dir_of() { case $1 in a) echo build-step ;; b) echo build-step-ab ;; *) echo "build-step-ab-$1" ;; esac; }
flags_of() { case $1 in b) echo "$AB_FLAGS" ;; c) echo "${AB_FLAGS_C:-}" ;; d) echo "${AB_FLAGS_D:-}" ;; esac; }
[ -x build-step/step_bench ] || bash bench/step/build.sh build-step > "$OUT/build_a.log" 2>&1 || { echo "ab.sh: build A failed"; exit 1; }
for v in $variants; do
  [ "$v" = a ] && continue
  d=$(dir_of "$v")
  if [ "${AB_PREBUILT:-0}" != 1 ] || [ ! -x "$d/step_bench" ]; then
    EXTRA_NVFLAGS="$(flags_of "$v")" bash bench/step/build.sh "$d" > "$OUT/build_$v.log" 2>&1 ||
      { echo "ab.sh: build $v failed"; exit 1; }
  fi
done
for i in $(seq 1 "${AB_ROUNDS:-2}"); do
  for v in $variants; do
    # shellcheck disable=SC2086
    "$(dir_of "$v")/step_bench" $ARGS --json "$OUT/ab_${v}_$i.json" > "$OUT/ab_${v}_$i.log" 2>&1 || echo "ab.sh: run $v $i failed (see ab_${v}_$i.log)"
  done
done
python3 bench/step/ab_table.py "$OUT" "${AB_ROUNDS:-2}" "$variants" "A = default build, B = $AB_FLAGS${AB_FLAGS_C:+, C = $AB_FLAGS_C}${AB_FLAGS_D:+, D = $AB_FLAGS_D}" | tee "$OUT/ab.txt"

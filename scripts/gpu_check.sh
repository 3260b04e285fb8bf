#!/usr/bin/env bash
# gpu_check.sh - build libvortexrt + GPU test + bench with plain nvcc/gcc
# (no cmake, flex, bison or cmocka needed), run the GPU test, run it under
# compute-sanitizer memcheck and racecheck (--quick subset), time the NVRTC
# loader on a generated .cu (tests/gpu/nvrtc_time.cu: cold compile+load into
# a fresh cache dir < 3 s, cached load < 50 ms; needs
# tests/gpu/codegen/generated from gen_prepare.sh, else SKIPPED), run the
# bench, and print a short table. Logs go to $OUT (default build-gpu/out).
#   bash scripts/gpu_check.sh [--no-bench] [--no-sanitize] [--bench-quick]
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/build-gpu/out}
mkdir -p "$OUT"
BENCH=1; SANITIZE=1; BENCH_ARGS=""; VARIANTS=""
for a in "$@"; do
  case $a in
    --variants=*) VARIANTS=${a#--variants=} ;;  # e.g. --variants=VX_MMA_STAGES=2,VX_MMA_STAGES=4
    --no-bench) BENCH=0 ;;
    --no-sanitize) SANITIZE=0 ;;
    --bench-quick) BENCH_ARGS="--quick" ;;
  esac
done
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # CUDA, B, NVFLAGS, HASH_DEF, HASH_LIB, vx_gpu_build
declare -A RESULT
NVRTC_CU=${NVRTC_CU:-tests/gpu/codegen/generated/quest/quest.cu}

t0=$(date +%s)
if vx_gpu_build > "$OUT/build.log" 2>&1; then RESULT[build]=ok; else RESULT[build]=FAIL; fi
grep -E "Compiling entry|spill|Used" $B/ptxas.log 2>/dev/null | paste - - - | \
  sed -E "s/ptxas info *: Compiling entry function '([^']+)'[^\t]*/\\1/; s/ptxas info *://g; s/bytes stack frame, //" | \
  c++filt | sed -E 's/\(vx_decode_args[^)]*\)//' > "$OUT/ptxas.txt" || true
echo "build: ${RESULT[build]} ($(( $(date +%s) - t0 )) s)"
if [ "${RESULT[build]}" != ok ]; then tail -40 "$OUT/build.log"; exit 1; fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv >> "$OUT/build.log" 2>&1 || true

echo "== GPU test"
$B/vx_gpu_test > "$OUT/test.log" 2>&1; rc=$?
RESULT[test]=$([ $rc = 0 ] && echo pass || echo "FAIL rc=$rc")
tail -4 "$OUT/test.log"

if [ $SANITIZE = 1 ] && command -v compute-sanitizer >/dev/null; then
  echo "== compute-sanitizer"
  # API errors are not reported: the test provokes some on purpose (a kernel
  # name the NVRTC module lacks must give VXRT_ERROR_NOT_FOUND) and checks
  # every other call's status itself; memory errors are what this run is for.
  timeout 150 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 $B/vx_gpu_test --quick > "$OUT/memcheck.log" 2>&1; rc=$?
  RESULT[memcheck]="rc=$rc $(grep -m1 'ERROR SUMMARY' "$OUT/memcheck.log")"
  timeout 150 compute-sanitizer --tool racecheck --error-exitcode 9 $B/vx_gpu_test --quick > "$OUT/racecheck.log" 2>&1; rc=$?
  RESULT[racecheck]="rc=$rc $(grep -m1 -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/racecheck.log")"
fi

echo "== NVRTC load time"
if [ -f "$NVRTC_CU" ]; then
  timeout 60 $B/nvrtc_time "$NVRTC_CU" > "$OUT/nvrtc_time.log" 2>&1; rc=$?
  cat "$OUT/nvrtc_time.log"
  RESULT[nvrtc_cold]="$(grep -m1 'cold compile' "$OUT/nvrtc_time.log" || echo "FAIL rc=$rc (see nvrtc_time.log)")"
  RESULT[nvrtc_cached]="$(grep -m1 'cached load' "$OUT/nvrtc_time.log" || echo "FAIL rc=$rc")"
  RESULT[nvrtc_hash]=$([ -n "$HASH_DEF" ] && echo "XXH3 (libxxhash)" || echo "FNV-1a (no libxxhash-dev here)")
else
  RESULT[nvrtc_cold]="SKIPPED: no $NVRTC_CU (run tests/gpu/codegen/gen_prepare.sh and carry generated/)"
fi

if [ $BENCH = 1 ]; then
  echo "== bench"
  $B/vortex-bench $BENCH_ARGS --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1; RESULT[bench]="rc=$?"
fi

# Tuning: rebuild the kernels with each -D setting, check them against the
# references (the GPU test with VARIANT_TEST_ARGS, default "--quick"; a
# variant that fails it is not timed, except a tuning probe, *_PROBE=N with
# N > 0, whose results are wrong by design) and time them (VARIANT_BENCH_ARGS,
# default "--quick --gqa-only"; "--quick --mla-only" for MLA); '+' joins
# settings of one variant: --variants=A=1+B=2,A=2.
# shellcheck disable=SC2086
time_variant() { $B/var_$1/vortex-bench ${VARIANT_BENCH_ARGS:---quick --gqa-only} >> "$OUT/variants.log" 2>&1; }
for v in ${VARIANTS//,/ }; do
  echo "== variant -D${v//+/ -D}"
  tag=$(echo "$v" | tr -c 'A-Za-z0-9_\n' '_')
  mkdir -p $B/var_$tag
  # shellcheck disable=SC2086
  if vx_build_runtime $B/var_$tag -D${v//+/ -D} && \
     { nvcc $NVFLAGS tests/gpu/gpu_test.cu $B/var_$tag/libvortexrt.a -lnvrtc $HASH_LIB -o $B/var_$tag/vx_gpu_test & tp=$!
       nvcc $NVFLAGS bench/vortex_bench.cu $B/var_$tag/libvortexrt.a -lnvrtc $HASH_LIB -o $B/var_$tag/vortex-bench && wait $tp; }; then
    echo "-- variant -D${v//+/ -D}" >> "$OUT/variants.log"
    if $B/var_$tag/vx_gpu_test ${VARIANT_TEST_ARGS:---quick} > "$OUT/variant_test_$tag.log" 2>&1; then
      # VARIANT_SANITIZE="racecheck synccheck": those tools over the variant's
      # test (VARIANT_TEST_ARGS plus --quick) before it is timed
      for tool in ${VARIANT_SANITIZE:-}; do
        timeout 150 compute-sanitizer --tool $tool --error-exitcode 9 $B/var_$tag/vx_gpu_test ${VARIANT_TEST_ARGS:-} --quick \
          > "$OUT/variant_${tool}_$tag.log" 2>&1
        RESULT[variant_${tool}_$tag]="rc=$? $(grep -m1 -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/variant_${tool}_$tag.log")"
      done
      time_variant $tag
      RESULT[variant_$tag]="test pass, bench rc=$?"
    elif [[ "+$v" =~ \+[A-Z_]*_PROBE=[1-9] ]]; then
      time_variant $tag
      RESULT[variant_$tag]="tuning probe: test FAIL as expected (wrong results), bench rc=$?"
    else
      tail -3 "$OUT/variant_test_$tag.log" >> "$OUT/variants.log"
      RESULT[variant_$tag]="test FAIL (variant_test_$tag.log), not timed"
    fi
  else
    RESULT[variant_$tag]="build FAIL"
  fi
done

echo
echo "================ summary ($(( $(date +%s) - t0 )) s) ================"
for k in build test memcheck racecheck nvrtc_cold nvrtc_cached nvrtc_hash bench; do
  [ -n "${RESULT[$k]:-}" ] && printf "%-12s %s\n" "$k" "${RESULT[$k]}"
done
for k in "${!RESULT[@]}"; do
  case $k in variant_*) printf "%-10s %s\n" "$k" "${RESULT[$k]}" ;; esac
done
echo "-- test failures:"; grep -E "^FAIL" "$OUT/test.log" | head -8
echo "-- ptxas (regs/spills):"; grep -E "partial" "$OUT/ptxas.txt" | grep -E "bfloat16" | tr -s ' \t' ' ' | cut -c1-140 | head -12
[ -f "$OUT/bench.log" ] && { echo "-- bench:"; cat "$OUT/bench.log"; }
[ -f "$OUT/variants.log" ] && grep -E "^-- variant|sparse-attn|dense" "$OUT/variants.log"
exit 0

#!/usr/bin/env bash
# gen_gpu.sh [--quick]: runs ON THE GPU MACHINE from the repository root
# (needs gcc, nvcc, a GPU; no cmake/flex/bison/jansson). Builds the
# interpreter + IR reader and the harness with gcc, every generated .cu of
# tests/gpu/codegen/generated (see gen_prepare.sh) into a shared library
# with nvcc, runs gen_check on each, one quick run under compute-sanitizer
# memcheck, and prints a table. Logs under $OUT (default /tmp/gen_out).
# GEN_ONLY='glob' restricts the run to matching case tags (no benchmarks).
set -uo pipefail
OUT=${OUT:-/tmp/gen_out}
mkdir -p "$OUT"
here=tests/gpu/codegen
build=${GEN_BUILD:-/tmp/gen_build}
mkdir -p "$build"
cuda=${CUDA_HOME:-/usr/local/cuda}
jobs=$(nproc)

first_header=$(ls $here/generated/*/*.h | head -1)
srcs="ir/ir.c ir/read.c ir/strbuf.c ir/print.c compiler/arena.c frontend/axes.c $here/gen_diag_stub.c $(ls ir/interp_*.c | grep -v interp_files)"  # interp_files.c needs jansson
if ! gcc -O2 -fopenmp -std=c17 -D_GNU_SOURCE -I. -I"$cuda/include" -DVX_ABI_HEADER="\"$first_header\"" \
    -o "$build/gen_check" $here/gen_check.c $srcs -L"$cuda/lib64" -lcudart -ldl -lm > "$OUT/build_host.log" 2>&1; then
  echo "host build failed:"; cat "$OUT/build_host.log"; exit 1
fi

only=${GEN_ONLY:-*}
ls -d $here/generated/$only/ | xargs -P "$jobs" -I{} sh -c \
  'd={}; t=$(basename $d); '"$cuda"'/bin/nvcc -O3 -shared -Xcompiler -fPIC -gencode=arch=compute_90a,code=sm_90a \
     -o '"$build"'/$t.so $d*.cu > '"$OUT"'/nvcc_$t.log 2>&1 || echo "nvcc failed: $t"'

status=0
summary="$OUT/summary.txt"
: > "$summary"
for d in $here/generated/$only/; do
  tag=$(basename "$d")
  vir=$(ls "$d"*.vir)
  if [ ! -f "$build/$tag.so" ]; then echo "$tag: BUILD FAILED" >> "$summary"; status=1; continue; fi
  start=$(date +%s.%N)
  # A hung kernel must cost one case, not the whole lease (it once did).
  timeout -k 5 "${CASE_TIMEOUT:-90}" "$build/gen_check" "$build/$tag.so" "$vir" "$@" > "$OUT/$tag.log" 2>&1
  rc=$?
  [ $rc -eq 124 ] && echo "TIMEOUT after ${CASE_TIMEOUT:-90} s (hung kernel?)" >> "$OUT/$tag.log"
  secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
  pass=$(grep -c '^PASS' "$OUT/$tag.log"); fail=$(grep -c '^FAIL' "$OUT/$tag.log")
  case $tag in
    mutant_*) # must be caught: a wrong kernel has to fail the check
      verdict=$([ $rc -ne 0 ] && [ "$fail" -gt 0 ] && echo "caught (expected)" || echo "NOT CAUGHT")
      printf '%-30s rc=%d pass=%-3s fail=%-3s %s\n' "$tag" "$rc" "$pass" "$fail" "$verdict" >> "$summary"
      [ "$verdict" = "caught (expected)" ] || status=1 ;;
    *)
      printf '%-30s rc=%d pass=%-3s fail=%-3s %ss\n' "$tag" "$rc" "$pass" "$fail" "${secs:0:5}" >> "$summary"
      [ $rc -eq 0 ] || status=1 ;;
  esac
done

if command -v compute-sanitizer > /dev/null; then
  mc=$(basename "$(ls -d $here/generated/$only/ | grep -v mutant_ | head -1)")
  timeout -k 5 300 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/gen_check" "$build/$mc.so" \
    $here/generated/$mc/*.vir --quick > "$OUT/memcheck.log" 2>&1
  rc=$?
  echo "memcheck $mc --quick: rc=$rc $(grep -m1 'ERROR SUMMARY' "$OUT/memcheck.log")" >> "$summary"
  [ $rc -eq 0 ] || status=1
fi
# Timings of the generated step at batch 8, 8 KV heads, 32K tokens.
for tag in $([ -z "${GEN_ONLY:-}" ] && echo quest block_topk mla_centroid quest.scalar block_topk.scalar); do
  [ -f "$build/$tag.so" ] || continue
  timeout -k 5 120 "$build/gen_check" "$build/$tag.so" $here/generated/$tag/*.vir --bench > "$OUT/bench_$tag.txt" 2>&1
  echo "bench $tag: $(grep -E '^(PASS|FAIL)' "$OUT/bench_$tag.txt" | cut -c 46-)" >> "$summary"
done
grep -h '^FAIL' $(ls "$OUT"/*.log | grep -v mutant_) | head -40
cat "$summary"
exit $status

#!/usr/bin/env bash
# gen_gpu.sh [--quick]: runs ON THE GPU MACHINE from the repository root
# (needs gcc, nvcc, a GPU; no cmake/flex/bison/jansson). Builds the
# interpreter + IR reader and the harness with gcc, every generated .cu of
# tests/gpu/codegen/generated (see gen_prepare.sh) into a shared library
# with nvcc, runs gen_check on each, and prints a table. Alongside the main
# loop (background, each bounded by `timeout`): gen_check --malformed on every
# case (corrupt descriptors/page tables: statuses, no CUDA error), and
# compute-sanitizer on --quick inputs: memcheck (one case, and --malformed on
# a GQA and the MLA case), racecheck and synccheck on a GQA case, the MLA
# case and codegen_stress (SAN_CASES overrides the set). Logs under $OUT
# (default /tmp/gen_out). GEN_ONLY='glob' restricts the run to matching case
# tags (no benchmarks, sanitizers only on matching cases). GEN_NVFLAGS adds
# nvcc flags to every case's build: a tuning switch of the generated code
# (e.g. -DVX_TOPK_SLOT_DISPATCH=0) checked against the interpreter.
# GEN_NVRTC=1: the same checks with each module's own kernels built by NVRTC
# through libvortexrt's loader (gen_nvrtc.c; GEN_NVFLAGS' -D flags go to
# NVRTC too); no sanitizers or --malformed then, and the benchmark lines
# time the NVRTC-built kernels.
set -uo pipefail
OUT=${OUT:-/tmp/gen_out}
mkdir -p "$OUT"
here=tests/gpu/codegen
nvrtc=${GEN_NVRTC:-0}
build=${GEN_BUILD:-/tmp/gen_build$([ "$nvrtc" = 1 ] && echo _nvrtc)} # its .so files differ (-cudart shared)
mkdir -p "$build"
cuda=${CUDA_HOME:-/usr/local/cuda}
jobs=$(nproc)

# No cases: say so, rather than let the host build fail on a missing header.
# (A copy made by `git archive` keeps its own .gitignore, so the device tool
# leaves generated/ behind unless the call carries that path.)
first_header=$(ls $here/generated/*/*.h 2> /dev/null | head -1)
if [ -z "$first_header" ]; then
  echo "gen_gpu: no generated cases in $here/generated: run tests/gpu/codegen/gen_prepare.sh (make gpu-prepare) on the build machine and carry that folder"
  exit 2
fi
srcs="ir/ir.c ir/read.c ir/strbuf.c ir/print.c compiler/arena.c frontend/axes.c $here/gen_diag_stub.c $(ls ir/interp_*.c | grep -v interp_files)"  # interp_files.c needs jansson
host_extra=() so_extra=() nvrtc_opts=""
if [ "$nvrtc" = 1 ]; then
  # The interposers must be visible to ALG.so (-rdynamic), and ALG.so's
  # launches must go through the shared CUDA runtime to reach them. The
  # loader is libvortexrt's host part, built as scripts/gpu_build.sh builds it.
  # shellcheck source=scripts/gpu_build.sh
  source scripts/gpu_build.sh # VXRT_HOST_SRCS, VXRT_HOST_CFLAGS, HASH_LIB
  host_extra=(-DGEN_NVRTC -rdynamic "${VXRT_HOST_CFLAGS[@]}" $here/gen_nvrtc.c
              $(for f in $VXRT_HOST_SRCS; do echo runtime/src/$f.c; done) $HASH_LIB -lnvrtc)
  so_extra=(-cudart shared)
  nvrtc_opts=$(for f in ${GEN_NVFLAGS:-}; do case $f in -D*) printf '%s ' "$f" ;; esac; done)
  # NVRTC builds leave the one-launch step kernel out by default; ALG.so's
  # host code launches it where nvcc's default has it: build it too.
  case " ${GEN_NVFLAGS:-} " in *VX_STEP_FUSE*) ;; *) nvrtc_opts="${nvrtc_opts:+$nvrtc_opts }-DVX_STEP_FUSE=1" ;; esac
fi
if ! gcc -O2 -fopenmp -std=c17 -D_GNU_SOURCE -I. -I"$cuda/include" -DVX_ABI_HEADER="\"$first_header\"" \
    -o "$build/gen_check" $here/gen_check.c $srcs "${host_extra[@]}" -L"$cuda/lib64" -lcudart -ldl -lm > "$OUT/build_host.log" 2>&1; then
  echo "host build failed:"; cat "$OUT/build_host.log"; exit 1
fi

only=${GEN_ONLY:-*}
ls -d $here/generated/$only/ | xargs -P "$jobs" -I{} sh -c \
  'd={}; t=$(basename $d); '"$cuda"'/bin/nvcc -O3 -shared -Xcompiler -fPIC -gencode=arch=compute_90a,code=sm_90a '"${GEN_NVFLAGS:-} ${so_extra[*]}"' \
     -o '"$build"'/$t.so $d*.cu > '"$OUT"'/nvcc_$t.log 2>&1 || echo "nvcc failed: $t"'

status=0
summary="$OUT/summary.txt"
: > "$summary"

# Background checks, started now so they overlap the main loop; collected
# (and the table written) before the benchmarks, which must run alone.
cases_all=$(ls -d $here/generated/$only/ | xargs -n1 basename | grep -v '^mutant_')
san_cases=${SAN_CASES:-quest mla_centroid codegen_stress}
bg_pids=() san_expected=()
sanitize() { # TOOL TAG MODE TIMEOUT: one compute-sanitizer run -> $OUT/TOOL_TAG_MODE.log
  local tool=$1 tag=$2 mode=$3 secs=$4 log="$OUT/$1_$2_${3#--}.log"
  [ -f "$build/$tag.so" ] || { echo "$tool $tag $mode: SKIPPED (no $tag.so)" > "$log.line"; return; }
  timeout -k 5 "$secs" compute-sanitizer --tool "$tool" --error-exitcode 9 "$build/gen_check" "$build/$tag.so" \
    $here/generated/$tag/*.vir "$mode" > "$log" 2>&1
  local rc=$? verdict
  case $rc in 0) verdict=PASS ;; 124|137) verdict="FAIL (TIMEOUT after $secs s)" ;; *) verdict=FAIL ;; esac
  echo "$tool $tag $mode: $verdict rc=$rc $(grep -m1 -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$log" | sed 's/^=* *//')" > "$log.line"
}
san_secs=${SAN_TIMEOUT:-60}
if [ "$nvrtc" = 1 ]; then
  echo "GEN_NVRTC=1: the modules' own kernels built by NVRTC (libvortexrt's loader); sanitizers and --malformed not run; bench lines time the NVRTC kernels" >> "$summary"
elif command -v compute-sanitizer > /dev/null; then
  mc=$(echo "$cases_all" | head -1)
  san_cases=$(for t in $san_cases; do echo "$cases_all" | grep -qx "$t" && echo "$t"; done)
  # One chain per tool (runs of a chain in turn, the chains side by side).
  ( sanitize memcheck "$mc" --quick 150
    for t in $san_cases; do [ "$t" = codegen_stress ] || sanitize memcheck "$t" --malformed 120; done ) & bg_pids+=($!)
  ( for t in $san_cases; do sanitize racecheck "$t" --quick "$san_secs"; done ) & bg_pids+=($!)
  ( for t in $san_cases; do sanitize synccheck "$t" --quick "$san_secs"; done ) & bg_pids+=($!)
  # Every run must leave its line: one that never reports fails the stage
  # (run 109's quest runs left none, and the stage passed without them).
  san_expected=("memcheck_${mc}_quick")
  for t in $san_cases; do
    [ "$t" = codegen_stress ] || san_expected+=("memcheck_${t}_malformed")
    san_expected+=("racecheck_${t}_quick" "synccheck_${t}_quick")
  done
  echo "sanitizer runs: ${#san_expected[@]} (memcheck $mc --quick; SAN_CASES here: $(echo ${san_cases:-none}))" >> "$summary"
else
  echo "compute-sanitizer: not found, sanitizer checks SKIPPED" >> "$summary"
fi
[ "$nvrtc" = 1 ] || ( # --malformed on every case, no sanitizer: reject/malform lines per case
  for t in $cases_all; do
    [ -f "$build/$t.so" ] || continue
    timeout -k 5 60 "$build/gen_check" "$build/$t.so" $here/generated/$t/*.vir --malformed > "$OUT/malformed_$t.log" 2>&1
    rc=$?
    echo "$t $rc $(grep -c '^PASS' "$OUT/malformed_$t.log") $(grep -c '^FAIL' "$OUT/malformed_$t.log")"
  done > "$OUT/malformed.txt"
) & bg_pids+=($!)

for d in $here/generated/$only/; do
  tag=$(basename "$d")
  vir=$(ls "$d"*.vir)
  if [ ! -f "$build/$tag.so" ]; then echo "$tag: BUILD FAILED" >> "$summary"; status=1; continue; fi
  start=$(date +%s.%N)
  # A hung kernel must cost one case, not the whole lease (it once did).
  GEN_NVRTC_SOURCE=$(ls "$d"*.cu) GEN_NVRTC_OPTIONS="$nvrtc_opts" \
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

for p in "${bg_pids[@]}"; do wait "$p"; done
# malformed: every case must exit 0 (all reject/malform lines PASS)
if [ "$nvrtc" != 1 ]; then
mal_bad=$(awk '$2 != 0 { printf "%s(rc=%s,fail=%s) ", $1, $2, $4 }' "$OUT/malformed.txt")
echo "malformed --malformed: $([ -z "$mal_bad" ] && echo PASS || echo FAIL) $(awk '$2 == 0' "$OUT/malformed.txt" | wc -l)/$(wc -l < "$OUT/malformed.txt") cases, $(awk '{ s += $3 } END { print s + 0 }' "$OUT/malformed.txt") PASS lines${mal_bad:+; failing: $mal_bad}" >> "$summary"
[ -z "$mal_bad" ] || status=1
fi
for l in "$OUT"/*.log.line; do
  [ -f "$l" ] || continue
  cat "$l" >> "$summary"
  grep -q ': FAIL' "$l" && status=1
done
for run in "${san_expected[@]}"; do
  [ -f "$OUT/$run.log.line" ] && continue
  echo "$run: FAIL (no result: the run never reported)" >> "$summary"
  status=1
done
# Timings of the generated step at batch 8, 8 KV heads, 32K tokens.
# With GEN_NVRTC=1 the same lines time the NVRTC-built kernels (mma forms only).
bench_tags="quest block_topk mla_centroid quest.vector block_topk.vector quest.scalar block_topk.scalar"
[ "$nvrtc" = 1 ] && bench_tags="quest block_topk mla_centroid"
for tag in $([ -z "${GEN_ONLY:-}" ] && echo $bench_tags); do
  [ -f "$build/$tag.so" ] || continue
  GEN_NVRTC_SOURCE=$(ls $here/generated/$tag/*.cu) GEN_NVRTC_OPTIONS="$nvrtc_opts" \
    timeout -k 5 120 "$build/gen_check" "$build/$tag.so" $here/generated/$tag/*.vir --bench > "$OUT/bench_$tag.txt" 2>&1
  echo "bench $tag: $(grep -E '^(PASS|FAIL)' "$OUT/bench_$tag.txt" | cut -c 46-)" >> "$summary"
done
grep -h '^FAIL' $(ls "$OUT"/*.log | grep -v mutant_) | head -40
cat "$summary"
exit $status

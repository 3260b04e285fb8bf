#!/usr/bin/env bash
# one device call, on a `git archive` of branch exp/decode-row-merge; VX_COMMIT = its commit.
# Does a cheap in-kernel merge let GQA decode split rows into waves that the hardware
# balances over fast and slow SMs (RESULTS run 91: at batch 16 the one-block-a-row plan
# leaves ~24 SMs idle for ~10 us)? Builds, in parallel, libvortexrt for:
#   base  the default
#   rm2 / rm4 / rm8  -DVX_DECODE_ROW_MERGE=1 -DVX_DECODE_FORCE_CHUNKS=2/4/8 (4-warp blocks)
#   mk4   -DVX_DECODE_FORCE_CHUNKS=4 (the merge kernel: the split's cost without the row merge)
#   rm2w  rm2 in wide (8-warp) blocks
# each linked with one gpu_test.o / vortex_bench.o; the GPU test (--quick) on each, memcheck
# on rm8 (most empty chunks); then vortex-bench --gqa-only --ctx 8192 for each passing build,
# ROUNDS (2) rounds interleaved. Prints the sparse and dense graph-replay lines last.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
echo "${VX_COMMIT:-unknown}" > $X/commit.txt
t0=$(date +%s)
source scripts/gpu_build.sh
declare -A FL=([base]="" [rm2]="-DVX_DECODE_ROW_MERGE=1 -DVX_DECODE_FORCE_CHUNKS=2"
  [rm4]="-DVX_DECODE_ROW_MERGE=1 -DVX_DECODE_FORCE_CHUNKS=4" [rm8]="-DVX_DECODE_ROW_MERGE=1 -DVX_DECODE_FORCE_CHUNKS=8"
  [mk4]="-DVX_DECODE_FORCE_CHUNKS=4" [rm2w]="-DVX_DECODE_ROW_MERGE=1 -DVX_DECODE_FORCE_CHUNKS=2 -DVX_DECODE_FORCE_WIDE=1")
ORDER=${ORDER:-"base rm2 rm4 rm8 mk4 rm2w"}
nvcc $NVFLAGS -c tests/gpu/gpu_test.cu -o $B/gpu_test.o > $X/build_gpu_test.log 2>&1 &
nvcc $NVFLAGS -c bench/vortex_bench.cu -o $B/vortex_bench.o > $X/build_vortex_bench.log 2>&1 &
for t in $ORDER; do
  mkdir -p $B/v_$t
  # shellcheck disable=SC2086
  (vx_build_runtime $B/v_$t ${FL[$t]} > $X/build_$t.log 2>&1; cp $B/v_$t/ptxas.log $X/ptxas_$t.log) &
done
wait
OK=""
for t in $ORDER; do
  if nvcc $NVFLAGS $B/gpu_test.o $B/v_$t/libvortexrt.a -lnvrtc $HASH_LIB -o $B/v_$t/vx_gpu_test >> $X/build_$t.log 2>&1 &&
     nvcc $NVFLAGS $B/vortex_bench.o $B/v_$t/libvortexrt.a -lnvrtc $HASH_LIB -o $B/v_$t/vortex-bench >> $X/build_$t.log 2>&1; then
    if $B/v_$t/vx_gpu_test --quick > $X/test_$t.log 2>&1; then OK="$OK $t"; fi
    echo "$t: build ok, test $(tail -1 $X/test_$t.log)"
  else
    echo "$t: build FAIL"; tail -5 $X/build_$t.log
  fi
done
echo "built and tested in $(( $(date +%s) - t0 )) s; passing:$OK"
for r in $(seq 1 ${ROUNDS:-2}); do
  for t in $OK; do $B/v_$t/vortex-bench --gqa-only --ctx 8192 --reps ${REPS:-20} > $X/bench_${t}_$r.log 2>&1; done
done
echo "timed at $(( $(date +%s) - t0 )) s"
if [[ " $OK " == *" rm8 "* ]] && [ $(( $(date +%s) - t0 )) -lt ${MEMCHECK_BEFORE_S:-420} ]; then
  timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 $B/v_rm8/vx_gpu_test --quick > $X/memcheck_rm8.log 2>&1
  echo "memcheck rm8: rc=$? $(grep -m1 'ERROR SUMMARY' $X/memcheck_rm8.log)"
fi
for t in $OK; do
  for r in $(seq 1 ${ROUNDS:-2}); do
    echo "-- $t round $r"; grep -E "(sparse-attn|dense)/graph" $X/bench_${t}_$r.log | cut -c1-100
  done
done
tar czf $OUT/run122.tgz -C $X . && rm -rf $X

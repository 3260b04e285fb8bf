#!/usr/bin/env bash
# one device call, on a `git archive` of branch exp/topk-l2-ahead; VX_COMMIT = its commit.
# Carries step_bench built on the build machine by bench/step/build.sh:
#   build-step (A: default), build-step-ab (B: -DVX_TOPK_L2_AHEAD=8),
#   build-step-ab-c (C: =16), build-step-ab-d (D: =4).
# Does sending a row's first selected pages toward L2 as the top-k writes them
# fill the idle DRAM between the index and the attention's first tiles?
# 1. on an H200 only: the issue-5 benchmark of main's device code first (A's
#    kernels = main's, sass_diff) -- skipped on other cards;
# 2. step_bench --check-all with B and C (every row's attention, attn-compact and
#    step against f64), memcheck on B at quest/block_topk B16 8K;
# 3. ab.sh: A B C D interleaved, 3 rounds, quest and block_topk, 8K/32K, B16/B32.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  # the benchmark writes $OUT/run115.tgz and leaves no $OUT/x behind
  MLA_S=0 BODY_S=0 bash bench/results/run115/run115.sh
  AB_ROUNDS=${AB_ROUNDS:-2}
fi
X=$OUT/x; mkdir -p $X
echo "${VX_COMMIT:-unknown}" > $X/commit.txt
t0=$(date +%s)
for v in ab ab-c; do
  timeout 120 build-step-$v/step_bench --algos quest,block_topk --contexts 8192,32768 --batches 16,32 --no-dense \
    --reps 2 --check-all > $X/check_$v.log 2>&1
  echo "check $v: rc=$? $(tail -1 $X/check_$v.log)"
done
timeout 150 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 build-step-ab/step_bench \
  --algos quest,block_topk --contexts 8192 --batches 16 --no-dense --reps 1 > $X/memcheck_b.log 2>&1
echo "memcheck B: rc=$? $(grep -m1 'ERROR SUMMARY' $X/memcheck_b.log)"
echo "checked at $(( $(date +%s) - t0 )) s"
AB_PREBUILT=1 AB_FLAGS="-DVX_TOPK_L2_AHEAD=8" AB_FLAGS_C="-DVX_TOPK_L2_AHEAD=16" AB_FLAGS_D="-DVX_TOPK_L2_AHEAD=4" \
  AB_ROUNDS=${AB_ROUNDS:-3} AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 16,32 --no-dense --reps 20" \
  OUT=$X bash bench/step/ab.sh > $X/ab_stdout.log 2>&1
echo "timed at $(( $(date +%s) - t0 )) s"
grep -v '^ *$' $X/ab.txt | cut -c1-190
tar czf $OUT/run125.tgz -C $X . && rm -rf $X

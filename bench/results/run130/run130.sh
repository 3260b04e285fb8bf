#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main; VX_COMMIT = the code's commit.
# Where the batch-16 x 8K step's time goes: ncu per-instruction warp-stall samples
# (SourceCounters + WarpStateStats, boost clocks, cold L2) of
#   quest_fused_step_kernel      quest's one-launch step (index, top-k, attention in one block)
#   block_topk_fused_kernel      block top-k's index + top-k (its step is two launches)
#   vx_decode_partial_mma        block top-k's attention
# at B16 x 8K, the second launch of each (the first is step_bench's warm-up). Samples are
# warp-time at each SASS address: a phase's share of a kernel's samples is its share of the
# kernel's warp-time. The source CSVs come back (in run130.tgz) for splitting by phase here.
# Before that, the per-kernel table of profile.sh's first pass at the same shape.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
echo "${VX_COMMIT:-unknown}"
t0=$(date +%s)
X=$OUT/x; mkdir -p $X # packed into run130.tgz at the end (a call returns at most 8 files)
# a default build-step left by run128.sh in the same call is reused
[ -x build-step/step_bench ] || bash bench/step/build.sh build-step > $X/build.log 2>&1 || { tail -20 $X/build.log; exit 1; }
echo "built at $(( $(date +%s) - t0 )) s"
S="--no-dense --contexts 8192 --batches 16 --reps 1"
PROFILE_CLOCK=none PROFILE_SHAPE="--contexts 8192 --batches 16" PROFILE_KERNELS=6 PROFILE_TIMEOUT=120 \
PROFILE_SOURCE="quest_fused_step:1:build-step/step_bench --algos quest $S;block_topk_fused_kernel:1:build-step/step_bench --algos block_topk $S;vx_decode_partial_mma:1:build-step/step_bench --algos block_topk $S" \
  OUT=$X bash bench/step/profile.sh build-step 2>&1 | tee $OUT/profile.txt
rm -f $X/*.ncu-rep # the source CSVs hold what is read here
tar czf $OUT/run130.tgz -C $X . && rm -rf $X
echo "done at $(( $(date +%s) - t0 )) s"

#!/usr/bin/env bash
# one device call, on a `git archive` of main; VX_COMMIT = the code's commit. H200 only (on
# any other card it stops at once): the two H200 questions of run115.sh without its
# benchmark (run 125 ran that on an H200):
#   mla  runtime stage, no sanitizers, no bench of the default build: the default with
#        -DVX_MLA_PLAN_LOG=1 and -DVX_MLA_WG_SHRINK=1 (+ the log), each through the MLA GPU
#        test, then timed (--mla-only): do 16 clusters of 7 fit an H200?
#   ab   the one-launch step's rule on the H200: A = default, B = -DVX_STEP_FUSE=0,
#        C = -DVX_STEP_FUSE=1; batch 16 x 8K/32K, 2 rounds, every row checked
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
# the step_bench variants build beside the MLA stage's compiles (no timing shares the CPUs:
# the MLA stage times after its builds, and the A/B waits for these)
bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
EXTRA_NVFLAGS=-DVX_STEP_FUSE=0 bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
EXTRA_NVFLAGS=-DVX_STEP_FUSE=1 bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
wait
echo "step_bench variants built at $(( $(date +%s) - t0 )) s"
OUT=$X/mla VX_COMMIT=$C GPU_STAGES=runtime STAGE_TIMEOUT=${MLA_S:-280} \
  GPU_CHECK_ARGS="--no-sanitize --no-bench --variants=VX_MLA_PLAN_LOG=1,VX_MLA_WG_SHRINK=1+VX_MLA_PLAN_LOG=1" \
  VARIANT_TEST_ARGS=--mla-only VARIANT_BENCH_ARGS=--mla-only PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
left=$(( ${BODY_S:-560} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 60 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS=-DVX_STEP_FUSE=0 AB_FLAGS_C=-DVX_STEP_FUSE=1 AB_ROUNDS=2 \
  AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
tar czf $OUT/run126.tgz -C $X . && rm -rf $X

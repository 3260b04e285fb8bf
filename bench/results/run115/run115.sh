#!/usr/bin/env bash
# one device call, on a `git archive` of main (no generated cases needed); VX_COMMIT = the
# code's commit. On an H200 (on any other card the benchmark alone):
#   step  bench/run_all.sh: the full benchmark (the latest H200 full run is run 76)
#   mla   runtime stage, no sanitizers, no bench of the default build: two variants, the
#         default with -DVX_MLA_PLAN_LOG=1 and -DVX_MLA_WG_SHRINK=1 (+ the log), each through
#         the MLA GPU test, then timed (--mla-only): do 16 clusters of 7 fit an H200?
#   ab    the one-launch step's rule on the H200: A = default, B = -DVX_STEP_FUSE=0,
#         C = -DVX_STEP_FUSE=1; batch 16 x 8K/32K, 2 rounds, every row checked
# STEP_S=0 skips step (run126.sh), MLA_S=0 mla, BODY_S=0 ab; PEERS_BUDGET_S bounds the PyTorch peers (default 100 s),
# STEP_TIMEOUT the benchmark (default 300 s).
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# elsewhere (H100): the full benchmark alone, main's numbers since run 110 (MLA_S=0 BODY_S=0)
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: the benchmark alone"; MLA_S=0 BODY_S=0; }
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown} t0=$(date +%s)
[ "${STEP_S:-1}" = 0 ] || OUT=$X/rs VX_COMMIT=$C GPU_STAGES=step STAGE_TIMEOUT=${STEP_TIMEOUT:-300} PEERS_BUDGET_S=${PEERS_BUDGET_S:-100} PACK=0 TAIL_LINES=45 \
  bash scripts/gpu_all.sh
left=$(( ${MLA_S:-560} - ($(date +%s) - t0) ))
[ "$left" -gt 90 ] && OUT=$X/mla VX_COMMIT=$C GPU_STAGES=runtime STAGE_TIMEOUT=$left \
  GPU_CHECK_ARGS="--no-sanitize --no-bench --variants=VX_MLA_PLAN_LOG=1,VX_MLA_WG_SHRINK=1+VX_MLA_PLAN_LOG=1" \
  VARIANT_TEST_ARGS=--mla-only VARIANT_BENCH_ARGS=--mla-only PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
# the variants build after the benchmark, so that no compile shares the CPUs with its timing
if [ "${BODY_S:-560}" -gt 0 ]; then
  EXTRA_NVFLAGS=-DVX_STEP_FUSE=0 bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
  EXTRA_NVFLAGS=-DVX_STEP_FUSE=1 bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
  wait
fi
left=$(( ${BODY_S:-560} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 60 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS=-DVX_STEP_FUSE=0 AB_FLAGS_C=-DVX_STEP_FUSE=1 AB_ROUNDS=2 \
  AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
tar czf $OUT/run115.tgz -C $X . && rm -rf $X

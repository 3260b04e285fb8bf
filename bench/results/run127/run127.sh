#!/usr/bin/env bash
# one device call, on a `git archive` of main; VX_COMMIT = the code's commit. H200 only (on
# any other card it stops at once). Run 125 (H200) left batch 16 as the one batch off the
# attention line (1.18-1.21x of its floor, the no-math gather 1.05-1.07x). The H200 moves
# 1.42x the H100's bytes a second, so an SM needs 1.42x the bytes in flight: does the
# one-block-per-SM attention's ring of 8 warps x 3 stages (two tiles in flight a warp
# through the math) fall short there, where 4 warps x 6 or 7 stages (five or six) would not?
# Run 84 answered no on an H100 (3-6% slower).
#   ab   A = default, B = -DVX_DECODE_WIDE_WARPS=4 -DVX_DECODE_WIDE_STAGES=6, C = 4 x 7,
#        D = -DVX_STEP_FUSE=0 (B and C need it too: the one-launch step shares its 8-warp
#        block between the index and the attention, a static_assert; so compare B and C's
#        attention with A's and their quest steps with D's; D against A is the one-launch
#        step's own A/B on the H200); quest and block top-k, batch 16 x 8K/32K, 2 rounds,
#        every row checked
#   mla  (if time is left) runs126.sh's MLA question: -DVX_MLA_WG_SHRINK=1 with the plan log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
W6="-DVX_DECODE_WIDE_WARPS=4 -DVX_DECODE_WIDE_STAGES=6 -DVX_STEP_FUSE=0"
W7="-DVX_DECODE_WIDE_WARPS=4 -DVX_DECODE_WIDE_STAGES=7 -DVX_STEP_FUSE=0" SF0="-DVX_STEP_FUSE=0"
bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
EXTRA_NVFLAGS="$W6" bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
EXTRA_NVFLAGS="$W7" bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
EXTRA_NVFLAGS="$SF0" bash bench/step/build.sh build-step-ab-d > $X/build_d.log 2>&1 &
wait
echo "step_bench variants built at $(( $(date +%s) - t0 )) s"
OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=${AB_S:-240} AB_PREBUILT=1 AB_FLAGS="$W6" AB_FLAGS_C="$W7" AB_FLAGS_D="$SF0" AB_ROUNDS=2 \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768} --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
left=$(( ${BODY_S:-480} - ($(date +%s) - t0) ))
echo "mla: ${left} s left"
[ "$left" -gt 150 ] && OUT=$X/mla VX_COMMIT=$C GPU_STAGES=runtime STAGE_TIMEOUT=$left \
  GPU_CHECK_ARGS="--no-sanitize --no-bench --variants=VX_MLA_WG_SHRINK=1+VX_MLA_PLAN_LOG=1" \
  VARIANT_TEST_ARGS=--mla-only VARIANT_BENCH_ARGS=--mla-only PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
tar czf $OUT/run127.tgz -C $X . && rm -rf $X

#!/usr/bin/env bash
# one device call, on a `git archive` of main with tests/gpu/codegen/generated carried;
# VX_COMMIT = the code's commit. VX_STEP_WIDE (the one-launch step's index phases in 16
# warps, then 8 of them attend with the registers the upper 8 hand over by setmaxnreg):
#   chk  (CHK_S=0 skips it) codegen  block_topk*, dynamic_budget*, quest* vs the interpreter with
#                 -DVX_STEP_WIDE=1 -DVX_STEP_FUSE=1 -DVX_STEP_FUSE_MAX_PAGES=8192 -DVX_STEP_LOG=1
#                 (every pair-kernel module's step fused, 16 warps); memcheck, racecheck,
#                 synccheck on quest --quick, whose B16 H8 case takes the step
#   ab   A = default (quest: the 8-warp step; block top-k: two launches),
#        B = -DVX_STEP_WIDE=1 -DVX_STEP_FUSE=1 (both: the 16-warp step, rows <= 2048 pages),
#        C = B + -DVX_STEP_FUSE_MAX_PAGES=8192 (128K rows too; only with FULL=1);
#        batch 16 x 8K/32K (FULL=1: and 128K), 2 rounds interleaved, every row checked in f64
#   then, on an H200 with > 260 s of CALL_S left, bench/results/run127/run127.sh (MLA skipped)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown} t0=$(date +%s)
WB="-DVX_STEP_WIDE=1 -DVX_STEP_FUSE=1 -DVX_STEP_LOG=1"
WC="$WB -DVX_STEP_FUSE_MAX_PAGES=8192"
FULL=${FULL:-0}
(bash bench/step/build.sh build-step > $X/bg_build_a.log 2>&1 &
 EXTRA_NVFLAGS="$WB" bash bench/step/build.sh build-step-ab > $X/bg_build_b.log 2>&1 &
 [ "$FULL" = 1 ] && EXTRA_NVFLAGS="$WC" bash bench/step/build.sh build-step-ab-c > $X/bg_build_c.log 2>&1 &
 wait) &
bg=$!
[ "${CHK_S:-200}" -gt 0 ] && OUT=$X/chk VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=${CHK_S:-200} GEN_ONLY=${GEN_ONLY:-'[bq][lu][oe]*'} \
  GEN_NVFLAGS="$WC" GEN_BUILD=/tmp/gen_build_wide PACK=0 TAIL_LINES=25 bash scripts/gpu_all.sh
grep -rh "vx step:" $X/chk 2>/dev/null | sort | uniq -c | head -5
wait $bg
echo "builds done at $(( $(date +%s) - t0 )) s"; grep -h "spill\|error" $X/bg_build_*.log | head -5
left=$(( ${BODY_S:-420} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS="$WB" AB_FLAGS_C="$([ "$FULL" = 1 ] && echo "$WC")" AB_ROUNDS=${AB_ROUNDS:-2} \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768$([ "$FULL" = 1 ] && echo ,131072)} --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=45 bash scripts/gpu_all.sh
grep -h "vx step:" $X/ab/ab/ab_b_1.log $X/ab/ab/ab_c_1.log 2>/dev/null | sort | uniq -c | head -5
tar czf $OUT/run128.tgz -C $X . && rm -rf $X
# On an H200 with time left (CALL_S: the call's own limit), run127.sh's batch-16 attention
# A/B as well (its own $OUT/x, its own run127.tgz; MLA skipped)
left=$(( ${CALL_S:-560} - ($(date +%s) - t0) ))
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && [ "$left" -gt 260 ]; then
  echo "run127: ${left} s left"
  AB_S=$(( left - 150 )) BODY_S=0 bash bench/results/run127/run127.sh
fi

#!/usr/bin/env bash
# one device call, on a `git archive` of main with tests/gpu/codegen/generated carried;
# VX_COMMIT = the code's commit. VX_INDEX_L2_AHEAD (527c292): the fused step's index warps
# send their tile after next toward L2.
#   def   codegen  block_topk*, dynamic_budget*, quest* vs the interpreter, default build
#                  (L2_AHEAD=1: quest's fused step prefetches)
#   pf2   codegen  block_topk*, quest* with -DVX_STEP_FUSE=1 -DVX_INDEX_L2_AHEAD=2 (block top-k's
#                  fused step and the 16-warp fused index prefetch too)
#   ab    A = default, B = -DVX_INDEX_L2_AHEAD=0 (run 110's code), C = -DVX_STEP_FUSE=1,
#         D = -DVX_INDEX_L2_AHEAD=2; batch 16 x 8K/32K/128K, 3 rounds interleaved, every row
#         checked in f64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown} t0=$(date +%s)
(bash bench/step/build.sh build-step > $X/bg_build_a.log 2>&1
 EXTRA_NVFLAGS=-DVX_INDEX_L2_AHEAD=0 bash bench/step/build.sh build-step-ab > $X/bg_build_b.log 2>&1
 EXTRA_NVFLAGS=-DVX_STEP_FUSE=1 bash bench/step/build.sh build-step-ab-c > $X/bg_build_c.log 2>&1
 EXTRA_NVFLAGS=-DVX_INDEX_L2_AHEAD=2 bash bench/step/build.sh build-step-ab-d > $X/bg_build_d.log 2>&1) &
bg=$!
OUT=$X/def VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bdq][luy][noe]*' PACK=0 TAIL_LINES=25 \
  bash scripts/gpu_all.sh
OUT=$X/pf2 VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bq][lu][oe]*' \
  GEN_NVFLAGS='-DVX_STEP_FUSE=1 -DVX_INDEX_L2_AHEAD=2' GEN_BUILD=/tmp/gen_build_pf2 PACK=0 TAIL_LINES=25 \
  bash scripts/gpu_all.sh
wait $bg
left=$(( ${BODY_S:-560} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS=-DVX_INDEX_L2_AHEAD=0 AB_FLAGS_C=-DVX_STEP_FUSE=1 AB_FLAGS_D=-DVX_INDEX_L2_AHEAD=2 AB_ROUNDS=3 \
  AB_ARGS="--algos quest,block_topk --contexts 8192,32768,131072 --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=45 bash scripts/gpu_all.sh
tar czf $OUT/run114.tgz -C $X . && rm -rf $X

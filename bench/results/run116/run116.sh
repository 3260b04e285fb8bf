#!/usr/bin/env bash
# one device call, on a `git archive` of main with tests/gpu/codegen/generated carried;
# VX_COMMIT = the code's commit. 6e3d6d5: 256-thread top-k blocks (the fused step, the pair
# kernel) take 2- and 8-slot instances for rows of <= 512 / <= 2048 pages instead of 4 and 16.
#   runtime  libvortexrt GPU test (top-k rows at 512/513 and 2048/2049 pages in 256-thread
#            blocks), memcheck, racecheck, NVRTC cold compile time; no bench
#   codegen  block_topk*, dynamic_budget*, quest* vs the interpreter
#   ab       A = default, B = -DVX_TOPK_FIXED_PAGES=0 (the 1/4-slot instances of before);
#            quest, block_topk x 8K/32K x B16/B32, 3 rounds interleaved, every row checked in f64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown} t0=$(date +%s)
(bash bench/step/build.sh build-step > $X/bg_build_a.log 2>&1
 EXTRA_NVFLAGS=-DVX_TOPK_FIXED_PAGES=0 bash bench/step/build.sh build-step-ab > $X/bg_build_b.log 2>&1) &
bg=$!
OUT=$X/rt VX_COMMIT=$C GPU_STAGES=runtime GPU_CHECK_ARGS=--no-bench STAGE_TIMEOUT=200 PACK=0 TAIL_LINES=20 \
  bash scripts/gpu_all.sh
OUT=$X/def VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bdq][luy][noe]*' PACK=0 TAIL_LINES=20 \
  bash scripts/gpu_all.sh
wait $bg
left=$(( ${BODY_S:-560} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS=-DVX_TOPK_FIXED_PAGES=0 AB_ROUNDS=3 \
  AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 16,32 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=45 bash scripts/gpu_all.sh
tar czf $OUT/run116.tgz -C $X . && rm -rf $X

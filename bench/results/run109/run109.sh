#!/usr/bin/env bash
# one device call (2026-12-07), on a `git archive` of main with tests/gpu/codegen/generated carried:
#   def   codegen stage, default build, the 17 cases block_topk* and quest*: first GPU run of
#         gen_check's state_init check and of its step check (index + attend == the step, bit for
#         bit) on every case; sanitizers on the quick cases (B16 H8 x 300 new)
#   fuse  the same with -DVX_STEP_FUSE=1 (first GPU run of ALG_fused_step_kernel)
#   ab    -DVX_STEP_FUSE=1 (B) against the default (A), batch 16 x 8K/32K/128K, 3 rounds,
#         step_bench's f64 check on every row (--check-all)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown} t0=$(date +%s)
# the A/B's builds under the correctness stages
(bash bench/step/build.sh build-step > $X/bg_build_a.log 2>&1
 EXTRA_NVFLAGS=-DVX_STEP_FUSE=1 bash bench/step/build.sh build-step-ab > $X/bg_build_b.log 2>&1) &
bg=$!
OUT=$X/def VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bq][lu][oe]*' PACK=0 TAIL_LINES=25 \
  bash scripts/gpu_all.sh
OUT=$X/fuse VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bq][lu][oe]*' GEN_NVFLAGS=-DVX_STEP_FUSE=1 \
  GEN_BUILD=/tmp/gen_build_fuse PACK=0 TAIL_LINES=25 bash scripts/gpu_all.sh
wait $bg
left=$(( ${BODY_S:-560} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 AB_FLAGS=-DVX_STEP_FUSE=1 \
  AB_ROUNDS=3 AB_ARGS="--algos quest,block_topk --contexts 8192,32768,131072 --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=40 bash scripts/gpu_all.sh
tar czf $OUT/run109.tgz -C $X . && rm -rf $X

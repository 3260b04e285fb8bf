#!/usr/bin/env bash
# one device call (prepared 2026-12-07, not yet run), on a `git archive` of main with
# tests/gpu/codegen/generated carried; VX_COMMIT = the code's commit:
#   on an H200: step  bench/run_all.sh (the latest H200 full run is run 76; the one-launch step's
#                     first H200 numbers)
#               ab    the one-launch step's rule on the H200: A = default (quest fused at <= 2048
#                     pages, block top-k not), B = -DVX_STEP_FUSE=0, C = -DVX_STEP_FUSE=1,
#                     batch 16 x 8K/32K, 2 rounds, every row checked
#   elsewhere:  ab    the same A/B/C only (an H100's rule check: run 109 had A/B)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown}
ab() {
  OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=${1} AB_FLAGS=-DVX_STEP_FUSE=0 AB_FLAGS_C=-DVX_STEP_FUSE=1 \
    AB_ROUNDS=2 AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 16 --no-dense --reps 20 --check-all" \
    PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
}
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  OUT=$X/rs VX_COMMIT=$C GPU_STAGES=step STAGE_TIMEOUT=250 PEERS_BUDGET_S=100 PACK=0 TAIL_LINES=45 \
    bash scripts/gpu_all.sh
  ab 280
else
  ab 400
fi
tar czf $OUT/run113.tgz -C $X . && rm -rf $X

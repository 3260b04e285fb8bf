#!/usr/bin/env bash
# one device call (2026-12-07), on a `git archive` of main with tests/gpu/codegen/generated carried:
#   on an H200: step    bench/run_all.sh (the latest H200 full run is run 76)
#   elsewhere:  nvrtc   the quest* cases with their kernels built by NVRTC (the one-launch step is
#                       on by default there since eac1309: its NVRTC build against the interpreter)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES=step STAGE_TIMEOUT=250 PEERS_BUDGET_S=100 PACK=0 TAIL_LINES=45 \
    timeout -k 5 "${BODY_S:-290}" bash scripts/gpu_all.sh
else
  OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES=nvrtc GEN_ONLY='quest*' STAGE_TIMEOUT=200 PACK=0 TAIL_LINES=25 \
    timeout -k 5 "${BODY_S:-240}" bash scripts/gpu_all.sh
fi
tar czf $OUT/run111.tgz -C $X . && rm -rf $X

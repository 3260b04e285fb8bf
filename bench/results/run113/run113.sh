#!/usr/bin/env bash
# one device call, on a `git archive` of main with tests/gpu/codegen/generated carried;
# VX_COMMIT = the code's commit:
#   any card:  codegen  block_topk*, dynamic_budget*, quest* vs the interpreter (c2257fd's host
#                       refactor of the fused step's launcher, not yet GPU-run)
#              nvrtc    quest* with NVRTC-built kernels (f6c103f's registration-based mapping)
#   on an H200: step    bench/run_all.sh (the latest H200 full run is run 76; the one-launch
#                       step's first H200 numbers)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown}
OUT=$X/v VX_COMMIT=$C GPU_STAGES=codegen STAGE_TIMEOUT=150 GEN_ONLY='[bdq][luy][noe]*' PACK=0 TAIL_LINES=20 \
  bash scripts/gpu_all.sh
OUT=$X/n VX_COMMIT=$C GPU_STAGES=nvrtc STAGE_TIMEOUT=130 GEN_ONLY='quest*' PACK=0 TAIL_LINES=20 \
  bash scripts/gpu_all.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  OUT=$X/rs VX_COMMIT=$C GPU_STAGES=step STAGE_TIMEOUT=250 PEERS_BUDGET_S=100 PACK=0 TAIL_LINES=45 \
    bash scripts/gpu_all.sh
fi
tar czf $OUT/run113.tgz -C $X . && rm -rf $X

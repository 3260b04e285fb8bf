#!/usr/bin/env bash
# one device call, on a `git archive` of main at bf74bf2 (the pair kernel at every one-block-a-row
# index launch): bench/run_all.sh, the whole generated step vs dense vs the PyTorch peers.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main
OUT=$X VX_COMMIT=bf74bf2 GPU_STAGES=step STAGE_TIMEOUT=${STAGE_S:-230} PEERS_BUDGET_S=110 PACK=0 TAIL_LINES=30 \
  bash scripts/gpu_all.sh
tar czf $OUT/run104.tgz -C $X . && rm -rf $X

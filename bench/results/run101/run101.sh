#!/usr/bin/env bash
# one device call on main 2f95b40 (the pair kernel merged): the step stage of scripts/gpu_all.sh
# (bench/run_all.sh: the whole generated step vs paged dense vs the PyTorch peers, MLA).
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
OUT=$X VX_COMMIT=2f95b40 GPU_STAGES=step STAGE_TIMEOUT=${STAGE_S:-250} PEERS_BUDGET_S=100 PACK=0 TAIL_LINES=60 \
  bash scripts/gpu_all.sh
tar czf $OUT/run101.tgz -C $X . && rm -rf $X

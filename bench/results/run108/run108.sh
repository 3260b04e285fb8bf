#!/usr/bin/env bash
# one device call (2026-12-07; run 107 again after its harness fix: run 107 mapped no kernel), on a `git archive` of main with
# tests/gpu/codegen/generated carried:
#   nvrtc    every generated case against the CPU interpreter with the modules' own kernels built
#            by NVRTC through libvortexrt's loader (GEN_NVRTC=1: first run of gen_nvrtc.c)
#   step     bench/run_all.sh on an H200 only, first there (the latest H200 full run is run 76)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
stages="nvrtc" stage_s=400
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && stages="step nvrtc" stage_s=300
OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES="$stages" STAGE_TIMEOUT=${STAGE_S:-$stage_s} PEERS_BUDGET_S=110 PACK=0 \
  TAIL_LINES=70 timeout -k 5 "${BODY_S:-580}" bash scripts/gpu_all.sh
tar czf $OUT/run108.tgz -C $X . && rm -rf $X

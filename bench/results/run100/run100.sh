#!/usr/bin/env bash
# one device call, on a `git archive` of branch exp/index-fuse-pair (f74e9f2: kernels of d766c44) with
# tests/gpu/codegen/generated carried: every stage of scripts/gpu_all.sh.
#   codegen  all 55 generated cases vs the CPU interpreter, mutant, codegen sanitizers
#   runtime  libvortexrt's GPU test under compute-sanitizer memcheck + racecheck, vortex-bench
#   step     bench/run_all.sh: the whole generated step vs dense vs the PyTorch peers (on an H200
#            only: the H100's latest are runs 94 and 99, and device time is short)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
stages="codegen runtime"
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && stages="codegen runtime step"
OUT=$X VX_COMMIT=f74e9f2 GPU_STAGES="$stages" STAGE_TIMEOUT=${STAGE_S:-188} PEERS_BUDGET_S=110 PACK=0 TAIL_LINES=30 \
  bash scripts/gpu_all.sh
tar czf $OUT/run100.tgz -C $X . && rm -rf $X

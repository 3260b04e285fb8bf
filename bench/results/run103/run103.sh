#!/usr/bin/env bash
# one device call, on a `git archive` of main at bf74bf2 with tests/gpu/codegen/generated carried:
#   codegen  quest* and block_topk* (pair-kernel modules) against the CPU interpreter, with gen_check's
#            B40 H8 x 1500 case (320 rows of <= 94 pages: the pair kernel's second wave, radix passes)
#   step     bench/run_all.sh (on an H200 only: the latest H200 full run is run 76)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main
stages=codegen
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && stages="codegen step"
OUT=$X VX_COMMIT=bf74bf2 GPU_STAGES="$stages" STAGE_TIMEOUT=${STAGE_S:-240} GEN_ONLY='[bq][lu][oe]*' PEERS_BUDGET_S=110 \
  PACK=0 TAIL_LINES=30 timeout -k 5 "${BODY_S:-500}" bash scripts/gpu_all.sh
tar czf $OUT/run103.tgz -C $X . && rm -rf $X

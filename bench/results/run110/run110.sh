#!/usr/bin/env bash
# one device call (2026-12-07), on a `git archive` of main with tests/gpu/codegen/generated carried:
#   codegen  every generated case against the CPU interpreter with the one-launch step on by
#            default (quest, dynamic_budget: >= 512 field bytes a page); the sanitizers' quest runs
#            (racecheck, synccheck --quick: B16 H8 x 300 takes the fused step) included
#   step     bench/run_all.sh: the whole generated step vs dense vs the PyTorch peers
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES="codegen step" STAGE_TIMEOUT=${STAGE_S:-280} PEERS_BUDGET_S=110 \
  PACK=0 TAIL_LINES=45 timeout -k 5 "${BODY_S:-580}" bash scripts/gpu_all.sh
tar czf $OUT/run110.tgz -C $X . && rm -rf $X

#!/usr/bin/env bash
# one device call (2026-12-07), on a `git archive` of main with tests/gpu/codegen/generated and
# nvt/ (nvrtc_time built on the build machine, and three quest.cu of bench/step/gen) carried:
#   nvrtc_time  cold NVRTC compile + load, the driver's JIT cache off, twice each, interleaved:
#               before (2d11e1a: no fused step kernel), now (NVRTC default: left out),
#               fused (now with #define VX_STEP_FUSE 1 prepended)
#   nvrtc       the quest* cases with NVRTC-built kernels (the harness now asks for the kernel)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
for i in 1 2; do for v in before now fused; do
  echo "== quest_$v ($i)"; nvt/nvrtc_time nvt/quest_$v.cu quest_cache_update_kernel 2>&1 | tail -2
done; done 2>&1 | tee $X/nvrtc_time.txt
OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES=nvrtc GEN_ONLY='quest*' STAGE_TIMEOUT=150 PACK=0 TAIL_LINES=16 \
  timeout -k 5 170 bash scripts/gpu_all.sh
tar czf $OUT/run112.tgz -C $X . && rm -rf $X

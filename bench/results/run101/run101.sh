#!/usr/bin/env bash
# one device call, on a `git archive` of main at 198c11a with tests/gpu/codegen/generated carried.
#   runtime  libvortexrt's GPU test under compute-sanitizer memcheck + racecheck, vortex-bench,
#            NVRTC cold compile + load (first GPU run of 1204a0a's split compile), alone on the machine
#   step     bench/run_all.sh: the whole generated step vs dense vs the PyTorch peers
#   ab       -DVX_INDEX_FUSE_PAIR=2 (the pair kernel beyond one wave: batch 64) against the default
# The codegen stage is left out: the generated kernels' SASS is unchanged since run 100
# (scripts/sass_diff.sh 0/9 quest, 0/8 block_topk).
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main
body() {
  OUT=$X/rs VX_COMMIT=198c11a GPU_STAGES="runtime step" STAGE_TIMEOUT=${STAGE_S:-270} PEERS_BUDGET_S=120 PACK=0 TAIL_LINES=30 \
    bash scripts/gpu_all.sh
  OUT=$X/ab VX_COMMIT=198c11a GPU_STAGES=ab STAGE_TIMEOUT=170 AB_PREBUILT=1 AB_FLAGS=-DVX_INDEX_FUSE_PAIR=2 \
    AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 64 --no-dense --reps 20" PACK=0 TAIL_LINES=20 \
    bash scripts/gpu_all.sh
}
export -f body; export X
timeout -k 5 "${BODY_S:-570}" bash -c body
tar czf $OUT/run101.tgz -C $X . && rm -rf $X

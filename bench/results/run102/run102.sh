#!/usr/bin/env bash
# one device call, on a `git archive` of main at 212109d (VX_INDEX_FUSE_PAIR default 2) with
# tests/gpu/codegen/generated carried:
#   codegen  the modules whose index launches the pair kernel (and the codegen_* cases) against the
#            CPU interpreter, with gen_check's new B40 H8 case (320 rows: past the pair kernel's one
#            wave), their sanitizers on the quick cases
#   ab       A = default (2), B = -DVX_INDEX_FUSE_PAIR=1 (run 100's rule), C = -DVX_INDEX_FUSE_PAIR=0,
#            at 128K (8192-page rows: the 256-thread top-k's uncached path) x B32/B64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main
body() {
  ( bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
    EXTRA_NVFLAGS=-DVX_INDEX_FUSE_PAIR=1 bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
    EXTRA_NVFLAGS=-DVX_INDEX_FUSE_PAIR=0 bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
    wait ) &
  OUT=$X/checks VX_COMMIT=212109d GPU_STAGES=codegen STAGE_TIMEOUT=200 GEN_ONLY='[bcdqrt][loyuh]*' PACK=0 TAIL_LINES=40 \
    bash scripts/gpu_all.sh
  wait
  OUT=$X/ab VX_COMMIT=212109d GPU_STAGES=ab STAGE_TIMEOUT=150 AB_PREBUILT=1 AB_FLAGS=-DVX_INDEX_FUSE_PAIR=1 \
    AB_FLAGS_C=-DVX_INDEX_FUSE_PAIR=0 \
    AB_ARGS="--algos quest,block_topk --contexts 131072 --batches 32,64 --no-dense --reps 20" PACK=0 TAIL_LINES=20 \
    bash scripts/gpu_all.sh
}
export -f body; export X
timeout -k 5 "${BODY_S:-420}" bash -c body
tar czf $OUT/run102.tgz -C $X . && rm -rf $X

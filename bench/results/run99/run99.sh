#!/usr/bin/env bash
# one device call: the fused pair kernel against the CPU interpreter, libvortexrt's GPU test, A/B of VX_INDEX_FUSE_PAIR
# LITE=1: the mma-form cases only, no sanitizers, two A/B variants.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
body() {
  ( bash bench/step/build.sh build-step > $X/build_a.log 2>&1
    EXTRA_NVFLAGS=-DVX_INDEX_FUSE_PAIR=0 bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1
    [ "${LITE:-0}" = 1 ] || EXTRA_NVFLAGS=-DVX_INDEX_FUSE_PAIR=2 bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 ) &
  if [ "${LITE:-0}" = 1 ]; then
    OUT=$X/checks VX_COMMIT=80e106b GPU_STAGES="codegen runtime" STAGE_TIMEOUT=200 GEN_ONLY='[bdqrt][lyuh]*' GPU_CHECK_ARGS="--no-bench --no-sanitize" PACK=0 TAIL_LINES=14 bash scripts/gpu_all.sh
  else
    OUT=$X/checks VX_COMMIT=80e106b GPU_STAGES="codegen runtime" STAGE_TIMEOUT=220 GPU_CHECK_ARGS=--no-bench PACK=0 TAIL_LINES=14 bash scripts/gpu_all.sh
  fi
  wait
  OUT=$X/ab VX_COMMIT=80e106b GPU_STAGES=ab STAGE_TIMEOUT=200 AB_PREBUILT=1 AB_FLAGS=-DVX_INDEX_FUSE_PAIR=0 \
    AB_FLAGS_C=$([ "${LITE:-0}" = 1 ] || echo -DVX_INDEX_FUSE_PAIR=2) \
    AB_ARGS="--algos quest,block_topk --contexts 8192,32768 --batches 32,64 --no-dense --reps 20" PACK=0 TAIL_LINES=40 bash scripts/gpu_all.sh
}
export -f body; export X
timeout -k 5 "${BODY_S:-555}" bash -c body
tar czf $OUT/run99.tgz -C $X . && rm -rf $X

#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main with tests/gpu/codegen/generated
# carried; VX_COMMIT = the code's commit. 9b95193: the attention's tile copies compute their
# addresses from per-lane offsets set once, and a generated module's attention kernels know
# its page size (step tile loop 488 -> 339 SASS instructions, standalone 637 -> 445).
#   runtime  libvortexrt GPU test + memcheck + racecheck (gpu_check.sh --no-bench; its decode
#            kernels take the new addressing, page size at run time)
#   codegen  block_topk*, quest*, gqa_block_topk, lserve_subpage_quest* vs the interpreter
#            (head dims 64/128, pages 16/32/64, groups 1/4/8, bf16/f16)
#   ab       A = default; B = -DVX_DECODE_TILE_ADDR=0 -DVX_DECODE_STATIC_PAGE=0 (the code before);
#            C = -DVX_DECODE_STATIC_PAGE=0 (addressing only); quest and block top-k, batch 16
#            x 8K/32K, 2 rounds interleaved, every row checked in f64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
FB="-DVX_DECODE_TILE_ADDR=0 -DVX_DECODE_STATIC_PAGE=0" FC="-DVX_DECODE_STATIC_PAGE=0"
(bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
 EXTRA_NVFLAGS="$FB" bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
 EXTRA_NVFLAGS="$FC" bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
 wait) &
bg=$!
[ "${CHK_S:-1}" -gt 0 ] && OUT=$X/chk VX_COMMIT=$C GPU_STAGES="runtime codegen" STAGE_TIMEOUT=${CHK_S_EACH:-170} \
  GPU_CHECK_ARGS=--no-bench GEN_ONLY='[bgql][lqus][aeo]*' PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
wait $bg
echo "builds done at $(( $(date +%s) - t0 )) s"; grep -h "spill\|error" $X/build_*.log | head -5
left=$(( ${BODY_S:-540} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS="$FB" AB_FLAGS_C="$FC" AB_ROUNDS=${AB_ROUNDS:-2} \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768} --batches ${BATCHES:-16} --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
tar czf $OUT/run133.tgz -C $X . && rm -rf $X
echo "done at $(( $(date +%s) - t0 )) s"

#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main with tests/gpu/codegen/generated
# carried and a `git archive` of the baseline (85e83d2, the device code of runs 128-132) in
# ./old; VX_COMMIT = the code's commit. Since 85e83d2 the attention's tile copies take their
# addresses from per-lane offsets set once, and a generated module's attention block has its
# page size (and a step's one chunk a row) folded in, its Q fragments load from one base
# pointer, and the ring's first requests are the tile loop's first iterations: the step
# kernel 9080 -> 8320 SASS instructions, the standalone attention 2280 -> 1464; the step's
# straight-line code from its top-k to the first K/V commit ~12.2 -> ~7 KB executed.
#   chk  runtime: libvortexrt GPU test + memcheck + racecheck (gpu_check.sh --no-bench);
#        codegen: block_topk*, quest*, gqa_block_topk, lserve_subpage_quest* vs the
#        interpreter (head dims 64/128, pages 16/32/64, groups 1/4/8, bf16/f16)
#   ab   A = default; B = the baseline tree's build (exact old code); C = -DVX_DECODE_FOLD=0
#        (the new addressing, nothing folded); quest and block top-k, batch 16 x 8K/32K,
#        2 rounds interleaved, every row checked in f64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
FC="-DVX_DECODE_FOLD=0"
(bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
 (cd old && bash bench/step/build.sh ../build-step-ab) > $X/build_b.log 2>&1 &
 EXTRA_NVFLAGS="$FC" bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
 wait) &
bg=$!
[ "${CHK_S_EACH:-170}" -gt 0 ] && OUT=$X/chk VX_COMMIT=$C GPU_STAGES="runtime codegen" STAGE_TIMEOUT=${CHK_S_EACH:-170} \
  GPU_CHECK_ARGS=--no-bench GEN_ONLY='[bgql][lqus][aeo]*' PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
wait $bg
echo "builds done at $(( $(date +%s) - t0 )) s"; grep -h "spill\|error\|fail" $X/build_*.log | head -5; ls -la build-step*/step_bench
left=$(( ${BODY_S:-540} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS="(baseline 85e83d2)" AB_FLAGS_C="$FC" AB_ROUNDS=${AB_ROUNDS:-2} \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768} --batches ${BATCHES:-16} --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
tar czf $OUT/run134.tgz -C $X . && rm -rf $X
echo "done at $(( $(date +%s) - t0 )) s"

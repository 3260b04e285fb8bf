#!/usr/bin/env bash
# one device call (any card), on a `git archive` of branch exp/topk-short-warp (where the
# switch defaults to 1) with tests/gpu/codegen/generated carried; VX_COMMIT = the code's
# commit. e505ba4: the top-k of rows up to 512 pages runs its radix passes in every warp on the
# warp's own histogram (no block barrier a pass). Not run yet: see RESULTS.md run 136.
#   chk  runtime: libvortexrt GPU test (its top-k rows of 1..2049 pages in 256- and 512-thread
#        blocks; no sanitizers: gpu_check.sh --no-bench --no-sanitize);
#        codegen: block_topk*, quest*, gqa_block_topk, lserve_subpage_quest* vs the interpreter,
#        memcheck, racecheck and synccheck on quest (its B16 case takes the one-launch step)
#   ab   A = default; B = -DVX_TOPK_SHORT_WARP=0 (the block-wide passes); quest and block top-k,
#        batch 16 and 32 x 8K/32K, 2 rounds interleaved, every row checked in f64
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
FB="-DVX_TOPK_SHORT_WARP=0"
(bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
 EXTRA_NVFLAGS="$FB" bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
 wait) &
bg=$!
OUT=$X/chk VX_COMMIT=$C GPU_STAGES="runtime codegen" STAGE_TIMEOUT=${CHK_S_EACH:-120} \
  GPU_CHECK_ARGS="--no-bench --no-sanitize" GEN_ONLY="${GEN_ONLY:-[bgql][lqus][aeo]*}" PACK=0 TAIL_LINES=30 bash scripts/gpu_all.sh
wait $bg
echo "builds done at $(( $(date +%s) - t0 )) s"; grep -h "error\|fail" $X/build_*.log | head -5
left=$(( ${BODY_S:-330} - ($(date +%s) - t0) ))
echo "ab: ${left} s left"
[ "$left" -gt 40 ] && OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=$left AB_PREBUILT=1 \
  AB_FLAGS="$FB" AB_ROUNDS=${AB_ROUNDS:-2} \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768} --batches ${BATCHES:-16,32} --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=45 bash scripts/gpu_all.sh
tar czf $OUT/run136.tgz -C $X . && rm -rf $X
echo "done at $(( $(date +%s) - t0 )) s"

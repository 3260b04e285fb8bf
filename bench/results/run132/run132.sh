#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main; VX_COMMIT = the code's commit.
# Runs 130-131 (ncu stall samples, H100, B16 x 8K) found quest's one-launch step waiting on
# instruction fetch (stall_no_inst) for ~23% of its warp samples: 6.8% in the attention's
# start (straight-line code run once, after ~100 KB of index and top-k code), 12.4% in the
# tile loop, at 256-byte boundaries. The standalone attention kernel: ~1%. Its executed code
# is 51 KB against the attention kernel's 27.5 KB; three top-k instances (512-, 2048- and
# longer rows) sit between the index and the attention code.
#   ab   A = default; B = -DVX_TOPK_SLOT_DISPATCH=0 (one top-k instance: a smaller kernel,
#        a slower top-k at 8K, run 77); C = -DVX_STEP_FUSE=0 (two launches);
#        quest and block top-k, batch 16 x 8K/32K, 2 rounds, every row checked in f64
#   ncu  B's quest step, the same stall samples as run130.sh (no_inst by phase, read here)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown} t0=$(date +%s)
FB="-DVX_TOPK_SLOT_DISPATCH=0" FC="-DVX_STEP_FUSE=0"
bash bench/step/build.sh build-step > $X/build_a.log 2>&1 &
EXTRA_NVFLAGS="$FB" bash bench/step/build.sh build-step-ab > $X/build_b.log 2>&1 &
EXTRA_NVFLAGS="$FC" bash bench/step/build.sh build-step-ab-c > $X/build_c.log 2>&1 &
wait
echo "built at $(( $(date +%s) - t0 )) s"
OUT=$X/ab VX_COMMIT=$C GPU_STAGES=ab STAGE_TIMEOUT=${AB_S:-150} AB_PREBUILT=1 AB_FLAGS="$FB" AB_FLAGS_C="$FC" AB_ROUNDS=2 \
  AB_ARGS="--algos quest,block_topk --contexts ${CTXS:-8192,32768} --batches 16 --no-dense --reps 20 --check-all" \
  PACK=0 TAIL_LINES=26 bash scripts/gpu_all.sh
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
timeout -k 5 90 $NCU --section SourceCounters --section WarpStateStats --cache-control all --clock-control none \
  -k regex:^quest_fused_step --launch-skip 1 --launch-count 1 -f -o $X/src_b \
  build-step-ab/step_bench --algos quest --no-dense --contexts 8192 --batches 16 --reps 1 > $X/src_b.log 2>&1 &&
  $NCU --import $X/src_b.ncu-rep --page source --csv --print-source sass > $X/src_b.csv 2>> $X/src_b.log &&
  python3 bench/step/ncu_tables.py source $X/src_b.csv quest_fused_step_B | tail -16
rm -f $X/*.ncu-rep
tar czf $OUT/run132.tgz -C $X . && rm -rf $X
echo "done at $(( $(date +%s) - t0 )) s"

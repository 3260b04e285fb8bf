#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main (no generated cases needed);
# VX_COMMIT = the code's commit (7f363bb's device code: its attention start and tile loop).
#   step  bench/run_all.sh through run115.sh (MLA_S=0 BODY_S=0): the full issue-5 benchmark;
#         the last full runs are run 125 (H200) and run 123 (H100), both before 7f363bb;
#         since 0410ff2 it also builds and runs bench/model (the whole model's step, first run)
#   wide  on an H200 with > 200 s left: run128.sh with CHK_S=0 (run 128 checked the code on an
#         H100): the 16-warp step (-DVX_STEP_WIDE=1 -DVX_STEP_FUSE=1) against the default,
#         batch 16 x 8K/32K, 2 rounds, every row checked in f64
# Files: $OUT/run115.tgz (the benchmark), $OUT/run128.tgz (the A/B).
# STEP_ARGS reaches step_bench (run_all.sh): STEP_ARGS="--gather-sms 132,99,66,44" adds the
# no-math gather from part of the chip (calib.cuh), the first thing to time for two rows an SM.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
t0=$(date +%s)
MLA_S=0 BODY_S=0 STEP_TIMEOUT=${STEP_TIMEOUT:-360} bash bench/results/run115/run115.sh
left=$(( ${CALL_S:-560} - ($(date +%s) - t0) ))
echo "benchmark done at $(( $(date +%s) - t0 )) s; ${left} s left"
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && [ "$left" -gt 200 ]; then
  CHK_S=0 BODY_S=$(( left - 30 )) CALL_S=0 bash bench/results/run128/run128.sh
fi
echo "done at $(( $(date +%s) - t0 )) s"

#!/usr/bin/env bash
# one device call, on a `git archive` of main; VX_COMMIT = the code's commit. H200 only (on
# any other card it stops at once): the two H200 questions of run115.sh without its
# benchmark (run 125 ran that on an H200), i.e. run115.sh with STEP_S=0:
#   mla  -DVX_MLA_WG_SHRINK=1 (+ the plan log) through the MLA GPU test, then timed: do 16
#        clusters of 7 fit an H200? (MLA_S, default here 280 s)
#   ab   the one-launch step's rule on the H200: A = default, B = -DVX_STEP_FUSE=0,
#        C = -DVX_STEP_FUSE=1; batch 16 x 8K/32K, 2 rounds, every row checked
# Files: $OUT/run115.tgz.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
STEP_S=0 MLA_S=${MLA_S:-280} exec bash bench/results/run115/run115.sh

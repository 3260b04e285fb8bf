#!/usr/bin/env bash
# Fuzzing smoke run: seeds the corpus with the examples and the bad-input
# corpus, then runs the harness for SECONDS (default 60). A crash, leak or
# timeout fails the run and leaves the reproducer (crash-*) in WORKDIR.
# usage: run_fuzz.sh FUZZER REPO_ROOT WORKDIR [SECONDS]
set -eu
fuzzer=$1 root=$2 work=$3 seconds=${4:-60}
mkdir -p "$work/corpus"
cp "$root"/examples/*.vtx "$root"/tests/bad/*.vtx "$work/corpus/"
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -dict="$root/tests/fuzz/vtx.dict" -print_final_stats=1 corpus

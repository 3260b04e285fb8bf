#!/usr/bin/env bash
# one device call, on a `git archive` of main (no generated cases needed); VX_COMMIT = the
# code's commit. Where GLM sparse MLA decode's ~8 us a launch go (run 120, H100: the copies alone
# 20.7 / 35.5 us at B16 / B32 x 8K, the math alone 14.6 / 21.1, both 24.1 / 39.5):
#   rt   runtime stage, no sanitizers, no bench of the default build: variants
#        VX_MLA_WG_PROBE=3 (neither copies nor math: page ids, Q, the loop's barriers, the
#        epilogue, the merge), =1 (copies alone), =2 (math alone); tuning probes give wrong
#        results, so gpu_check times them although their test fails
#   then the default build timed (--mla-only), interleaved with PROBE=3, ROUNDS times
# On an H200 this call runs bench/results/run115/run115.sh instead (the full benchmark, the
# last H200 one being run 76, then WG_SHRINK and the STEP_FUSE A/B): that is worth more there.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  echo "an H200: run115.sh instead"
  exec bash bench/results/run115/run115.sh
fi
X=$OUT/x; mkdir -p $X
C=${VX_COMMIT:-unknown}
OUT=$X/rt VX_COMMIT=$C GPU_STAGES=runtime STAGE_TIMEOUT=${RT_S:-420} \
  GPU_CHECK_ARGS="--no-sanitize --no-bench --variants=VX_MLA_WG_PROBE=3,VX_MLA_WG_PROBE=1,VX_MLA_WG_PROBE=2" \
  VARIANT_TEST_ARGS=--mla-only VARIANT_BENCH_ARGS=--mla-only PACK=0 TAIL_LINES=40 bash scripts/gpu_all.sh
p=build-gpu/var_VX_MLA_WG_PROBE_3/vortex-bench
if [ -x build-gpu/vortex-bench ] && [ -x $p ]; then
  for i in $(seq 1 ${ROUNDS:-2}); do
    build-gpu/vortex-bench --mla-only > $X/mla_default_$i.log 2>&1
    $p --mla-only > $X/mla_probe3_$i.log 2>&1
  done
fi
grep -h -E "^-- |sparse-attn/graph" $X/rt/runtime/variants.log 2>/dev/null | cut -c1-100
for f in $(ls $X | sed -n "s/^mla_\(.*\)\.log$/\1/p"); do echo "-- $f"; grep -E "sparse-attn/graph" $X/mla_$f.log | cut -c1-100; done
tar czf $OUT/run121.tgz -C $X . && rm -rf $X

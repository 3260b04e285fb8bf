#!/usr/bin/env bash
# one device call, on a `git archive` of branch exp/mla-grid-merge (no generated cases needed);
# VX_COMMIT = the code's commit. -DVX_MLA_GRID_MERGE=1: MLA rows split into chunks that no
# cluster holds (GLM B16: 8 chunks, B32: 4) merge in the partial kernel after a grid-wide
# barrier of a cooperative launch, instead of in vx_decode_merge_kernel.
#   rt   runtime stage: the default build's GPU test (its cluster merge now goes through
#        vx_mla_merge_slice), memcheck, racecheck; then two variants through the MLA test and
#        memcheck + racecheck + synccheck, each timed with vortex-bench --mla-only:
#        VX_MLA_PLAN_LOG=1 (the default kernels) and VX_MLA_GRID_MERGE=1+VX_MLA_PLAN_LOG=1
#        (the plan log shows where the grid merge applied)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
X=$OUT/x; mkdir -p $X
cd wt-main 2>/dev/null || true # the call may start there
C=${VX_COMMIT:-unknown}
# LITE=1 (little device time): no sanitizers, the grid-merge variant alone (timed against an
# earlier run's default, so a different machine's)
if [ "${LITE:-0}" = 1 ]; then
  args="--no-sanitize --no-bench --variants=VX_MLA_GRID_MERGE=1+VX_MLA_PLAN_LOG=1" san=""
else
  # the third variant: if the driver refuses a cooperative launch with programmatic stream
  # serialization, the second fails its test and this one shows the merge itself
  args="--no-bench --variants=VX_MLA_PLAN_LOG=1,VX_MLA_GRID_MERGE=1+VX_MLA_PLAN_LOG=1,VX_MLA_GRID_MERGE=1+VX_PDL=0"
  san="memcheck racecheck synccheck"
fi
OUT=$X/rt VX_COMMIT=$C GPU_STAGES=runtime STAGE_TIMEOUT=${RT_S:-540} GPU_CHECK_ARGS="$args" \
  VARIANT_TEST_ARGS=--mla-only VARIANT_BENCH_ARGS=--mla-only VARIANT_SANITIZE="$san" \
  PACK=0 TAIL_LINES=60 bash scripts/gpu_all.sh
# LITE: the default build (A) and the variant (B) timed again, interleaved A B A B
v=build-gpu/var_VX_MLA_GRID_MERGE_1_VX_MLA_PLAN_LOG_1/vortex-bench
if [ "${LITE:-0}" = 1 ] && [ -x build-gpu/vortex-bench ] && [ -x $v ]; then
  for i in $(seq 1 ${ROUNDS:-2}); do
    build-gpu/vortex-bench --mla-only > $X/mla_a_$i.log 2>&1
    $v --mla-only > $X/mla_b_$i.log 2>&1
  done
  for f in $(ls $X | sed -n "s/^mla_\(.*\)\.log$/\1/p"); do echo "-- $f"; grep -E "floor" $X/mla_$f.log | cut -c1-110; done
fi
tar czf $OUT/run118.tgz -C $X . && rm -rf $X

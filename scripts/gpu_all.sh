#!/usr/bin/env bash
# gpu_all.sh - everything that needs the H200, in one device call, from the
# repository root of the GPU machine (nvcc, gcc, torch; no flex/bison/cmake
# needed). Stages, each logged under $OUT/<stage>/ and each run even when an
# earlier one failed:
#   runtime  scripts/gpu_check.sh      libvortexrt GPU test, compute-sanitizer
#                                      memcheck + racecheck, vortex-bench
#   codegen  tests/gpu/codegen/gen_gpu.sh  every generated kernel vs the CPU
#                                      interpreter (needs tests/gpu/codegen/generated,
#                                      made here by gen_prepare.sh and carried)
#   nvrtc    GEN_NVRTC=1 gen_gpu.sh    the same checks with each module's own
#                                      kernels built by NVRTC (libvortexrt's loader)
#   step     bench/run_all.sh          generated whole step vs dense vs PyTorch peers
#   profile  bench/step/profile.sh     ncu figures of the generated index and
#                                      attention kernels (builds build-step unless step did)
#   ab       bench/step/ab.sh          A/B timing of a tuning switch (AB_FLAGS;
#                                      AB_FLAGS_C, AB_FLAGS_D: more variants)
# GPU_STAGES="codegen step" picks stages; STAGE_TIMEOUT (s, default 300)
# bounds each; the short table is printed last.
# Run on this machine first:
#   tests/gpu/codegen/gen_prepare.sh build/compiler/vortexc && bash bench/step/prepare.sh
# then, through the device tool:  bash scripts/gpu_all.sh   (carry tests/gpu/codegen/generated)
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
STAGES=${GPU_STAGES:-runtime codegen step}
declare -A RC SECS
run_stage() { # name command...
  local name=$1; shift
  mkdir -p "$OUT/$name"
  local s
  s=$(date +%s)
  echo "== $name: $*"
  # A stage that hangs (a deadlocked kernel) must not eat the whole lease.
  OUT="$OUT/$name" timeout -k 10 "${STAGE_TIMEOUT:-300}" "$@" > "$OUT/$name/stage.log" 2>&1
  RC[$name]=$?
  SECS[$name]=$(( $(date +%s) - s ))
  echo "   rc=${RC[$name]} (${SECS[$name]} s)"
}
mkdir -p "$OUT"
# VX_COMMIT: the commit under test, when the copy on the GPU machine carries a
# stale .git (the device tool copies the working tree, not always the
# history). Without it the first line is the copy's HEAD, which may be
# stale; the second names the commit gen_prepare.sh emitted the carried
# cases from, which is the tree's when they were prepared just before.
prepared=$(cat tests/gpu/codegen/generated/COMMIT 2>/dev/null || echo "none (no generated/COMMIT)")
{ echo "${VX_COMMIT:-$(git rev-parse HEAD 2>/dev/null) (git HEAD of the device copy: set VX_COMMIT when it is stale)}"
  echo "generated cases prepared at: $prepared"
  date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1; } | tee "$OUT/env.txt"
for st in $STAGES; do
  case $st in
    runtime) run_stage runtime bash scripts/gpu_check.sh ${GPU_CHECK_ARGS:-} ;;
    codegen) run_stage codegen bash tests/gpu/codegen/gen_gpu.sh ${GEN_ARGS:-} ;;
    nvrtc)   run_stage nvrtc env GEN_NVRTC=1 bash tests/gpu/codegen/gen_gpu.sh ${GEN_ARGS:-} ;;
    step)    run_stage step bash bench/run_all.sh ;;
    profile) run_stage profile bash -c '[ -x build-step/step_bench ] || bash bench/step/build.sh build-step; bash bench/step/profile.sh build-step' ;;
    ab)      run_stage ab bash bench/step/ab.sh ;;
    *) echo "unknown stage '$st'"; RC[$st]=2 ;;
  esac
done
status=0
echo
for st in $STAGES; do
  echo "######## $st (rc=${RC[$st]:-?}, ${SECS[$st]:-?} s): last lines of $OUT/$st/stage.log"
  tail -n "${TAIL_LINES:-25}" "$OUT/$st/stage.log" 2>/dev/null
  [ "${RC[$st]:-1}" = 0 ] || status=1
done
# The device tool returns only a few files: pack every log and JSON into one.
if [ "${PACK:-1}" = 1 ]; then
  tar czf "/tmp/gpu-all.tgz" -C "$OUT" . && rm -rf "${OUT:?}"/* && mv /tmp/gpu-all.tgz "$OUT/"
fi
exit $status

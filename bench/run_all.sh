#!/usr/bin/env bash
# run_all.sh: the issue-5 benchmark in one command, ON THE GPU MACHINE, from
# the repository root of a checkout that has bench/step/gen/ (committed;
# refresh with bench/step/prepare.sh on the build machine).
#   1. build step_bench (nvcc + gcc, bench/step/build.sh)
#   2. step_bench: dense (libvortexrt) + generated quest and block_topk at
#      contexts 8K/32K/128K x batch 16/32/64; writes the selections
#   3. peers.py: torch SDPA, FlexAttention dense / block-sparse over the same
#      selections, the PyTorch Quest pipeline (time-boxed), after its own
#      tests (bench/peers/test_peers.py, the CUDA-graph replays included)
#   4. libvortexrt's MLA decode (GLM-4.7-Flash and DeepSeek-V3 geometry):
#      vortex-bench --mla-only, built by scripts/gpu_build.sh
#   5. the whole model's decode step (Qwen3-1.7B shapes, random weights,
#      32K context, the batch that fits): dense vs each sparse attention,
#      bench/model/model_bench (built by bench/model/build.sh)
#   6. bench/step/report.py: one table + the targets
# Every stage logs to $OUT (default ./bench-out; the logs packed into
# bench-logs.tgz at the end unless PACK=0); a failing stage is reported and
# the others still run. Exit status: 0 only if all stages did. Through the
# device tool keep PACK=1: a call returns at most 8 files (run 89 lost four).
# Env: STEP_ARGS / PEERS_ARGS / MODEL_ARGS add arguments (MODEL=0: no model
# stage); PEERS_BUDGET_S (default 200)
# bounds peers.py's shapes (torch.compile per shape is the slow part);
# QUICK=1 runs only the headline shape (32K context, batch 32), ~2 min.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT"
# Selections (tens of MB) stay out of $OUT: a device call returns only a
# limited number of files and bytes from it. SEL_DIR keeps them.
if [ -n "${SEL_DIR:-}" ]; then SEL=$SEL_DIR; mkdir -p "$SEL"; else SEL=$(mktemp -d); trap 'rm -rf "$SEL"' EXIT; fi
STEP_B=${STEP_BUILD:-build-step}
if [ "${QUICK:-0}" = 1 ]; then
  STEP_ARGS="--contexts 32768 --batches 32 ${STEP_ARGS:-}"
  PEERS_ARGS="--contexts 32768 --batches 32 ${PEERS_ARGS:-}" # used only without selections
fi
rm -f "$SEL"/sel_*.bin # peers must compare against THIS run's selections
declare -A RC
t0=$(date +%s)
stage() { # name command...: runs one stage, logs to $OUT/name.log, records rc
  local name=$1; shift
  local s
  s=$(date +%s)
  echo "== $name: $*"
  "$@" > "$OUT/$name.log" 2>&1
  RC[$name]=$?
  echo "   $name: rc=${RC[$name]} ($(( $(date +%s) - s )) s, log $OUT/$name.log)"
  [ "${RC[$name]}" = 0 ] || tail -15 "$OUT/$name.log"
}
{ echo "${VX_COMMIT:-$(git rev-parse HEAD 2>/dev/null)}"; date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1; cat bench/step/gen/PROVENANCE 2>/dev/null; } > "$OUT/env.txt"

# The model benchmark compiles beside step_bench (not during any timing: the
# step stage waits for it), which keeps run_all.sh near its old length.
# MODEL=0 leaves the model out.
MODEL_B=${MODEL_BUILD:-build-model}
s_model=$(date +%s)
if [ "${MODEL:-1}" = 1 ]; then
  bash bench/model/build.sh "$MODEL_B" > "$OUT/model_build.log" 2>&1 &
  model_build_pid=$!
fi
stage build bash bench/step/build.sh "$STEP_B"
if [ "${MODEL:-1}" = 1 ]; then
  wait "$model_build_pid"
  RC[model_build]=$?
  echo "   model_build (beside build): rc=${RC[model_build]} ($(( $(date +%s) - s_model )) s, log $OUT/model_build.log)"
  [ "${RC[model_build]}" = 0 ] || tail -15 "$OUT/model_build.log"
else
  RC[model_build]=off
fi
if [ "${RC[build]}" = 0 ]; then
  # shellcheck disable=SC2086
  stage step "$STEP_B/step_bench" --json "$OUT/step.json" --sel-dir "$SEL" ${STEP_ARGS:-}
else
  RC[step]=skipped
fi

# Peers over the selections step_bench wrote (most telling shapes first);
# random selections of the same size if there are none.
sels=()
for s in b32_c32768 b16_c8192 b16_c32768 b64_c32768 b32_c8192 b64_c8192 b16_c131072 b32_c131072 b64_c131072; do
  for a in quest block_topk; do [ -f "$SEL/sel_${a}_$s.bin" ] && sels+=(--selection "$SEL/sel_${a}_$s.bin"); done
done
PY=${PYTHON:-python3}
stage peers_test "$PY" -m unittest bench/peers/test_peers.py
# shellcheck disable=SC2086
stage peers "$PY" bench/peers/peers.py ${sels[@]+"${sels[@]}"} --json "$OUT/peers.json" \
  --time-budget "${PEERS_BUDGET_S:-200}" ${PEERS_ARGS:-}

# MLA decode (libvortexrt; its target is in the same table).
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # B (build-gpu), vx_gpu_build
stage mla_build vx_gpu_build
if [ "${RC[mla_build]}" = 0 ]; then
  mla_args=(--mla-only)
  [ "${QUICK:-0}" = 1 ] && mla_args+=(--quick)
  stage mla "$B/vortex-bench" "${mla_args[@]}" --json "$OUT/mla.json"
else
  RC[mla]=skipped
fi

# The whole model's decode step (DESIGN.md's model-level target).
if [ "${RC[model_build]}" = 0 ]; then
  # shellcheck disable=SC2086
  stage model "$MODEL_B/model_bench" --json "$OUT/model.json" ${MODEL_ARGS:-}
elif [ "${RC[model_build]}" = off ]; then
  RC[model]=off
else
  RC[model]=skipped
fi

echo
echo "================ issue 5: one decode step, GQA 32/8, dim 128, bf16, page 16, 2048-token budget ================"
model_json=()
[ "${MODEL:-1}" = 1 ] && model_json=(--model "$OUT/model.json")
"$PY" bench/step/report.py "$OUT/step.json" "$OUT/peers.json" --mla "$OUT/mla.json" ${model_json[@]+"${model_json[@]}"} \
  --json "$OUT/report.json" |
  tee "$OUT/report.txt"
echo
# The stage logs go into one archive (PACK=0 keeps them loose): $OUT then
# holds 8 files, what a lent device returns from a call (8).
if [ "${PACK:-1}" = 1 ]; then
  logs=()
  for k in build step peers_test peers mla_build mla model_build model; do [ -f "$OUT/$k.log" ] && logs+=("$k.log"); done
  [ ${#logs[@]} -gt 0 ] && tar czf "$OUT/bench-logs.tgz" -C "$OUT" "${logs[@]}" && (cd "$OUT" && rm -f "${logs[@]}")
fi
echo "stages: build=${RC[build]} step=${RC[step]} peers_test=${RC[peers_test]} peers=${RC[peers]} mla_build=${RC[mla_build]} mla=${RC[mla]}" \
  "model_build=${RC[model_build]} model=${RC[model]}" \
  " ($(( $(date +%s) - t0 )) s; JSON, report and bench-logs.tgz in $OUT)"
for k in build step peers_test peers mla_build mla model_build model; do
  [ "${RC[$k]}" = 0 ] || [ "${RC[$k]}" = off ] || exit 1
done
exit 0

#!/usr/bin/env bash
# prepare.sh: runs HERE (the build machine: flex/bison/cmake build vortexc),
# never on the GPU machine. Builds vortexc (build-bench/) and emits the
# generated kernels the step benchmark links, at the benchmark geometry:
# GQA 32/8 (group 4), head dim 128, page 16, bf16, budget 2048 tokens; and
# the same algorithms at the model benchmark's (bench/model/gen: Qwen3-1.7B,
# GQA 16/8).
#
# Budget: `top(B) keep first F, last L` attends B + F + L pages, so B is
# chosen per algorithm to make every row select exactly 128 pages = 2048
# tokens (quest keeps 1 + 2, block_topk keeps 1 + 1).
#
# The outputs (bench/step/gen/*, bench/model/gen/*) are committed on purpose: the GPU
# machine cannot run vortexc, and a fresh clone must be able to run
# bench/run_all.sh. Re-run this after any codegen change and commit both gen/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# VORTEXC=path uses that compiler instead of building one here.
vortexc=${VORTEXC:-}
if [ -z "$vortexc" ]; then
  build=build-bench
  [ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja > /dev/null
  cmake --build "$build" --target vortexc > /dev/null
  vortexc=$build/compiler/vortexc
fi
# emit_set OUT GEOMETRY...: the algorithms below into OUT, with PROVENANCE
# (which compiler commit produced the committed sources).
emit_set() {
  local out=$1
  shift
  mkdir -p "$out"
  # algorithm  budget (pages beyond the kept ones)
  while read -r algo budget; do
    "$vortexc" "examples/$algo.vtx" "$@" -D "budget=$budget" -o "$out/$algo.cu"
    echo "$algo: $(wc -c < "$out/$algo.cu") bytes of CUDA, budget $budget + kept pages"
  done <<'LIST'
quest 125
block_topk 126
LIST
  {
    echo "vortexc: $("$vortexc" --version 2>&1 | head -1)"
    echo "vortexc binary: $vortexc"
    # the source tree that vortexc was built from (it embeds runtime/device)
    src=$(git -C "$(dirname "$vortexc")" rev-parse --show-toplevel 2>/dev/null || echo "$root")
    echo "source: $(git -C "$src" rev-parse --short HEAD)$(git -C "$src" diff --quiet HEAD -- codegen runtime/device compiler ir passes frontend || echo ' + uncommitted changes to the compiler or runtime headers')"
    echo "flags: $*; quest -D budget=125; block_topk -D budget=126"
  } > "$out/PROVENANCE"
  cat "$out/PROVENANCE"
}
common="--page-size=16 --kv-dtype=bf16 --arch=sm_90a"
# the step benchmark's geometry; GEN_OUT: elsewhere (tests/bench/gen_current.sh compares)
# shellcheck disable=SC2086
emit_set "${GEN_OUT:-bench/step/gen}" --head-dim=128 --group=4 $common
# the model benchmark's (bench/model: Qwen3-1.7B, GQA 16/8, head dim 128)
# shellcheck disable=SC2086
emit_set "${GEN_MODEL_OUT:-bench/model/gen}" --model-config=examples/models/qwen3-1.7b.json $common

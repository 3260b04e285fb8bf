#!/usr/bin/env bash
# profile.sh [BUILD_DIR]: per-kernel Nsight Compute figures of one decode
# step ON THE GPU MACHINE (after bench/step/build.sh): duration, DRAM bytes
# and bandwidth, occupancy and registers of the generated index kernels
# (score, select) and the sparse attention (partial, merge), at the headline
# shape (32K, B32), without the dense baseline (step_bench --no-dense). ncu
# replays each kernel with a cold cache (--cache-control all), the same
# condition step_bench times. Writes $OUT/ncu.csv and prints one line per
# kernel. PROFILE_CACHE=none PROFILE_CLOCK=none: warm L2 and boost clocks,
# as in a step (each kernel still runs alone), for every pass below. Env:
# PROFILE_SHAPE ("--contexts 32768 --batches 32"), NCU (path to ncu),
# PROFILE_DETAIL=1: a second, separate pass over quest's first score,
# select and attention launches with whole ncu sections (speed of light,
# memory workload, warp state, occupancy) into $OUT/ncu_detail.csv, printed
# as duration, DRAM / L2 figures and the main warp stall reasons; it cannot
# spoil the main table.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
B=${1:-build-step}
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT"
NCU=${NCU:-$(command -v ncu || echo /usr/local/cuda/bin/ncu)}
[ -x "$NCU" ] || { echo "profile.sh: no ncu ($NCU)"; exit 1; }
# Replay conditions of every pass, and the sections of the detail passes.
control=(--cache-control "${PROFILE_CACHE:-all}" --clock-control "${PROFILE_CLOCK:-base}")
sections=(--section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy)
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread,launch__grid_size,launch__block_size,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem
# shellcheck disable=SC2086
timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --csv --print-units base --metrics "$metrics" "${control[@]}" \
  -k 'regex:^((quest|block_topk)_(score|select|index)|vx_decode_(partial_mma|merge))' --launch-count "${PROFILE_KERNELS:-18}" \
  "$B/step_bench" --no-dense ${PROFILE_SHAPE:---contexts 32768 --batches 32} --reps 3 > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
rc=$?
python3 bench/step/ncu_tables.py kernels "$OUT/ncu.csv"
# detail CSV: a raw page of whole ncu sections, one row per kernel. Prints
# duration, DRAM/L2/SM/shared-memory figures and the warp stall reasons > 2%.
detail() {
  python3 - "$1" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if len(rows) < 3:
    print("profile.sh: no detail rows"); sys.exit(0)
head, data = rows[0], rows[2:]  # row 1: units
fixed = ["gpu__time_duration.sum", "dram__throughput.avg.pct_of_peak_sustained_elapsed",
         "lts__t_sector_hit_rate.pct", "sm__throughput.avg.pct_of_peak_sustained_elapsed",
         "sm__warps_active.avg.pct_of_peak_sustained_active", "smsp__issue_active.avg.pct_of_peak_sustained_active",
         "l1tex__data_pipe_lsu_wavefronts_mem_shared.sum.pct_of_peak_sustained_elapsed",
         "l1tex__throughput.avg.pct_of_peak_sustained_active",
         "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
         "sm__inst_executed_pipe_tensor_op_hmma.avg.pct_of_peak_sustained_active",
         "l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum"]
for r in data:
    m = dict(zip(head, r))
    name = m.get("Kernel Name", "?")[:48]
    print(f"== {name} grid {m.get('launch__grid_size', '?')} x {m.get('launch__block_size', '?')}")
    for k in fixed:
        if k in m: print(f"   {k:<62} {m[k]}")
    for k in sorted(m):  # whatever the sections call shared-memory and pipe use
        if k not in fixed and ("shared" in k or "pipe_tensor" in k) and "pct" in k:
            print(f"   {k:<62} {m[k]}")
    stalls = []
    for k, v in m.items():
        if "stalled" in k and k.endswith("per_issue_active.ratio"):
            try: stalls.append((float(v.replace(",", "")), k))
            except ValueError: pass
    tot = sum(v for v, _ in stalls) or 1.0
    for v, k in sorted(stalls, reverse=True):
        if v / tot >= 0.02: print(f"   stall {k:<56} {v:8.2f} ({100 * v / tot:4.1f}%)")
PY
}
if [ "${PROFILE_DETAIL:-0}" = 1 ]; then
  # Whole ncu sections (names stable across ncu versions, unlike single
  # metric names). PROFILE_DETAIL_REGEX / PROFILE_DETAIL_KERNELS pick the
  # launches (add sb_gather to set the attention beside the no-math gather).
  # shellcheck disable=SC2086
  timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --csv --page raw --print-units base "${control[@]}" \
    "${sections[@]}" -k "regex:${PROFILE_DETAIL_REGEX:-^(quest_(score|select)|vx_decode_partial_mma)}" --launch-count "${PROFILE_DETAIL_KERNELS:-3}" \
    "$B/step_bench" --no-dense --algos quest ${PROFILE_SHAPE:---contexts 32768 --batches 32} --reps 1 \
    > "$OUT/ncu_detail.csv" 2> "$OUT/ncu_detail.err" || echo "profile.sh: the detail pass failed (see ncu_detail.err)"
  detail "$OUT/ncu_detail.csv"
fi
if [ "${PROFILE_MLA:-0}" = 1 ]; then # PROFILE_MLA_REGEX, PROFILE_MLA_KERNELS pick the launches
  # libvortexrt's MLA decode kernel, from vortex-bench (built by the runtime stage).
  if [ -x build-gpu/vortex-bench ]; then
    timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --csv --page raw --print-units base "${control[@]}" \
      "${sections[@]}" --section ComputeWorkloadAnalysis -k "regex:${PROFILE_MLA_REGEX:-^vx_mla_decode_partial_mma}" --launch-count "${PROFILE_MLA_KERNELS:-5}" \
      build-gpu/vortex-bench --mla-only --once > "$OUT/ncu_mla.csv" 2> "$OUT/ncu_mla.err" ||
      echo "profile.sh: the MLA pass failed (see ncu_mla.err)"
    detail "$OUT/ncu_mla.csv"
  else
    echo "profile.sh: PROFILE_MLA=1 needs build-gpu/vortex-bench (the runtime stage builds it)"
  fi
fi
if [ -n "${PROFILE_SOURCE:-}" ]; then
  # Per-instruction (SASS) stall samples of chosen launches, for finding the
  # instructions a latency-bound kernel waits on: PROFILE_SOURCE is a list of
  # name:launch-skip:command entries separated by ';', e.g.
  # "quest_select:0:build-step/step_bench --no-dense --algos quest --contexts 32768 --batches 16 --reps 1",
  # or "vx_mla_decode_partial_mma:3:build-gpu/vortex-bench --mla-only --once" (MLA B32 x 32K;
  # --once makes five MLA launches, skips 0-4).
  IFS=';' read -ra entries <<< "$PROFILE_SOURCE"
  for e in "${entries[@]}"; do
    name=${e%%:*}; rest=${e#*:}; skip=${rest%%:*}; cmd=${rest#*:}
    # shellcheck disable=SC2086
    timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --section SourceCounters --section WarpStateStats "${control[@]}" \
      -k "regex:^$name" --launch-skip "$skip" --launch-count 1 -f -o "$OUT/src_$name" $cmd > "$OUT/src_$name.log" 2>&1 &&
    "$NCU" --import "$OUT/src_$name.ncu-rep" --page source --csv --print-source sass > "$OUT/src_$name.csv" 2>> "$OUT/src_$name.log" ||
      echo "profile.sh: source pass of $name failed (see src_$name.log)"
    python3 bench/step/ncu_tables.py source "$OUT/src_$name.csv" "$name"
  done
fi
exit $rc

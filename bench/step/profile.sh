#!/usr/bin/env bash
# profile.sh [BUILD_DIR]: per-kernel Nsight Compute figures of one decode
# step ON THE GPU MACHINE (after bench/step/build.sh): duration, DRAM bytes
# and bandwidth, occupancy and registers of the generated index kernels
# (score, select; the attention shares its kernel with the dense baseline,
# which step_bench times at the floor), at the headline shape (32K, B32). ncu replays each kernel with a
# cold cache (--cache-control all), the same condition step_bench times.
# Writes $OUT/ncu.csv and prints one line per kernel. Env: PROFILE_SHAPE
# ("--contexts 32768 --batches 32"), NCU (path to ncu), PROFILE_DETAIL=1: a
# second, separate pass over the first two quest scoring launches with the
# memory-system breakdown (L2 requests and sectors, hit rate, DRAM sectors,
# warp stall reasons) into $OUT/ncu_detail.csv, printed as metric = value;
# it cannot spoil the main table (not yet run on a GPU: metric names from
# the Nsight Compute metrics reference).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
B=${1:-build-step}
OUT=${OUT:-$PWD/bench-out}
mkdir -p "$OUT"
NCU=${NCU:-$(command -v ncu || echo /usr/local/cuda/bin/ncu)}
[ -x "$NCU" ] || { echo "profile.sh: no ncu ($NCU)"; exit 1; }
metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread,launch__grid_size,launch__block_size,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem
# shellcheck disable=SC2086
timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --csv --print-units base --metrics "$metrics" --cache-control all \
  -k 'regex:^(quest|block_topk)_(score|select|index)' --launch-count "${PROFILE_KERNELS:-12}" \
  "$B/step_bench" ${PROFILE_SHAPE:---contexts 32768 --batches 32} --reps 3 > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
rc=$?
python3 - "$OUT/ncu.csv" <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows:
    print("profile.sh: ncu wrote no rows (see ncu.err)"); sys.exit(1)
head, data = rows[0], rows[1:]
col = {n: i for i, n in enumerate(head)}
per = collections.OrderedDict()
for r in data:
    if r[col["Metric Name"]] == "Metric Name": continue
    key = (r[col["ID"]], r[col["Kernel Name"]][:60])
    per.setdefault(key, {})[r[col["Metric Name"]]] = r[col["Metric Value"]].replace(",", "")
seen = set()
print(f"{'kernel':<60} {'us':>8} {'MB read':>8} {'GB/s':>7} {'dram%':>6} {'warps%':>6} {'regs':>4} grid x block")
for (i, name), m in per.items():
    try:
        us = float(m.get("gpu__time_duration.sum", "nan")) / 1e3
        rd = float(m.get("dram__bytes_read.sum", "nan")) / 1e6
        print(f"{name:<60} {us:8.1f} {rd:8.1f} {rd * 1e3 / us if us else 0:7.0f} {m.get('dram__throughput.avg.pct_of_peak_sustained_elapsed', '?'):>6} "
              f"{m.get('sm__warps_active.avg.pct_of_peak_sustained_active', '?'):>6} {m.get('launch__registers_per_thread', '?'):>4} "
              f"{m.get('launch__grid_size', '?')} x {m.get('launch__block_size', '?')}")
    except ValueError:
        print(name, m)
PY
if [ "${PROFILE_DETAIL:-0}" = 1 ]; then
  detail=lts__t_requests_srcunit_tex_op_read.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_sector_op_read_hit_rate.pct,dram__sectors_read.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum,l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct,smsp__warp_issue_stalled_lg_throttle_per_warp_active.pct,smsp__warp_issue_stalled_barrier_per_warp_active.pct,smsp__warp_issue_stalled_short_scoreboard_per_warp_active.pct
  # shellcheck disable=SC2086
  timeout -k 5 "${PROFILE_TIMEOUT:-150}" "$NCU" --csv --print-units base --metrics "$detail" --cache-control all \
    -k 'regex:^quest_score' --launch-count 2 \
    "$B/step_bench" ${PROFILE_SHAPE:---contexts 32768 --batches 32} --reps 1 > "$OUT/ncu_detail.csv" 2> "$OUT/ncu_detail.err" ||
    echo "profile.sh: the detail pass failed (see ncu_detail.err)"
  python3 - "$OUT/ncu_detail.csv" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if rows:
    col = {n: i for i, n in enumerate(rows[0])}
    for r in rows[1:]:
        if r[col["Metric Name"]] != "Metric Name":
            print(f"{r[col['ID']]:>3} {r[col['Kernel Name']][:28]:<28} {r[col['Metric Name']]:<66} = {r[col['Metric Value']]}")
PY
fi
exit $rc

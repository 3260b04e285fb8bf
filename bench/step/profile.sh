#!/usr/bin/env bash
# profile.sh [BUILD_DIR]: per-kernel Nsight Compute figures of one decode
# step ON THE GPU MACHINE (after bench/step/build.sh): duration, DRAM bytes
# and bandwidth, occupancy and registers of the generated index kernels
# (score, select; the attention shares its kernel with the dense baseline,
# which step_bench times at the floor), at the headline shape (32K, B32). ncu replays each kernel with a
# cold cache (--cache-control all), the same condition step_bench times.
# Writes $OUT/ncu.csv and prints one line per kernel. Env: PROFILE_SHAPE
# ("--contexts 32768 --batches 32"), NCU (path to ncu).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
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
exit $rc

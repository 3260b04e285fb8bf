#!/usr/bin/env python3
"""ncu_tables.py: the tables bench/step/profile.sh prints from ncu's CSV.

  ncu_tables.py kernels CSV...      one line per profiled launch (--csv
                                    --print-units base --metrics ...): time,
                                    DRAM bytes and rate, warps, registers, grid
  ncu_tables.py source CSV NAME     a SASS source page (--page source --csv):
                                    the top stall sites, then the samples
                                    summed by opcode (which kind of
                                    instruction a latency-bound kernel waits on)
  ncu_tables.py marks CSV           the executed barriers, cp.async commits and
                                    waits, grid-dependency marks and exits,
                                    with the share of samples up to each: where
                                    to cut a kernel into phases
  ncu_tables.py phases CSV A,B,...  the samples split at kernel offsets A, B,
                                    ... (hex, from `marks`): each phase's share
                                    and its top stall reasons (a phase's share
                                    is its share of the kernel's time where
                                    every warp runs every phase)

Metrics a pass did not collect print as '?' (or nan where a number is
derived from them)."""
import collections
import csv
import sys


def num(text):
    try:
        return float((text or "").replace(",", ""))
    except ValueError:
        return float("nan")


def kernels(paths):
    for path in paths:
        try:
            rows = [r for r in csv.reader(open(path)) if len(r) > 10]
        except OSError as e:
            rows, why = [], e
        else:
            why = "ncu wrote no rows (see its .err / .log beside it)"
        if not rows:
            print(f"{path}: {why}")
            continue
        head = rows[0]
        col = {n: i for i, n in enumerate(head)}
        per = collections.OrderedDict()
        for r in rows[1:]:
            if r[col["Metric Name"]] == "Metric Name":
                continue
            per.setdefault((r[col["ID"]], r[col["Kernel Name"]][:60]), {})[r[col["Metric Name"]]] = r[col["Metric Value"]]
        if len(paths) > 1:
            print(f"== {path}")
        print(f"{'kernel':<60} {'us':>8} {'MB read':>8} {'GB/s':>7} {'dram%':>6} {'warps%':>6} {'regs':>4} grid x block")
        for (_, name), m in per.items():
            us = num(m.get("gpu__time_duration.sum")) / 1e3
            rd = num(m.get("dram__bytes_read.sum")) / 1e6
            gbs = rd * 1e3 / us if us else 0.0
            print(f"{name:<60} {us:8.1f} {rd:8.1f} {gbs:7.0f} {m.get('dram__throughput.avg.pct_of_peak_sustained_elapsed', '?'):>6} "
                  f"{m.get('sm__warps_active.avg.pct_of_peak_sustained_active', '?'):>6} {m.get('launch__registers_per_thread', '?'):>4} "
                  f"{m.get('launch__grid_size', '?')} x {m.get('launch__block_size', '?')}")


def source(path, name):
    try:
        head, data = read_source(path)
    except OSError as e:
        print(f"{name}: {e}")
        return
    if head is None:
        print(f"{name}: no source rows")
        return
    col = next((c for c in head if c.startswith("Warp Stall Sampling (All")), None)
    if not col:
        print(f"{name}: columns {head[:12]}")
        return
    tot = sum(samples(r, col) for r in data) or 1
    print(f"== {name}: {len(data)} SASS instructions, top stall sites of {tot:.0f} samples")
    for r in sorted(data, key=lambda r: samples(r, col), reverse=True)[:25]:
        print(f"   {100 * samples(r, col) / tot:5.1f}%  {r.get('Address', '?'):>6}  {r.get('Source', '?')[:90]}")
    by_op = collections.Counter()
    for r in data:
        op = next((w for w in r.get("Source", "").split() if not w.startswith("@")), "?")
        by_op[op.split(".")[0]] += samples(r, col)
    print(f"== {name}: samples by opcode")
    for op, v in by_op.most_common(15):
        print(f"   {100 * v / tot:5.1f}%  {op}")


def read_source(path):
    """A source page (--page source --csv): its column names and its SASS
    rows as dicts, each with its offset from the kernel's first instruction
    (key "offset"); (None, []) without a header row."""
    rows = list(csv.reader(open(path)))
    hi = next((i for i, r in enumerate(rows) if "Source" in r), None)
    if hi is None:
        return None, []
    head = rows[hi]
    data = [dict(zip(head, r)) for r in rows[hi + 1:] if len(r) == len(head)]
    base = min((int(r["Address"], 16) for r in data if "Address" in r), default=0)
    for r in data:
        r["offset"] = int(r["Address"], 16) - base if "Address" in r else 0
    return head, data


SAMPLES = "Warp Stall Sampling (All Samples)"
MARKS = ("BAR.SYNC", "BAR.ARV", "LDGDEPBAR", "DEPBAR", "ACQBULK", "PREEXIT", "EXIT")


def samples(r, col=SAMPLES):
    v = num(r.get(col) or "0")
    return 0.0 if v != v else v


def marks(path):
    _, data = read_source(path)
    tot = sum(samples(r) for r in data) or 1
    seen = 0.0
    print(f"{'offset':>8} {'samples so far':>14} {'executed':>9}  instruction")
    for r in data:
        seen += samples(r)
        if any(m in r["Source"] for m in MARKS) and num(r.get("Instructions Executed")) > 0:
            print(f"{r['offset']:#8x} {100 * seen / tot:13.1f}% {r['Instructions Executed']:>9}  {r['Source'].strip()[:60]}")


def phases(path, cuts):
    head, data = read_source(path)
    reasons = [c for c in head or [] if c.startswith("stall_") and "(" not in c]
    tot = sum(samples(r) for r in data) or 1
    per = collections.defaultdict(collections.Counter)
    share = collections.Counter()
    for r in data:
        p = sum(1 for c in cuts if r["offset"] >= c)
        share[p] += samples(r)
        for c in reasons:
            per[p][c] += samples(r, c)
    print(f"{path}: {tot:.0f} samples")
    for p in range(len(cuts) + 1):
        lo = cuts[p - 1] if p else 0
        top = ", ".join(f"{k[6:]} {100 * v / tot:.1f}%" for k, v in per[p].most_common(4) if v > 0)
        print(f"  from {lo:#8x}: {100 * share[p] / tot:5.1f}%   {top}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "kernels":
        kernels(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "source":
        source(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "marks":
        marks(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "phases":
        phases(sys.argv[2], sorted(int(c, 16) for c in sys.argv[3].split(",")))
    else:
        sys.exit(__doc__)

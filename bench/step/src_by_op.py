#!/usr/bin/env python3
"""src_by_op.py CSV: warp stall samples of an ncu SASS source page (profile.sh
PROFILE_SOURCE) summed by opcode and by stall reason, to see which kind of
instruction a latency-bound kernel waits on."""
import collections
import csv
import sys

rows = list(csv.reader(open(sys.argv[1])))
hi = next((i for i, r in enumerate(rows) if "Source" in r), None)
if hi is None:
    sys.exit("no source rows")
head = rows[hi]
data = [dict(zip(head, r)) for r in rows[hi + 1:] if len(r) == len(head)]
col = next(c for c in head if c.startswith("Warp Stall Sampling (All"))


def num(v):
    try:
        return float((v or "0").replace(",", ""))
    except ValueError:
        return 0.0


by_op = collections.Counter()
for r in data:
    words = r.get("Source", "").split()
    op = next((w for w in words if not w.startswith("@")), "?").split(".")[0]
    by_op[op] += num(r.get(col))
tot = sum(by_op.values()) or 1
print(f"{len(data)} instructions, {tot:.0f} samples; by opcode:")
for op, v in by_op.most_common(15):
    print(f"  {op:<10} {100 * v / tot:5.1f}%")
reasons = collections.Counter()
for c in head:
    if c.startswith("stall_") or "Stall" in c and c != col and "Not Issued" not in c:
        reasons[c] = sum(num(r.get(c)) for r in data)
print("by stall column:")
for c, v in reasons.most_common(12):
    print(f"  {c[:60]:<60} {v:.0f}")

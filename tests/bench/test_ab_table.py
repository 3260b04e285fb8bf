#!/usr/bin/env python3
"""test_ab_table.py AB_TABLE_PY: bench/step/ab_table.py prints ab.sh's
side-by-side table from step_bench's JSON files; these cases write small
hand-made runs and check the ratios it prints (min of each variant's runs
over min of A's, worked out in each case)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

TABLE = sys.argv.pop(1) if len(sys.argv) > 1 else "bench/step/ab_table.py"


def rec(name, ms, batch=16, ctx=8192, kind="quest"):
    return {"kind": kind, "name": name, "batch": batch, "context": ctx, "ms": ms}


class AbTableTest(unittest.TestCase):
    def table(self, runs, variants, rounds=2, raw=None):
        """runs: {(variant, round): [records]}; raw: {(variant, round): text} written as is."""
        with tempfile.TemporaryDirectory() as d:
            for (v, i), recs in runs.items():
                with open(os.path.join(d, f"ab_{v}_{i}.json"), "w") as f:
                    json.dump({"results": recs}, f)
            for (v, i), text in (raw or {}).items():
                with open(os.path.join(d, f"ab_{v}_{i}.json"), "w") as f:
                    f.write(text)
            return subprocess.run([sys.executable, TABLE, d, str(rounds), variants, "T"], capture_output=True,
                                  text=True, check=True).stdout.splitlines()

    def row(self, lines, op):
        return [c.strip() for c in next(l for l in lines if f" {op} " in l).split("|")]

    def test_two_variants(self):
        # A min 0.0200, B min 0.0210: 1.050
        lines = self.table({("a", 1): [rec("step", 0.0200)], ("a", 2): [rec("step", 0.0205)],
                            ("b", 1): [rec("step", 0.0212)], ("b", 2): [rec("step", 0.0210)]}, "a b")
        self.assertEqual(lines[0], "T; ms per run")
        cells = self.row(lines, "step")
        self.assertEqual(cells[1], "0.0200 0.0205")
        self.assertEqual(cells[2], "0.0212 0.0210")
        self.assertEqual(cells[3], "1.050")

    def test_third_variant_and_missing_value(self):
        # C min 0.0190 over A min 0.0200: 0.950; the index row has no B value: "-"
        lines = self.table({("a", 1): [rec("step", 0.0200), rec("index+topk", 0.0100)],
                            ("b", 1): [rec("step", 0.0220)],
                            ("c", 1): [rec("step", 0.0190), rec("index+topk", 0.0080)]}, "a b c", rounds=1)
        self.assertIn("C/A (min)", lines[1])
        step = self.row(lines, "step")
        self.assertEqual(step[-2:], ["1.100", "0.950"])
        index = self.row(lines, "index+topk")
        self.assertEqual(index[-2:], ["-", "0.800"])

    def test_crashed_run_keeps_whole_records(self):
        # step_bench died after its first record: the array is closed, the record kept
        lines = self.table({("a", 1): [rec("step", 0.0400)]}, "a b", rounds=1,
                           raw={("b", 1): '{"results": [\n  {"kind": "quest", "name": "step", "batch": 16, '
                                          '"context": 8192, "ms": 0.0300}'})
        self.assertEqual(self.row(lines, "step")[-1], "0.750")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""test_ncu_tables.py NCU_TABLES_PY: bench/step/ncu_tables.py turns ncu's
CSV into profile.sh's tables; these cases feed it small hand-written CSVs in
ncu's layouts and check the numbers it prints, worked out below."""
import csv
import os
import subprocess
import sys
import tempfile
import unittest

TABLES = sys.argv.pop(1) if len(sys.argv) > 1 else "bench/step/ncu_tables.py"
METRIC_HEAD = ["ID", "Process ID", "Process Name", "Host Name", "Kernel Name", "Context", "Stream",
               "Block Size", "Grid Size", "Device", "CC", "Section Name", "Metric Name", "Metric Unit", "Metric Value"]


def metric(kid, kernel, name, value):
    return [kid, "1", "step_bench", "host", kernel, "1", "7", "(256, 1, 1)", "(128, 1, 1)", "0", "9.0", "", name, "", value]


class NcuTablesTest(unittest.TestCase):
    def run_tables(self, *args, rows):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "in.csv")
            with open(path, "w", newline="") as f:
                csv.writer(f).writerows(rows)
            return subprocess.run([sys.executable, TABLES, args[0], path, *args[1:]], capture_output=True, text=True,
                                  check=True).stdout

    def test_kernel_line(self):
        # 12,500 ns and 25,000,000 bytes read: 12.5 us, 25.0 MB, 2000 GB/s
        out = self.run_tables("kernels", rows=[
            METRIC_HEAD,
            metric("0", "quest_select_kernel", "gpu__time_duration.sum", "12,500"),
            metric("0", "quest_select_kernel", "dram__bytes_read.sum", "25,000,000"),
            metric("0", "quest_select_kernel", "launch__registers_per_thread", "61"),
            metric("0", "quest_select_kernel", "launch__grid_size", "128"),
        ])
        line = next(l for l in out.splitlines() if l.startswith("quest_select_kernel"))
        self.assertEqual(line.split()[1:5], ["12.5", "25.0", "2000", "?"])
        self.assertTrue(line.endswith("61 128 x ?"), line)

    def test_source_by_opcode(self):
        # 6 samples on ISETP (two predicated or not), 2 on BRA: 75% / 25%
        head = ["Address", "Source", "Warp Stall Sampling (All Samples)", "Warp Stall Sampling (Not-issued Samples)"]
        out = self.run_tables("source", "sel", rows=[
            ["preamble"], head,
            ["0x10", "ISETP.GE.AND P0, PT, R1, RZ, PT", "4", "1"],
            ["0x20", "@P0 ISETP.GT.AND P1, PT, R2, 0x2, PT", "2", "0"],
            ["0x30", "@!P1 BRA 0x40", "2", "2"],
        ])
        self.assertIn("== sel: 3 SASS instructions, top stall sites of 8 samples", out)
        by_op = out.split("samples by opcode")[1].split()
        self.assertEqual(by_op[:4], ["75.0%", "ISETP", "25.0%", "BRA"])

    # A kernel at 0x100 of 5 instructions: 10 samples in all. Cut at 0x120
    # (the barrier): before it 2 + 3 = 5 samples (50%; long_sb 4 of them,
    # 40%), from it 1 + 0 + 4 = 5 (50%; no_inst 4, 40%). The mark at 0x140 is
    # never executed, so `marks` leaves it out.
    PHASE_HEAD = ["Address", "Source", "Warp Stall Sampling (All Samples)", "Instructions Executed",
                  "stall_long_sb", "stall_no_inst", "stall_barrier (Not Issued)"]
    PHASE_ROWS = [
        ["0x100", "LDG.E R2, desc[UR4][R2.64]", "2", "8", "1", "0", "9"],
        ["0x110", "IMAD R3, R2, 0x2, RZ", "3", "8", "3", "0", "9"],
        ["0x120", "BAR.SYNC.DEFER_BLOCKING 0x0", "1", "8", "0", "0", "9"],
        ["0x130", "IADD3 R4, R3, 0x1, RZ", "0", "8", "0", "0", "9"],
        ["0x140", "@P0 EXIT", "4", "0", "0", "4", "9"],
    ]

    def test_phases_split_at_offsets(self):
        out = self.run_tables("phases", "0x20", rows=[["preamble"], self.PHASE_HEAD, *self.PHASE_ROWS])
        lines = [l.split() for l in out.splitlines() if l.strip().startswith("from")]
        self.assertEqual([l[2] for l in lines], ["50.0%", "50.0%"])
        self.assertEqual(lines[0][3:5], ["long_sb", "40.0%"])
        self.assertEqual(lines[1][3:5], ["no_inst", "40.0%"])
        self.assertIn("10 samples", out)

    def test_marks_lists_executed_barriers(self):
        out = self.run_tables("marks", rows=[["preamble"], self.PHASE_HEAD, *self.PHASE_ROWS])
        marks = [l.split() for l in out.splitlines()[1:]]
        self.assertEqual(marks, [["0x20", "60.0%", "8", "BAR.SYNC.DEFER_BLOCKING", "0x0"]])

    def test_missing_file_is_reported(self):
        out = subprocess.run([sys.executable, TABLES, "kernels", "/nonexistent/ncu.csv"], capture_output=True, text=True,
                             check=True).stdout
        self.assertIn("No such file", out)


if __name__ == "__main__":
    unittest.main()

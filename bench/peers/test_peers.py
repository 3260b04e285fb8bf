"""Checks of peers.py's logic (selection files, block masks, the Quest
identity the torch pipeline relies on) on the CPU, and of its CUDA-graph
replays where torch has CUDA (bench/run_all.sh runs this file first on the
GPU machine). Run: python3 -m unittest bench/peers/test_peers.py (skipped
without torch). On the CPU FlexAttention runs eager, which honours only the
mask_mod; the GPU run re-checks every output."""
import os
import sys
import tempfile
import unittest
import warnings

try:
    import torch
except ImportError:  # the build machine need not have torch
    torch = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@unittest.skipIf(torch is None, "torch not installed")
class PeersLogic(unittest.TestCase):
    def setUp(self):
        import peers

        self.p = peers
        warnings.filterwarnings("ignore")
        self.gen = torch.Generator().manual_seed(7)

    def test_selection_roundtrip(self):
        sel = self.p.random_selection(3, 40, 9, self.gen)
        self.assertEqual(tuple(sel.shape), (3 * self.p.HKV, 9))
        self.assertTrue(bool((sel[:, 1:] > sel[:, :-1]).all()))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "sel_quest_b3_c640.bin")
            self.p.write_selection(path, sel, 3, self.p.HKV, 640, self.p.PAGE)
            meta, back = self.p.read_selection(path)
        self.assertTrue(torch.equal(back, sel))
        self.assertEqual((meta["algo"], meta["batch"], meta["context"], meta["k"]), ("quest", 3, 640, 9))

    def test_masks_attend_exactly_the_selected_pages(self):
        from torch.nn.attention.flex_attention import flex_attention

        sh = self.p.Shape(2, 1000, torch.device("cpu"), self.gen)
        sel = self.p.random_selection(2, sh.n_pages, 10, self.gen)
        for block in (self.p.PAGE, 128):
            (bm,) = sh.masks.build(sel, block)
            got = flex_attention(sh.qf, sh.kf, sh.vf, block_mask=bm, enable_gqa=True)[:, :, 0]
            rows = list(range(sh.qf.shape[0]))
            ref = self.p.ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows)
            self.p.check_close(f"block {block}", got, ref)
            self.assertEqual(int(sh.masks.chosen.sum()), sel.numel())

    def test_row_chunks(self):
        self.assertEqual(self.p.row_chunks(16, 8, 1 << 30), [(0, 16)])
        self.assertEqual(self.p.row_chunks(16, 8, 64), [(0, 8), (8, 16)])
        self.assertEqual(self.p.row_chunks(16, 8, 32), [(0, 4), (4, 8), (8, 12), (12, 16)])
        # B64 x 32K folded rows: 2^31 elements -> two calls of 2^30
        self.assertEqual(len(self.p.row_chunks(64 * 8, 32768 * 128, self.p.FLEX_MAX_ELEMS)), 2)
        with self.assertRaises(ValueError):
            self.p.row_chunks(3, 8, 16)

    def test_chunked_flex_matches_one_call(self):
        # the same selection through 2 row slices (and 2 batch slices for
        # the dense call) gives the reference output: each slice's mask_mod
        # indexes its own rows (the second slice's b = 0 is row 8)
        from torch.nn.attention.flex_attention import flex_attention

        sh = self.p.Shape(2, 1000, torch.device("cpu"), self.gen, flex_max_elems=8 * 1000 * self.p.DIM)
        self.assertEqual((sh.row_chunks, sh.batch_chunks), ([(0, 8), (8, 16)], [(0, 1), (1, 2)]))
        sel = self.p.random_selection(2, sh.n_pages, 10, self.gen)
        rows = list(range(sh.qf.shape[0]))
        for block in (self.p.PAGE, 128):
            bms = sh.masks.build(sel, block)
            self.assertEqual(len(bms), 2)
            got = self.p.flex_chunked(flex_attention, sh.qf, sh.kf, sh.vf, sh.row_chunks, bms, enable_gqa=True)
            ref = self.p.ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows)
            self.p.check_close(f"chunked block {block}", got[:, :, 0], ref)
        dense = self.p.flex_chunked(flex_attention, sh.q, sh.k, sh.v, sh.batch_chunks, enable_gqa=True)
        full = torch.ones(len(rows), sh.n_pages, dtype=torch.bool)
        self.p.check_close("chunked dense", dense.view(len(rows), self.p.GROUP, self.p.DIM),
                           self.p.ref_rows(sh.qf, sh.kf, sh.vf, full, rows))

    def test_quest_score_identity(self):
        # max(q*kmax, q*kmin) == relu(q)*kmax + min(q,0)*kmin when kmax >= kmin
        q = torch.randn(5, 4, 16, generator=self.gen)
        a, b = torch.randn(5, 7, 16, generator=self.gen), torch.randn(5, 7, 16, generator=self.gen)
        kmax, kmin = torch.maximum(a, b), torch.minimum(a, b)
        direct = torch.maximum(q[:, :, None] * kmax[:, None], q[:, :, None] * kmin[:, None]).sum(-1)
        mm = q.clamp(min=0) @ kmax.transpose(1, 2) + q.clamp(max=0) @ kmin.transpose(1, 2)
        self.assertTrue(torch.allclose(direct, mm, atol=1e-5))

    def test_check_close_rejects_wrong_output(self):
        with self.assertRaises(RuntimeError):
            self.p.check_close("x", torch.ones(4), torch.zeros(4))


@unittest.skipIf(torch is None or not torch.cuda.is_available(), "needs torch with CUDA")
class PeersGraphReplay(unittest.TestCase):
    """graph_replay (the -graph results): a replay computes the captured
    function again on the inputs' current values, including a block mask
    built inside the capture from a selection that changed since (the
    pipeline's case)."""

    def setUp(self):
        import peers

        self.p = peers
        self.dev = torch.device("cuda")
        self.sh = peers.Shape(2, 2048, self.dev, torch.Generator(device=self.dev).manual_seed(3))
        self.rows = list(range(self.sh.qf.shape[0]))
        self.flex = peers.compile_flex(self.dev)

    def selection(self, seed):
        sel = self.p.random_selection(2, self.sh.n_pages, 16, torch.Generator().manual_seed(seed))
        return sel.to(self.dev)

    def check(self, got):
        sh = self.sh
        torch.cuda.synchronize()
        self.p.check_close("replay", got[:, :, 0], self.p.ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, self.rows))

    def test_replay_follows_the_query(self):
        sh = self.sh
        bms = sh.masks.build(self.selection(5), self.p.PAGE)
        fn = lambda: self.p.flex_chunked(self.flex, sh.qf, sh.kf, sh.vf, sh.row_chunks, bms, enable_gqa=True)
        replay, got = self.p.graph_replay(fn, self.dev)
        self.check(got)
        before = got.clone()
        sh.q.uniform_(-2, 2)
        replay()
        self.check(got)
        self.assertFalse(torch.equal(before, got))

    def test_replay_follows_a_selection_built_inside(self):
        sh = self.sh
        sel = self.selection(6)
        fn = lambda: self.p.flex_chunked(self.flex, sh.qf, sh.kf, sh.vf, sh.row_chunks,
                                         sh.masks.build(sel, self.p.PAGE), enable_gqa=True)
        replay, got = self.p.graph_replay(fn, self.dev)
        self.check(got)
        sel.copy_(self.selection(7))
        replay()  # rewrites sh.masks.chosen from the new selection, then attends it
        self.assertEqual(int(sh.masks.chosen.sum()), sel.numel())
        self.assertTrue(bool(sh.masks.chosen.gather(1, sel.long()).all()))
        self.check(got)


if __name__ == "__main__":
    unittest.main()

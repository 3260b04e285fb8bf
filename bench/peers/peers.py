#!/usr/bin/env python3
"""peers.py - PyTorch peers of vortexc's decode step, timed as ratios to the
bytes floor measured in the same run (issue 5, docs/DESIGN.md section 7).

One decode step, 32 query heads / 8 KV heads, head dim 128, bf16, page 16:
  sdpa-dense      torch SDPA over contiguous K/V (the 4 query heads of a KV
                  head folded into 4 query rows: exact for decode, and what
                  lets the flash backend run GQA without expanding K/V)
  flex-dense      FlexAttention (torch.compile), enable_gqa, no mask
  flex-sparse     FlexAttention over a GIVEN page selection: the selected
                  16-token pages become full KV blocks of a BlockMask
                  (128-token blocks with a mask_mod if 16 fails; reported)
  torch-pipeline  the Quest step a PyTorch user would write: page scores
                  from the min/max envelopes by two batched matmuls
                  (max(q*kmax, q*kmin) = relu(q)*kmax + min(q,0)*kmin since
                  kmax >= kmin), max over the query group, keep first 1 /
                  last 2, torch.topk, BlockMask, FlexAttention (whole step;
                  the envelopes are built once outside the timing, like a
                  cache update)
  *-graph         flex-sparse and torch-pipeline again, captured once in a
                  CUDA graph and timed as replays (how step_bench times our
                  kernels; --no-graph skips them)
K/V are contiguous [B, Hkv, L, D] in logical order: no page gather, which
favours the peers. Where K holds more than 2^30 elements (B64 x 32K, 128K)
FlexAttention runs as one call per slice of the batch (torch 2.11 cannot
compile it for 2^31 elements; row_chunks), timed together; results carry
`calls`. Each call costs at least ~0.21 ms of GPU time on an H100 (runs
79, 82: a block per folded row walks the row's selected blocks one after
another), so bench/step/report.py stars those ratios and leaves them out
of the targets. Floors: bytes the step must move / device copy bandwidth
(read + written bytes of a large D2D copy, same run). Timing:
triton.testing.do_bench median (it clears L2 before every rep) on CUDA,
perf_counter median on CPU (logic checks only).

Selection files (--selection, written by bench/step/step_bench): 8 int32
header [magic 0x31535856, version 1, batch, kv_heads, context, page_size,
k, 0] then batch*kv_heads rows of k int32 logical page ids.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import time

# Inductor compiles in this process, not in its worker pool: on the H200 run
# of 2026-11-28 one failed compile left the pool broken and every later
# FlexAttention shape failed with the same SubprocException.
os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")

import torch
import torch.nn.functional as F

HQ, HKV, DIM, PAGE = 32, 8, 128, 16
GROUP = HQ // HKV
BUDGET_PAGES = 128  # 2048 tokens
KEEP_FIRST, KEEP_LAST = 1, 2  # examples/quest.vtx
SEL_MAGIC = 0x31535856
ELEM = 2  # bf16 bytes
# K/V elements one FlexAttention call may take: B32 x 32K (2^30) compiles,
# 2^31 does not (row_chunks)
FLEX_MAX_ELEMS = 1 << 30


# ----------------------------------------------------------------- selections
def read_selection(path):
    """Returns (meta dict, int32 tensor [batch * kv_heads, k])."""
    raw = open(path, "rb").read()
    head = torch.frombuffer(bytearray(raw[:32]), dtype=torch.int32).tolist()
    if head[0] != SEL_MAGIC or head[1] != 1:
        raise ValueError(f"{path}: not a selection file (magic {head[0]:#x})")
    batch, kv_heads, context, page, k = head[2:7]
    rows = batch * kv_heads
    if len(raw) != 32 + rows * k * 4:
        raise ValueError(f"{path}: size {len(raw)} != header's {32 + rows * k * 4}")
    sel = torch.frombuffer(bytearray(raw[32:]), dtype=torch.int32).view(rows, k).clone()
    m = re.search(r"sel_([A-Za-z0-9_]+?)_b\d+_c\d+\.bin$", os.path.basename(path))
    meta = dict(batch=batch, kv_heads=kv_heads, context=context, page_size=page, k=k,
                algo=m.group(1) if m else "given", file=os.path.basename(path))
    return meta, sel


def write_selection(path, sel, batch, kv_heads, context, page):
    head = torch.tensor([SEL_MAGIC, 1, batch, kv_heads, context, page, sel.shape[1], 0], dtype=torch.int32)
    with open(path, "wb") as f:
        f.write(head.numpy().tobytes())
        f.write(sel.to(torch.int32).contiguous().numpy().tobytes())


def random_selection(batch, n_pages, k, gen):
    """k distinct ascending pages per (request, KV head) row."""
    rows = batch * HKV
    k = min(k, n_pages)
    return torch.stack([torch.randperm(n_pages, generator=gen)[:k].sort().values for _ in range(rows)]).to(torch.int32)


# ------------------------------------------------------------------- timing
def make_timer(device, reps):
    if device.type == "cuda":
        import triton.testing

        def bench(fn):
            return float(triton.testing.do_bench(fn, warmup=25, rep=max(50, reps), return_mode="median"))
    else:
        def bench(fn):
            fn()
            ts = []
            for _ in range(max(3, reps // 10)):
                t0 = time.perf_counter()
                fn()
                ts.append((time.perf_counter() - t0) * 1e3)
            return statistics.median(ts)
    return bench


def copy_gbs(device, bench):
    nbytes = (4 << 30) if device.type == "cuda" else (64 << 20)
    src = torch.empty(nbytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    ms = bench(lambda: dst.copy_(src))
    del src, dst
    return 2.0 * nbytes / (ms * 1e6)


# --------------------------------------------------------------- block masks
class SelectionMask:
    """BlockMasks over the folded rows (request x KV head) attending exactly
    the selected pages. With 16-token blocks every selected page is a FULL
    block (the kernel evaluates no mask_mod); with larger blocks the blocks
    holding a selected page are partial and the mask_mod removes the rest.
    The mask_mod also defines the semantics for eager (CPU) execution, which
    ignores block sparsity. One object per shape: `chosen` is updated in
    place and the mask_mod is always the same function, so a new selection
    never makes torch.compile recompile."""

    def __init__(self, rows, n_pages, context, device, chunks=None):
        self.rows, self.n_pages, self.context, self.device = rows, n_pages, context, device
        self.chosen = torch.zeros(rows, n_pages, dtype=torch.bool, device=device)
        self.chunks = list(chunks or [(0, rows)])
        # one mask_mod per chunk of rows, over its view of `chosen`: a chunk's
        # batch index b is local to the chunk
        self.mask_mods = [self._mask_mod(self.chosen[r0:r1]) for r0, r1 in self.chunks]
        self.zero = torch.zeros(rows, 1, 1, dtype=torch.int32, device=device)

    @staticmethod
    def _mask_mod(chosen):
        def mask_mod(b, h, q_idx, kv_idx):
            return chosen[b, kv_idx // PAGE]
        return mask_mod

    def build(self, sel, block):
        """One BlockMask per chunk of rows (see row_chunks), in order."""
        from torch.nn.attention.flex_attention import BlockMask

        rows, k = sel.shape
        sel_l = sel.to(device=self.device, dtype=torch.long)
        self.chosen.zero_()
        self.chosen.scatter_(1, sel_l, True)
        nblk = (self.context + block - 1) // block
        if block == PAGE:
            idx = torch.zeros(rows, 1, 1, nblk, dtype=torch.int32, device=self.device)
            idx[:, 0, 0, :k] = sel_l.to(torch.int32)
            full = torch.full((rows, 1, 1), k, dtype=torch.int32, device=self.device)
            return [BlockMask.from_kv_blocks(self.zero[r0:r1], idx[r0:r1], full[r0:r1], idx[r0:r1],
                                             BLOCK_SIZE=(128, block), mask_mod=mod, seq_lengths=(1, self.context),
                                             compute_q_blocks=False)
                    for (r0, r1), mod in zip(self.chunks, self.mask_mods)]
        per = block // PAGE
        hit = torch.zeros(rows, nblk, dtype=torch.bool, device=self.device)
        hit.scatter_(1, sel_l // per, True)
        num = hit.sum(1, dtype=torch.int32).view(rows, 1, 1)
        # hit blocks first, ascending: argsort of (not hit, block id)
        order = torch.argsort((~hit).to(torch.int64) * nblk + torch.arange(nblk, device=self.device), dim=1)
        order = order.to(torch.int32).view(rows, 1, 1, nblk)
        return [BlockMask.from_kv_blocks(num[r0:r1], order[r0:r1], BLOCK_SIZE=(128, block), mask_mod=mod,
                                         seq_lengths=(1, self.context), compute_q_blocks=False)
                for (r0, r1), mod in zip(self.chunks, self.mask_mods)]


def row_chunks(rows, elems_per_row, limit):
    """Splits rows into equal power-of-two chunks of at most `limit` K
    elements each: torch 2.11's FlexAttention template fails to compile for
    tensors of 2^31+ elements (int64 indexing, bench/RESULTS.md), so such
    shapes run as several calls on slices of the batch. [(r0, r1), ...]."""
    n = 1
    while rows % (2 * n) == 0 and rows // n * elems_per_row > limit:
        n *= 2
    if rows // n * elems_per_row > limit:
        raise ValueError(f"{rows} rows of {elems_per_row} elements: no equal split under {limit}")
    step = rows // n
    return [(r0, r0 + step) for r0 in range(0, rows, step)]


def flex_chunked(flex, q, k, v, chunks, block_masks=None, **kw):
    """FlexAttention over slices of the leading dimension, one call each,
    outputs concatenated (a copy of the small output, only when split)."""
    outs = [flex(q[r0:r1], k[r0:r1], v[r0:r1], block_mask=None if block_masks is None else block_masks[i], **kw)
            for i, (r0, r1) in enumerate(chunks)]
    return outs[0] if len(outs) == 1 else torch.cat(outs)


# ------------------------------------------------------------------- checks
def ref_rows(q, k, v, chosen, rows):
    """f32 attention of folded rows over their chosen pages: [len(rows), G, D]."""
    out = []
    for r in rows:
        pages = chosen[r].nonzero().flatten()
        toks = (pages[:, None] * PAGE + torch.arange(PAGE, device=q.device)).flatten()
        toks = toks[toks < k.shape[2]]
        s = (q[r, :, 0].float() @ k[r, 0, toks].float().T) / math.sqrt(DIM)
        out.append(s.softmax(-1) @ v[r, 0, toks].float())
    return torch.stack(out)


class WrongOutput(RuntimeError):
    """A peer's output disagrees with the f32 reference: never 'unavailable'."""


def check_close(name, got, ref, tol=3e-2):
    err = (got.float() - ref.float()).abs().max().item()
    bound = tol * (1.0 + ref.float().abs().max().item())
    if not math.isfinite(err) or err > bound:
        raise WrongOutput(f"{name}: max error {err:.4g} > {bound:.3g}: output is wrong, timing discarded")
    return err


def graph_replay(fn, device):
    """fn captured once in a CUDA graph: (replay, the output tensor replays
    write). step_bench times our kernels as graph replays and a serving
    engine replays its decode step the same way, without the host dispatch
    of each eager call (run 82: 6-55% of the pipeline's eager time, ~1% of
    FlexAttention's). Warm-up runs on a side stream first, as
    torch.cuda.graph requires, so that compilation and autotuning happen
    outside the capture."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    graph.replay()
    torch.cuda.synchronize(device)
    return graph.replay, out


# ------------------------------------------------------------------- peers
class Shape:
    def __init__(self, batch, context, device, gen, flex_max_elems=FLEX_MAX_ELEMS):
        self.batch, self.context, self.device = batch, context, device
        self.n_pages = (context + PAGE - 1) // PAGE
        kv_shape = (batch, HKV, context, DIM)
        # uniform [-2, 2): like step_bench's pools (never all-zero)
        self.k = torch.empty(kv_shape, dtype=torch.bfloat16, device=device).uniform_(-2, 2, generator=gen)
        self.v = torch.empty(kv_shape, dtype=torch.bfloat16, device=device).uniform_(-2, 2, generator=gen)
        self.q = torch.empty((batch, HQ, 1, DIM), dtype=torch.bfloat16, device=device).uniform_(-2, 2, generator=gen)
        # folded views: row = request * HKV + kv head; the group's query heads are rows of q
        self.qf = self.q.view(batch * HKV, GROUP, 1, DIM)
        self.kf = self.k.view(batch * HKV, 1, context, DIM)
        self.vf = self.v.view(batch * HKV, 1, context, DIM)
        # FlexAttention's calls: dense over batch slices, sparse over row slices
        self.batch_chunks = row_chunks(batch, HKV * context * DIM, flex_max_elems)
        self.row_chunks = row_chunks(batch * HKV, context * DIM, flex_max_elems)
        self.masks = SelectionMask(batch * HKV, self.n_pages, context, device, self.row_chunks)
        self.kv_bytes = 2.0 * batch * HKV * context * DIM * ELEM
        self.qo_bytes = 2.0 * batch * HQ * DIM * ELEM

    def sparse_bytes(self, tokens_per_row):
        return 2.0 * self.batch * HKV * tokens_per_row * DIM * ELEM + self.qo_bytes

    def envelopes(self):
        """Quest's per-page min/max key envelopes [rows, n_pages, D] (not timed)."""
        pad = self.n_pages * PAGE - self.context
        k = self.kf[:, 0]
        if pad:
            k = torch.cat([k, k[:, -1:].expand(-1, pad, -1)], 1)
        k = k.view(self.batch * HKV, self.n_pages, PAGE, DIM)
        return k.amax(2).contiguous(), k.amin(2).contiguous()


def compile_flex(device):
    """torch.compile'd flex_attention on CUDA; eager (dense math, honours only
    the mask_mod) on CPU or with PEERS_EAGER=1, for logic checks."""
    from torch.nn.attention.flex_attention import flex_attention

    if device.type != "cuda" or os.environ.get("PEERS_EAGER") == "1":
        return flex_attention
    try:
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
        torch._dynamo.config.recompile_limit = max(64, getattr(torch._dynamo.config, "recompile_limit", 8))
    except AttributeError:
        pass
    # dynamic=False: a kernel per shape with static sizes, the best FlexAttention can do
    return torch.compile(flex_attention, dynamic=False)


def short_error(e):
    """Head and tail of an exception's text: torch's compile errors put the
    wrapper first and the real cause last."""
    s = f"{type(e).__name__}: {e}"
    return s if len(s) <= 700 else s[:250] + " ... " + s[-450:]


def peer_unavailable(e):
    """Whether a failure is the peer's own limit, not a wrong result: torch's
    compiler rejecting a shape (Inductor cannot build FlexAttention for
    tensors of 2^31+ elements: bench/RESULTS.md) or memory running out. A
    peer whose output disagrees with the reference is never unavailable."""
    kinds = {type(x).__name__ for x in (e, e.__cause__, e.__context__) if x is not None}
    return bool(kinds & {"InductorError", "BackendCompilerFailed", "CompilationError", "OutOfMemoryError"})


def run_shape(sh, selections, flex, bench, copy, out, log, do_dense=True, do_pipeline=True, do_graph=False):
    """Times every peer at one shape; appends result dicts to out. With
    do_graph, FlexAttention block-sparse and the pipeline are timed again as
    CUDA-graph replays (names ending in -graph), after every eager peer: a
    capture that fails cannot then spoil them."""
    rows_to_check = [0, sh.batch * HKV - 1]
    graph_jobs = []  # (name, fn) run last

    def record(name, ms, nbytes, extra=None):
        floor = nbytes / (copy * 1e6)
        r = dict(kind="peer", name=name, batch=sh.batch, context=sh.context, ms=ms, bytes=nbytes, floor_ms=floor,
                 ratio_to_floor=ms / floor, gbs=nbytes / (ms * 1e6))
        r.update(extra or {})
        out.append(r)
        log(f"{name:<22} B={sh.batch:<3} ctx={sh.context:<6} {ms:9.4f} ms  floor {floor:8.4f} ms  "
            f"x{ms / floor:5.2f}  {nbytes / (ms * 1e6):7.0f} GB/s  {extra or ''}")

    def guarded(name, fn, optional=False):
        """optional: a graph timing, which the peer may not support (a
        capture error marks it unavailable; a wrong output still fails)."""
        try:
            fn()
        except Exception as e:  # one failing peer must not hide the others
            log(f"{name:<22} B={sh.batch:<3} ctx={sh.context:<6} FAILED: {short_error(e)}")
            unavailable = peer_unavailable(e) or (optional and not isinstance(e, WrongOutput))
            out.append(dict(kind="peer", name=name, batch=sh.batch, context=sh.context, error=short_error(e),
                            unavailable=unavailable))

    def graphed(name, make, nbytes, extra):
        """Queues a graph timing. make() -> (fn, check) runs when the job
        does: it rebuilds what fn reads (another peer may have rewritten the
        shared mask since), and the replayed output must pass check."""
        def job():
            fn, check = make()
            replay, got = graph_replay(fn, sh.device)
            check(got)
            record(name, bench(replay), nbytes, dict(extra, graph=True))
        graph_jobs.append((name, job))

    dense_bytes = sh.kv_bytes + sh.qo_bytes
    if do_dense:
        def sdpa():
            fn = lambda: F.scaled_dot_product_attention(sh.q.view(sh.batch, HKV, GROUP, DIM), sh.k, sh.v)
            got = fn().view(sh.batch * HKV, GROUP, DIM)
            full = torch.ones(sh.batch * HKV, sh.n_pages, dtype=torch.bool, device=sh.device)
            check_close("sdpa-dense", got[rows_to_check], ref_rows(sh.qf, sh.kf, sh.vf, full, rows_to_check))
            record("sdpa-dense", bench(fn), dense_bytes)

        def flex_dense():
            fn = lambda: flex_chunked(flex, sh.q, sh.k, sh.v, sh.batch_chunks, enable_gqa=True)
            got = fn().view(sh.batch * HKV, GROUP, DIM)
            full = torch.ones(sh.batch * HKV, sh.n_pages, dtype=torch.bool, device=sh.device)
            check_close("flex-dense", got[rows_to_check], ref_rows(sh.qf, sh.kf, sh.vf, full, rows_to_check))
            record("flex-dense", bench(fn), dense_bytes, dict(calls=len(sh.batch_chunks)))

        guarded("sdpa-dense", sdpa)
        guarded("flex-dense", flex_dense)

    for meta, sel in selections:
        def flex_sparse(meta=meta, sel=sel):
            last = None
            for block in (PAGE, 128):
                try:
                    bm = sh.masks.build(sel, block)
                    fn = lambda: flex_chunked(flex, sh.qf, sh.kf, sh.vf, sh.row_chunks, bm, enable_gqa=True)
                    got = fn()[:, :, 0]
                    check_close(f"flex-sparse/{block}", got[rows_to_check],
                                ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows_to_check))
                    break
                except Exception as e:
                    last = e
                    log(f"flex-sparse: {block}-token blocks failed ({short_error(e)})")
            else:
                raise last
            tokens = min(sel.shape[1] * PAGE, sh.context)
            extra = dict(block_size=block, selection=meta["file"], calls=len(sh.row_chunks))
            record(f"flex-sparse[{meta['algo']}]", bench(fn), sh.sparse_bytes(tokens), extra)
            if do_graph:
                def make(block=block):
                    bm = sh.masks.build(sel, block)
                    ref = ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows_to_check)
                    return (lambda: flex_chunked(flex, sh.qf, sh.kf, sh.vf, sh.row_chunks, bm, enable_gqa=True),
                            lambda got: check_close("flex-sparse-graph", got[:, :, 0][rows_to_check], ref))
                graphed(f"flex-sparse-graph[{meta['algo']}]", make, sh.sparse_bytes(tokens), extra)
        guarded(f"flex-sparse[{meta['algo']}]", flex_sparse)

    if do_pipeline:
        def pipeline():
            kmax, kmin = sh.envelopes()
            rows = sh.batch * HKV
            budget = min(BUDGET_PAGES, sh.n_pages)

            def index():
                qg = sh.qf[:, :, 0]  # [rows, G, D]
                s = torch.bmm(qg.clamp(min=0), kmax.transpose(1, 2))
                s += torch.bmm(qg.clamp(max=0), kmin.transpose(1, 2))  # [rows, G, n_pages]
                s = s.amax(1).float()
                s[:, :KEEP_FIRST] = float("inf")
                s[:, sh.n_pages - KEEP_LAST:] = float("inf")
                # ascending, like a page table (FlexAttention walks blocks in list order)
                return torch.topk(s, budget, dim=1, sorted=False).indices.sort(1).values

            def step():
                bm = sh.masks.build(index(), PAGE)
                return flex_chunked(flex, sh.qf, sh.kf, sh.vf, sh.row_chunks, bm, enable_gqa=True)

            got = step()[:, :, 0]  # leaves this step's selection in sh.masks.chosen
            check_close("torch-pipeline", got[rows_to_check],
                        ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows_to_check))
            env_bytes = 2.0 * rows * sh.n_pages * DIM * ELEM
            tokens = min(budget * PAGE, sh.context)
            record("torch-pipeline", bench(step), sh.sparse_bytes(tokens) + env_bytes, dict(calls=len(sh.row_chunks)))
            record("torch-index+topk", bench(index), env_bytes + sh.batch * HQ * DIM * ELEM)
            if do_graph:
                def make():
                    # a replay rewrites sh.masks.chosen with the step's own
                    # selection: the check reads it after the replay
                    return step, lambda got: check_close(
                        "torch-pipeline-graph", got[:, :, 0][rows_to_check],
                        ref_rows(sh.qf, sh.kf, sh.vf, sh.masks.chosen, rows_to_check))
                graphed("torch-pipeline-graph", make, sh.sparse_bytes(tokens) + env_bytes,
                        dict(calls=len(sh.row_chunks)))
        guarded("torch-pipeline", pipeline)

    for name, job in graph_jobs:
        guarded(name, job, optional=True)


# --------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--selection", action="append", default=[], help="selection file (repeatable)")
    p.add_argument("--contexts", default="8192,32768,131072")
    p.add_argument("--batches", default="16,32,64")
    p.add_argument("--json", help="write results here")
    p.add_argument("--reps", type=int, default=100, help="do_bench rep time in ms (CUDA)")
    p.add_argument("--time-budget", type=float, default=0, help="skip shapes started after this many s")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--no-dense", action="store_true")
    p.add_argument("--no-pipeline", action="store_true")
    p.add_argument("--no-graph", action="store_true",
                   help="skip timing FlexAttention block-sparse and the pipeline as CUDA-graph replays")
    return p.parse_args(argv)


def plan_shapes(args, gen):
    """[(batch, context, [(meta, sel)])] in the order given."""
    if args.selection:
        shapes = {}
        for path in args.selection:
            meta, sel = read_selection(path)
            if meta["kv_heads"] != HKV or meta["page_size"] != PAGE:
                raise ValueError(f"{path}: kv_heads {meta['kv_heads']} page {meta['page_size']} != {HKV}/{PAGE}")
            shapes.setdefault((meta["batch"], meta["context"]), []).append((meta, sel))
        return [(b, c, s) for (b, c), s in shapes.items()]
    out = []
    for c in (int(x) for x in args.contexts.split(",")):
        for b in (int(x) for x in args.batches.split(",")):
            sel = random_selection(b, (c + PAGE - 1) // PAGE, BUDGET_PAGES, gen)
            out.append((b, c, [(dict(algo="random", file="random", k=sel.shape[1]), sel)]))
    return out


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    gen = torch.Generator(device="cpu").manual_seed(1234)
    shapes = plan_shapes(args, gen)
    bench = make_timer(device, args.reps)
    log = lambda s: print(s, flush=True)
    copy = copy_gbs(device, bench)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    log(f"peers: {name}, torch {torch.__version__}, device copy {copy:.0f} GB/s (read+write)")
    flex = compile_flex(device)
    results, t0 = [], time.time()
    for batch, context, sels in shapes:
        if args.time_budget and time.time() - t0 > args.time_budget:
            log(f"skipped B={batch} ctx={context}: time budget {args.time_budget:.0f} s spent")
            results.append(dict(kind="peer", name="skipped", batch=batch, context=context, error="time budget",
                                unavailable=True))
            continue
        dgen = torch.Generator(device=device).manual_seed(batch * 1000003 + context)
        try:
            sh = Shape(batch, context, device, dgen)
        except torch.OutOfMemoryError as e:
            log(f"B={batch} ctx={context}: out of memory ({str(e)[:120]})")
            results.append(dict(kind="peer", name="oom", batch=batch, context=context, error="out of memory",
                                unavailable=True))
            continue
        run_shape(sh, sels, flex, bench, copy, results, log, not args.no_dense, not args.no_pipeline,
                  device.type == "cuda" and not args.no_graph)
        del sh
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, copy_gbs=copy, results=results), f, indent=1)
    # Exit 1 when a peer's output was wrong or nothing was timed; shapes the
    # peer cannot run are reported (the table's "-" and "peer error" lines)
    # without failing the benchmark.
    timed = any("ms" in r for r in results)
    return 0 if timed and all(r.get("unavailable", "error" not in r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

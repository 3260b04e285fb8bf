#!/usr/bin/env python3
"""report.py STEP_JSON [PEERS_JSON] [--mla MLA_JSON] [--model MODEL_JSON] [--json OUT]: the one table of issue 5.

Joins step_bench's results (generated kernels, libvortexrt dense) with
peers.py's (torch SDPA, FlexAttention, the PyTorch Quest pipeline) by
(batch, context), and prints per algorithm and shape:
  step        whole generated step: ms, x its bytes floor, speed-up over
              dense (ours) and over torch SDPA dense, index share of the step
  attn        generated sparse attention as the step calls it, and over the
              same pages packed to the budget (attn-compact), x floor
  flex        FlexAttention block-sparse over the SAME pages (selection file
              written by step_bench), x floor, and attn's speed-up over it
  pipe        the PyTorch Quest pipeline (quest rows only) and the step's
              speed-up over it
then each op's bytes floor in ms and the bandwidth it reached (GB/s; the
index + top-k's ratio to its floor is a target with no column above),
then, where peers.py timed them so, FlexAttention and the pipeline as
CUDA-graph replays (as our kernels are timed and as a serving engine runs a
decode step: no per-call host dispatch) and the same two speed-ups,
then libvortexrt's MLA decode from vortex-bench --mla-only (MLA_JSON: CUDA-graph
replays, dense and sparse, x floor, sparse's speed-up over dense), then the
whole-model decode step from bench/model (MODEL_JSON: Qwen3-1.7B shapes,
dense and each sparse attention: ms, tokens/s, x floor, speed-up over
dense, the attention's share), then the issue-5 targets (and DESIGN.md's
model-level one), each marked ok / MISS over the shapes where it applies,
with the misses no kernel could turn (the target fails even at our bytes
floor: a peer that fast, an index that many bytes) counted apart.
Missing inputs print as '-'; nothing here fails the run.
"""
import json
import sys


def load(path, quiet=False):
    """The document, or None. A step_bench that died mid-run leaves its
    results array unclosed: close it and keep what was measured. quiet:
    say nothing about what went wrong (ab_table.py, whose caller reports
    a failed run itself)."""
    say = (lambda msg: None) if quiet else print
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        say(f"report: cannot read {path}: {e}")
        return None
    for suffix in ("", "\n]}"):
        try:
            doc = json.loads(text + suffix)
            if suffix:
                say(f"report: {path} was cut short (run died?); using the results it holds")
            return doc
        except ValueError:
            pass
    say(f"report: {path} is not JSON")
    return None


def index(doc):
    out = {}
    for r in (doc or {}).get("results", []):
        if "ms" in r:
            out[(r.get("kind"), r["name"], r["batch"], r["context"])] = r
    return out


def fmt(r, key="ms", width=8):
    return f"{r[key]:{width}.4f}" if r else " " * (width - 1) + "-"


def xfloor(r):
    return f"x{r['ratio_to_floor']:4.2f}" if r else "    -"


def ratio(a, b, mark="x"):
    """a / b for two results' ms, formatted; '-' when either is missing."""
    return f"{a['ms'] / b['ms']:6.2f}{mark}" if a and b else "      -"


def gbs(r):
    """Bytes over time in GB/s, '-' when unknown."""
    return f"{r['bytes'] / (r['ms'] * 1e6):5.0f} GB/s" if r and r.get("bytes") and r.get("ms") else "     - GB/s"


def sliced(r):
    """A peer result timed as several calls on slices of the batch."""
    return bool(r) and r.get("calls", 1) > 1


def peer_ratio(peer, ours):
    """ratio(), starred where the peer ran sliced (not judged)."""
    return ratio(peer, ours, "*" if sliced(peer) else "x")


def model_step(doc, rows, judge):
    """The whole-model decode step (bench/model/model_bench.cu): per shape,
    dense and every sparse attention's step, with the attention's share and
    the step's speed-up over dense; DESIGN.md's model-level target judged on
    each sparse row (out of reach when dense over our step's floor is
    already under 4x)."""
    res = index(doc)
    shapes = sorted({(k[2], k[3]) for k in res if k[0] == "model"}, key=lambda s: (s[1], s[0]))
    if not shapes:
        return
    print(f"model decode step, {doc.get('model', '?')}, {doc.get('layers', '?')} layers, random weights "
          "(bench/model, graph replays): ms, tokens/s, x floor, vs dense | all layers' attention alone: ms, share")
    for b, c in shapes:
        g = lambda name: res.get(("model", name, b, c))
        dense, rest = g("dense"), g("rest")
        names = ["dense"] + sorted({k[1] for k in res if k[0] == "model" and k[2] == b and k[3] == c and
                                    k[1] not in ("dense", "rest") and not k[1].startswith("attn:")})
        for name in names:
            step, attn = g(name), g("attn:" + name)
            if not step:
                continue
            share = f"{100 * attn['ms'] / step['ms']:3.0f}%" if attn else "   -"
            print(f"  {name:<10} B={b:<3} ctx={c:<6} {fmt(step)} ms {b / (step['ms'] * 1e-3):8.0f} tok/s {xfloor(step)} "
                  f"{ratio(dense, step)} vs dense | attn {fmt(attn)} {share}")
            rows.append(dict(algo="model:" + name, batch=b, context=c, step=step, attn=attn, dense=dense))
            if name != "dense" and dense:
                judge("model>=4x dense", dense["ms"] / step["ms"] >= 4.0, dense["ms"] / step["floor_ms"] < 4.0)
        if rest:
            print(f"  every layer but its attention: {fmt(rest)} ms {xfloor(rest)} (weights + logits)")


def main(argv):
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("step_json")
    p.add_argument("peers_json", nargs="?")
    p.add_argument("--mla", dest="mla_json")
    p.add_argument("--model", dest="model_json")
    p.add_argument("--json", dest="out_json")
    a = p.parse_args(argv)
    out_json = a.out_json
    step_doc = load(a.step_json)
    peer_doc = load(a.peers_json) if a.peers_json else None
    mla_doc = load(a.mla_json) if a.mla_json else None
    model_doc = load(a.model_json) if a.model_json else None
    # One floor for every number in the table: the faster of the two copy
    # measurements (the stricter floor; step_bench's graph-timed copy kernel
    # has come out 8-10% below torch's copy on the H200).
    docs = (step_doc, peer_doc, mla_doc, model_doc)
    copy = max((d or {}).get("copy_gbs", 0) for d in docs)
    for doc in docs:
        for r in (doc or {}).get("results", []):
            if copy and r.get("bytes") and r.get("ms"):
                r["floor_ms"] = r["bytes"] / (copy * 1e6)
                r["ratio_to_floor"] = r["ms"] / r["floor_ms"]
    ours, peers = index(step_doc), index(peer_doc)
    if step_doc:
        print(f"device: {step_doc.get('device')}; copy {step_doc.get('copy_gbs', 0):.0f} GB/s (step_bench), "
              f"{(peer_doc or {}).get('copy_gbs', 0):.0f} GB/s (peers, torch {(peer_doc or {}).get('torch', '-')}); "
              f"floors below at {copy:.0f} GB/s")
        if step_doc.get("flush_carveout", -1) >= 0:  # not the driver's choice: say so (step_util.h)
            print(f"step_bench timed with the L2 flush kernel's shared-memory carveout at {step_doc['flush_carveout']}%")
    algos = sorted({k[0] for k in ours if k[0] != "dense"})
    shapes = sorted({(k[2], k[3]) for k in ours} | {(k[2], k[3]) for k in peers}, key=lambda s: (s[1], s[0]))
    hdr = (f"{'algo':<10} {'B':>3} {'ctx':>6} | {'step ms':>8} {'floor':>5} {'vsDense':>7} {'vsSDPA':>7} {'idx%':>4} | "
           f"{'attn ms':>8} {'floor':>5} {'compact':>8} {'floor':>5} | {'flex ms':>8} {'floor':>5} {'attn/fx':>7} | "
           f"{'pipe ms':>8} {'step/pp':>7}")
    print(hdr)
    print("-" * len(hdr))
    rows, checks = [], {k: [] for k in ("attn<=1.15", "dense<=1.10", "index<=1.3", "index<=30%", "step<=1.25",
                                         "step>=6x/8x dense@32K/B32", "attn>=3x flex", "step>=10x pipeline",
                                         "attn>=3x flex (graph)", "step>=10x pipeline (graph)",
                                         "mla sparse<=1.2", "model>=4x dense")}
    # Misses that no kernel of ours could turn: the target fails even with
    # our op at its bytes floor (a peer faster than target x our floor; an
    # index whose bytes alone are over 30% of the step's).
    bound = {k: 0 for k in checks}

    def judge(name, ok, out_of_reach=False):
        checks[name].append(ok)
        bound[name] += (not ok) and out_of_reach

    def faster(name, peer, ours, need):
        judge(name, peer["ms"] / ours["ms"] >= need, peer["ms"] / ours["floor_ms"] < need)

    graphed = []  # (algo, b, c, attn, flex graph, step, pipeline graph)
    for algo in algos:
        for b, c in shapes:
            g = lambda name, src=ours, kind=algo: src.get((kind, name, b, c))
            step, idx, attn, comp = g("step"), g("index+topk"), g("attn"), g("attn-compact")
            if not step and not attn:
                continue
            dense = ours.get(("dense", "vortexrt", b, c))
            sdpa = peers.get(("peer", "sdpa-dense", b, c))
            flex = peers.get(("peer", f"flex-sparse[{algo}]", b, c))
            pipe = peers.get(("peer", "torch-pipeline", b, c)) if algo == "quest" else None
            share = f"{100 * idx['ms'] / step['ms']:4.0f}" if idx and step else "   -"
            print(f"{algo:<10} {b:>3} {c:>6} | {fmt(step)} {xfloor(step)} {ratio(dense, step)} {ratio(sdpa, step)} "
                  f"{share} | {fmt(attn)} {xfloor(attn)} {fmt(comp)} {xfloor(comp)} | {fmt(flex)} {xfloor(flex)} "
                  f"{peer_ratio(flex, attn)} | {fmt(pipe)} {peer_ratio(pipe, step)}")
            rows.append(dict(algo=algo, batch=b, context=c, step=step, index=idx, attn=attn, attn_compact=comp,
                             dense=dense, sdpa=sdpa, flex_sparse=flex, pipeline=pipe))
            if attn:
                judge("attn<=1.15", attn["ratio_to_floor"] <= 1.15)
            if dense:
                judge("dense<=1.10", dense["ratio_to_floor"] <= 1.10)
            if idx:
                judge("index<=1.3", idx["ratio_to_floor"] <= 1.3)
            if idx and step:
                judge("index<=30%", idx["ms"] <= 0.3 * step["ms"], idx["floor_ms"] > 0.3 * step["floor_ms"])
            if step:
                judge("step<=1.25", step["ratio_to_floor"] <= 1.25)
            if step and dense and c == 32768 and b == 32:
                need = 6.0 if algo == "quest" else 8.0
                judge("step>=6x/8x dense@32K/B32", dense["ms"] / step["ms"] >= need)
            if attn and flex and not sliced(flex):
                faster("attn>=3x flex", flex, attn, 3.0)
            if step and pipe and not sliced(pipe):
                faster("step>=10x pipeline", pipe, step, 10.0)
            flex_g = peers.get(("peer", f"flex-sparse-graph[{algo}]", b, c))
            pipe_g = peers.get(("peer", "torch-pipeline-graph", b, c)) if algo == "quest" else None
            if flex_g or pipe_g:
                graphed.append((algo, b, c, attn, flex_g, step, pipe_g))
                rows[-1].update(flex_sparse_graph=flex_g, pipeline_graph=pipe_g)
            if attn and flex_g and not sliced(flex_g):
                faster("attn>=3x flex (graph)", flex_g, attn, 3.0)
            if step and pipe_g and not sliced(pipe_g):
                faster("step>=10x pipeline (graph)", pipe_g, step, 10.0)
    if rows:
        # What the table's ratios are made of: each op's floor in ms (its
        # bytes at the copy rate above) and the bandwidth it reached; the
        # index + top-k ratio (a target) has no column above.
        print()
        print("bytes floors and bandwidth of the step, the index + top-k and the attention: ms, floor ms, x floor, GB/s (bytes / ms)")
        for r in rows:
            print(f"  {r['algo']:<10} B={r['batch']:<3} ctx={r['context']:<6} "
                  + " | ".join(f"{name} {fmt(op)} floor {fmt(op, 'floor_ms')} {xfloor(op)} {gbs(op)}"
                               for name, op in (("step", r["step"]), ("index", r["index"]), ("attn", r["attn"]))))
    if graphed:
        print()
        print("peers as CUDA-graph replays (ms, x floor; our attn / step over them):")
        for algo, b, c, attn, flex_g, step, pipe_g in graphed:
            print(f"  {algo:<10} B={b:<3} ctx={c:<6} flex {fmt(flex_g)} {xfloor(flex_g)} attn/fx "
                  f"{peer_ratio(flex_g, attn)} | pipe {fmt(pipe_g)} {xfloor(pipe_g)} step/pp {peer_ratio(pipe_g, step)}")
    print()
    print("dense (ms, x floor): vortexrt paged | torch SDPA contiguous | FlexAttention contiguous")
    for b, c in shapes:
        d = [ours.get(("dense", "vortexrt", b, c)), peers.get(("peer", "sdpa-dense", b, c)),
             peers.get(("peer", "flex-dense", b, c))]
        print(f"  B={b:<3} ctx={c:<6} " + " | ".join(f"{fmt(r)} {xfloor(r)}" for r in d))
    gathers = [(algo, b, c, ours.get((algo, "gather", b, c)), ours.get((algo, "attn", b, c)))
               for algo in algos for b, c in shapes]
    gathers = [g for g in gathers if g[3] and g[4]]
    if gathers:
        # The gap in microseconds as well as the ratio: one that stays put
        # across batches is a per-launch cost (start-up, epilogue), one that
        # grows with the bytes is the loop's (run 89).
        print(f"calibration (calib.cuh; empty kernel {step_doc.get('empty_kernel_ms', 0):.4f} ms): the selected K/V "
              "read with no math (ms, x floor) vs the attention (ratio, gap in us)")
        for algo, b, c, gth, attn in gathers:
            print(f"  {algo:<10} B={b:<3} ctx={c:<6} gather {fmt(gth)} {xfloor(gth)} | attn {fmt(attn)} {xfloor(attn)}"
                  f" = {attn['ms'] / gth['ms']:.2f}x gather, {(attn['ms'] - gth['ms']) * 1e3:+.1f} us")
    part = sorted({(k[0], k[2], k[3]) for k in ours if k[1].startswith("gather@")}, key=lambda s: (s[0], s[2], s[1]))
    if part:
        # step_bench --gather-sms: could half the SMs stream a row while the
        # other half of each runs another row's top-k? (docs/performance.md)
        print("the same gather from only N SMs, one 512-thread block each (ms, x floor, GB/s):")
        for algo, b, c in part:
            got = sorted(((int(k[1].split("@")[1]), r) for k, r in ours.items()
                          if k[0] == algo and k[2] == b and k[3] == c and k[1].startswith("gather@")), reverse=True)
            print(f"  {algo:<10} B={b:<3} ctx={c:<6} "
                  + " | ".join(f"{n:3d} SMs {fmt(r)} {xfloor(r)} {gbs(r)}" for n, r in got))
    mla = index(mla_doc)
    mla_shapes = sorted({(k[0], k[2], k[3]) for k in mla if k[0].startswith("mla")}, key=lambda s: (s[0], s[2], s[1]))
    if mla_shapes:
        print("MLA decode, libvortexrt (vortex-bench --mla-only, graph replays; mla = GLM-4.7-Flash 20 heads, "
              "mla128 = DeepSeek-V3 128 heads; 512+64 latent, page 64, 2048 selected tokens)")
        for kind, b, c in mla_shapes:
            dense, sparse = mla.get((kind, "dense/graph", b, c)), mla.get((kind, "sparse-attn/graph", b, c))
            print(f"  {kind:<6} B={b:<3} ctx={c:<6} dense {fmt(dense)} {xfloor(dense)} | sparse {fmt(sparse)} "
                  f"{xfloor(sparse)} | sparse vs dense {ratio(dense, sparse)}")
            rows.append(dict(algo=kind, batch=b, context=c, mla_dense=dense, mla_sparse=sparse))
            if sparse and kind == "mla":
                judge("mla sparse<=1.2", sparse["ratio_to_floor"] <= 1.2)
    model_step(model_doc, rows, judge)
    print("targets (issue 5; model>=4x dense is DESIGN.md's):")
    for k, v in checks.items():
        state = "no data" if not v else ("ok" if all(v) else f"MISS at {v.count(False)} of {len(v)} shapes")
        if bound[k]:
            state += f" ({bound[k]} out of reach: missed even at our bytes floor)"
        print(f"  {k:<28} {state}")
    split = sorted({(r["batch"], r["context"], r["calls"]) for r in (peer_doc or {}).get("results", [])
                    if sliced(r)}, key=lambda s: (s[1], s[0]))
    if split:
        print("  * FlexAttention (flex ms, pipe ms, flex dense) ran as several calls on slices of the batch (torch "
              "cannot compile one over 2^31 K elements): " + ", ".join(f"B{b} x {c}: {n}" for b, c, n in split) +
              "; each call costs >= ~0.21 ms of GPU time on an H100 (runs 79, 82), so those"
              " ratios favour us and are not judged above")
    errors = [r for d in docs for r in (d or {}).get("results", []) if "error" in r]
    for r in errors:
        print(f"  peer error: {r['name']} B={r['batch']} ctx={r['context']}: {' '.join(r['error'].split())[:120]}")
    if step_doc and step_doc.get("check_failures"):
        print(f"  step_bench: {step_doc['check_failures']} shape/algorithm checks FAILED (see step.log)")
    if model_doc and model_doc.get("check_failures"):
        print("  model_bench: checks FAILED (see model.log)")
    if out_json:
        with open(out_json, "w") as f:
            json.dump(dict(rows=rows, targets={k: v for k, v in checks.items()}, out_of_reach=bound), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

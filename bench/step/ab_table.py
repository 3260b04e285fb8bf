"""ab_table.py OUT ROUNDS "a b [c]" TITLE: the side-by-side table of
bench/step/ab.sh from its ab_<variant>_<round>.json files. A run that
crashed keeps its whole records (the array is closed here); a variant
without a value for a row prints "-"."""
import collections
import os
import sys

from report import load as load_doc  # bench/step/report.py: closes a crashed run's array


def load(out, variants, rounds):
    ms = collections.OrderedDict()
    for v in variants:
        for i in range(1, rounds + 1):
            doc = load_doc(os.path.join(out, f"ab_{v}_{i}.json"), quiet=True)
            recs = doc.get("results") if isinstance(doc, dict) else None
            if recs is None:
                continue
            for r in recs:
                key = (r["kind"], r["name"], r["batch"], r["context"])
                ms.setdefault(key, {x: [] for x in variants})[v].append(r["ms"])
    return ms


def table(ms, variants, title):
    lines = [f"{title}; ms per run"]
    head = f"{'algo':<11} {'op':<13} {'B':>3} {'ctx':>7}"
    for v in variants:
        head += f" | {v.upper() + ' runs':<17}"
    for v in variants[1:]:
        head += f" | {v.upper()}/A (min)"
    lines.append(head)
    for (algo, op, b, c), d in ms.items():
        row = f"{algo:<11} {op:<13} {b:>3} {c:>7}"
        for v in variants:
            row += f" | {' '.join(f'{x:.4f}' for x in d[v]):<17}"
        for v in variants[1:]:
            ratio = f"{min(d[v]) / min(d['a']):.3f}" if d["a"] and d[v] else "-"
            row += f" | {ratio:<9}"
        lines.append(row.rstrip())
    return "\n".join(lines)


def main(argv):
    out, rounds, variants, title = argv[1], int(argv[2]), argv[3].split(), argv[4]
    print(table(load(out, variants, rounds), variants, title))


if __name__ == "__main__":
    main(sys.argv)

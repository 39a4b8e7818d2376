"""Alignment in the Rust core against a plain-Python baseline, side by side.

Run with ``make bench`` (or ``.venv/bin/python benches/bench_core.py``). Prints a Markdown
table; paste it into benches/README.md with the machine and versions it prints.

Case: alignment of entity strings to spans (left-to-right, non-overlapping) of CLUENER dev
replicated to ~1M entity strings: ``nerlm._native.align_left_to_right`` vs a plain-Python
``str.find`` aligner with the same policy (results must be identical).

Scoring is measured against seqeval, nervaluate and plain Python in ``benches/bench_score.py``,
decoding tables against their peers in ``benches/bench_tables.py``.
"""

from __future__ import annotations

import platform
import sys

import numpy as np
from common import SHARED, timed

import nerlm


def python_align(text: str, items: list[tuple[str, int]]) -> list[tuple[int, int, int]]:
    claimed: list[tuple[int, int, int]] = []
    out = []
    for s, g in items:
        first = -1
        found = -1
        i = text.find(s) if s else -1
        while i >= 0:
            if first < 0:
                first = i
            if all(not (cg == g and i < ce and cs < i + len(s)) for cg, cs, ce in claimed):
                found = i
                break
            i = text.find(s, i + 1)
        if found >= 0:
            claimed.append((g, found, found + len(s)))
            out.append((found, found + len(s), 0))
        elif first >= 0:
            out.append((first, first + len(s), 1))
        else:
            out.append((0, 0, 2))
    return out


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json", split="dev")
    reps = 1_000_000 // sum(len(d.entities) for d in dev) + 1

    # Alignment: each gold surface of dev, repeated to 1M items, in document order.
    docs = [(d.text, [(e.text, 0) for e in d.entities]) for d in dev] * reps
    n_items = sum(len(i) for _, i in docs)
    t_py, ref_al = timed(lambda: [python_align(t, i) for t, i in docs], 1)
    doc_texts = [t for t, _ in docs]
    doc_items = [i for _, i in docs]
    t_rs, got = timed(lambda: nerlm._native.align_left_to_right(doc_texts, doc_items), 3)
    assert got == ref_al
    rows.append(
        (
            f"alignment, {n_items:,} entity strings",
            f"{t_py:.3f} s",
            f"{t_rs:.3f} s",
            f"{t_py / t_rs:.1f}x",
        )
    )

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, nerlm {nerlm.__version__}")
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, {platform.platform()}")
    print()
    print("| case | plain Python | nerlm | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()

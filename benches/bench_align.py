"""Alignment in the Rust core against plain-Python ``str.find`` aligners, side by side.

Run with ``make bench`` (or ``.venv/bin/python benches/bench_align.py``). Prints a Markdown
table; paste it into benches/README.md with the machine and versions it prints.

Case: every gold surface of CLUENER dev placed back in its sentence, the dev set replicated
to about 1,000,000 entity strings, in model order (CLUENER's label order, so positions jump
back and forth within a sentence). For each occurrence policy a plain-Python aligner with the
same policy (``str.find``, written without generators in the loop) runs side by side with
``nerlm.align_spans`` (columns in: texts, surfaces, document index; numpy columns out) and
with ``nerlm.align_batch`` (nested lists of ``(surface, group)`` in, ``Placement`` lists out).
Results must be identical (asserted). Every timing is the best of five calls, each
started from the same heap (previous result freed, a full collection first); plain Python
is timed with the cyclic garbage collector on (as programs run) and off (as ``timeit``
times), since the million result tuples make collections a large, history-dependent part of
its time. A second case perturbs every surface (upper case, a
trailing space) and runs the lenient stages (NFKC + case + whitespace removal, fuzzy 0.8);
plain Python has no equivalent in the standard library, so it is timed alone.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from common import SHARED

import nerlm
from nerlm.align import AlignOptions, align_batch, align_spans

Items = list[tuple[str, int]]
Row = tuple[int, int, int]


def py_first(text: str, items: Items) -> list[Row]:
    out = []
    for s, _ in items:
        i = text.find(s) if s else -1
        out.append((i, i + len(s), 0) if i >= 0 else (0, 0, 2))
    return out


def py_left_to_right(text: str, items: Items) -> list[Row]:
    claimed: dict[int, list[tuple[int, int]]] = {}
    out: list[Row] = []
    for s, g in items:
        i = text.find(s) if s else -1
        if i < 0:
            out.append((0, 0, 2))
            continue
        n, first = len(s), i
        spans = claimed.setdefault(g, [])
        while i >= 0:
            for a, b in spans:
                if i < b and a < i + n:
                    break
            else:
                spans.append((i, i + n))
                out.append((i, i + n, 0))
                break
            i = text.find(s, i + 1)
        else:
            out.append((first, first + n, 1))
    return out


def py_nearest_after(text: str, items: Items) -> list[Row]:
    cursor = 0
    out: list[Row] = []
    for s, _ in items:
        i = text.find(s, cursor) if s else -1
        if i < 0 and s:
            i = text.rfind(s, 0, cursor + len(s) - 1)  # last occurrence starting before cursor
        if i < 0:
            out.append((0, 0, 2))
            continue
        cursor = i + len(s)
        out.append((i, cursor, 0))
    return out


def py_all(text: str, items: Items) -> list[Row]:
    out: list[Row] = []
    for s, _ in items:
        i = text.find(s) if s else -1
        if i < 0:
            out.append((0, 0, 2))
        while i >= 0:
            out.append((i, i + len(s), 0))
            i = text.find(s, i + len(s))
    return out


def timed_fresh(fn: Callable[[], Any], repeat: int = 5, collect: bool = True) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, each from the same heap: the previous result freed
    and a full collection run first. ``collect=False`` times with the cyclic garbage collector
    off, as ``timeit`` does."""
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None
        gc.collect()
        if not collect:
            gc.disable()
        try:
            t = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t)
        finally:
            gc.enable()
    return best, out


PY = {
    "first": py_first,
    "left-to-right": py_left_to_right,
    "nearest-after": py_nearest_after,
    "all": py_all,
}


def main() -> None:
    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json", split="dev")
    per_rep = sum(len(d.entities) for d in dev)
    reps = 1_000_000 // per_rep + 1
    # Model order: label by label, as CLUENER's files and iepile-json outputs list them.
    base = []
    for d in dev:
        by_label: dict[str, list[str]] = {}
        for e in d.entities:
            by_label.setdefault(e.label, []).append(e.text)
        base.append((d.text, [(s, 0) for ss in by_label.values() for s in ss]))
    docs = base * reps
    texts = [t for t, _ in docs]
    items = [i for _, i in docs]
    surfaces = [s for its in items for s, _ in its]
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), [len(i) for i in items])
    n = len(surfaces)

    rows = []
    for policy, fn in PY.items():
        run_py = lambda fn=fn: [fn(t, i) for t, i in docs]  # noqa: E731
        t_py, ref = timed_fresh(run_py)
        t_py_nogc, _ = timed_fresh(run_py, collect=False)
        opts = AlignOptions(policy)  # type: ignore[arg-type]
        t_cols, got = timed_fresh(lambda opts=opts: align_spans(texts, surfaces, doc, options=opts))
        flat = [r for d in ref for r in d]
        assert got.start.tolist() == [r[0] for r in flat], policy
        assert got.end.tolist() == [r[1] for r in flat], policy
        assert got.status.tolist() == [r[2] for r in flat], policy
        t_nested, nested = timed_fresh(lambda opts=opts: align_batch(texts, items, opts), 1)
        codes = {st: k for k, st in enumerate(got.STATUSES)}
        assert [(p.start, p.end, codes[p.status]) for d in nested for p in d] == flat, policy
        rows.append(
            (
                policy,
                f"{n:,}",
                f"{t_py:.3f}",
                f"{t_py_nogc:.3f}",
                f"{t_cols:.3f}",
                f"{t_py / t_cols:.1f}x",
                f"{t_py_nogc / t_cols:.1f}x",
                f"{n / t_cols / 1e6:.1f}",
                f"{t_nested:.3f}",
                f"{t_py / t_nested:.1f}x",
            )
        )
        # Every policy starts from the same heap.
        del ref, got, nested, flat
    noisy = [s.upper() + " " for s in surfaces]
    t_len, got = timed_fresh(
        lambda: align_spans(texts, noisy, doc, options=AlignOptions.lenient()), 1
    )
    statuses = np.bincount(got.status, minlength=5)
    lenient = ", ".join(
        f"{st.value} {c:,}" for st, c in zip(got.STATUSES, statuses.tolist(), strict=True) if c
    )

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, nerlm {nerlm.__version__}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print()
    print(
        "| policy | entity strings | plain Python s | plain Python s, GC off | nerlm columns s "
        "| ratio | ratio, GC off | M ent/s | nerlm nested lists s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print(
        f"lenient stages on {n:,} perturbed surfaces: {t_len:.3f} s "
        f"({n / t_len / 1e6:.2f} M ent/s); statuses: {lenient}"
    )


if __name__ == "__main__":
    main()

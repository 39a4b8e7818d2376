"""Scoring throughput: nerlm against seqeval 1.2.2, nervaluate 1.2.1 and a plain-Python
set-based scorer, side by side in one run.

Data: CLUENER dev (1,343 sentences) replicated to ``--sentences`` (default 1,000,000) with
seeded noisy predictions (boundary shifts, label swaps, deletions, insertions, duplicates).
Every scorer receives the same spans: the predictions are written as BIO character tags
(spans that would overlap an earlier one are dropped) and decoded back, so that seqeval's tag
input and the span scorers' input describe the same entities. The results are cross-checked:
seqeval's micro F1 equals nerlm's strict micro F1 (set policy), nervaluate's four modes equal
``nerlm.compat.nervaluate``, the plain-Python scorer's TP/FP/FN equal nerlm's strict counts.

seqeval and nervaluate are run on the first ``--peer-sentences`` (default 100,000) sentences
(they need minutes for a million); throughput is entities per second, ratios compare
throughput. nerlm is timed (best of 3) on the numpy-column fast path (all four match modes and
the per-label breakdown in one call, both cores) and end to end from ``Example`` objects.

Run: ``.venv/bin/python benches/bench_score.py`` (``make bench``).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
from typing import Any

import numpy as np
from common import SHARED, timed

import nerlm
from nerlm import compat


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def noisy(spans: list[tuple[str, int, int]], n: int, labels: list[str], rng: random.Random
          ) -> list[tuple[str, int, int]]:  # fmt: skip
    out = []
    for lab0, s0, e0 in spans:
        lab, s, e = lab0, s0, e0
        x = rng.random()
        if x < 0.1:
            continue
        if x < 0.25:
            s = max(0, min(s + rng.choice((-1, 1)), e - 1))
        elif x < 0.4:
            e = min(n, max(e + rng.choice((-1, 1)), s + 1))
        elif x < 0.5:
            lab = rng.choice(labels)
        out.append((lab, s, e))
        if rng.random() < 0.03:
            out.append((lab, s, e))
    if n > 1 and rng.random() < 0.2:
        s = rng.randrange(n - 1)
        out.append((rng.choice(labels), s, min(n, s + rng.randint(1, 4))))
    return out


def to_tags(spans: list[tuple[str, int, int]], n: int) -> list[str]:
    tags = ["O"] * n
    for lab, s, e in sorted(spans, key=lambda x: (x[1], x[2])):
        if all(t == "O" for t in tags[s:e]):
            tags[s] = "B-" + lab
            for i in range(s + 1, e):
                tags[i] = "I-" + lab
    return tags


def from_tags(tags: list[str]) -> list[tuple[str, int, int]]:
    out, start, lab = [], -1, ""
    for i, t in enumerate([*tags, "O"]):
        if start >= 0 and (t == "O" or t[0] == "B" or t[2:] != lab):
            out.append((lab, start, i))
            start = -1
        if t != "O" and start < 0:
            start, lab = i, t[2:]
    return out


def python_score(gold: list[list[tuple[str, int, int]]], pred: list[list[tuple[str, int, int]]]
                 ) -> tuple[int, int, int]:  # fmt: skip
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    return tp, fp, fn


def columns(docs: list[list[tuple[str, int, int]]], ids: dict[str, int]) -> list[np.ndarray]:
    counts = [len(d) for d in docs]
    flat = [x for d in docs for x in d]
    n = len(flat)
    return [
        np.repeat(np.arange(len(docs), dtype=np.int64), counts),
        np.fromiter((ids[x[0]] for x in flat), np.int64, n),
        np.fromiter((x[1] for x in flat), np.int64, n),
        np.fromiter((x[2] for x in flat), np.int64, n),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--peer-sentences", type=int, default=100_000)
    args = ap.parse_args()

    import nervaluate
    import seqeval
    from seqeval.metrics import f1_score

    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json", split="dev")
    labels = list(nerlm.CLUENER_LABELS)
    ids = {lab: i for i, lab in enumerate(labels)}
    rng = random.Random(0)
    texts, gold, pred, gtags, ptags = [], [], [], [], []
    base = [(d.text, to_tags([(e.label, e.start, e.end) for e in d.entities], len(d.text)))
            for d in dev]  # fmt: skip
    for i in range(args.sentences):
        text, gt = base[i % len(base)]
        g = from_tags(gt)
        pt = to_tags(noisy(g, len(text), labels, rng), len(text))
        texts.append(text)
        gold.append(g)
        pred.append(from_tags(pt))
        if i < args.peer_sentences:
            gtags.append(gt)
            ptags.append(pt)
    n_gold = sum(len(g) for g in gold)
    n_pred = sum(len(p) for p in pred)
    m = min(args.peer_sentences, args.sentences)
    n_gold_peer = sum(len(g) for g in gold[:m])
    n_all_peer = n_gold_peer + sum(len(p) for p in pred[:m])
    n_all = n_gold + n_pred
    print(f"{args.sentences:,} sentences: {n_gold:,} gold and {n_pred:,} predicted entities; "
          f"peers on the first {m:,} ({n_all_peer:,} entities)", file=sys.stderr)  # fmt: skip

    rows: list[tuple[str, str, str, str]] = []

    # nerlm fast path: numpy columns, four modes + per label in one call.
    gc, pc = columns(gold, ids), columns(pred, ids)
    rss0 = rss_mb()

    def kernel(gc: list[np.ndarray], pc: list[np.ndarray], n_docs: int) -> dict[str, Any]:
        return nerlm._native.score_spans(*gc, *pc, n_docs, len(labels))

    t_k, res = timed(lambda: kernel(gc, pc, args.sentences))
    rss_k = rss_mb() - rss0
    k_strict = res["overall"][0]
    cores = os.cpu_count()

    # Plain Python, full data.
    t_py, (tp, fp, fn) = timed(lambda: python_score(gold, pred), 1)
    assert (int(k_strict[0]), int(k_strict[1] + k_strict[4]), int(k_strict[1] + k_strict[3])) == (
        tp, fp, fn,
    ), (k_strict, tp, fp, fn)  # fmt: skip

    # nerlm end to end from Examples (the Python objects cost more than the kernel).
    gold_ex = [nerlm.Example(str(i), texts[i], [nerlm.Entity(s, e, lab, texts[i][s:e])
               for lab, s, e in g]) for i, g in enumerate(gold)]  # fmt: skip
    pred_ex = [nerlm.Example(str(i), texts[i], [nerlm.Entity(s, e, lab, texts[i][s:e])
               for lab, s, e in p]) for i, p in enumerate(pred)]  # fmt: skip
    t_e2e, r_e2e = timed(lambda: nerlm.score(gold_ex, pred_ex, labels=labels), 3)
    assert (r_e2e.micro.tp, r_e2e.micro.fp, r_e2e.micro.fn) == (tp, fp, fn)

    def python_objects() -> tuple[int, int, int]:
        tp = fp = fn = 0
        for g, p in zip(gold_ex, pred_ex, strict=True):
            gs = {(e.label, e.start, e.end) for e in g.entities}
            ps = {(e.label, e.start, e.end) for e in p.entities}
            tp += len(gs & ps)
            fp += len(ps - gs)
            fn += len(gs - ps)
        return tp, fp, fn

    t_pyo, counts_o = timed(python_objects, 1)
    assert counts_o == (tp, fp, fn)

    # Peers on the subset, and nerlm on the same subset.
    gcs, pcs = columns(gold[:m], ids), columns(pred[:m], ids)
    t_ks, res_s = timed(lambda: kernel(gcs, pcs, m))
    t_seq, f_seq = timed(lambda: f1_score(gtags, ptags), 1)
    s = res_s["overall"][0]
    ours = 2 * s[0] / (2 * s[0] + s[1] + s[4] + s[1] + s[3])
    assert abs(f_seq - ours) < 1e-12, (f_seq, ours)

    def dicts(docs: list[list[tuple[str, int, int]]]) -> list[list[dict[str, Any]]]:
        return [[{"label": lab, "start": a, "end": b - 1} for lab, a, b in d] for d in docs]

    gd, pd = dicts(gold[:m]), dicts(pred[:m])
    t_nv, nv = timed(lambda: nervaluate.Evaluator(gd, pd, tags=labels).evaluate(), 1)
    t_nvc, nvc = timed(lambda: compat.nervaluate(gd, pd, labels))
    for mode, v in nv["overall"].items():
        assert nvc["overall"][mode]["correct"] == v.correct
        assert abs(nvc["overall"][mode]["f1"] - v.f1) < 1e-12

    def rate(n: int, t: float) -> str:
        return f"{t:.3f} s ({n / t / 1e6:.2f} M ent/s)"

    rows.append((
        f"seqeval {seqeval.__version__ if hasattr(seqeval, '__version__') else '1.2.2'} "
        f"f1_score (default mode), {m:,} sentences",
        rate(n_all_peer, t_seq), rate(n_all_peer, t_ks), f"{t_seq / t_ks:,.0f}x",
    ))  # fmt: skip
    rows.append((
        f"nervaluate 1.2.1 Evaluator.evaluate (4 modes + per label), {m:,} sentences",
        rate(n_all_peer, t_nv), rate(n_all_peer, t_ks), f"{t_nv / t_ks:,.0f}x",
    ))  # fmt: skip
    rows.append((
        f"nerlm.compat.nervaluate on nervaluate's dict input, {m:,} sentences",
        rate(n_all_peer, t_nv), rate(n_all_peer, t_nvc), f"{t_nv / t_nvc:,.0f}x",
    ))  # fmt: skip
    rows.append((
        f"plain-Python set scorer (strict only) on prebuilt tuples, {args.sentences:,} "
        f"sentences",
        rate(n_all, t_py), rate(n_all, t_k), f"{t_py / t_k:,.0f}x",
    ))  # fmt: skip
    rows.append((
        f"nerlm.score end to end from Example objects (4 modes, per label, length buckets, "
        f"error taxonomy) vs plain-Python set scorer on the same objects, "
        f"{args.sentences:,} sentences",
        rate(n_all, t_pyo), rate(n_all, t_e2e), f"{t_pyo / t_e2e:.1f}x",
    ))  # fmt: skip
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, nerlm {nerlm.__version__}, "
          f"seqeval 1.2.2, nervaluate 1.2.1; {cores} cores; {platform.platform()}")  # fmt: skip
    print()
    print("| case | peer | nerlm (numpy columns: 4 modes + per label, one call) | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print(f"nerlm kernel: {n_all / t_k / 1e6:.1f} M entities/s (gold + predicted) on "
          f"{args.sentences:,} sentences; {n_all_peer / t_ks / 1e6:.1f} M/s on {m:,}; resident "
          f"memory +{rss_k:.0f} MB during the call ({rss_k * 2**20 / n_all:.0f} bytes/entity); "
          f"peak RSS {peak_mb():.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()

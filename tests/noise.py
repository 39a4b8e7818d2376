"""Seeded noise over gold spans, shared by the differential tests and benches/bench_tags.py
(which imports it from here so both score the same kind of predictions)."""

from __future__ import annotations

import random
from collections.abc import Sequence


def noisy_spans(
    gold: list[list[tuple[str, int, int]]], lengths: Sequence[int], rng: random.Random
) -> list[list[tuple[str, int, int]]]:
    """Deletions, label swaps, boundary shifts and insertions, kept non-overlapping."""
    types = sorted({t for s in gold for t, _, _ in s}) or ["X"]
    out = []
    for spans, n in zip(gold, lengths, strict=True):
        cand = []
        for t0, a0, b0 in spans:
            t, a, b = t0, a0, b0
            r = rng.random()
            if r < 0.08:
                continue
            if r < 0.16:
                t = rng.choice(types)
            elif r < 0.30:
                a = min(max(0, a0 + rng.choice((-1, 1))), b0 - 1)
                b = max(min(n, b0 + rng.choice((-1, 0, 1))), a + 1)
            cand.append((t, a, b))
        if n and rng.random() < 0.3:
            a = rng.randrange(n)
            cand.append((rng.choice(types), a, min(n, a + rng.randint(1, 3))))
        kept: list[tuple[str, int, int]] = []
        for t, a, b in sorted(cand, key=lambda x: (x[1], x[2])):
            if not kept or kept[-1][2] <= a:
                kept.append((t, a, b))
        out.append(kept)
    return out

"""Alignment against a pure-Python oracle of the same policy."""

from __future__ import annotations

import random

import nerlm
from nerlm import AlignStatus


def oracle(text: str, items: list[tuple[str, int]]) -> list[tuple[int, int, AlignStatus]]:
    """Leftmost occurrence overlapping no span already placed in the same group."""
    claimed: list[tuple[int, int, int]] = []
    out = []
    for s, g in items:
        occ = [i for i in range(len(text)) if s and text.startswith(s, i)]
        free = [
            i
            for i in occ
            if all(not (gg == g and i < e and b < i + len(s)) for gg, b, e in claimed)
        ]
        if free:
            claimed.append((g, free[0], free[0] + len(s)))
            out.append((free[0], free[0] + len(s), AlignStatus.EXACT))
        elif occ:
            out.append((occ[0], occ[0] + len(s), AlignStatus.DUPLICATE))
        else:
            out.append((0, 0, AlignStatus.UNGROUNDED))
    return out


def test_matches_oracle_on_random_documents() -> None:
    rng = random.Random(7)
    alphabet = "ab北京龘😀"
    texts, items = [], []
    for _ in range(500):
        t = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        its = []
        for _ in range(rng.randint(0, 6)):
            if t and rng.random() < 0.8:
                i = rng.randrange(len(t))
                its.append((t[i : i + rng.randint(1, 4)], rng.randint(0, 1)))
            else:
                its.append(("".join(rng.choice(alphabet) for _ in range(3)), 0))
        texts.append(t)
        items.append(its)
    got = nerlm.align_batch(texts, items)
    assert got == [oracle(t, i) for t, i in zip(texts, items, strict=True)]


def test_code_point_offsets() -> None:
    assert nerlm.align("😀北京", [("北京", 0)]) == [(1, 3, AlignStatus.EXACT)]

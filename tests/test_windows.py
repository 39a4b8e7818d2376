"""Windows of long documents in model tokens, and entities merged back to document offsets."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nerlm
from nerlm.data.model import Entity
from nerlm.windows import DocumentTooLongError, merge_windows, plan_windows

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="module")
def qwen() -> object:
    tokenizers = pytest.importorskip("tokenizers")
    return tokenizers.Tokenizer.from_file(str(SHARED / "tokenizers" / "qwen2.5" / "tokenizer.json"))


def offsets(tok: object, text: str) -> np.ndarray:
    enc = tok.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
    return np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)


@pytest.fixture(scope="module")
def long_doc() -> tuple[str, list[Entity]]:
    """The first 60 CLUENER dev sentences as one document (gold spans shifted)."""
    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json", split="dev")[:60]
    text, ents = "", []
    for ex in dev:
        ents += [
            Entity(e.start + len(text), e.end + len(text), e.label, e.text) for e in ex.entities
        ]
        text += ex.text + "\n"
    return text, sorted(ents)


def test_entities_beyond_the_first_window_come_back_at_document_offsets(
    qwen: object, long_doc: tuple[str, list[Entity]]
) -> None:
    text, gold = long_doc
    plan = plan_windows(text, offsets=offsets(qwen, text), max_tokens=96, stride=24)
    assert len(plan.windows) > 10 and not plan.truncated
    found, cut = [], 0
    for w in plan.windows:
        local = []
        for e in gold:
            s, t = e.start - w.char_start, e.end - w.char_start
            if s >= 0 and t <= len(w.text):
                local.append(Entity(s, t, e.label, w.text[s:t]))
            elif 0 <= s < len(w.text) < t:  # cut by the window's right edge
                local.append(Entity(s, len(w.text), e.label, w.text[s:]))
                cut += 1
        found.append(local)
    merged = merge_windows(text, plan.windows, found)
    assert merged.entities == gold
    assert merged.dropped == cut > 0
    assert merged.duplicates > 0
    assert all(text[e.start : e.end] == e.text for e in merged.entities)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet="北京ab 龘😀。\n", min_size=0, max_size=120),
    max_tokens=st.integers(4, 12),
    stride=st.integers(0, 11),
)
def test_windows_cover_the_text_within_the_token_budget(
    qwen: object, text: str, max_tokens: int, stride: int
) -> None:
    if stride >= max_tokens:
        with pytest.raises(nerlm.ShapeError):
            plan_windows(text, offsets=offsets(qwen, text), max_tokens=max_tokens, stride=stride)
        return
    off = offsets(qwen, text)
    ws = plan_windows(text, offsets=off, max_tokens=max_tokens, stride=stride).windows
    assert ws[0].char_start == 0 and ws[-1].char_end == len(text)
    for a, b in itertools.pairwise(ws):
        assert b.char_start <= a.char_end  # no gap
        assert a.tok_start < b.tok_start and a.tok_end <= b.tok_end
        assert b.tok_start >= a.tok_end - stride or b.tok_start == a.tok_start + 1
    for w in ws:
        assert 0 < w.tok_end - w.tok_start <= max_tokens or len(off) == 0
        assert w.text == text[w.char_start : w.char_end]
        # A cut never splits the tokens of one character.
        if w.tok_start > 0:
            assert off[w.tok_start][0] >= off[w.tok_start - 1][1]
    assert ws[-1].tok_end == len(off)
    if not text:
        assert [(w.char_start, w.char_end) for w in ws] == [(0, 0)]


def test_overflow_policies(qwen: object) -> None:
    text = "浙商银行企业信贷部叶老桂博士则从另一个角度对五道门槛进行了解读。" * 4
    off = offsets(qwen, text)
    with pytest.raises(DocumentTooLongError, match=r"'doc-7' has \d+ tokens"):
        plan_windows(text, offsets=off, max_tokens=16, on_overflow="error", doc_id="doc-7")
    t = plan_windows(text, offsets=off, max_tokens=16, on_overflow="truncate")
    assert t.truncated and len(t.windows) == 1 and t.n_tokens == len(off)
    short = plan_windows(text, offsets=off, max_tokens=len(off), on_overflow="error")
    assert len(short.windows) == 1 and short.windows[0].text == text
    with pytest.raises(ValueError, match="exactly one"):
        plan_windows(text, max_tokens=8)


def test_merge_keeps_ungrounded_and_checks_spans() -> None:
    from nerlm.formats.base import ParsedEntity

    text = "甲乙丙丁戊己"
    ws = plan_windows(text, offsets=[[i, i + 1] for i in range(6)], max_tokens=4, stride=2).windows
    lost = ParsedEntity("name", "庚", -1, -1, nerlm.AlignStatus.UNGROUNDED)
    m = merge_windows(text, ws, [[lost], []])
    assert m.entities == [] and m.ungrounded == [(0, lost)]
    with pytest.raises(ValueError, match="outside the window"):
        merge_windows(text, ws, [[Entity(0, 9, "x", "")], []])

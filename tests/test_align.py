"""Alignment, offset units, token spans and windows against pure-Python oracles."""

from __future__ import annotations

import gc
import random
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nerlm
from nerlm import AlignOptions, AlignStatus
from nerlm.align import align_spans, char_to_token_spans, convert_offsets, token_to_char_spans

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


# ----------------------------------------------------------------------------- oracle


def o_normalize(text: str, o: AlignOptions) -> tuple[str, list[tuple[int, int]]]:
    """Segments (a starter and its combining marks) normalised one by one."""
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    in_space = False
    i = 0
    while i < len(text):
        j = i + 1
        if o.nfkc:
            while j < len(text) and unicodedata.combining(text[j]):
                j += 1
        seg = text[i:j]
        for c0 in unicodedata.normalize("NFKC", seg) if o.nfkc else seg:
            c = c0
            if o.width and 0xFF01 <= ord(c) <= 0xFF5E:
                c = chr(ord(c) - 0xFEE0)
            elif o.width and c == "\u3000":
                c = " "
            if c.isspace() and o.whitespace != "keep":
                if o.whitespace == "remove":
                    continue
                if in_space:
                    origin[-1] = (origin[-1][0], j)
                    continue
                in_space = True
                out.append(" ")
                origin.append((i, j))
                continue
            in_space = False
            for low in c.lower() if o.case else c:
                out.append(low)
                origin.append((i, j))
        i = j
    return "".join(out), origin


def o_to_original(origin: list[tuple[int, int]], s: int, e: int) -> tuple[int, int] | None:
    if s >= e:
        return None
    if s > 0 and origin[s - 1] == origin[s]:
        return None
    if e < len(origin) and origin[e] == origin[e - 1]:
        return None
    return origin[s][0], origin[e - 1][1]


def lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j - 1] + (ca != cb), prev[j] + 1, cur[j - 1] + 1))
        prev = cur
    return prev[-1]


def o_fuzzy(hay: str, pat: str) -> tuple[int, int, float] | None:
    """Brute force over every substring."""
    m = len(pat)
    if not m or not hay:
        return None
    cands = [(lev(pat, hay[s:e]), s, e) for e in range(1, len(hay) + 1) for s in range(e)]
    d = min(c[0] for c in cands)
    if d >= m:
        return None
    best = None
    for dd, s, e in sorted(cands, key=lambda c: (c[2], -c[1])):
        if dd != d:
            continue
        score = 1.0 - d / max(m, e - s)
        key = (score, -abs(e - s - m))
        if best is None or key > best[0]:
            best = (key, s, e, score)
    assert best is not None
    return best[1], best[2], best[3]


def oracle(
    text: str, items: list[tuple[str, int]], o: AlignOptions
) -> list[tuple[int, int, int, AlignStatus, float]]:
    """(item, start, end, status, score) rows, as the module docs define them."""
    norm_on = o.nfkc or o.width or o.case or o.whitespace != "keep"
    ntext, origin = o_normalize(text, o) if norm_on else (text, [])
    claimed: list[tuple[int, int, int]] = []
    cursor = 0
    out: list[tuple[int, int, int, AlignStatus, float]] = []
    for k, (s, g) in enumerate(items):
        if not s:
            out.append((k, 0, 0, AlignStatus.UNGROUNDED, 0.0))
            continue
        done = False
        stages = [(AlignStatus.EXACT, True), (AlignStatus.NORMALISED, norm_on)]
        for status, on in stages:
            if not on:
                continue
            if status is AlignStatus.EXACT:
                cands = [(i, i + len(s)) for i in range(len(text)) if text.startswith(s, i)]
            else:
                ns, _ = o_normalize(s, o)
                cands = []
                if ns:
                    for i in range(len(ntext)):
                        if ntext.startswith(ns, i):
                            span = o_to_original(origin, i, i + len(ns))
                            if span is not None:
                                cands.append(span)
            if not cands:
                continue
            if o.occurrence == "all":
                last = 0
                for a, b in cands:
                    if a >= last:
                        out.append((k, a, b, status, 1.0))
                        last = b
                done = True
                break
            pick: tuple[int, int] | None = None
            taken = False
            if o.occurrence == "first":
                pick = cands[0]
            elif o.occurrence == "left-to-right":
                free = [
                    (a, b)
                    for a, b in cands
                    if all(not (cg == g and a < ce and cs < b) for cg, cs, ce in claimed)
                ]
                pick, taken = (free[0], False) if free else (cands[0], True)
            else:
                after = [c for c in cands if c[0] >= cursor]
                pick = after[0] if after else cands[-1]
            if taken:
                out.append((k, pick[0], pick[1], AlignStatus.DUPLICATE, 1.0))
            else:
                claimed.append((g, *pick))
                cursor = pick[1]
                out.append((k, pick[0], pick[1], status, 1.0))
            done = True
            break
        if done:
            continue
        if o.fuzzy is not None:
            pat = o_normalize(s, o)[0] if norm_on else s
            r = o_fuzzy(ntext, pat)
            if r is not None and r[2] >= o.fuzzy:
                a, b = (origin[r[0]][0], origin[r[1] - 1][1]) if norm_on else (r[0], r[1])
                claimed.append((g, a, b))
                cursor = b
                out.append((k, a, b, AlignStatus.FUZZY, r[2]))
                continue
        out.append((k, 0, 0, AlignStatus.UNGROUNDED, 0.0))
    return out


def rust_rows(
    text: str, items: list[tuple[str, int]], o: AlignOptions
) -> list[tuple[int, int, int, AlignStatus, float]]:
    return [(p.item, p.start, p.end, p.status, p.score) for p in nerlm.align(text, items, o)]


Row = tuple[int, int, int, AlignStatus, float]


def same(a: list[Row], b: list[Row]) -> bool:
    return len(a) == len(b) and all(
        x[:4] == y[:4] and abs(x[4] - y[4]) < 1e-5 for x, y in zip(a, b, strict=True)
    )


# ----------------------------------------------------------------------------- alignment

POLICIES = ("first", "all", "left-to-right", "nearest-after")
ALPHABET = "ab北京AB ＡＢ\t\u3000ﬁ①ée\u0301龘😀,，"
FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def test_left_to_right_matches_oracle_on_random_documents() -> None:
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
    o = AlignOptions()
    for t, its, g in zip(texts, items, got, strict=True):
        assert same([(p.item, p.start, p.end, p.status, p.score) for p in g], oracle(t, its, o))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[tuple[str, int]], AlignOptions]:
    text = draw(st.text(alphabet=ALPHABET, max_size=18))
    items = []
    for _ in range(draw(st.integers(0, 5))):
        if text and draw(st.integers(0, 9)) < 8:
            i = draw(st.integers(0, len(text) - 1))
            j = draw(st.integers(i, min(len(text), i + 5)))
            s = text[i:j]
            if draw(st.booleans()):  # perturb: case, width, spaces, one edit
                wide = s.translate(FULL_WIDTH)
                edits = [s + "x", s[1:], s[:-1] + "北", "a" + s[1:]]
                s = draw(st.sampled_from([s.upper(), s.lower(), s.replace(" ", ""), wide, *edits]))
        else:
            s = draw(st.text(alphabet=ALPHABET, max_size=4))
        items.append((s, draw(st.integers(0, 1))))
    norm = draw(st.booleans())
    o = AlignOptions(
        occurrence=draw(st.sampled_from(POLICIES)),
        nfkc=norm and draw(st.booleans()),
        width=norm and draw(st.booleans()),
        case=norm and draw(st.booleans()),
        whitespace=draw(st.sampled_from(["keep", "collapse", "remove"])) if norm else "keep",
        fuzzy=draw(st.sampled_from([None, 0.5, 0.75])),
    )
    return text, items, o


@settings(max_examples=600, deadline=None)
@given(cases())
def test_all_policies_and_stages_match_the_oracle(
    case: tuple[str, list[tuple[str, int]], AlignOptions],
) -> None:
    text, items, o = case
    assert same(rust_rows(text, items, o), oracle(text, items, o)), (text, items, o)


def test_policies_on_examples() -> None:
    t = "北京和北京大学在北京"
    first = nerlm.align(t, [("北京", 0)] * 3, AlignOptions("first"))
    assert [(p.start, p.end) for p in first] == [(0, 2)] * 3
    ltr = nerlm.align(t, [("北京", 0)] * 4)
    assert [(p.start, p.status) for p in ltr] == [
        (0, AlignStatus.EXACT), (3, AlignStatus.EXACT), (8, AlignStatus.EXACT),
        (0, AlignStatus.DUPLICATE),
    ]  # fmt: skip
    every = nerlm.align(t, [("北京", 0), ("上海", 0)], AlignOptions("all"))
    assert [(p.item, p.start, p.status) for p in every] == [
        (0, 0, AlignStatus.EXACT), (0, 3, AlignStatus.EXACT), (0, 8, AlignStatus.EXACT),
        (1, 0, AlignStatus.UNGROUNDED),
    ]  # fmt: skip
    near = nerlm.align(t, [("大学", 0), ("北京", 0), ("和", 0)], AlignOptions("nearest-after"))
    assert [(p.start, p.end) for p in near] == [(5, 7), (8, 10), (2, 3)]


def test_normalised_and_fuzzy_statuses() -> None:
    t = "访问ＩＢＭ公司 和 北京 大学，以及清华大学附中"
    r = nerlm.align(
        t, [("IBM公司", 0), ("北京大学", 0), ("清华大学附小", 0), ("上海", 0)],
        AlignOptions.lenient(),
    )  # fmt: skip
    assert [(p.start, p.end, p.status) for p in r] == [
        (2, 7, AlignStatus.NORMALISED), (10, 15, AlignStatus.NORMALISED),
        (18, 24, AlignStatus.FUZZY), (0, 0, AlignStatus.UNGROUNDED),
    ]  # fmt: skip
    assert t[18:24] == "清华大学附中" and r[2].score == pytest.approx(5 / 6)
    # Without the normalised stage the same strings are ungrounded.
    assert all(p.status is AlignStatus.UNGROUNDED for p in nerlm.align(t, [("IBM公司", 0)]))


def test_columnar_alignment_keeps_item_order_and_checks_input() -> None:
    r = align_spans(["甲乙甲", "丙"], ["丙", "甲", "甲"], [1, 0, 0])
    assert r.item.tolist() == [0, 1, 2] and r.start.tolist() == [0, 0, 2]
    with pytest.raises(nerlm.ShapeError, match="document index 2"):
        align_spans(["a"], ["a"], [2])
    with pytest.raises(TypeError, match=r"surfaces\[0\] must be a str"):
        align_spans(["a"], [3], [0])  # type: ignore[list-item]
    with pytest.raises(nerlm.ShapeError, match="occurrence"):
        align_spans(["a"], ["a"], [0], options=AlignOptions("every"))  # type: ignore[arg-type]


def test_align_batch_builds_placements_and_checks_input() -> None:
    from nerlm.align import Placement

    texts = ["北京和北京", "", "上海"]
    items = [[("北京", 0), ("京", 1)], [], [["上海", 2], ("海口", 0)]]
    got = nerlm.align_batch(texts, items, AlignOptions("all"))  # type: ignore[arg-type]
    exact, ungrounded = AlignStatus.EXACT, AlignStatus.UNGROUNDED
    assert got == [
        [
            Placement(0, 2, exact, 1.0, 0),
            Placement(3, 5, exact, 1.0, 0),
            Placement(1, 2, exact, 1.0, 1),
            Placement(4, 5, exact, 1.0, 1),
        ],
        [],
        [Placement(0, 2, exact, 1.0, 0), Placement(0, 0, ungrounded, 0.0, 1)],
    ]
    p = got[2][1]
    assert type(p) is Placement and p.status is ungrounded and p.item == 1
    # The collector, paused while the lists are built, is left as it was.
    import gc

    assert gc.isenabled()
    gc.disable()
    try:
        assert nerlm.align_batch(texts, items, AlignOptions("all")) == got  # type: ignore[arg-type]
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert hash(p) == hash(Placement(0, 0, ungrounded, 0.0, 1))
    fuzzy = nerlm.align_batch(["北京大学"], [[("北京大字", 0)]], AlignOptions.lenient(fuzzy=0.7))
    assert fuzzy[0][0].status is AlignStatus.FUZZY and fuzzy[0][0].score == pytest.approx(0.75)
    with pytest.raises(nerlm.ShapeError, match="2 texts but 1 item lists"):
        nerlm.align_batch(["a", "b"], [[]])
    with pytest.raises(TypeError, match=r"items\[0\]\[1\]\[0\] must be a str"):
        nerlm.align_batch(["a"], [[("a", 0), (3, 0)]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"items\[0\]\[0\] must be a \(surface, group\) pair"):
        nerlm.align_batch(["a"], [["abc"]])  # type: ignore[list-item]
    with pytest.raises(nerlm.ShapeError, match=r"items\[0\]\[0\]\[1\] = -1"):
        nerlm.align_batch(["a"], [[("a", -1)]])
    with pytest.raises(TypeError, match=r"texts\[0\] must be a str"):
        nerlm.align_batch([b"a"], [[("a", 0)]])  # type: ignore[list-item]


def test_columns_any_order_width_and_length_match_the_oracle() -> None:
    """Interleaved documents, every string width CPython uses (Latin-1, UCS-2, UCS-4, lone
    surrogates) and texts past the short-text scan (repetitive, so the long-text search must
    skip matches that straddle code units): columns equal the per-document oracle."""
    rng = random.Random(11)
    alphabets = ["ab", "abé", "ab北京", "北京龘", "ab😀北", "a\ud800北", "\u4e00\u4e01"]
    texts, per_doc = [], []
    for d in range(300):
        alpha = rng.choice(alphabets)
        n = rng.choice([0, 3, 20, 1500, 3000]) if d % 10 == 0 else rng.randint(0, 30)
        t = "".join(rng.choice(alpha) for _ in range(n))
        its = []
        for _ in range(rng.randint(0, 5)):
            if t and rng.random() < 0.8:
                i = rng.randrange(len(t))
                its.append((t[i : i + rng.randint(1, 6)], rng.randint(0, 1)))
            else:
                its.append(("".join(rng.choice(rng.choice(alphabets)) for _ in range(2)), 0))
        texts.append(t)
        per_doc.append(its)
    flat = [(d, s, g) for d, its in enumerate(per_doc) for s, g in its]
    # Documents interleaved at random, each document's items still in their order.
    queues = [[i for i, (d, _, _) in enumerate(flat) if d == doc] for doc in range(len(texts))]
    queues = [q for q in queues if q]
    order = []
    while queues:
        q = rng.choice(queues)
        order.append(q.pop(0))
        if not q:
            queues.remove(q)
    assert order != sorted(order)
    for policy in POLICIES:
        o = AlignOptions(policy)  # type: ignore[arg-type]
        want: dict[int, list[tuple[int, int, AlignStatus]]] = {}
        k = 0
        for t, its in zip(texts, per_doc, strict=True):
            for row in oracle(t, its, o):
                want.setdefault(k + row[0], []).append((row[1], row[2], row[3]))
            k += len(its)
        for idx in (list(range(len(flat))), order):  # sorted, then interleaved documents
            rows = [flat[i] for i in idx]
            r = align_spans(
                tuple(texts), iter([s for _, s, _ in rows]),
                [d for d, _, _ in rows], [g for _, _, g in rows], o,
            )  # fmt: skip
            got: dict[int, list[tuple[int, int, AlignStatus]]] = {}
            for it, a, b, st_ in zip(r.item, r.start, r.end, r.status, strict=True):
                got.setdefault(idx[int(it)], []).append((int(a), int(b), r.STATUSES[st_]))
            assert got == want, policy


def test_columns_across_parallel_tasks_match_the_oracle() -> None:
    """Sorted documents run in tasks of at least 4,096 items, each writing its own range of
    the output columns (with ``all``, after counting its rows): 12,000+ items over 3,500
    documents cross several task boundaries, with and without repeated occurrences."""
    rng = random.Random(5)
    alphabets = ["ab", "abé", "北京龘", "ab😀北"]
    texts, per_doc = [], []
    for _ in range(3500):
        alpha = rng.choice(alphabets)
        t = "".join(rng.choice(alpha) for _ in range(rng.randint(0, 12)))
        its = []
        for _ in range(rng.randint(2, 6)):
            i = rng.randrange(len(t) + 1)
            its.append((t[i : i + rng.randint(1, 3)] or "x", rng.randint(0, 1)))
        texts.append(t)
        per_doc.append(its)
    flat = [(d, s, g) for d, its in enumerate(per_doc) for s, g in its]
    assert len(flat) > 3 * 4096
    for policy in POLICIES:
        o = AlignOptions(policy)  # type: ignore[arg-type]
        want: list[tuple[int, int, int, AlignStatus]] = []
        k = 0
        for t, its in zip(texts, per_doc, strict=True):
            want += [(k + row[0], row[1], row[2], row[3]) for row in oracle(t, its, o)]
            k += len(its)
        r = align_spans(
            texts, [s for _, s, _ in flat], [d for d, _, _ in flat], [g for _, _, g in flat], o
        )
        got = [
            (int(it), int(a), int(b), r.STATUSES[st_])
            for it, a, b, st_ in zip(r.item, r.start, r.end, r.status, strict=True)
        ]
        assert got == want, policy
        if policy == "all":
            assert len(got) > len(flat)


def test_columns_share_one_block_that_outlives_the_result() -> None:
    """The columns are numpy arrays over one block of Rust memory (on huge pages from 4 MB,
    as here: 250,000 rows); each keeps the block alive, and they are ordinary writeable
    arrays of the documented dtypes."""
    n = 250_000
    texts = ["北京欢迎你去上海", "上海欢迎你"] * (n // 4)
    doc = np.repeat(np.arange(len(texts)), 2)
    surfaces = ["欢迎", "上海"] * (n // 2)
    r = align_spans(texts, surfaces, doc)
    start, status = r.start, r.status
    del r, texts, surfaces
    gc.collect()
    assert start.dtype == np.int64 and status.dtype == np.uint8 and len(start) == n
    assert (start.reshape(-1, 4) == [2, 6, 2, 0]).all()
    assert not status.any()
    start[0] = 7
    assert start[0] == 7 and start.base is status.base


def test_columns_check_items_and_release_them_on_error() -> None:
    """Lists, tuples and other sequences of texts and surfaces are checked item by item (a
    list as it is copied); a bad item is a ``TypeError`` naming it, and the references taken
    on the items before it are released."""
    s = "北京" * 5
    held = [s] * 1000
    before = sys.getrefcount(s)
    for seq in (list, tuple, iter):
        with pytest.raises(TypeError, match=r"surfaces\[1000\] must be a str, not int"):
            align_spans(["北京"], seq([*held, 1]), np.zeros(1001, dtype=np.int64))
        with pytest.raises(TypeError, match=r"texts\[1\] must be a str, not NoneType"):
            align_spans(seq(["北京", None]), ["北京", "京"], [0, 1])  # type: ignore[list-item]
    assert sys.getrefcount(s) == before


# ----------------------------------------------------------------------------- offsets


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.data())
def test_offset_units_round_trip(text: str, data: st.DataObject) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return
    chars = np.arange(len(text) + 1)
    byte = np.array([len(text[:i].encode()) for i in chars], dtype=np.int64)
    utf16 = np.array([len(text[:i].encode("utf-16-le")) // 2 for i in chars], dtype=np.int64)
    assert convert_offsets(text, chars, "char", "byte").tolist() == byte.tolist()
    assert convert_offsets(text, chars, "char", "utf16").tolist() == utf16.tolist()
    assert convert_offsets(text, byte, "byte", "utf16").tolist() == utf16.tolist()
    assert convert_offsets(text, utf16, "utf16", "char").tolist() == chars.tolist()
    inside = [b for b in range(byte[-1]) if b not in set(byte.tolist())]
    if inside:
        with pytest.raises(nerlm.OffsetError, match="inside code point"):
            convert_offsets(text, [data.draw(st.sampled_from(inside))], "byte", "char")
    with pytest.raises(nerlm.OffsetError, match="past the end"):
        convert_offsets(text, [len(text) + 1], "char", "byte")


def test_offsets_keep_shape() -> None:
    spans = np.array([[0, 1], [1, 3]])
    assert convert_offsets("😀ab", spans, "char", "utf16").tolist() == [[0, 2], [2, 4]]


# ----------------------------------------------------------------------------- tokens


def o_char_to_token(
    offsets: list[tuple[int, int]], span: tuple[int, int], policy: str
) -> tuple[int, int]:
    a, b = span
    toks = [(i, s, e) for i, (s, e) in enumerate(offsets) if s < e]
    if policy == "contract":
        inside = [i for i, s, e in toks if s >= a and e <= b]
        return (inside[0], inside[-1] + 1) if inside else (-1, -1)
    cover = [i for i, s, e in toks if e > a and s < b]
    if not cover:
        return (-1, -1)
    if policy == "strict" and (offsets[cover[0]][0] != a or offsets[cover[-1]][1] != b):
        return (-1, -1)
    return cover[0], cover[-1] + 1


@pytest.fixture(scope="module")
def qwen_fast() -> object:
    tokenizers = pytest.importorskip("tokenizers")
    return tokenizers.Tokenizer.from_file(str(SHARED / "tokenizers" / "qwen2.5" / "tokenizer.json"))


def test_cluener_gold_spans_on_qwen_tokens(qwen_fast: object) -> None:
    """167 of the 3,072 CLUENER dev gold spans are not on Qwen2.5 token boundaries."""
    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json", split="dev")
    not_on_boundary = 0
    grown = shrunk = 0
    for ex in dev:
        enc = qwen_fast.encode(ex.text, add_special_tokens=False)  # type: ignore[attr-defined]
        off = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
        spans = np.array([[e.start, e.end] for e in ex.entities], dtype=np.int64).reshape(-1, 2)
        strict = char_to_token_spans(off, spans, "strict")
        expand = char_to_token_spans(off, spans, "expand")
        contract = char_to_token_spans(off, spans, "contract")
        for k, sp in enumerate(spans.tolist()):
            for pol, got in (("strict", strict), ("expand", expand), ("contract", contract)):
                assert tuple(got[k].tolist()) == o_char_to_token(off.tolist(), sp, pol)
            if strict[k][0] < 0:
                not_on_boundary += 1
                back = token_to_char_spans(off, expand[k : k + 1])[0].tolist()
                assert back[0] <= sp[0] and back[1] >= sp[1] and back != sp
                grown += 1
                if contract[k][0] >= 0:
                    inner = token_to_char_spans(off, contract[k : k + 1])[0].tolist()
                    assert inner[0] >= sp[0] and inner[1] <= sp[1] and inner != sp
                    shrunk += 1
            else:
                back = token_to_char_spans(off, strict[k : k + 1])[0].tolist()
                assert back == sp
    assert not_on_boundary == 167
    assert grown == 167 and 0 < shrunk < 167


def test_split_characters_and_special_tokens(qwen_fast: object) -> None:
    enc = qwen_fast.encode("龘在北京", add_special_tokens=False)  # type: ignore[attr-defined]
    off = np.array(enc.offsets, dtype=np.int64)
    assert off[0].tolist() == off[1].tolist() == [0, 1]  # two byte-level pieces of one character
    assert char_to_token_spans(off, [[0, 1]], "strict").tolist() == [[0, 2]]
    with_special = np.vstack([[[0, 0]], off])
    assert char_to_token_spans(with_special, [[0, 1]], "strict").tolist() == [[1, 3]]
    with pytest.raises(nerlm.OffsetError, match="text order"):
        char_to_token_spans([[2, 3], [0, 1]], [[0, 1]])

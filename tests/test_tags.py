"""Tag sequences <-> spans, and the seqeval / conlleval compatibility modes of nerlm.tags.

Differential tests against seqeval 1.2.2 on the character-tagged test sets in ../shared/data
(with seeded noisy predictions) and on hypothesis-generated tag sequences. The conlleval mode
is checked on worked examples, against seqeval where the two must agree, and against the Perl
script itself when ``NERLM_CONLLEVAL`` names a copy of ``conlleval.pl`` (and perl is present).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerlm import _native
from nerlm.data import read_tagged
from nerlm.tags import (
    conlleval_compat,
    seqeval_compat,
    spans_from_tag_ids,
    spans_from_tags,
    tag_ids_from_spans,
    tags_from_spans,
)

from .conftest import SHARED
from .noise import noisy_spans

seqeval_metrics = pytest.importorskip("seqeval.metrics")
seqeval_scheme = pytest.importorskip("seqeval.scheme")
seqeval_labeling = pytest.importorskip("seqeval.metrics.sequence_labeling")

DATA = SHARED / "data"
Tags = list[list[str]]
SCHEME_CLASSES = {
    name: getattr(seqeval_scheme, name) for name in ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES")
} | {"BILOU": seqeval_scheme.BILOU}


# ---------------------------------------------------------------------------------------------
# the character-tagged files, tags as written (nerlm.data.read_tagged: no decoding)


def read_tags(path: Path) -> Tags:
    """Tag sequences of a file with one ``char tag`` line per character, as written."""
    return [s.tags for s in read_tagged(path)]


FILES = {
    "msra": ("msra/msra_test_bio.txt", "IOB2"),
    "peoples_daily": ("peoples_daily/example.test", "IOB2"),
    "resume": ("resume_ner/test.char.bmes", "BMES"),
    "weibo": ("weibo_ner/weiboNER_2nd_conll.test", "IOB2"),
}
SUBSAMPLE = 300  # sentences per file (seqeval is slow); the small files are used whole


@cache
def dataset(name: str) -> tuple[Tags, str]:
    rel, scheme = FILES[name]
    path = DATA / rel
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    sents = read_tags(path)
    if len(sents) > 2 * SUBSAMPLE:
        rng = random.Random(f"subsample-{name}")
        sents = [sents[i] for i in sorted(rng.sample(range(len(sents)), SUBSAMPLE))]
    return sents, scheme


def bmes_to_iobes(sents: Tags) -> Tags:
    """Resume NER's BMES written as IOBES (M -> I), for seqeval."""
    return [[("I" + t[1:]) if t.startswith("M-") else t for t in s] for s in sents]


# ---------------------------------------------------------------------------------------------
# seeded noisy predictions


def corrupt(sents: Tags, scheme: str, rng: random.Random, suffix: bool = False) -> Tags:
    """Invalid transitions: ``O I-X``, ``B-X I-Y``, and random tags of the scheme."""
    letters = {"IOB1": "BI", "IOB2": "BI", "IOE1": "IE", "IOE2": "IE", "IOBES": "BIES"}.get(
        scheme, {"BILOU": "BILU", "BMES": "BMES"}.get(scheme, "BI")
    )
    inside = "M" if scheme == "BMES" else "I"
    types = sorted({t[2:] if not suffix else t[:-2] for s in sents for t in s if t != "O"})
    types = types or ["X"]

    def tag(letter: str, t: str) -> str:
        return f"{t}-{letter}" if suffix else f"{letter}-{t}"

    out = []
    for sent in sents:
        s = list(sent)
        if s and rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                k = rng.randrange(len(s))
                r = rng.random()
                if s[k] == "O" and r < 0.5:
                    s[k] = tag(inside, rng.choice(types))
                elif s[k] != "O" and r < 0.8:
                    letter = s[k][-1] if suffix else s[k][0]
                    s[k] = tag(letter, rng.choice(types))
                else:
                    s[k] = rng.choice(["O", *(tag(c, rng.choice(types)) for c in letters)])
        out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# the seqeval reference


def seqeval_reference(
    y_true: Tags,
    y_pred: Tags,
    *,
    mode: str | None = None,
    scheme: str | None = None,
    suffix: bool = False,
    average: str = "micro",
    zero_division: Any = "warn",
    scalars: Sequence[str] = ("f1", "precision", "recall"),
) -> dict[str, Any]:
    m = seqeval_metrics
    kw: dict[str, Any] = {
        "mode": mode,
        "scheme": SCHEME_CLASSES[scheme] if scheme else None,
        "suffix": suffix,
        "zero_division": zero_division,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out: dict[str, Any] = {
            "report": m.classification_report(y_true, y_pred, output_dict=True, **kw)
        }
        fns: dict[str, Callable[..., Any]] = {
            "f1": m.f1_score,
            "precision": m.precision_score,
            "recall": m.recall_score,
        }
        for name in scalars:
            out[name] = float(fns[name](y_true, y_pred, average=average, **kw))
        try:
            out["accuracy"] = m.accuracy_score(y_true, y_pred)
        except ZeroDivisionError:
            out["accuracy"] = math.nan
    return out


def same(a: float, b: float) -> bool:
    """Equal, both NaN, or within 1e-9 (in practice the values are bit-identical)."""
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9


def assert_matches(res: Any, ref: dict[str, Any]) -> None:
    mine = res.classification_report()
    assert list(mine) == list(ref["report"])
    for row, want in ref["report"].items():
        for key in ("precision", "recall", "f1-score"):
            assert same(mine[row][key], want[key]), (row, key, mine[row][key], want[key])
        assert mine[row]["support"] == int(want["support"]), row
    for name in ("f1", "precision", "recall"):
        if name in ref:
            assert same(getattr(res, name), ref[name]), (name, getattr(res, name), ref[name])
    assert same(res.accuracy, ref["accuracy"])


# ---------------------------------------------------------------------------------------------
# real data


@cache
def prepared(name: str) -> dict[str, Any]:
    """Gold tags of a file, its spans, and a seeded noisy prediction."""
    sents, native = dataset(name)
    rng = random.Random(f"noise-{name}")
    spans = spans_from_tags(sents, scheme=native)
    lengths = [len(s) for s in sents]
    pred_spans = noisy_spans(spans, lengths, rng)
    pred = corrupt(tags_from_spans(pred_spans, lengths, scheme=native), native, rng)
    return {
        "gold": sents,
        "pred": pred,
        "native": native,
        "spans": spans,
        "pred_spans": pred_spans,
        "lengths": lengths,
    }


def in_scheme(name: str, scheme: str) -> tuple[Tags, Tags]:
    """Gold and noisy prediction of a file re-encoded in ``scheme`` (prediction corrupted)."""
    d = prepared(name)
    rng = random.Random(f"noise-{name}-{scheme}")
    gold = tags_from_spans(d["spans"], d["lengths"], scheme=scheme)
    pred = corrupt(tags_from_spans(d["pred_spans"], d["lengths"], scheme=scheme), scheme, rng)
    return gold, pred


AVERAGES = {"msra": "micro", "peoples_daily": "macro", "resume": "weighted", "weibo": "macro"}


@pytest.mark.parametrize("name", list(FILES))
def test_real_files_default_mode(name: str) -> None:
    d = prepared(name)
    gold, pred = d["gold"], d["pred"]
    if d["native"] == "BMES":
        gold, pred = bmes_to_iobes(gold), bmes_to_iobes(pred)
    res = seqeval_compat(gold, pred, average=AVERAGES[name])
    assert_matches(res, seqeval_reference(gold, pred, average=AVERAGES[name]))
    assert res.definition["chunking"].startswith("seqeval default")
    # The noise is real: entities were lost and invented.
    assert 0.5 < res.micro.f1 < 0.99


@pytest.mark.parametrize("scheme", ["IOB2", "IOBES", "BILOU", "IOE2"])
@pytest.mark.parametrize("name", list(FILES))
def test_real_files_strict_mode(name: str, scheme: str) -> None:
    gold, pred = in_scheme(name, scheme)
    res = seqeval_compat(gold, pred, mode="strict", scheme=scheme)
    assert_matches(res, seqeval_reference(gold, pred, mode="strict", scheme=scheme, scalars=["f1"]))
    # Strict decoding of the (valid) gold gives back the file's entities.
    cls = SCHEME_CLASSES[scheme]
    ents = seqeval_scheme.Entities(gold, cls)
    want = [sorted((e.tag, e.start, e.end) for e in s) for s in ents.entities]
    assert [sorted(s) for s in spans_from_tags(gold, scheme=scheme)] == want
    assert [sorted(s) for s in prepared(name)["spans"]] == want


def test_resume_bmes_is_iobes_with_m() -> None:
    d = prepared("resume")
    iobes = bmes_to_iobes(d["pred"])
    assert spans_from_tags(d["pred"], scheme="BMES") == spans_from_tags(iobes, scheme="IOBES")
    ents = seqeval_scheme.Entities(iobes, seqeval_scheme.IOBES)
    want = [sorted((e.tag, e.start, e.end) for e in s) for s in ents.entities]
    assert [sorted(s) for s in spans_from_tags(d["pred"], scheme="BMES")] == want
    # seqeval's default reads M as an unknown letter; on valid BMES the chunks are the same.
    assert spans_from_tags(d["gold"]) == spans_from_tags(d["gold"], scheme="BMES")


def test_strict_without_scheme_auto_detects_for_the_report_only() -> None:
    gold, pred = in_scheme("weibo", "IOBES")
    res = seqeval_compat(gold, pred, mode="strict", average="macro")
    assert_matches(res, seqeval_reference(gold, pred, mode="strict", average="macro"))
    assert "IOBES (auto-detected from y_true)" in res.definition["chunking"]
    assert any("auto-detected" in n for n in res.notes)
    # The scalar scores are seqeval's default-chunking ones (its *_score ignore mode here).
    default = seqeval_compat(gold, pred, average="macro")
    assert (res.f1, res.precision, res.recall) == (default.f1, default.precision, default.recall)
    assert res.macro.f1 != default.macro.f1


def test_suffix_tags_against_seqeval() -> None:
    gold, pred = in_scheme("weibo", "IOBES")

    def flip(ss: Tags) -> Tags:
        return [[t if t == "O" else f"{t[2:]}-{t[0]}" for t in s] for s in ss]

    sg, sp = flip(gold), flip(pred)
    for mode, scheme in ((None, None), ("strict", "IOBES")):
        res = seqeval_compat(sg, sp, mode=mode, scheme=scheme, suffix=True)
        assert_matches(
            res, seqeval_reference(sg, sp, mode=mode, scheme=scheme, suffix=True, scalars=["f1"])
        )
        plain = seqeval_compat(gold, pred, mode=mode, scheme=scheme)
        assert res.classification_report() == plain.classification_report()


def test_conlleval_agrees_with_seqeval_on_bio_and_not_on_iobes() -> None:
    for name in ("msra", "peoples_daily", "weibo"):
        d = prepared(name)
        c = conlleval_compat(d["gold"], d["pred"])
        s = seqeval_compat(d["gold"], d["pred"])
        assert c.found_correct == sum(v["true"] for v in s.counts.values())
        assert c.found_guessed == sum(v["pred"] for v in s.counts.values())
        assert c.correct == sum(v["tp"] for v in s.counts.values())
        for t, v in s.counts.items():
            ct = c.per_type[t]
            assert (ct.correct, ct.found_guessed, ct.found_correct) == (
                v["tp"],
                v["pred"],
                v["true"],
            )
            assert math.isclose(ct.fb1, 100 * s.per_type[t].f1, rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(c.accuracy, 100 * s.accuracy, rel_tol=1e-12)
    # IOBES: conlleval has no S and merges E-X B-X, so its phrase counts differ.
    gold, pred = in_scheme("resume", "IOBES")
    c = conlleval_compat(gold, pred)
    s = seqeval_compat(gold, pred)
    assert c.found_correct < sum(v["true"] for v in s.counts.values())


def test_conlleval_and_seqeval_default_differ_on_s_and_e_b() -> None:
    gold = [["S-PER", "S-PER", "O", "B-LOC", "E-LOC", "B-LOC", "E-LOC"]]
    pred = [["S-PER", "O", "O", "B-LOC", "E-LOC", "O", "O"]]
    c = conlleval_compat(gold, pred)
    s = seqeval_compat(gold, pred)
    # conlleval: S-PER S-PER is one phrase, B-LOC E-LOC B-LOC E-LOC one phrase.
    assert (c.found_correct, c.found_guessed, c.correct) == (2, 2, 0)
    # seqeval: four chunks in gold, two predicted and both right.
    assert s.counts == {
        "LOC": {"tp": 1, "pred": 1, "true": 2},
        "PER": {"tp": 1, "pred": 1, "true": 2},
    }
    assert s.micro.precision == 1.0 and c.precision == 0.0
    ref = seqeval_reference(gold, pred)
    assert_matches(s, ref)


def test_conlleval_report_format() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-人名"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    r = conlleval_compat(gold, pred)
    assert r.report() == (
        "processed 7 tokens with 4 phrases; found: 3 phrases; correct: 2.\n"
        "accuracy:  71.43%; precision:  66.67%; recall:  50.00%; FB1:  57.14\n"
        "              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n"
        "              ORG: precision:  50.00%; recall: 100.00%; FB1:  66.67  2\n"
        "              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
        # Perl pads by bytes: 人名 is 6 bytes in UTF-8.
        "           人名: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n"
    )
    assert r.precision == 100 * 2 / 3 and r.fb1 == 2 * r.precision * r.recall / (
        r.precision + r.recall
    )
    d = r.to_dict()
    assert d["per_type"]["ORG"]["found_guessed"] == 2 and "definition" in d
    assert set(r.definition) >= {"chunking", "match", "averaging", "duplicates"}


def test_conlleval_boundary_tokens_and_untyped_chunks() -> None:
    # A "-X-" token is a sentence break: two phrases instead of one, not counted as a token.
    r = conlleval_compat(
        [["B-X", "I-X", "I-X"]], [["B-X", "I-X", "I-X"]], tokens=[["a", "-X-", "b"]]
    )
    assert (r.tokens, r.found_correct, r.correct) == (2, 2, 2)
    # Chunks without a type are type ""; Perl's sort loop lists "" twice.
    r = conlleval_compat([["B", "I", "O"]], [["B", "I", "O"]])
    assert r.report().count("                 : precision: 100.00%") == 2
    assert any("twice" in n for n in r.notes)
    with pytest.raises(ValueError, match="space"):
        conlleval_compat([["O"]], [["O"]], tokens=[["a b"]])
    empty = conlleval_compat([], [])
    assert empty.report() == "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"


def conlleval_script() -> str | None:
    path = os.environ.get("NERLM_CONLLEVAL")
    return path if path and Path(path).is_file() and shutil.which("perl") else None


@pytest.mark.skipif(conlleval_script() is None, reason="set NERLM_CONLLEVAL to conlleval.pl")
def test_conlleval_against_the_perl_script() -> None:
    script = conlleval_script()
    assert script is not None
    cases = [(prepared(n)["gold"], prepared(n)["pred"]) for n in ("msra", "weibo")]
    cases.append(in_scheme("resume", "IOBES"))
    rng = random.Random(7)
    alphabet = ["O", ".", "B-X", "I-X", "E-X", "S-X", "M-X", "B-Y", "I-Y", "B", "I", "E", "B-0"]
    for _ in range(200):
        lens = [rng.randint(0, 6) for _ in range(rng.randint(0, 4))]
        cases.append(
            (
                [[rng.choice(alphabet) for _ in range(n)] for n in lens],
                [[rng.choice(alphabet) for _ in range(n)] for n in lens],
            )
        )
    for gold, pred in cases:
        lines = "".join(
            "".join(f"w {g} {p}\n" for g, p in zip(gs, ps, strict=True)) + "\n"
            for gs, ps in zip(gold, pred, strict=True)
        )
        want = subprocess.run(
            ["perl", script], input=lines, capture_output=True, text=True, check=True
        ).stdout
        assert conlleval_compat(gold, pred).report() == want


# ---------------------------------------------------------------------------------------------
# hypothesis: any tag sequences, empty sentences included

LENIENT_ALPHABET = [
    "O", "O", "O", ".", "B-X", "I-X", "E-X", "S-X", "M-X", "L-X", "U-X",
    "B-Y", "I-Y", "E-Y", "S-Y", "B-A-B", "I-A-B", "B", "I", "E", "S", "M", "U",
]  # fmt: skip


def pair_of(alphabet: Sequence[str]) -> st.SearchStrategy[tuple[Tags, Tags]]:
    tag = st.sampled_from(list(alphabet))

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Tags, Tags]:
        lengths = draw(st.lists(st.integers(0, 7), min_size=1, max_size=5))
        gold = [draw(st.lists(tag, min_size=n, max_size=n)) for n in lengths]
        pred = [draw(st.lists(tag, min_size=n, max_size=n)) for n in lengths]
        return gold, pred

    return build()


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    pair_of(LENIENT_ALPHABET),
    st.sampled_from(["micro", "macro", "weighted"]),
    st.sampled_from(["warn", 0, 1]),
)
def test_hypothesis_default_mode(pair: tuple[Tags, Tags], average: str, zero_division: Any) -> None:
    gold, pred = pair
    res = seqeval_compat(gold, pred, average=average, zero_division=zero_division)
    ref = seqeval_reference(gold, pred, average=average, zero_division=zero_division)
    assert_matches(res, ref)


def seqeval_spans(seqs: Tags) -> list[set[tuple[str, int, int]]] | None:
    """seqeval's get_entities mapped to sentences; None if a chunk crosses a sentence."""
    starts = np.cumsum([0] + [len(s) + 1 for s in seqs])
    out: list[set[tuple[str, int, int]]] = [set() for _ in seqs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chunks = seqeval_labeling.get_entities([list(s) for s in seqs])
    for t, a, b in chunks:
        s = int(np.searchsorted(starts, a, side="right") - 1)
        if int(np.searchsorted(starts, b, side="right") - 1) != s:
            return None
        out[s].add((t, int(a - starts[s]), int(b - starts[s] + 1)))
    return out


@FAST
@given(pair_of(LENIENT_ALPHABET))
def test_hypothesis_default_spans(pair: tuple[Tags, Tags]) -> None:
    seqs = pair[0]
    want = seqeval_spans(seqs)
    if want is None:
        with pytest.raises(_native.TagError, match="earlier sentence"):
            spans_from_tags(seqs)
        return
    got = spans_from_tags(seqs)
    assert [set(s) for s in got] == want
    assert all(len(set(s)) == len(s) for s in got)


LETTERS = {"IOB1": "BI", "IOB2": "BI", "IOE1": "IE", "IOE2": "IE", "IOBES": "BIES", "BILOU": "BILU"}


def strict_case(scheme: str) -> st.SearchStrategy[tuple[str, tuple[Tags, Tags]]]:
    alphabet = ["O", "O"] + [f"{c}-{t}" for c in LETTERS[scheme] for t in "XY"]
    return st.tuples(st.just(scheme), pair_of(alphabet))


@FAST
@given(st.sampled_from(list(LETTERS)).flatmap(strict_case), st.sampled_from(["micro", "macro"]))
def test_hypothesis_strict_mode(case: tuple[str, tuple[Tags, Tags]], average: str) -> None:
    scheme, (gold, pred) = case
    res = seqeval_compat(gold, pred, mode="strict", scheme=scheme, average=average)
    ref = seqeval_reference(gold, pred, mode="strict", scheme=scheme, average=average)
    assert_matches(res, ref)
    ents = seqeval_scheme.Entities(gold, SCHEME_CLASSES[scheme])
    want = [sorted((e.tag, e.start, e.end) for e in s) for s in ents.entities]
    got = spans_from_tags(gold, scheme=scheme, seqeval_exact=True)
    assert [sorted(s) for s in got] == want


SPANS = st.lists(
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4), st.sampled_from(["PER", "LOC.NAM"]))),
    max_size=5,
)


def layout(
    segments: list[list[tuple[int, int, str]]],
) -> tuple[list[list[tuple[str, int, int]]], list[int]]:
    spans, lengths = [], []
    for segs in segments:
        pos, sent = 0, []
        for gap, n, t in segs:
            pos += gap
            sent.append((t, pos, pos + n))
            pos += n
        spans.append(sent)
        lengths.append(pos + len(segs) % 2)
    return spans, lengths


@FAST
@given(SPANS, st.booleans())
def test_hypothesis_round_trip(segments: list[list[tuple[int, int, str]]], suffix: bool) -> None:
    spans, lengths = layout(segments)
    for scheme in ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU", "BMES"):
        tags = tags_from_spans(spans, lengths, scheme=scheme, suffix=suffix)
        assert [len(t) for t in tags] == lengths
        back = spans_from_tags(tags, scheme=scheme, suffix=suffix)
        assert back == spans, scheme
        if scheme != "BILOU":
            lenient = spans_from_tags(tags, suffix=suffix)
            assert [sorted(s, key=lambda x: x[1:]) for s in lenient] == spans, scheme


# ---------------------------------------------------------------------------------------------
# behaviour and errors


def test_examples() -> None:
    assert spans_from_tags([["B-PER", "I-PER", "O", "B-LOC"]]) == [[("PER", 0, 2), ("LOC", 3, 4)]]
    assert spans_from_tags([["I-X", "I-X", "B-X", "I-Y"]]) == [
        [("X", 0, 2), ("X", 2, 3), ("Y", 3, 4)]
    ]
    assert spans_from_tags([["O", "I-X", "I-X"]], scheme="IOB2") == [[]]
    assert spans_from_tags([["B-X", "I-Y"]], scheme="BIO") == [[("X", 0, 1)]]
    assert spans_from_tags([["B-PER.NAM", "I-PER.NAM"]]) == [[("PER.NAM", 0, 2)]]
    assert spans_from_tags([[], ["S-X"]], scheme="IOBES") == [[], [("X", 0, 1)]]
    assert tags_from_spans([[("PER", 0, 2), ("LOC", 3, 4)]], [5], scheme="IOBES") == [
        ["B-PER", "E-PER", "O", "S-LOC", "O"]
    ]
    assert tags_from_spans([[("X", 0, 1), ("X", 1, 2)]], [2], scheme="IOB1") == [["I-X", "B-X"]]


def test_ioe1_seqeval_quirk() -> None:
    tags = [["E-X", "I-X", "O"]]
    assert spans_from_tags(tags, scheme="IOE1") == [[("X", 0, 1), ("X", 1, 2)]]
    assert spans_from_tags(tags, scheme="IOE1", seqeval_exact=True) == [[("X", 1, 2)]]
    ents = seqeval_scheme.Entities(tags, seqeval_scheme.IOE1).entities
    assert [[(e.tag, e.start, e.end) for e in s] for s in ents] == [[("X", 1, 2)]]
    res = seqeval_compat(tags, tags, mode="strict", scheme="IOE1")
    assert res.counts == {"X": {"tp": 1, "pred": 1, "true": 1}}


def test_fast_path_matches_lists() -> None:
    d = prepared("weibo")
    vocab = sorted({t for s in d["gold"] for t in s})
    index = {t: i for i, t in enumerate(vocab)}
    ids = np.array([index[t] for s in d["gold"] for t in s], dtype=np.int64)
    offsets = np.cumsum([0] + [len(s) for s in d["gold"]])
    cols = spans_from_tag_ids(ids, offsets, vocab, scheme="IOB2")
    assert cols.to_lists(len(d["gold"])) == spans_from_tags(d["gold"], scheme="IOB2")
    assert cols.sentence.dtype == np.int64 and len(cols) == sum(map(len, d["spans"]))
    back, tag_vocab = tag_ids_from_spans(cols, offsets, scheme="IOB2")
    assert back.dtype == np.int32 and tag_vocab[0] == "O"
    want = [t for s in tags_from_spans(d["spans"], d["lengths"], scheme="IOB2") for t in s]
    assert [tag_vocab[i] for i in back.tolist()] == want


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match=r"sentence 1: y_true has 2 tags but y_pred has 3"):
        seqeval_compat([["O"], ["O", "O"]], [["O"], ["O", "O", "O"]])
    with pytest.raises(ValueError, match=r"y_true has 1 sentences but y_pred has 2"):
        seqeval_compat([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"sentence 0: y_true has 1 tags but y_pred has 0"):
        conlleval_compat([["O"]], [[]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            seqeval_metrics.f1_score([["O"], ["O", "O"]], [["O"], ["O", "O", "O"]])


def test_tag_errors() -> None:
    with pytest.raises(_native.TagError, match='unknown tag "X-PER"') as e:
        spans_from_tags([["O", "X-PER"]])
    assert isinstance(e.value, ValueError) and isinstance(e.value, _native.NerlmError)
    with pytest.raises(_native.TagError, match='sentence 0, token 1: tag "S-X" is not a tag'):
        spans_from_tags([["B-X", "S-X"]], scheme="IOB2")
    with pytest.raises(ValueError, match=r"Invalid token|not a tag"):
        seqeval_compat([["B-X"]], [["S-X"]], mode="strict", scheme="IOB2")
    with pytest.raises(TypeError, match="sentence 0 is a str"):
        spans_from_tags(["B-X"])
    with pytest.raises(TypeError, match="sentence 0, token 1: expected a str"):
        spans_from_tags([["B-X", 3]])
    with pytest.raises(ValueError, match="unknown scheme"):
        spans_from_tags([["O"]], scheme="IOB3")
    with pytest.raises(ValueError, match="unknown scheme"):
        seqeval_compat([["O"]], [["O"]], mode="strict", scheme="BMES")
    with pytest.raises(ValueError, match="not supported"):
        seqeval_compat([["O"]], [["O"]], mode="strict")
    with pytest.raises(_native.ShapeError, match="tag id 5 is outside"):
        spans_from_tag_ids(np.array([0, 5]), np.array([0, 2]), ["O", "B-X"])


def test_overlapping_spans() -> None:
    with pytest.raises(_native.OffsetError, match=r"sentence 1: spans \[0, 3\) and \[2, 4\)"):
        tags_from_spans([[], [("X", 0, 3), ("Y", 2, 4)]], [0, 5])
    with pytest.raises(_native.OffsetError, match="outside the sentence"):
        tags_from_spans([[("X", 3, 6)]], [5])
    with pytest.raises(_native.TagError, match="cannot be written"):
        tags_from_spans([[("-X", 0, 1)]], [2])


def test_notes_and_undefined_values() -> None:
    # No entity anywhere: macro is NaN in seqeval, micro and weighted are 0.
    res = seqeval_compat([["O", "O"]], [["O", "O"]], average="macro")
    ref = seqeval_reference([["O", "O"]], [["O", "O"]], average="macro")
    assert_matches(res, ref)
    assert math.isnan(res.macro.f1) and math.isnan(res.f1) and res.micro.f1 == 0.0
    assert any("NaN" in n for n in res.notes)
    assert any("UndefinedMetricWarning" in n for n in res.notes)
    # A type never predicted: its precision is undefined and reported as 0.0 (or 1.0).
    gold, pred = [["B-X", "O", "B-Y"]], [["B-X", "O", "O"]]
    res = seqeval_compat(gold, pred)
    assert res.per_type["Y"].precision == 0.0
    assert any("['Y']" in n and "precision" in n for n in res.notes)
    res1 = seqeval_compat(gold, pred, zero_division=1)
    assert res1.per_type["Y"].precision == 1.0
    assert_matches(res1, seqeval_reference(gold, pred, zero_division=1))
    # No token: seqeval's accuracy divides by zero; no sentence: seqeval raises TypeError.
    res = seqeval_compat([[]], [[]])
    assert math.isnan(res.accuracy) and any("ZeroDivisionError" in n for n in res.notes)
    res = seqeval_compat([], [])
    assert res.per_type == {} and any("TypeError" in n for n in res.notes)
    with pytest.raises(TypeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seqeval_metrics.classification_report([], [], output_dict=True)
    # scheme without mode="strict" is ignored, as in seqeval.
    res = seqeval_compat([["I-X"]], [["I-X"]], scheme="IOB2")
    assert res.counts == {"X": {"tp": 1, "pred": 1, "true": 1}}
    assert any("ignored" in n for n in res.notes)


def test_result_objects() -> None:
    res = seqeval_compat([["B-X", "I-X", "O"]], [["B-X", "I-X", "O"]])
    d = res.to_dict()
    assert d["report"]["X"] == {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1}
    assert d["f1"] == 1.0 and d["accuracy"] == 1.0
    assert set(res.definition) >= {"chunking", "match", "averaging", "duplicates"}
    with pytest.raises(AttributeError):
        res.f1 = 0.0
    with pytest.raises(ValueError, match="mode"):
        seqeval_compat([["O"]], [["O"]], mode="lenient")
    with pytest.raises(ValueError, match="average"):
        seqeval_compat([["O"]], [["O"]], average="samples")

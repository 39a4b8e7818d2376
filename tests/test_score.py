"""Scoring: the CLUENER regression figures, nervaluate 1.2.1 differential tests on real corpora
with noisy predictions and on generated cases, oracles for the string level and duplicates,
the error taxonomy, bootstrap intervals, the paired comparison and the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nerlm
from nerlm import Entity, Example, ReadReport, compat

from .conftest import CLUENER, SHARED
from .test_tags import FILES as TAGGED_FILES
from .test_tags import read_tags

nervaluate = pytest.importorskip("nervaluate")


def _official(name: str, **kw: Any) -> nerlm.ScoreResult:
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    pred = nerlm.read_cluener(
        CLUENER / name, texts=[g.text for g in gold], ids=[g.id for g in gold]
    )
    return nerlm.score(gold, pred, labels=nerlm.CLUENER_LABELS, split="dev", **kw)


def _cluener_pair(name: str) -> tuple[list[Example], list[Example]]:
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    pred = nerlm.read_cluener(
        CLUENER / name, texts=[g.text for g in gold], ids=[g.id for g in gold]
    )
    return gold, pred


# -------------------------------------------------------------------------------------------
# anchors (../shared/README.md)


@pytest.mark.parametrize(
    ("name", "strict", "counts", "string", "official"),
    [
        ("official_ner_predict.json", 0.6457, (1714, 523, 1358), 0.6580, 0.6472),
        ("official_ner_predict_large.json", 0.6556, (1758, 533, 1314), 0.6687, 0.6652),
    ],
)
def test_cluener_anchors(
    name: str, strict: float, counts: tuple[int, int, int], string: float, official: float
) -> None:
    gold, pred = _cluener_pair(name)
    r = nerlm.score(gold, pred, labels=nerlm.CLUENER_LABELS, split="dev")
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == counts
    assert round(r.micro.f1, 4) == strict
    assert r.problems == {}
    s = nerlm.score(gold, pred, level="string")
    assert round(s.micro.f1, 4) == string
    if name == "official_ner_predict.json":
        assert (s.micro.tp, s.micro.fp, s.micro.fn) == (1717, 520, 1265)
    c = compat.cluener(gold, pred)
    assert round(c.values["f1_macro"], 4) == official
    assert c.notes == []


def test_string_level_gold_counts() -> None:
    gold, _ = _cluener_pair("official_ner_predict.json")
    s = nerlm.score(gold, gold, level="string")
    # 3,072 gold spans, 2,982 unique (label, surface) pairs per sentence.
    assert s.counts["gold_strings"] == 3072
    assert s.counts["gold_duplicates"] == 3072 - 2982
    assert s.micro.f1 == 1.0
    m = nerlm.score(gold, gold, level="string", duplicates="multiset")
    assert m.micro.tp == 3072


# -------------------------------------------------------------------------------------------
# nervaluate 1.2.1, bit for bit


def _as_dicts(docs: list[Example]) -> list[list[dict[str, Any]]]:
    return [
        [{"label": e.label, "start": e.start, "end": e.end - 1} for e in d.entities] for d in docs
    ]


def _reference(true: Any, pred: Any, tags: list[str], pct: float = 1.0) -> dict[str, Any]:
    out = nervaluate.Evaluator(true, pred, tags=tags, min_overlap_percentage=pct).evaluate()
    keys = ("correct", "incorrect", "partial", "missed", "spurious", "precision", "recall", "f1",
            "actual", "possible")  # fmt: skip
    return {
        "overall": {m: {k: getattr(v, k) for k in keys} for m, v in out["overall"].items()},
        "entities": {
            t: {m: {k: getattr(v, k) for k in keys} for m, v in ms.items()}
            for t, ms in out["entities"].items()
        },
    }


def _same(ours: dict[str, Any], ref: dict[str, Any]) -> None:
    assert set(ours["entities"]) == set(ref["entities"])
    for m, v in ref["overall"].items():
        for k, x in v.items():
            assert ours["overall"][m][k] == pytest.approx(x, abs=1e-12), (m, k)
    for t, ms in ref["entities"].items():
        for m, v in ms.items():
            for k, x in v.items():
                assert ours["entities"][t][m][k] == pytest.approx(x, abs=1e-12), (t, m, k)


def _noisy(gold: list[Example], labels: list[str], seed: int) -> list[Example]:
    """Seeded noise: boundary shifts, label swaps, deletions, insertions, duplicates."""
    rng = random.Random(seed)
    out = []
    for g in gold:
        n = len(g.text)
        ents: list[Entity] = []
        for e in g.entities:
            x = rng.random()
            if x < 0.1:
                continue  # deletion
            s, t, lab = e.start, e.end, e.label
            if x < 0.25:
                s = max(0, min(s + rng.choice((-1, 1)), t - 1))
            elif x < 0.4:
                t = min(n, max(t + rng.choice((-1, 1)), s + 1))
            elif x < 0.5:
                lab = rng.choice(labels)
            ents.append(Entity(s, t, lab, g.text[s:t]))
            if rng.random() < 0.05:
                ents.append(Entity(s, t, lab, g.text[s:t]))  # duplicate
        if n > 1 and rng.random() < 0.2:
            s = rng.randrange(n - 1)
            t = min(n, s + rng.randint(1, 4))
            ents.append(Entity(s, t, rng.choice(labels), g.text[s:t]))  # insertion
        rng.shuffle(ents)
        out.append(Example(g.id, g.text, ents))
    return out


def _tagged_corpus(rel: str, scheme: str, limit: int) -> list[Example]:
    """The first ``limit`` sentences of a character-tagged file as documents (the characters
    do not matter for scoring: the text is a placeholder of the right length)."""
    tags = read_tags(SHARED / "data" / rel)[:limit]
    docs = []
    for k, (seq, spans) in enumerate(
        zip(tags, nerlm.spans_from_tags(tags, scheme=scheme), strict=True)
    ):
        text = "x" * len(seq)
        ents = sorted(Entity(s, e, t, text[s:e]) for t, s, e in spans)
        docs.append(Example(f"{rel}-{k}", text, ents))
    return docs


@pytest.mark.parametrize(
    "pred_file", ["official_ner_predict.json", "official_ner_predict_large.json"]
)
def test_nervaluate_on_cluener(pred_file: str) -> None:
    gold, pred = _cluener_pair(pred_file)
    tags = list(nerlm.CLUENER_LABELS)
    ref = _reference(_as_dicts(gold), _as_dicts(pred), tags)
    _same(compat.nervaluate(_as_dicts(gold), _as_dicts(pred), tags), ref)
    # nerlm's own modes pair identical spans first: never fewer COR than nervaluate's single
    # in-order pass, and the same gold and predicted totals.
    own = nerlm.score(gold, pred, duplicates="multiset")
    for mode, ref_mode in (("strict", "strict"), ("exact", "exact"), ("partial", "partial"),
                           ("type", "ent_type")):  # fmt: skip
        m = own.modes[mode].micro
        r = ref["overall"][ref_mode]
        assert m.correct >= r["correct"]
        assert (m.possible, m.actual) == (r["possible"], r["actual"])


@pytest.mark.parametrize("corpus", sorted(TAGGED_FILES))
def test_nervaluate_on_tagged_corpora_with_noise(corpus: str) -> None:
    rel, scheme = TAGGED_FILES[corpus]
    gold = _tagged_corpus(rel, scheme, limit=1500)
    labels = sorted({e.label for g in gold for e in g.entities})
    pred = _noisy(gold, labels, seed=hash(corpus) % 1000)
    ref = _reference(_as_dicts(gold), _as_dicts(pred), labels)
    _same(compat.nervaluate(_as_dicts(gold), _as_dicts(pred), labels), ref)


def test_nervaluate_tag_lists() -> None:
    rng = random.Random(5)
    types = ["PER", "LOC"]
    true, pred = [], []
    for _ in range(300):
        n = rng.randint(0, 12)
        t = [rng.choice(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]) for _ in range(n)]
        p = [x if rng.random() < 0.7 else rng.choice(["O", "B-PER", "I-LOC"]) for x in t]
        true.append(t)
        pred.append(p)
    _same(compat.nervaluate(true, pred, types), _reference(true, pred, types))
    with pytest.raises(ValueError, match="Document 0 has different lengths"):
        compat.nervaluate([["O"]], [["O", "O"]], types)


span = st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 20), st.integers(0, 6))
doc = st.lists(span, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(doc, doc), min_size=1, max_size=8),
    st.sampled_from([1.0, 30.0, 50.0, 100.0]),
)
def test_nervaluate_generated(pairs: list[tuple[Any, Any]], pct: float) -> None:
    """Overlapping, nested, repeated and empty cases, several overlap thresholds."""

    def dicts(d: Any) -> list[dict[str, Any]]:
        return [{"label": lab, "start": s, "end": s + w} for lab, s, w in d]

    true = [dicts(t) for t, _ in pairs]
    pred = [dicts(p) for _, p in pairs]
    if not true[0]:
        # nervaluate's loader inference needs a dict in the first document.
        true[0] = [{"label": "A", "start": 0, "end": 0}]
    tags = ["A", "B"]
    _same(compat.nervaluate(true, pred, tags, min_overlap_percentage=pct),
          _reference(true, pred, tags, pct))  # fmt: skip


# -------------------------------------------------------------------------------------------
# oracles


def _docs(rng: random.Random, n: int, labels: list[str]) -> list[Example]:
    out = []
    for i in range(n):
        text = "x" * 30
        ents = []
        for _ in range(rng.randint(0, 5)):
            s = rng.randint(0, 25)
            e = s + rng.randint(1, 4)
            ents.append(Entity(s, e, rng.choice(labels), text[s:e]))
        out.append(Example(str(i), text, ents))
    return out


def test_strict_set_matches_python_oracle() -> None:
    rng = random.Random(3)
    labels = ["a", "b", "c"]
    gold, pred = _docs(rng, 300, labels), _docs(rng, 300, labels)
    r = nerlm.score(gold, pred, labels=labels)
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        gs = {(e.label, e.start, e.end) for e in g.entities}
        ps = {(e.label, e.start, e.end) for e in p.entities}
        tp, fp, fn = tp + len(gs & ps), fp + len(ps - gs), fn + len(gs - ps)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (tp, fp, fn)
    assert r.micro.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert sum(m.tp for m in r.per_label.values()) == tp
    exact = sum(
        {(e.label, e.start, e.end) for e in g.entities}
        == {(e.label, e.start, e.end) for e in p.entities}
        for g, p in zip(gold, pred, strict=True)
    )
    assert r.doc_exact_match["exact"] == exact


def _deepke_reference(gold: list[list[tuple[str, str]]], pred: list[list[tuple[str, str]]],
                      mode: str) -> dict[str, float]:  # fmt: skip
    """DeepKE's NERMetric as its issue describes it (list removal, percent rounding)."""
    tp = gold_n = pred_n = 0
    for g, p in zip(gold, pred, strict=True):
        gl, pl = (list(set(g)), list(set(p))) if mode == "set" else (list(g), list(p))
        gold_n += len(gl)
        pred_n += len(pl)
        left = list(gl)
        for x in pl:
            if x in left:
                tp += 1
                left.remove(x)
    P = round(tp / pred_n * 100, 2) if pred_n else 0.0
    R = round(tp / gold_n * 100, 2) if gold_n else 0.0
    return {"P": P, "R": R, "F1": round(2 * P * R / (P + R), 2) if P + R else 0.0}


@pytest.mark.parametrize("mode", ["normal", "set"])
def test_deepke_matches_its_definition(mode: str) -> None:
    gold, pred = _cluener_pair("official_ner_predict.json")
    rng = random.Random(11)
    pred = _noisy(pred, list(nerlm.CLUENER_LABELS), seed=2)
    for p in pred[:50]:
        if p.entities:
            p.entities.append(rng.choice(p.entities))  # repeats matter in normal mode
    got = compat.deepke(gold, pred, match_mode=mode).values
    ref = _deepke_reference(
        [[(e.text, e.label) for e in g.entities] for g in gold],
        [[(e.text, e.label) for e in p.entities] for p in pred],
        mode,
    )
    assert {k: got[k] for k in ("P", "R", "F1")} == ref


def test_cluener_undefined_is_noted() -> None:
    gold = [Example("1", "张三去北京", [Entity(0, 2, "name", "张三")])]
    pred = [Example("1", "张三去北京", [])]
    c = compat.cluener(gold, pred, labels=["name", "address"])
    assert c.values["f1_macro"] == 0.0
    assert any("'address'" in n and "ZeroDivisionError" in n for n in c.notes)


# -------------------------------------------------------------------------------------------
# policies, taxonomy, breakdowns, intervals


def test_duplicates_policy() -> None:
    g = [Example("1", "abcdef", [Entity(0, 2, "x", "ab")])]
    p = [Example("1", "abcdef", [Entity(0, 2, "x", "ab"), Entity(0, 2, "x", "ab")])]
    s = nerlm.score(g, p)
    assert (s.micro.tp, s.micro.fp, s.counts["pred_duplicates"]) == (1, 0, 1)
    m = nerlm.score(g, p, duplicates="multiset")
    assert (m.micro.tp, m.micro.fp, m.micro.spurious) == (1, 1, 1)
    assert m.doc_exact_match["exact"] == 0


def test_error_taxonomy() -> None:
    text = "abcdefghijklmnopqrstuvwxyz"
    gold = [Example("1", text, [
        Entity(0, 3, "A", "abc"),      # predicted exactly
        Entity(5, 8, "A", "fgh"),      # predicted as B: type confusion
        Entity(10, 13, "A", "klm"),    # predicted [10, 14): right-extend
        Entity(15, 18, "B", "pqr"),    # predicted [16, 18) as A: type and boundary
        Entity(20, 22, "B", "uv"),     # missed
    ])]  # fmt: skip
    pred = [Example("1", text, [
        Entity(0, 3, "A", "abc"),
        Entity(5, 8, "B", "fgh"),
        Entity(10, 14, "A", "klmn"),
        Entity(16, 18, "A", "qr"),
        Entity(23, 25, "A", "xy"),     # spurious
    ])]  # fmt: skip
    report = ReadReport()
    report.add("parse_failure", "x:1")
    report.add("ungrounded", "x:1")
    report.unscorable.append((0, "B"))
    r = nerlm.score(gold, pred, report=report)
    e = r.errors
    assert e is not None
    assert e.type_confusions == 1 and e.type_and_boundary == 1
    assert e.boundary == {"right-extend": 1}
    assert e.missed == 1 and e.spurious == 2  # one without overlap, one ungrounded
    assert e.parse_failures == 1 and e.ungrounded == 1
    names = e.confusion_labels
    assert names == ["A", "B", "(none)"]
    assert e.confusion[0][0] == 1 and e.confusion[0][1] == 1  # A→A, A→B
    assert e.confusion[1][2] == 1 and e.confusion[2][0] == 1  # B missed, spurious A
    strict = r.modes["strict"].micro
    assert (strict.correct, strict.incorrect, strict.missed, strict.spurious) == (1, 3, 1, 2)
    assert r.modes["type"].micro.correct == 2
    assert r.modes["partial"].micro.partial == 2 and r.modes["exact"].micro.correct == 2


def test_breakdowns_by_source_and_length() -> None:
    gold = [
        Example("1", "abcdef", [Entity(0, 1, "x", "a")], {"source": "s1"}),
        Example("2", "abcdef", [Entity(0, 5, "x", "abcde")], {"source": "s2"}),
    ]
    pred = [Example("1", "abcdef", [Entity(0, 1, "x", "a")]), Example("2", "abcdef")]
    r = nerlm.score(gold, pred)
    assert r.by_source["s1"]["strict"].f1 == 1.0
    assert r.by_source["s2"]["strict"].missed == 1
    assert r.by_length["1"]["strict"].correct == 1
    assert r.by_length["5-6"]["strict"].missed == 1


def test_bootstrap_and_compare() -> None:
    gold, pred = _cluener_pair("official_ner_predict.json")
    _, large = _cluener_pair("official_ner_predict_large.json")
    a = nerlm.score(gold, pred, bootstrap=200, seed=1)
    b = nerlm.score(gold, pred, bootstrap=200, seed=1)
    assert a.intervals == b.intervals
    lo, hi = a.intervals["f1"]
    assert lo < a.micro.f1 < hi
    c = nerlm.compare(gold, pred, large, resamples=300, seed=0)
    assert c.delta == pytest.approx(0.6556 - 0.6457, abs=1e-3)
    assert c.interval[0] < c.delta < c.interval[1]
    same = nerlm.compare(gold, pred, pred, resamples=50)
    assert same.delta == 0.0 and same.p_value == 1.0


def test_bad_input_is_located() -> None:
    gold = [Example("d1", "张三", [Entity(0, 2, "name", "张三")]), Example("d2", "李四")]
    pred = [Example("d1", "张三", [Entity(0, 2, "person", "张三")])]
    with pytest.raises(ValueError, match=r"'d1'.*'person', which is not in the label set"):
        nerlm.score(gold, pred, labels=["name"])
    r = nerlm.score(gold, pred, labels=["name"], lenient=True)
    assert r.problems == {"missing_prediction": 1, "unknown_label": 1}
    assert r.per_label["person"].fp == 1 and r.micro.fn == 1
    with pytest.raises(ValueError, match="not a gold id"):
        nerlm.score(gold, [Example("9", "x")])
    with pytest.raises(ValueError, match=r"'d1'.*\[0, 3\) is not a span"):
        nerlm.score(gold, [Example("d1", "张三", [Entity(0, 3, "name", "张三")])])
    bad_gold = [Example("g", "ab", [Entity(1, 1, "x", "")])]
    with pytest.raises(ValueError, match="gold document 'g'"):
        nerlm.score(bad_gold, [])


def test_numpy_kernel_errors_name_the_span() -> None:
    import numpy as np

    z = np.zeros(1, np.int64)
    with pytest.raises(nerlm.ShapeError, match="pred span 0 \\(document 0\\): label id 7"):
        nerlm._native.score_spans(z, z, z, z + 1, z, z + 7, z, z + 1, 1, 2)
    with pytest.raises(nerlm.OffsetError, match="gold span 0"):
        nerlm._native.score_spans(z, z, z + 2, z + 1, z, z, z, z + 1, 1, 2)


# -------------------------------------------------------------------------------------------
# CLI


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "nerlm.cli", "score", "--gold", str(CLUENER / "dev.json"),
           "--gold-format", "cluener", "--pred-format", "cluener", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def test_cli_json_output() -> None:
    out = json.loads(_cli("--pred", str(CLUENER / "official_ner_predict.json"), "--json").stdout)
    assert out["micro"]["tp"] == 1714 and out["micro"]["fp"] == 523 and out["micro"]["fn"] == 1358
    assert round(out["micro"]["f1"], 4) == 0.6457
    assert set(out["per_label"]) == set(nerlm.CLUENER_LABELS)
    assert set(out["modes"]) == {"strict", "exact", "partial", "type"}
    assert "strict span" in out["definition"]["match"]
    assert out["errors"]["confusion_labels"][-1] == "(none)"


def test_cli_compat_and_compare() -> None:
    pred = str(CLUENER / "official_ner_predict.json")
    out = json.loads(_cli("--pred", pred, "--compat", "cluener", "--json").stdout)
    assert round(out["values"]["f1_macro"], 4) == 0.6472
    txt = _cli("--pred", str(CLUENER / "official_ner_predict.json"),
               "--compare", str(CLUENER / "official_ner_predict_large.json"),
               "--bootstrap", "100").stdout  # fmt: skip
    assert "paired bootstrap" in txt and "B − A +0.0099" in txt


def test_cli_line_count_mismatch(tmp_path: Path) -> None:
    p = tmp_path / "short.json"
    p.write_text('{"label": {}}\n', encoding="utf-8")
    r = _cli("--pred", str(p), check=False)
    assert r.returncode == 2
    assert "1 records but the reference has 1343 texts" in r.stderr


def test_extraction_outputs_feed_the_taxonomy(tmp_path: Path) -> None:
    gold = [Example("1", "张三去北京", [Entity(0, 2, "name", "张三")])]
    rows = [{"id": "1", "text": "张三去北京", "raw_outputs": ["{"], "parsed": False,
             "parse_errors": ["unexpected end (the output is truncated)"],
             "entities": [{"start": -1, "end": -1, "label": "name", "text": "王五",
                           "status": "ungrounded"}]}]  # fmt: skip
    p = tmp_path / "pred.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    report = ReadReport()
    pred = nerlm.read_jsonl(p, report=report)
    r = nerlm.score(gold, pred, report=report)
    assert r.errors is not None
    assert (r.errors.parse_failures, r.errors.truncated, r.errors.ungrounded) == (1, 1, 1)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (0, 1, 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "1", "text": "张三", "entities": [
        {"start": 0, "end": 5, "label": "name", "text": "张三"}]}, ensure_ascii=False) + "\n",
        "utf-8")  # fmt: skip
    with pytest.raises(nerlm.DataFormatError, match=r"bad.jsonl:1.*span out of range"):
        nerlm.read_jsonl(bad, report=ReadReport())
    lenient = ReadReport()
    nerlm.read_jsonl(bad, report=lenient, lenient=True)
    assert lenient.counts["span_out_of_range"] == 1


def test_score_arrays_fast_path() -> None:
    import numpy as np

    gold, pred = _cluener_pair("official_ner_predict.json")
    labels = list(nerlm.CLUENER_LABELS)
    ids = {lab: i for i, lab in enumerate(labels)}

    def cols(docs: list[Example]) -> dict[str, Any]:
        rows = [(i, ids[e.label], e.start, e.end) for i, d in enumerate(docs) for e in d.entities]
        a = np.array(rows, np.int64)
        return {"doc": a[:, 0], "label": a[:, 1], "start": a[:, 2], "end": a[:, 3]}

    r = nerlm.score_arrays(cols(gold), cols(pred), n_docs=len(gold), labels=labels)
    ref = nerlm.score(gold, pred, labels=labels)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1714, 523, 1358)
    from nerlm.score import MODES

    for m in MODES:
        assert r.modes[m].micro == ref.modes[m].micro
    assert r.errors is not None and ref.errors is not None
    assert r.errors.confusion == ref.errors.confusion


def test_tag_compat_on_documents_matches_seqeval() -> None:
    from seqeval.metrics import f1_score

    gold, pred = _cluener_pair("official_ner_predict.json")
    c = compat.score_compat("seqeval", gold, pred)
    y_true = nerlm.tags_from_spans(
        [sorted({(e.label, e.start, e.end) for e in g.entities}, key=lambda x: x[1:])
         for g in gold], [len(g.text) for g in gold])  # fmt: skip
    y_pred = nerlm.tags_from_spans(
        [sorted({(e.label, e.start, e.end) for e in p.entities}, key=lambda x: x[1:])
         for p in pred], [len(g.text) for g in gold])  # fmt: skip
    assert c.values["f1"] == f1_score(y_true, y_pred)
    # CLUENER spans do not overlap, so seqeval's default F1 is the strict span F1.
    assert round(c.values["f1"], 4) == 0.6457
    conll = compat.score_compat("conlleval", gold, pred)
    assert round(conll.values["FB1"], 2) == 64.57

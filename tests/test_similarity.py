"""Text similarity: differential tests against rouge-chinese 1.0.3, nltk and jieba 0.42.1.

The references run here exactly as their callers run them (LLaMA-Factory's
``ComputeSimilarity``, DeepKE's ``RougeMetric``, and the plain reference functions for nerlm's
own presets) on CLUENER dev texts, on prediction-like strings made from them by a seeded random
generator, on hand-picked edge cases and on generated strings; nerlm must give the same floats.
"""

from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerlm import _native
from nerlm.similarity import PRESETS, SimilarityResult, cut_words, text_similarity

from .conftest import CLUENER

jieba = pytest.importorskip("jieba")
rouge_chinese = pytest.importorskip("rouge_chinese")
bleu_score = pytest.importorskip("nltk.translate.bleu_score")

jieba.setLogLevel(logging.WARNING)
_ROUGE = rouge_chinese.Rouge()
_METHOD3 = bleu_score.SmoothingFunction().method3
_KEYS = ("rouge-1", "rouge-2", "rouge-l")

# ---------------------------------------------------------------------------------------------
# Data


def _dev() -> list[dict[str, Any]]:
    with open(CLUENER / "dev.json", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


DEV = _dev()
DEV_TEXTS = [d["text"] for d in DEV]


def _outputs(example: dict[str, Any]) -> list[str]:
    """Reference outputs an LLM is trained to write for an example, in two common formats."""
    label: dict[str, dict[str, Any]] = example.get("label", {})
    as_json = json.dumps({k: sorted(v) for k, v in sorted(label.items())}, ensure_ascii=False)
    lines = "\n".join(f"{k}: {'；'.join(sorted(v))}" for k, v in sorted(label.items())) or "无"
    return [as_json, lines]


_NOISE = list("。！？?，、“”‘’…. .;:-_%+#&\n\t\u3000\r\x1cabcXYZ0189的了是在")


def _perturb(rng: random.Random, text: str) -> str:
    """A prediction-like variant of ``text``: edits a model might make, or degenerate output."""
    kind = rng.randrange(12)
    chars = list(text)
    if kind == 0:
        return text
    if kind == 1 and chars:  # deletions
        for _ in range(rng.randint(1, max(1, len(chars) // 4))):
            if chars:
                del chars[rng.randrange(len(chars))]
    elif kind == 2:  # insertions of noise or of characters of other texts
        pool = _NOISE + list(rng.choice(DEV_TEXTS))
        for _ in range(rng.randint(1, 6)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(pool))
    elif kind == 3 and len(chars) > 1:  # swaps
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif kind == 4:  # truncation
        chars = chars[: rng.randint(0, len(chars))]
    elif kind == 5:  # repetition, as degenerate generation does
        if chars:
            i = rng.randrange(len(chars))
            chars = chars + chars[i : i + rng.randint(1, 8)] * rng.randint(1, 4)
    elif kind == 6:
        return rng.choice(["", " ", "\n", " \t\u3000 ", "\r\n", "\n \n"])
    elif kind == 7 and chars:  # a single character
        return rng.choice(chars)
    elif kind == 8 and chars:  # fewer than four tokens
        i = rng.randrange(len(chars))
        return "".join(chars[i : i + rng.randint(1, 3)])
    elif kind == 9:  # another example's text
        return rng.choice(DEV_TEXTS)
    elif kind == 10:  # whitespace and line noise
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randint(0, len(chars)), rng.choice([" ", "\n", "\n \n", "  ", "\t"]))
    else:  # sentence punctuation that rouge-chinese cuts at
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(["。", "？”", "！’", "......", "……", "?", "。”，"])
            chars.insert(rng.randint(0, len(chars)), p)
    return "".join(chars)


def _pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    preds: list[str] = []
    refs: list[str] = []
    for _ in range(n):
        ex = rng.choice(DEV)
        ref = rng.choice([ex["text"], *_outputs(ex)])
        preds.append(_perturb(rng, ref))
        refs.append(ref if rng.random() < 0.9 else _perturb(rng, ref))
    return preds, refs


EDGE_CASES: list[tuple[str, str]] = [
    ("", ""),
    ("", "张三"),
    ("张三", ""),
    (" ", "张三"),
    ("\n", "\n"),
    (" \t\u3000", "  "),
    ("张", "张"),
    ("张", "三"),
    ("张三", "张三"),
    ("张三在", "张三在北京"),
    ("a b", "a  b"),
    ("北京。", "北京。"),
    ("你好。世界", "你好世界"),
    ("他说：“好。”然后", "他说好然后"),
    ("。。。a", "。a"),
    ("......a.......b", "a b"),
    ("……a…x", "a x"),
    ("？’”。x", "x"),
    ("a\n \nb", "a b"),
    ("a\n\nb", "a b"),
    ("a\r\nb", "a b"),
    ("a\x1cb", "ab"),
    ("K-1 v1.2.3 7.90M", "K-1"),
    ("㐀㐁人民𠀀a鿖中国", "人民中国"),
    ('{"name": ["彭小军"]}', '{"address": ["台湾"], "name": ["彭小军"]}'),
    ("name: 彭小军\naddress: 台湾", "address: 台湾\nname: 彭小军"),
    ("的的的的的的的的", "的"),
    ("ab", "abcdefgh"),
    ("abcdefgh", "ab"),
    ("abc", "abc"),
    ("abcd", "abcd"),
]

# ---------------------------------------------------------------------------------------------
# The references, run as their callers run them


def _rouge_f(hyp: str, ref: str) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = _ROUGE.get_scores(hyp, ref)[0]
    return scores


def _bleu(reference: list[str], hypothesis: list[str]) -> float:
    return float(bleu_score.sentence_bleu([reference], hypothesis, smoothing_function=_METHOD3))


def ref_llamafactory(preds: list[str], labels: list[str]) -> tuple[dict[str, list[float]], Any]:
    """LLaMA-Factory ComputeSimilarity.__call__ and _dump."""
    score_dict: dict[str, list[float]] = {"rouge-1": [], "rouge-2": [], "rouge-l": [], "bleu-4": []}
    for pred, label in zip(preds, labels, strict=True):
        hypothesis = list(jieba.cut(pred))
        reference = list(jieba.cut(label))
        if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
            result: dict[str, dict[str, float]] = {
                "rouge-1": {"f": 0.0},
                "rouge-2": {"f": 0.0},
                "rouge-l": {"f": 0.0},
            }
        else:
            result = _rouge_f(" ".join(hypothesis), " ".join(reference))
        for k, v in result.items():
            score_dict[k].append(round(v["f"] * 100, 4))
        bleu = bleu_score.sentence_bleu([list(label)], list(pred), smoothing_function=_METHOD3)
        score_dict["bleu-4"].append(round(bleu * 100, 4))
    return score_dict, {k: float(np.mean(v)) for k, v in score_dict.items()}


def ref_deepke(preds: list[str], golds: list[str]) -> tuple[list[list[float]], dict[str, float]]:
    """DeepKE RougeMetric: per-example F of rouge-1/2/l and the reported percentages."""
    per: list[list[float]] = []
    sums = [0.0, 0.0, 0.0]
    for pred, gold in zip(preds, golds, strict=True):
        hyp = " ".join(jieba.cut(pred.strip()))
        ref = " ".join(jieba.cut(gold.strip()))
        if (not hyp) != (not ref):
            f = [0.0, 0.0, 0.0]
        elif not hyp:
            f = [1.0, 1.0, 1.0]
        else:
            s = _rouge_f(hyp, ref)
            f = [s[k]["f"] for k in _KEYS]
        per.append(f)
        sums = [a + b for a, b in zip(sums, f, strict=True)]
    count = len(preds)
    scores = {k: (round(sums[i] / count * 100, 2) if count else 0) for i, k in enumerate(_KEYS)}
    return per, scores


def _nerlm_tokens(text: str, level: str) -> list[str]:
    if level == "char":
        return [c for c in text if not c.isspace()]
    return [w for w in jieba.cut(text) if not w.isspace()]


def ref_nerlm(pred: str, ref: str, level: str) -> list[float]:
    """nerlm-char / nerlm-word: P, R, F of rouge-1/2/l, then BLEU-4 (the native column order)."""
    h, r = _nerlm_tokens(pred, level), _nerlm_tokens(ref, level)
    if not h and not r:
        rouge = [1.0] * 9
    elif not h or not r:
        rouge = [0.0] * 9
    else:
        s = _rouge_f(" ".join(h), " ".join(r))
        rouge = [s[k][x] for k in _KEYS for x in ("p", "r", "f")]
    return [*rouge, _bleu(r, h)]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# ---------------------------------------------------------------------------------------------
# jieba


def test_words_agree_with_python_jieba_on_all_cluener_dev_texts() -> None:
    # jieba-rs 0.11 on its own differs from Python jieba on 28 of the 1,343 dev texts (and 240
    # of the 10,748 train texts), all through its HMM stage joining ASCII runs across `.`, `_`
    # and `-` (`san-hothk`, `2017-07-13`, `7.90M`, `scofcom.gov.cn`); nerlm's cut_words splits
    # those runs as Python jieba does, and agrees on every dev text.
    ours = cut_words(DEV_TEXTS)
    theirs = [list(jieba.cut(t)) for t in DEV_TEXTS]
    disagree = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert disagree == []
    assert len(DEV_TEXTS) == 1343
    assert all("".join(w) == t for w, t in zip(ours, DEV_TEXTS, strict=True))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # jieba-rs 0.11 alone: ['san-hothk'], ['2017-07-13'], ['7.90M'], ['scofcom.gov.cn'],
        # ['1.613.515.61'], ['LGD.sGty']: the cases behind its dev disagreements.
        ("san-hothk", ["san", "-", "hothk"]),
        ("于2017-07-13发布", ["于", "2017", "-", "07", "-", "13", "发布"]),
        ("涨到7.90M", ["涨到", "7.90", "M"]),
        ("见scofcom.gov.cn", ["见", "scofcom", ".", "gov", ".", "cn"]),
        ("共1.613.515.61元", ["共", "1.613", ".", "515.61", "元"]),
        ("a_b-c%", ["a", "_", "b", "-", "c%"]),
        ("abc-", ["abc", "-"]),
        # jieba-rs 0.11 alone keeps CJK extension ideographs inside word blocks
        ("㐀㐁人民𠀀a鿖中国", ["㐀", "㐁", "人民", "𠀀", "a", "鿖", "中国"]),
        ("a b\r\nc\u3000d", ["a", " ", "b", "\r\n", "c", "\u3000", "d"]),
    ],
)
def test_known_jieba_rs_departures_are_corrected(text: str, words: list[str]) -> None:
    assert list(jieba.cut(text)) == words
    assert cut_words([text]) == [words]


def test_cut_words_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match="single string"):
        cut_words("张三")


# ---------------------------------------------------------------------------------------------
# Presets against their references


def test_llamafactory_preset_equals_compute_similarity() -> None:
    preds, refs = _pairs(400, seed=1)
    preds += [h for h, _ in EDGE_CASES]
    refs += [r for _, r in EDGE_CASES]
    per, means = ref_llamafactory(preds, refs)
    res = text_similarity(preds, refs, preset="llamafactory")
    for k in ("rouge-1", "rouge-2", "rouge-l", "bleu-4"):
        got = res.per_example[k].tolist()
        bad = [
            (i, preds[i], refs[i], got[i], per[k][i])
            for i in range(len(got))
            if got[i] != per[k][i]
        ]
        assert bad == [], k
        assert res.scores[k] == means[k], k


def test_deepke_preset_equals_rouge_metric() -> None:
    preds, refs = _pairs(300, seed=2)
    preds += [h for h, _ in EDGE_CASES]
    refs += [r for _, r in EDGE_CASES]
    per, scores = ref_deepke(preds, refs)
    res = text_similarity(preds, refs, preset="deepke")
    for j, k in enumerate(_KEYS):
        assert res.per_example[k].tolist() == [p[j] for p in per], k
        assert res.scores[k] == scores[k]
    assert "bleu-4" not in res.scores


@pytest.mark.parametrize("level", ["char", "word"])
def test_nerlm_presets_equal_the_reference_functions(level: str) -> None:
    preds, refs = _pairs(300, seed=3)
    preds += [h for h, _ in EDGE_CASES]
    refs += [r for _, r in EDGE_CASES]
    table = _native.text_similarity_batch(preds, refs, f"nerlm-{level}")
    assert table.shape == (len(preds), 10)
    for i, (h, r) in enumerate(zip(preds, refs, strict=True)):
        expected = ref_nerlm(h, r, level)
        assert table[i].tolist() == expected, (h, r)
    res = text_similarity(preds, refs, preset=f"nerlm-{level}")  # type: ignore[arg-type]
    assert res.scores["bleu-4"] == float(np.mean(table[:, 9]))
    assert res.scores["rouge-l"] == float(np.mean(table[:, 8]))
    assert res.precision["rouge-2"].tolist() == table[:, 3].tolist()
    assert res.recall["rouge-1"].tolist() == table[:, 1].tolist()


def test_dev_texts_against_each_other_at_both_levels() -> None:
    # Unperturbed real sentences paired with their neighbours: long inputs, little overlap.
    preds, refs = DEV_TEXTS[:150], DEV_TEXTS[1:151]
    for level in ("char", "word"):
        table = _native.text_similarity_batch(preds, refs, f"nerlm-{level}")
        for i in range(len(preds)):
            assert table[i].tolist() == ref_nerlm(preds[i], refs[i], level)


# ---------------------------------------------------------------------------------------------
# Generated cases

_ALPHABET = st.sampled_from(
    list("张三李四北京上海的了是在人民中国，、")
    + list("。！？?”’.…")
    + [" ", "\n", "\t", "\u3000", "\r", "\x1c", "\u2028"]
    + list("abAB019-_%")
)
_TEXT = st.text(_ALPHABET, max_size=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hyp=_TEXT, ref=_TEXT)
def test_generated_strings_all_presets(hyp: str, ref: str) -> None:
    for level in ("char", "word"):
        got = _native.text_similarity_batch([hyp], [ref], f"nerlm-{level}")[0].tolist()
        assert got == ref_nerlm(hyp, ref, level)
    per, _ = ref_llamafactory([hyp], [ref])
    lf = text_similarity([hyp], [ref], preset="llamafactory")
    assert {k: v.tolist() for k, v in lf.per_example.items()} == per
    dk_per, dk = ref_deepke([hyp], [ref])
    assert text_similarity([hyp], [ref], preset="deepke").scores == dk
    assert _native.text_similarity_batch([hyp], [ref], "deepke")[0, 2::3].tolist() == dk_per[0]


@settings(max_examples=150, deadline=None)
@given(
    words_h=st.lists(st.sampled_from(["甲", "乙", "丙", "丁", "x", "。", ""]), max_size=14),
    words_r=st.lists(st.sampled_from(["甲", "乙", "丙", "丁", "x", "。", ""]), max_size=14),
)
def test_generated_token_lists_bleu_and_rouge(words_h: list[str], words_r: list[str]) -> None:
    # Repeated tokens exercise clipping, set-based ROUGE-N and the LCS.
    h, r = "".join(words_h), "".join(words_r)
    got = _native.text_similarity_batch([h], [r], "nerlm-char")[0].tolist()
    assert got == ref_nerlm(h, r, "char")


# ---------------------------------------------------------------------------------------------
# Rounding and the public API


@settings(max_examples=300, deadline=None)
@given(x=st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_python_round_batch_equals_round(x: float) -> None:
    got = _native.python_round_batch(np.array([x]), 100.0, 4)[0]
    assert got == round(x * 100, 4)


def test_python_round_batch_on_ties_and_many_values() -> None:
    ties = [0.125, 0.375, 2.675, 0.5, 1.5, 2.5, 12.34565, 99.99995, 0.0, 1.0, 0.000005]
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [np.array(ties), rng.random(20_000), rng.integers(0, 10**6, 2000) / 10**6]
    )
    for scale, nd in ((1.0, 2), (1.0, 0), (100.0, 4), (100.0, 2)):
        got = _native.python_round_batch(values, scale, nd).tolist()
        assert got == [round(v * scale, nd) for v in values.tolist()]


def test_result_shape_definition_and_json() -> None:
    res = text_similarity(["张三在北京", ""], ["张三在上海", ""], preset="nerlm-word")
    assert isinstance(res, SimilarityResult)
    assert res.n == 2
    assert set(res.scores) == {"rouge-1", "rouge-2", "rouge-l", "bleu-4"}
    assert all(v.shape == (2,) and v.dtype == np.float64 for v in res.per_example.values())
    assert res.per_example["rouge-1"][1] == 1.0  # both empty
    assert res.per_example["bleu-4"][1] == 0.0  # nltk: empty hypothesis
    for key in ("source", "tokens", "rouge", "bleu", "smoothing", "empty", "rounding", "averaging"):
        assert res.definition[key]
    d = res.to_dict(per_example=True)
    assert json.loads(json.dumps(d)) == d
    assert d["per_example"]["rouge-1"][1] == 1.0
    assert "per_example" not in res.to_dict()
    with pytest.raises(AttributeError):
        res.n = 3  # type: ignore[misc]


@pytest.mark.parametrize("preset", PRESETS)
def test_no_examples(preset: str) -> None:
    res = text_similarity([], [], preset=preset)  # type: ignore[arg-type]
    assert res.n == 0
    for v in res.scores.values():
        assert math.isnan(v) if preset != "deepke" else v == 0.0


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"3 predictions but 2 references"):
        text_similarity(["a", "b", "c"], ["a", "b"])
    with pytest.raises(ValueError, match="unknown preset"):
        text_similarity(["a"], ["a"], preset="bleu")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single string"):
        text_similarity("ab", ["a", "b"])
    with pytest.raises(TypeError, match=r"references\[1\] is int"):
        text_similarity(["a", "b"], ["a", 1])  # type: ignore[list-item]
    with pytest.raises(_native.ShapeError, match="2 hypotheses but 1 references"):
        _native.text_similarity_batch(["a", "b"], ["a"], "nerlm-char")
    with pytest.raises(ValueError, match="unknown similarity preset"):
        _native.text_similarity_batch(["a"], ["a"], "x")


def test_mean_follows_the_preset() -> None:
    preds, refs = _pairs(50, seed=4)
    for preset in PRESETS:
        res = text_similarity(preds, refs, preset=preset)  # type: ignore[arg-type]
        for k, v in res.scores.items():
            if preset == "deepke":
                total = 0.0
                for x in res.per_example[k].tolist():
                    total += x
                assert _same(v, round(total / 50 * 100, 2))
            else:
                assert _same(v, float(np.mean(res.per_example[k])))


def test_cli_reads_llamafactory_predictions(tmp_path: Path) -> None:
    import subprocess
    import sys

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    rows = [
        {"prompt": "p", "predict": "张三是北京人", "label": "张三是上海人"},
        {"prompt": "p", "predict": "没有找到任何实体", "label": "没有找到任何实体"},
    ]
    f = tmp_path / "generated_predictions.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    cmd = [sys.executable, "-m", "nerlm.cli", "similarity", str(f), "--json"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    bleu = [
        round(sentence_bleu([list(r["label"])], list(r["predict"]),
                            smoothing_function=SmoothingFunction().method3) * 100, 4)
        for r in rows
    ]  # fmt: skip
    assert out["n"] == 2
    assert out["scores"]["bleu-4"] == sum(bleu) / 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"predict": 1}\n', "utf-8")
    r = subprocess.run([*cmd[:-2], str(bad)], capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "bad.jsonl:1" in r.stderr

"""Strict span scoring: the CLUENER regression figures and a pure-Python oracle."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

import nerlm
from nerlm import Entity, Example, ReadReport

from .conftest import CLUENER


def _official(name: str) -> nerlm.ScoreResult:
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    report = ReadReport()
    pred = nerlm.read_cluener(
        CLUENER / name,
        texts=[g.text for g in gold],
        ids=[g.id for g in gold],
        labels=nerlm.CLUENER_LABELS,
        report=report,
    )
    return nerlm.score(gold, pred, labels=nerlm.CLUENER_LABELS, split="dev", report=report)


def test_cluener_official_baselines() -> None:
    r = _official("official_ner_predict.json")
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1714, 523, 1358)
    assert round(r.micro.f1, 4) == 0.6457
    assert r.problems == {}
    large = _official("official_ner_predict_large.json")
    assert (large.micro.tp, large.micro.fp, large.micro.fn) == (1758, 533, 1314)
    assert round(large.micro.f1, 4) == 0.6556


def test_cli_json_output() -> None:
    cmd = [
        sys.executable, "-m", "nerlm.cli", "score",
        "--gold", str(CLUENER / "dev.json"),
        "--pred", str(CLUENER / "official_ner_predict.json"),
        "--gold-format", "cluener", "--pred-format", "cluener", "--json",
    ]  # fmt: skip
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert out["micro"]["tp"] == 1714 and out["micro"]["fp"] == 523 and out["micro"]["fn"] == 1358
    assert round(out["micro"]["f1"], 4) == 0.6457
    assert set(out["per_label"]) == set(nerlm.CLUENER_LABELS)
    assert set(out["per_label"]["name"]) >= {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert "strict span" in out["definition"]["match"]


def test_cli_line_count_mismatch(tmp_path: object) -> None:
    from pathlib import Path

    p = Path(str(tmp_path)) / "short.json"
    p.write_text('{"label": {}}\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "nerlm.cli", "score", "--gold", str(CLUENER / "dev.json"),
           "--pred", str(p), "--gold-format", "cluener", "--pred-format", "cluener"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode == 2
    assert "1 records but the reference has 1343 texts" in r.stderr


def test_matches_python_oracle() -> None:
    rng = random.Random(3)
    labels = ["a", "b", "c"]
    gold, pred = [], []
    for i in range(300):
        text = "x" * 30

        def spans(text: str = text) -> list[Entity]:
            out = []
            for _ in range(rng.randint(0, 5)):
                s = rng.randint(0, 25)
                e = s + rng.randint(1, 4)
                out.append(Entity(s, e, rng.choice(labels), text[s:e]))
            return out

        gold.append(Example(str(i), text, spans()))
        pred.append(Example(str(i), text, spans()))
    r = nerlm.score(gold, pred, labels=labels)
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        gs = {(e.label, e.start, e.end) for e in g.entities}
        ps = {(e.label, e.start, e.end) for e in p.entities}
        tp, fp, fn = tp + len(gs & ps), fp + len(ps - gs), fn + len(gs - ps)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (tp, fp, fn)
    assert r.micro.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert sum(m.tp for m in r.per_label.values()) == tp


def test_unknown_labels_and_missing_predictions_are_counted() -> None:
    gold = [Example("1", "张三", [Entity(0, 2, "name", "张三")]), Example("2", "李四")]
    pred = [Example("1", "张三", [Entity(0, 2, "person", "张三")])]
    r = nerlm.score(gold, pred, labels=["name"])
    assert r.problems == {"missing_prediction": 1, "unknown_label": 1}
    assert r.per_label["person"].fp == 1
    assert r.micro.fn == 1
    with pytest.raises(ValueError, match="not a gold id"):
        nerlm.score(gold, [Example("9", "x")])

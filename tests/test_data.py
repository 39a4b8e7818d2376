"""Canonical model, JSONL and CLUENER readers/writers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nerlm
from nerlm import DataFormatError, Entity, Example, ReadReport

from .conftest import CLUENER


def test_cluener_dev_reads_with_inclusive_ends() -> None:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    assert len(dev) == 1343
    assert sum(len(d.entities) for d in dev) == 3072
    first = dev[0]
    assert first.id == "cluener-dev-0"
    # {"address": {"台湾": [[15, 16]]}, "name": {"彭小军": [[0, 2]]}}: inclusive ends; the
    # file lists the address first ("order" keeps that for write_cluener)
    assert first.meta == {"source": "cluener", "split": "dev", "line": 1, "order": [1, 0]}
    assert first.entities == [Entity(0, 3, "name", "彭小军"), Entity(15, 17, "address", "台湾")]
    for d in dev:
        assert d.check() is None


def test_round_trips(tmp_path: Path) -> None:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    nerlm.write_jsonl(dev, tmp_path / "dev.jsonl")
    assert nerlm.read_jsonl(tmp_path / "dev.jsonl") == dev
    nerlm.write_cluener(dev, tmp_path / "dev.cluener.json")
    again = nerlm.read_cluener(tmp_path / "dev.cluener.json", split="dev")
    assert [(d.text, d.entities) for d in again] == [(d.text, d.entities) for d in dev]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "bad.json"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_cluener_surface_mismatch_names_file_and_line(tmp_path: Path) -> None:
    good = json.dumps({"text": "张三在北京", "label": {"name": {"张三": [[0, 1]]}}})
    bad = json.dumps({"text": "张三在北京", "label": {"address": {"北京": [[2, 3]]}}})
    p = _write(tmp_path, [good, bad])
    with pytest.raises(DataFormatError) as e:
        nerlm.read_cluener(p)
    assert e.value.line == 2
    assert e.value.path == str(p)
    assert str(e.value).startswith(f"{p}:2: ")
    assert "在北" in str(e.value)


def test_cluener_unknown_label_and_malformed_json(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps({"text": "张三", "label": {"person": {"张三": [[0, 1]]}}})])
    with pytest.raises(DataFormatError, match=r":1: unknown label 'person'"):
        nerlm.read_cluener(p, labels=nerlm.CLUENER_LABELS)
    p = _write(tmp_path, ['{"text": "a", "label": {}}', '{"text": "b", "label": '])
    with pytest.raises(DataFormatError, match=r"bad.json:2: not valid JSON"):
        nerlm.read_cluener(p)


def test_lenient_prediction_read_counts_problems(tmp_path: Path) -> None:
    texts = ["张三在北京", "李四"]
    lines = [
        json.dumps({"label": {"address": {"北京": [[3, 4]], "上海": [[0, 1]]}}}),
        json.dumps({"label": {"name": {"李四": [[0, 9]], "x": [[3, 1]]}, "person": {}}}),
    ]
    p = _write(tmp_path, lines)
    report = ReadReport()
    pred = nerlm.read_cluener(p, texts=texts, labels=["address", "name"], report=report)
    assert report.counts == {
        "surface_mismatch": 1,
        "span_out_of_range": 1,
        "malformed_span": 1,
        "unknown_label": 1,
    }
    assert report.unscorable == [(1, "name")]
    assert len(pred[0].entities) == 2  # kept and scored, not dropped


def test_prediction_line_count_mismatch(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps({"label": {}})])
    with pytest.raises(DataFormatError, match="1 records but the reference has 2 texts"):
        nerlm.read_cluener(p, texts=["a", "b"])


def test_jsonl_errors(tmp_path: Path) -> None:
    ex = Example("a", "张三", [Entity(0, 2, "name", "张三")])
    p = tmp_path / "x.jsonl"
    nerlm.write_jsonl([ex, ex], p)
    with pytest.raises(DataFormatError, match=r"x.jsonl:2: id 'a' already used on line 1"):
        nerlm.read_jsonl(p)
    p.write_text(
        json.dumps(
            {
                "id": "b",
                "text": "张三",
                "entities": [{"start": 0, "end": 1, "label": "n", "text": "张三"}],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match=r"x.jsonl:1: entity 'n' \[0, 1\) is '张三'"):
        nerlm.read_jsonl(p)

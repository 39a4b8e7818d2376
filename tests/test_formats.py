"""The iepile-json format against the real IEPile samples."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import nerlm
from nerlm import AlignStatus, Entity, Example, IepileJson

from .conftest import CLUENER, SHARED


def test_prompt_matches_iepile_samples() -> None:
    fmt = IepileJson()
    for line in (SHARED / "data" / "iepile_samples" / "train.json").open(encoding="utf-8"):
        rec = json.loads(line)
        instr = json.loads(rec["instruction"])
        ex = Example("x", instr["input"])
        assert fmt.render_prompt(ex, instr["schema"]) == rec["instruction"]
        # The target parses, and every entity is placed in the input.
        parsed = fmt.parse(rec["output"], instr["input"], instr["schema"])
        assert parsed.ok and not parsed.unknown_labels and not parsed.missing_labels
        assert all(e.status is AlignStatus.EXACT for e in parsed.entities)
        target = json.loads(rec["output"])
        assert [(e.label, e.text) for e in parsed.entities] == [
            (k, v) for k, vs in target.items() for v in vs
        ]


def test_parse_render_target_recovers_entities() -> None:
    fmt = IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
    labels = list(nerlm.CLUENER_LABELS_ZH)
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    for ex in dev:
        got: set[tuple[str, str]] = set()
        for chunk in fmt.chunks(labels):
            r = fmt.parse(fmt.render_target(ex, chunk), ex.text, chunk)
            assert r.ok
            got |= {(e.label, e.text) for e in r.entities}
            assert all(e.status is not AlignStatus.UNGROUNDED for e in r.entities)
        assert got == {(e.label, e.text) for e in ex.entities}


def test_chunks_follow_split_num() -> None:
    assert IepileJson(split_num=4).chunks(list("abcdefghij")) == [
        list("abcd"),
        list("efgh"),
        list("ij"),
    ]


def test_bad_outputs_become_recorded_errors() -> None:
    fmt = IepileJson()
    text = "张三在北京"
    for out in [
        "",
        '{"人物": ["张三"',
        "[1, 2]",
        '{"人物": [1]}',
        "__import__('os')",
        "{'人物': []}",
    ]:
        r = fmt.parse(out, text, ["人物"])
        assert not r.ok and r.entities == [] and r.error
    assert "truncated" in (fmt.parse('{"人物": ["张', text, ["人物"]).error or "")
    r = fmt.parse('{"人物": ["张三", "王五"], "地点": ["北京"]}', text, ["人物", "时间"])
    assert r.ok
    assert r.unknown_labels == ["地点"] and r.missing_labels == ["时间"]
    assert [e.status for e in r.entities] == [
        AlignStatus.EXACT,
        AlignStatus.UNGROUNDED,
        AlignStatus.EXACT,
    ]


def test_targets_are_accepted_by_the_token_table(qwen_tokenizer: object) -> None:
    """Every rendered target, tokenized by Qwen2.5, is accepted token by token."""
    fmt = IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
    labels = list(nerlm.CLUENER_LABELS_ZH)
    vocab = nerlm.vocabulary_for(qwen_tokenizer)
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    rng = random.Random(0)
    for ex in [*rng.sample(dev, 100), Example("x", "龘字", [Entity(0, 1, "name", "龘")])]:
        for chunk in fmt.chunks(labels):
            target = fmt.render_target(ex, chunk)
            table = nerlm.TokenTable(
                vocab, "iepile-json", [fmt.schema_name(c) for c in chunk], ex.text
            )
            m = table.matcher()
            ids = qwen_tokenizer(target, add_special_tokens=False)["input_ids"]
            for t in ids:
                m.accept_token(t)
            m.accept_token(qwen_tokenizer.eos_token_id)
            assert m.is_terminated() and m.output() == target.encode()


def test_read_iepile_samples_match_the_raw_entities() -> None:
    d = SHARED / "data" / "iepile_samples"
    raw = [json.loads(line) for line in (d / "sample.json").open(encoding="utf-8")]
    for name in ("train.json", "test.json"):
        docs = nerlm.read_iepile(d / name)
        assert [x.text for x in docs] == [r["text"] for r in raw]
        for doc, r in zip(docs, raw, strict=True):
            assert doc.check() is None
            assert sorted((e.label, e.text) for e in doc.entities) == sorted(
                (e["entity_type"], e["entity"]) for e in r["entity"]
            )


def test_convert_cluener_to_iepile_and_back(tmp_path: Path) -> None:
    inst, back = tmp_path / "dev.iepile.jsonl", tmp_path / "dev.jsonl"
    base = [sys.executable, "-m", "nerlm.cli", "convert", "--label-map", "cluener-zh"]
    r = subprocess.run(
        [*base, str(CLUENER / "dev.json"), str(inst), "--from", "cluener", "--to", "iepile-json",
         "--split", "dev"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "read 1343 documents with 3072 entities" in r.stdout
    assert "wrote 2686 records" in r.stdout  # 10 labels, split_num 6: two instructions each
    subprocess.run(
        [*base, str(inst), str(back), "--from", "iepile-json", "--to", "jsonl"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    again = nerlm.read_jsonl(back)
    assert [x.id for x in again] == [g.id for g in gold]
    for a, g in zip(again, gold, strict=True):
        assert {(e.label, e.text) for e in a.entities} == {(e.label, e.text) for e in g.entities}

"""Constrained generation with a tiny random causal LM and the real Qwen2.5 tokenizer."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

import nerlm
from nerlm import AlignStatus, IepileJson

from .conftest import CLUENER, tiny_qwen2


@pytest.fixture(scope="module")
def dev_sample() -> list[nerlm.Example]:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    return random.Random(1).sample(dev, 200)


def _check(results: list[nerlm.Extraction], docs: list[nerlm.Example]) -> None:
    assert len(results) == len(docs)
    for r, d in zip(results, docs, strict=True):
        assert r.id == d.id
        assert r.parse_errors == [], r.raw_outputs
        for e in r.entities:
            assert e.status is not AlignStatus.UNGROUNDED
            assert e.text in d.text
            assert d.text[e.start : e.end] == e.text


def test_sampling_200_cluener_dev_sentences(
    qwen_tokenizer: Any, dev_sample: list[nerlm.Example]
) -> None:
    model = tiny_qwen2()
    labels = list(nerlm.CLUENER_LABELS_ZH)
    fmt = IepileJson(split_num=10, label_map=nerlm.CLUENER_LABELS_ZH)
    torch.manual_seed(1234)
    results = nerlm.extract(
        model,
        qwen_tokenizer,
        dev_sample,
        labels,
        fmt=fmt,
        do_sample=True,
        batch_size=50,
        max_new_tokens=700,  # above the longest output the caps below allow (in bytes)
        max_entities_per_label=2,
        max_entity_chars=6,
        progress=False,
        generate_kwargs={"temperature": 1.0, "top_k": 0, "top_p": 1.0},
    )
    _check(results, dev_sample)
    # The random model did write entities (the constraint is exercised, not just "[]").
    n = sum(len(r.entities) for r in results)
    assert n > 100, n
    # A fraction of entities end inside a token of the text (partial-token boundaries).
    assert all(r.raw_outputs and r.raw_outputs[0].startswith('{"人名": [') for r in results)


def test_greedy_and_chunked_schema(qwen_tokenizer: Any, dev_sample: list[nerlm.Example]) -> None:
    model = tiny_qwen2()
    fmt = IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)  # split_num 6: two instructions
    docs = dev_sample[:12]
    results = nerlm.extract(
        model,
        qwen_tokenizer,
        docs,
        list(nerlm.CLUENER_LABELS_ZH),
        fmt=fmt,
        batch_size=8,
        max_new_tokens=700,
        max_entities_per_label=2,
        max_entity_chars=6,
        progress=False,
    )
    _check(results, docs)
    assert all(len(r.raw_outputs) == 2 for r in results)


def test_processor_handles_rows_sharing_a_table(qwen_tokenizer: Any) -> None:
    """num_return_sequences expands rows; each keeps its own matcher."""
    model = tiny_qwen2()
    text = "龘先生在北京工作"
    vocab = nerlm.vocabulary_for(qwen_tokenizer)
    table = nerlm.TokenTable(vocab, "iepile-json", ["人物"], text, max_entities_per_label=3)
    proc = nerlm.ConstrainedLogitsProcessor([table])
    from transformers import LogitsProcessorList

    enc = qwen_tokenizer(["抽取：" + text], return_tensors="pt")
    torch.manual_seed(5)
    out = model.generate(
        **enc,
        do_sample=True,
        num_return_sequences=6,
        max_new_tokens=120,
        logits_processor=LogitsProcessorList([proc]),
        eos_token_id=qwen_tokenizer.eos_token_id,
        pad_token_id=qwen_tokenizer.pad_token_id,
    )
    fmt = IepileJson()
    for row in out[:, enc["input_ids"].shape[1] :].tolist():
        stop = row.index(qwen_tokenizer.eos_token_id)
        raw = vocab.decode(row[:stop]).decode("utf-8")
        r = fmt.parse(raw, text, ["人物"])
        assert r.ok and all(e.text in text for e in r.entities)


def test_own_loop_matches_transformers_and_jump_forward_saves_passes(
    qwen_tokenizer: Any, dev_sample: list[nerlm.Example]
) -> None:
    from transformers import LogitsProcessorList

    from nerlm.generate import generate_constrained

    model = tiny_qwen2()
    vocab = nerlm.vocabulary_for(qwen_tokenizer)
    labels = list(nerlm.CLUENER_LABELS_ZH.values())
    docs = dev_sample[:8]
    fmt = IepileJson()

    def tables() -> list[nerlm.TokenTable]:
        return [
            nerlm.TokenTable(
                vocab, "iepile-json", labels, d.text, max_entities_per_label=2, max_entity_chars=6
            )
            for d in docs
        ]

    qwen_tokenizer.padding_side = "left"
    enc = qwen_tokenizer([fmt.render_prompt(d, labels) for d in docs], return_tensors="pt",
                         padding=True)  # fmt: skip
    eos, pad = qwen_tokenizer.eos_token_id, qwen_tokenizer.pad_token_id
    common = {"eos_token_ids": [eos], "pad_token_id": pad, "max_new_tokens": 300}
    plain, st_plain = generate_constrained(
        model, enc["input_ids"], enc["attention_mask"], tables(), jump_forward=False, **common
    )
    proc = nerlm.ConstrainedLogitsProcessor(tables())
    out = model.generate(**enc, logits_processor=LogitsProcessorList([proc]), max_new_tokens=300,
                         do_sample=False, eos_token_id=eos, pad_token_id=pad)  # fmt: skip
    for mine, row in zip(plain, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
        assert mine == row[: row.index(eos) + 1]
    jumped, st_jump = generate_constrained(
        model, enc["input_ids"], enc["attention_mask"], tables(), jump_forward=True, **common
    )
    assert st_jump.forced_tokens > 0
    assert st_jump.forward_passes < st_plain.forward_passes
    for ids, d in zip(jumped, docs, strict=True):
        r = fmt.parse(vocab.decode([t for t in ids if t != eos]).decode(), d.text, labels)
        assert r.ok and all(e.text in d.text for e in r.entities)


@pytest.mark.parametrize("fmt_name", ["json-lines", "xml-inline"])
def test_cli_extract_with_a_saved_model(
    tmp_path: Any, qwen_tokenizer: Any, dev_sample: list[nerlm.Example], fmt_name: str
) -> None:
    import json

    from nerlm.cli import main

    model_dir = tmp_path / "tiny"
    tiny_qwen2().save_pretrained(model_dir)
    qwen_tokenizer.save_pretrained(model_dir)
    docs = dev_sample[:3]
    nerlm.write_jsonl(docs, tmp_path / "in.jsonl")
    rc = main(["extract", "--model", str(model_dir), "--format", fmt_name,
               "--labels", "name,address", "--label-map", "cluener-zh",
               "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
               "--max-new-tokens", "300", "--max-entities-per-label", "2",
               "--max-entity-chars", "5", "--device", "cpu"])  # fmt: skip
    assert rc == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").open(encoding="utf-8")]
    assert [r["id"] for r in rows] == [d.id for d in docs]
    for r in rows:
        assert r["parsed"] and r["parse_errors"] == [], r["raw_outputs"]
        assert r["raw_outputs"] and all(e["label"] in ("name", "address") for e in r["entities"])
        for e in r["entities"]:
            assert r["text"][e["start"] : e["end"]] == e["text"]


@pytest.mark.parametrize("backend", ["nerlm", "transformers"])
@pytest.mark.parametrize("fmt_name", ["clue-fill", "json-lines", "xml-inline", "type-pairs"])
def test_every_format_through_both_backends(
    qwen_tokenizer: Any, dev_sample: list[nerlm.Example], fmt_name: str, backend: str
) -> None:
    """Sampling with a random model: every output parses and stays grounded."""
    from nerlm.formats import FORMATS

    model = tiny_qwen2()
    options = {"inferred": ["scene"]} if fmt_name == "xml-inline" else {}
    fmt = FORMATS[fmt_name](label_map=nerlm.CLUENER_LABELS_ZH, **options)
    docs = dev_sample[20:26]
    torch.manual_seed(7)
    results = nerlm.extract(
        model,
        qwen_tokenizer,
        docs,
        ["name", "address", "scene"],
        fmt=fmt,
        do_sample=True,
        backend=backend,
        seed=3,
        batch_size=6,
        max_new_tokens=600 if fmt_name == "xml-inline" else 300,
        max_entities_per_label=2,
        max_entity_chars=5,
        progress=False,
        generate_kwargs={"temperature": 1.0, "top_k": 0, "top_p": 1.0},
    )
    for r, d in zip(results, docs, strict=True):
        assert r.parse_errors == [], r.raw_outputs
        for e in r.entities:
            if e.status is AlignStatus.INFERRED:
                assert e.label == "scene"
            else:
                assert d.text[e.start : e.end] == e.text


@pytest.mark.parametrize("fmt_name", ["iepile-json", "xml-inline"])
def test_outlines_backend_of_extract(
    qwen_tokenizer: Any, dev_sample: list[nerlm.Example], fmt_name: str
) -> None:
    """``backend="outlines"``: an outlines Generator with nerlm's processor, sampling."""
    pytest.importorskip("outlines", reason="outlines is not installed (nerlm[outlines])")
    from nerlm.formats import FORMATS

    fmt = FORMATS[fmt_name](label_map=nerlm.CLUENER_LABELS_ZH)
    docs = dev_sample[30:34]
    shots = dev_sample[40:42]
    torch.manual_seed(11)
    results = nerlm.extract(
        tiny_qwen2(), qwen_tokenizer, docs, ["name", "address"], fmt=fmt, shots=shots,
        do_sample=True, backend="outlines", batch_size=4, max_entities_per_label=2,
        max_entity_chars=5, max_new_tokens=600 if fmt_name == "xml-inline" else 200,
        progress=False,
    )  # fmt: skip
    _check(results, docs)
    assert all(len(r.raw_outputs) == 1 for r in results)

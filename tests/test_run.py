"""Corpus extraction into a file: kill and resume, shards, long-document windows."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

import nerlm
from nerlm.data.model import Entity, Example
from nerlm.run import extract_to_file, finished_ids
from nerlm.windows import DocumentTooLongError

from .conftest import CLUENER, ROOT, tiny_qwen2

LABELS = ["name", "address", "company"]


def records(path: Path) -> list[dict[str, Any]]:
    """The records without their timings (the only field that may differ between runs)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r.pop("seconds")
    return rows


@pytest.fixture(scope="module")
def docs() -> list[Example]:
    return nerlm.read_cluener(CLUENER / "dev.json", split="dev")[:14]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory, qwen_tokenizer: Any) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    tiny_qwen2().save_pretrained(d)
    qwen_tokenizer.save_pretrained(d)
    return d


def run_kwargs() -> dict[str, Any]:
    fmt = nerlm.get_format("json-lines", label_map=nerlm.CLUENER_LABELS_ZH)
    return {"fmt": fmt, "batch_size": 2, "max_new_tokens": 40, "progress": False}


def test_kill_and_resume_gives_the_uninterrupted_output(
    tmp_path: Path, docs: list[Example], saved_model: Path
) -> None:
    from nerlm.models import load_model

    torch.set_num_threads(1)  # the killed subprocess runs single-threaded too (same numerics)
    model, tok = load_model(str(saved_model), device="cpu")
    full = tmp_path / "full.jsonl"
    s = extract_to_file(model, tok, docs, LABELS, full, **run_kwargs())
    assert s.written == len(docs) and s.skipped == 0

    nerlm.write_jsonl(docs, tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    cmd = [
        sys.executable, "-c", "import sys; from nerlm.cli import main; sys.exit(main())",
        "extract", "--model", str(saved_model), "--format", "json-lines",
        "--labels", ",".join(LABELS), "--label-map", "cluener-zh",
        "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
        "--batch-size", "2", "--max-new-tokens", "40", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "python")}
    kill_after = random.Random(os.getpid()).randint(1, len(docs) - 3)  # records, then SIGKILL
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= kill_after:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = out.read_bytes().count(b"\n")
    assert 0 < n_before < len(docs)
    # A kill in the middle of a write leaves a torn line: append one by hand.
    with open(out, "ab") as f:
        f.write(b'{"id": "cluener-dev-9", "text": "\xe5\xbd')
    s = extract_to_file(model, tok, docs, LABELS, out, **run_kwargs())
    assert s.torn_bytes > 0 and s.skipped == n_before
    assert s.skipped + s.written == len(docs)
    assert records(out) == records(full)
    assert out.read_bytes().replace(b" ", b"").count(b'"id":') == len(docs)
    # A finished file resumes to nothing.
    again = extract_to_file(model, tok, docs, LABELS, out, **run_kwargs())
    assert again.written == 0 and again.skipped == len(docs)


def test_shards_concatenate_to_the_whole_run(
    tmp_path: Path, docs: list[Example], qwen_tokenizer: Any
) -> None:
    model = tiny_qwen2()
    full = tmp_path / "full.jsonl"
    extract_to_file(model, qwen_tokenizer, docs, LABELS, full, **run_kwargs())
    parts = []
    for i in range(3):
        p = tmp_path / f"part{i}.jsonl"
        s = extract_to_file(
            model, qwen_tokenizer, docs, LABELS, p, shard=(i, 3), group_size=2, **run_kwargs()
        )
        assert s.documents in (4, 5)
        parts += records(p)
    assert parts == records(full)
    with pytest.raises(ValueError, match="shard 3/3"):
        extract_to_file(model, qwen_tokenizer, docs, LABELS, full, shard=(3, 3))


def test_bad_output_and_duplicate_ids(tmp_path: Path, docs: list[Example]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(nerlm.DataFormatError, match=r"bad.jsonl:2: id 'a' occurs twice"):
        finished_ids(bad)
    with pytest.raises(ValueError, match="occurs twice"):
        extract_to_file(None, None, [docs[0], docs[0]], LABELS, tmp_path / "x.jsonl")


def long_document() -> tuple[Example, list[Entity]]:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")[:40]
    text, ents = "", []
    for ex in dev:
        at = len(text)
        ents += [Entity(e.start + at, e.end + at, e.label, e.text) for e in ex.entities]
        text += ex.text
    return Example("long-1", text), sorted(ents)


def test_entities_beyond_the_first_window_come_back_at_document_offsets(
    tmp_path: Path, qwen_tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model is replaced by an oracle that finds the gold entities inside each window."""
    import nerlm.generate as gen

    doc, gold = long_document()
    real_extract = gen.extract

    def oracle(model: Any, tok: Any, units: list[Example], labels: Any, **kw: Any) -> Any:
        out = []
        for u in units:
            k = int(u.meta["window"])
            plan = nerlm.plan_windows(doc.text, tokenizer=tok, max_tokens=64, stride=16)
            w = plan.windows[k]
            assert w.text == u.text
            found = [
                nerlm.ParsedEntity(e.label, e.text, e.start - w.char_start,
                                   e.end - w.char_start, nerlm.AlignStatus.EXACT)
                for e in gold
                if w.char_start <= e.start and e.end <= w.char_end
            ]  # fmt: skip
            out.append(gen.Extraction(u.id, u.text, ["(oracle)"], found))
        return out

    monkeypatch.setattr(gen, "extract", oracle)
    out = tmp_path / "long.jsonl"
    s = extract_to_file(
        None, qwen_tokenizer, [doc], LABELS, out,
        max_input_tokens=64, stride=16, on_overflow="window", progress=False,
    )  # fmt: skip
    monkeypatch.setattr(gen, "extract", real_extract)
    assert s.windowed == 1
    (rec,) = records(out)
    assert rec["windows"] > 10 and not rec["truncated"]
    got = [(e["start"], e["end"], e["label"], e["text"]) for e in rec["entities"]]
    assert got == [(e.start, e.end, e.label, e.text) for e in gold]
    assert max(e.start for e in gold) > len(doc.text) // 2  # well beyond the first window


def test_overflow_policies_with_a_real_model(tmp_path: Path, qwen_tokenizer: Any) -> None:
    doc, _ = long_document()
    model = tiny_qwen2()
    with pytest.raises(DocumentTooLongError, match="'long-1'"):
        extract_to_file(model, qwen_tokenizer, [doc], LABELS, tmp_path / "e.jsonl",
                        max_input_tokens=64, **run_kwargs())  # fmt: skip
    s = extract_to_file(
        model, qwen_tokenizer, [doc], LABELS, tmp_path / "t.jsonl",
        max_input_tokens=64, on_overflow="truncate", **run_kwargs(),
    )  # fmt: skip
    (rec,) = records(tmp_path / "t.jsonl")
    assert s.truncated == 1 and rec["truncated"] and rec["windows"] == 1
    s = extract_to_file(
        model, qwen_tokenizer, [doc], LABELS, tmp_path / "w.jsonl",
        max_input_tokens=96, stride=24, on_overflow="window", **run_kwargs(),
    )  # fmt: skip
    (rec,) = records(tmp_path / "w.jsonl")
    assert rec["windows"] > 5 and len(rec["raw_outputs"]) == rec["windows"]
    for e in rec["entities"]:
        assert doc.text[e["start"] : e["end"]] == e["text"]

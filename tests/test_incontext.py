"""In-context extraction: demonstration selection, and the HTTP path against a real
OpenAI-compatible server process (``nerlm serve`` with a tiny random model) on localhost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nerlm
from nerlm.data.model import Example
from nerlm.incontext import ChatClient, DemonstrationPool, _place_leniently, extract_incontext

from .conftest import CLUENER, ROOT, tiny_qwen2

LABELS = ["name", "address", "company"]


@pytest.fixture(scope="module")
def train() -> list[Example]:
    return nerlm.read_cluener(CLUENER / "train.json", split="train")[:300]


@pytest.fixture(scope="module")
def dev() -> list[Example]:
    return nerlm.read_cluener(CLUENER / "dev.json", split="dev")[:4]


def dice(a: str, b: str) -> float:
    ga = Counter(a[i : i + 2] for i in range(len(a) - 1))
    gb = Counter(b[i : i + 2] for i in range(len(b) - 1))
    total = sum(ga.values()) + sum(gb.values())
    return 2 * sum((ga & gb).values()) / total if total else 0.0


def test_similarity_selection_matches_a_brute_force_ranking(
    train: list[Example], dev: list[Example]
) -> None:
    pool = DemonstrationPool(train)
    for doc in dev:
        got = pool.select(doc, 5, "similarity")
        ranked = sorted(range(len(train)), key=lambda i: (-dice(doc.text, train[i].text), i))
        assert [g.id for g in got] == [train[i].id for i in ranked[:5]]
    # A pool example with the document's own text is never its demonstration.
    assert all(d.text != train[0].text for d in pool.select(train[0], 10, "similarity"))


def test_random_selection_is_seeded_per_document(train: list[Example], dev: list[Example]) -> None:
    pool = DemonstrationPool(train)
    a = [pool.select(d, 3, "random", seed=1) for d in dev]
    assert a == [pool.select(d, 3, "random", seed=1) for d in dev]
    assert a != [pool.select(d, 3, "random", seed=2) for d in dev]
    assert pool.select(dev[0], 0) == []
    with pytest.raises(ValueError, match="selection"):
        pool.select(dev[0], 2, "nearest")  # type: ignore[arg-type]


def test_lenient_placement_of_api_answers() -> None:
    text = "访问ＩＢＭ公司和北京 大学"
    ents = [
        nerlm.ParsedEntity("company", "IBM公司", -1, -1, nerlm.AlignStatus.UNGROUNDED),
        nerlm.ParsedEntity("organization", "北京大学", -1, -1, nerlm.AlignStatus.UNGROUNDED),
        nerlm.ParsedEntity("name", "上海", -1, -1, nerlm.AlignStatus.UNGROUNDED),
    ]
    got = _place_leniently(text, ents)
    assert [(e.start, e.end, e.status.value) for e in got] == [
        (2, 7, "normalised"), (8, 13, "normalised"), (-1, -1, "ungrounded"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, qwen_tokenizer: Any) -> Iterator[str]:
    d = tmp_path_factory.mktemp("served")
    tiny_qwen2().save_pretrained(d)
    qwen_tokenizer.save_pretrained(d)
    cmd = [sys.executable, "-c", "import sys; from nerlm.cli import main; sys.exit(main())",
           "serve", "--model", str(d), "--port", "0", "--device", "cpu",
           "--name", "tiny"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    log = open(d / "stderr.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server prints its address
    if not line.startswith("nerlm serve: "):
        proc.kill()
        log.close()
        pytest.fail(f"server did not start: {line!r} {(d / 'stderr.log').read_text()}")
    url = line.split()[2]
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_models_endpoint(server: str) -> None:
    import urllib.request

    with urllib.request.urlopen(server + "/models", timeout=30) as r:
        assert json.loads(r.read())["data"][0]["id"] == "tiny"


def test_http_extraction_with_nerlm_grammar_always_parses(
    server: str, train: list[Example], dev: list[Example]
) -> None:
    fmt = nerlm.IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
    client = ChatClient(server, "tiny", max_tokens=150, nerlm_grammar=True)
    res = extract_incontext(
        dev, LABELS, fmt=fmt, pool=DemonstrationPool(train), k=2, selection="similarity",
        client=client, workers=2,
        grammar_options={"max_entities_per_label": 2, "max_entity_chars": 4},
    )  # fmt: skip
    assert [r.id for r in res] == [d.id for d in dev]
    for r, d in zip(res, dev, strict=True):
        assert r.parse_errors == [] and len(r.raw_outputs) == 1, r.raw_outputs
        for e in r.entities:
            assert d.text[e.start : e.end] == e.text
    assert client.schema_supported  # the server accepted response_format


def test_http_extraction_without_grammar_records_failures(server: str, dev: list[Example]) -> None:
    fmt = nerlm.get_format("json-lines", label_map=nerlm.CLUENER_LABELS_ZH)
    client = ChatClient(server, "tiny", max_tokens=20)
    res = extract_incontext(dev[:2], LABELS, fmt=fmt, client=client)
    assert all(len(r.raw_outputs) == 1 for r in res)  # answers came back, parsed or not
    bad = ChatClient(server.replace("/v1", "/nowhere"), "tiny")
    with pytest.raises(nerlm.NerlmError, match="HTTP 404"):
        bad.complete([{"role": "user", "content": "hi"}])


def test_cli_extract_through_the_api(
    tmp_path: Path, server: str, train: list[Example], dev: list[Example]
) -> None:
    from nerlm.cli import main

    nerlm.write_jsonl(dev, tmp_path / "in.jsonl")
    nerlm.write_jsonl(train[:50], tmp_path / "pool.jsonl")
    t0 = time.perf_counter()
    rc = main(["extract", "--api-base", server, "--api-model", "tiny", "--nerlm-grammar",
               "--format", "iepile-json", "--labels", ",".join(LABELS), "--label-map", "cluener-zh",
               "--demos", str(tmp_path / "pool.jsonl"), "--k", "1", "--select", "random",
               "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"),
               "--max-new-tokens", "150", "--max-entities-per-label", "2",
               "--max-entity-chars", "4"])  # fmt: skip
    assert rc == 0 and time.perf_counter() - t0 < 300
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == [d.id for d in dev]
    assert all(r["parsed"] for r in rows)

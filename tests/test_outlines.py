"""nerlm's token tables driving outlines 1.3.x generation (tiny random Qwen2, real tokenizer)."""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import nerlm
from nerlm import IepileJson

from .conftest import CLUENER, load_hf_tokenizer, tiny_qwen2

outlines = pytest.importorskip("outlines", reason="outlines is not installed (nerlm[outlines])")

from nerlm.generate import eos_token_ids  # noqa: E402
from nerlm.outlines_processor import NerlmOutlinesProcessor  # noqa: E402

FMT = IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
CHUNK = FMT.chunks(nerlm.CLUENER_LABELS)[0]  # 6 labels, as IEPile splits NER schemas
LABELS = [FMT.schema_name(lab) for lab in CHUNK]  # the schema (Chinese) label names
WIDTH = 151_936  # Qwen2.5's logits width, above the tokenizer's 151,665 ids

Setup = tuple[Any, Any, nerlm.Vocabulary, list[int]]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """This tiny model runs ~10x faster on one thread when other work shares the CPU."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def docs() -> list[nerlm.Example]:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    return random.Random(7).sample(dev, 10)


@pytest.fixture(scope="module")
def setup() -> Setup:
    """A tiny random model, a fresh tokenizer (outlines mutates it) and nerlm's vocabulary."""
    tokenizer = load_hf_tokenizer("qwen2.5", eos="<|endoftext|>")
    hf_model = tiny_qwen2()
    eos = eos_token_ids(tokenizer, hf_model)
    return hf_model, tokenizer, nerlm.vocabulary_for(tokenizer, eos), eos


def _tables(vocab: nerlm.Vocabulary, docs: list[nerlm.Example]) -> list[nerlm.TokenTable]:
    return [
        nerlm.TokenTable(
            vocab, "iepile-json", LABELS, d.text, max_entities_per_label=2, max_entity_chars=6
        )
        for d in docs
    ]


def _sampling(tokenizer: Any, eos: list[int]) -> dict[str, Any]:
    """``model.generate`` arguments, passed through by outlines unchanged."""
    return {
        "max_new_tokens": 400,  # above the longest output the caps allow (in tokens)
        "do_sample": True,
        "temperature": 1.0,
        "top_k": 0,
        "top_p": 1.0,
        "eos_token_id": eos,  # the tiny model's generation config has none
        "pad_token_id": tokenizer.pad_token_id,
    }


def _record_generated(monkeypatch: pytest.MonkeyPatch, hf_model: Any) -> list[list[int]]:
    """Collect the generated ids (prompt cut off) of every ``hf_model.generate`` call."""
    generated: list[list[int]] = []
    hf_generate = hf_model.generate

    def recording_generate(*args: Any, **kwargs: Any) -> torch.Tensor:
        out: torch.Tensor = hf_generate(*args, **kwargs)
        generated.extend(out[:, kwargs["input_ids"].shape[1] :].tolist())
        return out

    monkeypatch.setattr(hf_model, "generate", recording_generate)
    return generated


def _check_output(
    text_out: Any, row: list[int], text: str, vocab: nerlm.Vocabulary, eos: list[int]
) -> int:
    """Assert one output parses, is grounded and equals nerlm's bytes; return its entities."""
    assert isinstance(text_out, str)
    # outlines decodes with tokenizer.batch_decode(skip_special_tokens=True), not with
    # nerlm's bytes; on an output that ended, both must give the very same text.
    stop = next(k for k, t in enumerate(row) if t in eos)  # every row ended (no cut-off)
    assert text_out == vocab.decode(row[:stop]).decode("utf-8")
    parsed = IepileJson().parse(text_out, text, LABELS)
    assert parsed.error is None, text_out
    for e in parsed.entities:
        assert e.text in text, (e, text)
        assert text[e.start : e.end] == e.text
    return len(parsed.entities)


def test_outlines_generator_batch_parses_and_is_grounded(
    setup: Setup, docs: list[nerlm.Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    hf_model, tokenizer, vocab, eos = setup
    model = outlines.from_transformers(hf_model, tokenizer)
    proc = NerlmOutlinesProcessor(_tables(vocab, docs), model.tensor_library_name)
    generator = outlines.Generator(model, processor=proc)
    generated = _record_generated(monkeypatch, hf_model)
    prompts = [FMT.render_prompt(d, CHUNK) for d in docs]
    torch.manual_seed(1234)
    outputs = generator.batch(prompts, **_sampling(tokenizer, eos))
    assert proc.steps > 0
    assert len(outputs) == len(generated) == len(docs)
    n = sum(
        _check_output(out, row, d.text, vocab, eos)
        for d, out, row in zip(docs, outputs, generated, strict=True)
    )
    assert n > 0  # the constraint was exercised, not only empty lists
    # The processor's own record of the outputs: nerlm's exact bytes, outlines' order.
    assert [b.decode("utf-8") for b in proc.outputs()] == outputs
    assert proc.outputs() == proc.outputs()  # reading does not advance the matchers


def test_outlines_num_return_sequences_and_reuse(
    setup: Setup, docs: list[nerlm.Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One table for ``n`` samples of one prompt; outlines resets the processor per call."""
    hf_model, tokenizer, vocab, eos = setup
    model = outlines.from_transformers(hf_model, tokenizer)
    doc = docs[0]
    proc = NerlmOutlinesProcessor(_tables(vocab, [doc]))
    generator = outlines.Generator(model, processor=proc)
    generated = _record_generated(monkeypatch, hf_model)
    torch.manual_seed(99)
    for _ in range(2):  # the second call works only if outlines reset the processor
        del generated[:]
        outputs = generator(
            FMT.render_prompt(doc, CHUNK), num_return_sequences=3, **_sampling(tokenizer, eos)
        )
        assert isinstance(outputs, list)
        assert len(outputs) == len(generated) == 3
        for out, row in zip(outputs, generated, strict=True):
            _check_output(out, row, doc.text, vocab, eos)
        assert [b.decode("utf-8") for b in proc.outputs()] == outputs


def test_numpy_matches_torch_and_masks_beyond_vocabulary(
    setup: Setup, docs: list[nerlm.Example]
) -> None:
    """Direct calls as outlines makes them: both tensor libraries give the same logits."""
    _, _, vocab, eos = setup
    tables = _tables(vocab, docs[:3])
    proc_torch = NerlmOutlinesProcessor(tables, "torch")
    proc_numpy = NerlmOutlinesProcessor(tables, "numpy")
    rng = np.random.default_rng(0)
    for prompt_len in (7, 4):  # a shorter prompt after reset() starts afresh
        proc_torch.reset()
        proc_numpy.reset()
        assert proc_numpy.outputs() == []
        ids = rng.integers(0, 1000, size=(3, prompt_len))
        ended = 0
        for _ in range(120):
            logits = rng.standard_normal((3, WIDTH)).astype(np.float32)
            ref = proc_torch(torch.from_numpy(ids), torch.from_numpy(logits)).numpy()
            got: Any = proc_numpy(ids, logits)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, ref)
            assert np.isneginf(got[:, vocab.size :]).all()
            for row in range(3):
                if ids[row, -1] in eos and ids.shape[1] > prompt_len:
                    assert set(np.flatnonzero(np.isfinite(got[row]))) <= set(eos)
            ids = np.concatenate([ids, got.argmax(-1)[:, None]], axis=1)
            ended = sum(r[-1] in eos for r in ids.tolist())
        assert proc_numpy.steps == proc_torch.steps == 120
        assert ended > 0  # some rows reached end-of-sequence and were held there
        assert proc_numpy.outputs() == proc_torch.outputs()


def test_constructor(setup: Setup, docs: list[nerlm.Example]) -> None:
    _, _, vocab, _ = setup
    import torch._dynamo

    # outlines' base class would switch torch.compile errors off process-wide.
    assert torch._dynamo.config.suppress_errors is False
    proc = NerlmOutlinesProcessor(_tables(vocab, docs[:2]))
    assert torch._dynamo.config.suppress_errors is False
    assert len(proc.tables) == 2
    assert proc.steps == 0
    with pytest.raises(NotImplementedError, match="mlx"):
        NerlmOutlinesProcessor(_tables(vocab, docs[:1]), "mlx")
    with pytest.raises(ValueError, match="at least one"):
        NerlmOutlinesProcessor([])


def test_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "outlines.processors.base_logits_processor", None)
    monkeypatch.delitem(sys.modules, "nerlm.outlines_processor")
    with pytest.raises(ImportError, match=r"pip install 'nerlm\[outlines\]'"):
        importlib.import_module("nerlm.outlines_processor")

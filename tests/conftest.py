"""Shared fixtures: real data and tokenizers from ../shared (never downloaded at test time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLUENER = SHARED / "data" / "cluener"
TOKENIZERS = SHARED / "tokenizers"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip GPU tests where CUDA is absent."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared is missing: expected {SHARED}")
    return SHARED


def load_hf_tokenizer(name: str, eos: str | None = None) -> Any:
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZERS / name / "tokenizer.json"))
    if eos is not None:
        tok.eos_token = eos
        tok.pad_token = eos
    return tok


@pytest.fixture(scope="session")
def qwen_tokenizer() -> Any:
    return load_hf_tokenizer("qwen2.5", eos="<|endoftext|>")


@pytest.fixture(scope="session")
def qwen_json() -> str:
    return (TOKENIZERS / "qwen2.5" / "tokenizer.json").read_text(encoding="utf-8")


def tiny_qwen2(vocab_size: int = 151_936) -> Any:
    """A randomly initialised 1-layer Qwen2 causal LM with Qwen2.5's logits width."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
    )
    model = Qwen2ForCausalLM(cfg).eval()
    # Flatten the random logits so that sampling explores the constrained space broadly.
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(20.0)
    return model

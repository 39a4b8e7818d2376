"""Vocabulary bytes and token masks, checked against brute force over the real vocabularies."""

from __future__ import annotations

import numpy as np
import pytest

import nerlm
from nerlm import ShapeError, TokenRejectedError, TokenTable, Vocabulary

from .conftest import TOKENIZERS, load_hf_tokenizer

QWEN_WIDTH = 151_936  # Qwen2.5's logits width, wider than its 151,665 token ids


def allowed_ids(m: nerlm.Matcher, width: int = QWEN_WIDTH) -> set[int]:
    mask = np.zeros((1, (width + 31) // 32), np.int32)
    m.fill_next_token_bitmask(mask)
    bits = np.unpackbits(mask.view(np.uint8), bitorder="little")[:width]
    return set(np.flatnonzero(bits).tolist())


@pytest.mark.parametrize("name", ["qwen2.5", "gpt2", "llama3"])
def test_byte_level_bytes_reproduce_the_text(name: str) -> None:
    tok = load_hf_tokenizer(name)
    vocab = Vocabulary.from_tokenizer_json(tok.backend_tokenizer.to_str(), [0])
    assert vocab.kind == "byte-level"
    for text in ["浙商银行企业信贷部叶老桂博士", '龘 and 😀, "quoted"\n\ttabs', "Hello world"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert vocab.decode(ids) == text.encode()


def test_qwen_splits_a_character_over_two_tokens(qwen_tokenizer: object) -> None:
    vocab = nerlm.vocabulary_for(qwen_tokenizer)
    ids = qwen_tokenizer("龘", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert len(ids) == 2
    parts = [vocab.token_bytes(i) for i in ids]
    assert b"".join(p for p in parts if p) == "龘".encode()
    assert all(p is not None and len(p) < 3 for p in parts)


def test_wordpiece_vocabulary() -> None:
    tok = load_hf_tokenizer("bert_base_chinese")
    vocab = Vocabulary.from_tokenizer_json(tok.backend_tokenizer.to_str(), [102])
    assert vocab.kind == "wordpiece"
    ids = tok("浙商银行", add_special_tokens=False)["input_ids"]
    assert vocab.decode(ids) == "浙商银行".encode()
    assert vocab.token_bytes(tok.convert_tokens_to_ids("[CLS]")) is None


def test_masks_equal_brute_force(qwen_json: str) -> None:
    """At every step of a target, the mask equals 'the token's bytes are accepted'."""
    vocab = Vocabulary.from_tokenizer_json(qwen_json, [151643])
    text = '他说:"龘先生在北京\\工作"'
    table = TokenTable(vocab, "iepile-json", ["人物", "地点"], text, max_entities_per_label=2)
    target = '{"人物": ["龘先生"], "地点": ["北京", "\\"龘"]}'
    candidates = [t for t in range(vocab.size) if vocab.token_bytes(t) is not None]
    m = table.matcher()
    step = 0
    pos = 0
    data = target.encode()
    while pos < len(data):
        mask = allowed_ids(m)
        if step % 3 == 0:  # brute force every third step (each check is a full vocabulary pass)
            brute = set()
            for t in candidates:
                c = m.copy()
                try:
                    c.accept_token(t)
                except TokenRejectedError:
                    continue
                brute.add(t)
            assert mask == brute, f"step {step}"
        # advance by a single-byte token
        b = data[pos : pos + 1]
        tid = next(t for t in mask if vocab.token_bytes(t) == b)
        m.accept_token(tid)
        pos += 1
        step += 1
    assert allowed_ids(m) == {151643}
    assert all(t < vocab.size for t in allowed_ids(table.matcher()))


def test_errors(qwen_json: str) -> None:
    vocab = Vocabulary.from_tokenizer_json(qwen_json, [151643])
    with pytest.raises(nerlm.GrammarError, match="appears twice"):
        TokenTable(vocab, "iepile-json", ["a", "a"], "x")
    with pytest.raises(nerlm.GrammarError, match="unknown output format"):
        TokenTable(vocab, "nope", ["a"], "x")
    m = TokenTable(vocab, "iepile-json", ["a"], "x").matcher()
    with pytest.raises(TokenRejectedError, match="end of sequence before the output is complete"):
        m.accept_token(151643)
    with pytest.raises(ShapeError, match="cannot hold"):
        m.fill_next_token_bitmask(np.zeros((1, 10), np.int32))
    with pytest.raises(nerlm.TokenizerError):
        Vocabulary.from_tokenizer_json("{}", [0])
    assert isinstance(TokenRejectedError("x"), nerlm.NerlmError)
    assert (TOKENIZERS / "qwen2.5").is_dir()

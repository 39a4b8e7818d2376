"""Decoding tables for all five formats over the real tokenizers: gold replay and random walks.

Gold replay: every CLUENER dev target, tokenized, is accepted token by token and ends in an
accepting state. Random walks: outputs drawn uniformly among the allowed tokens always parse
with the format's Python parser, are valid UTF-8, use only schema labels and (grounded)
contain only substrings of the input; ``xml-inline`` outputs with the tags removed are the
input.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

import nerlm
from nerlm import AlignStatus, Entity, Example, TokenTable, Vocabulary
from nerlm.formats import FORMATS

from .conftest import CLUENER, TOKENIZERS, load_hf_tokenizer

EOS = {"qwen2.5": 151643, "llama3": 128001, "gpt2": 50256, "mistral_spm_v1": 2, "bert": 102}
SPECIAL_TEXTS = [
    "龘先生和王赟在𠮷野家吃饭。",
    '他说："你好\\世界"，\n然后离开。<br> & 😀',
    'Apple 在 2024 年发布了 iPhone 16，王赟说 it\'s "great"。',
    "王赟、王赟和王赟：重复的提及。\t",
    "a<b>&c 'q' \"d\" \\ e",
]
LABELS = ["人名", "地址", "企业"]


@functools.cache
def vocabulary(name: str) -> Vocabulary:
    if name == "mistral_spm_v1":
        data = (TOKENIZERS / name / "tokenizer.model").read_bytes()
        return Vocabulary.from_sentencepiece_model(data, [EOS[name]])
    path = TOKENIZERS / ("bert_base_chinese" if name == "bert" else name) / "tokenizer.json"
    return Vocabulary.from_tokenizer_json(path.read_text(encoding="utf-8"), [EOS[name]])


@functools.cache
def byte_index(name: str) -> tuple[dict[bytes, int], int]:
    v = vocabulary(name)
    index: dict[bytes, int] = {}
    for t in range(v.size):
        b = v.token_bytes(t)
        if b is not None:
            index.setdefault(b, t)
    return index, max(len(b) for b in index)


def tokenize(name: str, text: str) -> list[int] | None:
    """Token ids whose bytes concatenate to ``text``: the real tokenizer where it is exact
    (byte-level BPE), else greedy longest match over the vocabulary (acceptance depends only
    on the bytes). None when the vocabulary cannot spell the text (WordPiece has no space)."""
    if name in ("qwen2.5", "llama3", "gpt2"):
        ids: list[int] = hf_tokenizer(name)(text, add_special_tokens=False)["input_ids"]
        return ids
    index, longest = byte_index(name)
    data, out, i = text.encode(), [], 0
    while i < len(data):
        for n in range(min(longest, len(data) - i), 0, -1):
            t = index.get(data[i : i + n])
            if t is not None:
                out.append(t)
                i += n
                break
        else:
            return None
    return out


@functools.cache
def hf_tokenizer(name: str) -> Any:
    return load_hf_tokenizer(name)


def make_format(name: str) -> Any:
    if name == "xml-inline":
        return FORMATS[name](label_map=nerlm.CLUENER_LABELS_ZH)
    return FORMATS[name](label_map=nerlm.CLUENER_LABELS_ZH)


@functools.cache
def cluener_dev() -> list[Example]:
    dev = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    out = []
    for ex in dev:
        # xml-inline cannot nest; CLUENER dev has no overlaps, but keep the guard explicit.
        ents, end = [], -1
        for e in ex.entities:
            if e.start >= end:
                ents.append(e)
                end = e.end
        out.append(Example(ex.id, ex.text, ents, ex.meta))
    return out


TOKENIZER_NAMES = ["qwen2.5", "llama3", "gpt2", "mistral_spm_v1", "bert"]


@pytest.mark.parametrize("tok", TOKENIZER_NAMES)
@pytest.mark.parametrize("fmt_name", list(FORMATS))
def test_gold_replay(fmt_name: str, tok: str) -> None:
    if tok == "bert" and fmt_name in ("iepile-json", "clue-fill", "json-lines"):
        pytest.skip("WordPiece has no space token: targets with literal spaces cannot be spelled")
    fmt = make_format(fmt_name)
    v = vocabulary(tok)
    labels = list(nerlm.CLUENER_LABELS_ZH)
    replayed = skipped = 0
    for ex in cluener_dev():
        for chunk in fmt.chunks(labels):
            target = fmt.render_target(ex, chunk)
            ids = tokenize(tok, target)
            if ids is None:
                skipped += 1
                continue
            table = TokenTable(
                v, fmt.name, [fmt.schema_name(c) for c in chunk], ex.text, **fmt.grammar_options()
            )
            m = table.matcher()
            for t in ids:
                m.accept_token(t)
            assert m.is_accepting(), (ex.id, target)
            m.accept_token(EOS[tok])
            assert m.output() == target.encode()
            replayed += 1
    if tok == "bert":
        # No space token and no byte fallback: only the targets it can spell.
        assert replayed > len(cluener_dev()) // 2, (replayed, skipped)
    else:
        assert skipped == 0 and replayed >= len(cluener_dev())


def _strip_tags(out: str, labels: list[str]) -> str:
    names = "|".join(map(re.escape, labels))
    s = re.sub(f"</?(?:{names})>", "", out)
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.parametrize("tok", ["qwen2.5", "llama3", "mistral_spm_v1"])
@pytest.mark.parametrize("fmt_name", list(FORMATS))
def test_random_walks_parse_and_stay_grounded(fmt_name: str, tok: str) -> None:
    fmt = make_format(fmt_name)
    if fmt_name == "xml-inline":
        fmt = FORMATS[fmt_name](inferred=["省份"])
    v = vocabulary(tok)
    labels = [*LABELS, "省份"] if fmt_name == "xml-inline" else LABELS
    walks = 0
    for text in SPECIAL_TEXTS:
        for grounded in (True, False):
            table = TokenTable(
                v,
                fmt.name,
                labels,
                text,
                grounded=grounded,
                max_entities_per_label=2,
                max_entity_chars=5,
                **fmt.grammar_options(),
            )
            for raw, ended in table.random_walks(1200, seed=walks, max_tokens=600):
                walks += 1
                assert ended, raw
                out = raw.decode("utf-8")  # valid UTF-8 by construction
                r = fmt.parse(out, text, labels)
                assert r.ok, (out, r.error)
                assert not r.unknown_labels, out
                for e in r.entities:
                    assert e.label in labels
                    if e.status is AlignStatus.INFERRED:
                        assert e.label == "省份"
                    elif grounded:
                        assert e.status is not AlignStatus.UNGROUNDED, (out, e)
                        assert text[e.start : e.end] == e.text
                if fmt_name == "xml-inline":
                    no_inferred = re.sub("<省份>.*?</省份>", "", out, flags=re.DOTALL)
                    assert _strip_tags(no_inferred, labels) == text
    assert walks == len(SPECIAL_TEXTS) * 2 * 1200


def test_vocabulary_is_compact_and_masks_wide_logits() -> None:
    v = vocabulary("qwen2.5")
    assert v.heap_bytes < 16 * 2**20
    table = TokenTable(v, "json-lines", LABELS, "王赟在北京")
    m = table.matcher()
    import numpy as np

    mask = np.zeros((1, (151_936 + 31) // 32), np.int32)
    m.fill_next_token_bitmask(mask)
    bits = np.unpackbits(mask.view(np.uint8), bitorder="little")
    assert bits[v.size :].sum() == 0  # ids between the tokenizer size and the logits width
    assert bits[151643] == 0  # EOS only where the output may end


def test_type_pairs_custom_separators_and_inferred_xml() -> None:
    v = vocabulary("qwen2.5")
    t = TokenTable(
        v, "type-pairs", LABELS, "王赟在北京", label_sep="：", pair_sep=";", none_text="没有"
    )
    m = t.matcher()
    for tid in tokenize("qwen2.5", "人名：王赟;地址：北京") or []:
        m.accept_token(tid)
    assert m.is_accepting()
    with pytest.raises(nerlm.GrammarError, match="ASCII"):
        TokenTable(v, "type-pairs", LABELS, "x", pair_sep="、")
    with pytest.raises(nerlm.GrammarError, match="not in the schema"):
        TokenTable(v, "xml-inline", LABELS, "x", inferred=["省份"])
    fmt = FORMATS["xml-inline"](inferred=["省份"])
    ex = Example("p", "菏泽投诉", [Entity(0, 0, "省份", "山东省"), Entity(0, 2, "City", "菏泽")])
    target = fmt.render_target(ex, ["省份", "City"])
    assert target == "<省份>山东省</省份><City>菏泽</City>投诉"
    m = TokenTable(v, "xml-inline", ["省份", "City"], ex.text, inferred=["省份"]).matcher()
    for tid in tokenize("qwen2.5", target) or []:
        m.accept_token(tid)
    assert m.is_accepting()

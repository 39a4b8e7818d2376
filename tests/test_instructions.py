"""Instruction data for the five output formats: round trips, schema sampling, ids, exports, CLI.

What "``parse(render_target(x))`` recovers ``x``" means here:

* The multiset of ``(label, surface)`` pairs is always recovered, for every format (string
  level, the level most LLM-NER papers score at).
* ``xml-inline`` copies the text, so it recovers every span exactly (entities must not
  overlap: the format cannot write nested tags).
* The other four formats write strings, and parsing places each string on the leftmost
  occurrence in the text that overlaps no span already placed in its group (a label's list for
  ``iepile-json`` and ``clue-fill``, the whole output for ``json-lines`` and ``type-pairs``). So
  spans are recovered exactly when that placement is unambiguous, e.g. when every entity
  surface occurs once in the text; with repeated surfaces or overlapping entities the spans are
  exactly those of the alignment oracle (tests/test_align.py), and may differ from the gold
  ones (the gold entity is the second "南京" while the first is not an entity).

The generators use quotes, backslashes, line breaks, ``<``, ``&``, 𠮷 (outside the BMP) and
emoji in texts and entities; an entity surface gets a unique marker character (a Hangul
syllable that occurs nowhere else) where the test needs unambiguous placement.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nerlm
from nerlm import AlignOptions, AlignStatus, Entity, Example
from nerlm.cli import main
from nerlm.formats.clue_fill import ClueFill
from nerlm.formats.json_lines import JsonLines
from nerlm.formats.type_pairs import TypePairs
from nerlm.formats.xml_inline import XmlInline

from .conftest import CLUENER
from .test_align import oracle

LABELS = ["name", "book", "address", "Org"]
MAP = {"name": "人名", "book": "书名", "address": "地址"}
TRICKY = "ab 北京'\"\\\n\r\t<>&;/_:{}[],𠮷😀\u3000"
NAMES = ("iepile-json", "clue-fill", "json-lines", "xml-inline", "type-pairs")
STRING_FORMATS = ("iepile-json", "clue-fill", "json-lines", "type-pairs")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make(name: str, **options: Any) -> Any:
    if name == "iepile-json":
        options.setdefault("split_num", 2)
    return nerlm.get_format(name, label_map=MAP, **options)


def surface_alphabet(name: str) -> str:
    # type-pairs cannot write an entity holding its pair separator (render raises).
    return TRICKY.replace("&", "") if name == "type-pairs" else TRICKY


@st.composite
def unambiguous_docs(draw: st.DrawFn, alphabet: str = TRICKY, doc_id: str = "x") -> Example:
    """Non-overlapping entities whose surfaces each occur exactly once in the text."""
    text, ents = "", []
    for k in range(draw(st.integers(0, 5))):
        text += draw(st.text(TRICKY, max_size=4))
        body = draw(st.text(alphabet, max_size=3))
        cut = draw(st.integers(0, len(body)))
        surface = body[:cut] + chr(0xAC00 + k) + body[cut:]
        ents.append(
            Entity(len(text), len(text) + len(surface), draw(st.sampled_from(LABELS)), surface)
        )
        text += surface
    text += draw(st.text(TRICKY, max_size=4))
    return Example(doc_id, text, sorted(ents))


@st.composite
def any_docs(
    draw: st.DrawFn, overlapping: bool = True, alphabet: str = "ab北京<&'\"\\\n😀𠮷"
) -> Example:
    """Random spans over a text from a small alphabet: repeated surfaces, nested or crossing
    entities (unless ``overlapping`` is false)."""
    text = draw(st.text(alphabet, max_size=15))
    n = len(text)
    spans = draw(
        st.lists(
            st.tuples(st.integers(0, max(n - 1, 0)), st.integers(1, 4), st.sampled_from(LABELS)),
            max_size=6 if n else 0,
        )
    )
    ents: set[Entity] = set()
    taken: list[tuple[int, int]] = []
    for s, length, label in spans:
        e = min(s + length, n)
        if not overlapping and any(s < b and a < e for a, b in taken):
            continue
        taken.append((s, e))
        ents.add(Entity(s, e, label, text[s:e]))
    return Example("x", text, sorted(ents))


def pairs(entities: Any) -> Counter[tuple[str, str]]:
    return Counter((e.label, e.text) for e in entities)


def spans(entities: Any) -> list[tuple[int, int, str, str]]:
    return sorted((e.start, e.end, e.label, e.text) for e in entities)


# --- parse(render_target(x)) -----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_round_trip_recovers_unambiguous_entities_exactly(name: str, data: st.DataObject) -> None:
    fmt = make(name)
    ex = data.draw(unambiguous_docs(surface_alphabet(name)))
    r = fmt.parse(fmt.render_target(ex, LABELS), ex.text, LABELS)
    assert r.ok, r.error
    assert not r.unknown_labels and not r.missing_labels
    assert spans(r.entities) == spans(ex.entities)
    assert all(e.status is AlignStatus.EXACT for e in r.entities)


@pytest.mark.parametrize("name", STRING_FORMATS)
@SETTINGS
@given(data=st.data())
def test_round_trip_with_repeats_and_overlaps_follows_the_aligner(
    name: str, data: st.DataObject
) -> None:
    fmt = make(name)
    alphabet = "ab北京<'\"\\\n😀𠮷" if name == "type-pairs" else "ab北京<&'\"\\\n😀𠮷"
    ex = data.draw(any_docs(alphabet=alphabet))
    r = fmt.parse(fmt.render_target(ex, LABELS), ex.text, LABELS)
    assert r.ok, r.error
    # Strings: always recovered, never ungrounded.
    assert pairs(r.entities) == pairs(ex.entities)
    # Spans: exactly those of the left-to-right policy, in the order the format writes them.
    in_text_order = sorted(ex.entities, key=lambda e: (e.start, e.end))
    if name in ("iepile-json", "clue-fill"):
        written = [e for lab in LABELS for e in in_text_order if e.label == lab]
        items = [(e.text, LABELS.index(e.label)) for e in written]
    else:
        written = in_text_order
        items = [(e.text, 0) for e in written]
    expected = oracle(ex.text, items, AlignOptions())
    assert [(e.label, e.start, e.end, e.status) for e in r.entities] == [
        (w.label, s, t, st_) for w, (_, s, t, st_, _) in zip(written, expected, strict=True)
    ]


@SETTINGS
@given(ex=any_docs(overlapping=False))
def test_xml_inline_recovers_spans_even_when_surfaces_repeat(ex: Example) -> None:
    fmt = make("xml-inline")
    r = fmt.parse(fmt.render_target(ex, LABELS), ex.text, LABELS)
    assert r.ok, r.error
    assert spans(r.entities) == spans(ex.entities)


def test_the_documented_ambiguous_case() -> None:
    ex = Example("x", "南京到南京", [Entity(3, 5, "address", "南京")])
    for name in STRING_FORMATS:
        r = make(name).parse(make(name).render_target(ex, LABELS), ex.text, LABELS)
        assert [(e.start, e.end) for e in r.entities] == [(0, 2)], name
    r = make("xml-inline").parse(make("xml-inline").render_target(ex, LABELS), ex.text, LABELS)
    assert [(e.start, e.end) for e in r.entities] == [(3, 5)]


# --- build_instructions and back -------------------------------------------------------------


@st.composite
def corpora(draw: st.DrawFn, alphabet: str) -> list[Example]:
    docs = [draw(unambiguous_docs(alphabet, f"d{k}")) for k in range(draw(st.integers(1, 4)))]
    # The same text again under another id, with other entities (or none).
    src = draw(st.sampled_from(docs))
    twin = draw(st.sampled_from([[], src.entities]))
    docs.insert(draw(st.integers(0, len(docs))), Example("twin", src.text, list(twin)))
    return docs


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_instructions_round_trip_every_format(name: str, data: st.DataObject) -> None:
    docs = data.draw(corpora(surface_alphabet(name)))
    sampling = data.draw(
        st.sampled_from([{}, {"negatives": 0}, {"negatives": 1}, {"negative_ratio": 0.5}])
    )
    order = data.draw(st.sampled_from(nerlm.instructions.ORDERS))
    fmt = make(name)
    recs = nerlm.build_instructions(docs, fmt, LABELS, order=order, seed=3, **sampling)
    assert len({r["id"] for r in recs}) == len(recs)
    back = nerlm.examples_from_instructions(json.loads(json.dumps(recs)), fmt)
    assert [(b.id, b.text) for b in back] == [(d.id, d.text) for d in docs]
    for b, d in zip(back, docs, strict=True):
        assert b.entities == d.entities


@pytest.fixture(scope="module")
def dev() -> list[Example]:
    return nerlm.read_cluener(CLUENER / "dev.json", split="dev")


@pytest.mark.parametrize("name", NAMES)
def test_instructions_over_cluener_dev(name: str, dev: list[Example]) -> None:
    labels = list(nerlm.CLUENER_LABELS)
    fmt = nerlm.get_format(name, label_map=nerlm.LLM_NER_LABELS_ZH)
    recs = nerlm.build_instructions(dev, fmt, labels, negatives=3, order="random", seed=1)
    back = nerlm.examples_from_instructions(recs, fmt)
    assert [b.id for b in back] == [d.id for d in dev]
    for b, d in zip(back, dev, strict=True):
        assert pairs(b.entities) == pairs(d.entities)
        if name == "xml-inline":
            assert b.entities == d.entities
    # Every prompt and target uses the seed's names, not the corpus labels.
    assert any("影视" in r["instruction"] for r in recs)
    assert not any("movie" in r["output"] for r in recs)


def schemas(recs: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in recs:
        out.setdefault(r["meta"]["doc_id"], []).extend(r["labels"])
    return out


def test_negative_schema_sampling(dev: list[Example]) -> None:
    labels = list(nerlm.CLUENER_LABELS)
    docs = dev[:300]
    fmt = nerlm.IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
    full = schemas(nerlm.build_instructions(docs, fmt, labels))
    assert all(s == labels for s in full.values())
    for k in (0, 1, 3):
        got = schemas(nerlm.build_instructions(docs, fmt, labels, negatives=k, seed=5))
        for d in docs:
            present = {e.label for e in d.entities}
            absent = [lab for lab in labels if lab not in got[d.id]]
            assert present <= set(got[d.id])
            assert len(got[d.id]) == len(present) + max(min(k, 10 - len(present)), not present)
            assert got[d.id] == [lab for lab in labels if lab not in absent]  # stable order
        # Not every instruction lists every label.
        assert any(len(s) < len(labels) for s in got.values())
    ratio = schemas(nerlm.build_instructions(docs, fmt, labels, negative_ratio=0.3, seed=5))
    n_neg = sum(len(ratio[d.id]) - len({e.label for e in d.entities}) for d in docs)
    n_abs = sum(10 - len({e.label for e in d.entities}) for d in docs)
    assert 0.2 < n_neg / n_abs < 0.4
    assert schemas(nerlm.build_instructions(docs, fmt, labels, negative_ratio=1.0)) == full
    # Seeded: the same seed gives the same records, another seed other samples.
    a = nerlm.build_instructions(docs, fmt, labels, negatives=2, order="random", seed=9)
    b = nerlm.build_instructions(docs, fmt, labels, negatives=2, order="random", seed=9)
    c = nerlm.build_instructions(docs, fmt, labels, negatives=2, order="random", seed=10)
    assert a == b and a != c
    # A document's sample does not depend on the other documents.
    alone = nerlm.build_instructions(docs[7:8], fmt, labels, negatives=2, order="random", seed=9)
    assert [r for r in a if r["meta"]["doc_id"] == docs[7].id] == alone


def test_label_order_stable_or_random(dev: list[Example]) -> None:
    labels = ["scene", "name", "address", "book", "company", "game", "government", "movie"]
    fmt = nerlm.IepileJson(split_num=3)
    stable = nerlm.build_instructions(dev[:50], fmt, [*labels, "organization", "position"],
                                      drop_unknown=True)  # fmt: skip
    assert all(s == [*labels, "organization", "position"] for s in schemas(stable).values())
    assert [len(r["labels"]) for r in stable[:4]] == [3, 3, 3, 1]
    rand = schemas(nerlm.build_instructions(dev[:50], fmt, labels, order="random", seed=2,
                                            drop_unknown=True))  # fmt: skip
    assert all(sorted(s) == sorted(labels) for s in rand.values())
    assert len({tuple(s) for s in rand.values()}) > 40


def test_ids_stay_unique_and_read_iepile_regroups(tmp_path: Path) -> None:
    text = '他说"南京"\\很好\n<&>'
    docs = [
        Example("a", text, [Entity(3, 5, "address", "南京")]),
        Example("b", text, [Entity(0, 1, "name", "他")]),  # same text, next line
        Example("a#0", "𠮷😀", []),  # an id that looks like a chunk id
        Example("c", text, []),
    ]
    fmt = nerlm.IepileJson(split_num=1, label_map=MAP)
    recs = nerlm.build_instructions(docs, fmt, LABELS)
    ids = [r["id"] for r in recs]
    assert len(set(ids)) == len(ids) == 4 * len(LABELS)
    assert ids[:2] == ["a#0", "a#1"] and "a#0#0" in ids
    path = tmp_path / "train.jsonl"
    nerlm.write_instructions(recs, path)
    back = nerlm.read_iepile(path, fmt)
    assert [(b.id, b.text, b.entities) for b in back] == [(d.id, d.text, d.entities) for d in docs]
    # Records of the older convert layout (one id per document, repeated) still group.
    old = [{**r, "id": r["meta"]["doc_id"]} for r in recs]
    for r in old:
        del r["meta"]
    nerlm.write_instructions(old, path)
    assert [b.id for b in nerlm.read_iepile(path, fmt)] == ["a", "b", "a#0", "c"]


def test_clue_fill_plain_and_described_variants(dev: list[Example]) -> None:
    train = nerlm.read_cluener(CLUENER / "train.json", split="train")[:3000]
    labels = list(nerlm.CLUENER_LABELS)
    zh = nerlm.LLM_NER_LABELS_ZH
    desc = nerlm.type_descriptions(train, labels, label_map=zh, per_type=3, seed=4)
    assert set(desc) == set(zh.values())
    surfaces = {(e.label, e.text) for ex in train for e in ex.entities}
    for lab in labels:
        definition, shots = desc[zh[lab]]
        assert definition and len(shots) == 3
        assert all((lab, s) in surfaces for s in shots)
    assert desc == nerlm.type_descriptions(train, labels, label_map=zh, per_type=3, seed=4)
    assert desc != nerlm.type_descriptions(train, labels, label_map=zh, per_type=3, seed=5)
    plain = ClueFill(label_map=zh)
    described = ClueFill(variant="described", label_map=zh, descriptions=desc)
    ex = dev[0]
    p1 = nerlm.build_instructions([ex], plain, labels)[0]
    p2 = nerlm.build_instructions([ex], described, labels)[0]
    assert p1["output"] == p2["output"]
    assert "'属于影视类实体有?': []" in p1["instruction"] and "类型说明" not in p1["instruction"]
    assert "类型说明" in p2["instruction"]
    assert f"影视：{desc['影视'][0]}；例如：{'、'.join(desc['影视'][1])}" in p2["instruction"]
    # Definitions come from the built-in table under either Chinese naming, or must be given.
    with pytest.raises(ValueError, match="no definition for type 'Grid'"):
        nerlm.type_descriptions(train, ["Grid"])
    assert nerlm.type_descriptions([], ["Grid"], definitions={"Grid": "电网单位"}) == {
        "Grid": ("电网单位", [])
    }


def test_bad_input_names_the_record() -> None:
    fmt = JsonLines()
    ok = Example("ok", "张三", [Entity(0, 2, "name", "张三")])
    with pytest.raises(ValueError, match="'ok' appears twice"):
        nerlm.build_instructions([ok, ok], fmt)
    bad = Example("bad-7", "张三", [Entity(0, 2, "name", "李四")])
    with pytest.raises(ValueError, match="bad-7"):
        nerlm.build_instructions([bad], fmt)
    with pytest.raises(ValueError, match=r"'ok'.*\['name'\] are not in the schema"):
        nerlm.build_instructions([ok], fmt, ["book"])
    recs = nerlm.build_instructions([ok], fmt, ["book"], drop_unknown=True)
    assert recs[0]["output"] == "没有找到任何实体"
    amp = Example("amp-1", "A&B", [Entity(0, 3, "name", "A&B")])
    with pytest.raises(ValueError, match="amp-1"):
        nerlm.build_instructions([amp], TypePairs())
    nested = Example(
        "n-2", "南京市", [Entity(0, 3, "address", "南京市"), Entity(0, 2, "name", "南京")]
    )
    with pytest.raises(ValueError, match="n-2"):
        nerlm.build_instructions([nested], XmlInline())
    for kwargs in ({"order": "sorted"}, {"negatives": -1}, {"negative_ratio": 1.5},
                   {"negatives": 1, "negative_ratio": 0.5}):  # fmt: skip
        with pytest.raises(ValueError):
            nerlm.build_instructions([ok], fmt, **kwargs)
    recs = nerlm.build_instructions([ok], fmt)
    recs[0]["output"] = '{"entity_text": "王五", "entity_label": "name"}'
    with pytest.raises(ValueError, match=r"'ok#0'.*not in the text"):
        nerlm.examples_from_instructions(recs, fmt)
    with pytest.raises(ValueError, match=r"'ok#0'.*does not parse"):
        nerlm.examples_from_instructions([{**recs[0], "output": "{"}], fmt)
    with pytest.raises(ValueError, match="needs output"):
        nerlm.examples_from_instructions([{"id": "z", "output": "x"}], fmt)


# --- exports ---------------------------------------------------------------------------------


def test_alpaca_sharegpt_and_dataset_info(tmp_path: Path) -> None:
    docs = [
        Example("a", "张三在北京", [Entity(0, 2, "name", "张三"), Entity(3, 5, "address", "北京")])
    ]
    recs = nerlm.build_instructions(docs, XmlInline(label_map=MAP), ["name", "address"])
    n = nerlm.write_instructions(recs, tmp_path / "a.json", "alpaca", system="你是实体抽取专家")
    alpaca = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert n == 1 and isinstance(alpaca, list)
    assert alpaca == [
        {
            "instruction": recs[0]["instruction"],
            "input": "",
            "output": "<人名>张三</人名>在<地址>北京</地址>",
            "system": "你是实体抽取专家",
        }
    ]
    nerlm.write_instructions(recs, tmp_path / "s.json", "sharegpt")
    sharegpt = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert sharegpt == [
        {
            "conversations": [
                {"from": "human", "value": recs[0]["instruction"]},
                {"from": "gpt", "value": recs[0]["output"]},
            ]
        }
    ]
    with_input = {"instruction": "抽取实体", "input": "张三", "output": "x"}
    assert nerlm.to_sharegpt([with_input])[0]["conversations"][0]["value"] == "抽取实体\n张三"
    assert nerlm.dataset_info_entry("a.json", "alpaca", system=True) == {
        "file_name": "a.json",
        "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output",
                    "system": "system"},
    }  # fmt: skip
    assert nerlm.dataset_info_entry("s.json", "sharegpt") == {
        "file_name": "s.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
    }
    with pytest.raises(ValueError):
        nerlm.dataset_info_entry("r.jsonl", "jsonl")
    with pytest.raises(ValueError):
        nerlm.write_instructions(recs, tmp_path / "r.jsonl", "jsonl", system="x")
    # Merging keeps the other entries; a different description of the same name is refused.
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"identity": {"file_name": "identity.json"}}), encoding="utf-8")
    entry = nerlm.dataset_info_entry("s.json", "sharegpt")
    nerlm.update_dataset_info(info, "ner", entry)
    nerlm.update_dataset_info(info, "ner", entry)  # the same entry again is fine
    merged = json.loads(info.read_text(encoding="utf-8"))
    assert merged == {"identity": {"file_name": "identity.json"}, "ner": entry}
    other = nerlm.dataset_info_entry("a.json", "alpaca")
    with pytest.raises(ValueError, match="already described"):
        nerlm.update_dataset_info(info, "ner", other)
    assert nerlm.update_dataset_info(info, "ner", other, overwrite=True)["ner"] == other
    info.write_text("[1]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        nerlm.update_dataset_info(info, "ner", entry)


# --- command line ----------------------------------------------------------------------------


def test_cli_instructions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data" / "dev_iepile.jsonl"
    out.parent.mkdir()
    argv = ["instructions", str(CLUENER / "dev.json"), str(out), "--from", "cluener",
            "--label-map", "cluener-zh", "--negatives", "2", "--order", "random",
            "--seed", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "read 1343 documents with 3072 entities" in capsys.readouterr().out
    docs = nerlm.read_iepile(out, nerlm.IepileJson(label_map=nerlm.CLUENER_LABELS_ZH))
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    assert [d.id for d in docs] == [g.id for g in gold]
    assert all(pairs(d.entities) == pairs(g.entities) for d, g in zip(docs, gold, strict=True))
    info = tmp_path / "data" / "dataset_info.json"
    info.write_text('{"keep": {"file_name": "k.json"}}', encoding="utf-8")
    alpaca = tmp_path / "data" / "ner" / "clue.json"
    alpaca.parent.mkdir()
    argv = ["instructions", str(CLUENER / "dev.json"), str(alpaca), "--from", "cluener",
            "--format", "clue-fill", "--variant", "described", "--label-map", "llm-ner",
            "--examples-from", str(CLUENER / "dev.json"), "--style", "alpaca",
            "--dataset-info", str(info), "--system", "你是专家"]  # fmt: skip
    assert main(argv) == 0
    merged = json.loads(info.read_text(encoding="utf-8"))
    assert merged["keep"] == {"file_name": "k.json"}
    assert merged["clue"]["file_name"] == "ner/clue.json"
    assert merged["clue"]["columns"]["system"] == "system"
    items = json.loads(alpaca.read_text(encoding="utf-8"))
    assert len(items) == 1343 and "类型说明" in items[0]["instruction"]
    argv = ["instructions", str(CLUENER / "dev.json"), str(tmp_path / "x.jsonl"),
            "--from", "cluener", "--labels", "name"]  # fmt: skip
    assert main(argv) == 2
    assert "cluener-dev-0" in capsys.readouterr().err


@SETTINGS
@given(data=st.data())
def test_xml_inline_inferred_labels_round_trip(data: st.DataObject) -> None:
    ex = data.draw(unambiguous_docs())
    inside = {p for e in ex.entities for p in range(e.start + 1, e.end)}
    points = [p for p in range(len(ex.text) + 1) if p not in inside]
    items = data.draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "label": st.just("Prov"),
                    "text": st.text(TRICKY, min_size=1, max_size=4),
                    "at": st.sampled_from(points),
                }
            ),
            max_size=3,
        )
    )
    ex.meta["inferred"] = items
    fmt = XmlInline(label_map={**MAP, "Prov": "省份"}, inferred=["Prov"])
    recs = nerlm.build_instructions([ex], fmt, [*LABELS, "Prov"], order="random", seed=1)
    (back,) = nerlm.examples_from_instructions(recs, fmt)
    assert back.entities == ex.entities
    key = lambda i: (i["at"], i["label"], i["text"])  # noqa: E731
    assert sorted(back.meta.get("inferred", []), key=key) == sorted(items, key=key)

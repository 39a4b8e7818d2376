"""Template synthesis: exact offsets, seeds, deduplication, inferred labels, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import nerlm
from nerlm import AlignStatus, Entity, Example
from nerlm.cli import main
from nerlm.formats.xml_inline import XmlInline
from nerlm.synth import Slot, parse_template


@pytest.fixture(scope="module")
def spec() -> nerlm.SynthSpec:
    return nerlm.load_synth_spec()


@pytest.fixture(scope="module")
def grid(spec: nerlm.SynthSpec) -> nerlm.SynthResult:
    return nerlm.synthesize(spec, 1500, seed=0)


def test_builtin_sample_is_small_and_valid(spec: nerlm.SynthSpec) -> None:
    path = Path(nerlm.__file__).parent / "samples" / "power_grid_synth.json"
    assert path.stat().st_size < 8_000
    assert spec.labels == ["Date", "City", "Company", "Indicator", "Province"]
    assert spec.inferred_labels == ["Province"]
    assert spec.inferred[0].mapping["菏泽"] == "山东省"


def test_offsets_are_exact(spec: nerlm.SynthSpec, grid: nerlm.SynthResult) -> None:
    assert len(grid.examples) == 1500
    cities = {c: spec.inferred[0].mapping[c] for c in spec.values("City")}
    companies = spec.gazetteers["Company"]
    assert isinstance(companies, tuple)
    for ex in grid.examples:
        assert ex.check() is None
        assert ex.entities == sorted(ex.entities) and ex.entities
        for e in ex.entities:
            assert ex.text[e.start : e.end] == e.text
            assert e.text in spec.values(e.label)
        # The template's literal text is everything outside the entities, in order.
        template = spec.sources[ex.meta["template"]]
        literal = "".join(p for p in parse_template(template) if isinstance(p, str))
        rest, pos = [], 0
        for e in ex.entities:
            rest.append(ex.text[pos : e.start])
            pos = e.end
        rest.append(ex.text[pos:])
        assert "".join(rest) == literal
        by_label = {e.label: e.text for e in ex.entities}
        # Company is drawn from the list of the City in the same sentence.
        if "City" in by_label and "Company" in by_label:
            assert by_label["Company"] in companies[1][by_label["City"]]
        # Province is inferred from City, at the start; absent without a City.
        inferred = ex.meta.get("inferred", [])
        if "City" in by_label:
            assert inferred == [{"label": "Province", "text": cities[by_label["City"]], "at": 0}]
        else:
            assert inferred == []
    # Optional slots are sometimes left out.
    assert any(not any(e.label == "Date" for e in ex.entities) for ex in grid.examples)


def test_seed_reproducibility(spec: nerlm.SynthSpec, grid: nerlm.SynthResult) -> None:
    again = nerlm.synthesize(spec, 1500, seed=0)
    assert [(x.id, x.text, x.entities, x.meta) for x in again.examples] == [
        (x.id, x.text, x.entities, x.meta) for x in grid.examples
    ]
    assert (again.attempts, again.duplicates) == (grid.attempts, grid.duplicates)
    other = nerlm.synthesize(spec, 1500, seed=1)
    assert [x.text for x in other.examples] != [x.text for x in grid.examples]
    # The spec as a plain mapping gives the same result as the parsed spec.
    obj = json.loads(
        (Path(nerlm.__file__).parent / "samples" / "power_grid_synth.json").read_text()
    )
    assert [x.text for x in nerlm.synthesize(obj, 50).examples] == [
        x.text for x in grid.examples[:50]
    ]


def test_dedup_counts(grid: nerlm.SynthResult) -> None:
    texts = [x.text for x in grid.examples]
    assert len(set(texts)) == len(texts)
    assert grid.attempts == len(texts) + grid.duplicates
    assert grid.duplicates > 0
    assert [x.id for x in grid.examples] == [f"grid-{i}" for i in range(len(texts))]
    tiny = {
        "name": "tiny",
        "templates": ["{A}和{B}", "{A}"],
        "gazetteers": {"A": ["甲", "乙"], "B": ["丙"]},
    }
    r = nerlm.synthesize(tiny, 10, seed=3, max_attempts=200)
    assert sorted(x.text for x in r.examples) == ["乙", "乙和丙", "甲", "甲和丙"]
    assert r.attempts == 200 and r.duplicates == 196
    assert r.summary() == (
        "4/10 examples from 200 draws; 196 duplicates dropped (the templates ran out)"
    )
    r = nerlm.synthesize(tiny, 2, seed=3)
    assert len(r.examples) == 2 and r.attempts == 2 + r.duplicates
    assert nerlm.synthesize(tiny, 0).examples == []


def test_inferred_labels_round_trip_through_xml_inline(grid: nerlm.SynthResult) -> None:
    fmt = XmlInline(inferred=["Province"])
    labels = ["Date", "City", "Company", "Indicator", "Province"]
    for ex in grid.examples[:300]:
        full = nerlm.with_inferred(ex)
        target = fmt.render_target(full, labels)
        r = fmt.parse(target, ex.text, labels)
        assert r.ok, r.error
        real = [e for e in r.entities if e.status is AlignStatus.EXACT]
        assert [Entity(e.start, e.end, e.label, e.text) for e in real] == ex.entities
        assert [(e.label, e.text) for e in r.entities if e.status is AlignStatus.INFERRED] == [
            (i["label"], i["text"]) for i in ex.meta.get("inferred", [])
        ]
        if ex.meta.get("inferred"):
            assert target.startswith(f"<Province>{ex.meta['inferred'][0]['text']}</Province>")
    # Through instruction records: xml-inline writes Province, iepile-json leaves it out.
    docs = grid.examples[:200]
    recs = nerlm.build_instructions(docs, fmt, labels, negatives=1, order="random", seed=2)
    assert sum("<Province>" in r["output"] for r in recs) == sum(
        bool(x.meta.get("inferred")) for x in docs
    )
    back = nerlm.examples_from_instructions(recs, fmt)
    for b, d in zip(back, docs, strict=True):
        assert b.entities == d.entities
        assert b.meta == d.meta
    # Other insertion points are read back too.
    ex = Example("p", "A&B<C>", [Entity(0, 1, "City", "A")],
                 {"inferred": [{"label": "Province", "text": "x<&>y", "at": 1},
                               {"label": "Province", "text": "z", "at": 6}]})  # fmt: skip
    recs = nerlm.build_instructions([ex], fmt, labels)
    assert recs[0]["output"] == (
        "<City>A</City><Province>x&lt;&amp;&gt;y</Province>&amp;B&lt;C&gt;<Province>z</Province>"
    )
    assert nerlm.examples_from_instructions(recs, fmt)[0].meta["inferred"] == ex.meta["inferred"]
    recs = nerlm.build_instructions(docs, nerlm.IepileJson(), labels[:4])
    assert not any("Province" in r["instruction"] or "省" in r["output"] for r in recs)


def test_positions_conditional_gazetteers_and_optional_slots() -> None:
    spec: dict[str, Any] = {
        "name": "pos",
        "templates": ["去{City}看{{灯}}", "{Date?}{City}"],
        "gazetteers": {
            "Date": ["今天"],
            "City": ["菏泽", "洛阳"],
            "Site": {"by": "City", "values": {"菏泽": ["牡丹园"], "洛阳": ["龙门"]}},
        },
        "inferred": {"Province": {"from": "City", "map": {"菏泽": "山东省", "洛阳": "河南省"}}},
    }
    for position, expect in (("start", 0), ("end", None), ("before", "City"), ("after", "/City")):
        spec["inferred"]["Province"]["position"] = position
        r = nerlm.synthesize(spec, 6, seed=0)
        assert len(r.examples) == 6
        for ex in r.examples:
            city = next(e for e in ex.entities if e.label == "City")
            at = {0: 0, None: len(ex.text), "City": city.start, "/City": city.end}[expect]
            assert ex.meta["inferred"] == [
                {
                    "label": "Province",
                    "text": {"菏泽": "山东省", "洛阳": "河南省"}[city.text],
                    "at": at,
                }
            ]
            if ex.meta["template"] == 0:
                assert ex.text.endswith("看{灯}")
            target = XmlInline(inferred=["Province"]).render_target(
                nerlm.with_inferred(ex), ["Date", "City", "Province"]
            )
            assert target.count("<Province>") == 1
    spec["templates"] = ["{City}的{Site}", "{Site}"]
    del spec["inferred"]
    r = nerlm.synthesize(spec, 6, seed=0)
    pairs = {tuple(e.text for e in ex.entities) for ex in r.examples}
    assert pairs == {("菏泽", "牡丹园"), ("洛阳", "龙门"), ("牡丹园",), ("龙门",)}
    assert parse_template("a{X?}b{{c}}") == ["a", Slot("X", True), "b", "{", "c", "}"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"templates": ["{City"]}, "unmatched '{'"),
        ({"templates": ["{}"]}, "bad slot"),
        ({"templates": ["{Town}"]}, "slot {Town} has no gazetteer"),
        ({"templates": ["没有槽"]}, "has no slot"),
        ({"gazetteers": {"City": []}}, "non-empty list"),
        ({"gazetteers": {"City": ["菏泽", ""]}}, "non-empty list"),
        ({"gazetteers": {"City": ["菏泽"], "Co": {"by": "City", "values": {}}}}, "non-empty"),
        (
            {
                "gazetteers": {
                    "City": ["菏泽", "济南"],
                    "Co": {"by": "City", "values": {"菏泽": ["x"]}},
                }
            },
            "no values for City",
        ),
        ({"inferred": {"Province": {"from": "City", "map": {}}}}, "lacks City values"),
        ({"inferred": {"Province": {"from": "Town", "map": {}}}}, "'from' must name"),
        ({"inferred": {"City": {"from": "City", "map": {"菏泽": "x"}}}}, "or inferred, not both"),
        (
            {"inferred": {"P": {"from": "City", "map": {"菏泽": "x"}, "position": "mid"}}},
            "'position' must be",
        ),
        ({"extra": 1}, "unknown members"),
    ],
)
def test_bad_specs_are_refused(change: dict[str, Any], message: str) -> None:
    spec = {"templates": ["{City}"], "gazetteers": {"City": ["菏泽"]}, **change}
    with pytest.raises(ValueError, match=message):
        nerlm.synthesize(spec, 1)


def test_bad_inferred_meta_names_the_example() -> None:
    ex = Example("g-1", "菏泽", [], {"inferred": [{"label": "Province", "text": "", "at": 0}]})
    with pytest.raises(ValueError, match="'g-1'"):
        nerlm.inferred_entities(ex)
    with pytest.raises(ValueError, match="'g-1'"):
        nerlm.build_instructions([ex], XmlInline(inferred=["Province"]))


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grid.jsonl"
    assert main(["synth", str(out), "-n", "300", "--seed", "4"]) == 0
    said = capsys.readouterr().out
    assert said.startswith("grid: 300/300 examples from") and "duplicates dropped" in said
    docs = nerlm.read_jsonl(out)  # canonical JSONL, strict offsets
    assert len(docs) == 300
    assert [d.text for d in docs] == [x.text for x in nerlm.synthesize(
        nerlm.load_synth_spec(), 300, seed=4).examples]  # fmt: skip
    info = tmp_path / "dataset_info.json"
    sg = tmp_path / "grid_sharegpt.json"
    argv = ["synth", str(sg), "-n", "300", "--to", "instructions", "--style", "sharegpt",
            "--dataset-info", str(info), "--dataset-name", "grid"]  # fmt: skip
    assert main(argv) == 0
    items = json.loads(sg.read_text(encoding="utf-8"))
    assert len(items) == 300
    assert Counter(m["from"] for it in items for m in it["conversations"]) == {
        "human": 300,
        "gpt": 300,
    }
    assert any("<Province>" in it["conversations"][1]["value"] for it in items)
    assert json.loads(info.read_text(encoding="utf-8"))["grid"]["file_name"] == sg.name
    # The canonical file converts to instructions too, with the inferred label named.
    recs_path = tmp_path / "grid_xml.jsonl"
    argv = ["instructions", str(out), str(recs_path), "--format", "xml-inline",
            "--inferred", "Province"]  # fmt: skip
    assert main(argv) == 0
    recs = [json.loads(line) for line in recs_path.read_text(encoding="utf-8").splitlines()]
    assert sum(r["output"].startswith("<Province>") for r in recs) == sum(
        bool(d.meta.get("inferred")) for d in docs
    )
    # clue-fill's described prompt with user definitions and examples drawn from the file.
    defs = tmp_path / "defs.json"
    defs.write_text(
        json.dumps({"Date": "时间", "City": "地市", "Company": "供电单位", "Indicator": "指标"}),
        encoding="utf-8",
    )
    clue = tmp_path / "clue.jsonl"
    argv = ["instructions", str(out), str(clue), "--format", "clue-fill", "--variant",
            "described", "--definitions", str(defs), "--examples-from", str(out)]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(clue.read_text(encoding="utf-8").splitlines()[0])
    assert "City：地市；例如：" in first["instruction"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"templates": ["{X}"], "gazetteers": {}}', encoding="utf-8")
    assert main(["synth", str(out), "--spec", str(bad)]) == 2
    assert "bad.json: 'gazetteers' must be a non-empty object" in capsys.readouterr().err

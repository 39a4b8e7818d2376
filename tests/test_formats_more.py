"""The clue-fill, json-lines, xml-inline and type-pairs formats: round trips and bad outputs."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

import nerlm
from nerlm import AlignStatus, Entity, Example
from nerlm.formats.clue_fill import ClueFill
from nerlm.formats.json_lines import JsonLines
from nerlm.formats.type_pairs import TypePairs
from nerlm.formats.xml_inline import XmlInline

from .conftest import CLUENER

LABELS = list(nerlm.CLUENER_LABELS_ZH)
ZH = nerlm.CLUENER_LABELS_ZH


@pytest.fixture(scope="module")
def dev() -> list[Example]:
    return nerlm.read_cluener(CLUENER / "dev.json", split="dev")


def all_formats() -> list[Any]:
    return [
        ClueFill(label_map=ZH),
        ClueFill(variant="described", label_map=ZH),
        JsonLines(label_map=ZH),
        XmlInline(label_map=ZH),
        TypePairs(label_map=ZH),
        TypePairs(label_map=ZH, label_sep="：", pair_sep="；", none_text="没有实体"),
    ]


def example_with(pieces: list[tuple[str, str | None]], doc_id: str = "x") -> Example:
    """An example from ``(text, label or None)`` pieces."""
    text, ents = "", []
    for s, label in pieces:
        if label is not None:
            ents.append(Entity(len(text), len(text) + len(s), label, s))
        text += s
    return Example(doc_id, text, ents)


# --- round trips over CLUENER dev ------------------------------------------------------------


@pytest.mark.parametrize("fmt", all_formats(), ids=lambda f: f"{f.name}")
def test_round_trip_over_cluener_dev(fmt: Any, dev: list[Example]) -> None:
    assert len(dev) == 1343
    subset = LABELS[3:7]
    for ex in dev:
        for labels in (LABELS, subset):
            target = fmt.render_target(ex, labels)
            r = fmt.parse(target, ex.text, labels)
            assert r.ok, (ex.id, target, r.error)
            assert not r.unknown_labels and not r.missing_labels
            assert Counter((e.label, e.text) for e in r.entities) == Counter(
                (e.label, e.text) for e in ex.entities if e.label in labels
            )
            assert all(e.status is not AlignStatus.UNGROUNDED for e in r.entities)
            if fmt.name == "xml-inline":
                assert [(e.start, e.end, e.label) for e in r.entities] == [
                    (e.start, e.end, e.label) for e in ex.entities if e.label in labels
                ]
                assert all(e.status is AlignStatus.EXACT for e in r.entities)


@pytest.mark.parametrize("fmt", all_formats(), ids=lambda f: f"{f.name}")
def test_prompts_are_deterministic_and_name_the_types(fmt: Any, dev: list[Example]) -> None:
    ex = dev[0]
    prompt = fmt.render_prompt(ex, LABELS)
    assert prompt == fmt.render_prompt(ex, LABELS)
    assert ex.text in prompt
    assert all(ZH[lab] in prompt for lab in LABELS)


@pytest.mark.parametrize("fmt", all_formats(), ids=lambda f: f"{f.name}")
def test_truncated_and_random_outputs_never_raise(fmt: Any, dev: list[Example]) -> None:
    rng = random.Random(0)
    for ex in rng.sample(dev, 40):
        target = fmt.render_target(ex, LABELS)
        for cut in range(len(target)):
            r = fmt.parse(target[:cut], ex.text, LABELS)
            assert r.ok or not r.entities
    alphabet = "{}[]'\":,\\ \nxuUN01<>/&_人名张三属于类实体有?&amp;：；\ud800"
    text = "张三在北京"
    for _ in range(2000):
        out = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        r = fmt.parse(out, text, LABELS)
        assert r.ok or (r.error and not r.entities)


# --- clue-fill -------------------------------------------------------------------------------


def test_clue_fill_target_is_the_repr_of_the_dict(dev: list[Example]) -> None:
    fmt = ClueFill(label_map=ZH)
    for ex in dev:
        want: dict[str, list[str]] = {f"属于{ZH[lab]}类实体有?": [] for lab in LABELS}
        for e in sorted(ex.entities, key=lambda e: (e.start, e.end)):
            want[f"属于{ZH[e.label]}类实体有?"].append(e.text)
        assert fmt.render_target(ex, LABELS) == repr(want)
    ex = example_with([("浙商银行", "company"), ("企业信贷部", None), ("叶老桂", "name")])
    assert fmt.render_target(ex, ["name", "company", "address"]) == (
        "{'属于人名类实体有?': ['叶老桂'], '属于企业类实体有?': ['浙商银行'], "
        "'属于地址类实体有?': []}"
    )


TRICKY = [
    "O'Neil",
    'say "hi"',
    'it\'s "both"',
    "C:\\new\\dir",
    "line1\nline2",
    "tab\there\r",
    "全角\u3000空格",
    "nul\x00\x07\x1b\x7f",
    "zero\u200bwidth",
    "tag\U000e0001x",
    "emoji😀",
    "\\'",
    "《略谈<空气>》",
]


def test_clue_fill_tricky_strings_round_trip() -> None:
    fmt = ClueFill()
    pieces: list[tuple[str, str | None]] = []
    for i, s in enumerate(TRICKY):
        pieces += [(s, "A" if i % 2 else "B"), ("，", None)]
    ex = example_with(pieces)
    target = fmt.render_target(ex, ["A", "B"])
    assert target == repr({"属于A类实体有?": TRICKY[1::2], "属于B类实体有?": TRICKY[0::2]})
    assert "\\u3000" in target and "\\U000e0001" in target and "\\x00" in target
    r = fmt.parse(target, ex.text, ["A", "B"])
    assert r.ok
    assert sorted((e.start, e.end, e.label, e.text) for e in r.entities) == [
        (e.start, e.end, e.label, e.text) for e in ex.entities
    ]
    assert all(e.status is AlignStatus.EXACT for e in r.entities)


def test_clue_fill_reads_other_python_literal_spellings() -> None:
    fmt = ClueFill()
    text = "A张三'\"\\\x07\b\f\v\x00é"
    out = (
        '{\n  "属于人物类实体有?" :[ "\\x41\\u5f20\\N{CJK UNIFIED IDEOGRAPH-4E09}" ,'
        " '\\'\\\"\\\\' ,\t'\\a\\b\\f\\v\\0', '\\351', 'a\\\nb', ],\n"
        "  '属于地点类实体有?': [],\n}\n"
    )
    r = fmt.parse(out, text, ["人物", "地点"])
    assert r.ok, r.error
    assert [e.text for e in r.entities] == ["A张三", "'\"\\", "\x07\b\f\v\x00", "é", "ab"]
    assert [e.status for e in r.entities][:4] == [AlignStatus.EXACT] * 4
    assert r.entities[4].status is AlignStatus.UNGROUNDED and r.entities[4].start == -1
    assert fmt.parse("{}", text, ["人物"]).missing_labels == ["人物"]


def test_clue_fill_unknown_and_missing_labels() -> None:
    fmt = ClueFill(label_map={"per": "人名", "loc": "地址"})
    r = fmt.parse(
        "{'属于人名类实体有?': ['张三', '王五'], '属于地点类实体有?': ['北京']}",
        "张三在北京",
        ["per", "loc"],
    )
    assert r.ok and r.unknown_labels == ["地点"] and r.missing_labels == ["loc"]
    assert [(e.label, e.text, e.status) for e in r.entities] == [
        ("per", "张三", AlignStatus.EXACT),
        ("per", "王五", AlignStatus.UNGROUNDED),
        ("地点", "北京", AlignStatus.EXACT),
    ]


@pytest.mark.parametrize(
    "out",
    [
        "",
        "   ",
        "{",
        "{'属于人名类实体有?': ['张",
        "{'属于人名类实体有?': ['张三'",
        "{'属于人名类实体有?': ['张三']",
        "{'属于人名类实体有?': ['张三'],",
        "__import__('os')",
        "__import__('os').system('ls')",
        "{'人名': ['张三']}",
        "{'属于类实体有?': []}",
        "{'属于人名类实体': []}",
        "{'属于人名类实体有?': [1]}",
        "{'属于人名类实体有?': [None]}",
        "{'属于人名类实体有?': '张三'}",
        "{'属于人名类实体有?': ('张三',)}",
        "['张三']",
        "{'属于人名类实体有?': ['张三']} extra",
        "{'属于人名类实体有?': ['张三']}}",
        "{'属于人名类实体有?': ['a' 'b']}",
        "{'属于人名类实体有?': ['a',, 'b']}",
        "{'属于人名类实体有?': [,]}",
        "{,}",
        "{'属于人名类实体有?': [\"张三']}",
        "{'属于人名类实体有?': ['张\n三']}",
        "{'属于人名类实体有?': ['\\q']}",
        "{'属于人名类实体有?': ['\\x4']}",
        "{'属于人名类实体有?': ['\\u12']}",
        "{'属于人名类实体有?': ['\\U00110000']}",
        "{'属于人名类实体有?': ['\\N{NO SUCH NAME}']}",
        "{'属于人名类实体有?': ['\\N{LATIN']}",
        "{'属于人名类实体有?': ['\\ud800']}",
        "{'属于人名类实体有?': ['\\",
        "{'属于人名类实体有?': [], '属于人名类实体有?': []}",
        "{**x}",
        "{'属于人名类实体有?': [*a]}",
        "{'属于人名类实体有?': [f'{x}']}",
        "{'属于人名类实体有?': [r'x']}",
        "{'属于人名类实体有?': ['''x''']}",
        "{1: []}",
        "[" * 10000,
        "{'" + "\\" * 10001,
    ],
)
def test_clue_fill_bad_outputs_become_errors(out: str) -> None:
    r = ClueFill().parse(out, "张三在北京", ["人名"])
    assert not r.ok and r.error and r.entities == []


def test_clue_fill_errors_say_where_and_when_truncated() -> None:
    fmt = ClueFill()
    err = fmt.parse("{'属于人名类实体有?': ['张", "张三", ["人名"]).error or ""
    assert "truncated" in err
    err = fmt.parse("{'属于人名类实体有?': ['张三'] x}", "张三", ["人名"]).error or ""
    assert "character 21" in err and "truncated" not in err
    err = fmt.parse("{'人名': []}", "张三", ["人名"]).error or ""
    assert "'人名'" in err


def test_clue_fill_described_prompt() -> None:
    ex = Example("x", "叶老桂在浙商银行")
    prompt = ClueFill(variant="described", label_map=ZH).render_prompt(ex, ["name", "company"])
    assert "人名：" in prompt and "企业：" in prompt and "{'属于人名类实体有?': []," in prompt
    assert "地址" not in prompt
    plain = ClueFill(label_map=ZH).render_prompt(ex, ["name", "company"])
    assert "人名：" not in plain and "{'属于人名类实体有?': [], '属于企业类实体有?': []}" in plain
    custom = ClueFill(
        variant="described", descriptions={"设备": ("电力设备", ["变压器", "断路器"])}
    )
    assert "设备：电力设备" in custom.render_prompt(ex, ["设备"])
    assert "变压器、断路器" in custom.render_prompt(ex, ["设备"])
    with pytest.raises(ValueError, match="无此类"):
        ClueFill(variant="described").render_prompt(ex, ["无此类"])
    with pytest.raises(ValueError):
        ClueFill(variant="fancy")


# --- json-lines ------------------------------------------------------------------------------


def test_json_lines_target_text() -> None:
    fmt = JsonLines(label_map=ZH)
    ex = example_with([("南京", "address"), ("的", None), ('"蓝"公司', "company")])
    assert fmt.render_target(ex, LABELS) == (
        '{"entity_text": "南京", "entity_label": "地址"}\n'
        '{"entity_text": "\\"蓝\\"公司", "entity_label": "企业"}'
    )
    assert fmt.render_target(ex, ["name"]) == "没有找到任何实体"
    assert fmt.render_target(Example("y", "无"), LABELS) == "没有找到任何实体"
    r = fmt.parse(fmt.render_target(ex, LABELS), ex.text, LABELS)
    assert [(e.label, e.start, e.end) for e in r.entities] == [
        ("address", 0, 2),
        ("company", 3, 8),
    ]


def test_json_lines_lenient_reading() -> None:
    fmt = JsonLines()
    r = fmt.parse("  没有找到任何实体\n", "张三", ["人名"])
    assert r.ok and r.entities == []
    out = (
        '\n{"entity_text": "张三", "entity_label": "人名", "score": 1}\r\n\n'
        '  {"entity_label": "地点", "entity_text": "北京"}  \n'
        '{"entity_text": "张三", "entity_label": "人名"}\n'
    )
    r = fmt.parse(out, "张三在北京见到张三", ["人名"])
    assert r.ok and r.unknown_labels == ["地点"] and r.missing_labels == []
    assert [(e.label, e.text, e.start) for e in r.entities] == [
        ("人名", "张三", 0),
        ("地点", "北京", 3),
        ("人名", "张三", 7),
    ]


@pytest.mark.parametrize(
    "out",
    [
        "",
        " \n ",
        '{"entity_text": "张三", "entity_label": "人名"',
        '{"entity_text": "张三", "entity_label": "人名"}\n{"entity_text": "北',
        '{"entity_text": "张三"}',
        '{"entity_label": "人名"}',
        '{"entity_text": 1, "entity_label": "人名"}',
        '{"entity_text": "张三", "entity_label": null}',
        '["张三", "人名"]',
        '"张三"',
        "__import__('os')",
        "{'entity_text': '张三', 'entity_label': '人名'}",
        "没有找到任何实体\n" + '{"entity_text": "张三", "entity_label": "人名"}',
        "没有找到",
        "人名：张三",
        '{"entity_text": "\\ud800", "entity_label": "人名"}',
        "[" * 100000,
        '{"a":' * 100000,
    ],
)
def test_json_lines_bad_outputs_become_errors(out: str) -> None:
    r = JsonLines().parse(out, "张三在北京", ["人名"])
    assert not r.ok and r.error and r.entities == []


# --- xml-inline ------------------------------------------------------------------------------

GRID_LABELS = ["Date", "City", "Company", "Indicator", "Province"]


def grid_example() -> Example:
    ex = example_with(
        [("本月", "Date"), ("菏泽", "City"), ("巨野县供电公司", "Company"), ("投诉", "Indicator"),
         ("个数", None)],
        doc_id="grid-1",
    )  # fmt: skip
    ex.entities = sorted([*ex.entities, Entity(0, 0, "Province", "山东省")])
    return ex


def test_xml_inline_inferred_round_trip() -> None:
    fmt = XmlInline(inferred=["Province"])
    ex = grid_example()
    target = fmt.render_target(ex, GRID_LABELS)
    assert target == (
        "<Province>山东省</Province><Date>本月</Date><City>菏泽</City>"
        "<Company>巨野县供电公司</Company><Indicator>投诉</Indicator>个数"
    )
    r = fmt.parse(target, ex.text, GRID_LABELS)
    assert r.ok, r.error
    assert [(e.label, e.text, e.start, e.end, e.status) for e in r.entities] == [
        ("Province", "山东省", -1, -1, AlignStatus.INFERRED),
        ("Date", "本月", 0, 2, AlignStatus.EXACT),
        ("City", "菏泽", 2, 4, AlignStatus.EXACT),
        ("Company", "巨野县供电公司", 4, 11, AlignStatus.EXACT),
        ("Indicator", "投诉", 11, 13, AlignStatus.EXACT),
    ]
    assert "Province" in fmt.render_prompt(ex, GRID_LABELS)
    # Without Province in the schema the inferred entity is left out.
    assert fmt.render_target(ex, GRID_LABELS[:4]).startswith("<Date>本月</Date>")
    # Inferred text elsewhere, escaped, and at the end; after an entity ending there.
    ex2 = Example(
        "grid-2",
        "A&B<C>",
        [
            Entity(0, 1, "City", "A"),
            Entity(1, 1, "Province", "x<&>y"),
            Entity(6, 6, "Province", "z"),
        ],
    )
    target = fmt.render_target(ex2, GRID_LABELS)
    assert target == (
        "<City>A</City><Province>x&lt;&amp;&gt;y</Province>&amp;B&lt;C&gt;<Province>z</Province>"
    )
    r = fmt.parse(target, ex2.text, GRID_LABELS)
    assert [(e.label, e.text, e.start) for e in r.entities] == [
        ("City", "A", 0),
        ("Province", "x<&>y", -1),
        ("Province", "z", -1),
    ]


def test_xml_inline_escapes_and_exact_spans() -> None:
    fmt = XmlInline(label_map={"book": "书名", "name": "人名"})
    ex = example_with([("谈", None), ("《略谈<空气>&》", "book"), ("&&", None), ("费穆", "name")])
    target = fmt.render_target(ex, ["book", "name"])
    assert target == "谈<书名>《略谈&lt;空气&gt;&amp;》</书名>&amp;&amp;<人名>费穆</人名>"
    r = fmt.parse(target, ex.text, ["book", "name"])
    assert [(e.start, e.end, e.label, e.text) for e in r.entities] == [
        (e.start, e.end, e.label, e.text) for e in ex.entities
    ]
    # A bare '&' or '>' is read literally.
    r = fmt.parse("谈<书名>《略谈&lt;空气>&》</书名>&&<人名>费穆</人名>", ex.text, ["book", "name"])
    assert r.ok and [e.text for e in r.entities] == ["《略谈<空气>&》", "费穆"]


def test_xml_inline_copy_mismatch() -> None:
    fmt = XmlInline()
    text = "张三在北京"
    for out, at in [
        ("<人名>张三</人名>在南京", 3),
        ("<人名>张三</人名>在北", 4),
        ("<人名>张三</人名>在北京。", 5),
        ("<人名>张四</人名>在北京", 1),
        ("张三 在北京", 2),
        ("", 0),
        ("<人名>张三</人名>在北京\n", 5),
    ]:
        r = fmt.parse(out, text, ["人名"])
        assert r.error == f"copy mismatch at character {at}" and r.entities == []
    # Inferred elements do not count as copied text; real ones do.
    fmt = XmlInline(inferred=["省"])
    assert fmt.parse("<省>山东</省>张三在北京", text, ["人名", "省"]).ok
    assert fmt.parse("<人名>山东</人名>张三在北京", text, ["人名", "省"]).error == (
        "copy mismatch at character 0"
    )


def test_xml_inline_render_errors() -> None:
    fmt = XmlInline(inferred=["Province"])
    ex = Example("doc-7", "张三在北京", [Entity(0, 2, "人名", "张三"), Entity(1, 3, "x", "三在")])
    with pytest.raises(ValueError, match="doc-7"):
        fmt.render_target(ex, ["人名", "x"])
    assert fmt.render_target(ex, ["人名"]) == "<人名>张三</人名>在北京"
    inside = Example(
        "doc-8", "张三在北京", [Entity(0, 2, "人名", "张三"), Entity(1, 1, "Province", "山东")]
    )
    with pytest.raises(ValueError, match="doc-8"):
        fmt.render_target(inside, ["人名", "Province"])
    wide = Example("doc-9", "张三在北京", [Entity(0, 2, "Province", "张三")])
    with pytest.raises(ValueError, match="doc-9"):
        fmt.render_target(wide, ["Province"])
    empty = Example("doc-10", "张三在北京", [Entity(0, 0, "人名", "")])
    with pytest.raises(ValueError, match="doc-10"):
        fmt.render_target(empty, ["人名"])
    with pytest.raises(ValueError):
        XmlInline().render_target(Example("a", "x"), ["a<b"])


@pytest.mark.parametrize(
    "out",
    [
        "<人名>张三",
        "<人名>张三</人",
        "<人名",
        "<",
        "<人名>张三</人名>在<地址>北京",
        "<人物>张三</人物>在北京",
        "<人名 >张三</人名>在北京",
        "<人名>张三</地址>在北京",
        "<人名><地址>张三</地址></人名>在北京",
        "<人名>张<地址>三</地址></人名>在北京",
        "</人名>张三在北京",
        "张三</人名>在北京",
        "<人名></人名>张三在北京",
        "<>张三在北京",
        "</>张三在北京",
        "张三在北京<",
        "__import__('os')",
        "<script>alert(1)</script>",
        "张三在北京\ud800",
        "<" * 10000,
    ],
)
def test_xml_inline_bad_outputs_become_errors(out: str) -> None:
    r = XmlInline().parse(out, "张三在北京", ["人名", "地址"])
    assert not r.ok and r.error and r.entities == []


def test_xml_inline_error_messages() -> None:
    fmt = XmlInline()
    labels = ["人名", "地址"]
    assert "truncated" in (fmt.parse("<人名>张三", "张三", labels).error or "")
    assert "unknown tag <人物>" in (fmt.parse("<人物>张三</人物>", "张三", labels).error or "")
    assert "nested" in (fmt.parse("<人名><地址>张三</地址></人名>", "张三", labels).error or "")
    assert "empty element" in (fmt.parse("<人名></人名>张三", "张三", labels).error or "")


# --- type-pairs ------------------------------------------------------------------------------


def test_type_pairs_seed_target() -> None:
    fmt = TypePairs()
    ex = example_with([("安装", "安装动作"), ("a柱左下部饰板", "操作部件1")])
    labels = ["安装动作", "操作部件1"]
    assert fmt.render_target(ex, labels) == "安装动作_安装&操作部件1_a柱左下部饰板"
    assert fmt.render_target(Example("e", "无关"), labels) == "无"
    r = fmt.parse("安装动作_安装&操作部件1_a柱左下部饰板", ex.text, labels)
    assert [(e.label, e.text, e.start, e.end) for e in r.entities] == [
        ("安装动作", "安装", 0, 2),
        ("操作部件1", "a柱左下部饰板", 2, 9),
    ]
    assert fmt.parse(" 无\n", ex.text, labels).entities == []


def test_type_pairs_custom_separators(dev: list[Example]) -> None:
    fmt = TypePairs(label_map=ZH, label_sep="=>", pair_sep=" | ", none_text="NONE")
    ex = example_with([("叶老桂", "name"), ("在", None), ("浙商银行", "company")])
    target = fmt.render_target(ex, LABELS)
    assert target == "人名=>叶老桂 | 企业=>浙商银行"
    assert fmt.render_target(ex, ["book"]) == "NONE"
    r = fmt.parse(target, ex.text, LABELS)
    assert [(e.label, e.text) for e in r.entities] == [("name", "叶老桂"), ("company", "浙商银行")]
    assert fmt.parse("NONE", ex.text, LABELS).entities == []
    assert fmt.parse("无", ex.text, LABELS).error
    # A surface may contain label_sep: the schema name is matched first.
    fmt2 = TypePairs()
    ex2 = example_with([("a_b", "x"), ("c", None)])
    assert fmt2.parse(fmt2.render_target(ex2, ["x"]), ex2.text, ["x"]).entities[0].text == "a_b"
    for ex in dev[:200]:
        r = fmt.parse(fmt.render_target(ex, LABELS), ex.text, LABELS)
        assert Counter((e.label, e.text) for e in r.entities) == Counter(
            (e.label, e.text) for e in ex.entities
        )


def test_type_pairs_longest_name_and_unknown_labels() -> None:
    fmt = TypePairs(label_sep=":")
    r = fmt.parse("A:B:x&A:y&C:z", "xyz", ["A", "A:B"])
    assert r.ok and r.unknown_labels == ["C"]
    assert [(e.label, e.text) for e in r.entities] == [("A:B", "x"), ("A", "y"), ("C", "z")]
    fmt = TypePairs(label_map={"loc": "地址"})
    r = fmt.parse("地点_北京&地址_北京&地点_上海", "北京上海", ["loc"])
    assert r.unknown_labels == ["地点"]
    assert [(e.label, e.start) for e in r.entities] == [("地点", 0), ("loc", 0), ("地点", 2)]


def test_type_pairs_render_errors() -> None:
    fmt = TypePairs()
    with pytest.raises(ValueError, match="doc-3"):
        fmt.render_target(example_with([("A&B", "公司")], doc_id="doc-3"), ["公司"])
    with pytest.raises(ValueError, match="doc-4"):
        fmt.render_target(example_with([("张三", "人_名")], doc_id="doc-4"), ["人_名"])
    bad: list[dict[str, Any]] = [
        {"label_sep": ""},
        {"pair_sep": ""},
        {"none_text": ""},
        {"pair_sep": "_"},
        {"label_sep": "&&"},
    ]
    for options in bad:
        with pytest.raises(ValueError):
            TypePairs(**options)


@pytest.mark.parametrize(
    "out",
    [
        "",
        "  ",
        "人名张三",
        "人名_张三&地",
        "人名_张三&地址_",
        "人名_张三&",
        "&人名_张三",
        "人名_张三&&地址_北京",
        "人名_",
        "_张三",
        "__import__('os')",
        "人名_\ud800",
        "无&人名_张三",
    ],
)
def test_type_pairs_bad_outputs_become_errors(out: str) -> None:
    r = TypePairs().parse(out, "张三在北京", ["人名", "地址"])
    assert not r.ok and r.error and r.entities == []

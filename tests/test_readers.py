"""Corpus readers and writers: round trips over every real file in ../shared/data and the
fixtures in tests/fixtures, each format's quirks, errors with file and line, the registry and
``nerlm convert``."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import nerlm
from nerlm import DataFormatError, Entity, Example, ReadReport
from nerlm.cli import main
from nerlm.data import READERS, WRITERS, read_corpus, write_corpus
from nerlm.data.registry import reader_options

from .conftest import SHARED

DATA = SHARED / "data"
FIXTURES = Path(__file__).parent / "fixtures"


def labels_of(docs: list[Example]) -> dict[str, int]:
    return dict(Counter(e.label for d in docs for e in d.entities))


def assert_consistent(docs: list[Example]) -> None:
    """``text[start:end] == entity.text`` everywhere, unique ids, sorted entities."""
    for d in docs:
        assert d.check() is None, (d.id, d.check())
        assert d.entities == sorted(d.entities)
    assert len({d.id for d in docs}) == len(docs)


def round_trip(path: Path, fmt: str, tmp_path: Path, **options: Any) -> list[Example]:
    """Read, write back in the same format, compare bytes; return the documents."""
    docs = read_corpus(path, fmt, **options)
    out = tmp_path / f"out-{path.name}"
    write_corpus(docs, out, fmt)
    assert out.read_bytes() == path.read_bytes(), f"{path} does not come back byte for byte"
    assert_consistent(docs)
    return docs


# ---------------------------------------------------------------------------------------------
# every real file in ../shared/data

CHAR_FILES = {
    # path: (format, sentences, {label: entities} or None, lenient counts)
    "msra/msra_test_bio.txt": ("msra", 3442, {"LOC": 2886, "ORG": 1331, "PER": 1973}, {}),
    "peoples_daily/example.test": (
        "peoples-daily",
        4636,
        {"LOC": 3658, "PER": 1864, "ORG": 2185},
        {},
    ),
    "peoples_daily/example.dev": ("peoples-daily", 2318, None, {}),
    "weibo_ner/weiboNER_2nd_conll.train": (
        "weibo",
        1350,
        None,
        {"invalid_tag_sequence": 8},
    ),
    "weibo_ner/weiboNER_2nd_conll.dev": ("weibo", 270, None, {}),
    "weibo_ner/weiboNER_2nd_conll.test": ("weibo", 270, None, {"invalid_tag_sequence": 4}),
    "resume_ner/dev.char.bmes": ("resume", 463, None, {}),
    "resume_ner/test.char.bmes": ("resume", 477, None, {}),
}


@pytest.mark.parametrize("rel", sorted(CHAR_FILES))
def test_char_tagged_files_round_trip_byte_for_byte(rel: str, tmp_path: Path) -> None:
    fmt, n, counts, problems = CHAR_FILES[rel]
    path = DATA / rel
    report = ReadReport()
    docs = round_trip(path, fmt, tmp_path, lenient=bool(problems), report=report)
    assert len(docs) == n
    assert dict(report.counts) == problems
    if counts is not None:
        assert labels_of(docs) == counts
    if problems:  # without lenient=True the same file fails at the first irregular sentence
        with pytest.raises(DataFormatError) as e:
            read_corpus(path, fmt)
        assert e.value.path == str(path)
        assert f"{e.value.line}" in report.first[0]
    # the same file through canonical JSONL (meta carries separator, scheme, layout, ...)
    nerlm.write_jsonl(docs, tmp_path / "docs.jsonl")
    again = nerlm.read_jsonl(tmp_path / "docs.jsonl")
    assert again == docs
    write_corpus(again, tmp_path / "again.txt", fmt)
    assert (tmp_path / "again.txt").read_bytes() == path.read_bytes()


def test_auto_detected_schemes_match_the_presets() -> None:
    found = {}
    for rel, (fmt, *_rest) in CHAR_FILES.items():
        docs = nerlm.read_char_tags(
            DATA / rel, word_positions=fmt == "weibo", lenient=True, report=ReadReport()
        )
        found[fmt] = docs[0].meta["scheme"]
        assert docs[0].meta["separator"] == nerlm.data.CHAR_PRESETS[fmt].separator
        assert [d.entities for d in docs] == [
            d.entities for d in read_corpus(DATA / rel, fmt, lenient=True, report=ReadReport())
        ]
    assert found == {"msra": "IOB2", "peoples-daily": "IOB2", "weibo": "IOB2", "resume": "BMES"}


def test_resume_train_malformed_line(tmp_path: Path) -> None:
    path = DATA / "resume_ner" / "train.char.bmes"
    with pytest.raises(DataFormatError) as e:
        nerlm.read_char_tags(path, preset="resume")
    assert (e.value.path, e.value.line) == (str(path), 68949)
    assert str(e.value).startswith(f"{path}:68949: ") and "'-NAME'" in str(e.value)

    report = ReadReport()
    docs = nerlm.read_char_tags(path, preset="resume", lenient=True, report=report)
    assert len(docs) == 3821
    assert report.counts["malformed_line"] == 1
    assert f"{path}:68949: malformed_line" in report.first
    # four sentences whose BMES chunks cross a sentence break are counted, not dropped
    assert report.counts["invalid_tag_sequence"] == 4
    assert_consistent(docs)
    assert docs[0].meta["newline"] == "\r\n"

    out = tmp_path / "train.char.bmes"
    nerlm.write_char_tags(docs, out, preset="resume")
    original = path.read_bytes().split(b"\r\n")
    assert original[68948] == b"-NAME"
    # CRLF kept; the skipped line is the only difference
    assert out.read_bytes() == b"\r\n".join(original[:68948] + original[68949:])

    with pytest.warns(UserWarning, match="malformed_line: 1"):
        nerlm.read_char_tags(path, preset="resume", lenient=True)


@pytest.mark.parametrize("split", ["dev", "train"])
def test_cluener_files_round_trip(split: str, tmp_path: Path) -> None:
    """dev.json comes back byte for byte; train.json has irregular whitespace in one line
    (``[[9, 11],[32, 34]]``), which the writer normalises: equal as JSON values, in order."""
    path = DATA / "cluener" / f"{split}.json"
    n, spans = {"dev": (1343, 3072), "train": (10748, 23972)}[split]
    if split == "dev":
        docs = round_trip(path, "cluener", tmp_path)
    else:
        docs = read_corpus(path, "cluener")
        assert_consistent(docs)
        out = tmp_path / "out.json"
        write_corpus(docs, out, "cluener")
        read = path.read_text(encoding="utf-8").splitlines()
        written = out.read_text(encoding="utf-8").splitlines()
        # as values with key order: json.loads keeps it, and lists compare in order
        assert [list(json.loads(x)["label"].items()) for x in written] == [
            list(json.loads(x)["label"].items()) for x in read
        ]
        assert [json.loads(x) for x in written] == [json.loads(x) for x in read]
        assert sum(a != b for a, b in zip(read, written, strict=True)) == 1
    assert len(docs) == n and sum(len(d.entities) for d in docs) == spans


def test_cluener_prediction_files_have_no_text() -> None:
    with pytest.raises(DataFormatError, match=":1: no 'text' member"):
        read_corpus(DATA / "cluener" / "official_ner_predict.json", "cluener")


def test_iepile_samples_round_trip(tmp_path: Path) -> None:
    d = DATA / "iepile_samples"
    raw = round_trip(d / "sample.json", "iepile-raw", tmp_path)
    assert raw[-1].meta["eol"] is False  # sample.json has no newline at the end
    # the file lists 广州松日队 before 青岛海牛队; the order comes back
    assert raw[1].meta["order"] == [1, 0]
    assert [(e.text, e.start) for e in raw[1].entities] == [("青岛海牛队", 5), ("广州松日队", 11)]
    test = round_trip(d / "test.json", "iepile-test", tmp_path)
    train = read_corpus(d / "train.json", "iepile-instruction")
    assert [x.entities for x in raw] == [x.entities for x in test] == [x.entities for x in train]
    assert [x.meta["split"] for x in (raw[0], test[0], train[0])] == ["sample", "test", "train"]
    assert sum(len(x.entities) for x in raw) == 3


# ---------------------------------------------------------------------------------------------
# quirks


def test_peoples_daily_adjacent_single_character_entities_stay_separate() -> None:
    docs = nerlm.read_char_tags(DATA / "peoples_daily" / "example.test", preset="peoples-daily")
    first = docs[0]
    k = first.text.index("欧美")
    assert Entity(k, k + 1, "LOC", "欧") in first.entities
    assert Entity(k + 1, k + 2, "LOC", "美") in first.entities
    assert not any(e.text == "欧美" for e in first.entities)


def test_weibo_word_positions_are_stripped_and_kept(tmp_path: Path) -> None:
    path = DATA / "weibo_ner" / "weiboNER_2nd_conll.dev"
    docs = nerlm.read_char_tags(path, preset="weibo")
    first = docs[0]
    assert first.text.startswith("口腔溃疡")
    assert not any(c.isdigit() for c in first.text[:20])
    assert first.meta["word_positions"][:6] == [0, 1, 2, 3, 0, 1]
    # a digit character with a two-digit position: line 5828 is "310", line 5829 "011"
    doc = next(d for d in docs if d.meta["line"] <= 5828 < d.meta["line"] + len(d.text))
    k = 5828 - doc.meta["line"]
    assert doc.text[k : k + 2] == "30"
    assert doc.meta["word_positions"][k : k + 2] == [10, 11]
    # two U+FFFD (a character broken in the corpus) carry one position: one token
    broken = next(d for d in docs if "\ufffd" in d.text)
    assert "\ufffd\ufffd" in broken.meta["tokens"]
    assert_consistent(docs)

    # subtypes folded on request; without positions the writer writes bare characters
    folded = nerlm.read_char_tags(path, preset="weibo", fold_subtypes=True, keep_positions=False)
    assert set(labels_of(folded)) == {"PER", "ORG", "LOC", "GPE"}
    assert sum(labels_of(folded).values()) == sum(labels_of(docs).values())
    out = tmp_path / "bare.txt"
    nerlm.write_char_tags(folded, out, preset="weibo")
    assert out.read_text(encoding="utf-8").startswith("口\tO\n腔\tO\n")
    back = nerlm.read_char_tags(out, separator="tab")
    assert [(d.text, d.entities) for d in back] == [(d.text, d.entities) for d in folded]
    with pytest.raises(ValueError, match="all or none"):
        nerlm.write_char_tags([folded[0], docs[1]], out, preset="weibo")


def test_weibo_irregular_sentences_keep_their_tags(tmp_path: Path) -> None:
    path = DATA / "weibo_ner" / "weiboNER_2nd_conll.train"
    report = ReadReport()
    docs = nerlm.read_char_tags(path, preset="weibo", lenient=True, report=report)
    odd = next(d for d in docs if d.meta["line"] <= 1266 < d.meta["line"] + len(d.text))
    # 雯/B-PER.NAM 子/I-PER.NAM 小/I-PER.NOM 菇/I-PER.NOM 凉/I-PER.NOM: seqeval's chunking
    k = odd.text.index("雯子小菇凉")
    assert Entity(k, k + 2, "PER.NAM", "雯子") in odd.entities
    assert Entity(k + 2, k + 5, "PER.NOM", "小菇凉") in odd.entities
    assert odd.meta["tags"][k + 2] == "I-PER.NOM"
    # written in another scheme, the canonical tags are written
    nerlm.write_char_tags([odd], tmp_path / "x.txt", scheme="IOBES", word_positions="drop")
    lines = (tmp_path / "x.txt").read_text(encoding="utf-8").splitlines()
    assert lines[k + 2 : k + 5] == ["小\tB-PER.NOM", "菇\tI-PER.NOM", "凉\tE-PER.NOM"]


def test_char_writers_reject_what_tags_cannot_hold(tmp_path: Path) -> None:
    text = "张三在北京"
    overlap = Example("x", text, [Entity(0, 2, "PER", "张三"), Entity(1, 3, "PER", "三在")])
    with pytest.raises(ValueError, match="overlaps"):
        nerlm.write_char_tags([overlap], tmp_path / "x.txt")
    with pytest.raises(ValueError, match="empty text"):
        nerlm.write_char_tags([Example("e", "")], tmp_path / "x.txt")
    words = Example("w", "Peter Blackburn", [Entity(0, 3, "PER", "Pet")])
    with pytest.raises(ValueError, match="token boundaries"):
        nerlm.write_conll2003([words], tmp_path / "x.txt")


def test_char_tags_bad_input_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text("张 B-PER\n三 I-PER\n\n北 X-LOC\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        nerlm.read_char_tags(p)
    assert (e.value.path, e.value.line) == (str(p), 4) and "'X-LOC'" in e.value.reason
    p.write_text("张 B-PER\n三 I-PER\n\n北 I-LOC\n京 I-LOC\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.txt:4: tag 'I-LOC' does not follow IOB2"):
        nerlm.read_char_tags(p, scheme="BIO")
    report = ReadReport()
    docs = nerlm.read_char_tags(p, scheme="BIO", lenient=True, report=report)
    assert docs[1].entities == [Entity(0, 2, "LOC", "北京")]
    assert report.counts == Counter(invalid_tag_sequence=1)
    # no blank line at the end, no final newline: both come back
    p.write_text("张 B-PER\n三 E-PER\n在 O", encoding="utf-8")
    docs = nerlm.read_char_tags(p)
    assert docs[0].meta["scheme"] == "IOBES" and docs[0].meta["eol"] is False
    nerlm.write_char_tags(docs, tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == p.read_bytes()


# ---------------------------------------------------------------------------------------------
# chinese_ner_sft


def test_chinese_ner_sft_end_conventions(tmp_path: Path) -> None:
    exc = FIXTURES / "chinese_ner_sft_exclusive.jsonl"
    inc = FIXTURES / "chinese_ner_sft_inclusive.jsonl"
    a = round_trip(exc, "chinese-ner-sft", tmp_path)
    b = round_trip(inc, "chinese-ner-sft", tmp_path)
    assert a[0].meta["end"] == "exclusive" and b[0].meta["end"] == "inclusive"
    assert a[0].meta["data_source"] == "MSRA" and a[0].meta["split"] == "train"
    assert a[0].entities[1] == Entity(5, 13, "ORG", "中国致公党十一大")
    assert b[1].entities[0] == Entity(10, 11, "bod", "肺")  # start_idx 10, end_idx 10
    assert nerlm.read_chinese_ner_sft(inc, end="inclusive") == b
    assert nerlm.read_chinese_ner_sft(exc, end="exclusive") == a
    with pytest.raises(DataFormatError, match=r"exclusive.jsonl:1: entity '中共中央'"):
        nerlm.read_chinese_ner_sft(exc, end="inclusive")
    with pytest.raises(DataFormatError, match=r"inclusive.jsonl:1: entity 'SARST细胞'"):
        nerlm.read_chinese_ner_sft(inc, end="exclusive")

    # entity_names and the file's entity order come back; converted data gets [label]
    assert a[3].meta["order"] == [3, 0, 1, 2, 4]
    nerlm.write_chinese_ner_sft(a, tmp_path / "inc.jsonl", end="inclusive")
    again = nerlm.read_chinese_ner_sft(tmp_path / "inc.jsonl")
    assert again[0].meta["end"] == "inclusive" and [x.entities for x in again] == [
        x.entities for x in a
    ]
    cluener = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json")[:3]
    nerlm.write_chinese_ner_sft(cluener, tmp_path / "c.jsonl")
    first = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[0])
    # CLUENER's dev.json lists 台湾 (address) before 彭小军 (name): that order carries over
    assert first["entities"][1] == {
        "start_idx": 0,
        "end_idx": 3,
        "entity_text": "彭小军",
        "entity_label": "name",
        "entity_names": ["name"],
    }
    assert (first["data_source"], first["split"]) == ("cluener", "dev")


def test_chinese_ner_sft_inconsistent_or_neither(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    lines = (FIXTURES / "chinese_ner_sft_exclusive.jsonl").read_text(encoding="utf-8")
    lines += (FIXTURES / "chinese_ner_sft_inclusive.jsonl").read_text(encoding="utf-8")
    mixed.write_text(lines, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        nerlm.read_chinese_ner_sft(mixed)
    assert e.value.line == 5 and "line 5 needs an inclusive" in e.value.reason
    assert "line 1 an exclusive" in e.value.reason
    report = ReadReport()
    docs = nerlm.read_chinese_ner_sft(mixed, lenient=True, report=report)
    assert docs[0].meta["end"] == "exclusive"  # the majority
    assert report.counts == Counter(surface_mismatch=6)
    assert_consistent(docs)

    bad = tmp_path / "neither.jsonl"
    rec = {
        "text": "张三在北京",
        "entities": [
            {
                "start_idx": 0,
                "end_idx": 2,
                "entity_text": "张三",
                "entity_label": "PER",
                "entity_names": ["人名"],
            },
            {
                "start_idx": 3,
                "end_idx": 4,
                "entity_text": "上海",
                "entity_label": "LOC",
                "entity_names": ["地名"],
            },
        ],
    }
    bad.write_text("\n" + json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"neither.jsonl:2: entity '上海' \(LOC\)"):
        nerlm.read_chinese_ner_sft(bad)


# ---------------------------------------------------------------------------------------------
# doccano and Label Studio


@pytest.mark.parametrize(
    "name", ["doccano.jsonl", "doccano_labels.jsonl", "doccano_entities.jsonl"]
)
def test_doccano_styles_round_trip(name: str, tmp_path: Path) -> None:
    docs = round_trip(FIXTURES / name, "doccano", tmp_path)
    style = {"doccano.jsonl": "label", "doccano_labels.jsonl": "labels"}.get(name, "entities")
    assert docs[0].meta["style"] == style
    # to another style and back
    nerlm.write_doccano(
        docs, tmp_path / "other.jsonl", style="entities" if style != "entities" else "label"
    )
    assert [d.entities for d in nerlm.read_doccano(tmp_path / "other.jsonl")] == [
        d.entities for d in docs
    ]


def test_doccano_utf16_offsets(tmp_path: Path) -> None:
    docs = nerlm.read_doccano(FIXTURES / "doccano.jsonl")
    emoji = docs[1]  # 今天在北京看到了长城😀，明天去上海。
    assert [e.text for e in emoji.entities] == ["北京", "长城", "上海"]
    assert emoji.entities[-1] == Entity(15, 17, "address", "上海")
    raw = json.loads((FIXTURES / "doccano.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert raw["label"][-1] == [16, 18, "address"]  # UTF-16: 😀 is two code units
    as_cp = nerlm.read_doccano(FIXTURES / "doccano.jsonl", offsets="codepoint")
    assert as_cp[1].entities[-1].text == "海。"
    nerlm.write_doccano(docs, tmp_path / "cp.jsonl", offsets="codepoint")
    assert nerlm.read_doccano(tmp_path / "cp.jsonl", offsets="codepoint")[1].entities == (
        emoji.entities
    )


def test_doccano_bad_span_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(
        '{"text": "张三", "label": [[0, 2, "PER"]]}\n{"text": "北京", "label": [[0, 5, "LOC"]]}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: label 0: span \[0, 5\)"):
        nerlm.read_doccano(p)
    p.write_text('{"text": "张三", "label": [[0, "2", "PER"]]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:1: label 0: expected \[start, end"):
        nerlm.read_doccano(p)


def test_label_studio_round_trip_and_annotation_choice(tmp_path: Path) -> None:
    path = FIXTURES / "label_studio.json"
    docs = round_trip(path, "label-studio", tmp_path)
    assert [d.meta["line"] for d in docs] == [2, 84, 186]
    assert [d.meta["annotation"] for d in docs] == [0, 1, 0]  # task 2's first is cancelled
    assert [(e.label, e.text) for e in docs[1].entities] == [
        ("name", "温格"),
        ("company", "曼联"),
        ("organization", "曼联"),
    ]
    cancelled = nerlm.read_label_studio(path, annotation=0)
    assert [(e.label, e.text) for e in cancelled[1].entities] == [("name", "温格")]
    assert nerlm.read_label_studio(path, annotation="last")[1].entities == docs[1].entities
    # the emoji task: code point offsets (Label Studio since 2022), found by "auto"
    assert docs[2].entities[-1] == Entity(15, 17, "address", "上海")
    old = round_trip(FIXTURES / "label_studio_utf16.json", "label-studio", tmp_path)
    assert old[0].entities == docs[2].entities and old[0].meta["offsets"] == "utf16"
    # the choices result and everything else of the task survive a change of entities
    docs[0].entities = docs[0].entities[:1]
    nerlm.write_label_studio(docs, tmp_path / "edited.json")
    tasks = json.loads((tmp_path / "edited.json").read_text(encoding="utf-8"))
    results = tasks[0]["annotations"][0]["result"]
    assert [r["type"] for r in results] == ["choices", "labels"]
    assert tasks[0]["file_upload"] == "c2a1b3e4-cluener.json"


def test_label_studio_new_tasks_and_bad_input(tmp_path: Path) -> None:
    dev = nerlm.read_cluener(SHARED / "data" / "cluener" / "dev.json")[:5]
    nerlm.write_label_studio(dev, tmp_path / "ls.json")
    back = nerlm.read_label_studio(tmp_path / "ls.json")
    assert [(d.text, d.entities) for d in back] == [(d.text, d.entities) for d in dev]

    tasks = json.loads((FIXTURES / "label_studio.json").read_text(encoding="utf-8"))
    tasks[1]["annotations"][1]["was_cancelled"] = True
    tasks[2]["annotations"][0]["result"][0]["value"]["text"] = "长江"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        nerlm.read_label_studio(p)
    assert e.value.line == 84 and "no annotation 'first'" in e.value.reason
    report = ReadReport()
    docs = nerlm.read_label_studio(p, lenient=True, report=report)
    assert len(docs) == 2 and [e.text for e in docs[1].entities] == ["上海"]
    assert report.counts == Counter(unannotated=1, malformed_span=1)
    p.write_text(
        '[{"data": {"text": "a"}, "annotations": [{"result": []}]}, {"data": {}}]', encoding="utf-8"
    )
    with pytest.raises(DataFormatError, match=r"bad.json:1: expected a task with a string"):
        nerlm.read_label_studio(p)
    p.write_text('[\n  {"data": {"text": "a"}, "annotations": []},\n  {"data": ', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.json:2:|bad.json:3:"):
        nerlm.read_label_studio(p, lenient=True, report=ReadReport())


# ---------------------------------------------------------------------------------------------
# CoNLL-2003


def test_conll2003_iob1_and_iob2(tmp_path: Path) -> None:
    one = round_trip(FIXTURES / "conll2003_iob1.txt", "conll2003", tmp_path, split="train")
    two = round_trip(FIXTURES / "conll2003_iob2.txt", "conll2003", tmp_path, split="train")
    assert one[0].meta["scheme"] == "IOB1" and two[0].meta["scheme"] == "IOB2"
    assert [(d.text, d.entities) for d in one] == [(d.text, d.entities) for d in two]
    assert one[0].text == "EU rejects German call to boycott British lamb ."
    assert one[0].entities[0] == Entity(0, 2, "ORG", "EU")
    assert one[0].meta["columns"][0] == ["NNP", "I-NP"]
    # B- separates adjacent entities of one type in IOB1
    assert [e.text for e in one[4].entities] == ["BAYERN MUNICH", "BORUSSIA DORTMUND"]
    assert [d.meta["document"] for d in one] == [0, 0, 0, 0, 1]
    # the IOB1 file written as IOB2 is the IOB2 file
    nerlm.write_conll2003(one, tmp_path / "as-iob2.txt", scheme="IOB2")
    assert (tmp_path / "as-iob2.txt").read_bytes() == (FIXTURES / "conll2003_iob2.txt").read_bytes()
    # tag column elsewhere
    nerlm.write_conll2003(one, tmp_path / "first.txt", tag_column=1)
    lines = (tmp_path / "first.txt").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "EU I-ORG NNP I-NP"
    assert nerlm.read_conll2003(tmp_path / "first.txt", tag_column=1, split="train") == one


def test_conll2003_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text("EU NNP I-NP I-ORG\nrejects VBZ  O\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.txt:2: expected ' '-separated columns"):
        nerlm.read_conll2003(p)


# ---------------------------------------------------------------------------------------------
# IEPile instruction files: chunks of one document, and a text that occurs twice


def _iepile_line(doc_id: str, text: str, schema: list[str], pairs: list[tuple[str, str]]) -> str:
    instr = {
        "instruction": nerlm.formats.iepile_json.INSTRUCTION_ZH,
        "schema": schema,
        "input": text,
    }
    label = [{"entity": s, "entity_type": t} for s, t in pairs]
    return json.dumps(
        {
            "id": doc_id,
            "instruction": json.dumps(instr, ensure_ascii=False),
            "label": json.dumps(label, ensure_ascii=False),
        },
        ensure_ascii=False,
    )


def test_read_iepile_keeps_repeated_texts_apart(tmp_path: Path) -> None:
    text = "胡老说，青岛海牛队和广州松日队在青岛比赛。"
    sha = "c74e" * 16  # DeepKE's ids are sha256(text): the same for both documents
    orgs = [("广州松日队", "组织机构"), ("青岛海牛队", "组织机构")]
    lines = [
        _iepile_line(sha, text, ["人物", "地理位置"], [("胡", "人物"), ("青岛", "地理位置")]),
        _iepile_line(sha, text, ["组织机构"], orgs),
        _iepile_line(sha, text, ["人物", "地理位置"], [("胡", "人物")]),
        _iepile_line(sha, text, ["组织机构"], []),
        _iepile_line("other", "没有实体。", ["人物", "地理位置"], []),
        _iepile_line("other", "没有实体。", ["组织机构"], []),
    ]
    p = tmp_path / "test.json"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = nerlm.read_iepile(p)
    assert [d.id for d in docs] == [sha, f"{sha}-1", "other"]
    assert docs[1].meta["iepile_id"] == sha
    assert [d.meta["line"] for d in docs] == [1, 3, 5]
    assert [e.text for e in docs[0].entities] == ["胡", "青岛", "青岛海牛队", "广州松日队"]
    assert [e.text for e in docs[1].entities] == ["胡"]
    # the second 青岛 is the city: the team name takes the first occurrence only as ORG
    assert docs[0].entities[1] == Entity(4, 6, "地理位置", "青岛")
    nerlm.write_iepile_test(docs, tmp_path / "back.json")
    assert (tmp_path / "back.json").read_bytes() == p.read_bytes()


def test_iepile_raw_ungrounded_entity(tmp_path: Path) -> None:
    p = tmp_path / "sample.json"
    p.write_text(
        '{"text": "张三在北京", "entity": [{"entity": "张三", "entity_type": "人物"}]}\n'
        '{"text": "张三在北京", "entity": [{"entity": "上海", "entity_type": "地理位置"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match=r"sample.json:2: entity '上海' \(地理位置\) is not"):
        nerlm.read_iepile_raw(p)
    report = ReadReport()
    assert nerlm.read_iepile_raw(p, lenient=True, report=report)[1].entities == []
    assert report.counts == Counter(ungrounded=1)


def test_json_lines_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "a", "text": "a", "entities": []}\n{"text": "b", \n', encoding="utf-8")
    for fmt in ("chinese-ner-sft", "doccano", "iepile-raw", "jsonl", "cluener"):
        with pytest.raises(DataFormatError) as e:
            read_corpus(p, fmt)
        assert (e.value.path, e.value.line) == (str(p), 2), fmt


# ---------------------------------------------------------------------------------------------
# registry and nerlm convert


def test_registry() -> None:
    assert set(READERS) - set(WRITERS) == {"iepile-instruction"}
    assert set(WRITERS) == {
        "msra",
        "peoples-daily",
        "weibo",
        "resume",
        "conll-char",
        "conll2003",
        "doccano",
        "label-studio",
        "chinese-ner-sft",
        "iepile-raw",
        "iepile-test",
        "cluener",
        "jsonl",
    }
    assert "scheme" in reader_options("msra") and "preset" not in reader_options("msra")
    with pytest.raises(ValueError, match="takes no option 'scheme'; its options: split"):
        read_corpus(DATA / "cluener" / "dev.json", "cluener", scheme="BIO")
    with pytest.raises(ValueError, match="no reader for format 'bio'"):
        read_corpus(DATA / "cluener" / "dev.json", "bio")


def convert(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["convert", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_convert_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    msra = DATA / "msra" / "msra_test_bio.txt"
    rc, out, _ = convert(
        capsys,
        msra,
        tmp_path / "m.json",
        "--from",
        "msra",
        "--to",
        "doccano",
        "-w",
        "style=entities",
    )
    assert rc == 0
    assert "read 3442 documents with 6190 entities" in out
    assert "entities per label: LOC 2886, ORG 1331, PER 1973" in out
    rc, out, _ = convert(
        capsys, tmp_path / "m.json", tmp_path / "m.txt", "--from", "doccano", "--to", "msra"
    )
    assert rc == 0 and (tmp_path / "m.txt").read_bytes() == msra.read_bytes()

    pd = DATA / "peoples_daily" / "example.test"
    rc, out, _ = convert(
        capsys, pd, tmp_path / "pd.bmes", "--from", "peoples-daily", "--to", "resume"
    )
    assert "4636 documents with 7707 entities" in out
    assert "LOC 3658, ORG 2185, PER 1864" in out
    assert "S-LOC" in (tmp_path / "pd.bmes").read_text(encoding="utf-8")

    resume = DATA / "resume_ner" / "train.char.bmes"
    rc, out, err = convert(
        capsys, resume, tmp_path / "r.jsonl", "--from", "resume", "--to", "jsonl"
    )
    assert rc == 2 and f"{resume}:68949:" in err
    rc, out, err = convert(
        capsys,
        resume,
        tmp_path / "r.jsonl",
        "--from",
        "resume",
        "--to",
        "label-studio",
        "--lenient",
    )
    assert rc == 0 and "3821 documents" in out
    assert "skipped or counted (lenient): invalid_tag_sequence 4, malformed_line 1" in out
    assert f"{resume}:68949: malformed_line" in out

    dev = DATA / "cluener" / "dev.json"
    rc, out, _ = convert(
        capsys,
        dev,
        tmp_path / "c.jsonl",
        "--from",
        "cluener",
        "--to",
        "chinese-ner-sft",
        "-w",
        "end=inclusive",
    )
    assert rc == 0 and "1343 documents with 3072 entities" in out
    rc, out, _ = convert(
        capsys,
        tmp_path / "c.jsonl",
        tmp_path / "c.json",
        "--from",
        "chinese-ner-sft",
        "--to",
        "cluener",
    )
    back = (tmp_path / "c.json").read_text(encoding="utf-8")
    assert back == dev.read_text(encoding="utf-8")  # through chinese-ner-sft, byte for byte

    rc, out, _ = convert(
        capsys,
        FIXTURES / "conll2003_iob1.txt",
        tmp_path / "c.jsonl",
        "--from",
        "conll2003",
        "--to",
        "jsonl",
        "--split",
        "train",
    )
    assert "5 documents with 10 entities" in out and "LOC 2, MISC 2, ORG 4, PER 2" in out
    rc, out, _ = convert(
        capsys, tmp_path / "c.jsonl", tmp_path / "c.txt", "--from", "jsonl", "--to", "conll2003"
    )
    assert (tmp_path / "c.txt").read_bytes() == (FIXTURES / "conll2003_iob1.txt").read_bytes()

    iepile = DATA / "iepile_samples" / "test.json"
    rc, out, _ = convert(
        capsys, iepile, tmp_path / "t.json", "--from", "iepile-test", "--to", "iepile-test"
    )
    assert rc == 0 and (tmp_path / "t.json").read_bytes() == iepile.read_bytes()
    rc, out, _ = convert(
        capsys, iepile, tmp_path / "raw.json", "--from", "iepile-instruction", "--to", "iepile-raw"
    )
    assert "6 documents with 3 entities" in out

    rc, _, err = convert(
        capsys, dev, tmp_path / "x", "--from", "cluener", "--to", "jsonl", "-r", "end=inclusive"
    )
    assert rc == 2 and "takes no option 'end'" in err


def test_lenient_without_report_warns(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text("张 B-PER\n三\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = nerlm.read_char_tags(p, lenient=True)
    assert docs[0].text == "张"
    assert any("malformed_line: 1" in str(w.message) for w in caught)

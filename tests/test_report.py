"""The HTML report: numbers equal nerlm.score's, one block per document with span marks that add
up to the error taxonomy, no external references, valid PNGs, safe markup for nested spans and
hostile text, the CLI, and a headless Chromium rendering (skipped without chromium)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nerlm
from nerlm import Entity, Example, ReadReport
from nerlm.cli import main
from nerlm.report import OUTCOME_COLORS, TABLE_HEADER_COLOR, ReportFiles, write_report

from .conftest import CLUENER

N_DOCS = 100
_VOID = frozenset({"meta", "img", "input", "br", "hr", "link"})


class _Page(HTMLParser):
    """Tables by id (cell texts), every start tag, and per document block the text and the
    label tags of each side. Fails on an end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.starts: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.docs: list[dict[str, Any]] = []
        self.max_mark_depth = 0
        self._table: str | None = None

    def _classes(self, attrs: dict[str, str]) -> set[str]:
        return set((attrs.get("class") or "").split())

    def _inside(self, tag: str, cls: str | None = None) -> dict[str, str] | None:
        for t, a in reversed(self.stack):
            if t == tag and (cls is None or cls in self._classes(a)):
                return a
        return None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        self.starts.append((tag, attrs))
        if tag == "table" and "id" in attrs:
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None and self.tables[self._table]:
            self.tables[self._table][-1].append("")
        elif tag == "section" and "doc" in self._classes(attrs):
            self.docs.append({"attrs": attrs, "gold": "", "pred": "", "tags": Counter()})
        elif tag == "span" and "tag" in self._classes(attrs):
            col = self._inside("div", "col")
            side = "gold" if col is not None and "gold" in self._classes(col) else "pred"
            outcome = next(c[2:] for c in self._classes(attrs) if c.startswith("o-"))
            self.docs[-1]["tags"][(side, outcome)] += 1
        if tag not in _VOID:
            self.stack.append((tag, attrs))
        self.max_mark_depth = max(self.max_mark_depth, sum(t == "mark" for t, _ in self.stack))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        in_cell = self._inside("td") is not None or self._inside("th") is not None
        if self._table is not None and in_cell and self.tables[self._table]:
            row = self.tables[self._table][-1]
            if row:
                row[-1] += data
        p = self._inside("p", "text")
        skip = self._inside("span", "tag") or self._inside("span", "notes")
        if p is not None and skip is None:
            col = self._inside("div", "col")
            side = "gold" if col is not None and "gold" in self._classes(col) else "pred"
            self.docs[-1][side] += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert not page.stack, f"unclosed elements: {[t for t, _ in page.stack]}"
    return page


@pytest.fixture(scope="module")
def cluener100() -> tuple[list[Example], list[Example]]:
    gold = nerlm.read_cluener(CLUENER / "dev.json", split="dev")
    pred = nerlm.read_cluener(
        CLUENER / "official_ner_predict.json",
        texts=[g.text for g in gold],
        ids=[g.id for g in gold],
    )
    return gold[:N_DOCS], pred[:N_DOCS]


@pytest.fixture(scope="module")
def built(
    cluener100: tuple[list[Example], list[Example]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ReportFiles, _Page]:
    gold, pred = cluener100
    out = tmp_path_factory.mktemp("report") / "cluener.html"
    files = write_report(
        gold, pred, out, labels=nerlm.CLUENER_LABELS, split="dev",
        inputs={"gold": "dev.json (cluener)", "pred": "official_ner_predict.json (cluener)"},
    )  # fmt: skip
    return files, _parse(out)


def _f(x: float) -> str:
    return f"{x:.4f}"


def test_numbers_equal_score(
    cluener100: tuple[list[Example], list[Example]], built: tuple[ReportFiles, _Page]
) -> None:
    gold, pred = cluener100
    files, page = built
    r = nerlm.score(gold, pred, labels=nerlm.CLUENER_LABELS, split="dev")
    assert files.result.to_dict() == r.to_dict()
    for mode in ("strict", "exact", "partial", "type"):
        ms = r.modes[mode]
        rows = {row[0]: row[1:] for row in page.tables[f"labels-{mode}"][1:]}
        assert set(rows) == {*ms.per_label, "micro (pooled counts)",
                             "macro (unweighted mean, 10 labels)",
                             "weighted (by gold support, 10 labels)"}  # fmt: skip
        for label, m in ms.per_label.items():
            counts = [m.correct, m.incorrect, m.partial, m.missed, m.spurious, m.possible]
            assert rows[label] == [
                _f(m.precision),
                _f(m.recall),
                _f(m.f1),
                *map(str, counts),
                str(m.actual),
            ]
        mi = ms.micro
        assert rows["micro (pooled counts)"][:5] == [
            _f(mi.precision), _f(mi.recall), _f(mi.f1), str(mi.correct), str(mi.incorrect)
        ]  # fmt: skip
        assert rows["macro (unweighted mean, 10 labels)"][:3] == [
            _f(ms.macro.precision), _f(ms.macro.recall), _f(ms.macro.f1)
        ]  # fmt: skip
        assert rows["weighted (by gold support, 10 labels)"][2] == _f(ms.weighted.f1)
    modes = {row[0]: row for row in page.tables["modes"][1:]}
    assert modes["strict"][2:5] == [_f(r.micro.precision), _f(r.micro.recall), _f(r.micro.f1)]
    assert modes["partial"][8] == str(r.modes["partial"].micro.partial)
    # Only the strict table is shown without JavaScript.
    hidden = {a["id"] for t, a in page.starts if t == "table" and "hidden" in a}
    assert hidden == {"labels-exact", "labels-partial", "labels-type"}
    # The header states the definition and the counts.
    html_text = files.html.read_text(encoding="utf-8")
    for v in r.definition.values():
        if isinstance(v, str):
            assert v in html_text
    assert "official_ner_predict.json (cluener)" in html_text
    # Error taxonomy and confusion matrix.
    assert r.errors is not None
    tax = {row[0].strip(): row[1] for row in page.tables["taxonomy"][1:]}
    assert tax["spurious"] == str(r.errors.spurious)
    assert tax["missed"] == str(r.errors.missed)
    assert tax["type confusions"] == str(r.errors.type_confusions)
    assert tax["boundary errors"] == str(sum(r.errors.boundary.values()))
    for kind, n in r.errors.boundary.items():
        assert tax[f"boundary {kind}"] == str(n)
    conf = page.tables["confusion"]
    assert conf[0][1:] == r.errors.confusion_labels
    assert [[int(x) for x in row[1:]] for row in conf[1:]] == r.errors.confusion


def test_one_block_per_document_marks_add_up(
    cluener100: tuple[list[Example], list[Example]], built: tuple[ReportFiles, _Page]
) -> None:
    gold, _ = cluener100
    files, page = built
    r = files.result
    assert files.documents == N_DOCS and len(page.docs) == N_DOCS
    assert [d["attrs"]["id"] for d in page.docs] == [f"doc-{i}" for i in range(N_DOCS)]
    for d, g in zip(page.docs, gold, strict=True):
        # Each side shows the whole text once, whatever the marks.
        assert d["gold"] == g.text and d["pred"] == g.text
    tags: Counter[tuple[str, str]] = sum((d["tags"] for d in page.docs), Counter())
    e = r.errors
    assert e is not None
    assert tags["pred", "correct"] == tags["gold", "correct"] == r.micro.correct
    assert tags["pred", "spurious"] == e.spurious
    assert tags["gold", "missed"] == e.missed
    assert tags["pred", "type"] == tags["gold", "type"] == e.type_confusions
    assert tags["pred", "boundary"] == sum(e.boundary.values())
    assert tags["pred", "type_boundary"] == e.type_and_boundary
    assert sum(n for (side, _), n in tags.items() if side == "gold") == r.counts["gold_spans"]
    assert sum(n for (side, _), n in tags.items() if side == "pred") == r.counts["pred_spans"]
    kinds = [set(d["attrs"]["data-kinds"].split()) for d in page.docs]
    assert sum("exact" in k for k in kinds) == r.doc_exact_match["exact"]
    assert sum("boundary" in k for k in kinds) == sum(
        1 for d in page.docs if d["tags"]["pred", "boundary"]
    )
    # Every kind in the filter is one a document can carry.
    boxes = {a["value"] for t, a in page.starts if t == "input" and a.get("type") == "checkbox"}
    assert set().union(*kinds) <= boxes
    assert page.max_mark_depth == 1


def test_self_contained_and_pngs(built: tuple[ReportFiles, _Page]) -> None:
    from PIL import Image

    files, page = built
    assert files.f1_png == files.html.with_name("cluener_f1.png")
    assert files.confusion_png == files.html.with_name("cluener_confusion.png")
    text = files.html.read_text(encoding="utf-8")
    assert "<link" not in text.lower()
    for tag, attrs in page.starts:
        assert tag != "link"
        assert not (tag == "script" and "src" in attrs)
        for key in ("src", "href"):
            v = attrs.get(key, "")
            assert not v.lower().startswith(("http://", "https://", "//")), (tag, v)
    imgs = [a["src"] for t, a in page.starts if t == "img"]
    assert len(imgs) == 2 and all(s.startswith("data:image/png;base64,") for s in imgs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in imgs}
    assert embedded == {p.read_bytes() for p in (files.f1_png, files.confusion_png) if p}
    for p in (files.f1_png, files.confusion_png):
        assert p is not None
        with Image.open(p) as im:
            im.verify()
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 200


def test_nested_overlapping_and_hostile_text(tmp_path: Path) -> None:
    text = "A<b>&\"x'</b> 北京大学 <script>alert(1)</script>"
    k = text.index("北京大学")

    def ent(s: int, e: int, label: str) -> Entity:
        return Entity(s, e, label, text[s:e])

    gold = [
        Example("d<0>", text, [ent(0, 4, "tag"), ent(k, k + 4, "org"), ent(k, k + 2, "loc")]),
        Example("d1", "abc", [ent(0, 1, "x"), ent(0, 1, "x")]),
    ]
    pred = [
        Example("d<0>", text, [ent(1, 6, "tag"), ent(k, k + 4, "loc"), ent(k + 1, k + 3, "org"),
                               ent(len(text) - 9, len(text), "org")]),
        Example("d1", "abc", []),
    ]  # fmt: skip
    files = write_report(gold, pred, tmp_path / "x.html", png=False, title="<t>")
    assert files.f1_png is None and not list(tmp_path.glob("*.png"))
    page = _parse(files.html)
    raw = files.html.read_text(encoding="utf-8")
    assert "<script>alert" not in raw and "<b>&" not in raw and "<t>" not in raw
    assert page.max_mark_depth == 1
    d0, d1 = page.docs
    assert d0["gold"] == d0["pred"] == text
    # Identical boundaries pair first (type confusion), then overlaps.
    assert d0["attrs"]["data-kinds"].split() == ["spurious", "type", "boundary", "type_boundary"]
    assert d0["tags"] == Counter({
        ("gold", "boundary"): 1, ("gold", "type"): 1, ("gold", "type_boundary"): 1,
        ("pred", "boundary"): 1, ("pred", "type"): 1, ("pred", "type_boundary"): 1,
        ("pred", "spurious"): 1,
    })  # fmt: skip
    assert d1["tags"] == Counter({("gold", "missed"): 1, ("gold", "duplicate"): 1})
    assert "d&lt;0&gt;" in raw


def test_unplaced_predictions_and_string_level(tmp_path: Path) -> None:
    gold = [Example("a", "北京欢迎你", [Entity(0, 2, "loc", "北京")]), Example("b", "你好", [])]
    lines = [
        {"id": "a", "text": "北京欢迎你", "entities": [
            {"start": 0, "end": 2, "label": "loc", "text": "北京"},
            {"start": None, "end": None, "label": "per", "text": "张三", "status": "ungrounded"},
        ]},
        {"id": "b", "text": "你好", "entities": [], "parsed": False,
         "parse_errors": ["truncated output"]},
    ]  # fmt: skip
    p = tmp_path / "pred.jsonl"
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    report = ReadReport()
    pred = nerlm.read_jsonl(p, report=report)
    files = write_report(gold, pred, tmp_path / "r.html", report=report, labels=["loc", "per"])
    page = _parse(files.html)
    assert files.result.errors is not None and files.result.errors.spurious == 1
    a, b = page.docs
    assert set(a["attrs"]["data-kinds"].split()) == {"no_span"}
    assert set(b["attrs"]["data-kinds"].split()) == {"parse_failure", "exact"}
    raw = files.html.read_text(encoding="utf-8")
    assert "per (no span (ungrounded or malformed))" in raw
    # String level: the table shows string-level numbers, the taxonomy comes from spans.
    s = write_report(gold, pred, tmp_path / "s.html", report=report, level="string")
    r = nerlm.score(gold, pred, report=report, level="string")
    rows = {row[0]: row for row in _parse(s.html).tables["labels-strict"][1:]}
    assert rows["loc"][1:4] == [_f(r.per_label["loc"].precision), _f(r.per_label["loc"].recall),
                                _f(r.per_label["loc"].f1)]  # fmt: skip
    assert "span level; the scores above are string level" in s.html.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="max_documents"):
        write_report(gold, pred, tmp_path / "t.html", max_documents=-1)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g, p = tmp_path / "dev.json", tmp_path / "pred.json"
    for src, dst in ((CLUENER / "dev.json", g), (CLUENER / "official_ner_predict.json", p)):
        lines = src.read_text(encoding="utf-8").splitlines(keepends=True)[:N_DOCS]
        dst.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "site" / "report.html"
    args = ["report", "--gold", str(g), "--gold-format", "cluener", "--pred", str(p),
            "--pred-format", "cluener", "--split", "dev", "--html", str(out),
            "--png-dir", str(tmp_path / "png")]  # fmt: skip
    assert main(args) == 0
    said = capsys.readouterr().out
    assert str(out) in said and f"{N_DOCS} documents" in said
    assert (tmp_path / "png" / "report_f1.png").is_file()
    assert (tmp_path / "png" / "report_confusion.png").is_file()
    page = _parse(out)
    assert len(page.docs) == N_DOCS
    gold = nerlm.read_cluener(g, split="dev")
    pred = nerlm.read_cluener(p, texts=[d.text for d in gold], ids=[d.id for d in gold])
    r = nerlm.score(gold, pred, split="dev")
    micro = next(row for row in page.tables["labels-strict"] if row[0].startswith("micro"))
    assert micro[3] == _f(r.micro.f1)
    # Errors name the file and line and exit with status 2.
    p.write_text('{"label": {}}\n', encoding="utf-8")
    assert main([*args[:-2], "--no-png", "--max-documents", "5"]) == 2
    assert f"{p}:1" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------
# rendering in headless Chromium


def _screenshot(page: Path, out: Path, height: int) -> Any:
    """Render ``page`` in headless Chromium at 1280 × ``height`` pixels; return a function
    counting the pixels of an exact ``#rrggbb`` colour."""
    from PIL import Image

    chromium = shutil.which("chromium")
    assert chromium is not None
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--screenshot={out}", f"--window-size=1280,{height}",
           page.resolve().as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    with Image.open(out) as im:
        rgb = np.asarray(im.convert("RGB")).astype(np.int32)
    assert rgb.shape == (height, 1280, 3)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

    def count(color: str) -> int:
        return int((packed == int(color[1:], 16)).sum())

    return count


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (Debian: apt-get install chromium; `make test` does it "
    "when run as root)",
)
def test_chromium_renders_table_and_highlights(
    cluener100: tuple[list[Example], list[Example]],
    built: tuple[ReportFiles, _Page],
    tmp_path: Path,
) -> None:
    files, _ = built
    top = _screenshot(files.html, tmp_path / "top.png", 2000)
    # The first screen shows the per-label table: its header row and the average rows.
    assert top(TABLE_HEADER_COLOR) > 20_000
    assert top("#eef1f5") > 10_000
    # The whole page, and the same page without documents (legend only) as the baseline:
    # the highlight colours come from the document marks.
    gold, pred = cluener100
    empty = write_report(
        gold, pred, tmp_path / "empty.html", labels=nerlm.CLUENER_LABELS, max_documents=0,
        png=False,
    )  # fmt: skip
    base = _screenshot(empty.html, tmp_path / "base.png", 4000)
    full = _screenshot(files.html, tmp_path / "full.png", 14_000)
    extra = {k: full(c) - base(c) for k, c in OUTCOME_COLORS.items()}
    assert extra["correct"] > 50_000, extra
    assert extra["missed"] > 10_000, extra
    for k in ("spurious", "boundary", "type"):
        assert extra[k] > 2_000, extra
    assert base(OUTCOME_COLORS["correct"]) > 0  # the legend

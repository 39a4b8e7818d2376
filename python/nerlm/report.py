"""A self-contained HTML report of a scoring run (``nerlm report``, :func:`write_report`).

The page needs no network to open: its CSS and JavaScript are inline and its two charts are
PNG images embedded as base64 ``data:`` URIs (they are also written next to the page). It
shows, all computed by :func:`nerlm.score.score` (see :mod:`nerlm.score` for the definitions):

1. the input files, the counts and the definition of every number (match level, averaging,
   duplicate policy, split);
2. per-label P/R/F1 of each match mode (strict shown first; a selector switches between
   strict, exact, partial and type) with micro, macro and weighted rows, and every mode's
   micro scores in one small table;
3. a bar chart of per-label F1 and the confusion matrix (a heatmap and an HTML table);
4. the error taxonomy (:class:`nerlm.score.ErrorTaxonomy`), each kind with its definition;
5. every document, gold and predicted spans side by side, coloured by their outcome in the
   strict span-level pairing the scorer uses (correct, wrong type, boundary error, wrong type
   and boundary, spurious, missed, duplicate), tagged with the error kinds it contains and
   filterable by them.

Per-span outcomes come from the same Rust comparison as the scores
(``nerlm._native.score_spans(..., outcomes=True)``: identical spans pair first, then
overlapping ones), so the marks add up to the taxonomy's counts.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import os
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nerlm import _native
from nerlm.data.model import Example
from nerlm.data.report import ReadReport
from nerlm.score import (
    Averaged,
    DuplicatePolicy,
    ErrorTaxonomy,
    Level,
    MatchCounts,
    ScoreResult,
    _entity_columns,
    align_predictions,
    score,
)

__all__ = [
    "DOC_KINDS",
    "OUTCOME_COLORS",
    "TABLE_HEADER_COLOR",
    "DocumentView",
    "ReportFiles",
    "SpanView",
    "document_views",
    "write_report",
]

#: Background colour of each span outcome in the document view (CSS hex, exact: the tests
#: count these pixels in a screenshot).
OUTCOME_COLORS: dict[str, str] = {
    "correct": "#b7e4c7",
    "type": "#ffc98b",
    "boundary": "#fff08a",
    "type_boundary": "#dcc6ff",
    "spurious": "#ff9e9e",
    "missed": "#9ec5ff",
    "duplicate": "#d6d6d6",
}
#: Background colour of table header cells.
TABLE_HEADER_COLOR = "#2b4c7e"

#: What each span outcome means (strict span-level pairing, :mod:`nerlm.score`).
OUTCOME_TEXT: dict[str, str] = {
    "correct": "correct: same label and boundaries as its partner",
    "type": "wrong type: same boundaries as its partner, other label",
    "boundary": "boundary error: same label as its partner, other boundaries (overlapping)",
    "type_boundary": "wrong type and boundary: overlapping its partner, other label and boundaries",
    "spurious": "spurious: a prediction paired with no gold span",
    "missed": "missed: a gold span paired with no prediction",
    "duplicate": "duplicate: an exact repeat within the document (not scored under the set policy)",
}

#: Error kinds a document can be tagged with (the filter), with their definitions.
DOC_KINDS: dict[str, str] = {
    "spurious": "a prediction paired with no gold span",
    "missed": "a gold span paired with no prediction",
    "type": "type confusion: a prediction with a gold span's boundaries and another label",
    "boundary": "boundary error: a prediction with a gold span's label and other, overlapping "
    "boundaries",
    "type_boundary": "a prediction overlapping a gold span with another label and other boundaries",
    "no_span": "predicted entities without a usable span (ungrounded strings, malformed "
    "offsets); they score as spurious",
    "parse_failure": "a model output that did not parse (its entities are missing)",
    "unknown_label": "a prediction whose label is not in the label set (scored as spurious)",
    "out_of_range": "a predicted span reaching past the end of the text (lenient mode)",
    "duplicate": "an exact repeat of a span within the document",
    "no_prediction": "the prediction file has no record for this document",
    "exact": "no error: the predicted spans equal the gold spans (strict)",
}
_SHORT = {
    "spurious": "spurious",
    "missed": "missed",
    "type": "type confusion",
    "boundary": "boundary",
    "type_boundary": "type + boundary",
    "no_span": "no span",
    "parse_failure": "parse failure",
    "unknown_label": "unknown label",
    "out_of_range": "out of range",
    "duplicate": "duplicate",
    "no_prediction": "no prediction",
    "exact": "exact",
}
#: Kinds that make a document inexact (the scorer's ``doc_exact_match``).
_ERROR_KINDS = frozenset({"spurious", "missed", "type", "boundary", "type_boundary", "no_span"})

# Native outcome codes (``score_spans(..., outcomes=True)``).
_COR, _INC, _MIS, _SPU, _DUP = 0, 1, 3, 4, 5


@dataclass(frozen=True, slots=True)
class SpanView:
    """One span of one side of a document, with its strict outcome.

    Attributes:
        start, end: Half-open code point offsets into the document text.
        label: The entity type.
        outcome: A key of :data:`OUTCOME_COLORS`.
        detail: A sentence saying what the span is paired with and why it has its outcome.
    """

    start: int
    end: int
    label: str
    outcome: str
    detail: str


@dataclass(slots=True)
class DocumentView:
    """A document's gold and predicted spans with their outcomes.

    Attributes:
        index: Position among the gold documents.
        id: The document id.
        text: The document text.
        gold, pred: Spans of each side, in input order.
        unplaced: Predicted entities without a usable span: ``(label, reason)``.
        kinds: Error kinds (keys of :data:`DOC_KINDS`) with their counts in this document.
    """

    index: int
    id: str
    text: str
    gold: list[SpanView] = field(default_factory=list)
    pred: list[SpanView] = field(default_factory=list)
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What :func:`write_report` wrote.

    Attributes:
        html: The page.
        f1_png: The per-label F1 bar chart (None when ``png=False``).
        confusion_png: The confusion matrix heatmap (None when ``png=False``).
        result: The scores shown.
        documents: Number of document blocks on the page.
    """

    html: Path
    f1_png: Path | None
    confusion_png: Path | None
    result: ScoreResult
    documents: int


# --------------------------------------------------------------------------------------------
# per-span outcomes


def _boundary_kind(ps: int, pe: int, gs: int, ge: int) -> str:
    """``left|right|both`` - ``extend|shrink|shift``, as :class:`ErrorTaxonomy` counts them."""
    side = ("both" if pe != ge else "left") if ps != gs else "right"
    if ps <= gs and pe >= ge:
        how = "extend"
    elif ps >= gs and pe <= ge:
        how = "shrink"
    else:
        how = "shift"
    return f"{side}-{how}"


def document_views(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] | None = None,
    duplicates: DuplicatePolicy = "set",
    report: ReadReport | None = None,
) -> list[DocumentView]:
    """Per-span strict outcomes of every document, as :func:`nerlm.score.score` pairs them.

    Predictions are matched to gold documents by id (:func:`nerlm.score.align_predictions`).
    Malformed predicted spans (empty, reversed, negative) and the reader's unscorable
    entities (``report.unscorable``) become :attr:`DocumentView.unplaced`; they score as
    spurious. Summed over documents, the ``spurious`` marks plus the unplaced entities equal
    :attr:`ErrorTaxonomy.spurious`, and the ``missed``, ``type``, ``boundary`` and
    ``type_boundary`` marks of the predictions equal the taxonomy's counts.

    Args:
        gold: Gold documents (unique ids).
        pred: Predicted documents.
        labels: The label set (default: the gold labels); other predicted labels are tagged
            ``unknown_label``.
        duplicates: ``"set"`` or ``"multiset"``, as given to the scorer.
        report: The prediction reader's report (unscorable entities, parse failures).

    Returns:
        One view per gold document, in gold order.

    Raises:
        ValueError: Ids repeat or do not match (as :func:`nerlm.score.score`).
        nerlm.OffsetError: A gold span is empty, reversed or negative.
    """
    aligned, _, positions = align_predictions(gold, pred)
    ids: dict[str, int] = {}
    g = _entity_columns(gold, ids, None)
    known = set(labels) if labels is not None else set(ids)
    p = _entity_columns(aligned, ids, None)
    malformed = (p.start < 0) | (p.end <= p.start)
    keep = np.flatnonzero(~malformed)
    r = _native.score_spans(
        g.doc, g.label, g.start, g.end,
        p.doc[keep], p.label[keep], p.start[keep], p.end[keep],
        len(gold), max(len(ids), 1), duplicates=duplicates, outcomes=True,
    )  # fmt: skip
    views = [DocumentView(i, d.id, d.text) for i, d in enumerate(gold)]
    gold_rows = [e for d in gold for e in d.entities]
    pred_rows = [e for d in aligned for e in d.entities]
    g_out = r["gold_outcome"].tolist()
    p_out = r["pred_outcome"].tolist()
    p_pair = r["pred_pair"].tolist()
    g_doc, p_doc = g.doc.tolist(), p.doc.tolist()
    # The prediction (kept row) paired with each gold span.
    partner: dict[int, int] = {gi: k for k, gi in enumerate(p_pair) if gi >= 0}
    keep_rows = keep.tolist()

    def pred_outcome(e: Any, ge: Any) -> tuple[str, str]:
        same_label, same_bounds = e.label == ge.label, (e.start, e.end) == (ge.start, ge.end)
        if same_label and same_bounds:
            return "correct", "correct"
        if same_bounds:
            return "type", "wrong type"
        if same_label:
            kind = _boundary_kind(e.start, e.end, ge.start, ge.end)
            return "boundary", f"boundary error ({kind})"
        return "type_boundary", "wrong type and boundary"

    for k, row in enumerate(keep_rows):
        e, v = pred_rows[row], views[p_doc[row]]
        where = f"predicted {e.label} [{e.start}, {e.end}) {e.text!r}"
        code = p_out[k]
        if code == _DUP:
            sv = SpanView(
                e.start, e.end, e.label, "duplicate", f"{where}: exact repeat, not scored"
            )
            v.kinds["duplicate"] += 1
        elif code == _SPU:
            sv = SpanView(e.start, e.end, e.label, "spurious", f"{where}: spurious (no gold span)")
            v.kinds["spurious"] += 1
        else:
            ge = gold_rows[p_pair[k]]
            outcome, what = pred_outcome(e, ge)
            sv = SpanView(
                e.start, e.end, e.label, outcome,
                f"{where}: {what}; gold {ge.label} [{ge.start}, {ge.end}) {ge.text!r}",
            )  # fmt: skip
            if outcome != "correct":
                v.kinds[outcome] += 1
        if e.label not in known:
            v.kinds["unknown_label"] += 1
        if v.text and e.end > len(v.text):
            v.kinds["out_of_range"] += 1
        v.pred.append(sv)
    for row in np.flatnonzero(malformed).tolist():
        e, v = pred_rows[row], views[p_doc[row]]
        v.unplaced.append((e.label, f"malformed span [{e.start}, {e.end})"))
    for gi, e in enumerate(gold_rows):
        v = views[g_doc[gi]]
        where = f"gold {e.label} [{e.start}, {e.end}) {e.text!r}"
        code = g_out[gi]
        if code == _DUP:
            sv = SpanView(e.start, e.end, e.label, "duplicate", f"{where}: exact repeat")
        elif code == _MIS:
            sv = SpanView(e.start, e.end, e.label, "missed", f"{where}: missed (no prediction)")
            v.kinds["missed"] += 1
        else:
            pe = pred_rows[keep_rows[partner[gi]]]
            outcome, what = pred_outcome(pe, e)
            sv = SpanView(
                e.start, e.end, e.label, outcome,
                f"{where}: {what}; predicted {pe.label} [{pe.start}, {pe.end}) {pe.text!r}",
            )  # fmt: skip
        v.gold.append(sv)
    if report is not None:
        for pos, lab in report.unscorable:
            views[positions[pos]].unplaced.append((lab, "no span (ungrounded or malformed)"))
        for pos in report.failed_outputs:
            views[positions[pos]].kinds["parse_failure"] += 1
    pred_ids = {d.id for d in pred}
    for v in views:
        if v.unplaced:
            v.kinds["no_span"] += len(v.unplaced)
            v.kinds["unknown_label"] += sum(1 for lab, _ in v.unplaced if lab not in known)
        if v.id not in pred_ids:
            v.kinds["no_prediction"] += 1
        if not _ERROR_KINDS & set(v.kinds):
            v.kinds["exact"] += 1
    return views


# --------------------------------------------------------------------------------------------
# HTML pieces

_CSS = """
body{font-family:system-ui,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:0 auto;max-width:1240px;padding:12px 20px;color:#1d1d1f;background:#fff;font-size:14px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:22px 0 6px;border-bottom:2px solid #ddd}
h3{font-size:14px;margin:4px 0}
table{border-collapse:collapse;margin:6px 0 10px}
th,td{padding:2px 8px;border:1px solid #c9d1da;text-align:right;font-variant-numeric:tabular-nums}
th{background:HEADER;color:#fff;font-weight:600}
.name{text-align:left}tr.avg td{background:#eef1f5;font-weight:600}
caption{caption-side:top;text-align:left;color:#555;padding:2px 0;max-width:1200px}
dl.defs{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
dl.defs dt{font-weight:600}dl.defs dd{margin:0}
.headline{font-size:16px;margin:8px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.charts img{max-width:100%;border:1px solid #ddd}
mark{color:inherit;padding:1px 0;border-radius:2px}
mark.nested{box-shadow:inset 0 -3px 0 #444}
.tag{font-size:10px;padding:0 3px;margin:0 1px;border-radius:3px;vertical-align:super;
border:1px solid #0003;line-height:1}
.kind{display:inline-block;font-size:11px;padding:0 6px;margin:0 2px;border-radius:8px;
background:#eee;border:1px solid #ccc;font-weight:normal}
.kind.err{background:#fde2e2;border-color:#e9a3a3}.kind.ok{background:#e2f5e8;border-color:#9fd3ae}
section.doc{border:1px solid #ddd;border-radius:4px;padding:4px 8px;margin:6px 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.side{font-size:11px;color:#666;text-transform:uppercase;letter-spacing:.05em}
.text{white-space:pre-wrap;word-break:break-all;line-height:2;margin:2px 0}
.notes{font-size:12px;color:#555;margin:2px 0}
#filters label{margin-right:10px;white-space:nowrap}#filters{position:sticky;top:0;
background:#fffffff0;padding:6px 0;border-bottom:1px solid #ddd;z-index:1}
.legend span.sw{display:inline-block;padding:0 6px;margin:2px 6px 2px 0;border-radius:2px}
[hidden]{display:none!important}
"""

_JS = """
function nerlmFilter(){
  var on=[].slice.call(document.querySelectorAll('#filters input:checked')).map(function(x){
    return x.value;});
  var n=0;
  document.querySelectorAll('section.doc').forEach(function(d){
    var k=d.getAttribute('data-kinds').split(' ');
    var show=on.length===0||on.some(function(x){return k.indexOf(x)>=0;});
    d.hidden=!show; if(show){n++;}
  });
  document.getElementById('shown').textContent=n;
}
function nerlmClear(){
  document.querySelectorAll('#filters input').forEach(function(x){x.checked=false;});
  nerlmFilter();
}
function nerlmMode(m){
  document.querySelectorAll('table.per-label').forEach(function(t){
    t.hidden=t.getAttribute('data-mode')!==m;});
}
"""


def _e(x: object) -> str:
    """HTML-escaped text (quotes too)."""
    return html.escape(str(x), quote=True)


def _f(x: float) -> str:
    return f"{x:.4f}"


def _mode_formula(mode: str) -> str:
    if mode in ("partial", "type"):
        return "P = (COR + ½PAR)/ACTUAL, R = (COR + ½PAR)/POSSIBLE"
    return "P = COR/ACTUAL, R = COR/POSSIBLE"


_MODE_TEXT = {
    "strict": "same label and boundaries",
    "exact": "same boundaries, any label",
    "partial": "overlapping boundaries, any label, half credit",
    "type": "overlap and same label, half credit",
}


def _counts_cells(m: MatchCounts) -> str:
    vals = (m.correct, m.incorrect, m.partial, m.missed, m.spurious, m.possible, m.actual)
    return "".join(f"<td>{v}</td>" for v in vals)


def _per_label_table(result: ScoreResult, mode: str, hidden: bool) -> str:
    ms = result.modes[mode]
    d = result.definition
    cap = (
        f"Per-label scores, {result.level} level, <b>{_e(mode)}</b> match ({_e(_MODE_TEXT[mode])}"
        f"{'' if result.level == 'span' else '; string level: (label, surface) per document'}"
        f"); {_e(_mode_formula(mode))}, F1 = 2PR/(P+R); each label's row compares that label "
        f"only on both sides; duplicates: {_e(d.get('duplicates'))}; split: "
        f"{_e(d.get('split') or 'unknown')}. POSSIBLE = gold spans (COR+INC+PAR+MIS), "
        f"ACTUAL = predicted spans (COR+INC+PAR+SPU); in strict mode TP = COR, "
        f"FP = ACTUAL − COR, FN = POSSIBLE − COR."
    )
    head = (
        '<tr><th class="name">label</th><th>P</th><th>R</th><th>F1</th><th>COR</th>'
        "<th>INC</th><th>PAR</th><th>MIS</th><th>SPU</th><th>POSSIBLE</th><th>ACTUAL</th></tr>"
    )
    rows = [
        f'<tr data-label="{_e(k)}"><td class="name">{_e(k)}</td><td>{_f(v.precision)}</td>'
        f"<td>{_f(v.recall)}</td><td>{_f(v.f1)}</td>{_counts_cells(v)}</tr>"
        for k, v in ms.per_label.items()
    ]
    mi = ms.micro
    rows.append(
        f'<tr class="avg" data-label="(micro)"><td class="name">micro (pooled counts)</td>'
        f"<td>{_f(mi.precision)}</td><td>{_f(mi.recall)}</td><td>{_f(mi.f1)}</td>"
        f"{_counts_cells(mi)}</tr>"
    )

    def avg(name: str, key: str, a: Averaged, how: str) -> str:
        return (
            f'<tr class="avg" data-label="({key})"><td class="name">{name} ({how}, '
            f"{a.n_labels} labels)</td><td>{_f(a.precision)}</td><td>{_f(a.recall)}</td>"
            f'<td>{_f(a.f1)}</td><td colspan="7"></td></tr>'
        )

    rows.append(avg("macro", "macro", ms.macro, "unweighted mean"))
    rows.append(avg("weighted", "weighted", ms.weighted, "by gold support"))
    attr = " hidden" if hidden else ""
    return (
        f'<table class="per-label" id="labels-{_e(mode)}" data-mode="{_e(mode)}"{attr}>'
        f"<caption>{cap}</caption><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _modes_table(result: ScoreResult) -> str:
    rows = []
    for mode, ms in result.modes.items():
        m = ms.micro
        rows.append(
            f'<tr data-mode="{_e(mode)}"><td class="name">{_e(mode)}</td>'
            f'<td class="name">{_e(_MODE_TEXT.get(mode, ""))}</td><td>{_f(m.precision)}</td>'
            f"<td>{_f(m.recall)}</td><td>{_f(m.f1)}</td><td>{_f(ms.macro.f1)}</td>"
            f"{_counts_cells(m)}</tr>"
        )
    return (
        '<table id="modes"><caption>Every match mode, micro P/R/F1 (pooled counts) and macro '
        "F1 (unweighted mean over labels); SemEval-2013 categories as nervaluate 1.2.1 defines "
        "them; partial and type give PAR half credit.</caption><thead><tr>"
        '<th class="name">mode</th><th class="name">match</th><th>P</th><th>R</th><th>F1</th>'
        "<th>macro F1</th><th>COR</th><th>INC</th><th>PAR</th><th>MIS</th><th>SPU</th>"
        f"<th>POSSIBLE</th><th>ACTUAL</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _breakdown_table(
    table_id: str, title: str, rows: Mapping[str, Mapping[str, MatchCounts]], mode: str
) -> str:
    if not rows:
        return ""
    body = "".join(
        f'<tr><td class="name">{_e(k)}</td><td>{_f(v[mode].precision)}</td>'
        f"<td>{_f(v[mode].recall)}</td><td>{_f(v[mode].f1)}</td>"
        f"<td>{v[mode].possible}</td><td>{v[mode].actual}</td></tr>"
        for k, v in rows.items()
    )
    return (
        f'<table id="{table_id}"><caption>{title} ({_e(mode)} match, micro)</caption><thead><tr>'
        '<th class="name">group</th><th>P</th><th>R</th><th>F1</th><th>POSSIBLE</th>'
        f"<th>ACTUAL</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _confusion_table(errors: ErrorTaxonomy) -> str:
    names = errors.confusion_labels
    conf = errors.confusion
    head = '<th class="name">gold \\ predicted</th>' + "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for i, name in enumerate(names):
        total = sum(conf[i])
        cells = []
        for j, v in enumerate(conf[i]):
            share = v / total if total else 0.0
            style = f' style="background:rgba(230,126,34,{share:.2f})"' if v else ""
            cls = ' class="diag"' if i == j else ""
            cells.append(f"<td{cls}{style}>{v}</td>")
        rows.append(f'<tr><th class="name">{_e(name)}</th>{"".join(cells)}</tr>')
    return (
        '<table id="confusion"><caption>Confusion matrix: rows gold label, columns predicted '
        "label, over the strict pairs with identical boundaries; the (none) row counts "
        "spurious predictions, the (none) column missed gold spans; shading is the share of "
        "the row.</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _taxonomy_table(errors: ErrorTaxonomy, result: ScoreResult) -> str:
    rows: list[tuple[str, int | str, str]] = [
        ("spurious", errors.spurious, "predictions paired with no gold span (no overlap left "
         "to pair with), including predicted entities without a usable span"),
        ("missed", errors.missed, "gold spans paired with no prediction"),
        ("type confusions", errors.type_confusions, "same boundaries as a gold span, another "
         "label"),
        ("boundary errors", sum(errors.boundary.values()), "same label as the overlapping gold "
         "span, other boundaries; by kind below"),
    ]  # fmt: skip
    for kind, n in sorted(errors.boundary.items()):
        side, how = kind.split("-")
        side_text = {"left": "start differs", "right": "end differs", "both": "both differ"}
        how_text = {
            "extend": "the prediction contains the gold span",
            "shrink": "the prediction lies inside the gold span",
            "shift": "they cross",
        }
        rows.append((f"  boundary {kind}", n, f"{side_text[side]}; {how_text[how]}"))
    rows += [
        ("type and boundary", errors.type_and_boundary, "overlapping a gold span with another "
         "label and other boundaries"),
        ("ungrounded", errors.ungrounded, "predicted strings not found in the text (no span; "
         "counted as spurious)"),
        ("parse failures", errors.parse_failures, "model outputs that did not parse (their "
         "documents score no predictions)"),
        ("  truncated", errors.truncated, "of those, outputs cut off at max_new_tokens"),
        ("unknown labels", errors.unknown_labels, "predicted labels outside the label set "
         "(lenient mode; spurious)"),
        ("duplicates (gold)", result.counts.get("gold_duplicates", 0), "exact repeats in a "
         "gold document"),
        ("duplicates (predicted)", result.counts.get("pred_duplicates", 0), "exact repeats in "
         "a predicted document"),
    ]  # fmt: skip
    for k, v in result.problems.items():
        rows.append((f"input: {k}", v, "counted by a lenient read or the scorer"))
    body = "".join(
        f'<tr data-kind="{_e(k.strip())}"><td class="name">{_e(k)}</td><td>{v}</td>'
        f'<td class="name">{_e(t)}</td></tr>'
        for k, v, t in rows
    )
    return (
        '<table id="taxonomy"><caption>Error taxonomy (span level, strict pairing: identical '
        "spans pair first, then overlapping ones; nerlm.score.ErrorTaxonomy).</caption>"
        '<thead><tr><th class="name">kind</th><th>count</th><th class="name">definition</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def _render_side(text: str, spans: Sequence[SpanView]) -> str:
    """The text with ``spans`` marked: cut at every span boundary, each segment marked with
    the spans covering it (the innermost one gives the colour), so nested and overlapping
    spans never nest tags; each span's label follows its last segment."""
    n = len(text)
    placed = [
        (max(0, s.start), min(n, s.end), k, s) for k, s in enumerate(spans) if max(0, s.start) <
        min(n, s.end)
    ]  # fmt: skip
    cuts = sorted({0, n, *(a for a, _, _, _ in placed), *(b for _, b, _, _ in placed)})
    starts: dict[int, list[tuple[int, int, int, SpanView]]] = {}
    ends: dict[int, list[tuple[int, int, int, SpanView]]] = {}
    for item in placed:
        starts.setdefault(item[0], []).append(item)
        ends.setdefault(item[1], []).append(item)
    active: dict[int, tuple[int, int, int, SpanView]] = {}
    out: list[str] = []
    for a, b in itertools.pairwise(cuts):
        for item in starts.get(a, ()):
            active[item[2]] = item
        seg = _e(text[a:b])
        if active:
            top = min(active.values(), key=lambda t: (t[1] - t[0], -t[0], t[2]))
            title = "\n".join(t[3].detail for t in sorted(active.values(), key=lambda t: t[2]))
            cls = f"o-{top[3].outcome}" + (" nested" if len(active) > 1 else "")
            out.append(f'<mark class="{cls}" title="{_e(title)}">{seg}</mark>')
        else:
            out.append(seg)
        for item in sorted(ends.get(b, ()), key=lambda t: (-t[0], t[2])):
            active.pop(item[2], None)
            s = item[3]
            out.append(
                f'<span class="tag o-{s.outcome}" title="{_e(s.detail)}">{_e(s.label)}</span>'
            )
    unplaced = [s for s in spans if not max(0, s.start) < min(n, s.end)]
    if unplaced:
        out.append(
            '<span class="notes"> [outside the text: '
            + ", ".join(f"{_e(s.label)} [{s.start}, {s.end})" for s in unplaced)
            + "]</span>"
        )
    return "".join(out)


def _kind_badges(kinds: Counter[str]) -> str:
    out = []
    for k, meaning in DOC_KINDS.items():
        if kinds.get(k):
            cls = "ok" if k == "exact" else ("err" if k in _ERROR_KINDS else "")
            n = "" if k in ("exact", "no_prediction") else f" {kinds[k]}"
            out.append(f'<span class="kind {cls}" title="{_e(meaning)}">{_SHORT[k]}{n}</span>')
    return "".join(out)


def _document_block(v: DocumentView) -> str:
    kinds = " ".join(k for k in DOC_KINDS if v.kinds.get(k))
    notes = ""
    if v.unplaced:
        c = Counter(f"{lab} ({why})" for lab, why in v.unplaced)
        notes = (
            '<p class="notes">predicted without a usable span (spurious): '
            + ", ".join(f"{_e(k)}{f' ×{n}' if n > 1 else ''}" for k, n in c.items())
            + "</p>"
        )
    return (
        f'<section class="doc" id="doc-{v.index}" data-kinds="{kinds}">'
        f"<h3>#{v.index} {_e(v.id)} {_kind_badges(v.kinds)}</h3>"
        f'<div class="cols"><div class="col gold"><div class="side">gold ({len(v.gold)})</div>'
        f'<p class="text">{_render_side(v.text, v.gold)}</p></div>'
        f'<div class="col pred"><div class="side">predicted ({len(v.pred)})</div>'
        f'<p class="text">{_render_side(v.text, v.pred)}</p></div></div>{notes}</section>'
    )


# --------------------------------------------------------------------------------------------
# charts


def _charts(result: ScoreResult, errors: ErrorTaxonomy | None) -> dict[str, bytes]:
    """The per-label F1 bar chart and the confusion heatmap as PNG bytes (matplotlib, Agg)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            f"nerlm report draws its charts with matplotlib: pip install 'matplotlib>=3.8' ({e})"
        ) from e

    def png(fig: Figure) -> bytes:
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            # Labels in scripts the default font lacks (CJK) draw as boxes, not errors.
            warnings.filterwarnings("ignore", message="Glyph .* missing")
            fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        return buf.getvalue()

    out: dict[str, bytes] = {}
    per = result.per_label
    names = list(per)
    fig = Figure(figsize=(7.5, 1.2 + 0.32 * max(len(names), 1)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(names))
    f1 = [per[k].f1 for k in names]
    ax.barh(y, f1, color="#4c78a8")
    for yi, v in enumerate(f1):
        ax.text(min(v + 0.01, 0.9), yi, f"{v:.3f}", va="center", fontsize=8)
    ax.axvline(
        result.micro.f1, color="#e45756", ls="--", lw=1, label=f"micro {result.micro.f1:.3f}"
    )
    ax.axvline(
        result.macro.f1, color="#54a24b", ls=":", lw=1.5, label=f"macro {result.macro.f1:.3f}"
    )
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.set_title(f"Per-label F1 ({result.level} level, {result.primary} match)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    out["f1"] = png(fig)

    n = len(errors.confusion_labels) if errors else 1
    fig = Figure(figsize=(2.5 + 0.55 * n, 2.0 + 0.5 * n), layout="constrained")
    ax = fig.add_subplot()
    if errors is not None:
        conf = np.asarray(errors.confusion, dtype=np.float64)
        rows = conf.sum(1, keepdims=True)
        share = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
        im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                if conf[i, j]:
                    ax.text(j, i, str(int(conf[i, j])), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.55 else "black")  # fmt: skip
        ticks = np.arange(n)
        ax.set_xticks(ticks, errors.confusion_labels, rotation=45, ha="right")
        ax.set_yticks(ticks, errors.confusion_labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        fig.colorbar(im, ax=ax, shrink=0.7, label="share of the gold row")
        ax.set_title("Confusion matrix (strict pairs with identical boundaries)", fontsize=10)
    else:
        ax.text(0.5, 0.5, "no confusion matrix", ha="center", va="center")
        ax.set_axis_off()
    out["confusion"] = png(fig)
    return out


# --------------------------------------------------------------------------------------------
# the page


def _duplicates_of(result: ScoreResult) -> DuplicatePolicy:
    return "multiset" if str(result.definition.get("duplicates", "")).startswith("multi") else "set"


def write_report(
    gold: Sequence[Example],
    pred: Sequence[Example],
    path: str | os.PathLike[str],
    *,
    result: ScoreResult | None = None,
    report: ReadReport | None = None,
    labels: Sequence[str] | None = None,
    level: Level = "span",
    duplicates: DuplicatePolicy = "set",
    primary: str = "strict",
    split: str | None = None,
    lenient: bool = False,
    title: str | None = None,
    inputs: Mapping[str, str] | None = None,
    png: bool = True,
    png_dir: str | os.PathLike[str] | None = None,
    max_documents: int | None = None,
) -> ReportFiles:
    """Write a self-contained HTML report of ``pred`` scored against ``gold``.

    The page (UTF-8) has inline CSS and JavaScript and embeds its charts as base64 PNG data
    URIs, so it opens without network. With ``png`` the two charts are also written as
    ``{stem}_f1.png`` and ``{stem}_confusion.png`` (``stem`` = the page's name without its
    suffix) next to the page or in ``png_dir``.

    Args:
        gold: Gold documents (unique ids).
        pred: Predicted documents, matched to gold by id.
        path: The HTML file to write (parent directories are created).
        result: Scores to show; by default ``nerlm.score(gold, pred, ...)`` with the options
            below. The document view pairs spans under ``result``'s duplicate policy.
        report: The prediction reader's :class:`ReadReport` (parse failures, ungrounded
            entities), passed to the scorer.
        labels, level, duplicates, primary, split, lenient: As :func:`nerlm.score.score`.
        title: The page title (default: from ``inputs`` or "nerlm report").
        inputs: What to show as the sources, e.g. ``{"gold": "dev.json (cluener)"}``.
        png: Also write the charts as PNG files.
        png_dir: Where to write them (default: the page's directory).
        max_documents: Show only the first this many documents (default: all; the header
            says when documents are left out).

    Returns:
        The paths written, the result shown and the number of document blocks.

    Raises:
        ValueError: As :func:`nerlm.score.score` (ids, spans, labels; messages name the
            document id); ``max_documents`` negative.
        ImportError: matplotlib is missing.
        OSError: A file cannot be written.
    """
    if max_documents is not None and max_documents < 0:
        raise ValueError(f"max_documents must be >= 0, not {max_documents}")
    if result is None:
        result = score(
            gold, pred, labels=labels, level=level, duplicates=duplicates, primary=primary,
            split=split, report=report, lenient=lenient,
        )  # fmt: skip
    errors = result.errors
    errors_note = ""
    if errors is None:
        # String-level scores have no span taxonomy: take it from the span-level comparison.
        errors = score(
            gold, pred, labels=labels, level="span", duplicates=_duplicates_of(result),
            split=split, report=report, lenient=lenient,
        ).errors  # fmt: skip
        errors_note = " (span level; the scores above are string level)"
    views = document_views(
        gold, pred, labels=labels, duplicates=_duplicates_of(result), report=report
    )
    shown = views if max_documents is None else views[:max_documents]
    charts = _charts(result, errors)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    f1_png = confusion_png = None
    if png:
        where = Path(png_dir) if png_dir is not None else out.parent
        where.mkdir(parents=True, exist_ok=True)
        f1_png, confusion_png = where / f"{out.stem}_f1.png", where / f"{out.stem}_confusion.png"
        f1_png.write_bytes(charts["f1"])
        confusion_png.write_bytes(charts["confusion"])

    srcs = dict(inputs or {})
    if title is None:
        title = (
            f"nerlm report: {srcs['pred']} against {srcs['gold']}"
            if "pred" in srcs and "gold" in srcs
            else "nerlm report"
        )
    page = _page(
        result=result, errors=errors, errors_note=errors_note, views=views, shown=shown,
        charts=charts, inputs=srcs, title=title,
    )  # fmt: skip
    out.write_text(page, encoding="utf-8")
    return ReportFiles(out, f1_png, confusion_png, result, len(shown))


def _page(
    *,
    result: ScoreResult,
    errors: ErrorTaxonomy | None,
    errors_note: str,
    views: list[DocumentView],
    shown: list[DocumentView],
    charts: Mapping[str, bytes],
    inputs: Mapping[str, str],
    title: str,
) -> str:
    from nerlm import __version__

    d = result.definition
    m = result.micro
    defs: list[tuple[str, object]] = [*inputs.items()]
    defs += [(k.replace("_", " "), v) for k, v in result.counts.items()]
    de = result.doc_exact_match
    defs.append(
        (
            "documents predicted exactly",
            f"{int(de['exact'])}/{int(de['documents'])} ({de['rate']:.4f}): strict span sets "
            "equal (string sets at string level) under the duplicate policy",
        )
    )
    if result.problems:
        defs.append(("input problems", ", ".join(f"{k} {v}" for k, v in result.problems.items())))
    defs += [("level", result.level), ("per-label table and charts", f"{result.primary} match")]
    defs += [(k.replace("_", " "), "none" if v is None else v) for k, v in d.items()]
    if result.intervals:
        lo, hi = result.intervals["f1"]
        defs.append(("micro F1 95% interval", f"[{lo:.4f}, {hi:.4f}]"))
    defs.append(("written by", f"nerlm {__version__} (nerlm.report.write_report)"))
    header = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in defs)

    modes = list(result.modes)
    order = [result.primary, *(x for x in modes if x != result.primary)]
    select = ""
    if len(modes) > 1:
        opts = "".join(f'<option value="{_e(x)}">{_e(x)}</option>' for x in order)
        select = (
            '<p><label>match mode of the per-label table: <select id="mode" '
            f'onchange="nerlmMode(this.value)">{opts}</select></label></p>'
        )
    tables = "".join(_per_label_table(result, x, hidden=x != result.primary) for x in order)

    def img(key: str, alt: str) -> str:
        b64 = base64.b64encode(charts[key]).decode("ascii")
        return f'<img id="chart-{key}" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'

    legend = "".join(
        f'<span class="sw o-{k}" title="{_e(OUTCOME_TEXT[k])}">{_e(OUTCOME_TEXT[k].split(":")[0])}'
        "</span>"
        for k in OUTCOME_COLORS
    )
    counts = Counter(k for v in shown for k in v.kinds)
    filters = "".join(
        f'<label title="{_e(DOC_KINDS[k])}"><input type="checkbox" value="{k}" '
        f'onchange="nerlmFilter()"{"" if counts.get(k) else " disabled"}> {_SHORT[k]} '
        f"({counts.get(k, 0)})</label>"
        for k in DOC_KINDS
    )
    left_out = (
        f" Only the first {len(shown)} of {len(views)} documents are shown."
        if len(shown) < len(views)
        else ""
    )
    colors = "".join(f".o-{k}{{background:{c}}}" for k, c in OUTCOME_COLORS.items())
    css = _CSS.replace("HEADER", TABLE_HEADER_COLOR) + colors
    macro = result.macro
    by_length = _breakdown_table(
        "by-length", "By entity length in code points (both sides restricted to the bucket)",
        result.by_length, result.primary,
    )  # fmt: skip
    by_source = _breakdown_table(
        "by-source", "By source (meta.source of the gold documents)", result.by_source,
        result.primary,
    )  # fmt: skip
    taxonomy = (
        _taxonomy_table(errors, result) + _confusion_table(errors)
        if errors is not None
        else "<p>No span-level error taxonomy.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{css}</style><script>{_JS}</script></head>
<body>
<h1>{_e(title)}</h1>
<p class="headline">micro F1 <b>{_f(m.f1)}</b> (P {_f(m.precision)}, R {_f(m.recall)}),
macro F1 <b>{_f(macro.f1)}</b>: {_e(result.level)} level, {_e(result.primary)} match,
split {_e(d.get("split") or "unknown")}, duplicates {_e(d.get("duplicates"))}.</p>
<dl class="defs" id="definition">{header}</dl>
<h2 id="scores">Scores by label</h2>
{select}{tables}{_modes_table(result)}{by_length}{by_source}
<h2 id="charts">Charts</h2>
<div class="charts">{img("f1", "per-label F1")}{img("confusion", "confusion matrix")}</div>
<h2 id="errors">Error taxonomy{_e(errors_note)}</h2>
{taxonomy}
<h2 id="documents">Documents</h2>
<p>Gold (left) and predicted (right) spans, coloured by their outcome in the strict
span-level pairing (identical spans pair first, then overlapping ones; a span's partner is the
span it is paired with); hover a span for its partner. Where spans nest or overlap the innermost
colours the text and an underline marks the overlap.{_e(left_out)}</p>
<p class="legend">{legend}</p>
<div id="filters">Show only documents with: {filters}
<button type="button" onclick="nerlmClear()">all</button>
 <span class="notes">showing <span id="shown">{len(shown)}</span> of {len(shown)}</span></div>
{"".join(_document_block(v) for v in shown)}
</body></html>
"""

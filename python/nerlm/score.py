"""NER scoring: every match mode in one vectorized pass (Rust core, ``nerlm._native``).

Definitions (DESIGN.md; SemEval-2013 Task 9.1 as nervaluate 1.2.1 implements it):

* **Span level** compares ``(label, start, end)`` (half-open code point offsets) per document
  in four modes at once: ``strict`` (same label and boundaries), ``exact`` (same boundaries),
  ``partial`` (overlapping boundaries, half credit) and ``type`` (overlap and same label). Each
  prediction pairs with at most one gold span: identical spans pair first, then overlapping
  ones (nervaluate pairs in one pass in input order, so an imprecise prediction can take the
  gold span a later prediction matches exactly; :func:`nerlm.compat.nervaluate` reproduces
  that). The counts are COR, INC, PAR, MIS and SPU, with POSSIBLE = COR+INC+PAR+MIS and
  ACTUAL = COR+INC+PAR+SPU.
  P = COR/ACTUAL and R = COR/POSSIBLE (``strict``, ``exact``); P = (COR + ½PAR)/ACTUAL and
  R = (COR + ½PAR)/POSSIBLE (``partial``, ``type``); F1 = 2PR/(P+R). In ``strict`` mode COR is
  the usual TP, ACTUAL − COR the FP and POSSIBLE − COR the FN (conlleval's counts).
* **String level** compares ``(label, surface)`` pairs per document, as most LLM-NER papers do
  (CLUENER's official scorer, the seeds' "string match"): TP/FP/FN only.
* **Duplicates**: ``"set"`` drops exact repeats within a document (first kept) and reports how
  many; ``"multiset"`` scores every occurrence (a repeated prediction is then spurious).
* **Averaging**: micro pools the counts of all labels; macro is the unweighted mean of per-label
  P, R and F1 over the labels with gold or predicted spans; weighted is the mean weighted by
  gold support. Per-label counts come from the comparison restricted to that label on both
  sides (as nervaluate and conlleval report per-type scores). A ratio with a zero denominator
  is 0.0, and the result says so.

Reference scorers' own conventions (CLUENER, DeepKE, seqeval, nervaluate, conlleval) are in
:mod:`nerlm.compat`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from nerlm import _native
from nerlm.data.model import Example
from nerlm.data.report import ReadReport

#: The span match modes, in the order of the count arrays.
MODES: tuple[str, ...] = ("strict", "exact", "partial", "type")
#: SemEval categories, in the order of the count arrays.
CATEGORIES: tuple[str, ...] = ("correct", "incorrect", "partial", "missed", "spurious")
#: Default entity-length buckets (code points): lower edges of ``1, 2, 3, 4, 5-6, 7-10, 11+``.
LENGTH_EDGES: tuple[int, ...] = (1, 2, 3, 4, 5, 7, 11)

Level = Literal["span", "string"]
DuplicatePolicy = Literal["set", "multiset"]

_COR, _INC, _PAR, _MIS, _SPU = range(5)
_DUPLICATE = 5


@dataclass(frozen=True, slots=True)
class MatchCounts:
    """SemEval-2013 counts of one comparison and the P/R/F1 derived from them.

    Attributes:
        correct, incorrect, partial, missed, spurious: COR, INC, PAR, MIS, SPU.
        precision, recall, f1: As defined for the mode (see the module docstring).
    """

    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    precision: float
    recall: float
    f1: float

    @staticmethod
    def from_counts(
        cor: int, inc: int, par: int, mis: int, spu: int, *, half_credit: bool = False
    ) -> MatchCounts:
        """Build from the five counts; ``half_credit`` gives PAR half a point (partial, type)."""
        act, pos = cor + inc + par + spu, cor + inc + par + mis
        hit = cor + 0.5 * par if half_credit else float(cor)
        p = hit / act if act else 0.0
        r = hit / pos if pos else 0.0
        f = 2 * (p * r) / (p + r) if p + r else 0.0
        return MatchCounts(int(cor), int(inc), int(par), int(mis), int(spu), p, r, f)

    @staticmethod
    def from_tp(tp: int, fp: int, fn: int) -> MatchCounts:
        """Build from TP/FP/FN (string level): COR = TP, SPU = FP, MIS = FN."""
        return MatchCounts.from_counts(tp, 0, 0, fn, fp)

    @property
    def possible(self) -> int:
        """COR + INC + PAR + MIS: the gold spans."""
        return self.correct + self.incorrect + self.partial + self.missed

    @property
    def actual(self) -> int:
        """COR + INC + PAR + SPU: the predicted spans."""
        return self.correct + self.incorrect + self.partial + self.spurious

    @property
    def tp(self) -> int:
        """True positives (COR)."""
        return self.correct

    @property
    def fp(self) -> int:
        """False positives: predictions not correct (ACTUAL − COR)."""
        return self.actual - self.correct

    @property
    def fn(self) -> int:
        """False negatives: gold spans not matched correctly (POSSIBLE − COR)."""
        return self.possible - self.correct

    def to_dict(self) -> dict[str, Any]:
        """JSON form with P/R/F1, the five counts, POSSIBLE/ACTUAL and TP/FP/FN."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "correct": self.correct,
            "incorrect": self.incorrect,
            "partial": self.partial,
            "missed": self.missed,
            "spurious": self.spurious,
            "possible": self.possible,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True)
class Averaged:
    """A macro or weighted average of per-label P, R and F1 over ``n_labels`` labels."""

    precision: float
    recall: float
    f1: float
    n_labels: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "n_labels": self.n_labels,
        }


@dataclass(frozen=True, slots=True)
class ModeScore:
    """Scores of one match mode.

    Attributes:
        micro: Pooled over all labels.
        macro: Mean of per-label P, R, F1 over labels with gold or predicted spans.
        weighted: Mean weighted by each label's gold support (POSSIBLE).
        per_label: Restricted comparison per label, sorted by name.
    """

    micro: MatchCounts
    macro: Averaged
    weighted: Averaged
    per_label: dict[str, MatchCounts]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
            "per_label": {k: v.to_dict() for k, v in self.per_label.items()},
        }


@dataclass(frozen=True, slots=True)
class ErrorTaxonomy:
    """What went wrong, by kind, for LLM output (span level, strict pairing).

    Attributes:
        parse_failures: Outputs that did not parse (their documents score no predictions).
        truncated: Of those, outputs cut off before the end (``max_new_tokens`` reached).
        unknown_labels: Predicted spans whose label is not in the label set.
        ungrounded: Predicted entities whose string is not in the text (no span; spurious).
        spurious: Predicted spans overlapping no gold span.
        missed: Gold spans overlapped by no prediction.
        type_confusions: Same boundaries as a gold span, other label.
        boundary: Same label, other boundaries, by which boundary differs (``left``,
            ``right``, ``both``) and how (``extend``: the prediction contains the gold span;
            ``shrink``: it lies inside it; ``shift``: they cross), e.g. ``"right-extend"``.
        type_and_boundary: Overlapping a gold span with another label and other boundaries.
        confusion_labels: Row and column names of ``confusion``; the last is ``"(none)"``.
        confusion: ``[gold label, predicted label]`` counts over the pairs with identical
            boundaries, with ``(none)`` for spurious predictions (last row) and missed gold
            spans (last column).
    """

    parse_failures: int
    truncated: int
    unknown_labels: int
    ungrounded: int
    spurious: int
    missed: int
    type_confusions: int
    boundary: dict[str, int]
    type_and_boundary: int
    confusion_labels: list[str]
    confusion: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "parse_failures": self.parse_failures,
            "truncated": self.truncated,
            "unknown_labels": self.unknown_labels,
            "ungrounded": self.ungrounded,
            "spurious": self.spurious,
            "missed": self.missed,
            "type_confusions": self.type_confusions,
            "boundary": self.boundary,
            "type_and_boundary": self.type_and_boundary,
            "confusion_labels": self.confusion_labels,
            "confusion": self.confusion,
        }


@dataclass(slots=True)
class ScoreResult:
    """Scores with the definition they were computed under.

    Attributes:
        level: ``"span"`` or ``"string"``.
        modes: Per match mode (span level: strict, exact, partial, type; string: strict).
        primary: The mode that :attr:`micro`, :attr:`macro` and :attr:`per_label` show.
        by_source: Micro scores per ``meta["source"]`` of the gold documents, per mode.
        by_length: Scores per entity-length bucket (code points), per mode: the comparison
            restricted to spans of that length on both sides.
        doc_exact_match: Share of documents whose predicted spans (strings) equal the gold
            ones exactly, with the counts, under the duplicate policy.
        errors: The error taxonomy (span level).
        intervals: Percentile bootstrap 95% intervals of the primary mode's micro P, R, F1
            (documents resampled; empty unless requested).
        definition: Match level, averaging, duplicate policy, zero division, split.
        counts: Documents, gold and predicted spans, duplicates removed.
        problems: Problems with the input counted instead of raised (lenient mode), and
            documents without a prediction.
    """

    level: str
    modes: dict[str, ModeScore]
    primary: str
    by_source: dict[str, dict[str, MatchCounts]]
    by_length: dict[str, dict[str, MatchCounts]]
    doc_exact_match: dict[str, float]
    errors: ErrorTaxonomy | None
    intervals: dict[str, tuple[float, float]]
    definition: dict[str, Any]
    counts: dict[str, int]
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def micro(self) -> MatchCounts:
        """Micro scores of the primary mode."""
        return self.modes[self.primary].micro

    @property
    def macro(self) -> Averaged:
        """Macro average of the primary mode."""
        return self.modes[self.primary].macro

    @property
    def per_label(self) -> dict[str, MatchCounts]:
        """Per-label scores of the primary mode."""
        return self.modes[self.primary].per_label

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``nerlm score --json``."""
        return {
            "level": self.level,
            "primary": self.primary,
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "per_label": {k: v.to_dict() for k, v in self.per_label.items()},
            "modes": {k: v.to_dict() for k, v in self.modes.items()},
            "by_source": {
                s: {m: c.to_dict() for m, c in v.items()} for s, v in self.by_source.items()
            },
            "by_length": {
                b: {m: c.to_dict() for m, c in v.items()} for b, v in self.by_length.items()
            },
            "doc_exact_match": self.doc_exact_match,
            "errors": self.errors.to_dict() if self.errors else None,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "definition": self.definition,
            "counts": self.counts,
            "problems": self.problems,
        }

    def table(self) -> str:
        """A readable report: per-label table of the primary mode, every mode's micro and
        macro, breakdowns, the error taxonomy and the definition."""
        mode = self.modes[self.primary]
        w = max([len(k) for k in mode.per_label] + [10])
        head = f"{'label':<{w}}  {'P':>7} {'R':>7} {'F1':>7} {'TP':>6} {'FP':>6} {'FN':>6}"
        lines = [f"{self.level} level, {self.primary} match", head, "-" * len(head)]

        def row(name: str, m: MatchCounts) -> str:
            return (
                f"{name:<{w}}  {m.precision:>7.4f} {m.recall:>7.4f} {m.f1:>7.4f} "
                f"{m.tp:>6} {m.fp:>6} {m.fn:>6}"
            )

        def avg(name: str, a: Averaged) -> str:
            return f"{name:<{w}}  {a.precision:>7.4f} {a.recall:>7.4f} {a.f1:>7.4f}"

        lines += [row(k, v) for k, v in mode.per_label.items()]
        lines.append("-" * len(head))
        lines.append(row("micro", mode.micro))
        lines.append(avg("macro", mode.macro))
        lines.append(avg("weighted", mode.weighted))
        if self.intervals:
            lo, hi = self.intervals["f1"]
            lines.append(f"micro F1 95% bootstrap interval: [{lo:.4f}, {hi:.4f}]")
        if len(self.modes) > 1:
            lines.append("")
            lines.append(
                f"{'mode':<{w}}  {'P':>7} {'R':>7} {'F1':>7} {'COR':>6} {'INC':>6} {'PAR':>6} "
                f"{'MIS':>6} {'SPU':>6}"
            )
            for name, ms in self.modes.items():
                m = ms.micro
                lines.append(
                    f"{name:<{w}}  {m.precision:>7.4f} {m.recall:>7.4f} {m.f1:>7.4f} "
                    f"{m.correct:>6} {m.incorrect:>6} {m.partial:>6} {m.missed:>6} "
                    f"{m.spurious:>6}"
                )
        if self.by_source:
            lines.append("")
            lines.append(f"by source ({self.primary}, micro):")
            lines += [row(s, v[self.primary]) for s, v in self.by_source.items()]
        de = self.doc_exact_match
        lines.append(
            f"\ndocuments predicted exactly: {int(de['exact'])}/{int(de['documents'])} "
            f"({de['rate']:.4f})"
        )
        if self.errors:
            e = self.errors
            parts = [
                f"spurious {e.spurious}",
                f"missed {e.missed}",
                f"type confusions {e.type_confusions}",
                f"boundary {sum(e.boundary.values())}",
                f"type+boundary {e.type_and_boundary}",
                f"ungrounded {e.ungrounded}",
                f"parse failures {e.parse_failures} (truncated {e.truncated})",
                f"unknown labels {e.unknown_labels}",
            ]
            lines.append("errors: " + ", ".join(parts))
        d = self.definition
        lines.append(
            f"match: {d['match']}; averaging: {d['averaging']}; duplicates: {d['duplicates']}; "
            f"split: {d['split'] or 'unknown'}"
        )
        if self.problems:
            lines.append(
                "input problems (counted; spans that cannot be placed score as spurious): "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.problems.items()))
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# averaging helpers


def _prf(c: np.ndarray, half_credit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorized P, R, F1 from count arrays ``[..., 5]`` (0.0 where undefined)."""
    c = c.astype(np.float64)
    cor, inc, par, mis, spu = (c[..., k] for k in range(5))
    hit = cor + 0.5 * par if half_credit else cor
    act, pos = cor + inc + par + spu, cor + inc + par + mis
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(act > 0, hit / np.where(act > 0, act, 1), 0.0)
        r = np.where(pos > 0, hit / np.where(pos > 0, pos, 1), 0.0)
        f = np.where(p + r > 0, 2 * (p * r) / np.where(p + r > 0, p + r, 1), 0.0)
    return p, r, f


#: Modes in which a partial match earns half a point.
_HALF_CREDIT = ("partial", "type")


def _match_counts(mode: str, counts: np.ndarray) -> MatchCounts:
    """:class:`MatchCounts` of one ``[5]`` count row under ``mode``'s formulas."""
    return MatchCounts.from_counts(*(int(x) for x in counts), half_credit=mode in _HALF_CREDIT)


def _mode_score(
    mode: str, overall: np.ndarray, per_label: np.ndarray, names: list[str]
) -> ModeScore:
    micro = _match_counts(mode, overall)
    per = {
        names[i]: _match_counts(mode, per_label[i])
        for i in range(len(names))
        if per_label[i].sum() > 0
    }
    per = dict(sorted(per.items()))
    vals = list(per.values())
    n = len(vals)
    macro = Averaged(
        sum(v.precision for v in vals) / n if n else 0.0,
        sum(v.recall for v in vals) / n if n else 0.0,
        sum(v.f1 for v in vals) / n if n else 0.0,
        n,
    )
    sup = sum(v.possible for v in vals)
    weighted = Averaged(
        sum(v.precision * v.possible for v in vals) / sup if sup else 0.0,
        sum(v.recall * v.possible for v in vals) / sup if sup else 0.0,
        sum(v.f1 * v.possible for v in vals) / sup if sup else 0.0,
        n,
    )
    return ModeScore(micro, macro, weighted, per)


def _bucket_names(edges: Sequence[int]) -> list[str]:
    out = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        out.append(f"{lo}+" if hi is None else (str(lo) if hi == lo else f"{lo}-{hi}"))
    return out


# --------------------------------------------------------------------------------------------
# inputs


@dataclass(slots=True)
class _Columns:
    doc: np.ndarray
    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    key: np.ndarray
    text_len: np.ndarray


def _entity_columns(
    docs: Sequence[Example], ids: dict[str, int], keys: dict[str, int] | None
) -> _Columns:
    """int64 columns of every entity (Rust reads the objects); new labels are added to
    ``ids``, surfaces interned in ``keys`` when given."""
    c = _native.entity_columns(docs, ids, keys)
    return _Columns(c["doc"], c["label"], c["start"], c["end"], c["key"], c["text_len"])


def _check_spans(
    docs: Sequence[Example], c: _Columns, side: str, problems: Counter[str], lenient: bool
) -> np.ndarray:
    """Raise (or, when ``lenient``, count) spans that are empty, reversed or outside the text.

    A document with an empty text (a prediction read without its text) is not range-checked.

    Returns:
        The rows of malformed spans (lenient mode), which cannot be scored as spans.
    """
    malformed = (c.start < 0) | (c.end <= c.start)
    tl = c.text_len[c.doc] if len(c.doc) else c.doc
    outside = ~malformed & (tl > 0) & (c.end > tl)
    if not lenient or side == "gold":
        bad = np.flatnonzero(malformed | outside)
        if len(bad):
            i = int(bad[0])
            d = docs[int(c.doc[i])]
            e = next(x for x in d.entities if (x.start, x.end) == (int(c.start[i]), int(c.end[i])))
            kind = "malformed_span" if malformed[i] else "span_out_of_range"
            hint = "" if side == "gold" else f"; pass lenient=True to count it ({kind})"
            raise ValueError(
                f"{side} document {d.id!r}: entity {e.label!r} {e.text!r} [{e.start}, {e.end}) "
                f"is not a span of its text (length {len(d.text)}; 0 <= start < end <= length "
                f"required{hint})"
            )
        return np.zeros(0, np.int64)
    if malformed.any():
        problems["malformed_span"] += int(malformed.sum())
    if outside.any():
        problems["span_out_of_range"] += int(outside.sum())
    return np.flatnonzero(malformed)


def align_predictions(
    gold: Sequence[Example], pred: Sequence[Example]
) -> tuple[list[Example], int, list[int]]:
    """Order predictions like ``gold`` by id; gold documents without one get an empty one.

    Returns:
        The aligned predictions, the number of gold documents without a prediction, and for
        each position in ``pred`` the index of its gold document.

    Raises:
        ValueError: Gold ids repeat, a predicted id is not a gold id, or a predicted id repeats
            (each message names the id).
    """
    gids = [g.id for g in gold]
    gold_ids = {gid: i for i, gid in enumerate(gids)}
    if len(gold_ids) != len(gids):
        seen: set[str] = set()
        dup = next(x for x in gids if x in seen or seen.add(x))  # type: ignore[func-returns-value]
        raise ValueError(f"gold id {dup!r} appears twice")
    pids = [p.id for p in pred]
    if pids == gids:
        return list(pred), 0, list(range(len(pred)))
    by_id: dict[str, Example] = {}
    positions = []
    for p in pred:
        if p.id not in gold_ids:
            raise ValueError(f"prediction id {p.id!r} is not a gold id")
        if p.id in by_id:
            raise ValueError(f"prediction id {p.id!r} appears twice")
        by_id[p.id] = p
        positions.append(gold_ids[p.id])
    aligned = [by_id.get(g.id) or Example(g.id, g.text) for g in gold]
    return aligned, len(gold) - len(by_id), positions


# --------------------------------------------------------------------------------------------
# the scorer


def score(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] | None = None,
    level: Level = "span",
    duplicates: DuplicatePolicy = "set",
    primary: str = "strict",
    split: str | None = None,
    report: ReadReport | None = None,
    lenient: bool = False,
    length_edges: Sequence[int] | None = LENGTH_EDGES,
    bootstrap: int = 0,
    seed: int = 0,
) -> ScoreResult:
    """Score ``pred`` against ``gold`` in every match mode at once.

    Documents are matched by ``id``; a gold document without a prediction scores as an empty
    prediction (``problems["missing_prediction"]``).

    Args:
        gold: Gold documents (unique ids).
        pred: Predicted documents (ids among the gold ids, each at most once).
        labels: The label set (default: the gold labels). Predicted labels outside it are an
            error, or with ``lenient`` spurious spans counted in ``problems["unknown_label"]``.
        level: ``"span"`` (label, start, end) or ``"string"`` (label, surface per document).
        duplicates: ``"set"`` or ``"multiset"`` (see the module docstring).
        primary: The mode shown by ``micro``/``macro``/``per_label`` (span level).
        split: Recorded in the definition.
        report: What the prediction reader found (``read_jsonl(..., report=...)``): entities
            without a span (ungrounded, malformed) score as spurious of their label, parse
            failures feed the error taxonomy.
        lenient: Count malformed or out-of-range predicted spans and unknown labels instead of
            raising.
        length_edges: Lower edges of the entity-length buckets (code points); None for none.
        bootstrap: Number of bootstrap resamples of documents for 95% intervals (0: none).
        seed: Seed of the bootstrap resampling (numpy PCG64).

    Raises:
        ValueError: Ids repeat or do not match; a gold span is not a span of its text; and,
            unless ``lenient``, a predicted span is malformed or out of range or has an unknown
            label. Messages name the document id and the span.
    """
    return _score(
        gold, pred, labels=labels, level=level, duplicates=duplicates, primary=primary,
        split=split, report=report, lenient=lenient, length_edges=length_edges,
        bootstrap=bootstrap, seed=seed, want_rows=False,
    )[0]  # fmt: skip


def _score(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] | None,
    level: Level,
    duplicates: DuplicatePolicy,
    primary: str,
    split: str | None,
    report: ReadReport | None,
    lenient: bool,
    length_edges: Sequence[int] | None,
    bootstrap: int,
    seed: int,
    want_rows: bool,
) -> tuple[ScoreResult, np.ndarray | None]:
    """:func:`score`, also returning the per-document counts of the primary mode
    (``[n_docs, 5]``) when ``want_rows``."""
    if level not in ("span", "string"):
        raise ValueError(f"level must be 'span' or 'string', not {level!r}")
    if duplicates not in ("set", "multiset"):
        raise ValueError(f"duplicates must be 'set' or 'multiset', not {duplicates!r}")
    modes = MODES if level == "span" else ("strict",)
    if primary not in modes:
        raise ValueError(f"primary must be one of {modes} at {level} level, not {primary!r}")
    aligned, missing, pos_to_gold = align_predictions(gold, pred)
    problems: Counter[str] = Counter()
    if report is not None:
        problems.update({k: v for k, v in report.counts.items() if k not in _CONTENT_KINDS})
    if missing:
        problems["missing_prediction"] += missing
    ids: dict[str, int] = {}
    if labels is not None:
        ids = {name: i for i, name in enumerate(dict.fromkeys(labels))}
    keys: dict[str, int] | None = {} if level == "string" else None
    g = _entity_columns(gold, ids, keys)
    if labels is not None and len(ids) > len(labels):
        first = next(iter(set(ids) - set(labels)))
        raise ValueError(f"gold label {first!r} is not in the label set {list(labels)}")
    if labels is None:
        # Label ids in sorted order of the gold labels.
        order = sorted(ids)
        remap = np.array([order.index(name) for name in ids], np.int64)
        g.label = remap[g.label] if len(g.label) else g.label
        ids = {name: i for i, name in enumerate(order)}
    known = list(ids)
    _check_spans(gold, g, "gold", problems, lenient=False)
    p = _entity_columns(aligned, ids, keys)
    dropped = _check_spans(aligned, p, "predicted", problems, lenient)
    if len(dropped):
        keep = np.ones(len(p.doc), bool)
        keep[dropped] = False
        dropped_docs, dropped_labels = p.doc[dropped], p.label[dropped]
        p = _Columns(p.doc[keep], p.label[keep], p.start[keep], p.end[keep],
                     p.key[keep] if len(p.key) else p.key, p.text_len)  # fmt: skip
    if len(ids) > len(known):
        unknown_mask = p.label >= len(known)
        if not lenient:
            i = int(np.flatnonzero(unknown_mask)[0])
            d = aligned[int(p.doc[i])]
            name = list(ids)[int(p.label[i])]
            raise ValueError(
                f"predicted document {d.id!r}: an entity at [{p.start[i]}, {p.end[i]}) has label "
                f"{name!r}, which is not in the label set (pass lenient=True to count it as "
                f"spurious)"
            )
        problems["unknown_label"] += int(unknown_mask.sum())
    for _, lab in report.unscorable if report else []:
        ids.setdefault(lab, len(ids))
    names = list(ids)
    # Predicted entities without a usable span: ungrounded ones from the reader (document
    # position in the prediction file) and, in lenient mode, malformed spans. They are spurious.
    unscorable = [(pos_to_gold[d], ids[lab]) for d, lab in (report.unscorable if report else [])]
    if len(dropped):
        unscorable += list(zip(dropped_docs.tolist(), dropped_labels.tolist(), strict=True))
    sources = [str(g.meta.get("source", "")) for g in gold]
    # Sources are a breakdown only when the gold documents come from more than one.
    source_names = sorted(set(sources)) if len(set(sources)) > 1 else []
    source_ids = {s: i for i, s in enumerate(source_names)}
    group = np.array([source_ids[s] for s in sources], np.int64) if source_names else None
    want_doc = bootstrap > 0 or want_rows or bool(unscorable)
    n_docs = len(gold)
    unscorable_docs = np.array([d for d, _ in unscorable], np.int64)
    unscorable_labels = np.array([lab for _, lab in unscorable], np.int64)

    by_length: dict[str, dict[str, MatchCounts]] = {}
    errors: ErrorTaxonomy | None = None
    if level == "span":
        buckets: dict[str, Any] = {}
        if length_edges:
            edges = np.asarray(length_edges, np.int64)
            buckets = {
                "gold_bucket": np.maximum(np.searchsorted(edges, g.end - g.start, "right") - 1, 0),
                "pred_bucket": np.maximum(np.searchsorted(edges, p.end - p.start, "right") - 1, 0),
                "n_buckets": len(edges),
            }
        r = _native.score_spans(
            g.doc, g.label, g.start, g.end, p.doc, p.label, p.start, p.end, n_docs, len(names),
            duplicates=duplicates, doc_group=group, n_groups=len(source_names),
            per_doc=want_doc, outcomes=True, **buckets,
        )  # fmt: skip
        overall = r["overall"].astype(np.int64)
        per_label = r["per_label"].astype(np.int64)
        per_group = r["per_group"].astype(np.int64)
        per_doc = r["per_doc"].astype(np.int64)
        if length_edges:
            bnames = _bucket_names(list(length_edges))
            for b, bn in enumerate(bnames):
                if r["per_bucket"][b].sum() > 0:
                    by_length[bn] = {
                        m: _match_counts(m, r["per_bucket"][b, k]) for k, m in enumerate(MODES)
                    }
        errors = _taxonomy(
            g, p=p, r=r, names=names, report=report, problems=problems,
            n_unscorable=len(unscorable),
        )  # fmt: skip
        counts = {
            "documents": n_docs,
            "gold_spans": len(g.doc),
            "pred_spans": len(p.doc) + len(unscorable),
            "gold_duplicates": int(r["gold_duplicates"]),
            "pred_duplicates": int(r["pred_duplicates"]),
        }
        match_desc = (
            f"{primary} span (label, start, end), half-open code point offsets; all four "
            "modes (strict, exact, partial, type) as SemEval-2013 / nervaluate define them"
        )
    else:
        r = _native.score_strings(
            g.doc, g.label, g.key, p.doc, p.label, p.key, n_docs, len(names),
            duplicates=duplicates, doc_group=group, n_groups=len(source_names), per_doc=want_doc,
        )  # fmt: skip

        def five(a: np.ndarray) -> np.ndarray:
            """TP/FP/FN ``[..., 3]`` as one mode's COR/INC/PAR/MIS/SPU ``[..., 1, 5]``."""
            z = np.zeros((*a.shape[:-1], 1, 5), np.int64)
            z[..., 0, _COR], z[..., 0, _SPU], z[..., 0, _MIS] = a[..., 0], a[..., 1], a[..., 2]
            return z

        per_label = five(r["per_label"].astype(np.int64))
        overall = per_label.sum(0)
        per_group = five(r["per_group"].astype(np.int64))
        per_doc = five(r["per_doc"].astype(np.int64))
        counts = {
            "documents": n_docs,
            "gold_strings": len(g.doc),
            "pred_strings": len(p.doc) + len(unscorable),
            "gold_duplicates": int(r["gold_duplicates"]),
            "pred_duplicates": int(r["pred_duplicates"]),
        }
        match_desc = "strict string (label, surface) per document"

    exact = r["exact_docs"].astype(np.int64)
    if unscorable:
        # Predicted entities without a span are spurious in every mode.
        overall[:, _SPU] += len(unscorable)
        per_label[:, :, _SPU] += _count(unscorable_labels, len(names))[:, None]
        was_exact = _doc_exact(per_doc[:, 0, :])
        per_doc[:, :, _SPU] += _count(unscorable_docs, n_docs)[:, None]
        lost = was_exact & ~_doc_exact(per_doc[:, 0, :])
        if group is not None:
            per_group[:, :, _SPU] += _count(group[unscorable_docs], len(source_names))[:, None]
            exact -= _count(group[lost], len(source_names))
        else:
            exact[0] -= int(lost.sum())
    mode_scores = {
        m: _mode_score(m, overall[k], per_label[:, k, :], names) for k, m in enumerate(modes)
    }
    doc_rows = per_doc[:, modes.index(primary), :] if want_doc else None
    half = primary in _HALF_CREDIT
    by_source = {
        s: {m: _match_counts(m, per_group[i, k]) for k, m in enumerate(modes)}
        for i, s in enumerate(source_names)
    }
    n_exact = int(exact.sum())
    intervals = (
        _bootstrap_intervals(doc_rows, half, bootstrap, seed)
        if bootstrap > 0 and doc_rows is not None
        else {}
    )
    result = ScoreResult(
        level=level,
        modes=mode_scores,
        primary=primary,
        by_source=by_source,
        by_length=by_length,
        doc_exact_match={
            "rate": n_exact / n_docs if n_docs else 0.0,
            "exact": n_exact,
            "documents": n_docs,
        },
        errors=errors,
        intervals=intervals,
        definition=_definition(match_desc, duplicates, split, bootstrap, seed),
        counts=counts,
        problems=dict(sorted(problems.items())),
    )
    return result, doc_rows


def _definition(
    match: str, duplicates: str, split: str | None, bootstrap: int, seed: int
) -> dict[str, Any]:
    """How a :class:`ScoreResult` was computed (its ``definition``)."""
    return {
        "match": match,
        "averaging": (
            "micro (pooled counts); macro (mean of per-label P, R, F1 over labels with "
            "gold or predicted entities); weighted (by gold support)"
        ),
        "duplicates": (
            "set per document (exact repeats removed, first kept)"
            if duplicates == "set"
            else "multiset (every occurrence scored; repeats are spurious)"
        ),
        "per_label": "comparison restricted to the label on both sides",
        "zero_division": 0.0,
        "bootstrap": (
            f"{bootstrap} resamples of documents, seed {seed}, percentile 95%"
            if bootstrap
            else None
        ),
        "split": split,
    }


#: ReadReport kinds that describe model output rather than malformed input.
_CONTENT_KINDS = frozenset({"ungrounded", "parse_failure", "truncated"})


def _count(values: np.ndarray, n: int) -> np.ndarray:
    """Occurrences of each of ``0..n`` in ``values`` (int64 ``[n]``)."""
    return np.bincount(values, minlength=n).astype(np.int64)


def _hist2(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Counts of each ``(row, col)`` pair, as an ``[n, n]`` int64 array."""
    return _count(rows * n + cols, n * n).reshape(n, n)


def _doc_exact(rows: np.ndarray) -> np.ndarray:
    """Documents whose strict counts have no INC, PAR, MIS or SPU."""
    out: np.ndarray = rows[:, _INC] + rows[:, _PAR] + rows[:, _MIS] + rows[:, _SPU] == 0
    return out


def _taxonomy(
    g: _Columns,
    *,
    p: _Columns,
    r: dict[str, Any],
    names: list[str],
    report: ReadReport | None,
    problems: Counter[str],
    n_unscorable: int,
) -> ErrorTaxonomy:
    po, pair, go = r["pred_outcome"], r["pred_pair"], r["gold_outcome"]
    inc = np.flatnonzero(po == _INC)
    gi = pair[inc]
    ps, pe, gs, ge = p.start[inc], p.end[inc], g.start[gi], g.end[gi]
    same_label = p.label[inc] == g.label[gi]
    same_bounds = (ps == gs) & (pe == ge)
    b = same_label & ~same_bounds
    side = np.where(ps[b] != gs[b], np.where(pe[b] != ge[b], "both", "left"), "right")
    contains = (ps[b] <= gs[b]) & (pe[b] >= ge[b])
    inside = (ps[b] >= gs[b]) & (pe[b] <= ge[b])
    how = np.where(contains, "extend", np.where(inside, "shrink", "shift"))
    kinds, freq = np.unique(np.char.add(np.char.add(side, "-"), how), return_counts=True)
    boundary = {str(k): int(c) for k, c in zip(kinds.tolist(), freq.tolist(), strict=True)}
    n = len(names)
    conf = np.zeros((n + 1, n + 1), np.int64)
    cor = np.flatnonzero(po == _COR)
    conf += _hist2(g.label[pair[cor]], p.label[cor], n + 1)
    tc = inc[~same_label & same_bounds]
    conf += _hist2(g.label[pair[tc]], p.label[tc], n + 1)
    spu = np.flatnonzero(po == _SPU)
    conf[n] += _count(p.label[spu], n + 1)
    mis = np.flatnonzero(go == _MIS)
    conf[:, n] += _count(g.label[mis], n + 1)
    rc = report.counts if report else Counter()
    return ErrorTaxonomy(
        parse_failures=int(rc.get("parse_failure", 0)),
        truncated=int(rc.get("truncated", 0)),
        unknown_labels=int(problems.get("unknown_label", 0)),
        ungrounded=int(rc.get("ungrounded", 0)),
        spurious=len(spu) + n_unscorable,
        missed=len(mis),
        type_confusions=int((~same_label & same_bounds).sum()),
        boundary=boundary,
        type_and_boundary=int((~same_label & ~same_bounds).sum()),
        confusion_labels=[*names, "(none)"],
        confusion=conf.tolist(),
    )


def _bootstrap_intervals(
    doc_rows: np.ndarray, half: bool, n: int, seed: int
) -> dict[str, tuple[float, float]]:
    """Percentile 95% intervals of micro P, R, F1 over ``n`` resamples of documents."""
    rng = np.random.default_rng(seed)
    m = len(doc_rows)
    if m == 0:
        return {"precision": (0.0, 0.0), "recall": (0.0, 0.0), "f1": (0.0, 0.0)}
    sums = np.empty((n, doc_rows.shape[1]), np.float64)
    rows = doc_rows.astype(np.float64)
    for i in range(n):
        w = np.bincount(rng.integers(0, m, m), minlength=m)
        sums[i] = w @ rows
    p, r, f = _prf(sums, half)
    q = (2.5, 97.5)
    return {
        "precision": tuple(float(x) for x in np.percentile(p, q)),  # type: ignore[dict-item]
        "recall": tuple(float(x) for x in np.percentile(r, q)),  # type: ignore[dict-item]
        "f1": tuple(float(x) for x in np.percentile(f, q)),  # type: ignore[dict-item]
    }


@dataclass(frozen=True, slots=True)
class CompareResult:
    """A paired bootstrap comparison of two systems on the same gold documents.

    Attributes:
        a, b: Scores of the two prediction sets.
        delta: Micro F1 of B minus micro F1 of A (primary mode).
        interval: Percentile 95% interval of the resampled differences.
        p_value: Two-sided: twice the smaller share of resamples whose difference is ≤ 0 or
            ≥ 0, capped at 1 (paired bootstrap, Koehn 2004; Efron & Tibshirani 1993).
        resamples, seed: The resampling.
    """

    a: ScoreResult
    b: ScoreResult
    delta: float
    interval: tuple[float, float]
    p_value: float
    resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "delta_f1": self.delta,
            "interval": list(self.interval),
            "p_value": self.p_value,
            "resamples": self.resamples,
            "seed": self.seed,
        }

    def table(self) -> str:
        """A short readable summary."""
        return (
            f"A micro F1 {self.a.micro.f1:.4f}  B micro F1 {self.b.micro.f1:.4f}  "
            f"B − A {self.delta:+.4f}  95% interval [{self.interval[0]:+.4f}, "
            f"{self.interval[1]:+.4f}]  p = {self.p_value:.4f} "
            f"(paired bootstrap, {self.resamples} resamples of documents, seed {self.seed}; "
            f"{self.a.level} level, {self.a.primary} match)"
        )


def compare(
    gold: Sequence[Example],
    pred_a: Sequence[Example],
    pred_b: Sequence[Example],
    *,
    report_a: ReadReport | None = None,
    report_b: ReadReport | None = None,
    resamples: int = 1000,
    seed: int = 0,
    **options: Any,
) -> CompareResult:
    """Paired bootstrap comparison of two prediction sets against one gold set.

    Both systems are scored on the same resampled documents in each round. ``report_a`` and
    ``report_b`` are the readers' reports of the two prediction sets; ``options`` are passed
    to :func:`score` (``labels``, ``level``, ``duplicates``, ``primary``, ``lenient``, ...).

    Raises:
        ValueError: As :func:`score`; ``resamples`` < 1.
    """
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    a, rows_a = _score(gold, pred_a, **_defaults(options, report_a), want_rows=True)
    b, rows_b = _score(gold, pred_b, **_defaults(options, report_b), want_rows=True)
    assert rows_a is not None and rows_b is not None
    ra, rb = rows_a.astype(np.float64), rows_b.astype(np.float64)
    half = a.primary in ("partial", "type")
    rng = np.random.default_rng(seed)
    m = len(gold)
    diffs = np.empty(resamples)
    for i in range(resamples):
        w = np.bincount(rng.integers(0, m, m), minlength=m) if m else np.zeros(0)
        fa = _prf((w @ ra)[None, :], half)[2][0]
        fb = _prf((w @ rb)[None, :], half)[2][0]
        diffs[i] = fb - fa
    lo, hi = (float(x) for x in np.percentile(diffs, (2.5, 97.5)))
    p = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return CompareResult(a, b, b.micro.f1 - a.micro.f1, (lo, hi), p, resamples, seed)


def _defaults(options: dict[str, Any], report: ReadReport | None) -> dict[str, Any]:
    """:func:`score`'s keyword defaults updated with ``options`` (without bootstrap)."""
    allowed = {
        "labels": None,
        "level": "span",
        "duplicates": "set",
        "primary": "strict",
        "split": None,
        "lenient": False,
        "length_edges": LENGTH_EDGES,
    }
    unknown = set(options) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected options: {sorted(unknown)}")
    return {**allowed, **options, "report": report, "bootstrap": 0, "seed": 0}


def score_arrays(
    gold: Mapping[str, np.ndarray],
    pred: Mapping[str, np.ndarray],
    *,
    n_docs: int,
    labels: Sequence[str],
    duplicates: DuplicatePolicy = "set",
    primary: str = "strict",
    split: str | None = None,
) -> ScoreResult:
    """Span-level scoring straight from int64 columns (the zero-copy fast path).

    Args:
        gold: ``{"doc", "label", "start", "end"}``, each ``[n_spans]`` int64 (document index in
            ``0..n_docs``, label id into ``labels``, half-open code point offsets);
            contiguous arrays are read without copying.
        pred: The same for the predictions.
        n_docs: Number of documents.
        labels: Label names by id.
        duplicates, primary, split: As :func:`score`.

    Returns:
        A :class:`ScoreResult` with every mode, per-label scores, the document exact-match
        rate and the error taxonomy (no source or length breakdown).

    Raises:
        nerlm.ShapeError: Columns of unequal length, ids out of range.
        nerlm.OffsetError: An empty, reversed or negative span (the message names the side,
            span index and document).
    """
    if primary not in MODES:
        raise ValueError(f"primary must be one of {MODES}, not {primary!r}")

    def cols(c: Mapping[str, np.ndarray]) -> _Columns:
        a = [np.ascontiguousarray(c[k], dtype=np.int64) for k in ("doc", "label", "start", "end")]
        z = np.zeros(0, np.int64)
        return _Columns(a[0], a[1], a[2], a[3], z, z)

    g, p = cols(gold), cols(pred)
    names = list(labels)
    r = _native.score_spans(
        g.doc, g.label, g.start, g.end, p.doc, p.label, p.start, p.end, n_docs, len(names),
        duplicates=duplicates, outcomes=True,
    )  # fmt: skip
    overall, per_label = r["overall"].astype(np.int64), r["per_label"].astype(np.int64)
    n_exact = int(r["exact_docs"].sum())
    return ScoreResult(
        level="span",
        modes={
            m: _mode_score(m, overall[k], per_label[:, k, :], names) for k, m in enumerate(MODES)
        },
        primary=primary,
        by_source={},
        by_length={},
        doc_exact_match={
            "rate": n_exact / n_docs if n_docs else 0.0,
            "exact": n_exact,
            "documents": n_docs,
        },
        errors=_taxonomy(g, p=p, r=r, names=names, report=None, problems=Counter(), n_unscorable=0),
        intervals={},
        definition=_definition(
            f"{primary} span (label, start, end), half-open offsets; all four modes",
            duplicates,
            split,
            0,
            0,
        ),
        counts={
            "documents": n_docs,
            "gold_spans": len(g.doc),
            "pred_spans": len(p.doc),
            "gold_duplicates": int(r["gold_duplicates"]),
            "pred_duplicates": int(r["pred_duplicates"]),
        },
    )

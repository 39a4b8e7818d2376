"""Span scoring (Rust core, ``nerlm._native.score_spans_strict``).

Definition used here — *strict span match*: a predicted entity is a true positive when a gold
entity of the same document has the same label, start and end (CoNLL-2003 conlleval's exact
match; nervaluate's ``strict``). Spans are compared as sets per document: exact duplicates are
removed first and their number is reported. Micro P/R/F1 pool the counts of all labels; macro
averages the per-label P/R/F1 over the labels present in gold or prediction. A ratio with a zero
denominator is reported as 0.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nerlm import _native
from nerlm.data.model import Example
from nerlm.data.report import ReadReport


@dataclass(frozen=True, slots=True)
class PRF:
    """Precision, recall and F1 with the counts they come from."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @staticmethod
    def from_counts(tp: int, fp: int, fn: int) -> PRF:
        """P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN); 0.0 where undefined."""
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        return PRF(p, r, f, tp, fp, fn)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(slots=True)
class ScoreResult:
    """Scores with the definition they were computed under.

    Attributes:
        micro: Pooled over all labels.
        macro: Unweighted mean of per-label precision, recall and F1 (counts are the sums).
        per_label: Per label, sorted by name.
        definition: ``match``, ``averaging``, ``duplicates``, ``zero_division``, ``split``.
        counts: Documents, gold and predicted spans, duplicates removed.
        problems: Prediction problems counted instead of raised (unknown labels, spans that do
            not match the text, malformed spans, documents without prediction).
    """

    micro: PRF
    macro: PRF
    per_label: dict[str, PRF]
    definition: dict[str, Any]
    counts: dict[str, int]
    problems: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``nerlm score --json``."""
        return {
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "per_label": {k: v.to_dict() for k, v in self.per_label.items()},
            "definition": self.definition,
            "counts": self.counts,
            "problems": self.problems,
        }

    def table(self) -> str:
        """A readable per-label table with micro and macro rows and the definition."""
        w = max([len(k) for k in self.per_label] + [8])
        head = f"{'label':<{w}}  {'P':>7} {'R':>7} {'F1':>7} {'TP':>6} {'FP':>6} {'FN':>6}"
        lines = [head, "-" * len(head)]

        def row(name: str, m: PRF) -> str:
            return (
                f"{name:<{w}}  {m.precision:>7.4f} {m.recall:>7.4f} {m.f1:>7.4f} "
                f"{m.tp:>6} {m.fp:>6} {m.fn:>6}"
            )

        lines += [row(k, v) for k, v in self.per_label.items()]
        lines.append("-" * len(head))
        lines.append(row("micro", self.micro))
        lines.append(row("macro", self.macro))
        d = self.definition
        lines.append(
            f"match: {d['match']}; averaging: micro and macro over {len(self.per_label)} labels; "
            f"duplicates: {d['duplicates']}; split: {d['split'] or 'unknown'}"
        )
        if self.problems:
            lines.append(
                "prediction problems (counted, scored as false positives where they have a "
                "span): " + ", ".join(f"{k} {v}" for k, v in sorted(self.problems.items()))
            )
        return "\n".join(lines)


def _columns(
    docs: Sequence[Example], label_ids: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Document index, label id, start and end of every entity, as int64 columns."""
    counts = [len(d.entities) for d in docs]
    n = sum(counts)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    ents = [e for d in docs for e in d.entities]
    lab = np.fromiter((label_ids[e.label] for e in ents), np.int64, n)
    st = np.fromiter((e.start for e in ents), np.int64, n)
    en = np.fromiter((e.end for e in ents), np.int64, n)
    return doc, lab, st, en


def score(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] | None = None,
    split: str | None = None,
    report: ReadReport | None = None,
) -> ScoreResult:
    """Strict span scoring of ``pred`` against ``gold``.

    Documents are matched by ``id``; a gold document without a prediction counts as an empty
    prediction (``problems["missing_prediction"]``).

    Args:
        gold: Gold documents.
        pred: Predicted documents (same ids).
        labels: The label set; labels found only in ``pred`` are counted as
            ``unknown_label`` problems and still scored (as false positives).
        split: Recorded in the result's definition.
        report: Problems counted while reading the predictions; unscorable spans in it count
            as false positives of their label.

    Raises:
        ValueError: A predicted id is not among the gold ids, or ids repeat.
    """
    gold_ids = {g.id: i for i, g in enumerate(gold)}
    if len(gold_ids) != len(gold):
        raise ValueError("gold ids are not unique")
    by_id: dict[str, Example] = {}
    for p in pred:
        if p.id not in gold_ids:
            raise ValueError(f"prediction id {p.id!r} is not a gold id")
        if p.id in by_id:
            raise ValueError(f"prediction id {p.id!r} appears twice")
        by_id[p.id] = p
    problems: Counter[str] = Counter(report.counts if report else {})
    missing = len(gold) - len(by_id)
    if missing:
        problems["missing_prediction"] += missing
    empty = Example("", "")
    aligned = [by_id.get(g.id, empty) for g in gold]
    known = (
        list(labels) if labels is not None else sorted({e.label for g in gold for e in g.entities})
    )
    extra = sorted({e.label for p in aligned for e in p.entities} - set(known))
    if labels is not None and extra:
        problems["unknown_label"] = max(
            problems["unknown_label"],
            sum(1 for p in aligned for e in p.entities if e.label in extra),
        )
    unscorable = report.unscorable if report else []
    extra += sorted({lab for _, lab in unscorable} - set(known) - set(extra))
    names = known + extra
    ids = {name: i for i, name in enumerate(names)}
    gold_cols = _columns(gold, ids)
    pred_cols = _columns(aligned, ids)
    tp, fp, fn, gdup, pdup = _native.score_spans_strict(*gold_cols, *pred_cols, len(names))
    for _, lab in unscorable:
        fp[ids[lab]] += 1
    per = {name: PRF.from_counts(tp[i], fp[i], fn[i]) for i, name in enumerate(names)}
    micro = PRF.from_counts(sum(tp), sum(fp), sum(fn))
    n = len(per) or 1
    macro = PRF(
        sum(m.precision for m in per.values()) / n,
        sum(m.recall for m in per.values()) / n,
        sum(m.f1 for m in per.values()) / n,
        micro.tp,
        micro.fp,
        micro.fn,
    )
    return ScoreResult(
        micro=micro,
        macro=macro,
        per_label=dict(sorted(per.items())),
        definition={
            "match": "strict span (label, start, end), half-open code point offsets",
            "averaging": "micro (pooled counts); macro (mean of per-label P, R, F1)",
            "duplicates": "set per document (exact duplicate spans removed)",
            "zero_division": 0.0,
            "split": split,
        },
        counts={
            "documents": len(gold),
            "gold_spans": len(gold_cols[0]),
            "pred_spans": len(pred_cols[0]) + len(unscorable),
            "gold_duplicates": int(gdup),
            "pred_duplicates": int(pdup),
        },
        problems=dict(sorted(problems.items())),
    )

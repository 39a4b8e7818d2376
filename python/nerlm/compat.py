"""Compatibility modes: the numbers of the reference scorers, computed by nerlm's kernels.

Each function gives exactly what its reference gives on the same input, including the
reference's quirks, and says in ``notes`` where the reference would crash or is undefined and
which value nerlm returned instead:

* :func:`cluener` — CLUENER2020's official ``score.py``: per sentence and label, the *set of
  surface strings* of each side (positions ignored, repeated mentions collapse); per-label
  P/R/F1 from the pooled counts; the score is the unweighted mean F1 over the 10 CLUENER labels.
  The script divides by zero when a label has no predictions (or no gold, or P + R = 0).
* :func:`deepke` — DeepKE's ``ie2instruction/eval_func.py`` for NER: ``(entity, type)``
  tuples per record as a multiset (``match_mode="normal"``) or a set (``"set"``); P and R in
  percent rounded to 2 decimals, then F1 from the rounded values, rounded to 2 decimals; a
  record with no gold and no prediction adds nothing; an unparsable output counts as an error
  and contributes no predictions.
* :func:`nervaluate` — nervaluate 1.2.1's ``Evaluator(...).evaluate()`` on its own inputs
  (lists of dicts with inclusive ``end``, or lists of BIO tag lists): the four SemEval modes
  with nervaluate's pairing order, its 1% minimum overlap of the gold span, duplicates kept.

seqeval 1.2.2 and conlleval compatibility on tag sequences are :func:`nerlm.tags.seqeval_compat`
and :func:`nerlm.tags.conlleval_compat`; :func:`score_compat` runs them on canonical documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nerlm import _native
from nerlm.data.cluener import CLUENER_LABELS
from nerlm.data.model import Example
from nerlm.data.report import ReadReport
from nerlm.score import MatchCounts, align_predictions

__all__ = ["CompatResult", "cluener", "deepke", "nervaluate", "score_compat"]


@dataclass(frozen=True, slots=True)
class CompatResult:
    """The output of a reference scorer, reproduced.

    Attributes:
        scorer: Which reference (``"cluener"``, ``"deepke"``, ``"nervaluate"``, ...).
        values: The reference's headline numbers, under the reference's own names.
        per_label: Per label (or per source for DeepKE's ``sort_by``), the reference's numbers.
        notes: Where the reference would crash or is undefined, and what nerlm returned.
        definition: How the numbers were computed.
    """

    scorer: str
    values: dict[str, Any]
    per_label: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    definition: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "scorer": self.scorer,
            "values": self.values,
            "per_label": self.per_label,
            "notes": self.notes,
            "definition": self.definition,
        }

    def table(self) -> str:
        """A readable summary."""
        lines = [f"{self.scorer} compatibility: {self.definition.get('reference', '')}"]
        for k, v in self.values.items():
            if not isinstance(v, dict):
                lines.append(f"  {k}: {v}")
        for name, vals in self.per_label.items():
            shown = ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in vals.items()
                if not isinstance(v, dict)
            )
            lines.append(f"  {name}: {shown}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _string_counts(
    gold: Sequence[Example],
    pred: Sequence[Example],
    labels: Sequence[str],
    duplicates: str,
    *,
    extra_fp: Sequence[tuple[int, str]] = (),
    groups: np.ndarray | None = None,
    n_groups: int = 0,
) -> dict[str, Any]:
    """String-level TP/FP/FN per label (``[n_labels, 3]``) over ``labels`` (others ignored)."""
    ids = {name: i for i, name in enumerate(labels)}
    known = dict(ids)  # entity_columns adds the other labels to ``ids``
    keys: dict[str, int] = {}

    def cols(docs: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = _native.entity_columns(docs, ids, keys)
        keep = c["label"] < len(known)
        return c["doc"][keep], c["label"][keep], c["key"][keep]

    r = _native.score_strings(
        *cols(gold), *cols(pred), len(gold), len(labels), duplicates=duplicates,
        doc_group=groups, n_groups=n_groups,
    )  # fmt: skip
    tpfpfn = r["per_label"].astype(np.int64)
    per_group = r["per_group"].astype(np.int64)
    for doc, lab in extra_fp:
        if lab in known:
            tpfpfn[known[lab], 1] += 1
            if groups is not None:
                per_group[groups[doc], 1] += 1
    return {"per_label": tpfpfn, "per_group": per_group}


def cluener(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] = CLUENER_LABELS,
) -> CompatResult:
    """CLUENER2020's official scorer (``score.py``; Xu et al., 2020).

    Args:
        gold: Gold sentences (unique ids).
        pred: Predicted sentences, matched to gold by id (missing ones are empty).
        labels: The labels averaged over (the 10 CLUENER types by default).

    Returns:
        ``values["f1_macro"]`` (the official score), per-label ``precision``, ``recall``,
        ``f1`` and ``tp``, ``fp``, ``fn``. Where the script divides by zero (no predictions,
        no gold, or P + R = 0 for a label) the value is 0.0 and ``notes`` says so.

    Raises:
        ValueError: Ids repeat or a predicted id is not a gold id.
    """
    aligned, _missing, _ = align_predictions(gold, pred)
    c = _string_counts(gold, aligned, labels, "set")["per_label"]
    per: dict[str, dict[str, Any]] = {}
    notes = []
    total = 0.0
    for i, lab in enumerate(labels):
        tp, fp, fn = (int(x) for x in c[i])
        undefined = []
        if not tp + fp:
            undefined.append("P (no predictions)")
        if not tp + fn:
            undefined.append("R (no gold)")
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        if p + r == 0 and not undefined:
            undefined.append("F1 (P + R = 0)")
        f = 2 * p * r / (p + r) if p + r else 0.0
        if undefined:
            notes.append(
                f"label {lab!r}: the reference raises ZeroDivisionError computing "
                f"{', '.join(undefined)}; nerlm uses 0.0"
            )
        per[lab] = {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}
        total += f
    return CompatResult(
        scorer="cluener",
        values={"f1_macro": total / len(labels) if labels else 0.0},
        per_label=per,
        notes=notes,
        definition={
            "reference": "CLUENER2020 score.py (get_f1_score)",
            "match": "string (label, surface) per sentence; positions ignored",
            "duplicates": "set per sentence and label (repeated mentions collapse)",
            "averaging": f"macro: mean of per-label F1 over {len(labels)} labels",
        },
    )


def deepke(
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    match_mode: str = "normal",
    report: ReadReport | None = None,
    by_source: bool = True,
) -> CompatResult:
    """DeepKE's IEPile / InstructKGC NER scorer (``ie2instruction/eval_func.py``, NERMetric).

    Args:
        gold: Gold records (one per text; split_num chunks regrouped).
        pred: Predicted records, matched by id (missing ones are empty).
        match_mode: ``"normal"`` (multiset, the default) or ``"set"``.
        report: The prediction reader's report: ``parse_failure`` counts the outputs that
            did not parse (``错误数``); ungrounded entities still count as predictions.
        by_source: Also score per ``meta["source"]`` (the script's ``--sort_by source``).

    Returns:
        ``values`` with ``总样本数`` (records), ``错误数`` (unparsable outputs), ``P``, ``R``
        (percent, 2 decimals) and ``F1`` (from the rounded P and R, 2 decimals), and the
        counts; ``per_label`` holds the per-source results when requested.

    Raises:
        ValueError: ``match_mode`` unknown; ids repeat or do not match.
    """
    if match_mode not in ("normal", "set"):
        raise ValueError(f"match_mode must be 'normal' or 'set', not {match_mode!r}")
    aligned, _missing, pos_to_gold = align_predictions(gold, pred)
    labels = sorted(
        {e.label for x in gold for e in x.entities}
        | {e.label for x in aligned for e in x.entities}
        | {lab for _, lab in (report.unscorable if report else [])}
    )
    sources = [str(g.meta.get("source", "None")) for g in gold]
    names = sorted(set(sources))
    sid = {s: i for i, s in enumerate(names)}
    groups = np.array([sid[s] for s in sources], np.int64)
    c = _string_counts(
        gold,
        aligned,
        labels,
        "set" if match_mode == "set" else "multiset",
        extra_fp=[(pos_to_gold[d], lab) for d, lab in report.unscorable] if report else (),
        groups=groups,
        n_groups=len(names),
    )
    errors = int(report.counts.get("parse_failure", 0)) if report else 0

    def metric(tp: int, fp: int, fn: int, n: int, err: int) -> dict[str, Any]:
        pred_n, gold_n = tp + fp, tp + fn
        p = round(tp / pred_n * 100, 2) if pred_n else 0.0
        r = round(tp / gold_n * 100, 2) if gold_n else 0.0
        f = round(2 * p * r / (p + r), 2) if p + r else 0.0
        return {"总样本数": n, "错误数": err, "P": p, "R": r, "F1": f, "tp": tp,
                "pred": pred_n, "gold": gold_n}  # fmt: skip

    tp, fp, fn = (int(x) for x in c["per_label"].sum(0))
    per: dict[str, dict[str, Any]] = {}
    if by_source and len(names) > 1:
        err_by_source = np.zeros(len(names), np.int64)
        for d in report.failed_outputs if report else []:
            err_by_source[groups[pos_to_gold[d]]] += 1
        n_by = np.bincount(groups, minlength=len(names))
        for i, s in enumerate(names):
            gtp, gfp, gfn = (int(x) for x in c["per_group"][i])
            per[s] = metric(gtp, gfp, gfn, int(n_by[i]), int(err_by_source[i]))
    return CompatResult(
        scorer="deepke" if match_mode == "normal" else "deepke-set",
        values=metric(tp, fp, fn, len(gold), errors),
        per_label=per,
        notes=[],
        definition={
            "reference": "DeepKE example/llm/InstructKGC/ie2instruction/eval_func.py (NER)",
            "match": "string (entity, type) tuples per record",
            "duplicates": "multiset" if match_mode == "normal" else "set per record",
            "averaging": "micro; P and R in percent rounded to 2 decimals before F1",
        },
    )


# --------------------------------------------------------------------------------------------
# nervaluate 1.2.1


def _nervaluate_list_entities(doc: Sequence[str], where: str) -> list[tuple[str, int, int]]:
    """nervaluate's list (BIO) loader: ``(label, start, end_inclusive)`` of one document."""
    out: list[tuple[str, int, int]] = []
    label: str | None = None
    start = 0
    for i, tag in enumerate(doc):
        if not isinstance(tag, str):
            raise ValueError(f"{where}, token {i}: tag {tag!r} is not a string")
        if tag == "O":
            if label is not None:
                out.append((label, start, i - 1))
                label = None
            continue
        if label is not None and (label != tag[2:] or tag[:1] == "B"):
            out.append((label, start, i - 1))
            label = None
        if label is None:
            if not (tag.startswith(("B-", "I-"))):
                raise ValueError(f"{where}, token {i}: invalid tag {tag!r} (B- or I- expected)")
            label, start = tag[2:], i
    if label is not None:
        out.append((label, start, len(doc) - 1))
    return out


def _nervaluate_docs(data: Any, side: str) -> list[list[tuple[str, int, int]]]:
    if isinstance(data, str):
        docs = []
        if not data:
            return []
        for k, block in enumerate(data.rstrip().split("\n\n")):
            tags = []
            for line in block.split("\n"):
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) < 2:
                    raise ValueError(f"{side} document {k}: line {line!r} has no tab separator")
                tags.append(parts[1])
            docs.append(_nervaluate_list_entities(tags, f"{side} document {k}"))
        return docs
    if not isinstance(data, list):
        raise ValueError(f"{side}: expected a list of documents or a CoNLL string")
    out = []
    for k, doc in enumerate(data):
        if not isinstance(doc, list):
            raise ValueError(f"{side} document {k} is not a list")
        if doc and isinstance(doc[0], Mapping):
            ents = []
            for j, e in enumerate(doc):
                if not isinstance(e, Mapping) or not {"label", "start", "end"} <= set(e):
                    raise ValueError(f"{side} document {k}, entity {j}: label, start, end needed")
                if not isinstance(e["start"], int) or not isinstance(e["end"], int):
                    raise ValueError(f"{side} document {k}, entity {j}: integer offsets needed")
                ents.append((str(e["label"]), int(e["start"]), int(e["end"])))
            out.append(ents)
        else:
            out.append(_nervaluate_list_entities(doc, f"{side} document {k}"))
    return out


def nervaluate(
    true: Any,
    pred: Any,
    tags: Sequence[str],
    *,
    min_overlap_percentage: float = 1.0,
) -> dict[str, Any]:
    """nervaluate 1.2.1's ``Evaluator(true, pred, tags).evaluate()`` results.

    Args:
        true: Gold documents as nervaluate takes them: lists of ``{"label", "start", "end"}``
            dicts (``end`` inclusive), lists of BIO tag lists, or a CoNLL string.
        pred: Predictions in the same form.
        tags: Labels to evaluate; entities with other labels are ignored.
        min_overlap_percentage: Overlap needed, in percent of the gold span (1 to 100).

    Returns:
        ``{"overall": {mode: counts}, "entities": {tag: {mode: counts}}}`` with nervaluate's
        mode names (``strict``, ``ent_type``, ``partial``, ``exact``) and, per mode,
        ``correct, incorrect, partial, missed, spurious, possible, actual, precision, recall,
        f1``. ``entities`` holds the tags that occur in ``true`` or ``pred``.

    Raises:
        ValueError: Document counts differ (or, for tag lists, a document's lengths differ),
            as nervaluate raises; a malformed document (with its index).
    """
    if not 1.0 <= min_overlap_percentage <= 100.0:
        raise ValueError("min_overlap_percentage must be between 1.0 and 100.0")
    if isinstance(true, list) and isinstance(pred, list) and true and not isinstance(true[0], list):
        raise ValueError("Could not infer loader from input type")
    if (
        isinstance(true, list)
        and true
        and isinstance(true[0], list)
        and not (true[0] and isinstance(true[0][0], Mapping))
    ):
        if len(true) != len(pred):
            raise ValueError("Number of predicted documents does not equal true")
        for i, (t, p) in enumerate(zip(true, pred, strict=True)):
            if len(t) != len(p):
                raise ValueError(
                    f"Document {i} has different lengths: true={len(t)}, pred={len(p)}"
                )
    tdocs, pdocs = _nervaluate_docs(true, "true"), _nervaluate_docs(pred, "pred")
    if len(tdocs) != len(pdocs):
        raise ValueError("Number of predicted documents does not equal true")
    tag_ids = {t: i for i, t in enumerate(dict.fromkeys(tags))}

    def cols(docs: list[list[tuple[str, int, int]]]) -> tuple[np.ndarray, ...]:
        rows = [(k, tag_ids[lab], s, e) for k, d in enumerate(docs) for lab, s, e in d
                if lab in tag_ids]  # fmt: skip
        a = np.array(rows, np.int64).reshape(-1, 4)
        return tuple(np.ascontiguousarray(a[:, j]) for j in range(4))

    (gd, gl, gs, ge), (pd, pl, ps, pe) = cols(tdocs), cols(pdocs)
    r = _native.score_spans(
        gd, gl, gs, ge, pd, pl, ps, pe, len(tdocs), len(tag_ids), duplicates="multiset",
        ends_inclusive=True, min_overlap_percent=min_overlap_percentage, pairing="in-order",
    )  # fmt: skip
    order = (("strict", 0), ("ent_type", 3), ("partial", 2), ("exact", 1))

    def block(c: np.ndarray, mode: str) -> dict[str, Any]:
        m = MatchCounts.from_counts(
            *(int(x) for x in c), half_credit=mode in ("partial", "ent_type")
        )
        return {"correct": m.correct, "incorrect": m.incorrect, "partial": m.partial,
                "missed": m.missed, "spurious": m.spurious, "precision": m.precision,
                "recall": m.recall, "f1": m.f1, "actual": m.actual,
                "possible": m.possible}  # fmt: skip

    overall = {m: block(r["overall"][k], m) for m, k in order}
    entities = {
        t: {m: block(r["per_label"][i][k], m) for m, k in order}
        for t, i in tag_ids.items()
        if r["per_label"][i].sum() > 0
    }
    return {"overall": overall, "entities": entities}


def score_compat(
    scorer: str,
    gold: Sequence[Example],
    pred: Sequence[Example],
    *,
    labels: Sequence[str] | None = None,
    report: ReadReport | None = None,
) -> CompatResult:
    """Run a compatibility scorer on canonical documents (``nerlm score --compat``).

    ``nervaluate`` receives the spans as dicts with inclusive ends (``end - 1``), the
    documented way to pass half-open spans to it; ``seqeval``, ``seqeval-strict`` (IOB2) and
    ``conlleval`` receive IOB2 character tags written from the spans.

    Raises:
        ValueError: An unknown scorer name, and whatever the scorer raises.
    """
    if scorer == "cluener":
        return cluener(gold, pred, labels=labels if labels is not None else CLUENER_LABELS)
    if scorer in ("deepke", "deepke-set"):
        return deepke(gold, pred, match_mode="set" if scorer == "deepke-set" else "normal",
                      report=report)  # fmt: skip
    if scorer == "nervaluate":
        aligned, _, _ = align_predictions(gold, pred)
        tags = list(labels) if labels is not None else sorted(
            {e.label for g in gold for e in g.entities})  # fmt: skip

        def dicts(docs: Sequence[Example]) -> list[list[dict[str, Any]]]:
            return [[{"label": e.label, "start": e.start, "end": e.end - 1} for e in d.entities]
                    for d in docs]  # fmt: skip

        out = nervaluate(dicts(gold), dicts(aligned), tags)
        return CompatResult(
            scorer="nervaluate",
            values={m: v for m, v in out["overall"].items()},
            per_label={
                f"{t} ({m})": v for t, modes in out["entities"].items() for m, v in modes.items()
            },
            definition={
                "reference": "nervaluate 1.2.1 Evaluator.evaluate()",
                "match": "SemEval-2013 modes strict, ent_type, partial, exact; spans passed "
                "with inclusive ends (end - 1); min overlap 1% of the gold span",
                "duplicates": "kept (a repeated prediction is spurious)",
            },
        )
    if scorer in ("seqeval", "seqeval-strict", "conlleval"):
        return _tag_compat(scorer, gold, pred, labels)
    raise ValueError(f"unknown compatibility scorer {scorer!r}")


def _tag_compat(
    scorer: str, gold: Sequence[Example], pred: Sequence[Example], labels: Sequence[str] | None
) -> CompatResult:
    """seqeval or conlleval on IOB2 character tags written from the spans.

    Raises:
        nerlm.OffsetError: Overlapping spans in a document (a tag sequence cannot hold them).
    """
    from nerlm import tags as tagmod

    aligned, _, _ = align_predictions(gold, pred)
    keep = set(labels) if labels is not None else None

    def spans(docs: Sequence[Example]) -> list[list[tuple[str, int, int]]]:
        return [
            sorted({(e.label, e.start, e.end) for e in d.entities
                    if keep is None or e.label in keep}, key=lambda x: (x[1], x[2]))
            for d in docs
        ]  # fmt: skip

    lengths = [len(g.text) for g in gold]
    y_true = tagmod.tags_from_spans(spans(gold), lengths, scheme="IOB2")
    y_pred = tagmod.tags_from_spans(spans(aligned), lengths, scheme="IOB2")
    definition = {
        "input": "spans written as IOB2 tags, one per character (exact duplicates removed)",
    }
    if scorer == "conlleval":
        c = tagmod.conlleval_compat(y_true, y_pred)
        definition["reference"] = "CoNLL conlleval.pl (2004-01-26)"
        return CompatResult(
            scorer="conlleval",
            values={
                "accuracy": c.accuracy,
                "precision": c.precision,
                "recall": c.recall,
                "FB1": c.fb1,
                "found_correct": c.found_correct,
                "found_guessed": c.found_guessed,
                "correct": c.correct,
            },
            per_label={k: v.to_dict() for k, v in c.per_type.items()},
            notes=list(c.notes),
            definition=definition,
        )
    strict = scorer == "seqeval-strict"
    r = tagmod.seqeval_compat(y_true, y_pred, mode="strict" if strict else None,
                              scheme="IOB2" if strict else None)  # fmt: skip
    definition["reference"] = "seqeval 1.2.2 " + ("strict IOB2" if strict else "default mode")
    return CompatResult(
        scorer=scorer,
        values={
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "accuracy": r.accuracy,
            "macro": r.macro.to_dict(),
            "weighted": r.weighted.to_dict(),
        },
        per_label={k: v.to_dict() for k, v in r.per_type.items()},
        notes=list(r.notes),
        definition={**definition, **r.definition},
    )

"""Tag sequences ⇄ spans, and seqeval / conlleval compatible scoring (Rust core).

Tags are ``O`` or a letter and a type joined by ``-`` (``B-PER``; ``PER-B`` with
``suffix=True``), the letters being ``B``, ``I``, ``E``, ``S``, ``M``, ``L`` and ``U``. Types may
contain ``-`` and ``.`` (``B-PER.NAM``). Any other tag (``X-PER``, ``BPER``, ``O-PER``) raises
:class:`~nerlm._native.TagError` naming it. Spans are ``(type, start, end)`` with half-open token
offsets within their sentence.

Chunkings:

* ``scheme=None``: seqeval 1.2.2's default chunking (``get_entities``): conlleval's
  ``startOfChunk``/``endOfChunk`` rules extended with ``S``. It accepts any mix of letters:
  ``I-X I-X`` is one chunk, a type change starts a new chunk; ``M``, ``L`` and ``U`` only
  act through type changes (as in seqeval). The tag ``.`` is accepted here (conlleval's
  rules treat it like ``O`` at type changes).
* ``scheme="IOB2"`` etc.: strict decoding (seqeval's ``mode="strict"``, i.e.
  ``seqeval.scheme.Entities``): every tag must use the scheme's letters, and a chunk is read
  only where its tags follow the scheme, so invalid sequences (``O I-X``, ``B-X I-Y``'s
  ``I-Y``) give no entity. BMES is IOBES with ``M`` for ``I``. For IOE1, seqeval 1.2.2 (whose
  source marks IOE1 as unfinished) misses a one-token chunk ``E-X`` that starts a run of ``X``
  chunks (``E-X I-X`` is two chunks); :func:`spans_from_tags` reads it unless
  ``seqeval_exact=True``, :func:`seqeval_compat` reproduces seqeval.

conlleval (CoNLL-2000 ``conlleval.pl``, version 2004-01-26) reads lines ``token ... gold guess``
with an empty line after each sentence (a line whose first field is ``-X-`` is a sentence break
too). Its tags are split at the first ``-`` into a chunk tag and a type (no ``-``: no type; the
type ``0`` reads as no type, Perl truthiness). It never builds spans: it walks gold and guessed
tags side by side with ``startOfChunk``/``endOfChunk`` (``B``/``I``/``E``/``O``/``.`` and the
bracket tags ``[``/``]``, which nerlm does not accept), counts a gold or guessed phrase at every
chunk start, and counts a correct phrase when both start at the same token with the same type,
keep the same type at every token, and end at the same token. Token accuracy counts tokens whose
(tag, type) pairs are equal. Precision, recall and FB1 are percentages ``100*correct/found``
(0.0 when ``found`` is 0) and ``FB1 = 2*P*R/(P+R)``, printed with ``%6.2f``.

Where conlleval and seqeval's default differ (both claim the same rules): conlleval has no
``S`` (``S-X S-X`` is one phrase for conlleval, two chunks for seqeval), starts a chunk at
``B`` only after ``B``, ``I`` or ``O`` and ends one after ``E`` only before ``E``, ``I`` or
``O`` (``B-X E-X B-X E-X``: one phrase for conlleval, two for seqeval); it counts chunk starts
where seqeval counts closed chunks, and matches chunks on the fly where seqeval intersects sets
of spans; its types split at the first ``-`` where seqeval's are everything after the letter
and separator (the two agree on the tags nerlm accepts). On IOB1, IOB2, IOE1 and IOE2 tags
(letters ``B``, ``I``, ``E``, ``O``) they agree; on IOBES, BILOU and BMES they do not.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from nerlm import _native

__all__ = [
    "SCHEMES",
    "SEQEVAL_SCHEMES",
    "ConllevalResult",
    "ConllevalTypeScores",
    "SeqevalResult",
    "SeqevalScores",
    "SpanArrays",
    "conlleval_compat",
    "seqeval_compat",
    "spans_from_tag_ids",
    "spans_from_tags",
    "tag_ids_from_spans",
    "tags_from_spans",
]

Scheme = Literal["IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU", "BMES"]
SCHEMES: tuple[str, ...] = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU", "BMES")
SEQEVAL_SCHEMES: tuple[str, ...] = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")

Span = tuple[str, int, int]
IntArray = npt.NDArray[np.int64]


def _scheme(scheme: str | None, allowed: Sequence[str] = SCHEMES) -> str | None:
    if scheme is None:
        return None
    name = {"BIO": "IOB2", "BIOES": "IOBES"}.get(scheme.upper(), scheme.upper())
    if name not in allowed:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(allowed)}")
    return name


def _encode(
    sequences: Sequence[Sequence[str]], vocabulary: list[str]
) -> tuple[npt.NDArray[np.int32], IntArray]:
    ids, offsets = _native.encode_tag_strings(sequences, vocabulary)
    return ids, offsets


# ---------------------------------------------------------------------------------------------
# tags <-> spans


@dataclass(frozen=True)
class SpanArrays:
    """Spans as columns (the fast path of :func:`spans_from_tag_ids`).

    Attributes:
        type_names: Type names by type id.
        sentence: Sentence index per span, shape ``[n]``, int64, non-decreasing.
        type_id: Type id per span, shape ``[n]``.
        start: First token per span, shape ``[n]``.
        end: One past the last token per span, shape ``[n]`` (half-open offsets).
    """

    type_names: tuple[str, ...]
    sentence: IntArray
    type_id: IntArray
    start: IntArray
    end: IntArray

    def __len__(self) -> int:
        return len(self.sentence)

    def to_lists(self, n_sentences: int) -> list[list[Span]]:
        """Per sentence, its spans as ``(type, start, end)`` in decoding order."""
        names = self.type_names
        bounds = np.searchsorted(self.sentence, np.arange(n_sentences + 1), side="left")
        rows = list(
            zip(
                [names[t] for t in self.type_id.tolist()],
                self.start.tolist(),
                self.end.tolist(),
                strict=True,
            )
        )
        return [rows[a:b] for a, b in pairwise(bounds.tolist())]


def spans_from_tag_ids(
    ids: npt.ArrayLike,
    offsets: npt.ArrayLike,
    vocabulary: Sequence[str],
    *,
    scheme: Scheme | str | None = None,
    suffix: bool = False,
    seqeval_exact: bool = False,
) -> SpanArrays:
    """Decode tag ids (a flat array with sentence offsets) into span columns.

    Args:
        ids: Tag ids into ``vocabulary``, shape ``[n_tokens]`` (converted to int32).
        offsets: Sentence boundaries, shape ``[n_sentences + 1]``: ``offsets[0] == 0``,
            non-decreasing, ``offsets[-1] == n_tokens``.
        vocabulary: Tag strings by id.
        scheme: None for seqeval's default (lenient) chunking, else a scheme for strict
            decoding (see the module docstring).
        suffix: Tags are written ``TYPE-B``.
        seqeval_exact: Reproduce seqeval's IOE1 strict decoding, misses included.

    Returns:
        The spans, sorted by sentence.

    Raises:
        TagError: An unknown tag, a tag outside ``scheme``, or (default chunking) a chunk that
            seqeval would close across a sentence break.
        ShapeError: Bad offsets or ids outside the vocabulary.
        ValueError: Unknown scheme name.
    """
    name = _scheme(scheme)
    names, sent, typ, st, en = _native.tags_to_spans(
        np.ascontiguousarray(ids, dtype=np.int32),
        np.ascontiguousarray(offsets, dtype=np.int64),
        list(vocabulary),
        name,
        suffix=suffix,
        seqeval_exact=seqeval_exact,
    )
    return SpanArrays(tuple(names), sent, typ, st, en)


def spans_from_tags(
    sequences: Sequence[Sequence[str]],
    *,
    scheme: Scheme | str | None = None,
    suffix: bool = False,
    seqeval_exact: bool = False,
) -> list[list[Span]]:
    """Decode tag sequences into spans, per sentence.

    Args:
        sequences: One list of tag strings per sentence.
        scheme: None for seqeval's default (lenient) chunking, else ``"IOB1"``, ``"IOB2"``
            (``"BIO"``), ``"IOE1"``, ``"IOE2"``, ``"IOBES"`` (``"BIOES"``), ``"BILOU"`` or
            ``"BMES"`` for strict decoding.
        suffix: Tags are written ``TYPE-B``.
        seqeval_exact: Reproduce seqeval's IOE1 strict decoding, misses included.

    Returns:
        Per sentence, ``(type, start, end)`` with half-open token offsets, in the order the
        chunks close (start order for strict decoding).

    Raises:
        TagError: An unknown tag, a tag outside ``scheme``, or (default chunking) a chunk that
            seqeval would close across a sentence break.
        TypeError: A sentence is a string, or a tag is not a string.
        ValueError: Unknown scheme name.

    Example:
        >>> spans_from_tags([["B-PER", "I-PER", "O", "B-LOC"]])
        [[('PER', 0, 2), ('LOC', 3, 4)]]
        >>> spans_from_tags([["O", "I-PER", "I-PER"]], scheme="IOB2")
        [[]]
    """
    vocab: list[str] = []
    ids, offsets = _encode(sequences, vocab)
    cols = spans_from_tag_ids(
        ids, offsets, vocab, scheme=scheme, suffix=suffix, seqeval_exact=seqeval_exact
    )
    return cols.to_lists(len(offsets) - 1)


def tag_ids_from_spans(
    spans: SpanArrays,
    offsets: npt.ArrayLike,
    *,
    scheme: Scheme | str = "IOB2",
    suffix: bool = False,
) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Write span columns as tag ids of a scheme.

    Args:
        spans: Span columns (in any order); ``spans.type_names`` name the types.
        offsets: Sentence boundaries, shape ``[n_sentences + 1]`` (``offsets[0] == 0``,
            non-decreasing); sentence ``s`` has ``offsets[s + 1] - offsets[s]`` tokens.
        scheme: The scheme to write.
        suffix: Write ``TYPE-B`` instead of ``B-TYPE``.

    Returns:
        ``(ids, vocabulary)``: tag ids, shape ``[offsets[-1]]``, into ``vocabulary``, whose id
        0 is ``O``.

    Raises:
        OffsetError: An empty or reversed span, one past its sentence, or overlapping spans
            (the message names the sentence and both spans).
        ShapeError: Bad offsets, a sentence index or type id out of range.
        TagError: A type name that cannot be written in a tag (empty, or starting or ending
            with ``-``), or repeated type names.
    """
    name = _scheme(scheme)
    assert name is not None
    ids, vocab = _native.spans_to_tags(
        np.ascontiguousarray(spans.sentence, dtype=np.int64),
        np.ascontiguousarray(spans.type_id, dtype=np.int64),
        np.ascontiguousarray(spans.start, dtype=np.int64),
        np.ascontiguousarray(spans.end, dtype=np.int64),
        np.ascontiguousarray(offsets, dtype=np.int64),
        list(spans.type_names),
        name,
        suffix=suffix,
    )
    return ids, vocab


def tags_from_spans(
    spans: Sequence[Sequence[Span]],
    lengths: Sequence[int],
    *,
    scheme: Scheme | str = "IOB2",
    suffix: bool = False,
) -> list[list[str]]:
    """Write spans as tag sequences of a scheme.

    Args:
        spans: Per sentence, ``(type, start, end)`` spans with half-open token offsets.
        lengths: Number of tokens per sentence.
        scheme: ``"IOB1"``, ``"IOB2"``, ``"IOE1"``, ``"IOE2"``, ``"IOBES"``, ``"BILOU"`` or
            ``"BMES"``.
        suffix: Write ``TYPE-B`` instead of ``B-TYPE``.

    Returns:
        One list of tag strings per sentence.

    Raises:
        ValueError: ``spans`` and ``lengths`` differ in length, or unknown scheme.
        OffsetError: An empty or reversed span, one past its sentence, or overlapping spans.
        TagError: A type that cannot be written in a tag.

    Example:
        >>> tags_from_spans([[("PER", 0, 2), ("LOC", 3, 4)]], [5], scheme="IOBES")
        [['B-PER', 'E-PER', 'O', 'S-LOC', 'O']]
    """
    if len(spans) != len(lengths):
        raise ValueError(f"{len(spans)} span lists for {len(lengths)} sentence lengths")
    names = sorted({t for sent in spans for t, _, _ in sent})
    index = {t: i for i, t in enumerate(names)}
    counts = [len(s) for s in spans]
    n = sum(counts)
    flat = [sp for sent in spans for sp in sent]
    cols = SpanArrays(
        tuple(names),
        np.repeat(np.arange(len(spans), dtype=np.int64), counts),
        np.fromiter((index[t] for t, _, _ in flat), np.int64, n),
        np.fromiter((a for _, a, _ in flat), np.int64, n),
        np.fromiter((b for _, _, b in flat), np.int64, n),
    )
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
    ids, vocab = tag_ids_from_spans(cols, offsets, scheme=scheme, suffix=suffix)
    strings = np.asarray(vocab, dtype=object)[ids].tolist()
    bounds = offsets.tolist()
    return [strings[a:b] for a, b in pairwise(bounds)]


# ---------------------------------------------------------------------------------------------
# seqeval


def _check_lengths(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} sentences but y_pred has {len(y_pred)} "
            "(seqeval raises ValueError too)"
        )
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(t) != len(p):
            raise ValueError(
                f"sentence {i}: y_true has {len(t)} tags but y_pred has {len(p)} "
                "(seqeval raises ValueError too)"
            )


@dataclass(frozen=True, slots=True)
class SeqevalScores:
    """One row of seqeval's ``classification_report``.

    Attributes:
        precision: Precision.
        recall: Recall.
        f1: F1 (``f1-score`` in seqeval's report).
        support: Number of gold chunks.
    """

    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, Any]:
        """seqeval's form: ``precision``, ``recall``, ``f1-score``, ``support``."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1-score": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class SeqevalResult:
    """seqeval 1.2.2's numbers for one call (see :func:`seqeval_compat`).

    Attributes:
        per_type: ``classification_report`` rows per type, sorted by type name.
        micro: The ``micro avg`` row.
        macro: The ``macro avg`` row (NaN when no type has a chunk, as in seqeval).
        weighted: The ``weighted avg`` row.
        precision: ``precision_score(..., average=average)``.
        recall: ``recall_score(..., average=average)``.
        f1: ``f1_score(..., average=average)``.
        accuracy: ``accuracy_score`` (NaN where seqeval divides by zero: no token).
        average: The averaging of ``precision``, ``recall`` and ``f1``.
        counts: Per type ``tp``, ``pred`` and ``true`` chunk counts of the report.
        notes: Undefined values and the value returned for them, and seqeval quirks that
            applied (warnings seqeval would emit).
        definition: Chunking, match level, averaging and duplicate policy.
    """

    per_type: dict[str, SeqevalScores]
    micro: SeqevalScores
    macro: SeqevalScores
    weighted: SeqevalScores
    precision: float
    recall: float
    f1: float
    accuracy: float
    average: str
    counts: dict[str, dict[str, int]]
    notes: tuple[str, ...]
    definition: dict[str, Any] = field(default_factory=dict)

    def classification_report(self) -> dict[str, dict[str, Any]]:
        """What ``classification_report(..., output_dict=True)`` returns."""
        out = {name: s.to_dict() for name, s in self.per_type.items()}
        out["micro avg"] = self.micro.to_dict()
        out["macro avg"] = self.macro.to_dict()
        out["weighted avg"] = self.weighted.to_dict()
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the report, the scalar scores, counts, notes and definition."""
        return {
            "report": self.classification_report(),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
            "average": self.average,
            "counts": self.counts,
            "notes": list(self.notes),
            "definition": self.definition,
        }


@dataclass
class _Counts:
    names: list[str]
    tp: IntArray
    pred: IntArray
    true: IntArray
    correct_tokens: int
    tokens: int


def _seqeval_counts(
    true: tuple[npt.NDArray[np.int32], IntArray],
    pred: tuple[npt.NDArray[np.int32], IntArray],
    vocab: list[str],
    scheme: str | None,
    suffix: bool,
) -> _Counts:
    names, tp, npred, ntrue, correct, tokens = _native.seqeval_counts(
        true[0], true[1], pred[0], pred[1], vocab, scheme, suffix=suffix
    )
    # seqeval's target names: the types of the chunks found, sorted (str order).
    keep = sorted((i for i in range(len(names)) if npred[i] + ntrue[i] > 0), key=names.__getitem__)
    idx = np.asarray(keep, dtype=np.int64)
    return _Counts(
        [names[i] for i in keep], tp[idx], npred[idx], ntrue[idx], int(correct), int(tokens)
    )


_ZeroDivision = Literal["warn", 0, 1]


def _divide(
    num: IntArray,
    den: IntArray,
    zero_division: _ZeroDivision,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    # seqeval's _prf_divide: ratio with zero denominators replaced by 1, then set to 0 or 1.
    mask = den == 0
    d = den.copy()
    d[mask] = 1
    out = num / d
    out[mask] = 0.0 if zero_division in ("warn", 0) else 1.0
    return out, mask


def _prfs(
    c: _Counts,
    average: str | None,
    zero_division: _ZeroDivision,
    where: str,
    notes: list[str],
) -> tuple[Any, Any, Any, Any]:
    """seqeval's ``_precision_recall_fscore_support`` over the counts (beta = 1)."""
    tp, pred, true = c.tp, c.pred, c.true
    if average == "micro":
        tp, pred, true = np.array([tp.sum()]), np.array([pred.sum()]), np.array([true.sum()])
    zdv = 0.0 if zero_division in ("warn", 0) else 1.0
    warn = " (seqeval warns: UndefinedMetricWarning)" if zero_division == "warn" else ""
    precision, pmask = _divide(tp, pred, zero_division)
    recall, rmask = _divide(tp, true, zero_division)
    if average in (None, "macro", "weighted"):
        if pmask.any():
            types = [c.names[i] for i in np.flatnonzero(pmask).tolist()]
            notes.append(
                f"{where}: precision (and F1) of {types} is undefined (no predicted chunk); "
                f"{zdv} is used{warn}"
            )
        if rmask.any():
            types = [c.names[i] for i in np.flatnonzero(rmask).tolist()]
            notes.append(
                f"{where}: recall (and F1) of {types} is undefined (no gold chunk); "
                f"{zdv} is used{warn}"
            )
    else:
        if pmask.any():
            notes.append(
                f"{where}: precision is undefined (no predicted chunk); {zdv} is used{warn}"
            )
        if rmask.any():
            notes.append(f"{where}: recall is undefined (no gold chunk); {zdv} is used{warn}")
    denom = 1 * precision + recall
    denom[denom == 0.0] = 1
    f_score = (1 + 1) * precision * recall / denom
    if average == "weighted":
        if true.sum() == 0:
            v = zdv if pred.sum() == 0 else 0.0
            notes.append(
                f"{where}: no gold chunk at all, so the weights sum to 0: seqeval returns "
                f"precision {v}, recall {zdv}, F1 {v}{warn}"
            )
            return v, zdv, v, int(true.sum())
        weights: IntArray | None = true
    else:
        weights = None
    if average is None:
        return precision, recall, f_score, true
    if len(precision) == 0:
        notes.append(
            f"{where}: no type has a chunk: the {average} average of nothing is NaN "
            "(numpy warns: Mean of empty slice)"
        )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        p = np.average(precision, weights=weights)
        r = np.average(recall, weights=weights)
        f = np.average(f_score, weights=weights)
    return float(p), float(r), float(f), int(true.sum())


def _auto_detect(true_ids: npt.NDArray[np.int32], vocab: list[str], suffix: bool) -> str:
    """seqeval.scheme.auto_detect over the tags of y_true."""
    prefixes: set[str] = set()
    for i in np.unique(true_ids).tolist():
        tag = vocab[i]
        letter = tag[-1:] if suffix else tag[:1]
        if len(letter) != 1 or letter not in "IOBESUL":
            raise ValueError(f"This scheme is not supported: {tag} (seqeval's auto_detect)")
        prefixes.add(letter)
    p = frozenset(prefixes)
    iob2 = [set("IOB"), set("IB"), set("BO"), set("B")]
    ioe2 = [set("IOE"), set("IE"), set("EO"), set("E")]
    iobes = [set(s) for s in ("IOBES", "IBES", "IOBE", "OBES", "IBE", "BES", "OBE", "BE", "S")]
    bilou = [set(s) for s in ("IOBLU", "IBLU", "IOBL", "OBLU", "IBL", "BLU", "OBL", "BL", "U")]
    for name, sets in (("IOB2", iob2), ("IOE2", ioe2), ("IOBES", iobes), ("BILOU", bilou)):
        if p in sets:
            return name
    raise ValueError(
        f"This scheme is not supported: {sorted(p)} (seqeval's auto_detect finds no scheme for "
        "these prefixes of y_true; pass scheme=)"
    )


def seqeval_compat(
    y_true: Sequence[Sequence[str]],
    y_pred: Sequence[Sequence[str]],
    *,
    mode: Literal["strict"] | None = None,
    scheme: Scheme | str | None = None,
    suffix: bool = False,
    average: Literal["micro", "macro", "weighted"] = "micro",
    zero_division: _ZeroDivision = "warn",
) -> SeqevalResult:
    """seqeval 1.2.2's scores, exactly, computed by the Rust core.

    Reproduces ``classification_report(y_true, y_pred, mode=mode, scheme=scheme,
    suffix=suffix, zero_division=zero_division, output_dict=True)``, the
    ``precision_score``/``recall_score``/``f1_score`` with the same arguments and ``average``,
    and ``accuracy_score``, including seqeval's quirks:

    * ``mode="strict"`` without ``scheme``: the report auto-detects the scheme from
      ``y_true`` (IOB2, IOE2, IOBES or BILOU) while the three scalar scores ignore ``mode``
      and use the default chunking;
    * a ``scheme`` without ``mode="strict"`` is ignored;
    * chunks are compared as sets per sentence (a repeated chunk counts once);
    * division by zero gives 0.0 (``zero_division="warn"`` or 0) or 1.0, and the macro average
      over no type is NaN; each case is listed in ``notes``.

    Where seqeval raises instead of returning numbers, nerlm returns them and says so in
    ``notes``: no sentence at all, or sentences that are not lists (seqeval: TypeError), no
    token (``accuracy_score``: ZeroDivisionError; NaN here).

    Args:
        y_true: Gold tags, one list per sentence.
        y_pred: Predicted tags, same shape.
        mode: None (default chunking) or ``"strict"``.
        scheme: With ``mode="strict"``: ``"IOB1"``, ``"IOB2"``, ``"IOE1"``, ``"IOE2"``,
            ``"IOBES"`` or ``"BILOU"`` (seqeval's scheme classes by name).
        suffix: Tags are written ``TYPE-B``.
        average: Averaging of the scalar scores: ``"micro"``, ``"macro"`` or ``"weighted"``.
        zero_division: ``"warn"``, 0 or 1, as in seqeval.

    Returns:
        The report rows, scalar scores, counts, notes and definition.

    Raises:
        ValueError: Different numbers of sentences, or a sentence whose gold and predicted
            lengths differ (naming its index and both lengths); bad ``mode``, ``average``,
            ``zero_division`` or scheme; no scheme detected for ``mode="strict"``.
        TagError: An unknown tag, or (strict) a tag outside the scheme.
    """
    if mode not in (None, "strict"):
        raise ValueError(f"mode must be None or 'strict', not {mode!r}")
    if average not in ("micro", "macro", "weighted"):
        raise ValueError(f"average must be 'micro', 'macro' or 'weighted', not {average!r}")
    if zero_division not in ("warn", 0, 1) or isinstance(zero_division, bool):
        raise ValueError(f"zero_division must be 'warn', 0 or 1, not {zero_division!r}")
    name = _scheme(scheme, SEQEVAL_SCHEMES)
    _check_lengths(y_true, y_pred)
    vocab: list[str] = []
    true = _encode(y_true, vocab)
    pred = _encode(y_pred, vocab)
    notes: list[str] = []
    if not y_true or not all(isinstance(x, list) for x in (*y_true, *y_pred)):
        notes.append(
            "seqeval raises TypeError here (it needs a non-empty list of lists); nerlm scores "
            "the input as given"
        )
    if mode == "strict":
        detected = name is None
        report_scheme = _auto_detect(true[0], vocab, suffix) if detected else name
        if detected:
            notes.append(
                f"mode='strict' without scheme: the report uses the scheme auto-detected from "
                f"y_true ({report_scheme}); precision/recall/f1 use seqeval's default chunking, "
                "as seqeval's *_score functions do"
            )
        scalar_scheme = None if detected else report_scheme
    else:
        report_scheme = scalar_scheme = None
        if name is not None:
            notes.append(f"scheme={name} without mode='strict' is ignored, as seqeval does")
    c = _seqeval_counts(true, pred, vocab, report_scheme, suffix)
    cs = c if scalar_scheme == report_scheme else _seqeval_counts(true, pred, vocab, None, suffix)
    p, r, f, s = _prfs(c, None, zero_division, "report", notes)
    per_type = {
        n: SeqevalScores(float(p[i]), float(r[i]), float(f[i]), int(s[i]))
        for i, n in enumerate(c.names)
    }
    rows = {
        avg: SeqevalScores(*_prfs(c, avg, zero_division, f"report {avg} avg", notes))
        for avg in ("micro", "macro", "weighted")
    }
    scalar_notes: list[str] = []
    sp, sr, sf, _ = _prfs(cs, average, zero_division, f"{average} scores", scalar_notes)
    notes.extend(n for n in scalar_notes if n not in notes)
    if c.tokens:
        accuracy = c.correct_tokens / c.tokens
    else:
        accuracy = math.nan
        notes.append("accuracy: no token (seqeval raises ZeroDivisionError); NaN is returned")
    chunking = (
        "seqeval default (get_entities: conlleval start/end rules with S)"
        if report_scheme is None
        else f"seqeval strict, scheme {report_scheme}"
        + (" (auto-detected from y_true)" if mode == "strict" and name is None else "")
    )
    definition: dict[str, Any] = {
        "reference": "seqeval 1.2.2",
        "chunking": chunking,
        "scalar_chunking": (
            chunking if scalar_scheme == report_scheme else "seqeval default (get_entities)"
        ),
        "suffix": suffix,
        "match": "exact chunk: same sentence, type, start and end",
        "averaging": (
            f"scalar scores: {average}; report: micro (pooled counts), macro (unweighted mean "
            "over the types with a gold or predicted chunk), weighted (mean weighted by gold "
            "support)"
        ),
        "duplicates": "chunks compared as sets per sentence (a repeated chunk counts once)",
        "zero_division": zero_division,
    }
    return SeqevalResult(
        per_type=per_type,
        micro=rows["micro"],
        macro=rows["macro"],
        weighted=rows["weighted"],
        precision=float(sp),
        recall=float(sr),
        f1=float(sf),
        accuracy=accuracy,
        average=average,
        counts={
            n: {"tp": int(c.tp[i]), "pred": int(c.pred[i]), "true": int(c.true[i])}
            for i, n in enumerate(c.names)
        },
        notes=tuple(dict.fromkeys(notes)),
        definition=definition,
    )


# ---------------------------------------------------------------------------------------------
# conlleval


@dataclass(frozen=True, slots=True)
class ConllevalTypeScores:
    """One type's line of conlleval's report.

    Attributes:
        precision: ``100 * correct / found_guessed`` (0.0 when nothing was guessed).
        recall: ``100 * correct / found_correct`` (0.0 when there is no gold phrase).
        fb1: ``2 * P * R / (P + R)`` (0.0 when both are 0).
        correct: Correctly identified phrases.
        found_guessed: Guessed phrases (the number at the end of conlleval's line).
        found_correct: Gold phrases.
    """

    precision: float
    recall: float
    fb1: float
    correct: int
    found_guessed: int
    found_correct: int

    def to_dict(self) -> dict[str, Any]:
        """All fields by name."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "fb1": self.fb1,
            "correct": self.correct,
            "found_guessed": self.found_guessed,
            "found_correct": self.found_correct,
        }


def _pct(num: int, den: int) -> float:
    return 100 * num / den if den > 0 else 0.0


def _fb1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass(frozen=True)
class ConllevalResult:
    """conlleval.pl's counts and scores (percentages), see :func:`conlleval_compat`.

    Attributes:
        tokens: Tokens processed (sentence breaks excluded).
        found_correct: Gold phrases.
        found_guessed: Guessed phrases.
        correct: Correctly identified phrases.
        correct_tags: Tokens whose gold and guessed (tag, type) are equal.
        accuracy: ``100 * correct_tags / tokens`` (0.0 without tokens; conlleval then prints no
            accuracy line).
        precision: Overall precision, percent.
        recall: Overall recall, percent.
        fb1: Overall FB1.
        per_type: Per type, sorted as conlleval sorts them (Perl string order).
        notes: Cases where conlleval's output is unusual.
        definition: Chunking, match level, averaging and duplicate policy.
        report_order: The types in the order conlleval prints them (a type ``""`` found in
            both gold and guess is printed twice).
    """

    tokens: int
    found_correct: int
    found_guessed: int
    correct: int
    correct_tags: int
    accuracy: float
    precision: float
    recall: float
    fb1: float
    per_type: dict[str, ConllevalTypeScores]
    notes: tuple[str, ...]
    definition: dict[str, Any] = field(default_factory=dict)
    report_order: tuple[str, ...] = ()

    def report(self) -> str:
        """conlleval.pl's output (without ``-l``), byte for byte once encoded as UTF-8."""
        lines = [
            f"processed {self.tokens} tokens with {self.found_correct} phrases; "
            f"found: {self.found_guessed} phrases; correct: {self.correct}.\n"
        ]
        if self.tokens > 0:
            lines.append(
                f"accuracy: {self.accuracy:6.2f}%; precision: {self.precision:6.2f}%; "
                f"recall: {self.recall:6.2f}%; FB1: {self.fb1:6.2f}\n"
            )
        for name in self.report_order:
            t = self.per_type[name]
            # Perl pads %17s by bytes (conlleval reads its input as bytes).
            pad = " " * max(0, 17 - len(name.encode("utf-8")))
            lines.append(
                f"{pad}{name}: precision: {t.precision:6.2f}%; recall: {t.recall:6.2f}%; "
                f"FB1: {t.fb1:6.2f}  {t.found_guessed}\n"
            )
        return "".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: counts, overall and per-type scores, notes and definition."""
        return {
            "tokens": self.tokens,
            "found_correct": self.found_correct,
            "found_guessed": self.found_guessed,
            "correct": self.correct,
            "correct_tags": self.correct_tags,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "fb1": self.fb1,
            "per_type": {k: v.to_dict() for k, v in self.per_type.items()},
            "notes": list(self.notes),
            "definition": self.definition,
        }


def conlleval_compat(
    y_true: Sequence[Sequence[str]],
    y_pred: Sequence[Sequence[str]],
    *,
    tokens: Sequence[Sequence[str]] | None = None,
) -> ConllevalResult:
    """conlleval.pl's counts and scores, as if run on ``token gold guess`` lines.

    The input is read as the file conlleval would get: one line per token, an empty line
    after each sentence (so an empty sentence changes nothing); with ``tokens``, a token equal
    to conlleval's boundary ``-X-`` is a sentence break (its tags read as ``O``, not counted).
    The counting is conlleval's own (see the module docstring), not span matching.

    Args:
        y_true: Gold tags, one list per sentence (prefix tags: ``B-PER``).
        y_pred: Guessed tags, same shape.
        tokens: The tokens (first column), same shape; only ``-X-`` matters.

    Returns:
        Counts, percentages and :meth:`ConllevalResult.report`.

    Raises:
        ValueError: Shapes differ (naming the sentence and both lengths), or a token or tag
            contains a space (conlleval splits lines on spaces).
        TagError: An unknown tag.
    """
    _check_lengths(y_true, y_pred)
    boundary = None
    if tokens is not None:
        if len(tokens) != len(y_true):
            raise ValueError(f"tokens has {len(tokens)} sentences but y_true has {len(y_true)}")
        mask: list[bool] = []
        for i, (tok, tags) in enumerate(zip(tokens, y_true, strict=True)):
            if len(tok) != len(tags):
                raise ValueError(
                    f"sentence {i}: tokens has {len(tok)} tokens but y_true has {len(tags)} tags"
                )
            for t in tok:
                if " " in t:
                    raise ValueError(
                        f"sentence {i}: token {t!r} contains a space (conlleval splits on spaces)"
                    )
                mask.append(t == "-X-")
        boundary = np.asarray(mask, dtype=np.bool_)
    vocab: list[str] = []
    g_ids, offsets = _encode(y_true, vocab)
    p_ids, _ = _encode(y_pred, vocab)
    for tag in vocab:
        if " " in tag:
            raise ValueError(f"tag {tag!r} contains a space (conlleval splits on spaces)")
    names, cc, fg, fc, correct_tags, n_tokens = _native.conlleval_counts(
        g_ids, p_ids, offsets, vocab, boundary
    )
    notes: list[str] = []
    found = [i for i in range(len(names)) if fc[i] > 0 or fg[i] > 0]
    per_type: dict[str, ConllevalTypeScores] = {}
    for i in sorted(found, key=lambda i: names[i]):
        p = _pct(int(cc[i]), int(fg[i]))
        r = _pct(int(cc[i]), int(fc[i]))
        per_type[names[i]] = ConllevalTypeScores(
            p, r, _fb1(p, r), int(cc[i]), int(fg[i]), int(fc[i])
        )
    # Perl: sort(keys %foundCorrect, keys %foundGuessed), dropping a name equal to the one
    # before unless that one is false ("" is false, so a type "" found in both is listed twice).
    keys = sorted([names[i] for i in found if fc[i] > 0] + [names[i] for i in found if fg[i] > 0])
    report_types: list[str] = []
    last: str | None = None
    for k in keys:
        if not last or last != k:
            report_types.append(k)
        last = k
    if "" in per_type:
        notes.append("chunks without a type (tags B, I, ...) are reported under the type ''")
        if report_types.count("") > 1:
            notes.append("conlleval lists the type '' twice (Perl treats '' as false)")
    total_c, total_g, total_ok = int(sum(fc)), int(sum(fg)), int(sum(cc))
    precision = _pct(total_ok, total_g)
    recall = _pct(total_ok, total_c)
    if n_tokens > 0:
        accuracy = 100 * int(correct_tags) / int(n_tokens)
    else:
        accuracy = 0.0
        notes.append("no token: conlleval prints no accuracy line; accuracy is 0.0 here")
    definition: dict[str, Any] = {
        "reference": "conlleval.pl (CoNLL-2000), version 2004-01-26",
        "chunking": (
            "conlleval startOfChunk/endOfChunk over gold and guessed tags (B, I, E, O, '.'; "
            "no S); a sentence break after every sentence"
        ),
        "match": (
            "a guessed phrase is correct when it starts and ends at the same tokens as a gold "
            "phrase with the same type at every token"
        ),
        "averaging": "overall: pooled counts (micro); per type: that type's counts",
        "duplicates": "not applicable: phrases are counted at their starts, not as span sets",
        "units": "percent (P, R, accuracy), FB1 on the same scale",
    }
    return ConllevalResult(
        tokens=int(n_tokens),
        found_correct=total_c,
        found_guessed=total_g,
        correct=total_ok,
        correct_tags=int(correct_tags),
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        fb1=_fb1(precision, recall),
        per_type=per_type,
        notes=tuple(notes),
        definition=definition,
        report_order=tuple(report_types),
    )

"""Text similarity of raw LLM outputs: ROUGE-1/2/L F and BLEU-4 (Rust core).

The numbers are those of the reference implementations, bit for bit (the differential tests
compare them): ROUGE as ``rouge-chinese`` 1.0.3 ``Rouge().get_scores(hyp, ref)`` computes it,
BLEU-4 as nltk's ``sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method3)``,
words as jieba 0.42.1's ``jieba.cut(text)`` (through the ``jieba-rs`` crate, with two
adjustments that make it agree with Python jieba; see :func:`cut_words`).

``rouge-chinese`` in short: the strings are cut into sentences after ``。！？?``, ``......`` and
``……``, split on whitespace (a line of only whitespace counts as one empty word), ROUGE-1 and
ROUGE-2 compare *sets* of distinct n-grams, ROUGE-L the longest common subsequence of the
whole word lists, and F = 2PR / (P + R + 1e-8).

Presets (every result carries its ``definition``):

* ``"nerlm-char"`` (default) and ``"nerlm-word"``: the tokens are the non-whitespace characters,
  or jieba's words without the whitespace ones; ROUGE is ``rouge-chinese`` on the tokens joined
  by spaces (1.0 when neither side has a token, 0.0 when exactly one has none, where
  ``rouge-chinese`` would raise), BLEU-4 is nltk's on the same tokens; fractions in [0, 1],
  unrounded, averaged with ``numpy.mean``.
* ``"llamafactory"``: LLaMA-Factory's ``ComputeSimilarity`` (``src/llamafactory/train/sft/
  metric.py``, also ``scripts/eval_bleu_rouge.py``): ROUGE on ``" ".join(jieba.cut(text))``
  (0.0 when either side is only whitespace), BLEU-4 on the raw characters, each value
  ``round(v * 100, 4)``, then ``numpy.mean`` over examples.
* ``"deepke"``: DeepKE's ``RougeMetric``: both strings ``.strip()``-ped, ROUGE on
  ``" ".join(jieba.cut(text))``; 0.0 when exactly one side is empty, 1.0 when both are; the
  F values are summed in order and reported as ``round(total / count * 100, 2)``. No BLEU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from nerlm import _native

__all__ = [
    "METRICS",
    "PRESETS",
    "Preset",
    "SimilarityResult",
    "cut_words",
    "text_similarity",
]

Preset = Literal["nerlm-char", "nerlm-word", "llamafactory", "deepke"]
PRESETS: tuple[str, ...] = get_args(Preset)

#: Metric names, as LLaMA-Factory and DeepKE spell them.
METRICS: tuple[str, ...] = ("rouge-1", "rouge-2", "rouge-l", "bleu-4")
_ROUGE = METRICS[:3]

_ROUGE_DEF = (
    "rouge-chinese 1.0.3 Rouge().get_scores(hyp, ref)[0][k]['f']: sentences cut after 。！？? "
    "...... ……, words split on whitespace (a whitespace-only line is one empty word); "
    "ROUGE-1/2 over sets of distinct n-grams, ROUGE-L over the longest common subsequence of "
    "the word lists; P = overlap / hyp count, R = overlap / ref count, F = 2PR / (P + R + 1e-8)"
)
_BLEU_DEF = (
    "nltk sentence_bleu([reference], hypothesis), weights (0.25, 0.25, 0.25, 0.25): clipped "
    "n-gram precisions (denominator at least 1), 0.0 without a unigram match, brevity penalty "
    "exp(1 - ref_len / hyp_len) unless the hypothesis is longer, geometric mean with math.fsum"
)
_SMOOTHING = (
    "SmoothingFunction().method3 (NIST geometric sequence): the k-th n-gram order without a "
    "match gets precision 1 / (2**k * denominator)"
)
_JIEBA = (
    "jieba 0.42.1 jieba.cut(text) (accurate mode with HMM), computed by jieba-rs 0.11 with its "
    "default dictionary"
)

#: What the two nerlm presets share (they differ in their tokens).
_NERLM_COMMON: dict[str, str] = {
    "rouge": _ROUGE_DEF + "; on the tokens joined by spaces",
    "bleu": _BLEU_DEF,
    "smoothing": _SMOOTHING,
    "empty": (
        "ROUGE 1.0 when neither side has a token, 0.0 when exactly one has none; BLEU "
        "0.0 when the prediction has no token (nltk)"
    ),
    "rounding": "none",
    "averaging": "numpy.mean over examples (NaN for no example)",
    "scale": "fraction in [0, 1]",
}

_DEFINITIONS: dict[str, dict[str, str]] = {
    "nerlm-char": {
        "source": "nerlm (reference implementations applied to characters)",
        "tokens": "non-whitespace characters (Python str.isspace), for ROUGE and BLEU",
        **_NERLM_COMMON,
    },
    "nerlm-word": {
        "source": "nerlm (reference implementations applied to jieba words)",
        "tokens": _JIEBA + ", whitespace words dropped, for ROUGE and BLEU",
        **_NERLM_COMMON,
    },
    "llamafactory": {
        "source": (
            "LLaMA-Factory ComputeSimilarity (src/llamafactory/train/sft/metric.py; "
            "scripts/eval_bleu_rouge.py)"
        ),
        "tokens": (
            "ROUGE: ' '.join(jieba.cut(text)) with " + _JIEBA + "; BLEU: the raw characters, "
            "whitespace included (list(text))"
        ),
        "rouge": _ROUGE_DEF,
        "bleu": _BLEU_DEF,
        "smoothing": _SMOOTHING,
        "empty": (
            "ROUGE 0.0 when either side's joined words are only whitespace; BLEU 0.0 for an "
            "empty prediction (nltk)"
        ),
        "rounding": "each per-example value round(v * 100, 4) (Python round)",
        "averaging": "numpy.mean of the rounded per-example values (NaN for no example)",
        "scale": "percent",
    },
    "deepke": {
        "source": "DeepKE RougeMetric",
        "tokens": "prediction and reference .strip()-ped, then ' '.join(jieba.cut(text)) with "
        + _JIEBA,
        "rouge": _ROUGE_DEF,
        "bleu": "not part of this convention",
        "smoothing": "none",
        "empty": "0.0 when exactly one side is empty, 1.0 when both are",
        "rounding": "round(total / count * 100, 2) of each ROUGE F (Python round)",
        "averaging": "per-example F summed in example order, divided by the count (0 if none)",
        "scale": "percent",
    },
}


@dataclass(frozen=True)
class SimilarityResult:
    """Text similarity of predictions against references, with its definition.

    Attributes:
        preset: The convention followed (see the module docstring).
        n: Number of (prediction, reference) pairs.
        scores: The reported means, ``rouge-1``, ``rouge-2``, ``rouge-l`` and (except for
            ``deepke``) ``bleu-4``, in the preset's scale (percent for ``llamafactory`` and
            ``deepke``, fraction for the nerlm presets).
        per_example: The per-example values that ``scores`` averages, shape ``(n,)`` each:
            F for the ROUGE variants, BLEU-4; rounded ``v * 100`` for ``llamafactory``,
            fractions otherwise.
        precision: Unrounded ROUGE precision per example, shape ``(n,)`` per variant (where
            the preset fixes the score of an empty side, P and R take that value too).
        recall: Unrounded ROUGE recall per example, likewise.
        definition: How every number was computed: ``source``, ``tokens``, ``rouge``,
            ``bleu``, ``smoothing``, ``empty``, ``rounding``, ``averaging``, ``scale``.
    """

    preset: str
    n: int
    scores: Mapping[str, float]
    per_example: Mapping[str, npt.NDArray[np.float64]]
    precision: Mapping[str, npt.NDArray[np.float64]]
    recall: Mapping[str, npt.NDArray[np.float64]]
    definition: Mapping[str, str]

    def to_dict(self, *, per_example: bool = False) -> dict[str, Any]:
        """JSON form: ``preset``, ``n``, ``scores``, ``definition`` (and ``per_example`` lists).

        Args:
            per_example: Also include the per-example values (``per_example``, ``precision``
                and ``recall``) as lists.
        """
        out: dict[str, Any] = {
            "preset": self.preset,
            "n": self.n,
            "scores": dict(self.scores),
            "definition": dict(self.definition),
        }
        if per_example:
            out["per_example"] = {k: v.tolist() for k, v in self.per_example.items()}
            out["precision"] = {k: v.tolist() for k, v in self.precision.items()}
            out["recall"] = {k: v.tolist() for k, v in self.recall.items()}
        return out


def _strings(name: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
    out = list(values)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] is {type(v).__name__}, not str")
    return out


def _mean(values: npt.NDArray[np.float64]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def text_similarity(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    preset: Preset = "nerlm-char",
) -> SimilarityResult:
    """ROUGE-1/2/L F and BLEU-4 of each prediction against its reference, and their means.

    Pairs are scored in parallel in Rust with the GIL released; jieba's dictionary is loaded
    once per process (about 0.2 s) by the first word-level call.

    Args:
        predictions: Generated output strings, one per example.
        references: Reference output strings, in the same order.
        preset: ``"nerlm-char"``, ``"nerlm-word"``, ``"llamafactory"`` or ``"deepke"`` (see
            the module docstring; ``definition`` in the result spells it out).

    Returns:
        The means, the per-example arrays and the definition.

    Raises:
        ValueError: Unknown preset, or ``predictions`` and ``references`` differ in length.
        TypeError: An element is not a string (or a bare string was passed as a sequence).
        UnicodeEncodeError: A string holds a lone surrogate (it has no UTF-8 form).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    preds = _strings("predictions", predictions)
    refs = _strings("references", references)
    if len(preds) != len(refs):
        raise ValueError(
            f"{len(preds)} predictions but {len(refs)} references: they must pair up one to one"
        )
    table = _native.text_similarity_batch(preds, refs, preset)
    n = len(preds)
    precision = {k: np.ascontiguousarray(table[:, 3 * i]) for i, k in enumerate(_ROUGE)}
    recall = {k: np.ascontiguousarray(table[:, 3 * i + 1]) for i, k in enumerate(_ROUGE)}
    f = {k: np.ascontiguousarray(table[:, 3 * i + 2]) for i, k in enumerate(_ROUGE)}
    bleu = np.ascontiguousarray(table[:, 9])

    per_example: dict[str, npt.NDArray[np.float64]]
    scores: dict[str, float]
    if preset == "llamafactory":
        per_example = {k: _native.python_round_batch(v, 100.0, 4) for k, v in f.items()}
        per_example["bleu-4"] = _native.python_round_batch(bleu, 100.0, 4)
        scores = {k: _mean(v) for k, v in per_example.items()}
    elif preset == "deepke":
        per_example = f
        scores = {}
        for k, v in f.items():
            total = 0.0
            for x in v.tolist():  # DeepKE accumulates example by example
                total += x
            scores[k] = round(total / n * 100, 2) if n else 0.0
    else:
        per_example = {**f, "bleu-4": bleu}
        scores = {k: _mean(v) for k, v in per_example.items()}
    return SimilarityResult(
        preset=preset,
        n=n,
        scores=scores,
        per_example=per_example,
        precision=precision,
        recall=recall,
        definition=dict(_DEFINITIONS[preset]),
    )


def cut_words(texts: Sequence[str]) -> list[list[str]]:
    """``list(jieba.cut(text))`` for each text (jieba-rs, default dictionary, in parallel).

    Whitespace characters are words of their own (``"\\r\\n"`` is one word). jieba-rs 0.11
    departs from Python jieba 0.42.1 in two places, which are corrected here: it keeps CJK
    ideographs outside U+4E00..U+9FD5 inside word blocks (Python jieba makes each a word), and
    its HMM stage joins ASCII letter/digit runs across ``.``, ``_`` and ``-`` (``K-1``,
    ``2017-07-13``, ``7.90M``), which Python jieba splits with ``[a-zA-Z0-9]+(?:\\.\\d+)?%?``.
    Measured on CLUENER: jieba-rs alone differs from Python jieba on 28 of the 1,343 dev texts
    (240 of the 10,748 train texts), all through the second cause; this function agrees with
    Python jieba on every dev and train text (``tests/test_similarity.py`` checks dev).

    Args:
        texts: The texts to segment.

    Returns:
        The words of each text, in order; they concatenate back to the text.
    """
    return _native.jieba_cut_batch(_strings("texts", texts))

"""Stubs of the Rust extension ``nerlm._native`` (nerlm-core behind thin pyo3 wrappers).

Offsets are half-open code point offsets. Bitmasks are int32 arrays of shape
``[rows, ceil(width / 32)]``: bit ``i % 32`` of word ``i / 32`` is set when token ``i`` is
allowed (the layout of xgrammar and llguidance). Batch calls release the GIL.
"""

import os
from collections.abc import Iterable, Sequence
from typing import Any, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

from nerlm.align import AlignOptions

__all__ = [
    "GrammarError",
    "Matcher",
    "NerlmError",
    "OffsetError",
    "PlacementColumns",
    "ShapeError",
    "TagError",
    "TokenRejectedError",
    "TokenTable",
    "TokenizerError",
    "Vocabulary",
    "__version__",
    "align_columns",
    "align_nested",
    "char_to_token_spans",
    "conlleval_counts",
    "convert_offsets",
    "encode_tag_strings",
    "entity_columns",
    "fill_next_token_bitmask_batch",
    "jieba_cut_batch",
    "merge_window_spans",
    "plan_windows",
    "python_round_batch",
    "score_spans",
    "score_strings",
    "seqeval_counts",
    "spans_to_tags",
    "tags_to_spans",
    "text_similarity_batch",
    "token_to_char_spans",
]

__version__: str

class NerlmError(Exception):
    """Base class of every error nerlm raises."""

class TokenizerError(NerlmError):
    """A tokenizer could not be read as a vocabulary."""

class GrammarError(NerlmError):
    """An output format could not be compiled (bad labels, unknown format)."""

class TokenRejectedError(NerlmError):
    """A token is not allowed by the output format here (message holds the output so far)."""

class ShapeError(NerlmError):
    """An array or buffer has the wrong shape or length."""

class OffsetError(NerlmError):
    """An offset is outside its text or a span is reversed."""

class TagError(NerlmError, ValueError):
    """A tag is unknown, or not a tag of the scheme in use (also a ValueError)."""

@final
class Vocabulary:
    """The exact bytes of every token of a tokenizer, prepared once and shareable.

    Byte-level BPE tokens are mapped through GPT-2's byte alphabet, SentencePiece ``<0xNN>``
    pieces to single bytes and ``▁`` to a space, WordPiece ``##`` continuations lose their
    prefix. Added and special tokens have no bytes and are never allowed by a grammar, except
    the end-of-sequence ids in accepting states.
    """

    @staticmethod
    def from_tokenizer_json(tokenizer_json: str, eos_token_ids: list[int]) -> Vocabulary:
        """Read a Hugging Face ``tokenizer.json`` (its text).

        Raises:
            TokenizerError: Not JSON, or an unsupported model type.
        """
    @staticmethod
    def from_file(path: str | os.PathLike[str], eos_token_ids: list[int]) -> Vocabulary:
        """Read a ``tokenizer.json``, or a SentencePiece ``*.model`` file, from disk.

        Raises:
            TokenizerError: The file cannot be read or is not a supported tokenizer.
        """
    @staticmethod
    def from_sentencepiece_model(model: bytes, eos_token_ids: list[int]) -> Vocabulary:
        """Read a SentencePiece ``tokenizer.model`` (its bytes).

        Normal pieces map ``▁`` to a space, byte pieces ``<0xNN>`` to their byte; control,
        unknown, user-defined and unused pieces are never allowed.

        Raises:
            TokenizerError: The bytes are not a SentencePiece model.
        """
    @property
    def heap_bytes(self) -> int:
        """Heap memory held by the vocabulary and its trie, in bytes."""
    @property
    def size(self) -> int:
        """Number of token ids (one past the largest id in the tokenizer)."""
    @property
    def kind(self) -> str:
        """``"byte-level"``, ``"sentencepiece"`` or ``"wordpiece"``."""
    @property
    def eos_token_ids(self) -> list[int]:
        """The end-of-sequence ids."""
    def token_bytes(self, token_id: int) -> bytes | None:
        """The bytes of a token, or None for special/added tokens and unknown ids."""
    def decode(self, token_ids: list[int]) -> bytes:
        """Concatenated token bytes (special tokens contribute nothing)."""
    def __len__(self) -> int: ...

@final
class TokenTable:
    """One request's output format over a vocabulary: a state machine over token ids.

    Args:
        vocabulary: The tokenizer's vocabulary.
        format: ``"iepile-json"``, ``"clue-fill"``, ``"json-lines"``, ``"xml-inline"`` or
            ``"type-pairs"`` (DESIGN.md, "Output formats").
        labels: Schema labels, in the order the output must list them.
        text: The input text (entity strings are substrings of it when grounded).
        grounded: Restrict entity strings to substrings of ``text``.
        max_entities_per_label: Cap on each label's list (None: unbounded); formats without
            per-label lists cap the total at this times the number of labels.
        max_entity_chars: Cap on entity length in code points (None: unbounded).
        inferred: ``xml-inline``: labels inserted with free text instead of copied text.
        label_sep: ``type-pairs``: between label and entity (default ``_``).
        pair_sep: ``type-pairs``: between pairs (default ``&``; its first character must be
            ASCII, and entities never contain it).
        none_text: ``type-pairs``: the whole output when there is no entity (default ``无``).

    Tables built from the same ``vocabulary`` with the same format, labels and options share
    the masks that do not depend on ``text`` (the structure between entity strings, away from
    where a string opens): a server's later requests find them filled. The shared masks are
    bounded (4 MB per format/labels/options, 16 such shapes per vocabulary). A grounded text
    with no character an entity could hold (the empty text) forces the no-entity output.

    Raises:
        GrammarError: Unknown format, empty or duplicate labels.
    """

    def __new__(
        cls,
        vocabulary: Vocabulary,
        format: str,
        labels: list[str],
        text: str,
        *,
        grounded: bool = True,
        max_entities_per_label: int | None = None,
        max_entity_chars: int | None = None,
        inferred: list[str] | None = None,
        label_sep: str | None = None,
        pair_sep: str | None = None,
        none_text: str | None = None,
    ) -> Self: ...
    @property
    def format(self) -> str:
        """The output format's name."""
    def matcher(self) -> Matcher:
        """A matcher at the initial state."""
    def random_walks(
        self, n: int, *, seed: int = 0, max_tokens: int = 512
    ) -> list[tuple[bytes, bool]]:
        """Outputs of ``n`` uniformly random walks over the allowed tokens (in parallel).

        At every step the next token is drawn uniformly among the allowed ones
        (end-of-sequence included where the output may end). Returns ``(output, ended)``
        per walk; ``ended`` is False for a walk still going after ``max_tokens`` tokens.
        Deterministic for a seed. Useful to fuzz a parser against the format's grammar.
        """

@final
class Matcher:
    """The position of one generated sequence in a :class:`TokenTable`."""

    def accept_token(self, token_id: int) -> None:
        """Advance by one token.

        An end-of-sequence id is accepted only where the output is complete; afterwards only
        end-of-sequence ids are accepted.

        Raises:
            TokenRejectedError: The token is not allowed here; the matcher is unchanged.
        """
    def fill_next_token_bitmask(self, bitmask: npt.NDArray[np.int32], row: int = 0) -> int:
        """Fill row ``row`` of ``bitmask`` with the tokens allowed next; return their number.

        Raises:
            ShapeError: ``row`` out of range, rows too short, or a non-contiguous array.
        """
    def is_accepting(self) -> bool:
        """May generation end here?"""
    def is_terminated(self) -> bool:
        """Has an end-of-sequence token been accepted?"""
    def output(self) -> bytes:
        """The bytes generated so far."""
    def forced_bytes(self) -> bytes:
        """The bytes the format forces from here (each the only one allowed), maybe empty."""
    def forced_tokens(self) -> list[int]:
        """The forced bytes as tokens (greedy longest match), each allowed in turn.

        Jump-forward decoding appends them without sampling; a tail of forced bytes that no
        token spells exactly is left to sampling.
        """
    def copy(self) -> Matcher:
        """An independent copy (cheap: the table is shared)."""
    def __copy__(self) -> Matcher: ...

def fill_next_token_bitmask_batch(matchers: list[Matcher], bitmask: npt.NDArray[np.int32]) -> None:
    """Fill row ``i`` of ``bitmask`` for ``matchers[i]``, in parallel with the GIL released.

    Raises:
        ShapeError: Row count differs from ``len(matchers)``, rows too short, or the array
            is not C-contiguous.
    """

@final
class PlacementColumns:
    """The memory behind the arrays of :func:`align_columns`: one block (on transparent huge
    pages from 4 MB) that every column array keeps alive as its ``base``."""

def align_columns(
    texts: Sequence[str],
    surfaces: Sequence[str],
    doc: npt.NDArray[np.int64],
    group: npt.NDArray[np.int64] | None,
    options: AlignOptions,
) -> dict[str, npt.NDArray[Any]]:
    """Place ``surfaces[i]`` in ``texts[doc[i]]`` (see :mod:`nerlm.align`), GIL released.

    Returns:
        Columns ``start``, ``end`` (int64), ``status`` (uint8: 0 exact, 1 duplicate,
        2 ungrounded, 3 normalised, 4 fuzzy) and ``score`` (float32), in item order, and
        ``item`` (int64, the item of each row) when the rows are not one per item in order.
        Every array is a writeable view of one :class:`PlacementColumns` block.

    Raises:
        ShapeError: Columns of different lengths, a document index out of range, an unknown
            option value.
        TypeError: A text or surface is not a ``str``.
    """

def align_nested(
    texts: Sequence[str],
    items: Sequence[Sequence[tuple[str, int]]],
    placement: type[Any],
    statuses: tuple[Any, ...],
    options: AlignOptions,
) -> list[list[Any]]:
    """Place ``items[d]`` (``(surface, group)`` pairs) in ``texts[d]``, GIL released while
    aligning; the placements are built in Rust.

    Args:
        placement: A ``NamedTuple`` type of ``(start, end, status, score, item)``.
        statuses: The status object of each code 0..4 (exact, duplicate, ungrounded,
            normalised, fuzzy).

    Returns:
        Per document, ``placement`` instances in item order (several per item with
        ``"all"``), ``item`` counted within the document.

    Raises:
        ShapeError: ``texts`` and ``items`` differ in length, a group is not in
            ``0..2**32``, an unknown option value.
        TypeError: A text or surface is not a ``str``, an item is not a pair, or
            ``placement`` is not a tuple type laid out as a tuple.
    """

def convert_offsets(
    text: str, offsets: npt.NDArray[np.int64], source: str, target: str
) -> npt.NDArray[np.int64]:
    """Convert offsets between ``"char"``, ``"byte"`` (UTF-8) and ``"utf16"``.

    Raises:
        OffsetError: Negative, past the end, or inside a character.
    """

def char_to_token_spans(
    offsets: npt.NDArray[np.int64], spans: npt.NDArray[np.int64], policy: str = "strict"
) -> npt.NDArray[np.int64]:
    """Code point spans ``[m, 2]`` -> token spans ``[m, 2]`` (``-1`` where unmappable).

    Raises:
        OffsetError: Offsets out of text order, a span with ``end < start``.
    """

def token_to_char_spans(
    offsets: npt.NDArray[np.int64], spans: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Token spans ``[m, 2]`` -> code point spans ``[m, 2]`` (``-1`` when covering no text).

    Raises:
        OffsetError: A token span past the mapping.
    """

def plan_windows(
    offsets: npt.NDArray[np.int64], n_chars: int, max_tokens: int, stride: int
) -> npt.NDArray[np.int64]:
    """Windows ``[k, 4]`` of ``(tok_start, tok_end, char_start, char_end)``.

    Raises:
        ShapeError: ``stride >= max_tokens`` or ``max_tokens == 0``.
        OffsetError: Offsets out of text order or past ``n_chars``.
    """

def merge_window_spans(
    windows: npt.NDArray[np.int64], spans: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], int]:
    """Merge ``(window, label, start, end)`` rows found in overlapping windows.

    Returns:
        The kept rows sorted by ``(start, end, label)`` and the number dropped.

    Raises:
        ShapeError: Wrong shapes or a window index out of range.
    """

def score_spans(
    gold_doc: npt.NDArray[np.int64],
    gold_label: npt.NDArray[np.int64],
    gold_start: npt.NDArray[np.int64],
    gold_end: npt.NDArray[np.int64],
    pred_doc: npt.NDArray[np.int64],
    pred_label: npt.NDArray[np.int64],
    pred_start: npt.NDArray[np.int64],
    pred_end: npt.NDArray[np.int64],
    n_docs: int,
    n_labels: int,
    *,
    duplicates: str = "set",
    ends_inclusive: bool = False,
    min_overlap_percent: float = 0.0,
    pairing: str = "exact-first",
    doc_group: npt.NDArray[np.int64] | None = None,
    n_groups: int = 0,
    gold_bucket: npt.NDArray[np.int64] | None = None,
    pred_bucket: npt.NDArray[np.int64] | None = None,
    n_buckets: int = 0,
    per_doc: bool = False,
    outcomes: bool = False,
) -> dict[str, Any]:
    """Span-level scoring in the four SemEval-2013 modes at once (see :mod:`nerlm.score`).

    Each side is four int64 columns of equal length (document index in ``0..n_docs``, label
    id in ``0..n_labels``, start, end); contiguous int64 arrays are read without copying.
    Modes are ``strict, exact, partial, type`` and categories ``COR, INC, PAR, MIS,
    SPU``, in that order.

    Args:
        duplicates: ``"set"`` drops exact repeats per document (first kept); ``"multiset"``
            scores them.
        ends_inclusive: Read ``end`` as the last position (nervaluate's convention).
        min_overlap_percent: Overlap needed, in percent of the gold span's length (0: any).
        pairing: ``"exact-first"`` pairs identical spans before overlaps (nerlm's modes);
            ``"in-order"`` is nervaluate 1.2.1's single greedy pass in input order.
        doc_group: Group per document (e.g. source), ``n_groups`` groups.
        gold_bucket: Bucket per gold span (with ``pred_bucket`` and ``n_buckets``).
        per_doc: Also return per-document counts.
        outcomes: Also return per-span outcomes of the overall strict comparison.

    Returns:
        ``overall`` uint64 ``[4, 5]``; ``per_label`` ``[n_labels, 4, 5]`` (restricted to each
        label); ``per_bucket`` ``[n_buckets, 4, 5]``; ``per_group`` ``[n_groups, 4, 5]``;
        ``exact_docs`` uint64 ``[max(n_groups, 1)]`` (documents whose strict comparison has
        no error); ``gold_duplicates``, ``pred_duplicates`` (int); ``per_doc`` uint32
        ``[n_docs or 0, 4, 5]``; ``gold_outcome`` int8 (0 COR, 1 INC, 3 MIS, 5 duplicate),
        ``pred_outcome`` int8 (0 COR, 1 INC, 4 SPU, 5 duplicate) and ``pred_pair`` int64 (input
        index of the paired gold span, else -1), empty unless ``outcomes``.

    Raises:
        ShapeError: Columns of unequal length; document, label, group or bucket ids out of
            range (the message names the side, span index and document).
        OffsetError: A negative start or an empty or reversed span.
        ValueError: An unknown duplicate policy, or only one of the bucket columns.
    """

def entity_columns(
    docs: Sequence[Any],
    label_ids: dict[str, int],
    surface_ids: dict[str, int] | None = None,
) -> dict[str, npt.NDArray[np.int64]]:
    """The entities of ``docs`` (objects with ``text`` and ``entities``; entities with
    ``label``, ``start``, ``end``, ``text``) as int64 columns, in order.

    Labels missing from ``label_ids`` are added to it with the next ids; with ``surface_ids``
    each entity's ``text`` is interned in it (equal strings, equal keys).

    Returns:
        ``doc`` (document index), ``label``, ``start``, ``end``, ``key`` (surface id, empty
        without ``surface_ids``), each ``[n_entities]``; ``text_len`` ``[n_docs]`` (code
        points).

    Raises:
        AttributeError, TypeError: A document or entity lacks an attribute or has a
            non-integer offset.
    """

def score_strings(
    gold_doc: npt.NDArray[np.int64],
    gold_label: npt.NDArray[np.int64],
    gold_key: npt.NDArray[np.int64],
    pred_doc: npt.NDArray[np.int64],
    pred_label: npt.NDArray[np.int64],
    pred_key: npt.NDArray[np.int64],
    n_docs: int,
    n_labels: int,
    *,
    duplicates: str = "set",
    doc_group: npt.NDArray[np.int64] | None = None,
    n_groups: int = 0,
    per_doc: bool = False,
) -> dict[str, Any]:
    """String-level scoring: ``(label, key)`` pairs per document, the key identifying the
    surface string (equal keys for equal strings).

    With ``"set"``, TP per document and label is the size of the intersection; with
    ``"multiset"``, the sum of the smaller multiplicities (DeepKE's default).

    Returns:
        ``per_label`` uint64 ``[n_labels, 3]`` (TP, FP, FN); ``per_group`` ``[n_groups, 3]``;
        ``exact_docs`` ``[max(n_groups, 1)]``; ``gold_duplicates``, ``pred_duplicates``;
        ``per_doc`` uint32 ``[n_docs or 0, 3]``.

    Raises:
        ShapeError: Columns of unequal length; document, label or group ids out of range.
        ValueError: An unknown duplicate policy.
    """

def text_similarity_batch(
    hypotheses: list[str], references: list[str], preset: str
) -> npt.NDArray[np.float64]:
    """ROUGE-1/2/L and BLEU-4 of each (hypothesis, reference) pair, in parallel, GIL released.

    ROUGE is ``rouge-chinese`` 1.0.3 ``Rouge().get_scores`` (sets of distinct n-grams,
    LCS of the whole word lists, F = 2PR / (P + R + 1e-8)); BLEU-4 is nltk ``sentence_bleu``
    with one reference, uniform weights and ``SmoothingFunction().method3``; words are
    jieba 0.42.1 ``jieba.cut`` (jieba-rs). Values are unrounded fractions in [0, 1].

    Args:
        hypotheses: Generated outputs.
        references: Reference outputs, same length.
        preset: ``"nerlm-char"`` (non-whitespace characters), ``"nerlm-word"`` (jieba words
            without whitespace), ``"llamafactory"`` (LLaMA-Factory ``ComputeSimilarity``:
            ROUGE on ``" ".join(jieba.cut(s))``, 0.0 for a whitespace-only side; BLEU on raw
            characters) or ``"deepke"`` (DeepKE ``RougeMetric``: stripped strings, ROUGE on
            ``" ".join(jieba.cut(s))``, 0.0 when one side is empty, 1.0 when both are; BLEU
            NaN). The nerlm presets score ROUGE 1.0 when neither side has a token and 0.0
            when exactly one has none.

    Returns:
        Shape ``(n, 10)``, float64, columns ROUGE-1 P, R, F, ROUGE-2 P, R, F, ROUGE-L P, R,
        F, BLEU-4.

    Raises:
        ValueError: Unknown preset.
        ShapeError: ``hypotheses`` and ``references`` differ in length.
    """

def jieba_cut_batch(texts: list[str]) -> list[list[str]]:
    """``list(jieba.cut(text))`` per text (jieba 0.42.1 accurate mode with HMM, computed by
    jieba-rs 0.11 with its default dictionary), in parallel with the GIL released.

    jieba-rs's output is adjusted where it departs from Python jieba: CJK ideographs outside
    U+4E00..U+9FD5 are words of their own, and ASCII runs joined by ``.``, ``_`` or ``-`` in
    the HMM stage are split with Python jieba's ``[a-zA-Z0-9]+(?:\\.\\d+)?%?``.

    Returns:
        The words of each text; whitespace characters are words of their own.
    """

def python_round_batch(
    values: npt.NDArray[np.float64], scale: float, ndigits: int
) -> npt.NDArray[np.float64]:
    """``round(v * scale, ndigits)`` for each value, as Python's ``round`` computes it.

    The product is one float multiplication; rounding picks the decimal with ``ndigits``
    digits nearest to its exact binary value (ties to even), read back as the nearest float.

    Args:
        values: Shape ``(n,)``.
        scale: Multiplier applied first (e.g. 100.0 for percent).
        ndigits: Digits after the decimal point, 0 to 255.

    Returns:
        Shape ``(n,)``, float64.
    """

# ---- tag sequences <-> spans (nerlm_core::tags; see nerlm.tags) ----
#
# Tag sequences are a flat int32 array of tag ids into a vocabulary of tag strings plus int64
# sentence offsets of shape [n_sentences + 1] (offsets[0] == 0, non-decreasing, offsets[-1] ==
# number of tags): the tags of sentence s are ids[offsets[s]:offsets[s + 1]]. Spans are int64
# columns (sentence, type id, start, end) with half-open token offsets within the sentence.
# Schemes: "IOB1", "IOB2" ("BIO"), "IOE1", "IOE2", "IOBES" ("BIOES"), "BILOU", "BMES"; None
# is seqeval's default (lenient) chunking.

def encode_tag_strings(
    sequences: Iterable[Iterable[str]], vocabulary: list[str]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Map tag strings to ids into ``vocabulary``, appending the strings it lacks (in place).

    Returns:
        ``(ids, offsets)``: ids of shape ``[n_tags]`` and offsets of shape
        ``[n_sentences + 1]``.

    Raises:
        TypeError: A sentence is a str or not iterable, or a tag is not a str (the message
            names the sentence and token index).
    """

def tags_to_spans(
    ids: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    vocabulary: list[str],
    scheme: str | None = None,
    *,
    suffix: bool = False,
    seqeval_exact: bool = False,
) -> tuple[
    list[str],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """Decode tag ids into spans, in parallel over sentences with the GIL released.

    ``scheme=None`` is seqeval 1.2.2's default chunking; a scheme decodes strictly (seqeval's
    ``mode="strict"``; IOE1 completed unless ``seqeval_exact``).

    Returns:
        ``(type_names, sentence, type_id, start, end)``: type names by id (the type of ``O``,
        ``"_"``, included) and span columns of shape ``[n_spans]``, sorted by sentence.

    Raises:
        TagError: An unknown tag, a tag outside the scheme, an unknown scheme name, or a
            default-mode chunk that seqeval would close across a sentence break.
        ShapeError: Bad offsets, or ids outside the vocabulary.
    """

def spans_to_tags(
    sentence: npt.NDArray[np.int64],
    type_id: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    type_names: list[str],
    scheme: str,
    *,
    suffix: bool = False,
) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Write span columns (any order) as tag ids of ``scheme``.

    Returns:
        ``(ids, vocabulary)``: ids of shape ``[offsets[-1]]`` into the vocabulary, whose id 0
        is ``"O"`` and ids ``1 + t * k + j`` the ``j``-th letter of the scheme for type ``t``.

    Raises:
        OffsetError: An empty or reversed span, one past its sentence, or two overlapping
            spans (the message names the sentence and both spans).
        ShapeError: Columns of unequal length, bad offsets, sentence or type ids out of range.
        TagError: Unknown scheme, or a type name that cannot be written in a tag.
    """

def seqeval_counts(
    gold_ids: npt.NDArray[np.int32],
    gold_offsets: npt.NDArray[np.int64],
    pred_ids: npt.NDArray[np.int32],
    pred_offsets: npt.NDArray[np.int64],
    vocabulary: list[str],
    scheme: str | None = None,
    *,
    suffix: bool = False,
) -> tuple[
    list[str], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], int, int
]:
    """seqeval 1.2.2's counts: chunks (default, or strict for ``scheme``) as sets per sentence.

    Returns:
        ``(type_names, tp, pred, true, correct_tokens, tokens)``: per type id (arrays of shape
        ``[len(type_names)]``) the matched, predicted and gold chunks, then the tokens whose
        tag strings are equal and the number of tokens.

    Raises:
        TagError: An unknown tag or a tag outside the scheme.
        ShapeError: Bad offsets, different sentence counts or lengths.
    """

def conlleval_counts(
    gold_ids: npt.NDArray[np.int32],
    pred_ids: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    vocabulary: list[str],
    boundary: npt.NDArray[np.bool_] | None = None,
) -> tuple[
    list[str], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], int, int
]:
    """conlleval.pl's counting (one ``offsets`` for gold and guess, a break after each sentence).

    ``boundary`` (shape ``[n_tags]``) marks tokens equal to ``-X-``, which are sentence breaks.

    Returns:
        ``(type_names, correct_chunk, found_guessed, found_correct, correct_tags, tokens)``:
        per type id the correct, guessed and gold phrases, then the tokens whose (tag, type)
        agree and the number of tokens.

    Raises:
        TagError: An unknown tag (conlleval tags are prefix tags).
        ShapeError: Bad offsets or arrays of different lengths.
    """

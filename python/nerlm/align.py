"""Entity strings -> character spans, offset units, and token spans (Rust core).

A model that writes entity strings (not offsets) must have them mapped back to its input.
Each item is ``(surface, group)`` in the order the model wrote it (for ``iepile-json`` a
group is one label's list). Every item goes through up to three stages, stopping at the first
that finds it:

1. **exact**: occurrences of the surface in the text (overlapping ones included);
2. **normalised** (when any of ``nfkc``, ``width``, ``case``, ``whitespace`` is set):
   occurrences of the normalised surface in the normalised text, mapped back to the original
   text through an offset map. ``nfkc`` is Unicode NFKC (``ﬁ`` -> ``fi``, ``①`` -> ``1``,
   full-width forms -> ASCII); ``width`` folds only full-width ASCII (U+FF01..U+FF5E) and the
   ideographic space; ``case`` lower-cases; ``whitespace="collapse"`` turns each run of
   whitespace into one space, ``"remove"`` drops whitespace (``北京 大学`` matches
   ``北京大学``). A match whose ends cut what one original character became is not used.
3. **fuzzy** (``fuzzy=t``): the substring of the (normalised) text with the least
   Levenshtein distance to the surface (Sellers, 1980, semi-global edit distance), accepted
   when its similarity ``1 - distance / max(len(surface), len(match))`` (code points) is at
   least ``t``; ties go to the higher similarity, then the length closest to the surface's,
   then the leftmost.

Among the occurrences a stage finds, the ``occurrence`` policy picks:

* ``"first"``: the leftmost occurrence (every repeat of a string gets the same span);
* ``"all"``: every occurrence, scanned left to right without overlaps (one item, many spans);
* ``"left-to-right"`` (default): the leftmost occurrence overlapping no span already placed in
  the same group; when all are taken, the leftmost, with status ``duplicate``;
* ``"nearest-after"``: the first occurrence starting at or after the end of the previously
  placed item (any group), else the last one starting before it — for outputs that list
  entities in text order (``json-lines``, ``type-pairs``).

An item no stage finds (or an empty one) is ``ungrounded`` and gets no span. Offsets are
half-open code point offsets (Python string indices) unless a function says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from nerlm import _native

Occurrence = Literal["first", "all", "left-to-right", "nearest-after"]
WhitespaceMode = Literal["keep", "collapse", "remove"]
OffsetUnit = Literal["char", "byte", "utf16"]
TokenPolicy = Literal["strict", "expand", "contract"]


class AlignStatus(str, Enum):
    """How an entity string was placed in its text."""

    EXACT = "exact"
    DUPLICATE = "duplicate"
    UNGROUNDED = "ungrounded"
    NORMALISED = "normalised"
    FUZZY = "fuzzy"
    #: Written by a label configured as inferred (text not taken from the input, e.g. the
    #: power-grid seed's ``<Province>山东省</Province>``); such entities have no span.
    INFERRED = "inferred"


#: Status codes of the Rust core, in order.
_STATUS = (
    AlignStatus.EXACT,
    AlignStatus.DUPLICATE,
    AlignStatus.UNGROUNDED,
    AlignStatus.NORMALISED,
    AlignStatus.FUZZY,
)


@dataclass(frozen=True, slots=True)
class AlignOptions:
    """How to place entity strings (module docs).

    Attributes:
        occurrence: ``"first"``, ``"all"``, ``"left-to-right"`` or ``"nearest-after"``.
        nfkc: Match under Unicode NFKC.
        width: Match with full-width ASCII folded to ASCII.
        case: Match case-insensitively (lower case).
        whitespace: ``"keep"``, ``"collapse"`` or ``"remove"``.
        fuzzy: Least similarity in ``(0, 1]`` of a fuzzy match; ``None`` turns fuzzy off.
    """

    occurrence: Occurrence = "left-to-right"
    nfkc: bool = False
    width: bool = False
    case: bool = False
    whitespace: WhitespaceMode = "keep"
    fuzzy: float | None = None

    @classmethod
    def lenient(cls, occurrence: Occurrence = "left-to-right", fuzzy: float = 0.8) -> AlignOptions:
        """NFKC, case folding, whitespace removed, then fuzzy matching at ``fuzzy``: for
        unconstrained outputs (in-context prompting, other tools' predictions)."""
        return cls(occurrence, nfkc=True, case=True, whitespace="remove", fuzzy=fuzzy)


class Placement(NamedTuple):
    """One placed item: half-open code point offsets (0, 0 when ungrounded), its status, the
    similarity (1.0 unless fuzzy, 0.0 when ungrounded) and the index of its item."""

    start: int
    end: int
    status: AlignStatus
    score: float = 1.0
    item: int = 0


class AlignedColumns:
    """Placements as numpy columns, in item order (several rows per item with ``"all"``).

    Attributes:
        item: ``int64 [n]``: the item each row places (built on first access when the rows
            are exactly the items in order, as with every policy but ``"all"``).
        start: ``int64 [n]``: start (code points; 0 when ungrounded).
        end: ``int64 [n]``: end, exclusive.
        status: ``uint8 [n]``: index into ``STATUSES``.
        score: ``float32 [n]``: similarity.

    ``start``, ``end``, ``status`` and ``score`` (and ``item`` with ``"all"``) are writeable
    views of one block of memory (on transparent huge pages from 4 MB), which each of them
    keeps alive: keeping one column keeps all of them (about 21 bytes a row); ``.copy()`` a
    column to keep it alone.
    """

    __slots__ = ("_item", "end", "score", "start", "status")

    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    status: npt.NDArray[np.uint8]
    score: npt.NDArray[np.float32]

    #: Status of each code of ``status``.
    STATUSES = _STATUS

    def __init__(
        self,
        item: npt.NDArray[np.int64] | None,
        start: npt.NDArray[np.int64],
        end: npt.NDArray[np.int64],
        status: npt.NDArray[np.uint8],
        score: npt.NDArray[np.float32],
    ) -> None:
        """``item=None``: row ``i`` places item ``i``."""
        self._item = item
        self.start, self.end, self.status, self.score = start, end, status, score

    @property
    def item(self) -> npt.NDArray[np.int64]:
        if self._item is None:
            self._item = np.arange(len(self.start), dtype=np.int64)
        return self._item

    def __len__(self) -> int:
        return len(self.start)

    def __repr__(self) -> str:
        return f"AlignedColumns({len(self)} rows)"


def align_spans(
    texts: Sequence[str],
    surfaces: Sequence[str],
    doc: npt.ArrayLike,
    group: npt.ArrayLike | None = None,
    options: AlignOptions | None = None,
) -> AlignedColumns:
    """Place ``surfaces[i]`` in ``texts[doc[i]]`` (group ``group[i]``, default 0), columnar.

    Items of one document keep their relative (model) order; documents may interleave and
    run in parallel with the GIL released.

    Args:
        texts: The documents.
        surfaces: ``[n]`` entity strings.
        doc: ``[n]`` document index of each surface.
        group: ``[n]`` group of each surface (e.g. a label id), for ``"left-to-right"``.
        options: The policy and matching stages (default: exact, left to right).

    Raises:
        nerlm.ShapeError: Columns of different lengths, a document index out of range, or an
            unknown option value.
        TypeError: A text or surface is not a ``str``.
    """
    o = options or AlignOptions()
    d = np.ascontiguousarray(doc, dtype=np.int64)
    g = None if group is None else np.ascontiguousarray(group, dtype=np.int64)
    r = _native.align_columns(texts, surfaces, d, g, o)
    return AlignedColumns(r.get("item"), r["start"], r["end"], r["status"], r["score"])


def align_batch(
    texts: Sequence[str],
    items: Sequence[Sequence[tuple[str, int]]],
    options: AlignOptions | None = None,
) -> list[list[Placement]]:
    """Place ``(surface, group)`` items in their texts, many documents at once (GIL released).

    Returns:
        Per document, its placements in item order (one per item; several with ``"all"``).

    The placements are built in Rust, with the item strings read in place and the GIL
    released while aligning (as :func:`align_spans`).

    Raises:
        nerlm.ShapeError: ``texts`` and ``items`` differ in length, or a group is not in
            ``0..2**32``.
        TypeError: A text or surface is not a ``str``, or an item is not a pair.
    """
    return _native.align_nested(texts, items, Placement, _STATUS, options or AlignOptions())


def align(
    text: str, items: Sequence[tuple[str, int]], options: AlignOptions | None = None
) -> list[Placement]:
    """:func:`align_batch` for one document."""
    return align_batch([text], [items], options)[0]


def convert_offsets(
    text: str, offsets: npt.ArrayLike, source: OffsetUnit, target: OffsetUnit
) -> npt.NDArray[np.int64]:
    """Convert offsets of ``text`` between code points (``"char"``), UTF-8 bytes (``"byte"``)
    and UTF-16 code units (``"utf16"``, as JavaScript, Java and Label Studio count).

    Returns:
        ``int64`` array of the shape of ``offsets``.

    Raises:
        nerlm.OffsetError: An offset is negative, past the end, or inside a character (a UTF-8
            continuation byte; between the halves of a surrogate pair), naming its index.
    """
    a = np.asarray(offsets, dtype=np.int64)
    flat = np.ascontiguousarray(a.reshape(-1))
    return np.asarray(_native.convert_offsets(text, flat, source, target)).reshape(a.shape)


def token_offsets(tokenizer: object, text: str) -> npt.NDArray[np.int64]:
    """The offset mapping ``int64 [n_tokens, 2]`` (code points) of ``text`` without special
    tokens, from a Hugging Face fast tokenizer (``return_offsets_mapping``).

    Raises:
        TypeError: The tokenizer cannot give offsets (a slow tokenizer).
    """
    try:
        enc = tokenizer(  # type: ignore[operator]
            text, add_special_tokens=False, return_offsets_mapping=True
        )
    except NotImplementedError as e:
        raise TypeError(f"{type(tokenizer).__name__} gives no offset mapping: {e}") from None
    return np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)


def char_to_token_spans(
    offsets: npt.ArrayLike, spans: npt.ArrayLike, policy: TokenPolicy = "strict"
) -> npt.NDArray[np.int64]:
    """Map code point spans ``[m, 2]`` to token spans ``[m, 2]`` (half-open token indices).

    ``offsets`` is a tokenizer's offset mapping ``[n_tokens, 2]`` (:func:`token_offsets`);
    tokens with an empty range (special tokens) are skipped, tokens sharing a character
    (byte-level BPE pieces of one character) are kept together. ``policy``:

    * ``"strict"``: both ends must be token boundaries, else ``(-1, -1)``;
    * ``"expand"``: the smallest run of tokens covering the span (may cover more text);
    * ``"contract"``: the largest run of tokens inside it (``(-1, -1)`` if none).

    With Qwen2.5, 167 of CLUENER dev's 3,072 gold spans (5.4%) are not on token boundaries:
    ``strict`` rejects them, ``expand`` grows them by the characters their edge tokens share
    with the context, ``contract`` shrinks them (and drops those inside one token).

    Raises:
        nerlm.OffsetError: Offsets out of text order, or a span with ``end < start``.
    """
    o = np.ascontiguousarray(np.asarray(offsets, dtype=np.int64).reshape(-1, 2))
    s = np.ascontiguousarray(np.asarray(spans, dtype=np.int64).reshape(-1, 2))
    return np.asarray(_native.char_to_token_spans(o, s, policy))


def token_to_char_spans(offsets: npt.ArrayLike, spans: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Map token spans ``[m, 2]`` back to code point spans ``[m, 2]`` (``(-1, -1)`` when the
    tokens cover no text).

    Raises:
        nerlm.OffsetError: A token span past the offset mapping or with ``end < start``.
    """
    o = np.ascontiguousarray(np.asarray(offsets, dtype=np.int64).reshape(-1, 2))
    s = np.ascontiguousarray(np.asarray(spans, dtype=np.int64).reshape(-1, 2))
    return np.asarray(_native.token_to_char_spans(o, s))

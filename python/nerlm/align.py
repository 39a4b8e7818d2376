"""Entity strings -> character spans (Rust core, ``nerlm._native.align_left_to_right``).

Policy *left-to-right, non-overlapping*: within one group (for ``iepile-json``, one label's
list), strings are placed in the order the model wrote them, each on the leftmost occurrence
that overlaps no span already placed in its group. A string whose occurrences are all taken is
placed on its leftmost occurrence with status ``duplicate``; a string that does not occur is
``ungrounded`` and gets no span. Offsets are half-open code point offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from nerlm import _native


class AlignStatus(str, Enum):
    """How an entity string was placed in its text."""

    EXACT = "exact"
    DUPLICATE = "duplicate"
    UNGROUNDED = "ungrounded"
    #: Written by a label configured as inferred (text not taken from the input, e.g. the
    #: power-grid seed's ``<Province>山东省</Province>``); such entities have no span.
    INFERRED = "inferred"


_STATUS = (AlignStatus.EXACT, AlignStatus.DUPLICATE, AlignStatus.UNGROUNDED)


def align_batch(
    texts: Sequence[str], items: Sequence[Sequence[tuple[str, int]]]
) -> list[list[tuple[int, int, AlignStatus]]]:
    """Place ``(surface, group)`` items in their texts, many documents at once (GIL released).

    Returns:
        Per document, per item: ``(start, end, status)``; ``(0, 0, UNGROUNDED)`` when not found.

    Raises:
        nerlm.ShapeError: ``texts`` and ``items`` differ in length.
    """
    raw = _native.align_left_to_right(list(texts), [list(i) for i in items])
    return [[(s, e, _STATUS[k]) for s, e, k in doc] for doc in raw]


def align(text: str, items: Sequence[tuple[str, int]]) -> list[tuple[int, int, AlignStatus]]:
    """:func:`align_batch` for one document."""
    return align_batch([text], [items])[0]

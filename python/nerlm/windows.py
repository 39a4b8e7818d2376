"""Long documents: windows measured in model tokens, and entities merged back (Rust core).

A document longer than a model's context (or than the ``max_source_length`` it was trained
with) is cut into windows of at most ``max_tokens`` tokens, consecutive windows sharing
``stride`` tokens, so an entity cut by one window's edge is whole in the next. Cuts never fall
between tokens that share a character (byte-level BPE pieces of one rare character). Entities
found per window are mapped back to document offsets and merged:

* identical ``(label, start, end)`` spans found by several windows are one entity;
* when spans from different windows overlap without being identical, the one farther from
  its window's inner edges is kept (it was seen with more context; the other was likely cut),
  ties keeping both; spans of one window are never dropped (nested entities stay);
* the number dropped is reported, never hidden.

``on_overflow`` says what happens to a document longer than ``max_tokens``: ``"error"``
raises :class:`DocumentTooLongError` (with the document id and token count), ``"window"``
windows it, ``"truncate"`` keeps only the first window and marks the plan ``truncated`` so
the caller counts it. Nothing is cut silently.

Offsets are half-open code point offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from nerlm import _native
from nerlm.align import token_offsets
from nerlm.data.model import Entity
from nerlm.errors import NerlmError

OnOverflow = Literal["error", "window", "truncate"]


class DocumentTooLongError(NerlmError):  # type: ignore[misc]
    """A document has more tokens than allowed and ``on_overflow="error"``.

    Attributes:
        doc_id: The document's id (``None`` when not given).
        n_tokens: Its length in tokens.
        max_tokens: The limit.
    """

    def __init__(self, doc_id: str | None, n_tokens: int, max_tokens: int) -> None:
        self.doc_id = doc_id
        self.n_tokens = n_tokens
        self.max_tokens = max_tokens
        where = f"document {doc_id!r}" if doc_id is not None else "a document"
        super().__init__(
            f"{where} has {n_tokens} tokens, more than max_tokens={max_tokens}; use "
            "on_overflow='window' to cut it into windows or 'truncate' to keep the first one"
        )


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a document.

    Attributes:
        index: Position among the document's windows.
        tok_start: First token (index into the document's tokens, special tokens excluded).
        tok_end: One past its last token.
        char_start: First code point of the window in the document.
        char_end: One past its last code point.
        text: ``document[char_start:char_end]``.
    """

    index: int
    tok_start: int
    tok_end: int
    char_start: int
    char_end: int
    text: str


@dataclass(slots=True)
class WindowPlan:
    """The windows of one document.

    Attributes:
        windows: In document order; they cover the text (with ``truncated``, only a prefix).
        n_tokens: The document's length in tokens.
        truncated: ``on_overflow="truncate"`` dropped every window after the first.
    """

    windows: list[Window] = field(default_factory=list)
    n_tokens: int = 0
    truncated: bool = False


def plan_windows(
    text: str,
    *,
    max_tokens: int,
    stride: int = 0,
    tokenizer: object | None = None,
    offsets: npt.ArrayLike | None = None,
    on_overflow: OnOverflow = "window",
    doc_id: str | None = None,
) -> WindowPlan:
    """Cut ``text`` into windows of at most ``max_tokens`` tokens sharing ``stride`` tokens.

    Args:
        text: The document.
        max_tokens: Largest window, in tokens of the model's tokenizer (special tokens and the
            prompt not included).
        stride: Tokens shared by consecutive windows (``0 <= stride < max_tokens``).
        tokenizer: A Hugging Face fast tokenizer; or give ``offsets``.
        offsets: The offset mapping ``[n_tokens, 2]`` (code points) of ``text``.
        on_overflow: ``"error"``, ``"window"`` or ``"truncate"`` (module docs).
        doc_id: Named in errors.

    Raises:
        DocumentTooLongError: ``on_overflow="error"`` and the text is longer than
            ``max_tokens``.
        nerlm.ShapeError: ``stride >= max_tokens``.
        nerlm.OffsetError: Offsets out of text order or past the text.
        ValueError: Neither or both of ``tokenizer`` and ``offsets``, or an unknown
            ``on_overflow``.
    """
    if (tokenizer is None) == (offsets is None):
        raise ValueError("give exactly one of tokenizer and offsets")
    if on_overflow not in ("error", "window", "truncate"):
        raise ValueError(
            f"on_overflow must be 'error', 'window' or 'truncate', not {on_overflow!r}"
        )
    off = (
        token_offsets(tokenizer, text)
        if tokenizer is not None
        else np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    )
    n_tokens = len(off)
    if n_tokens > max_tokens and on_overflow == "error":
        raise DocumentTooLongError(doc_id, n_tokens, max_tokens)
    rows = _native.plan_windows(np.ascontiguousarray(off), len(text), max_tokens, stride)
    windows = [
        Window(i, int(a), int(b), int(c), int(d), text[int(c) : int(d)])
        for i, (a, b, c, d) in enumerate(rows.tolist())
    ]
    truncated = on_overflow == "truncate" and len(windows) > 1
    if truncated:
        windows = windows[:1]
    return WindowPlan(windows, n_tokens, truncated)


class _Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def label(self) -> str: ...


@dataclass(slots=True)
class MergedEntities:
    """Entities of a document merged from its windows.

    Attributes:
        entities: Document spans, sorted.
        dropped: Spans dropped as edge conflicts (module docs).
        duplicates: Identical spans found by more than one window (kept once).
        ungrounded: Window entities without a span (``start < 0``), passed through as
            ``(window index, entity)``.
    """

    entities: list[Entity] = field(default_factory=list)
    dropped: int = 0
    duplicates: int = 0
    ungrounded: list[tuple[int, object]] = field(default_factory=list)


def merge_windows(
    text: str, windows: Sequence[Window], found: Sequence[Sequence[_Span]]
) -> MergedEntities:
    """Map entities found per window (window-local offsets) to ``text`` and merge them.

    Args:
        text: The document.
        windows: Its windows (:func:`plan_windows`).
        found: Per window, entities with ``start``, ``end`` (window code points; ``-1`` when
            ungrounded) and ``label``.

    Raises:
        ValueError: ``found`` and ``windows`` differ in length, or a span lies outside its
            window.
    """
    if len(found) != len(windows):
        raise ValueError(f"{len(found)} entity lists for {len(windows)} windows")
    labels: dict[str, int] = {}
    rows: list[tuple[int, int, int, int]] = []
    out = MergedEntities()
    for w, ents in zip(windows, found, strict=True):
        n = w.char_end - w.char_start
        for e in ents:
            if e.start < 0:
                out.ungrounded.append((w.index, e))
                continue
            if not 0 <= e.start < e.end <= n:
                raise ValueError(
                    f"window {w.index}: span [{e.start}, {e.end}) of {e.label!r} is outside "
                    f"the window's {n} code points"
                )
            lab = labels.setdefault(e.label, len(labels))
            rows.append((w.index, lab, e.start + w.char_start, e.end + w.char_start))
    win = np.array(
        [[w.tok_start, w.tok_end, w.char_start, w.char_end] for w in windows], dtype=np.int64
    ).reshape(-1, 4)
    spans = np.array(rows, dtype=np.int64).reshape(-1, 4)
    distinct = len({r[1:] for r in rows})
    kept, dropped = _native.merge_window_spans(win, spans)
    names = list(labels)
    out.entities = sorted(Entity(s, e, names[lab], text[s:e]) for _, lab, s, e in kept.tolist())
    out.dropped = dropped
    out.duplicates = len(rows) - distinct
    return out

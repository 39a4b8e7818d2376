"""What every output format provides, and the result of parsing model output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nerlm.align import AlignOptions, AlignStatus, align
from nerlm.data.model import Example


@dataclass(frozen=True, slots=True)
class ParsedEntity:
    """An entity read from model output and placed in the input.

    Attributes:
        label: The label the model wrote.
        text: The entity string the model wrote.
        start: Code point start in the input (``-1`` when ungrounded).
        end: Code point end, exclusive (``-1`` when ungrounded).
        status: How the string was placed (see :mod:`nerlm.align`).
    """

    label: str
    text: str
    start: int
    end: int
    status: AlignStatus


@dataclass(slots=True)
class ParseResult:
    """The outcome of parsing one model output. Parsing never raises on model output.

    Attributes:
        entities: Entities in the order the model wrote them.
        error: Why the output could not be parsed (then ``entities`` is empty), or None.
        unknown_labels: Labels the model wrote that are not in the schema (their entities are
            kept in ``entities`` and counted here).
        missing_labels: Schema labels the output lacks.
    """

    entities: list[ParsedEntity] = field(default_factory=list)
    error: str | None = None
    unknown_labels: list[str] = field(default_factory=list)
    missing_labels: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the output parsed."""
        return self.error is None


def place(
    text: str,
    items: Sequence[tuple[str, int]],
    labels: Sequence[str],
    options: AlignOptions | None = None,
) -> list[ParsedEntity]:
    """Place ``(surface, group)`` items in ``text`` (:func:`nerlm.align.align`) as entities
    with ``labels[i]``; ungrounded ones get ``start == end == -1``.

    Raises:
        ValueError: ``options.occurrence == "all"`` (one entity per item here).
    """
    if options is not None and options.occurrence == "all":
        raise ValueError("occurrence 'all' places one item on many spans; use align_spans")
    placed = align(text, items, options)
    return [
        ParsedEntity(
            label,
            surface,
            p.start if p.status is not AlignStatus.UNGROUNDED else -1,
            p.end if p.status is not AlignStatus.UNGROUNDED else -1,
            p.status,
        )
        for (surface, _), label, p in zip(items, labels, placed, strict=True)
    ]


def encodable(s: str) -> bool:
    """False when ``s`` holds a lone surrogate (it cannot be placed in UTF-8 text)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class LabelMapped:
    """Label naming shared by the formats: corpus labels <-> the names written in outputs.

    Args:
        label_map: Optional map from corpus labels to output names (e.g. CLUENER ``name`` ->
            ``人名``); parsing maps back.
    """

    def __init__(self, label_map: Mapping[str, str] | None = None) -> None:
        self.label_map = dict(label_map or {})
        self._inverse = {v: k for k, v in self.label_map.items()}

    def schema_name(self, label: str) -> str:
        """The name of corpus label ``label`` in the schema."""
        return self.label_map.get(label, label)

    def corpus_label(self, name: str) -> str:
        """The corpus label of schema name ``name`` (inverse of :meth:`schema_name`)."""
        return self._inverse.get(name, name)

    def chunks(self, labels: Sequence[str]) -> list[list[str]]:
        """The schema chunks of one document: one instruction per chunk (here: all labels)."""
        return [list(labels)]

    def grammar_options(self) -> dict[str, Any]:
        """Format-specific keyword arguments for :class:`nerlm.TokenTable`."""
        return {}


class OutputFormat(Protocol):
    """An output format: prompt, target and parser (DESIGN.md, "Output formats")."""

    name: str

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """The instruction for ``example`` with schema ``labels``."""
        ...

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """The text the model is trained to write for ``example``."""
        ...

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Read entities from ``output`` and place them in ``text``; never raises."""
        ...

    def schema_name(self, label: str) -> str:
        """The name of corpus label ``label`` in outputs."""
        ...

    def chunks(self, labels: Sequence[str]) -> list[list[str]]:
        """Split a schema over instructions (``iepile-json``: ``split_num`` labels each)."""
        ...

    def grammar_options(self) -> dict[str, Any]:
        """Format-specific keyword arguments for :class:`nerlm.TokenTable`."""
        ...

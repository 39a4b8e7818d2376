"""What every output format provides, and the result of parsing model output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nerlm.align import AlignStatus
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

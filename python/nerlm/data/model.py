"""The canonical data model: one :class:`Example` per document.

Offsets are half-open intervals in Unicode code points of ``Example.text`` (Python string
indices): ``text[start:end] == entity.text`` holds for gold data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, order=True)
class Entity:
    """One labelled span.

    Attributes:
        start: First code point of the span.
        end: One past the last code point (half-open).
        label: The entity type.
        text: The surface string, ``document_text[start:end]``.
    """

    start: int
    end: int
    label: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON object ``{"start", "end", "label", "text"}``."""
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text}


@dataclass(slots=True)
class Example:
    """One document with its entities.

    Attributes:
        id: Unique per record, even when texts repeat.
        text: The document.
        entities: Spans sorted by ``(start, end, label)``.
        meta: Free-form metadata; ``source`` and ``split`` are used in reports.
    """

    id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def check(self) -> str | None:
        """Return the first inconsistency (offsets outside the text, surface mismatch), or None."""
        n = len(self.text)
        for e in self.entities:
            if not (0 <= e.start < e.end <= n):
                return f"entity {e.label!r} [{e.start}, {e.end}) is outside text of length {n}"
            if self.text[e.start : e.end] != e.text:
                return (
                    f"entity {e.label!r} [{e.start}, {e.end}) is {e.text!r} but the text there "
                    f"is {self.text[e.start : e.end]!r}"
                )
        return None

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON object ``{"id", "text", "entities", "meta"}``."""
        return {
            "id": self.id,
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "meta": self.meta,
        }

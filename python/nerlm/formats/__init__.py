"""Output formats: what the model is trained to write (DESIGN.md, "Output formats")."""

from __future__ import annotations

from typing import Any

from nerlm.formats.base import OutputFormat, ParsedEntity, ParseResult
from nerlm.formats.clue_fill import ClueFill
from nerlm.formats.iepile_json import IepileJson, read_iepile
from nerlm.formats.json_lines import JsonLines
from nerlm.formats.type_pairs import TypePairs
from nerlm.formats.xml_inline import XmlInline

#: Formats by name.
FORMATS: dict[str, type[Any]] = {
    cls.name: cls for cls in (IepileJson, ClueFill, JsonLines, XmlInline, TypePairs)
}


def get_format(name: str, **options: Any) -> OutputFormat:
    """Instantiate the output format ``name``.

    Raises:
        ValueError: Unknown format name (the message lists the known ones).
    """
    try:
        cls = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; known: {sorted(FORMATS)}") from None
    fmt: OutputFormat = cls(**options)
    return fmt


__all__ = [
    "FORMATS",
    "IepileJson",
    "OutputFormat",
    "ParseResult",
    "ParsedEntity",
    "get_format",
    "read_iepile",
]

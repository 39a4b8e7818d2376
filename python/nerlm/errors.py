"""The exception hierarchy.

Every error nerlm raises is a :class:`NerlmError`. The classes raised by the Rust core are
defined in :mod:`nerlm._native` and re-exported here; the Python side adds errors that carry a
location in an input file.
"""

from __future__ import annotations

from nerlm._native import (
    GrammarError,
    NerlmError,
    OffsetError,
    ShapeError,
    TagError,
    TokenizerError,
    TokenRejectedError,
)

__all__ = [
    "DataFormatError",
    "GrammarError",
    "NerlmError",
    "OffsetError",
    "ShapeError",
    "TagError",
    "TokenRejectedError",
    "TokenizerError",
]


class DataFormatError(NerlmError, ValueError):  # type: ignore[misc]
    """A record of an input file is malformed.

    Attributes:
        path: The file (``"<memory>"`` for in-memory data).
        line: 1-based line number of the record.
        reason: What is wrong.
    """

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")

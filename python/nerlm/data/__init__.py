"""The canonical data model and readers/writers per corpus format."""

from nerlm.data.cluener import (
    CLUENER_LABELS,
    CLUENER_LABELS_ZH,
    read_cluener,
    write_cluener,
)
from nerlm.data.jsonl import example_from_dict, read_jsonl, write_jsonl
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport

__all__ = [
    "CLUENER_LABELS",
    "CLUENER_LABELS_ZH",
    "Entity",
    "Example",
    "ReadReport",
    "example_from_dict",
    "read_cluener",
    "read_jsonl",
    "write_cluener",
    "write_jsonl",
]

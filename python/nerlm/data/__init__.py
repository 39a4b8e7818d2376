"""The canonical data model and readers/writers per corpus format (see
:mod:`nerlm.data.registry` for the formats by name)."""

from nerlm.data.chinese_ner_sft import read_chinese_ner_sft, write_chinese_ner_sft
from nerlm.data.cluener import (
    CLUENER_LABELS,
    CLUENER_LABELS_ZH,
    read_cluener,
    write_cluener,
)
from nerlm.data.conll import (
    CHAR_PRESETS,
    TaggedSentence,
    read_char_tags,
    read_conll2003,
    read_tagged,
    write_char_tags,
    write_conll2003,
)
from nerlm.data.doccano import read_doccano, write_doccano
from nerlm.data.iepile import read_iepile_raw, write_iepile_raw, write_iepile_test
from nerlm.data.jsonl import example_from_dict, read_jsonl, write_jsonl
from nerlm.data.label_studio import read_label_studio, write_label_studio
from nerlm.data.model import Entity, Example
from nerlm.data.registry import READERS, WRITERS, read_corpus, write_corpus
from nerlm.data.report import ReadReport

__all__ = [
    "CHAR_PRESETS",
    "CLUENER_LABELS",
    "CLUENER_LABELS_ZH",
    "READERS",
    "WRITERS",
    "Entity",
    "Example",
    "ReadReport",
    "TaggedSentence",
    "example_from_dict",
    "read_char_tags",
    "read_chinese_ner_sft",
    "read_cluener",
    "read_conll2003",
    "read_corpus",
    "read_doccano",
    "read_iepile_raw",
    "read_jsonl",
    "read_label_studio",
    "read_tagged",
    "write_char_tags",
    "write_chinese_ner_sft",
    "write_cluener",
    "write_conll2003",
    "write_corpus",
    "write_doccano",
    "write_iepile_raw",
    "write_iepile_test",
    "write_jsonl",
    "write_label_studio",
]

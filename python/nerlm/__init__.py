"""nerlm: named-entity recognition with large language models.

Outputs that always parse and never invent text (grammar-constrained, grounded decoding over a
tokenizer's exact token bytes), entity strings mapped back to character offsets, and fast,
explicit scoring. Offsets everywhere are half-open intervals in Unicode code points.

Heavy dependencies (torch, transformers) load only when generation or model loading is used:
``nerlm.ConstrainedLogitsProcessor``, ``nerlm.extract`` and ``nerlm.load_model`` import them on
first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nerlm._native import Matcher, TokenTable, Vocabulary, fill_next_token_bitmask_batch
from nerlm.align import (
    AlignedColumns,
    AlignOptions,
    AlignStatus,
    Placement,
    align,
    align_batch,
    align_spans,
    char_to_token_spans,
    convert_offsets,
    token_offsets,
    token_to_char_spans,
)
from nerlm.data import (
    CLUENER_LABELS,
    CLUENER_LABELS_ZH,
    Entity,
    Example,
    ReadReport,
    read_char_tags,
    read_chinese_ner_sft,
    read_cluener,
    read_conll2003,
    read_corpus,
    read_doccano,
    read_iepile_raw,
    read_jsonl,
    read_label_studio,
    read_tagged,
    write_char_tags,
    write_chinese_ner_sft,
    write_cluener,
    write_conll2003,
    write_corpus,
    write_doccano,
    write_iepile_raw,
    write_iepile_test,
    write_jsonl,
    write_label_studio,
)
from nerlm.errors import (
    DataFormatError,
    GrammarError,
    NerlmError,
    OffsetError,
    ShapeError,
    TagError,
    TokenizerError,
    TokenRejectedError,
)
from nerlm.formats import (
    IepileJson,
    OutputFormat,
    ParsedEntity,
    ParseResult,
    get_format,
    read_iepile,
)
from nerlm.incontext import ChatClient, DemonstrationPool, extract_incontext
from nerlm.instructions import (
    LLM_NER_LABELS_ZH,
    build_instructions,
    dataset_info_entry,
    examples_from_instructions,
    inferred_entities,
    to_alpaca,
    to_sharegpt,
    type_descriptions,
    update_dataset_info,
    with_inferred,
    write_instructions,
)
from nerlm.models import KNOWN_MODELS, GgufModel, cache_dir, fetch_gguf, load_model
from nerlm.report import ReportFiles, write_report
from nerlm.run import RunSummary, extract_to_file
from nerlm.score import (
    Averaged,
    CompareResult,
    ErrorTaxonomy,
    MatchCounts,
    ModeScore,
    ScoreResult,
    compare,
    score,
    score_arrays,
)
from nerlm.similarity import text_similarity
from nerlm.synth import SynthResult, SynthSpec, load_synth_spec, synthesize
from nerlm.tags import conlleval_compat, seqeval_compat, spans_from_tags, tags_from_spans
from nerlm.windows import (
    DocumentTooLongError,
    MergedEntities,
    Window,
    WindowPlan,
    merge_windows,
    plan_windows,
)

if TYPE_CHECKING:
    from nerlm.generate import ConstrainedLogitsProcessor, Extraction, extract, vocabulary_for
    from nerlm.train import TrainConfig, TrainResult, fine_tune, load_train_config, load_trained

__version__ = "0.1.0"

_LAZY = {
    "ConstrainedLogitsProcessor": "nerlm.generate",
    "Extraction": "nerlm.generate",
    "extract": "nerlm.generate",
    "vocabulary_for": "nerlm.generate",
    "TrainConfig": "nerlm.train",
    "TrainResult": "nerlm.train",
    "fine_tune": "nerlm.train",
    "load_train_config": "nerlm.train",
    "load_trained": "nerlm.train",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'nerlm' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(mod)
    except ImportError as e:
        raise ImportError(
            f"nerlm.{name} needs torch and transformers: pip install 'nerlm[hf]' ({e})"
        ) from e
    return getattr(module, name)


__all__ = [
    "CLUENER_LABELS",
    "CLUENER_LABELS_ZH",
    "KNOWN_MODELS",
    "LLM_NER_LABELS_ZH",
    "AlignOptions",
    "AlignStatus",
    "AlignedColumns",
    "Averaged",
    "ChatClient",
    "CompareResult",
    "ConstrainedLogitsProcessor",
    "DataFormatError",
    "DemonstrationPool",
    "DocumentTooLongError",
    "Entity",
    "ErrorTaxonomy",
    "Example",
    "Extraction",
    "GgufModel",
    "GrammarError",
    "IepileJson",
    "MatchCounts",
    "Matcher",
    "MergedEntities",
    "ModeScore",
    "NerlmError",
    "OffsetError",
    "OutputFormat",
    "ParseResult",
    "ParsedEntity",
    "Placement",
    "ReadReport",
    "ReportFiles",
    "RunSummary",
    "ScoreResult",
    "ShapeError",
    "SynthResult",
    "SynthSpec",
    "TagError",
    "TokenRejectedError",
    "TokenTable",
    "TokenizerError",
    "TrainConfig",
    "TrainResult",
    "Vocabulary",
    "Window",
    "WindowPlan",
    "__version__",
    "align",
    "align_batch",
    "align_spans",
    "build_instructions",
    "cache_dir",
    "char_to_token_spans",
    "compare",
    "conlleval_compat",
    "convert_offsets",
    "dataset_info_entry",
    "examples_from_instructions",
    "extract",
    "extract_incontext",
    "extract_to_file",
    "fetch_gguf",
    "fill_next_token_bitmask_batch",
    "fine_tune",
    "get_format",
    "inferred_entities",
    "load_model",
    "load_synth_spec",
    "load_train_config",
    "load_trained",
    "merge_windows",
    "plan_windows",
    "read_char_tags",
    "read_chinese_ner_sft",
    "read_cluener",
    "read_conll2003",
    "read_corpus",
    "read_doccano",
    "read_iepile",
    "read_iepile_raw",
    "read_jsonl",
    "read_label_studio",
    "read_tagged",
    "score",
    "score_arrays",
    "seqeval_compat",
    "spans_from_tags",
    "synthesize",
    "tags_from_spans",
    "text_similarity",
    "to_alpaca",
    "to_sharegpt",
    "token_offsets",
    "token_to_char_spans",
    "type_descriptions",
    "update_dataset_info",
    "vocabulary_for",
    "with_inferred",
    "write_char_tags",
    "write_chinese_ner_sft",
    "write_cluener",
    "write_conll2003",
    "write_corpus",
    "write_doccano",
    "write_iepile_raw",
    "write_iepile_test",
    "write_instructions",
    "write_jsonl",
    "write_label_studio",
    "write_report",
]

"""IEPile / InstructKGC NER data (Gui et al., 2024, "IEPile: Unearthing Large-Scale Schema-Based
Information Extraction Corpus", https://github.com/zjunlp/IEPile; DeepKE's InstructKGC,
https://github.com/zjunlp/DeepKE/tree/main/example/llm/InstructKGC).

Two file kinds:

* raw ``sample.json``: JSONL ``{"text": ..., "entity": [{"entity": surface, "entity_type":
  label}, ...]}`` with entity strings but no offsets (:func:`read_iepile_raw`,
  :func:`write_iepile_raw`). The strings are placed with :func:`nerlm.align.align`: per label,
  left to right, each on the leftmost occurrence that overlaps no string of its label placed
  before it; a string listed more often than it occurs is the same entity again.
* instruction files, one line per schema chunk of ``split_num`` labels: ``train.json`` lines
  hold the target in ``output``, ``test.json`` lines a JSON list of ``{"entity",
  "entity_type"}`` in ``label``. :func:`nerlm.formats.iepile_json.read_iepile` reads both;
  :func:`write_iepile_test` writes ``test.json`` lines (writing ``train.json`` lines is
  instruction building: :class:`nerlm.formats.IepileJson`).

Round trip: both writers write ``json.dumps(record, ensure_ascii=False)`` per line with the
file's entity order (``meta["order"]``) and other members (``meta["fields"]``); the raw and
test files in ``../shared/data/iepile_samples`` come back byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from nerlm.align import AlignStatus, align
from nerlm.data._common import (
    PathLike,
    Problems,
    guess_split,
    in_file_order,
    iter_text_records,
    key_order,
    mark_final_newline,
    ordered_record,
    other_fields,
    own,
    with_file_order,
    write_records,
    write_text_atomic,
)
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

__all__ = ["read_iepile_raw", "write_iepile_raw", "write_iepile_test"]


def read_iepile_raw(
    path: PathLike,
    *,
    split: str | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read IEPile raw NER data (``sample.json``: text and entity strings without offsets).

    Args:
        path: The JSONL file.
        split: ``meta["split"]`` and the ids ``iepile-{split}-{index}``; default: guessed
            from the file name.
        lenient: Skip entity strings that are not in their text, counting them in ``report``
            (kind ``ungrounded``).
        report: Where lenient reads count what they skip.

    Returns:
        One example per line; spans placed left to right per label (see the module
        docstring), half-open code point offsets.

    Raises:
        DataFormatError: A malformed line, or an entity string that is not in its text (with
            file and line), unless ``lenient`` for the latter.
    """
    p = str(path)
    problems = Problems(p, lenient, report)
    name = guess_split(p, split)
    out: list[Example] = []
    for line, rec, text in iter_text_records(p):
        raw = rec.get("entity", [])
        if not isinstance(raw, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("entity"), str)
            and isinstance(e.get("entity_type"), str)
            and e["entity"]
            for e in raw
        ):
            raise DataFormatError(
                p, line, '\'entity\' must be a list of {"entity", "entity_type"} strings'
            )
        groups: dict[str, int] = {}
        items = [(e["entity"], groups.setdefault(e["entity_type"], len(groups))) for e in raw]
        listed: list[Entity] = []
        extras: list[dict[str, Any]] = []
        for e, placed in zip(raw, align(text, items), strict=True):
            if placed.status is AlignStatus.UNGROUNDED:
                problems(
                    "ungrounded",
                    line,
                    f"entity {e['entity']!r} ({e['entity_type']}) is not in the text",
                )
                continue
            listed.append(Entity(placed.start, placed.end, e["entity_type"], e["entity"]))
            extras.append(other_fields(e, ("entity", "entity_type")))
        meta: dict[str, Any] = {"source": "iepile", "split": name, "line": line}
        fields = other_fields(rec, ("text", "entity"))
        if fields:
            meta["fields"] = fields
        key_order(rec, ("text", "entity"), meta)
        entities = with_file_order(listed, extras, meta)
        out.append(Example(f"iepile-{name}-{len(out)}", text, entities, meta))
    mark_final_newline(p, out)
    problems.done()
    return out


def _pairs(ex: Example, labels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for e, extra in in_file_order(ex, "iepile"):
        if labels is None or e.label in labels:
            out.append({"entity": e.text, "entity_type": e.label, **extra})
    return out


def write_iepile_raw(examples: Iterable[Example], path: PathLike) -> int:
    """Write IEPile raw NER JSONL (``{"text", "entity": [{"entity", "entity_type"}]}``)
    atomically, entities in the file order kept in ``meta`` (else text order).

    Offsets are not written: reading the file back places each string left to right per
    label, which gives the same spans when every entity is the leftmost free occurrence of its
    string (true of files read with :func:`read_iepile_raw`).

    Returns:
        The number of records written.
    """

    def record(ex: Example) -> dict[str, Any]:
        fields = own(ex, "iepile", "fields")
        return ordered_record(
            [("text", ex.text), ("entity", _pairs(ex))],
            fields if isinstance(fields, dict) else {},
            own(ex, "iepile", "keys"),
        )

    return write_records(examples, record, path)


def write_iepile_test(
    examples: Iterable[Example],
    path: PathLike,
    *,
    labels: Sequence[str] | None = None,
    split_num: int = 6,
    language: str | None = None,
    label_map: dict[str, str] | None = None,
) -> int:
    """Write IEPile ``test.json``-style records: ``{"id", "instruction", "label"}`` per schema
    chunk, ``label`` being ``json.dumps([{"entity", "entity_type"}, ...])`` of the chunk's
    entities.

    The instruction is rendered by :class:`nerlm.formats.IepileJson`. Examples read from an
    IEPile instruction file (:func:`nerlm.formats.iepile_json.read_iepile`) are written with
    the schema chunks, ids and entity order they were read with (``meta["schemas"]``,
    ``meta["iepile_id"]``, ``meta["order"]``); others with ``labels`` split into chunks of
    ``split_num`` and entities in text order.

    Args:
        examples: The documents.
        path: The file, written atomically.
        labels: The schema (corpus labels, in order); default: the labels of the examples,
            sorted.
        split_num: Largest number of labels per instruction (IEPile: 6 for NER).
        language: ``"zh"`` or ``"en"``: which IEPile instruction text; default: each
            example's ``meta["language"]``, else ``"zh"``.
        label_map: Corpus label -> schema name (e.g. CLUENER ``name`` -> ``人名``).

    Returns:
        The number of records (lines) written.
    """
    from nerlm.formats.iepile_json import IepileJson

    exs = list(examples)
    fmts = {
        lang: IepileJson(split_num=split_num, language=lang, label_map=label_map)
        for lang in ("zh", "en")
    }
    fmt = fmts["zh"]
    schema = (
        list(labels) if labels is not None else sorted({e.label for ex in exs for e in ex.entities})
    )

    def records() -> Iterable[dict[str, Any]]:
        for ex in exs:
            kept = ex.meta.get("schemas")
            if (
                labels is None
                and isinstance(kept, list)
                and all(isinstance(c, list) and all(isinstance(x, str) for x in c) for c in kept)
                and {e.label for e in ex.entities} <= {fmt.corpus_label(x) for c in kept for x in c}
            ):
                chunks = [[fmt.corpus_label(x) for x in c] for c in kept]
            else:
                chunks = fmt.chunks(schema)
            lang = language or ex.meta.get("language", "zh")
            if lang not in fmts:
                raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")
            doc_id = ex.meta.get("iepile_id", ex.id)
            for chunk in chunks:
                pairs = [
                    {**p, "entity_type": fmt.schema_name(p["entity_type"])}
                    for p in _pairs(ex, chunk)
                ]
                yield {
                    "id": doc_id,
                    "instruction": fmts[lang].render_prompt(ex, chunk),
                    "label": json.dumps(pairs, ensure_ascii=False),
                }

    lines = [json.dumps(r, ensure_ascii=False) for r in records()]
    eol = not exs or exs[-1].meta.get("eol", True) is not False
    write_text_atomic("\n".join(lines) + ("\n" if lines and eol else ""), path)
    return len(lines)

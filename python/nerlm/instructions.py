"""Instruction data for fine-tuning: canonical examples -> prompt/target records, and exports.

:func:`build_instructions` turns canonical :class:`~nerlm.data.model.Example` documents into
instruction records for any output format (DESIGN.md, "Output formats")::

    {"id": "cluener-dev-17#0", "instruction": PROMPT, "input": "", "output": TARGET,
     "labels": ["company", "name", ...],
     "meta": {"doc_id": "cluener-dev-17", "chunk": 0, "chunks": 2, "format": "iepile-json",
              "text": TEXT, "doc_meta": {...}}}

``instruction`` is the format's whole prompt (it already holds the input text, so ``input`` is
empty and LLaMA-Factory uses the instruction alone as the user turn); ``output`` is the target;
``labels`` are the *corpus* labels of the instruction's schema, in the order the prompt lists
them (the prompt and target use their names under the format's label map). Record ids are
``"{document id}#{chunk index}"``: unique even when texts repeat, unlike DeepKE's
``sha256(text)`` ids, which merge documents with the same text; ``meta.doc_id`` groups the
chunks of a document again (:func:`examples_from_instructions`, and
:func:`nerlm.read_iepile` for ``iepile-json`` records).

Schema construction follows IEPile (Gui et al., 2024, "IEPile: Unearthing Large-Scale
Schema-Based Information Extraction Corpus", https://arxiv.org/abs/2402.14710; converter in
DeepKE, https://github.com/zjunlp/DeepKE/tree/main/example/llm/InstructKGC): per document the
schema holds every label present in the document plus a sample of the absent labels (*negative
schema sampling*), in stable or random order, split into instructions of ``split_num`` labels
by ``iepile-json``.

Exports: alpaca and sharegpt files and the ``dataset_info.json`` entry that LLaMA-Factory reads
(https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nerlm.align import AlignStatus
from nerlm.data.cluener import CLUENER_LABELS_ZH
from nerlm.data.jsonl import write_json_lines
from nerlm.data.model import Entity, Example
from nerlm.formats import get_format
from nerlm.formats.base import OutputFormat
from nerlm.formats.clue_fill import CLUENER_DESCRIPTIONS
from nerlm.formats.xml_inline import XmlInline

#: CLUENER English labels -> the Chinese type names of the LLM-NER seed (ChatGLM2 + P-tuning
#: v2 on CLUENER, https://github.com/cjymz886/LLM-NER). It differs from
#: :data:`nerlm.CLUENER_LABELS_ZH` in three names: ``movie`` 影视, ``book`` 书籍, ``address`` 地点.
LLM_NER_LABELS_ZH: dict[str, str] = {
    "name": "人名",
    "organization": "组织机构",
    "scene": "景点",
    "company": "企业",
    "movie": "影视",
    "book": "书籍",
    "government": "政府",
    "position": "职位",
    "address": "地点",
    "game": "游戏",
}

#: Label orders of :func:`build_instructions`.
ORDERS = ("stable", "random")
#: Output styles of :func:`write_instructions`.
STYLES = ("jsonl", "alpaca", "sharegpt")


def _rng(seed: int, key: str) -> random.Random:
    """A generator for one document: depends on ``seed`` and the document id only, so a
    document's sample does not change when other documents are added or removed (string
    seeds are hashed with SHA-512 by :class:`random.Random`, the same in every process)."""
    return random.Random(f"{seed}\x1f{key}")


def inferred_entities(example: Example) -> list[Entity]:
    """The inferred entities stored in ``example.meta["inferred"]`` as ``xml-inline`` entities.

    Canonical JSONL keeps only spans that satisfy ``text[start:end] == entity.text``; labels
    whose text is *not* taken from the input (the power-grid seed's ``<Province>山东省</Province>``,
    see :mod:`nerlm.formats.xml_inline`) are kept in ``meta["inferred"]`` as a list of
    ``{"label", "text", "at"}`` objects, ``at`` being the code point insertion point. This
    returns them as entities with ``start == end == at``, the ``xml-inline`` representation.

    Raises:
        ValueError: A malformed ``meta["inferred"]`` (the message names the example id).
    """
    raw = example.meta.get("inferred", [])
    if not isinstance(raw, list):
        raise ValueError(f"example {example.id!r}: meta['inferred'] must be a list")
    out = []
    for k, item in enumerate(raw):
        ok = isinstance(item, dict)
        label, text, at = (item.get("label"), item.get("text"), item.get("at")) if ok else (0, 0, 0)
        if not (
            isinstance(label, str)
            and isinstance(text, str)
            and text
            and isinstance(at, int)
            and not isinstance(at, bool)
            and 0 <= at <= len(example.text)
        ):
            raise ValueError(
                f"example {example.id!r}: meta['inferred'][{k}] must be "
                f'{{"label": str, "text": non-empty str, "at": 0..{len(example.text)}}}, '
                f"got {item!r}"
            )
        out.append(Entity(at, at, label, text))
    return out


def with_inferred(example: Example) -> Example:
    """A copy of ``example`` whose entities also hold :func:`inferred_entities` (for
    ``xml-inline`` rendering); ``meta`` is shared."""
    extra = inferred_entities(example)
    if not extra:
        return example
    return Example(example.id, example.text, sorted([*example.entities, *extra]), example.meta)


def _entities_for(ex: Example, fmt: OutputFormat) -> Example:
    """``ex`` with the inferred entities the format can write (``xml-inline`` only), checked.

    Formats other than ``xml-inline`` cannot write text that is not in the input, so inferred
    labels in ``meta`` are left out for them.
    """
    inferred = fmt.inferred if isinstance(fmt, XmlInline) else frozenset()
    if inferred:
        extra = [e for e in inferred_entities(ex) if e.label in inferred]
        if extra:
            ex = Example(ex.id, ex.text, sorted([*ex.entities, *extra]), ex.meta)
    real = Example(ex.id, ex.text, [e for e in ex.entities if e.label not in inferred])
    problem = real.check()
    if problem:
        raise ValueError(f"example {ex.id!r}: {problem}")
    return ex


def _schema(
    labels: list[str],
    present: set[str],
    rng: random.Random,
    negatives: int | None,
    negative_ratio: float | None,
) -> list[str]:
    """The labels present plus a sample of the absent ones, in ``labels`` order (never empty
    when ``labels`` is not)."""
    absent = [lab for lab in labels if lab not in present]
    if negatives is not None:
        k = min(negatives, len(absent))
    elif negative_ratio is not None:
        # DeepKE: a binomial number of absent labels, each kept with probability p.
        k = sum(rng.random() < negative_ratio for _ in absent)
    else:
        k = len(absent)
    if not present and absent:
        k = max(k, 1)  # an instruction without entities still needs a label to ask for
    picked = set(rng.sample(absent, k)) if k < len(absent) else set(absent)
    return [lab for lab in labels if lab in present or lab in picked]


def build_instructions(
    examples: Iterable[Example],
    fmt: OutputFormat | str,
    labels: Sequence[str] | None = None,
    *,
    negatives: int | None = None,
    negative_ratio: float | None = None,
    order: str = "stable",
    seed: int = 0,
    drop_unknown: bool = False,
) -> list[dict[str, Any]]:
    """Instruction records (prompt, target) for ``examples`` in output format ``fmt``.

    Per document the schema is built IEPile-style: every label with an entity in the document,
    plus the absent labels (all of them by default; a sample with ``negatives`` or
    ``negative_ratio``), listed in ``labels`` order (``order="stable"``) or shuffled
    (``order="random"``), then split into instructions by ``fmt.chunks`` (``iepile-json``:
    ``split_num`` labels each). A document without entities always keeps at least one absent
    label, so that it teaches the empty answer. Sampling and shuffling draw from a generator
    seeded by ``(seed, document id)``: the same inputs give the same records, and one
    document's schema does not depend on the others.

    Inferred entities (``meta["inferred"]``, see :func:`inferred_entities`) are written by
    ``xml-inline`` formats configured with those labels as ``inferred``, and left out by the
    other formats.

    Args:
        examples: Canonical documents with unique ids; offsets are half-open code points.
        fmt: An output format instance (with its label map and options) or a format name.
        labels: Corpus labels of the full schema, in order (default: the sorted labels of all
            entities, inferred ones included when the format writes them).
        negatives: Number of absent labels to sample per document (IEPile negative schema
            sampling); all when larger than the number absent.
        negative_ratio: Instead of ``negatives``: keep each absent label with this probability
            (DeepKE's binomial sampling).
        order: ``"stable"`` (``labels`` order) or ``"random"`` (shuffled per document).
        seed: Seed of the sampling and shuffling.
        drop_unknown: Leave out entities whose label is not in ``labels`` instead of raising.

    Returns:
        One record per instruction (see the module docstring), documents in input order and
        chunks in order; ``id`` is ``"{document id}#{chunk index}"``.

    Raises:
        ValueError: Unknown ``order``, bad ``negatives`` / ``negative_ratio`` (or both given),
            a repeated document id, an entity that does not match its text, an entity label
            outside ``labels`` (without ``drop_unknown``), or a target the format cannot
            render; the message names the document id.
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if negatives is not None and negative_ratio is not None:
        raise ValueError("give negatives or negative_ratio, not both")
    if negatives is not None and negatives < 0:
        raise ValueError(f"negatives must be >= 0, got {negatives}")
    if negative_ratio is not None and not 0.0 <= negative_ratio <= 1.0:
        raise ValueError(f"negative_ratio must be within [0, 1], got {negative_ratio}")
    docs = [_entities_for(ex, fmt) for ex in examples]
    if labels is None:
        labels = sorted({e.label for ex in docs for e in ex.entities})
    labels = list(dict.fromkeys(labels))
    known = set(labels)
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for doc in docs:
        ex = doc
        if ex.id in seen:
            raise ValueError(f"document id {ex.id!r} appears twice; ids must be unique")
        seen.add(ex.id)
        unknown = sorted({e.label for e in ex.entities} - known)
        if unknown:
            if not drop_unknown:
                raise ValueError(
                    f"example {ex.id!r}: labels {unknown} are not in the schema {labels} "
                    "(add them to the labels, or leave them out: drop_unknown=True, --drop-unknown)"
                )
            ex = Example(ex.id, ex.text, [e for e in ex.entities if e.label in known], ex.meta)
        rng = _rng(seed, ex.id)
        schema = _schema(labels, {e.label for e in ex.entities}, rng, negatives, negative_ratio)
        if order == "random":
            rng.shuffle(schema)
        chunks = fmt.chunks(schema)
        for k, chunk in enumerate(chunks):
            try:
                prompt = fmt.render_prompt(ex, chunk)
                target = fmt.render_target(ex, chunk)
            except ValueError as e:
                msg = str(e)
                raise ValueError(msg if ex.id in msg else f"example {ex.id!r}: {msg}") from None
            records.append(
                {
                    "id": f"{ex.id}#{k}",
                    "instruction": prompt,
                    "input": "",
                    "output": target,
                    "labels": list(chunk),
                    "meta": {
                        "doc_id": ex.id,
                        "chunk": k,
                        "chunks": len(chunks),
                        "format": fmt.name,
                        "text": ex.text,
                        "doc_meta": ex.meta,
                    },
                }
            )
    return records


_XML_TOKEN = re.compile(r"<(/?)([^<>]*)>|&(?:amp|lt|gt);|&|[^<&]+")


def _insertion_points(output: str, fmt: XmlInline) -> list[int]:
    """Code points of the input copied before each inferred element of a valid ``xml-inline``
    output (the parser reports inferred entities without a position)."""
    names = {fmt.schema_name(lab) for lab in fmt.inferred}
    points: list[int] = []
    copied = 0
    inside: str | None = None
    for m in _XML_TOKEN.finditer(output):
        tok = m.group(0)
        if tok.startswith("<"):
            inside = None if m.group(1) else m.group(2)
            if inside in names:
                points.append(copied)
        elif inside not in names:
            copied += 1 if tok.startswith("&") else len(tok)
    return points


def examples_from_instructions(
    records: Iterable[Mapping[str, Any]], fmt: OutputFormat | str
) -> list[Example]:
    """Parse the outputs of :func:`build_instructions` records back into documents.

    Records are grouped by ``meta.doc_id`` (documents in first-seen order); each output is read
    with ``fmt.parse`` against ``meta.text`` and ``labels``, and the entities of a document's
    chunks are merged. Entities of inferred labels (``xml-inline``) go to ``meta["inferred"]``
    as ``{"label", "text", "at"}``, ``at`` being the code point of the text where the element
    was inserted (see :func:`inferred_entities`).

    Raises:
        ValueError: A record lacking ``output``, ``labels``, ``meta.doc_id`` or ``meta.text``,
            two records of one document with different texts, an output that does not parse,
            or an entity not found in the text; the message names the record id.
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    docs: dict[str, Example] = {}
    for n, rec in enumerate(records):
        rid = rec.get("id", f"#{n}")
        meta = rec.get("meta")
        if not (
            isinstance(meta, dict)
            and isinstance(meta.get("doc_id"), str)
            and isinstance(meta.get("text"), str)
            and isinstance(rec.get("output"), str)
            and isinstance(rec.get("labels"), list)
        ):
            raise ValueError(
                f"record {rid!r}: needs output, labels, meta.doc_id and meta.text "
                "(as written by build_instructions)"
            )
        doc_id, text = meta["doc_id"], meta["text"]
        ex = docs.get(doc_id)
        if ex is None:
            doc_meta = meta.get("doc_meta")
            ex = docs[doc_id] = Example(
                doc_id, text, [], dict(doc_meta) if isinstance(doc_meta, dict) else {}
            )
            ex.meta.pop("inferred", None)
        elif ex.text != text:
            raise ValueError(f"record {rid!r}: document {doc_id!r} has another text before")
        parsed = fmt.parse(rec["output"], text, rec["labels"])
        if not parsed.ok:
            raise ValueError(f"record {rid!r}: output does not parse: {parsed.error}")
        ents = set(ex.entities)
        points = iter(_insertion_points(rec["output"], fmt) if isinstance(fmt, XmlInline) else [])
        for e in parsed.entities:
            if e.status is AlignStatus.UNGROUNDED:
                raise ValueError(f"record {rid!r}: entity {e.text!r} is not in the text")
            if e.status is AlignStatus.INFERRED:
                item = {"label": e.label, "text": e.text, "at": next(points)}
                ex.meta.setdefault("inferred", []).append(item)
            else:
                ents.add(Entity(e.start, e.end, e.label, e.text))
        ex.entities = sorted(ents)
    return list(docs.values())


def type_descriptions(
    examples: Iterable[Example],
    labels: Sequence[str],
    *,
    label_map: Mapping[str, str] | None = None,
    per_type: int = 2,
    seed: int = 0,
    definitions: Mapping[str, str] | None = None,
    max_chars: int = 12,
) -> dict[str, tuple[str, list[str]]]:
    """Definitions and example entities per type for ``clue-fill``'s ``described`` prompt.

    The LLM-NER seed's second prompt (https://github.com/cjymz886/LLM-NER, "instruction2")
    gives each type a definition and a few examples. The examples here are drawn from the
    distinct surfaces of ``examples`` (e.g. the training set), at most ``max_chars`` code
    points long, ``per_type`` of them per label with a generator seeded by ``seed`` (the
    built-in examples when a label has none); definitions come from ``definitions`` (by corpus
    label or schema name), else from the built-in CLUENER ones
    (:data:`nerlm.formats.clue_fill.CLUENER_DESCRIPTIONS`, by schema name or the CLUENER
    Chinese name of the label).

    Returns:
        ``{schema name: (definition, [examples])}``, as ``ClueFill(descriptions=...)`` takes.

    Raises:
        ValueError: A label with no definition, or ``per_type < 0``.
    """
    if per_type < 0:
        raise ValueError("per_type must be >= 0")
    names = dict(label_map or {})
    defs = dict(definitions or {})
    surfaces: dict[str, set[str]] = {lab: set() for lab in labels}
    for ex in examples:
        for e in ex.entities:
            if e.label in surfaces and len(e.text) <= max_chars and e.text.strip():
                surfaces[e.label].add(e.text)
    out: dict[str, tuple[str, list[str]]] = {}
    for lab in labels:
        name = names.get(lab, lab)
        builtin = CLUENER_DESCRIPTIONS.get(name) or CLUENER_DESCRIPTIONS.get(
            CLUENER_LABELS_ZH.get(lab, "")
        )
        definition = defs.get(lab) or defs.get(name) or (builtin[0] if builtin else None)
        if definition is None:
            raise ValueError(
                f"no definition for type {lab!r} ({name!r}); pass definitions={{{lab!r}: ...}}"
            )
        pool = sorted(surfaces[lab])
        rng = _rng(seed, lab)
        shots = rng.sample(pool, min(per_type, len(pool))) if pool else []
        if not shots and builtin:
            shots = builtin[1][:per_type]
        out[name] = (definition, shots)
    return out


# --- exports ---------------------------------------------------------------------------------


def _user_turn(rec: Mapping[str, Any]) -> str:
    """The user message LLaMA-Factory builds from an alpaca record: ``instruction\\ninput``."""
    instr, inp = rec["instruction"], rec.get("input") or ""
    return f"{instr}\n{inp}" if inp else str(instr)


def to_alpaca(
    records: Iterable[Mapping[str, Any]], *, system: str | None = None
) -> list[dict[str, str]]:
    """Alpaca records ``{"instruction", "input", "output"}`` (plus ``"system"`` when given).

    Format: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md ("Alpaca
    Format"); LLaMA-Factory joins ``instruction`` and a non-empty ``input`` with a newline.
    """
    out = []
    for rec in records:
        item = {
            "instruction": str(rec["instruction"]),
            "input": str(rec.get("input") or ""),
            "output": str(rec["output"]),
        }
        if system is not None:
            item["system"] = system
        out.append(item)
    return out


def to_sharegpt(
    records: Iterable[Mapping[str, Any]], *, system: str | None = None
) -> list[dict[str, Any]]:
    """ShareGPT records: ``{"conversations": [{"from": "human", "value": prompt}, {"from":
    "gpt", "value": target}]}`` (plus ``"system"`` when given).

    Format: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md ("Sharegpt
    Format", default tags ``from`` / ``value`` / ``human`` / ``gpt``).
    """
    out = []
    for rec in records:
        item: dict[str, Any] = {
            "conversations": [
                {"from": "human", "value": _user_turn(rec)},
                {"from": "gpt", "value": str(rec["output"])},
            ]
        }
        if system is not None:
            item["system"] = system
        out.append(item)
    return out


def _write_atomic(path: str | os.PathLike[str], content: str) -> None:
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, p)


def write_instructions(
    records: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    style: str = "jsonl",
    *,
    system: str | None = None,
) -> int:
    """Write instruction records, atomically; return the number written.

    Args:
        records: From :func:`build_instructions`.
        path: The output file.
        style: ``"jsonl"`` (the records as they are, one per line), ``"alpaca"`` or
            ``"sharegpt"`` (one JSON list in one file, as LLaMA-Factory expects).
        system: System prompt added to alpaca / sharegpt records.

    Raises:
        ValueError: Unknown style, or ``system`` with the jsonl style.
    """
    if style == "jsonl":
        if system is not None:
            raise ValueError("system is for the alpaca and sharegpt styles")
        return write_json_lines(records, path)
    if style == "alpaca":
        items: list[Any] = to_alpaca(records, system=system)
    elif style == "sharegpt":
        items = to_sharegpt(records, system=system)
    else:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    _write_atomic(path, json.dumps(items, ensure_ascii=False, indent=1) + "\n")
    return len(items)


def dataset_info_entry(file_name: str, style: str, *, system: bool = False) -> dict[str, Any]:
    """The LLaMA-Factory ``dataset_info.json`` description of a file written by
    :func:`write_instructions`.

    Keys per https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md: ``file_name``
    (relative to the directory of ``dataset_info.json``), ``formatting`` and ``columns``
    (alpaca: ``prompt``/``query``/``response``; sharegpt: ``messages``; ``system`` when the
    records have one).

    Raises:
        ValueError: ``style`` is not ``"alpaca"`` or ``"sharegpt"``.
    """
    if style == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output"}
    elif style == "sharegpt":
        columns = {"messages": "conversations"}
    else:
        raise ValueError(f"dataset_info.json describes alpaca or sharegpt files, not {style!r}")
    if system:
        columns["system"] = "system"
    return {"file_name": file_name, "formatting": style, "columns": columns}


def update_dataset_info(
    path: str | os.PathLike[str],
    name: str,
    entry: Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Add ``name: entry`` to a LLaMA-Factory ``dataset_info.json``, keeping its other entries.

    The file is created when missing and rewritten atomically (UTF-8, indented).

    Returns:
        The whole merged object.

    Raises:
        ValueError: The file is not a JSON object, or already describes ``name`` differently
            and ``overwrite`` is false.
    """
    p = Path(path)
    info: dict[str, Any] = {}
    if p.exists():
        try:
            info = json.loads(p.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON: {e.msg} at line {e.lineno}") from None
        if not isinstance(info, dict):
            raise ValueError(f"{p}: expected a JSON object of dataset descriptions")
    old = info.get(name)
    if old is not None and old != dict(entry) and not overwrite:
        raise ValueError(
            f"{p}: dataset {name!r} is already described as {old!r}; "
            "choose another name or overwrite it"
        )
    info[name] = dict(entry)
    _write_atomic(p, json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    return info

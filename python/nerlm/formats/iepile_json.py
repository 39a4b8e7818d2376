"""``iepile-json``: the IEPile / InstructKGC / OneKE NER format (Gui et al., 2024, "IEPile").

The instruction is ``json.dumps({"instruction": ..., "schema": [labels], "input": text})``;
the target is ``{"label": ["entity", ...], ...}`` with every schema label as a key, in schema
order, written as ``json.dumps(..., ensure_ascii=False)`` writes it. Schemas longer than
``split_num`` (6 for NER in IEPile) are split over several instructions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from nerlm.align import AlignStatus
from nerlm.data.model import Entity, Example
from nerlm.errors import DataFormatError
from nerlm.formats.base import LabelMapped, ParseResult, encodable, place

#: IEPile's Chinese NER instruction.
INSTRUCTION_ZH = (
    "你是专门进行实体抽取的专家。请从input中抽取出符合schema定义的实体，"
    "不存在的实体类型返回空列表。请按照JSON字符串的格式回答。"
)
#: IEPile's English NER instruction.
INSTRUCTION_EN = (
    "You are an expert in named entity recognition. Please extract entities that match the "
    "schema definition from the input. Return an empty list if the entity type does not "
    "exist. Please respond in the format of a JSON string."
)


class IepileJson(LabelMapped):
    """The ``iepile-json`` output format.

    Args:
        split_num: Largest number of labels per instruction (IEPile uses 6 for NER).
        language: ``"zh"`` or ``"en"``: which IEPile instruction text to use.
        label_map: Optional map from corpus labels (``Example.entities[i].label``) to the
            names used in the schema (e.g. CLUENER ``name`` -> ``人名``); parsing maps back.
    """

    name = "iepile-json"

    def __init__(
        self,
        split_num: int = 6,
        language: str = "zh",
        label_map: Mapping[str, str] | None = None,
    ) -> None:
        if split_num < 1:
            raise ValueError("split_num must be at least 1")
        if language not in ("zh", "en"):
            raise ValueError("language must be 'zh' or 'en'")
        self.split_num = split_num
        self.instruction = INSTRUCTION_ZH if language == "zh" else INSTRUCTION_EN
        super().__init__(label_map)

    def chunks(self, labels: Sequence[str]) -> list[list[str]]:
        """Split ``labels`` (schema order) into instructions of at most ``split_num`` labels."""
        labels = list(labels)
        return [labels[i : i + self.split_num] for i in range(0, len(labels), self.split_num)] or [
            []
        ]

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """The IEPile instruction for ``example`` with schema ``labels`` (corpus labels)."""
        return json.dumps(
            {
                "instruction": self.instruction,
                "schema": [self.schema_name(lab) for lab in labels],
                "input": example.text,
            },
            ensure_ascii=False,
        )

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """``{"label": [surfaces in text order], ...}`` for the schema ``labels``.

        Entities with a label outside ``labels`` are left out (they belong to another chunk).
        """
        out: dict[str, list[str]] = {self.schema_name(lab): [] for lab in labels}
        for e in sorted(example.entities, key=lambda e: (e.start, e.end)):
            if e.label in labels:
                out[self.schema_name(e.label)].append(e.text)
        return json.dumps(out, ensure_ascii=False)

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Parse model output with :func:`json.loads` (never ``eval``) and place entities.

        Labels in the result are corpus labels. Unparsable output gives a result with
        ``error`` set and no entities (DeepKE's scorer also counts it as empty).
        """
        try:
            obj = json.loads(output)
        except RecursionError:
            return ParseResult(error="not valid JSON: nested too deeply")
        except json.JSONDecodeError as e:
            cut = e.msg.startswith("Unterminated string") or e.pos >= len(output.rstrip())
            tail = " (the output is truncated)" if cut and output.strip() else ""
            return ParseResult(error=f"not valid JSON: {e.msg} at character {e.pos}{tail}")
        if not isinstance(obj, dict):
            return ParseResult(error=f"expected a JSON object, got {type(obj).__name__}")
        names = {self.schema_name(lab): lab for lab in labels}
        items: list[tuple[str, int]] = []
        owners: list[str] = []
        unknown: list[str] = []
        for group, (key, value) in enumerate(obj.items()):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return ParseResult(error=f"the value of {key!r} is not a list of strings")
            if not all(encodable(v) for v in value) or not encodable(key):
                return ParseResult(error=f"the list of {key!r} holds a lone surrogate escape")
            if key not in names:
                unknown.append(key)
            label = names.get(key, self.corpus_label(key))
            for v in value:
                items.append((v, group))
                owners.append(label)
        ents = place(text, items, owners)
        missing = [lab for name, lab in names.items() if name not in obj]
        return ParseResult(ents, None, unknown, missing)


def read_iepile(
    path: str | os.PathLike[str], fmt: IepileJson | None = None, *, split: str | None = None
) -> list[Example]:
    """Read IEPile / InstructKGC NER instruction data back into canonical examples.

    Each line holds ``instruction`` (the JSON string with ``schema`` and ``input``) and either
    ``output`` (the target text, as in ``train.json``) or ``label`` (a JSON list of
    ``{"entity", "entity_type"}``, as in ``test.json``). Consecutive lines with the same input
    and the same document id are the ``split_num`` chunks of one document and are merged, until
    a line repeats a label of the document: that line starts another document with the same
    text (a text that occurs twice). The document id is ``meta.doc_id`` when present (records
    of :func:`nerlm.build_instructions`, whose ``id`` is unique per chunk), else ``id`` when
    present (DeepKE uses ``sha256(text)``, the same for repeated texts); ids are made unique
    with ``-1``, ``-2``, ... (the file's is then kept in ``meta["iepile_id"]``); without
    either, ``iepile-{split}-{index}``. Entity strings are placed in the input left to right,
    per label.

    ``meta`` holds ``source`` (the records' ``source``, else ``"iepile"``), ``split``
    (``split``, else guessed from the file name), ``line`` (the first line of the document),
    ``schemas`` (the schema of each line, as written), ``order`` (the file's entity order,
    when not text order) and ``language`` (``"en"`` for the English instruction), which
    :func:`nerlm.data.write_iepile_test` uses to write ``test.json`` lines back unchanged.

    Raises:
        DataFormatError: A malformed line, an unparsable target, or an entity string that is
            not in its input (with file and line).
    """
    from nerlm.data._common import guess_split, mark_final_newline, with_file_order
    from nerlm.data.jsonl import iter_json_lines

    fmt = fmt or IepileJson()
    p = str(path)
    name = guess_split(p, split)
    out: list[Example] = []
    listed: list[list[Entity]] = []
    key: tuple[Any, str] | None = None
    labels_seen: set[str] = set()
    used: set[str] = set()
    for line, rec in iter_json_lines(p):
        try:
            instr = json.loads(rec["instruction"])
            text, schema = instr["input"], instr["schema"]
            if not isinstance(text, str) or not all(isinstance(x, str) for x in schema):
                raise TypeError("input must be a string and schema a list of strings")
            labels = [fmt.corpus_label(x) for x in schema]
            if "output" in rec:
                parsed = fmt.parse(rec["output"], text, labels)
                if parsed.error:
                    raise DataFormatError(p, line, f"target does not parse: {parsed.error}")
                placed = parsed.entities
            else:
                pairs = json.loads(rec["label"])
                groups: dict[str, int] = {}
                items = [(q["entity"], groups.setdefault(q["entity_type"], len(groups)))
                         for q in pairs]  # fmt: skip
                if not all(isinstance(v, str) for v, _ in items):
                    raise TypeError("entity strings must be strings")
                owners = [fmt.corpus_label(q["entity_type"]) for q in pairs]
                placed = place(text, items, owners)
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise DataFormatError(p, line, f"not an IEPile NER record: {e!r}") from None
        bad = [e.text for e in placed if e.status is AlignStatus.UNGROUNDED]
        if bad:
            raise DataFormatError(p, line, f"entities not found in the input: {bad}")
        rec_meta = rec.get("meta")
        doc = rec_meta.get("doc_id") if isinstance(rec_meta, dict) else None
        doc = rec.get("id") if doc is None else doc
        this = (doc, text)
        if this != key or labels_seen & set(labels):
            base = str(doc) if doc is not None and doc != "" else f"iepile-{name}-{len(out)}"
            doc_id, n = base, 0
            while doc_id in used:
                n += 1
                doc_id = f"{base}-{n}"
            used.add(doc_id)
            meta: dict[str, Any] = {"source": rec.get("source", "iepile"), "split": name}
            meta["line"] = line
            if doc_id != base:
                meta["iepile_id"] = base
            if instr.get("instruction") == INSTRUCTION_EN:
                meta["language"] = "en"
            meta["schemas"] = []
            out.append(Example(doc_id, text, [], meta))
            listed.append([])
            key, labels_seen = this, set()
        labels_seen.update(labels)
        out[-1].meta["schemas"].append(list(schema))
        listed[-1].extend(Entity(e.start, e.end, e.label, e.text) for e in placed)
    for ex, ents in zip(out, listed, strict=True):
        ex.entities = with_file_order(ents, None, ex.meta)
    mark_final_newline(p, out)
    return out

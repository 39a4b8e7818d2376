"""chinese_ner_sft JSONL (the Hugging Face dataset ``qgyd2021/chinese_ner_sft``,
https://huggingface.co/datasets/qgyd2021/chinese_ner_sft, the data of the Qwen2 NER tutorial).

Each line is ``{"text": ..., "entities": [{"start_idx", "end_idx", "entity_text",
"entity_label", "entity_names": [...]}, ...], "data_source": ..., "split": ...}``. The dataset
collects many Chinese NER corpora and their ``end_idx`` conventions differ (CMeEE's is
inclusive, others exclusive), so the reader establishes the convention from ``entity_text``:
``end="auto"`` picks, per file, the one under which ``text[start:end] == entity_text`` holds
for every entity.

Round trip: the writer writes ``json.dumps(record, ensure_ascii=False)`` per line with the
file's key order, entity order, ``entity_names``, other members (``data_source``, ``split``)
and ``end_idx`` convention, all kept in ``meta`` (``fields``, ``keys``, ``order``,
``entity_extras``, ``end``); files written that way come back byte for byte, others equal
record by record (the same JSON values).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from nerlm.data._common import (
    PathLike,
    Problems,
    guess_split,
    in_file_order,
    key_order,
    mark_final_newline,
    ordered_record,
    other_fields,
    own,
    strict_int,
    with_file_order,
    write_records,
)
from nerlm.data.jsonl import iter_json_lines
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

__all__ = ["read_chinese_ner_sft", "write_chinese_ner_sft"]

EndConvention = Literal["auto", "inclusive", "exclusive"]
_ENTITY_KEYS = ("start_idx", "end_idx", "entity_text", "entity_label")
# (line, text, [(start_idx, end_idx, entity_text, entity_label, other members)], record)
_Row = tuple[int, str, list[tuple[int, int, str, str, dict[str, Any]]], dict[str, Any]]


def read_chinese_ner_sft(
    path: PathLike,
    *,
    end: EndConvention = "auto",
    split: str | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read chinese_ner_sft JSONL.

    Args:
        path: The file.
        end: ``"inclusive"`` (``end_idx`` is the last character), ``"exclusive"`` (one
            past it) or ``"auto"``: the convention under which every entity's
            ``entity_text`` is ``text[start_idx:end]``, established over the whole file
            (a file without entities reads as exclusive).
        split: ``meta["split"]`` when a record has no ``split`` member (default: guessed
            from the file name); also in the ids ``chinese-ner-sft-{split}-{index}``.
        lenient: Skip entities whose ``entity_text`` does not match the text under the
            convention (with ``end="auto"``: the majority convention), counting them in
            ``report`` (kind ``surface_mismatch``).
        report: Where lenient reads count what they skip.

    Returns:
        One example per line; half-open code point offsets; ``meta`` holds ``source``
        (``"chinese-ner-sft"``), ``split``, ``line``, ``end`` (the convention),
        ``data_source`` and what the writer needs for the round trip.

    Raises:
        DataFormatError: A malformed line or entity; an entity whose ``entity_text`` is not
            the text at its offsets; with ``end="auto"``, entities that need different
            conventions or fit neither (naming the line of each), always with file and line.
        ValueError: Unknown ``end``.
    """
    if end not in ("auto", "inclusive", "exclusive"):
        raise ValueError(f"end must be 'auto', 'inclusive' or 'exclusive', not {end!r}")
    p = str(path)
    problems = Problems(p, lenient, report)
    name = guess_split(p, split)
    rows: list[_Row] = []
    for line, rec in iter_json_lines(p):
        if not isinstance(rec, dict):
            raise DataFormatError(p, line, f"expected a JSON object, got {type(rec).__name__}")
        text, raw = rec.get("text"), rec.get("entities", [])
        if not isinstance(text, str):
            raise DataFormatError(p, line, "'text' must be a string")
        if not isinstance(raw, list):
            raise DataFormatError(p, line, "'entities' must be a list")
        ents = []
        for k, e in enumerate(raw):
            ok = (
                isinstance(e, dict)
                and all(key in e for key in _ENTITY_KEYS)
                and strict_int(e["start_idx"])
                and strict_int(e["end_idx"])
                and isinstance(e["entity_text"], str)
                and isinstance(e["entity_label"], str)
                and e["entity_text"] != ""
            )
            if not ok:
                raise DataFormatError(
                    p,
                    line,
                    f"entity {k}: expected integer start_idx and end_idx and non-empty strings "
                    f"entity_text and entity_label, got {e!r}",
                )
            extra = other_fields(e, _ENTITY_KEYS)
            ents.append((e["start_idx"], e["end_idx"], e["entity_text"], e["entity_label"], extra))
        rows.append((line, text, ents, rec))

    convention: str = _establish(p, rows, lenient) if end == "auto" else end
    shift = 1 if convention == "inclusive" else 0
    out: list[Example] = []
    for idx, (line, text, ents, rec) in enumerate(rows):
        listed: list[Entity] = []
        extras: list[dict[str, Any]] = []
        for s, e, surface, label, extra in ents:
            stop = e + shift
            if not (0 <= s < stop <= len(text)) or text[s:stop] != surface:
                problems(
                    "surface_mismatch",
                    line,
                    f"entity {surface!r} ({label}) at start_idx {s}, end_idx {e} ({convention}) "
                    f"is {text[max(s, 0) : max(stop, 0)]!r} in the text",
                )
                continue
            listed.append(Entity(s, stop, label, surface))
            extras.append(extra)
        fields = other_fields(rec, ("text", "entities"))
        meta: dict[str, Any] = {"source": "chinese-ner-sft"}
        meta["split"] = rec["split"] if isinstance(rec.get("split"), str) else name
        meta["line"] = line
        meta["end"] = convention
        if "data_source" in rec:
            meta["data_source"] = rec["data_source"]
        if fields:
            meta["fields"] = fields
        key_order(rec, ("text", "entities"), meta)
        entities = with_file_order(listed, extras, meta)
        out.append(Example(f"chinese-ner-sft-{name}-{idx}", text, entities, meta))
    mark_final_newline(p, out)
    problems.done()
    return out


def _establish(path: str, rows: list[_Row], lenient: bool) -> str:
    """The end convention under which every entity matches its text (see the reader)."""
    only: dict[str, int] = {}  # convention -> line of the first entity that fits only it
    votes = {"inclusive": 0, "exclusive": 0}
    for line, text, ents, _ in rows:
        for s, e, surface, label, _x in ents:
            fits = [
                name
                for name, stop in (("inclusive", e + 1), ("exclusive", e))
                if 0 <= s < stop <= len(text) and text[s:stop] == surface
            ]
            if not fits and not lenient:
                raise DataFormatError(
                    path,
                    line,
                    f"entity {surface!r} ({label}) at start_idx {s}, end_idx {e} matches the "
                    f"text neither with an inclusive end ({text[max(s, 0) : max(e + 1, 0)]!r}) "
                    f"nor with an exclusive one ({text[max(s, 0) : max(e, 0)]!r})",
                )
            for name in fits:
                votes[name] += 1
            if len(fits) == 1:
                only.setdefault(fits[0], line)
    if len(only) == 2 and not lenient:
        inc, exc = only["inclusive"], only["exclusive"]
        raise DataFormatError(
            path,
            max(inc, exc),
            f"inconsistent end_idx convention: an entity on line {inc} needs an inclusive "
            f"end, one on line {exc} an exclusive end; pass end='inclusive' or "
            "end='exclusive' (and lenient=True to skip the entities that do not fit)",
        )
    if len(only) == 1:
        return next(iter(only))
    return "inclusive" if votes["inclusive"] > votes["exclusive"] else "exclusive"


def write_chinese_ner_sft(
    examples: Iterable[Example],
    path: PathLike,
    *,
    end: Literal["inclusive", "exclusive"] | None = None,
) -> int:
    """Write chinese_ner_sft JSONL atomically.

    Args:
        examples: The documents.
        path: The file.
        end: The ``end_idx`` convention; default: each example's ``meta["end"]`` (as read),
            else exclusive.

    Entities are written in the file order kept in ``meta`` (else text order) with their
    ``entity_names`` (default ``[label]``); ``data_source`` and ``split`` come from
    ``meta["fields"]`` when read from this format, else from ``meta["source"]`` and
    ``meta["split"]``.

    Returns:
        The number of records written.
    """

    def record(ex: Example) -> dict[str, Any]:
        conv = end or ex.meta.get("end") or "exclusive"
        if conv not in ("inclusive", "exclusive"):
            raise ValueError(f"end must be 'inclusive' or 'exclusive', not {conv!r}")
        shift = 1 if conv == "inclusive" else 0
        ents = []
        for e, extra in in_file_order(ex, "chinese-ner-sft"):
            item: dict[str, Any] = {
                "start_idx": e.start,
                "end_idx": e.end - shift,
                "entity_text": e.text,
                "entity_label": e.label,
            }
            item.update(extra)
            item.setdefault("entity_names", [e.label])
            ents.append(item)
        fields = own(ex, "chinese-ner-sft", "fields")
        if not isinstance(fields, dict):
            fields = {}
            if "source" in ex.meta:
                fields["data_source"] = ex.meta.get("data_source", ex.meta["source"])
            if "split" in ex.meta:
                fields["split"] = ex.meta["split"]
        return ordered_record(
            [("text", ex.text), ("entities", ents)], fields, own(ex, "chinese-ner-sft", "keys")
        )

    return write_records(examples, record, path)

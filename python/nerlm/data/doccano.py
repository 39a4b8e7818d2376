"""doccano JSONL exports of sequence-labelling projects (https://github.com/doccano/doccano,
https://doccano.github.io/doccano/).

Three record styles, told apart per record by the member holding the spans:

* ``{"id", "text", "label": [[start, end, "LABEL"], ...], "Comments": [...]}`` (doccano 1.x),
* ``{"text", "labels": [[start, end, "LABEL"], ...]}`` (older exports and many converters),
* ``{"id", "text", "entities": [{"id", "label", "start_offset", "end_offset"}, ...],
  "relations": [...], "Comments": [...]}`` (projects with relations).

Offsets are half-open. doccano's annotation interface counts them in UTF-16 code units
(JavaScript string indices; doccano/doccano#2290), which differ from code points only after a
character outside the BMP (most emoji); scripts that write this format in Python count code
points. The ``offsets`` option says which (default ``"utf16"``, doccano's own); nerlm converts to
code points. The files carry no surface strings, so the unit cannot be checked.

Round trip: the writer writes ``json.dumps(record, ensure_ascii=False)`` per line with the
style, key order, span order, other members and per-span members (``id``) kept in ``meta``;
files written that way come back byte for byte, others equal record by record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from nerlm.data._common import (
    PathLike,
    Problems,
    astral,
    from_utf16,
    guess_split,
    in_file_order,
    iter_text_records,
    key_order,
    mark_final_newline,
    ordered_record,
    other_fields,
    own,
    strict_int,
    to_utf16,
    with_file_order,
    write_records,
)
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

__all__ = ["read_doccano", "write_doccano"]

Offsets = Literal["utf16", "codepoint"]
_STYLES = ("label", "labels", "entities")
_ENTITY_KEYS = ("label", "start_offset", "end_offset")


def read_doccano(
    path: PathLike,
    *,
    offsets: Offsets = "utf16",
    split: str | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read a doccano JSONL export (any of the three styles, see the module docstring).

    Args:
        path: The file.
        offsets: ``"utf16"`` (doccano's interface) or ``"codepoint"`` (Python converters).
        split: ``meta["split"]`` and the ids ``doccano-{split}-{index}``; default: guessed
            from the file name.
        lenient: Skip spans that are empty, outside the text or inside a UTF-16 surrogate
            pair, counting them in ``report`` (kind ``malformed_span``).
        report: Where lenient reads count what they skip.

    Returns:
        One example per line; half-open code point offsets; ``meta`` keeps ``style`` (None
        for a record without spans member) and the file's other members (``fields``: the
        doccano ``id``, ``Comments``, ``relations``, ...).

    Raises:
        DataFormatError: A malformed line or span (with file and line); a record with more
            than one of ``label``, ``labels``, ``entities``.
        ValueError: Unknown ``offsets``.
    """
    if offsets not in ("utf16", "codepoint"):
        raise ValueError(f"offsets must be 'utf16' or 'codepoint', not {offsets!r}")
    p = str(path)
    problems = Problems(p, lenient, report)
    name = guess_split(p, split)
    out: list[Example] = []
    for line, rec, text in iter_text_records(p):
        styles = [s for s in _STYLES if s in rec]
        if len(styles) > 1:
            raise DataFormatError(p, line, f"the record has both {styles[0]!r} and {styles[1]!r}")
        style = styles[0] if styles else None
        raw = rec.get(style, []) if style else []
        if not isinstance(raw, list):
            raise DataFormatError(p, line, f"{style!r} must be a list")
        utf16 = offsets == "utf16" and astral(text)
        listed: list[Entity] = []
        extras: list[dict[str, Any]] = []
        for k, item in enumerate(raw):
            if style == "entities":
                ok = isinstance(item, dict) and all(key in item for key in _ENTITY_KEYS)
                s, e, label = (
                    (item["start_offset"], item["end_offset"], item["label"]) if ok else (0, 0, 0)
                )
                extra = other_fields(item, _ENTITY_KEYS) if ok else {}
            else:
                ok = isinstance(item, list) and len(item) == 3
                s, e, label = item if ok else (0, 0, 0)
                extra = {}
            if not (ok and strict_int(s) and strict_int(e) and isinstance(label, str)):
                shape = (
                    '{"label", "start_offset", "end_offset"}'
                    if style == "entities"
                    else "[start, end, label]"
                )
                raise DataFormatError(p, line, f"{style} {k}: expected {shape}, got {item!r}")
            cs, ce = (from_utf16(text, s, e) or (-1, -1)) if utf16 else (s, e)
            if not (0 <= cs < ce <= len(text)):
                problems(
                    "malformed_span",
                    line,
                    f"{style} {k}: span [{s}, {e}) ({label}) is empty, outside the text of "
                    f"length {len(text)} or inside a character ({offsets} offsets)",
                )
                continue
            listed.append(Entity(cs, ce, label, text[cs:ce]))
            extras.append(extra)
        meta: dict[str, Any] = {"source": "doccano", "split": name, "line": line}
        meta["style"] = style
        if utf16:
            meta["offsets"] = offsets
        fields = other_fields(rec, ("text", *_STYLES))
        if fields:
            meta["fields"] = fields
        key_order(rec, ("text", style or "label"), meta)
        entities = with_file_order(listed, extras, meta)
        out.append(Example(f"doccano-{name}-{len(out)}", text, entities, meta))
    mark_final_newline(p, out)
    problems.done()
    return out


def write_doccano(
    examples: Iterable[Example],
    path: PathLike,
    *,
    style: Literal["label", "labels", "entities"] | None = None,
    offsets: Offsets | None = None,
) -> int:
    """Write a doccano JSONL file atomically.

    Args:
        examples: The documents.
        path: The file.
        style: ``"label"`` (doccano 1.x), ``"labels"`` or ``"entities"``; default: each
            example's ``meta["style"]``, else ``"label"``.
        offsets: ``"utf16"`` or ``"codepoint"``; default: ``meta["offsets"]``, else
            ``"utf16"`` (the same numbers unless the text has characters outside the BMP).

    Returns:
        The number of records written.

    Raises:
        ValueError: Unknown style or offsets.
    """

    def record(ex: Example) -> dict[str, Any]:
        st = style or own(ex, "doccano", "style") or "label"
        unit = offsets or own(ex, "doccano", "offsets") or "utf16"
        if st not in _STYLES:
            raise ValueError(f"style must be one of {', '.join(_STYLES)}, not {st!r}")
        if unit not in ("utf16", "codepoint"):
            raise ValueError(f"offsets must be 'utf16' or 'codepoint', not {unit!r}")
        utf16 = unit == "utf16" and astral(ex.text)
        spans: list[Any] = []
        for e, extra in in_file_order(ex, "doccano"):
            s, t = to_utf16(ex.text, e.start, e.end) if utf16 else (e.start, e.end)
            if st == "entities":
                item = {"id": extra["id"]} if "id" in extra else {}
                item.update({"label": e.label, "start_offset": s, "end_offset": t})
                item.update(extra)
                spans.append(item)
            else:
                spans.append([s, t, e.label])
        mine = ex.meta.get("source") == "doccano"
        fields = own(ex, "doccano", "fields")
        keys = own(ex, "doccano", "keys") if ex.meta.get("style", st) == st else None
        members: list[tuple[str, Any]] = [("text", ex.text), (st, spans)]
        if style is None and mine and "style" in ex.meta and ex.meta["style"] is None and not spans:
            members.pop()  # the record had no span member
            keys = own(ex, "doccano", "keys")
        return ordered_record(members, fields if isinstance(fields, dict) else {}, keys)

    return write_records(examples, record, path)

"""Canonical JSONL: one :class:`~nerlm.data.model.Example` per line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

PathLike = str | os.PathLike[str]


def iter_json_lines(path: PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` for every non-blank line of a JSONL file.

    Raises:
        DataFormatError: A line is not valid JSON (with file and line).
    """
    p = str(path)
    with open(p, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(
                    p, i, f"not valid JSON: {e.msg} at column {e.colno}"
                ) from None


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{what} must be an integer, got {v!r}")
    return v


def example_from_dict(obj: Any, *, check: bool = True) -> Example:
    """Build an :class:`Example` from a canonical JSON object.

    Raises:
        ValueError: A member is missing or has the wrong type, or an entity does not match
            the text.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    for key in ("id", "text"):
        if key not in obj:
            raise ValueError(f"missing {key!r}")
    if not isinstance(obj["text"], str):
        raise ValueError("'text' must be a string")
    text: str = obj["text"]
    ents = []
    raw = obj.get("entities", [])
    if not isinstance(raw, list):
        raise ValueError("'entities' must be a list")
    for k, e in enumerate(raw):
        if not isinstance(e, dict):
            raise ValueError(f"entity {k} is not an object")
        try:
            start, end = _int(e["start"], "start"), _int(e["end"], "end")
            label = e["label"]
        except KeyError as missing:
            raise ValueError(f"entity {k} lacks {missing}") from None
        if not isinstance(label, str):
            raise ValueError(f"entity {k}: 'label' must be a string")
        surface = e.get("text", text[start:end])
        ents.append(Entity(start, end, label, surface))
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError("'meta' must be an object")
    ex = Example(str(obj["id"]), text, sorted(ents), meta)
    problem = ex.check() if check else None
    if problem:
        raise ValueError(problem)
    return ex


def _prediction_entities(obj: Any, report: ReadReport, where: str, doc: int, lenient: bool) -> None:
    """Take from ``obj`` the entities that have no span (ungrounded) or, with ``lenient``,
    cannot be scored, counting them in ``report``; record parse failures of extraction
    outputs. Without ``lenient``, a malformed span raises ``ValueError``."""
    if not isinstance(obj, dict):
        return
    if obj.get("parsed") is False:
        # One count per output that did not parse (a document has one output per chunk).
        errs = obj.get("parse_errors")
        msgs = errs if isinstance(errs, list) and errs else ["(no message)"]
        for m in msgs:
            report.add("parse_failure", where)
            report.failed_outputs.append(doc)
            if "truncated" in str(m):
                report.add("truncated", where)
    if not isinstance(obj.get("entities"), list):
        return
    text = obj.get("text")
    kept = []
    for k, e in enumerate(obj["entities"]):
        if not isinstance(e, dict):
            if not lenient:
                raise ValueError(f"entity {k} is not an object")
            report.add("malformed_span", where)
            continue
        start, end, label = e.get("start"), e.get("end"), e.get("label")
        if e.get("status") == "ungrounded":
            report.add("ungrounded", where)
            report.unscorable.append((doc, str(label)))
            continue
        problem = None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            problem = "malformed_span"
        elif isinstance(text, str) and end > len(text):
            problem = "span_out_of_range"
        elif isinstance(text, str) and "text" in e and text[start:end] != e["text"]:
            problem = "surface_mismatch"
        if problem is not None:
            if not lenient:
                raise ValueError(
                    f"entity {k} {e.get('text', '')!r} [{start}, {end}) with label {label!r}: "
                    f"{problem.replace('_', ' ')} (lenient mode counts it instead)"
                )
            report.add(problem, where)
            if problem == "malformed_span":
                report.unscorable.append((doc, str(label)))
                continue
        kept.append({"start": start, "end": end, "label": label, "text": e.get("text", "")})
    obj["entities"] = kept


def read_jsonl(
    path: PathLike, *, report: ReadReport | None = None, lenient: bool = False
) -> list[Example]:
    """Read canonical JSONL (``nerlm extract`` output files are read too).

    Args:
        path: The file.
        report: Prediction mode: entities without a span (``"status": "ungrounded"``) and
            outputs that did not parse (``"parsed": false``, truncated ones too) are counted
            in it, the ungrounded entities listed in ``report.unscorable`` (they score as
            spurious).
        lenient: With ``report``, count malformed or out-of-range spans and surface
            mismatches in it instead of raising.

    Raises:
        DataFormatError: A line is not JSON, lacks a member, has an entity whose offsets do not
            match its text (strict mode), or repeats an id (with file and line).
    """
    out: list[Example] = []
    seen: dict[str, int] = {}
    for line, obj in iter_json_lines(path):
        try:
            if report is not None:
                _prediction_entities(obj, report, f"{path}:{line}", len(out), lenient)
                ex = example_from_dict(obj, check=False)
            else:
                ex = example_from_dict(obj)
        except ValueError as e:
            raise DataFormatError(str(path), line, str(e)) from None
        if ex.id in seen:
            raise DataFormatError(
                str(path), line, f"id {ex.id!r} already used on line {seen[ex.id]}"
            )
        seen[ex.id] = line
        out.append(ex)
    return out


def write_json_lines(objects: Iterable[Any], path: PathLike) -> int:
    """Write one JSON value per line (UTF-8, not ASCII-escaped) atomically: the file appears
    complete or not at all. Returns the number of lines written."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for obj in objects:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, p)
    return n


def write_jsonl(examples: Iterable[Example], path: PathLike) -> int:
    """Write canonical JSONL atomically; return the record count."""
    return write_json_lines((ex.to_dict() for ex in examples), path)

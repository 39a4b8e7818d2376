"""Helpers shared by the corpus readers and writers (not public API).

* :class:`Problems`: raise :class:`~nerlm.errors.DataFormatError` with file and line, or, in
  lenient mode, count the problem in a :class:`~nerlm.data.report.ReadReport`.
* File order: readers keep entities sorted by ``(start, end, label)`` with exact duplicates
  merged; when the file listed them in another order (or twice), ``meta["order"]`` holds the
  index into ``entities`` of each entity as the file listed it, and ``meta["entity_extras"]``
  what else the file stored per entity (in file order). Writers use both to write the file's
  order back, and fall back to text order when the entities no longer match them.
* UTF-16 offsets (doccano's and older Label Studio's JavaScript string indices) <-> code points
  (the Rust core's :func:`nerlm.align.convert_offsets`).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nerlm.data.jsonl import iter_json_lines
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

PathLike = str | os.PathLike[str]

_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "dev": "dev",
    "valid": "dev",
    "validation": "dev",
    "val": "dev",
    "test": "test",
    "testing": "test",
    "sample": "sample",
}


def iter_text_records(path: str) -> Iterator[tuple[int, dict[str, Any], str]]:
    """``(line, record, text)`` for every record of a JSONL file whose records carry ``text``.

    Raises:
        DataFormatError: A line is not JSON, or not an object with a string ``text`` (with
            file and line).
    """
    for line, rec in iter_json_lines(path):
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            raise DataFormatError(path, line, "expected a JSON object with a string 'text'")
        yield line, rec, rec["text"]


def guess_split(path: PathLike, split: str | None = None) -> str:
    """``split`` when given, else the first split word in the file name (``train``, ``dev``,
    ``valid``/``validation``/``val`` -> ``dev``, ``test``), else the name without suffixes.

    ``weiboNER_2nd_conll.dev`` -> ``dev``, ``train.char.bmes`` -> ``train``,
    ``msra_test_bio.txt`` -> ``test``.
    """
    if split is not None:
        return split
    name = Path(path).name
    for word in re.split(r"[._\-\s]+", name.lower()):
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    return name.split(".", 1)[0] or name


class Problems:
    """Raise or count what a reader cannot read.

    Args:
        path: The file (for messages).
        lenient: Count problems in ``report`` (the reader then skips what it cannot read)
            instead of raising.
        report: Where lenient problems are counted. Lenient reads without a report warn
            once at the end with the counts (:meth:`done`), so nothing is skipped silently.
    """

    def __init__(self, path: PathLike, lenient: bool, report: ReadReport | None) -> None:
        self.path = str(path)
        self.lenient = lenient
        self.own = report is None
        self.report = report if report is not None else ReadReport()

    def __call__(self, kind: str, line: int, reason: str) -> None:
        """Raise ``DataFormatError(path, line, reason)``, or count ``kind`` when lenient."""
        if not self.lenient:
            raise DataFormatError(self.path, line, reason)
        self.report.add(kind, f"{self.path}:{line}")

    def note(self, kind: str, line: int) -> None:
        """Count something that is handled without loss (never raises)."""
        self.report.add(kind, f"{self.path}:{line}")

    def done(self) -> None:
        """Warn about problems counted in a report that the caller did not give."""
        if self.own and self.lenient and self.report.counts:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.report.counts.items()))
            warnings.warn(
                f"{self.path}: lenient read skipped ({counts}); pass report= to get them",
                stacklevel=3,
            )


def strict_int(v: Any) -> bool:
    """True for ints that are not bools."""
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# file order of entities


def with_file_order(
    listed: Sequence[Entity],
    extras: Sequence[dict[str, Any]] | None,
    meta: dict[str, Any],
    *,
    merge: bool = True,
) -> list[Entity]:
    """Sort ``listed`` (entities in file order), merging exact duplicates unless ``merge`` is
    False; record the file order and the per-entity extras in ``meta`` when they carry
    information. Returns the entities."""
    if merge:
        unique = sorted(set(listed))
        index = {e: i for i, e in enumerate(unique)}
        order = [index[e] for e in listed]
    else:
        perm = sorted(range(len(listed)), key=lambda i: listed[i])
        unique = [listed[i] for i in perm]
        order = [0] * len(listed)
        for pos, i in enumerate(perm):
            order[i] = pos
    if order != list(range(len(unique))):
        meta["order"] = order
    if extras is not None and any(extras):
        meta["entity_extras"] = [dict(x) for x in extras]
    return unique


def in_file_order(ex: Example, source: str) -> list[tuple[Entity, dict[str, Any]]]:
    """The entities of ``ex`` with their extras, in the order the source file listed them when
    ``meta`` still matches the entities, else in text order. Extras are only taken from
    examples read from ``source`` (``meta["source"]``): they are format-specific."""
    ents = ex.entities
    order = ex.meta.get("order")
    valid = (
        isinstance(order, list)
        and all(strict_int(i) and 0 <= i < len(ents) for i in order)
        and len(set(order)) == len(ents)
    )
    if not valid:
        order = list(range(len(ents)))
    assert isinstance(order, list)
    extras = ex.meta.get("entity_extras") if ex.meta.get("source") == source else None
    if not (
        isinstance(extras, list)
        and len(extras) == len(order)
        and all(isinstance(x, dict) for x in extras)
    ):
        extras = [{} for _ in order]
    return [(ents[i], x) for i, x in zip(order, extras, strict=True)]


def own(ex: Example, source: str, key: str) -> Any:
    """``ex.meta[key]`` when ``ex`` was read from ``source`` (format-specific members such as
    ``fields`` and ``keys``), else None."""
    return ex.meta.get(key) if ex.meta.get("source") == source else None


def other_fields(record: dict[str, Any], used: Iterable[str]) -> dict[str, Any]:
    """The members of ``record`` other than ``used``, in file order."""
    skip = set(used)
    return {k: v for k, v in record.items() if k not in skip}


def ordered_record(
    default: Sequence[tuple[str, Any]], fields: dict[str, Any], keys: Any
) -> dict[str, Any]:
    """A record of the ``default`` members and ``fields`` in the file's key order ``keys``
    (``meta["keys"]``) when it names exactly these members, else defaults first."""
    members = dict(default)
    for k, v in fields.items():
        members.setdefault(k, v)
    if isinstance(keys, list) and sorted(map(str, keys)) == sorted(members):
        return {k: members[k] for k in keys}
    return members


def key_order(record: dict[str, Any], default: Sequence[str], meta: dict[str, Any]) -> None:
    """Record ``record``'s key order in ``meta["keys"]`` when it is not ``default`` followed
    by the other members in file order."""
    keys = list(record)
    rest = [k for k in keys if k not in default]
    if keys != [k for k in default if k in record] + rest:
        meta["keys"] = keys


# ---------------------------------------------------------------------------------------------
# UTF-16 offsets


def astral(text: str) -> bool:
    """True when ``text`` has a code point outside the BMP (two UTF-16 code units)."""
    return any(ord(c) > 0xFFFF for c in text)


def from_utf16(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code point offsets of the UTF-16 span ``[start, end)`` of ``text``
    (:func:`nerlm.align.convert_offsets`), or None when an offset is outside the text or
    between the halves of a surrogate pair."""
    from nerlm.align import convert_offsets
    from nerlm.errors import OffsetError

    try:
        s, e = convert_offsets(text, [start, end], "utf16", "char").tolist()
    except OffsetError:
        return None
    return int(s), int(e)


def to_utf16(text: str, start: int, end: int) -> tuple[int, int]:
    """UTF-16 offsets of the code point span ``[start, end)`` of ``text``."""
    from nerlm.align import convert_offsets

    s, e = convert_offsets(text, [start, end], "char", "utf16").tolist()
    return int(s), int(e)


# ---------------------------------------------------------------------------------------------
# files


def write_text_atomic(text: str, path: PathLike) -> None:
    """Write ``text`` as UTF-8 without newline translation; the file appears complete or not
    at all."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, p)


def mark_final_newline(path: PathLike, examples: list[Example]) -> None:
    """Set ``meta["eol"] = False`` on the last example when the file does not end with a
    newline (the JSONL writers then leave it out too)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0 or not examples:
            return
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\n":
            examples[-1].meta["eol"] = False


def write_records(
    examples: Iterable[Example], record: Callable[[Example], Any], path: PathLike
) -> int:
    """Write ``record(example)`` as one JSON line per example (UTF-8, not ASCII-escaped)
    atomically; no newline after the last line when its example has ``meta["eol"] = False``.
    Returns the number of lines written."""
    exs = list(examples)
    lines = [json.dumps(record(ex), ensure_ascii=False) for ex in exs]
    eol = not exs or exs[-1].meta.get("eol", True) is not False
    text = "\n".join(lines) + ("\n" if lines and eol else "")
    write_text_atomic(text, path)
    return len(lines)


def iter_json_array(path: PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, element)`` for the elements of a file holding one JSON array, ``line``
    being the line where the element starts.

    Raises:
        DataFormatError: Not a JSON array, or invalid JSON (with file and line).
    """
    p = str(path)
    with open(p, encoding="utf-8") as f:
        s = f.read()
    dec = json.JSONDecoder()
    ws = re.compile(r"\s*")
    line, seen = 1, 0

    def line_at(pos: int) -> int:
        nonlocal line, seen
        line += s.count("\n", seen, pos)
        seen = pos
        return line

    def fail(pos: int, msg: str) -> DataFormatError:
        return DataFormatError(p, s.count("\n", 0, pos) + 1, msg)

    pos = ws.match(s, 0).end()  # type: ignore[union-attr]
    if s.startswith("\ufeff", pos):
        pos = ws.match(s, pos + 1).end()  # type: ignore[union-attr]
    if not s.startswith("[", pos):
        raise fail(pos, "expected a JSON array of tasks")
    pos = ws.match(s, pos + 1).end()  # type: ignore[union-attr]
    if s.startswith("]", pos):
        return
    while True:
        try:
            obj, end = dec.raw_decode(s, pos)
        except json.JSONDecodeError as e:
            raise fail(e.pos, f"not valid JSON: {e.msg}") from None
        yield line_at(pos), obj
        pos = ws.match(s, end).end()  # type: ignore[union-attr]
        if s.startswith(",", pos):
            pos = ws.match(s, pos + 1).end()  # type: ignore[union-attr]
            continue
        if s.startswith("]", pos):
            break
        raise fail(pos, "expected ',' or ']' in the JSON array")
    if s[ws.match(s, pos + 1).end() :]:  # type: ignore[union-attr]
        raise fail(pos + 1, "extra data after the JSON array")

"""Label Studio JSON exports of text span labelling projects (https://labelstud.io/,
https://labelstud.io/guide/export#Label-Studio-JSON-format-of-annotated-tasks).

The file is one JSON array of tasks; a task has ``data`` (the text under ``data["text"]``, or
another key named by the labelling config) and ``annotations``, each with a ``result`` list.
Spans are results of type ``labels``: ``{"value": {"start", "end", "text", "labels": [...]},
"id", "from_name", "to_name", "type": "labels", "origin"}`` with half-open offsets. Label
Studio counted them in UTF-16 code units until the frontend fix of 2022
(HumanSignal/label-studio-frontend#308; HumanSignal/label-studio#1347) and in code points since;
``offsets="auto"`` tells the two apart per span with ``value.text``.

One annotation per task is read (``annotation``: the first one that is not cancelled by
default). Results of other types (``choices``, ``relation``, ...) are not entities; they stay in
``meta["task"]`` with everything else of the task (ids, annotators, times, other annotations,
predictions), so that the writer writes the task back. A region with several labels gives one
entity per label.

Round trip: equal task by task as JSON values (the writer indents by 2 and does not escape
non-ASCII characters; files written that way come back byte for byte). Tasks skipped by
``lenient=True`` (no usable annotation) are not written back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any, Literal

from nerlm.data._common import (
    PathLike,
    Problems,
    astral,
    from_utf16,
    guess_split,
    in_file_order,
    iter_json_array,
    own,
    strict_int,
    to_utf16,
    with_file_order,
    write_text_atomic,
)
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

__all__ = ["read_label_studio", "write_label_studio"]

_VALUE_KEYS = ("start", "end", "text", "labels")


def _pick(annotations: list[Any], which: int | str) -> int | None:
    """Index of the annotation to read, or None."""
    usable = [
        i for i, a in enumerate(annotations) if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if which == "first":
        return usable[0] if usable else None
    if which == "last":
        return usable[-1] if usable else None
    if isinstance(which, int) and not isinstance(which, bool):
        return which if -len(annotations) <= which < len(annotations) else None
    raise ValueError(f"annotation must be 'first', 'last' or an index, not {which!r}")


def read_label_studio(
    path: PathLike,
    *,
    annotation: int | Literal["first", "last"] = "first",
    text_key: str = "text",
    offsets: Literal["auto", "codepoint", "utf16"] = "auto",
    split: str | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read a Label Studio JSON export (an array of tasks).

    Args:
        path: The file.
        annotation: Which annotation of a task to read: ``"first"`` or ``"last"`` of those
            not cancelled (``was_cancelled``), or an index into ``annotations`` (any).
        text_key: The key of the text in ``data``.
        offsets: ``"codepoint"`` (Label Studio since 2022), ``"utf16"`` (before), or
            ``"auto"``: per span, the unit under which ``value.text`` is the text at the
            offsets (code points when a span has no ``value.text``).
        split: ``meta["split"]`` and the ids ``label-studio-{split}-{index}``; default:
            guessed from the file name.
        lenient: Skip tasks without a usable annotation (kind ``unannotated``) and spans
            whose ``value.text`` does not match the text or whose offsets are outside it
            (kind ``malformed_span``), counting them in ``report``.
        report: Where lenient reads count what they skip.

    Returns:
        One example per task; half-open code point offsets; ``meta`` holds ``source``
        (``"label-studio"``), ``split``, ``line`` (where the task starts), ``annotation``
        (the index read) and ``task`` (the task without the span results, for the writer).

    Raises:
        DataFormatError: Not a JSON array of tasks, a task without the text, a malformed
            result, a span that does not match its ``value.text``, or a task without usable
            annotation (with file and the task's line).
        ValueError: Bad ``annotation`` or ``offsets``.
    """
    if offsets not in ("auto", "codepoint", "utf16"):
        raise ValueError(f"offsets must be 'auto', 'codepoint' or 'utf16', not {offsets!r}")
    p = str(path)
    problems = Problems(p, lenient, report)
    name = guess_split(p, split)
    out: list[Example] = []
    for line, task in iter_json_array(p):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(text_key), str):
            raise DataFormatError(p, line, f"expected a task with a string data[{text_key!r}]")
        text: str = data[text_key]
        anns = task.get("annotations", [])
        if not isinstance(anns, list):
            raise DataFormatError(p, line, "'annotations' must be a list")
        idx = _pick(anns, annotation)
        if idx is None or not isinstance(anns[idx], dict):
            problems(
                "unannotated",
                line,
                f"task {task.get('id', '')!r} has no annotation {annotation!r} that is not "
                "cancelled (lenient=True skips such tasks)",
            )
            continue
        idx %= len(anns)
        results = anns[idx].get("result", [])
        if not isinstance(results, list):
            raise DataFormatError(p, line, "'result' must be a list")
        kept = copy.deepcopy(task)
        slots: list[Any] = kept["annotations"][idx].setdefault("result", [])
        units: set[str] = set()
        listed: list[Entity] = []
        extras: list[dict[str, Any]] = []
        for k, r in enumerate(results):
            if not (isinstance(r, dict) and r.get("type") == "labels"):
                continue
            v = r.get("value")
            ok = (
                isinstance(v, dict)
                and strict_int(v.get("start"))
                and strict_int(v.get("end"))
                and isinstance(v.get("labels"), list)
                and all(isinstance(lab, str) for lab in v["labels"])
                and isinstance(v.get("text", ""), str)
            )
            if not ok:
                raise DataFormatError(
                    p, line, f"result {k}: expected value {{start, end, text, labels}}, got {v!r}"
                )
            assert isinstance(v, dict)
            span = _locate(text, v["start"], v["end"], v.get("text"), offsets)
            slots[k] = None
            if span is None:
                problems(
                    "malformed_span",
                    line,
                    f"result {k}: [{v['start']}, {v['end']}) is {text[v['start'] : v['end']]!r} "
                    f"in the text, not {v.get('text')!r} ({offsets} offsets)",
                )
                continue
            s, e, unit = span
            units.add(unit)
            extra: dict[str, Any] = {
                "region": {key: val for key, val in r.items() if key != "value"},
                "value": {key: val for key, val in v.items() if key not in _VALUE_KEYS},
            }
            if "text" not in v:
                extra["no_text"] = True
            for lab in v["labels"]:
                listed.append(Entity(s, e, lab, text[s:e]))
                extras.append(extra)
        meta: dict[str, Any] = {"source": "label-studio", "split": name, "line": line}
        meta["annotation"] = idx
        if text_key != "text":
            meta["text_key"] = text_key
        if "utf16" in units:
            meta["offsets"] = "utf16"
        meta["task"] = kept
        entities = with_file_order(listed, extras, meta)
        out.append(Example(f"label-studio-{name}-{len(out)}", text, entities, meta))
    problems.done()
    return out


def _locate(
    text: str, start: int, end: int, surface: str | None, offsets: str
) -> tuple[int, int, str] | None:
    """Code point span of ``[start, end)`` in ``offsets`` units (checked against
    ``surface`` when given), with the unit used; None when it does not fit."""
    units = ["codepoint", "utf16"] if offsets == "auto" else [offsets]
    for unit in units:
        if unit == "utf16" and astral(text):
            s, e = from_utf16(text, start, end) or (-1, -1)
        else:
            s, e = start, end
        if 0 <= s < e <= len(text) and (surface is None or text[s:e] == surface):
            return s, e, unit
    return None


def write_label_studio(
    examples: Iterable[Example],
    path: PathLike,
    *,
    offsets: Literal["codepoint", "utf16"] | None = None,
    from_name: str = "label",
    to_name: str = "text",
) -> int:
    """Write a Label Studio JSON export (an array of tasks) atomically.

    Examples read with :func:`read_label_studio` are written as their task with the span
    results of the annotation read replaced by the entities (in the file's order, one region
    per span with all its labels). Other examples become new tasks ``{"id", "data": {"text"},
    "annotations": [{"result": [...]}]}``, which Label Studio imports as annotated tasks.

    Args:
        examples: The documents.
        path: The file.
        offsets: ``"codepoint"`` or ``"utf16"``; default ``meta["offsets"]``, else code
            points (Label Studio since 2022).
        from_name: ``from_name`` of new regions (the labels control's name).
        to_name: ``to_name`` of new regions (the text object's name).

    Returns:
        The number of tasks written.
    """
    tasks = []
    for n, ex in enumerate(examples):
        unit = offsets or own(ex, "label-studio", "offsets") or "codepoint"
        utf16 = unit == "utf16" and astral(ex.text)
        regions: list[dict[str, Any]] = []
        for k, (e, extra) in enumerate(in_file_order(ex, "label-studio")):
            s, t = to_utf16(ex.text, e.start, e.end) if utf16 else (e.start, e.end)
            region = extra.get("region")
            if (
                regions
                and isinstance(region, dict)
                and region.get("id") is not None
                and regions[-1].get("id") == region.get("id")
                and regions[-1]["value"]["start"] == s
                and regions[-1]["value"]["end"] == t
            ):
                regions[-1]["value"]["labels"].append(e.label)
                continue
            value: dict[str, Any] = {"start": s, "end": t, "text": e.text, "labels": [e.label]}
            if extra.get("no_text"):
                del value["text"]
            value.update(extra.get("value") or {})
            if not isinstance(region, dict) or not region:
                region = {"id": f"{ex.id}-{k}", "from_name": from_name, "to_name": to_name,
                          "type": "labels"}  # fmt: skip
            regions.append({"value": value, **region})
        tasks.append(_task(ex, n, regions))
    write_text_atomic(json.dumps(tasks, ensure_ascii=False, indent=2) + "\n", path)
    return len(tasks)


def _task(ex: Example, n: int, regions: list[dict[str, Any]]) -> dict[str, Any]:
    text_key = own(ex, "label-studio", "text_key") or "text"
    task = own(ex, "label-studio", "task")
    idx = own(ex, "label-studio", "annotation")
    try:
        assert isinstance(task, dict) and strict_int(idx)
        task = copy.deepcopy(task)
        result = task["annotations"][idx]["result"]
        assert isinstance(result, list) and isinstance(task["data"], dict)
    except (AssertionError, KeyError, IndexError, TypeError):
        return {
            "id": n + 1,
            "data": {text_key: ex.text},
            "annotations": [{"result": regions}],
        }
    task["data"][text_key] = ex.text
    if result.count(None) == len(regions):
        it = iter(regions)
        result[:] = [next(it) if r is None else r for r in result]
    else:
        result[:] = [r for r in result if r is not None] + regions
    return task

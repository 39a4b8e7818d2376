"""CLUENER2020 JSONL (Xu et al., 2020, https://github.com/CLUEbenchmark/CLUENER2020).

Each line is ``{"text": ..., "label": {type: {surface: [[start, end_inclusive], ...]}}}``.
**Span ends are inclusive** in the file; nerlm converts them to half-open offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nerlm.data._common import in_file_order, mark_final_newline, with_file_order, write_records
from nerlm.data.jsonl import PathLike, iter_json_lines
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.errors import DataFormatError

#: The 10 CLUENER types, in the order of the official ``label2id``.
CLUENER_LABELS: tuple[str, ...] = (
    "address",
    "book",
    "company",
    "game",
    "government",
    "movie",
    "name",
    "organization",
    "position",
    "scene",
)

#: Chinese names of the CLUENER types, as LLM-NER prompts use them.
CLUENER_LABELS_ZH: dict[str, str] = {
    "name": "人名",
    "organization": "组织机构",
    "scene": "景点",
    "company": "企业",
    "movie": "电影",
    "book": "书名",
    "government": "政府",
    "position": "职位",
    "address": "地址",
    "game": "游戏",
}


def read_cluener(
    path: PathLike,
    *,
    split: str | None = None,
    texts: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    labels: Iterable[str] | None = None,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read a CLUENER JSONL file.

    Args:
        path: The file.
        split: Recorded in ``meta["split"]`` and in the ids ``cluener-{split}-{index}``.
        texts: Texts for files without a ``text`` member (CLUENER prediction files), aligned
            line by line.
        ids: Ids to use instead of generated ones (aligned line by line, e.g. the gold ids).
        labels: The allowed labels; ``None`` allows any.
        report: When given, problems are counted in it instead of raised (lenient mode for
            prediction files); see :class:`ReadReport`.

    Returns:
        One example per line, entities sorted; ``meta`` holds ``source``, ``split``,
        ``line`` and, when the file lists the spans in another order than text order,
        ``order`` (the file's order, for :func:`write_cluener`).

    Raises:
        DataFormatError: Malformed line, span whose surface does not match the text, span
            outside the text, unknown label, or a line count different from ``texts``
            (strict mode), always with file and line.
    """
    p = str(path)
    allowed = set(labels) if labels is not None else None
    records = list(iter_json_lines(p))
    if texts is not None and len(records) != len(texts):
        raise DataFormatError(
            p, len(records), f"{len(records)} records but the reference has {len(texts)} texts"
        )
    out: list[Example] = []
    name = split or Path(p).stem
    for idx, (line, obj) in enumerate(records):

        def problem(kind: str, msg: str, line: int = line) -> None:
            if report is None:
                raise DataFormatError(p, line, msg)
            report.add(kind, f"{p}:{line}")

        if not isinstance(obj, dict):
            raise DataFormatError(p, line, f"expected a JSON object, got {type(obj).__name__}")
        text = obj.get("text")
        if text is None:
            if texts is None:
                raise DataFormatError(p, line, "no 'text' member and no reference texts given")
            text = texts[idx]
        elif texts is not None and text != texts[idx]:
            raise DataFormatError(p, line, "'text' differs from the reference text of this line")
        if not isinstance(text, str):
            raise DataFormatError(p, line, "'text' must be a string")
        label_obj: Any = obj.get("label", {}) or {}
        if not isinstance(label_obj, dict):
            raise DataFormatError(p, line, "'label' must be an object")
        listed: list[Entity] = []
        for label, mentions in label_obj.items():
            if allowed is not None and label not in allowed:
                problem("unknown_label", f"unknown label {label!r} (allowed: {sorted(allowed)})")
            if not isinstance(mentions, dict):
                raise DataFormatError(p, line, f"label {label!r}: expected {{surface: spans}}")
            for surface, spans in mentions.items():
                if not isinstance(spans, list):
                    raise DataFormatError(p, line, f"{label!r}/{surface!r}: spans must be a list")
                for span in spans:
                    ok = (
                        isinstance(span, list)
                        and len(span) == 2
                        and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
                        and 0 <= span[0] <= span[1]
                    )
                    if not ok:
                        problem("malformed_span", f"{label!r}/{surface!r}: bad span {span!r}")
                        if report is not None:
                            report.unscorable.append((idx, label))
                        continue
                    start, end = span[0], span[1] + 1
                    if end > len(text):
                        problem(
                            "span_out_of_range",
                            f"{label!r}/{surface!r}: span [{span[0]}, {span[1]}] (inclusive) is "
                            f"outside the text of length {len(text)}",
                        )
                    elif text[start:end] != surface:
                        problem(
                            "surface_mismatch",
                            f"{label!r}: span [{span[0]}, {span[1]}] (inclusive) is "
                            f"{text[start:end]!r}, not {surface!r}",
                        )
                    listed.append(Entity(start, end, label, surface))
        ex_id = ids[idx] if ids is not None else f"cluener-{name}-{idx}"
        meta: dict[str, Any] = {"source": "cluener", "split": name, "line": line}
        ents = with_file_order(listed, None, meta, merge=False)
        out.append(Example(ex_id, text, ents, meta))
    mark_final_newline(p, out)
    return out


def _cluener_record(ex: Example) -> dict[str, Any]:
    label: dict[str, dict[str, list[list[int]]]] = {}
    for e, _ in in_file_order(ex, "cluener"):
        label.setdefault(e.label, {}).setdefault(e.text, []).append([e.start, e.end - 1])
    return {"text": ex.text, "label": label}


def write_cluener(examples: Iterable[Example], path: PathLike) -> int:
    """Write CLUENER JSONL (inclusive span ends) atomically; return the record count.

    Labels, surfaces and spans are written in the order of the file the examples were read
    from (``meta["order"]``, kept by :func:`read_cluener` when the file's order is not text
    order), else in text order, as ``json.dumps(..., ensure_ascii=False)`` writes them: a
    file written that way (``dev.json``) comes back byte for byte, others (``train.json``
    has lines with ``],[``) equal as JSON values.
    """
    return write_records(examples, _cluener_record, path)

"""Extraction over a corpus into a JSONL file: resumable, shardable, with long-document windows.

:func:`extract_to_file` runs :func:`nerlm.extract` group by group (``group_size`` documents
in file order) and appends each group's records to the output with one ``write`` call
followed by ``fsync``. A run killed at any point leaves complete records plus at most one
torn last line; a restart cuts the torn line, skips the ids already written, and recomputes
any group it has not finished *as a whole group*, writing only the records still missing —
so with greedy decoding (or a fixed seed) the file ends up byte for byte what an
uninterrupted run writes, apart from the ``seconds`` timings, and never holds an id twice.

``shard=(i, n)`` takes the ``i``-th of ``n`` contiguous slices of the input (0-based), so
``n`` machines can split a corpus and their outputs concatenate in input order.

Documents longer than ``max_input_tokens`` tokens (model tokenizer, text only) follow
``on_overflow`` (:mod:`nerlm.windows`): ``"error"`` stops with the document id, ``"window"``
extracts from windows of ``max_input_tokens`` tokens sharing ``stride`` tokens and merges the
entities back to document offsets, ``"truncate"`` extracts from the first window only and
marks the record ``"truncated": true`` (also counted in the summary).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerlm.data.model import Example
from nerlm.errors import DataFormatError
from nerlm.formats.base import ParsedEntity
from nerlm.windows import OnOverflow, WindowPlan, merge_windows, plan_windows

__all__ = ["RunSummary", "extract_to_file", "finished_ids", "shard_slice"]


@dataclass(slots=True)
class RunSummary:
    """What :func:`extract_to_file` did.

    Attributes:
        documents: Documents in this shard.
        skipped: Already in the output when the run started (resumed).
        written: Records written by this run.
        parsed: Of those, records whose every output parsed.
        windowed: Records extracted from more than one window.
        truncated: Records cut to their first window (``on_overflow="truncate"``).
        dropped_at_window_edges: Spans dropped when merging windows (:mod:`nerlm.windows`).
        torn_bytes: Bytes of a torn last line removed from the output before resuming.
        seconds: Wall time of this run.
    """

    documents: int = 0
    skipped: int = 0
    written: int = 0
    parsed: int = 0
    windowed: int = 0
    truncated: int = 0
    dropped_at_window_edges: int = 0
    torn_bytes: int = 0
    seconds: float = 0.0


def shard_slice(n_items: int, shard: tuple[int, int] | None) -> range:
    """Indices of the ``i``-th of ``n`` contiguous, near-equal slices of ``n_items`` items.

    Raises:
        ValueError: Not ``0 <= i < n``.
    """
    if shard is None:
        return range(n_items)
    i, n = shard
    if not 0 <= i < n:
        raise ValueError(f"shard {i}/{n}: expected 0 <= i < n")
    return range(i * n_items // n, (i + 1) * n_items // n)


def finished_ids(path: str | os.PathLike[str], *, repair: bool = True) -> tuple[set[str], int]:
    """Ids of the complete records of an extraction output, after cutting a torn last line.

    Returns:
        The ids and the number of bytes cut (0 when the file ends with a complete line).

    Raises:
        DataFormatError: A complete line is not a JSON object with an ``id``, or an id occurs
            twice (with file and line).
    """
    p = Path(path)
    if not p.exists():
        return set(), 0
    data = p.read_bytes()
    cut = len(data) - (data.rfind(b"\n") + 1)
    if cut and repair:
        with open(p, "r+b") as f:
            f.truncate(len(data) - cut)
            f.flush()
            os.fsync(f.fileno())
    ids: set[str] = set()
    body = data[: len(data) - cut].decode("utf-8")
    for i, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rid = json.loads(line)["id"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DataFormatError(str(p), i, f"not an extraction record: {e!r}") from None
        if rid in ids:
            raise DataFormatError(str(p), i, f"id {rid!r} occurs twice")
        ids.add(rid)
    return ids, cut


def _append(path: Path, records: Sequence[dict[str, Any]]) -> None:
    blob = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(blob)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def extract_to_file(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Example],
    labels: Sequence[str],
    output: str | os.PathLike[str],
    *,
    resume: bool = True,
    shard: tuple[int, int] | None = None,
    group_size: int | None = None,
    max_input_tokens: int | None = None,
    stride: int = 0,
    on_overflow: OnOverflow = "error",
    seed: int | None = None,
    progress: bool = True,
    extractor: Callable[[Sequence[Example]], list[Any]] | None = None,
    **extract_kwargs: Any,
) -> RunSummary:
    """Extract from ``examples`` into the JSONL file ``output`` (module docs).

    Args:
        model: A transformers causal LM.
        tokenizer: Its fast tokenizer (offsets are needed for windows).
        examples: Documents with unique ids.
        labels: Corpus labels, in schema order.
        output: The JSONL file; one record per document (:meth:`Extraction.to_dict`, plus
            ``windows`` and ``truncated``).
        resume: Keep the records already in ``output`` and skip their ids; ``False`` starts
            over (the file is replaced).
        shard: ``(i, n)``: only the ``i``-th of ``n`` contiguous slices.
        group_size: Documents per group (default: ``batch_size`` of :func:`nerlm.extract`).
        max_input_tokens: Longest document in tokens before ``on_overflow`` applies (``None``:
            no limit).
        stride: Tokens shared by consecutive windows.
        on_overflow: ``"error"``, ``"window"`` or ``"truncate"``.
        seed: Sampling seed; group ``k`` uses ``seed + 1000 * k`` so a resumed run samples as
            an uninterrupted one.
        progress: Show a progress bar (documents, with items/s and ETA).
        extractor: Extract from a list of documents instead of :func:`nerlm.extract` (e.g. an
            HTTP endpoint, :func:`nerlm.incontext.make_extractor`); ``model``,
            ``tokenizer`` (except for windows) and ``extract_kwargs`` are then unused.
        **extract_kwargs: Passed to :func:`nerlm.extract` (``fmt``, ``batch_size``, …).

    Raises:
        ValueError: Duplicate ids in ``examples``, or a bad ``shard``.
        nerlm.windows.DocumentTooLongError: A document is longer than ``max_input_tokens`` and
            ``on_overflow="error"``.
        DataFormatError: The existing output holds a malformed record.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    seen: set[str] = set()
    for ex in examples:
        if ex.id in seen:
            raise ValueError(f"document id {ex.id!r} occurs twice; ids must be unique")
        seen.add(ex.id)
    docs = [examples[i] for i in shard_slice(len(examples), shard)]
    out = Path(output)
    summary = RunSummary(documents=len(docs))
    if resume:
        done, summary.torn_bytes = finished_ids(out)
    else:
        out.write_bytes(b"")
        done = set()
    summary.skipped = sum(d.id in done for d in docs)
    size = group_size or int(extract_kwargs.get("batch_size", 8))
    bar = tqdm(
        total=len(docs), initial=summary.skipped, desc="extracting", unit="doc",
        disable=not progress,
    )  # fmt: skip
    try:
        for k, g0 in enumerate(range(0, len(docs), size)):
            group = docs[g0 : g0 + size]
            missing = [d for d in group if d.id not in done]
            if not missing:
                continue
            records = _run_group(
                model, tokenizer, group, labels, max_input_tokens=max_input_tokens,
                stride=stride, on_overflow=on_overflow,
                seed=None if seed is None else seed + 1000 * k,
                extract_kwargs=extract_kwargs, summary=summary, extractor=extractor,
            )  # fmt: skip
            todo = [r for r in records if r["id"] not in done]
            _append(out, todo)
            summary.written += len(todo)
            summary.parsed += sum(bool(r["parsed"]) for r in todo)
            bar.update(len(todo))
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_group(
    model: Any,
    tokenizer: Any,
    group: Sequence[Example],
    labels: Sequence[str],
    *,
    max_input_tokens: int | None,
    stride: int,
    on_overflow: OnOverflow,
    seed: int | None,
    extract_kwargs: dict[str, Any],
    summary: RunSummary,
    extractor: Callable[[Sequence[Example]], list[Any]] | None,
) -> list[dict[str, Any]]:
    from nerlm.generate import extract

    units: list[Example] = []
    plans: list[WindowPlan | None] = []
    for ex in group:
        if max_input_tokens is None:
            units.append(ex)
            plans.append(None)
            continue
        p = plan_windows(
            ex.text, tokenizer=tokenizer, max_tokens=max_input_tokens, stride=stride,
            on_overflow=on_overflow, doc_id=ex.id,
        )  # fmt: skip
        plans.append(p)
        for w in p.windows:
            units.append(Example(f"{ex.id}#w{w.index}", w.text, [], {"window": w.index}))
    if extractor is not None:
        results = extractor(units)
    else:
        kwargs = dict(extract_kwargs)
        kwargs.setdefault("progress", False)
        results = extract(model, tokenizer, units, labels, seed=seed, **kwargs)
    records: list[dict[str, Any]] = []
    at = 0
    for ex, plan in zip(group, plans, strict=True):
        if plan is None:
            rec = results[at].to_dict()
            at += 1
            records.append(rec)
            continue
        parts = results[at : at + len(plan.windows)]
        at += len(plan.windows)
        merged = merge_windows(ex.text, plan.windows, [p.entities for p in parts])
        summary.dropped_at_window_edges += merged.dropped
        # Merged spans are placements in the document (windows only see exact substrings
        # under grounded decoding); entities without a span keep their window's status.
        ents = [
            {"start": e.start, "end": e.end, "label": e.label, "text": e.text, "status": "exact"}
            for e in merged.entities
        ]
        for _, pe in merged.ungrounded:
            assert isinstance(pe, ParsedEntity)
            ents.append(
                {"start": -1, "end": -1, "label": pe.label, "text": pe.text,
                 "status": pe.status.value}
            )  # fmt: skip
        errors = [e for p in parts for e in p.parse_errors]
        rec = {
            "id": ex.id,
            "text": ex.text,
            "raw_outputs": [o for p in parts for o in p.raw_outputs],
            "entities": ents,
            "parsed": not errors,
            "parse_errors": errors,
            "seconds": round(sum(p.seconds for p in parts), 4),
            "windows": len(plan.windows),
            "truncated": plan.truncated,
        }
        summary.windowed += len(plan.windows) > 1
        summary.truncated += plan.truncated
        records.append(rec)
    return records

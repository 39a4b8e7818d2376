"""Readers and writers by format name, and :func:`read_corpus` / :func:`write_corpus`.

=====================  ==============================================  =======  =======
name                   format                                          read     write
=====================  ==============================================  =======  =======
``jsonl``              canonical nerlm JSONL                           yes      yes
``cluener``            CLUENER2020 JSONL (inclusive span ends)         yes      yes
``chinese-ner-sft``    qgyd2021/chinese_ner_sft JSONL                  yes      yes
``iepile-raw``         IEPile raw ``sample.json`` (strings, no spans)  yes      yes
``iepile-instruction`` IEPile ``train.json``/``test.json`` lines       yes      no [#]_
``iepile-test``        IEPile ``test.json`` lines (``label``)          yes      yes
``conll-char``         character-tagged CoNLL style (any scheme)       yes      yes
``msra``               MSRA NER (``char<TAB>tag``, BIO)                yes      yes
``peoples-daily``      People's Daily 1998 (``char tag``, BIO)         yes      yes
``weibo``              Weibo NER (``char+digit<TAB>tag``, BIO)         yes      yes
``resume``             Resume NER (``char tag``, BMES)                 yes      yes
``conll2003``          CoNLL-2003 (``token POS chunk NER``)            yes      yes
``doccano``            doccano JSONL export                            yes      yes
``label-studio``       Label Studio JSON export                        yes      yes
=====================  ==============================================  =======  =======

.. [#] Writing ``train.json`` lines is instruction building (:class:`nerlm.formats.IepileJson`;
   ``nerlm convert --to iepile-json``).

Each reader takes the path and keyword options (see its docstring); every reader that can skip
what it cannot read does so only with ``lenient=True`` and counts it in ``report``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from nerlm.data._common import PathLike
from nerlm.data.chinese_ner_sft import read_chinese_ner_sft, write_chinese_ner_sft
from nerlm.data.cluener import read_cluener, write_cluener
from nerlm.data.conll import (
    CHAR_PRESETS,
    read_char_tags,
    read_conll2003,
    write_char_tags,
    write_conll2003,
)
from nerlm.data.doccano import read_doccano, write_doccano
from nerlm.data.iepile import read_iepile_raw, write_iepile_raw, write_iepile_test
from nerlm.data.jsonl import read_jsonl, write_jsonl
from nerlm.data.label_studio import read_label_studio, write_label_studio
from nerlm.data.model import Example
from nerlm.data.report import ReadReport

__all__ = [
    "READERS",
    "WRITERS",
    "read_corpus",
    "reader_options",
    "write_corpus",
    "writer_options",
]

Reader = Callable[..., list[Example]]
Writer = Callable[..., int]


def _read_jsonl(
    path: PathLike, *, lenient: bool = False, report: ReadReport | None = None
) -> list[Example]:
    """Canonical JSONL (:func:`nerlm.data.read_jsonl`); ``lenient`` reads prediction files,
    counting ungrounded entities, unparsed outputs and bad spans in ``report``."""
    if lenient:
        return read_jsonl(path, report=report if report is not None else ReadReport(), lenient=True)
    return read_jsonl(path)


def _read_cluener(
    path: PathLike,
    *,
    split: str | None = None,
    labels: Iterable[str] | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """CLUENER JSONL (:func:`nerlm.data.read_cluener`); ``lenient`` counts bad spans and
    unknown labels in ``report`` instead of raising."""
    counted = (report if report is not None else ReadReport()) if lenient else None
    return read_cluener(path, split=split, labels=labels, report=counted)


def _read_iepile(
    path: PathLike,
    *,
    split: str | None = None,
    label_map: Mapping[str, str] | None = None,
) -> list[Example]:
    """IEPile instruction lines (:func:`nerlm.formats.iepile_json.read_iepile`); ``label_map``
    maps corpus labels to the schema names used in the file."""
    from nerlm.formats.iepile_json import IepileJson, read_iepile

    return read_iepile(path, IepileJson(label_map=label_map), split=split)


#: Readers by format name: ``reader(path, **options) -> list[Example]``.
READERS: dict[str, Reader] = {
    "jsonl": _read_jsonl,
    "cluener": _read_cluener,
    "chinese-ner-sft": read_chinese_ner_sft,
    "iepile-raw": read_iepile_raw,
    "iepile-instruction": _read_iepile,
    "iepile-test": _read_iepile,
    "conll-char": read_char_tags,
    **{name: partial(read_char_tags, preset=name) for name in CHAR_PRESETS},
    "conll2003": read_conll2003,
    "doccano": read_doccano,
    "label-studio": read_label_studio,
}

#: Writers by format name: ``writer(examples, path, **options) -> records written``.
WRITERS: dict[str, Writer] = {
    "jsonl": write_jsonl,
    "cluener": write_cluener,
    "chinese-ner-sft": write_chinese_ner_sft,
    "iepile-raw": write_iepile_raw,
    "iepile-test": write_iepile_test,
    "conll-char": write_char_tags,
    **{name: partial(write_char_tags, preset=name) for name in CHAR_PRESETS},
    "conll2003": write_conll2003,
    "doccano": write_doccano,
    "label-studio": write_label_studio,
}


_OWN = ("preset", "report")


def _options(fn: Callable[..., Any], skip: int) -> list[str]:
    params = list(inspect.signature(fn).parameters.values())[skip:]
    return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]


def _lookup(table: Mapping[str, Any], fmt: str, what: str) -> Any:
    try:
        return table[fmt]
    except KeyError:
        raise ValueError(f"no {what} for format {fmt!r}; known: {', '.join(table)}") from None


def _check(fmt: str, accepted: list[str], options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"format {fmt!r} takes no option {', '.join(map(repr, unknown))}; its options: "
            f"{', '.join(accepted) or 'none'}"
        )


def reader_options(fmt: str) -> list[str]:
    """The keyword options of the reader of ``fmt`` (``report`` is :func:`read_corpus`'s)."""
    return [o for o in _options(_lookup(READERS, fmt, "reader"), 1) if o not in _OWN]


def writer_options(fmt: str) -> list[str]:
    """The keyword options of the writer of ``fmt``."""
    return [o for o in _options(_lookup(WRITERS, fmt, "writer"), 2) if o not in _OWN]


def read_corpus(
    path: PathLike, fmt: str, *, report: ReadReport | None = None, **options: Any
) -> list[Example]:
    """Read ``path`` in format ``fmt`` (a key of :data:`READERS`).

    Args:
        path: The file.
        fmt: The format name.
        report: Where a ``lenient=True`` read counts what it skips.
        **options: The reader's options (see its docstring).

    Raises:
        ValueError: Unknown format, or an option the reader does not take (the message lists
            those it takes).
        DataFormatError: What the reader raises (with file and line).
    """
    reader = _lookup(READERS, fmt, "reader")
    _check(fmt, reader_options(fmt), options)
    if report is not None and "report" in _options(reader, 1):
        options["report"] = report
    out: list[Example] = reader(path, **options)
    return out


def write_corpus(examples: Iterable[Example], path: PathLike, fmt: str, **options: Any) -> int:
    """Write ``examples`` to ``path`` in format ``fmt`` (a key of :data:`WRITERS`).

    Returns:
        The number of records (documents, sentences or lines) written.

    Raises:
        ValueError: Unknown format, an option the writer does not take, or an example the
            format cannot hold (the writers' own errors).
    """
    writer = _lookup(WRITERS, fmt, "writer")
    _check(fmt, writer_options(fmt), options)
    n: int = writer(examples, path, **options)
    return n

"""Token-per-line column files (CoNLL style): character-tagged Chinese corpora and CoNLL-2003.

One token per line, its tag in a column, a blank line after each sentence; one
:class:`~nerlm.data.model.Example` per sentence. Tags are decoded and encoded by the Rust core
(:func:`nerlm.tags.spans_from_tags` / :func:`nerlm.tags.tags_from_spans`, strict decoding of
the file's scheme). Entity offsets are half-open code point offsets into ``Example.text``.

Character-tagged files (:func:`read_char_tags`): ``char<SEP>tag`` per line, the text is the
characters joined with no separator. Presets for the corpora in ``../shared/data``:

=================  =========================================================================
preset             file
=================  =========================================================================
``msra``           MSRA NER (Levow, 2006, SIGHAN bakeoff 3,
                   http://sighan.cs.uchicago.edu/bakeoff2006/): ``char<TAB>tag``, BIO
``peoples-daily``  People's Daily 1998 NER as in https://github.com/zjy-ucas/ChineseNER
                   (``example.dev``, ``example.test``): ``char tag``, BIO; adjacent
                   one-character entities are separate ``B-`` tags (``欧/B-LOC 美/B-LOC``) and
                   stay separate entities
``weibo``          Weibo NER (Peng & Dredze, 2015, https://github.com/hltcoe/golden-horse,
                   revised 2nd version): ``char+digit<TAB>tag``, BIO, types PER/ORG/LOC/GPE
                   with ``.NAM``/``.NOM`` subtypes; 8 sentences of train and 4 of test have
                   chunks that start with ``I-`` (read with ``lenient=True``)
``resume``         Resume NER (Zhang & Yang, 2018, https://github.com/jiesutd/LatticeLSTM):
                   ``char tag``, BMES; ``train.char.bmes`` has CRLF line ends (dev and test
                   LF), one malformed line (``-NAME`` without a character, line 68949) and two
                   chunks that run across a sentence break (4 sentences; ``lenient=True``)
=================  =========================================================================

CoNLL-2003 (:func:`read_conll2003`; Tjong Kim Sang & De Meulder, 2003,
https://www.clips.uantwerpen.be/conll2003/ner/): ``token POS chunk NER`` separated by single
spaces, ``-DOCSTART-`` lines between documents; the text is the tokens joined by single spaces.
The original files use IOB1 tags, many redistributions IOB2.

Round trip: reading a file and writing the examples back with the same options gives the same
bytes. The readers keep in ``meta`` what the text and spans do not hold: ``scheme``,
``separator``, ``newline`` (only ``"\r\n"``), ``tokens`` (only when a token is not one code
point, or, for CoNLL-2003, when the tokens cannot be recovered by splitting the text at
spaces), ``word_positions`` (Weibo), ``columns`` (the other CoNLL-2003 columns per token),
``document`` (CoNLL-2003 document index), ``tags`` (only for a sentence whose tags do not follow
the scheme, read with ``lenient=True``: they are written back as they were while they still
decode to the entities) and the layout around the sentence: ``before`` (extra blank lines and
``-DOCSTART-`` lines before it), ``closed`` (False when no blank line follows it), ``after``
and ``eol`` (the end of the file). What is normalised: a sentence break written as a line of
only spaces or tabs is written back as an empty line; a file mixing LF and CRLF line ends is
written with the first line's; lines skipped by ``lenient=True`` are not written back;
``fold_subtypes=True`` loses the subtypes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from nerlm.data._common import PathLike, Problems, guess_split, write_text_atomic
from nerlm.data.model import Entity, Example
from nerlm.data.report import ReadReport
from nerlm.tags import spans_from_tags, tags_from_spans

__all__ = [
    "CHAR_PRESETS",
    "CharPreset",
    "TaggedSentence",
    "detect_scheme",
    "read_char_tags",
    "read_conll2003",
    "read_tagged",
    "write_char_tags",
    "write_conll2003",
]

#: Letters each scheme uses besides ``O``.
SCHEME_LETTERS = {
    "IOB1": "BI",
    "IOB2": "BI",
    "IOE1": "IE",
    "IOE2": "IE",
    "IOBES": "BIES",
    "BILOU": "BILU",
    "BMES": "BMES",
}
_ALIASES = {"BIO": "IOB2", "BIOES": "IOBES", "IOBES": "IOBES"}
_TAG = re.compile(r"([A-Z])-(.+)\Z", re.S)


@dataclass(frozen=True)
class CharPreset:
    """What one character-tagged corpus looks like.

    Attributes:
        source: Recorded in ``meta["source"]`` and in the ids.
        separator: Between character and tag.
        scheme: The tag scheme.
        word_positions: Every character carries a word-position digit (Weibo: ``李0``).
    """

    source: str
    separator: str
    scheme: str
    word_positions: bool = False


#: The presets of :func:`read_char_tags` and :func:`write_char_tags`.
CHAR_PRESETS: dict[str, CharPreset] = {
    "msra": CharPreset("msra", "\t", "IOB2"),
    "peoples-daily": CharPreset("peoples-daily", " ", "IOB2"),
    "weibo": CharPreset("weibo", "\t", "IOB2", word_positions=True),
    "resume": CharPreset("resume", " ", "BMES"),
}


def _scheme_name(scheme: str) -> str:
    name = _ALIASES.get(scheme.upper(), scheme.upper())
    if name not in SCHEME_LETTERS:
        raise ValueError(
            f"unknown scheme {scheme!r}; expected 'auto' or one of {', '.join(SCHEME_LETTERS)} "
            "(BIO = IOB2, BIOES = IOBES)"
        )
    return name


# ---------------------------------------------------------------------------------------------
# lines -> sentences


@dataclass
class _Sentence:
    lines: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    closed: bool = True
    document: int | None = None


@dataclass
class _Layout:
    sentences: list[_Sentence]
    after: list[str]
    crlf: bool
    eol: bool


def _split_sentences(path: str, docstart: bool) -> _Layout:
    with open(path, encoding="utf-8", newline="") as f:
        data = f.read()
    raw = data.split("\n")
    eol = raw[-1] == ""
    if eol:
        raw.pop()
    crlf = bool(raw) and raw[0].endswith("\r")
    lines = [r[:-1] if crlf and r.endswith("\r") else r for r in raw]
    out: list[_Sentence] = []
    pending: list[str] = []
    cur: _Sentence | None = None
    doc: int | None = None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            if cur is None:
                pending.append(line)
            else:
                out.append(cur)
                cur = None
            continue
        if docstart and line.split(maxsplit=1)[0] == "-DOCSTART-":
            if cur is not None:
                cur.closed = False
                out.append(cur)
                cur = None
            pending.append(line)
            doc = 0 if doc is None else doc + 1
            continue
        if cur is None:
            cur = _Sentence(before=pending, document=doc)
            pending = []
        cur.lines.append(line)
        cur.numbers.append(i)
    if cur is not None:
        cur.closed = False
        out.append(cur)
    return _Layout(out, pending, crlf, eol)


def _layout_meta(meta: dict[str, Any], sent: _Sentence) -> None:
    if sent.before:
        meta["before"] = sent.before
    if not sent.closed:
        meta["closed"] = False


# ---------------------------------------------------------------------------------------------
# tags -> spans


def _check_tag(tag: str, letters: str | None) -> str | None:
    """Why ``tag`` is not a tag (of a scheme with ``letters``), or None."""
    if tag == "O":
        return None
    m = _TAG.match(tag)
    if m is None or m.group(1) not in "BIESMLU":
        return f"{tag!r} is not a tag: expected O or a letter B, I, E, S, M, L, U with a type"
    if letters is not None and m.group(1) not in letters:
        return f"tag {tag!r} is not a tag of this file's scheme (letters {letters} and O)"
    return None


def detect_scheme(sentences: Sequence[Sequence[str]]) -> tuple[str | None, str]:
    """Tell the tag scheme of ``sentences`` from the letters used and where chunks start.

    IOB1 and IOB2 differ in how a chunk after ``O`` starts (``I-`` in IOB1, ``B-`` in IOB2);
    IOE1 and IOE2 in how a chunk before ``O`` ends; the more frequent form decides (the
    other then shows as invalid tag sequences). BMES uses ``M``; a file with only ``B``,
    ``E`` and ``S`` reads as IOBES (the same tags as BMES for entities up to two tokens).

    Returns:
        ``(scheme, "")``, or ``(None, why)`` when no scheme fits.
    """
    letters: set[str] = set()
    for sent in sentences:
        for t in sent:
            if t != "O":
                letters.add(t[0])
    if not letters:
        return "IOB2", ""
    if letters <= set("BI") or letters <= set("IE"):
        iob = letters <= set("BI")
        first = "B" if iob else "E"
        one = two = 0
        for sent in sentences:
            n = len(sent)
            for k, t in enumerate(sent):
                if t == "O":
                    continue
                j = k - 1 if iob else k + 1
                near = sent[j] if 0 <= j < n else "O"
                if near == "O" or near[2:] != t[2:]:
                    one += t[0] == "I"
                    two += t[0] == first
        base = "IOB" if iob else "IOE"
        if one and one == two:
            where = "start" if iob else "end"
            return None, (
                f"as many chunks {where} with I- (as in {base}1) as with {first}- (as in "
                f"{base}2): {one}"
            )
        return (f"{base}1" if one > two else f"{base}2"), ""
    if "M" in letters and letters <= set("BMES"):
        return "BMES", ""
    if letters <= set("BIES"):
        return "IOBES", ""
    if letters <= set("BILU"):
        return "BILOU", ""
    return None, f"the letters {''.join(sorted(letters))} fit no scheme"


@dataclass
class _Tokens:
    """Parsed token lines of one sentence."""

    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    columns: list[list[str]] = field(default_factory=list)


def _decode(
    parsed: list[_Tokens], scheme: str, problems: Problems
) -> tuple[list[list[tuple[str, int, int]]], set[int]]:
    """Spans per sentence under strict ``scheme``, and the sentences whose tags are not what
    the scheme writes for their spans (an error, or, lenient, read with seqeval's default
    chunking, counted, and returned so that their tags are kept for the round trip)."""
    seqs = [p.tags for p in parsed]
    spans = spans_from_tags(seqs, scheme=scheme)
    again = tags_from_spans(spans, [len(s) for s in seqs], scheme=scheme)
    irregular: set[int] = set()
    for i, (tags, back) in enumerate(zip(seqs, again, strict=True)):
        if tags == back:
            continue
        k = next(j for j, (a, b) in enumerate(zip(tags, back, strict=True)) if a != b)
        problems(
            "invalid_tag_sequence",
            parsed[i].numbers[k],
            f"tag {tags[k]!r} does not follow {scheme} here (strict decoding writes "
            f"{back[k]!r} for this sentence's spans); pass scheme= if the file uses another "
            "scheme, or lenient=True to read the sentence with seqeval's default chunking",
        )
        spans[i] = spans_from_tags([tags])[0]
        irregular.add(i)
    return spans, irregular


# ---------------------------------------------------------------------------------------------
# readers


def _split_position(token: str) -> tuple[str, str]:
    """Weibo: ``李0`` -> ``("李", "0")``. A token starting with a digit is one character and
    its position (``310`` -> ``("3", "10")``); otherwise the position is the trailing digits
    (``\\ufffd\\ufffd0`` -> ``("\\ufffd\\ufffd", "0")``)."""
    if token[:1].isdigit():
        return token[:1], token[1:]
    k = len(token)
    while k > 1 and token[k - 1] in "0123456789":
        k -= 1
    return token[:k], token[k:]


def _parse(
    path: str,
    problems: Problems,
    *,
    word_mode: bool,
    separator: str,
    tag_column: int,
    word_positions: bool,
    letters: str | None,
) -> tuple[_Layout, list[_Sentence], list[_Tokens], str]:
    """Split the file into sentences and their token lines into token, tag and columns."""
    layout = _split_sentences(path, docstart=word_mode)
    if separator == "auto":
        first = next((s.lines[0] for s in layout.sentences), "")
        sep = "\t" if "\t" in first else " "
    elif separator in ("tab", "\t"):
        sep = "\t"
    elif separator in ("space", " "):
        sep = " "
    else:
        raise ValueError(f"separator must be 'auto', 'tab' or 'space', not {separator!r}")

    kept: list[_Sentence] = []
    parsed: list[_Tokens] = []
    for sent in layout.sentences:
        tk = _Tokens()
        for line, num in zip(sent.lines, sent.numbers, strict=True):
            if word_mode:
                fields = line.split(sep)
                col = tag_column if tag_column >= 0 else len(fields) + tag_column
                if len(fields) < 2 or not 0 < col < len(fields) or "" in fields:
                    problems(
                        "malformed_line",
                        num,
                        f"expected {sep!r}-separated columns with the tag in column "
                        f"{tag_column}, got {line!r}",
                    )
                    continue
                token, tag = fields[0], fields[col]
                tk.columns.append([f for j, f in enumerate(fields) if j not in (0, col)])
            else:
                cut = line.rfind(sep)
                if cut <= 0 or cut == len(line) - 1:
                    what = "character" if cut <= 0 else "tag"
                    problems(
                        "malformed_line",
                        num,
                        f"expected 'character{sep}tag', got {line!r} (no {what})",
                    )
                    continue
                token, tag = line[:cut], line[cut + 1 :]
            if word_positions:
                token, digits = _split_position(token)
                if not digits or not token:
                    problems(
                        "malformed_line",
                        num,
                        f"expected a character followed by its word-position digit, got "
                        f"{token + digits!r}",
                    )
                    continue
                tk.positions.append(int(digits))
            why = _check_tag(tag, letters)
            if why is not None:
                problems("malformed_tag", num, why + " (lenient: read as O)")
                tag = "O"
            tk.tokens.append(token)
            tk.tags.append(tag)
            tk.numbers.append(num)
        if tk.tokens:
            kept.append(sent)
            parsed.append(tk)
    return layout, kept, parsed, sep


def _read_columns(
    path: PathLike,
    *,
    word_mode: bool,
    source: str,
    split: str | None,
    separator: str,
    scheme: str,
    tag_column: int,
    word_positions: bool,
    keep_positions: bool,
    fold_subtypes: bool,
    lenient: bool,
    report: ReadReport | None,
) -> list[Example]:
    p = str(path)
    problems = Problems(p, lenient, report)
    fixed = None if scheme == "auto" else _scheme_name(scheme)
    layout, kept, parsed, sep = _parse(
        p,
        problems,
        word_mode=word_mode,
        separator=separator,
        tag_column=tag_column,
        word_positions=word_positions,
        letters=SCHEME_LETTERS[fixed] if fixed else None,
    )
    if fixed is None:
        found, why = detect_scheme([t.tags for t in parsed])
        if found is None:
            problems(
                "scheme",
                parsed[0].numbers[0] if parsed else 1,
                f"cannot tell the tag scheme: {why}; pass scheme=",
            )
            found = "IOB2"
        fixed = found
    spans, irregular = _decode(parsed, fixed, problems)

    name = guess_split(p, split)
    joiner = " " if word_mode else ""
    out: list[Example] = []
    for idx, (sent, tk, sent_spans) in enumerate(zip(kept, parsed, spans, strict=True)):
        text = joiner.join(tk.tokens)
        starts: list[int] = []
        pos = 0
        for t in tk.tokens:
            starts.append(pos)
            pos += len(t) + len(joiner)
        ents = []
        for label, a, b in sent_spans:
            s, e = starts[a], starts[b - 1] + len(tk.tokens[b - 1])
            lab = label.partition(".")[0] if fold_subtypes else label
            ents.append(Entity(s, e, lab, text[s:e]))
        meta: dict[str, Any] = {"source": source, "split": name, "line": tk.numbers[0]}
        meta["scheme"] = fixed
        meta["separator"] = sep
        if layout.crlf:
            meta["newline"] = "\r\n"
        if word_mode:
            if text.split(" ") != tk.tokens:
                meta["tokens"] = tk.tokens
            if any(tk.columns):
                meta["columns"] = tk.columns
            if sent.document is not None:
                meta["document"] = sent.document
        elif len(text) != len(tk.tokens):
            meta["tokens"] = tk.tokens
        if word_positions and keep_positions:
            meta["word_positions"] = tk.positions
        if idx in irregular:
            meta["tags"] = tk.tags
        _layout_meta(meta, sent)
        out.append(Example(f"{source}-{name}-{idx}", text, sorted(ents), meta))
    if out:
        if layout.after:
            out[-1].meta["after"] = layout.after
        if not layout.eol:
            out[-1].meta["eol"] = False
    problems.done()
    return out


def read_char_tags(
    path: PathLike,
    *,
    preset: str | None = None,
    split: str | None = None,
    source: str | None = None,
    separator: str | None = None,
    scheme: str | None = None,
    word_positions: bool | None = None,
    keep_positions: bool = True,
    fold_subtypes: bool = False,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read a character-tagged file (one ``char<SEP>tag`` line per character).

    Args:
        path: The file (UTF-8; LF or CRLF line ends, kept in ``meta["newline"]``).
        preset: ``"msra"``, ``"peoples-daily"``, ``"weibo"`` or ``"resume"`` (see the module
            docstring): sets ``source``, ``separator``, ``scheme`` and ``word_positions``.
        split: ``meta["split"]`` and the ids ``{source}-{split}-{index}``; default: guessed
            from the file name (``train``, ``dev``, ``test``).
        source: ``meta["source"]`` (default: the preset, else ``"conll-char"``).
        separator: ``"auto"`` (tab when the first line has one, else space), ``"tab"`` or
            ``"space"``. The tag is what follows the last separator, so a space character
            can be a token of a space-separated file.
        scheme: ``"auto"`` (default without a preset; see :func:`detect_scheme`), or
            ``"IOB1"``, ``"IOB2"``/``"BIO"``, ``"IOE1"``, ``"IOE2"``, ``"IOBES"``/``"BIOES"``,
            ``"BILOU"``, ``"BMES"``. Tags are decoded strictly: a sentence whose tags are not
            what the scheme writes for its spans (``O I-PER`` in IOB2) is an error.
        word_positions: Every character carries a word-position digit to strip (Weibo:
            ``李0`` -> ``李``; a multi-digit position follows a digit character: ``310`` is
            ``3`` at position 10).
        keep_positions: Keep the stripped positions in ``meta["word_positions"]`` (ints, one
            per character) so that :func:`write_char_tags` writes them back; without them
            the writer writes bare characters.
        fold_subtypes: Cut labels at the first ``.`` (Weibo ``PER.NAM`` -> ``PER``); the
            subtypes are then lost, so the round trip is not exact.
        lenient: Skip lines without character or tag, read bad tags as ``O`` and sentences
            with invalid tag sequences with seqeval's default chunking, counting each in
            ``report`` (kinds ``malformed_line``, ``malformed_tag``,
            ``invalid_tag_sequence``, ``scheme``) instead of raising.
        report: Where lenient reads count what they skip.

    Returns:
        One example per sentence; text = the characters joined with no separator; offsets
        half-open in code points.

    Raises:
        DataFormatError: A line without character or tag, an unknown tag or one outside the
            scheme, an invalid tag sequence, or an undetectable scheme (with file and line),
            unless ``lenient``.
        ValueError: Unknown preset, scheme or separator.
    """
    pre = _preset(preset)
    return _read_columns(
        path,
        word_mode=False,
        source=source or (pre.source if pre else "conll-char"),
        split=split,
        separator=separator or (pre.separator if pre else "auto"),
        scheme=scheme or (pre.scheme if pre else "auto"),
        tag_column=-1,
        word_positions=_default(word_positions, bool(pre and pre.word_positions)),
        keep_positions=keep_positions,
        fold_subtypes=fold_subtypes,
        lenient=lenient,
        report=report,
    )


def read_conll2003(
    path: PathLike,
    *,
    split: str | None = None,
    source: str = "conll2003",
    tag_column: int = -1,
    separator: str = "auto",
    scheme: str = "auto",
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[Example]:
    """Read a CoNLL-2003 style file (``token POS chunk NER``, ``-DOCSTART-`` lines).

    Args:
        path: The file.
        split: ``meta["split"]`` and the ids; default: guessed from the file name
            (``eng.testa`` has none: pass it).
        source: ``meta["source"]``.
        tag_column: Index of the NER tag column (default: the last). The other columns
            after the token are kept per token in ``meta["columns"]``.
        separator: ``"auto"`` (tab when the first line has one, else space), ``"tab"`` or
            ``"space"``; empty columns (two separators in a row) are errors.
        scheme: ``"auto"`` (IOB1 in the original files, IOB2 in many copies; see
            :func:`detect_scheme`) or a scheme name as in :func:`read_char_tags`.
        lenient: Skip malformed lines, read bad tags as ``O`` and invalid tag sequences with
            seqeval's default chunking, counting them in ``report``.
        report: Where lenient reads count what they skip.

    Returns:
        One example per sentence (``-DOCSTART-`` lines are not sentences; ``meta["document"]``
        counts them); text = tokens joined by single spaces; offsets in code points.

    Raises:
        DataFormatError: Malformed lines, bad tags or tag sequences (with file and line),
            unless ``lenient``.
    """
    return _read_columns(
        path,
        word_mode=True,
        source=source,
        split=split,
        separator=separator,
        scheme=scheme,
        tag_column=tag_column,
        word_positions=False,
        keep_positions=False,
        fold_subtypes=False,
        lenient=lenient,
        report=report,
    )


def _default(value: bool | None, default: bool) -> bool:
    return default if value is None else value


class TaggedSentence(NamedTuple):
    """One sentence of a tagged file as written: tokens, tags and the line of each token."""

    tokens: list[str]
    tags: list[str]
    lines: list[int]


def read_tagged(
    path: PathLike,
    *,
    preset: str | None = None,
    word_mode: bool = False,
    separator: str | None = None,
    tag_column: int = -1,
    word_positions: bool | None = None,
    lenient: bool = False,
    report: ReadReport | None = None,
) -> list[TaggedSentence]:
    """The tokens and tags of a token-per-line file as written, without decoding spans (for
    tag-level tools: seqeval, conlleval, tag statistics).

    Args:
        path: The file.
        preset: A preset of :func:`read_char_tags` (separator, word positions).
        word_mode: CoNLL-2003 style lines (columns, ``-DOCSTART-`` lines) instead of
            ``char<SEP>tag``.
        separator: ``"auto"``, ``"tab"`` or ``"space"``.
        tag_column: The tag column (word mode).
        word_positions: Strip Weibo's word-position digits from the tokens.
        lenient: Skip malformed lines and read tags that are not tags as ``O``, counting
            them in ``report``.
        report: Where lenient reads count what they skip.

    Raises:
        DataFormatError: A malformed line or a tag that is not ``O`` or a letter with a type
            (with file and line), unless ``lenient``.
    """
    pre = _preset(preset)
    problems = Problems(path, lenient, report)
    _, _, parsed, _ = _parse(
        str(path),
        problems,
        word_mode=word_mode,
        separator=separator or (pre.separator if pre else "auto"),
        tag_column=tag_column,
        word_positions=_default(word_positions, bool(pre and pre.word_positions)),
        letters=None,
    )
    problems.done()
    return [TaggedSentence(t.tokens, t.tags, t.numbers) for t in parsed]


def _preset(name: str | None) -> CharPreset | None:
    if name is None:
        return None
    try:
        return CHAR_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(CHAR_PRESETS)}") from None


# ---------------------------------------------------------------------------------------------
# writers


def _tokens_of(ex: Example, word_mode: bool) -> tuple[list[str], list[int]]:
    """Tokens of ``ex`` and their code point starts."""
    joiner = " " if word_mode else ""
    toks = ex.meta.get("tokens")
    if (
        isinstance(toks, list)
        and all(isinstance(t, str) and t for t in toks)
        and joiner.join(toks) == ex.text
    ):
        starts, pos = [], 0
        for t in toks:
            starts.append(pos)
            pos += len(t) + len(joiner)
        return toks, starts
    if word_mode:
        found = list(re.finditer(r"\S+", ex.text))
        return [m.group() for m in found], [m.start() for m in found]
    return list(ex.text), list(range(len(ex.text)))


def _write_columns(
    examples: Iterable[Example],
    path: PathLike,
    *,
    word_mode: bool,
    separator: str | None,
    scheme: str | None,
    newline: str | None,
    tag_column: int,
    word_positions: str,
) -> int:
    exs = list(examples)
    first = exs[0].meta if exs else {}
    sep = separator or first.get("separator") or (" " if word_mode else "\t")
    sep = {"tab": "\t", "space": " "}.get(sep, sep)
    if sep not in ("\t", " "):
        raise ValueError(f"separator must be 'tab' or 'space', not {sep!r}")
    name = _scheme_name(scheme or first.get("scheme") or "IOB2")
    nl = newline or first.get("newline") or "\n"
    nl = {"lf": "\n", "crlf": "\r\n"}.get(nl, nl)
    if nl not in ("\n", "\r\n"):
        raise ValueError(f"newline must be 'lf' or 'crlf', not {newline!r}")
    has_pos = [isinstance(ex.meta.get("word_positions"), list) for ex in exs]
    if word_positions == "auto":
        if any(has_pos) and not all(has_pos):
            k = has_pos.index(not has_pos[0])
            raise ValueError(
                f"example {exs[k].id!r} {'has' if has_pos[k] else 'lacks'} word positions "
                f"but {exs[0].id!r} {'has' if has_pos[0] else 'lacks'} them: all or none "
                "(pass word_positions='drop' to write bare characters)"
            )
        write_pos = all(has_pos) and bool(exs)
    elif word_positions in ("keep", "drop"):
        write_pos = word_positions == "keep"
    else:
        raise ValueError(f"word_positions must be 'auto', 'keep' or 'drop', not {word_positions!r}")

    all_tokens: list[list[str]] = []
    all_spans: list[list[tuple[str, int, int]]] = []
    for ex in exs:
        toks, starts = _tokens_of(ex, word_mode)
        if not toks:
            raise ValueError(f"example {ex.id!r}: an empty text cannot be written as a sentence")
        for t in toks:
            if "\n" in t or "\r" in t or (word_mode and (sep in t or not t.strip())):
                raise ValueError(f"example {ex.id!r}: token {t!r} cannot be written in a line")
        at_start = {s: i for i, s in enumerate(starts)}
        at_end = {s + len(t): i + 1 for i, (s, t) in enumerate(zip(starts, toks, strict=True))}
        spans: list[tuple[str, int, int]] = []
        last_end = -1
        for e in sorted(ex.entities):
            if e.start not in at_start or e.end not in at_end:
                raise ValueError(
                    f"example {ex.id!r}: entity {e.text!r} [{e.start}, {e.end}) does not start "
                    "and end on token boundaries"
                )
            if e.start < last_end:
                raise ValueError(
                    f"example {ex.id!r}: entity {e.text!r} [{e.start}, {e.end}) overlaps the "
                    "entity before it; tags cannot hold overlapping entities"
                )
            if not e.label or any(c.isspace() for c in e.label):
                raise ValueError(f"example {ex.id!r}: label {e.label!r} cannot be written in a tag")
            last_end = e.end
            spans.append((e.label, at_start[e.start], at_end[e.end]))
        all_tokens.append(toks)
        all_spans.append(spans)
    tags = tags_from_spans(all_spans, [len(t) for t in all_tokens], scheme=name)

    out: list[str] = []
    for ex, toks, sent_tags in zip(exs, all_tokens, tags, strict=True):
        m = ex.meta
        out.extend(_blank_or(m.get("before"), word_mode))
        positions = m.get("word_positions") if write_pos else None
        if write_pos and not (isinstance(positions, list) and len(positions) == len(toks)):
            raise ValueError(f"example {ex.id!r}: word positions do not match its characters")
        cols = m.get("columns") if word_mode else None
        if not (isinstance(cols, list) and len(cols) == len(toks)):
            cols = None
        written = _kept_tags(ex, sent_tags, name) or sent_tags
        for k, (token, tag) in enumerate(zip(toks, written, strict=True)):
            tok = f"{token}{positions[k]}" if positions is not None else token
            if word_mode:
                fields = [tok, *(cols[k] if cols is not None else [])]
                at = tag_column if tag_column >= 0 else len(fields) + 1 + tag_column
                fields.insert(at, tag)
                out.append(sep.join(fields))
            else:
                out.append(f"{tok}{sep}{tag}")
        if m.get("closed", True) is not False:
            out.append("")
    eol = True
    if exs:
        out.extend(_blank_or(exs[-1].meta.get("after"), word_mode))
        eol = exs[-1].meta.get("eol", True) is not False
    text = nl.join(out) + (nl if eol and out else "")
    write_text_atomic(text, path)
    return len(exs)


def _kept_tags(ex: Example, tags: list[str], scheme: str) -> list[str] | None:
    """The tags a lenient read kept (``meta["tags"]``, not valid under the scheme) when they
    still decode, with seqeval's default chunking, to the spans that ``tags`` hold."""
    kept = ex.meta.get("tags")
    if (
        ex.meta.get("scheme") != scheme
        or not isinstance(kept, list)
        or len(kept) != len(tags)
        or not all(isinstance(t, str) and _check_tag(t, None) is None for t in kept)
    ):
        return None
    want = spans_from_tags([tags], scheme=scheme)[0]
    return kept if sorted(spans_from_tags([kept])[0]) == sorted(want) else None


def _blank_or(lines: Any, word_mode: bool) -> list[str]:
    """Layout lines from meta: blank lines, and (CoNLL-2003) ``-DOCSTART-`` lines."""
    if not isinstance(lines, list):
        return []
    return [
        ln
        for ln in lines
        if isinstance(ln, str)
        and "\n" not in ln
        and "\r" not in ln
        and (not ln.strip() or (word_mode and ln.split()[0] == "-DOCSTART-"))
    ]


def write_char_tags(
    examples: Iterable[Example],
    path: PathLike,
    *,
    preset: str | None = None,
    separator: str | None = None,
    scheme: str | None = None,
    newline: str | None = None,
    word_positions: Literal["auto", "keep", "drop"] = "auto",
) -> int:
    """Write examples as a character-tagged file, one ``char<SEP>tag`` line per character.

    Options not given come from the preset, else from the first example's ``meta`` (as
    :func:`read_char_tags` recorded them), else tab, IOB2 and LF.

    Args:
        examples: The documents; each becomes one sentence (characters: ``meta["tokens"]``
            when it still spells the text, else one per code point).
        path: The file, written atomically.
        preset: ``"msra"``, ``"peoples-daily"``, ``"weibo"`` or ``"resume"``: separator and
            scheme.
        separator: ``"tab"`` or ``"space"``.
        scheme: The tag scheme (``"IOB2"``, ``"BMES"``, ...).
        newline: ``"lf"`` or ``"crlf"``; default ``meta["newline"]``, else LF.
        word_positions: ``"auto"``: write ``meta["word_positions"]`` after every character
            (Weibo) when every example has them, bare characters when none has;
            ``"keep"``/``"drop"``: always/never.

    Returns:
        The number of sentences written.

    Raises:
        ValueError: An empty text, a character with a line break, an entity not on character
            boundaries, overlapping entities, a label with whitespace, examples that mix
            having and lacking word positions, or bad options.
    """
    pre = _preset(preset)
    return _write_columns(
        examples,
        path,
        word_mode=False,
        separator=separator or (pre.separator if pre else None),
        scheme=scheme or (pre.scheme if pre else None),
        newline=newline,
        tag_column=-1,
        word_positions=word_positions,
    )


def write_conll2003(
    examples: Iterable[Example],
    path: PathLike,
    *,
    separator: str | None = None,
    scheme: str | None = None,
    newline: str | None = None,
    tag_column: int = -1,
) -> int:
    """Write examples as a CoNLL-2003 style file, one ``token [columns...] tag`` line per token.

    Tokens are ``meta["tokens"]`` when they still spell the text, else the whitespace-separated
    words of the text; the other columns are ``meta["columns"]`` when they match the tokens
    (else only token and tag are written); ``-DOCSTART-`` lines and blank-line layout come from
    ``meta["before"]``/``meta["after"]``. Options not given come from the first example's
    ``meta``, else space, IOB2 and LF.

    Args:
        examples: The documents; each becomes one sentence.
        path: The file, written atomically.
        separator: ``"space"`` or ``"tab"``.
        scheme: The tag scheme (``"IOB1"`` for the original CoNLL-2003 files).
        newline: ``"lf"`` or ``"crlf"``.
        tag_column: Where the tag goes among the columns (default: last).

    Returns:
        The number of sentences written.

    Raises:
        ValueError: An empty text, an entity not on token boundaries, overlapping entities,
            a label with whitespace, or bad options.
    """
    return _write_columns(
        examples,
        path,
        word_mode=True,
        separator=separator,
        scheme=scheme,
        newline=newline,
        tag_column=tag_column,
        word_positions="drop",
    )

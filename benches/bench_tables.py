"""Grammar-constrained decoding: nerlm against its peers, side by side, per request.

Run::

    python benches/bench_tables.py [--sizes 43,414,3821] [--alone-sizes 40000] \
        [--engines nerlm,xgrammar,llguidance,outlines-core] [--cases A,B] [--json OUT]

Every (engine, case, size) runs in a fresh subprocess with the engine's own Python: nerlm with
``.venv/bin/python`` of this checkout, the peers with ``build/bench-venv/bin/python``
(``make bench-venv``; override with ``NERLM_BENCH_NERLM_PYTHON`` /
``NERLM_BENCH_PEER_PYTHON``); for each (case, size) the engines run one after another, so that
the ratios compare runs seconds apart rather than minutes, in ``--rounds`` rounds (default 3:
nerlm, xgrammar, llguidance, outlines-core, then again): each engine's row gives the median over
its rounds, and each ratio the median (and range) of the ratios within a round. The peers are
pinned: xgrammar 0.2.8, llguidance 1.9.1, outlines-core 0.2.14 (``pip install xgrammar==0.2.8
llguidance==1.9.1 outlines-core==0.2.14 transformers tokenizers numpy`` into that venv).

Vocabulary: the Qwen2.5 tokenizer (``shared/tokenizers/qwen2.5/tokenizer.json``, 151,665
tokens); the model's logits width is 151,936, so the bitmask is int32 ``[1, 4748]`` and the
peers get ``vocab_size=151936``; end of sequence is ``<|endoftext|>`` (151643).

Inputs: the CLUENER dev sentences (``shared/data/cluener/dev.json``) in file order are joined
with nothing between them; for a size of N characters the first k sentences are taken, k the
smallest whose joined length reaches N, and the result is cut to exactly N characters (the cut
falls between code points). The default sizes are 43 (sentence 1, 42 characters, plus the first
character of sentence 2), 414 (exactly the first 10 sentences) and 3,821 (exactly the first 100),
and nerlm alone at 40,000 (the first 1,068 sentences, cut).
Gold entities are those of these sentences that lie wholly inside the cut, with CLUENER labels
mapped to the 10 Chinese labels; nested or overlapping gold spans are dropped (greedy from the
left, the longer span first at equal starts), for both cases.

Cases (each a per-request grammar over the input text):

* A, ``iepile-json``: ``{"人名": ["e1", "e2"], "组织机构": [], ...}`` with the 10 keys fixed in
  order, separators ``", "`` and ``": "`` as ``json.dumps`` writes them, and every string a JSON
  string (``json.dumps(..., ensure_ascii=False)`` escaping) whose value is a non-empty substring
  of the input. The gold target lists each label's gold surfaces in text order.
* B, ``xml-inline``: the input copied exactly, with any number of non-overlapping, non-nested
  spans wrapped as ``<L>...</L>`` (L one of the 10 labels); ``&``, ``<`` and ``>`` of the text
  are written ``&amp;``, ``&lt;``, ``&gt;``. The gold target wraps the gold spans.

How each engine expresses grounding (the closest native construct of each):

* nerlm: ``TokenTable(vocabulary, "iepile-json" | "xml-inline", labels, text)`` (built-in,
  escape-aware, non-empty).
* xgrammar: EBNF. Case A: ``Substring("c1", "c2", ...)`` with one chunk per input character,
  each chunk the character's JSON-escaped form, so a match is a run of whole escaped characters;
  xgrammar's substring also admits the empty string (the other constraints are exact). Case B:
  one rule per (position, inside-label-or-outside) state, ``o_i ::= "c_i" o_{i+1} |
  "<L>" "c_i" t_L_{i+1} | ...``, ``t_L_j ::= "</L>" o_j | "c_j" t_L_{j+1}`` (11 N + 1 rules).
* llguidance: Lark. Case A: ``STR: "\\"" (SUB & /(?s:.+)/) "\\""`` with
  ``SUB: %regex {"substring_chunks": [...]}``, the same per-character escaped chunks (exact,
  non-empty through the ``&`` intersection). Case B: the same state chain as xgrammar but as
  Lark *terminals* (uppercase, non-recursive because positions only grow), so the whole output
  is one lexeme; if that fails to compile, lowercase rules are used instead (noted in the row).
  The parser limits are raised 100x (``LLGUIDANCE_LIMITS``) and workers get a 1 GiB stack:
  with the defaults the 3,821-character cases fail (see the constants' comments).
* outlines-core: a regex for ``Index(regex, Vocabulary)``; the vocabulary is built from the
  tokenizer.json byte-level pieces as exact bytes (no decoded strings, so no U+FFFD). Case A:
  each string is the alternation over start positions of nested optional groups, ``c_i(?:c_{i+1}
  (?:...)?)?``, O(N^2) per string and 20 copies (two per list); a regex over the 64 MiB guard
  is reported as an error instead of being built. Case B: a tagged copy needs the label of the
  open span at every position, which a regex without shared sub-expressions can only spell out
  with exponentially many alternatives, so it is reported "n/a".

Measurements, per row: tokenizer preparation (wall time, and the VmRSS increase of the fresh
process, after the engine's modules are imported); per-request setup (building the grammar text
where the engine needs one, compiling it, creating the matcher); then the gold target is
tokenized with ``tokenizers.Tokenizer.from_file`` (no special tokens) and replayed: per token,
fill the preallocated bitmask (timed), check that the gold token's bit is set (gold acceptance),
advance the matcher by it. After the last token: does the matcher accept (no EOS fed)? A case is
capped at 120 s of wall time (setup + replay); larger sizes of a (engine, case) whose smaller
size hit the cap are skipped. outlines-core's index construction gets 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOKENIZER_JSON = SHARED / "tokenizers" / "qwen2.5" / "tokenizer.json"
DEV_JSON = SHARED / "data" / "cluener" / "dev.json"

VOCAB_SIZE = 151_936
EOS_ID = 151_643
MASK_WORDS = (VOCAB_SIZE + 31) // 32

#: The 10 labels, in the order case A lists them. (Spelled out rather than imported from
#: nerlm: the peers' worker processes run in an environment without nerlm.)
LABELS = ("人名", "组织机构", "景点", "企业", "电影", "书名", "政府", "职位", "地址", "游戏")
CLUENER_TO_LABEL = {
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
CASES = {"A": "10-label grounded JSON (iepile-json)", "B": "XML inline copy (xml-inline)"}
ENGINES = ("nerlm", "xgrammar", "llguidance", "outlines-core")
DEFAULT_SIZES = (43, 414, 3821)
# Sizes run by nerlm alone (issue #3: `xml-inline` set up in under 20 ms at 40,000 characters);
# no peer sets up the `xml-inline` case at 3,821 characters within the cap.
ALONE_SIZES = (40000,)
CASE_CAP_S = 120.0
OUTLINES_INDEX_LIMIT_S = 60.0
SECOND_REQUEST_LIMIT_S = 5.0
REPLAYS = 5
#: Rounds per (case, size) (``--rounds``); a worker whose first round fails or takes over
#: REPEAT_LIMIT_S seconds runs once.
ROUNDS = 3
REPEAT_LIMIT_S = 30.0
PREP_LIMIT_S = 600.0
OUTLINES_REGEX_GUARD = 64 << 20

#: llguidance parser limits, 100x its defaults: with the defaults the 3,821-character case A
#: stops at the first string ("lexer error: too many expressions constructed", step fuel) and
#: case B's terminal chain is refused ("initial lexer configuration (grammar) too big").
LLGUIDANCE_LIMITS = {"initial_lexer_fuel": 100_000_000, "step_lexer_fuel": 20_000_000}
#: Stack for the worker processes (all engines): llguidance compiles case B's 3,821-deep
#: terminal chain recursively and overflows the default 8 MiB stack (SIGSEGV).
WORKER_STACK_KIB = 1 << 20

PEER_PYTHON = Path(
    os.environ.get("NERLM_BENCH_PEER_PYTHON", str(ROOT / "build/bench-venv/bin/python"))
)
NERLM_PYTHON = Path(os.environ.get("NERLM_BENCH_NERLM_PYTHON", str(ROOT / ".venv/bin/python")))


class Unsupported(Exception):
    """The engine cannot run this case; the message is the row's status."""


# --------------------------------------------------------------------------- inputs


def load_dev(path: Path = DEV_JSON) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def make_input(dev: Sequence[dict[str, Any]], size: int) -> dict[str, Any]:
    """Join the first k dev sentences (k smallest reaching ``size``), cut to ``size`` chars.

    Returns the text, k, and the kept gold entities ``(start, end, label)`` (end exclusive),
    non-overlapping and sorted, plus how many gold spans were cut off or dropped as nested or
    overlapping.
    """
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    total = 0
    for doc in dev:
        if total >= size:
            break
        for lab, surfaces in doc.get("label", {}).items():
            for surface, offsets in surfaces.items():
                for s, e in offsets:
                    assert doc["text"][s : e + 1] == surface, (doc["text"], surface, s, e)
                    spans.append((total + s, total + e + 1, CLUENER_TO_LABEL[lab]))
        parts.append(doc["text"])
        total += len(doc["text"])
    if total < size:
        raise ValueError(f"dev has only {total} characters; asked for {size}")
    text = "".join(parts)[:size]
    inside = [sp for sp in spans if sp[1] <= size]
    kept: list[tuple[int, int, str]] = []
    for sp in sorted(inside, key=lambda x: (x[0], x[0] - x[1])):
        if not kept or sp[0] >= kept[-1][1]:
            kept.append(sp)
    return {
        "size": size,
        "sentences": len(parts),
        "text": text,
        "entities": kept,
        "cut_off": len(spans) - len(inside),
        "dropped_overlapping": len(inside) - len(kept),
    }


def xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gold_target(case: str, text: str, entities: Sequence[tuple[int, int, str]]) -> str:
    if case == "A":
        out: dict[str, list[str]] = {lab: [] for lab in LABELS}
        for s, e, lab in entities:
            out[lab].append(text[s:e])
        return json.dumps(out, ensure_ascii=False)
    pieces: list[str] = []
    pos = 0
    for s, e, lab in entities:
        pieces += [xml_escape(text[pos:s]), f"<{lab}>", xml_escape(text[s:e]), f"</{lab}>"]
        pos = e
    pieces.append(xml_escape(text[pos:]))
    return "".join(pieces)


def json_chunks(text: str) -> list[str]:
    """Each character's JSON-escaped form (``json.dumps(..., ensure_ascii=False)``)."""
    return [json.dumps(c, ensure_ascii=False)[1:-1] for c in text]


def tokenize_targets(targets: list[str]) -> list[list[int]]:
    """Token ids of each target with the Qwen2.5 tokenizer, no special tokens."""
    try:
        from tokenizers import Tokenizer
    except ImportError:  # this Python lacks `tokenizers`: let the peers' Python do it
        proc = subprocess.run(
            [str(PEER_PYTHON), __file__, "--tokenize-worker"],
            input=json.dumps(targets),
            capture_output=True,
            text=True,
            check=True,
        )
        ids: list[list[int]] = json.loads(proc.stdout)
        return ids
    tok = Tokenizer.from_file(str(TOKENIZER_JSON))
    return [tok.encode(t, add_special_tokens=False).ids for t in targets]


# --------------------------------------------------------------------------- engines


def _versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


class Engine:
    """One engine behind the interface the harness drives.

    ``load()`` imports the engine's modules (not timed as preparation), then
    ``prepare_tokenizer()`` once per process, ``compile(case, text)`` per request,
    ``fill``/``advance``/``is_accepting`` per step.
    """

    name = ""
    packages: tuple[str, ...] = ()

    def load(self) -> None:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return _versions(*self.packages, "numpy")

    def prepare_tokenizer(self) -> None:
        raise NotImplementedError

    def compile(self, case: str, text: str) -> Any:
        raise NotImplementedError

    def fill(self, matcher: Any, bitmask: Any) -> None:
        raise NotImplementedError

    def advance(self, matcher: Any, token_id: int) -> bool:
        raise NotImplementedError

    def is_accepting(self, matcher: Any) -> bool:
        raise NotImplementedError

    def last_error(self, matcher: Any) -> str:
        """Why the last step failed, where the engine says."""
        return ""

    def settings(self) -> str:
        """Non-default settings this harness uses for the engine."""
        return ""


class NerlmEngine(Engine):
    name = "nerlm"
    packages = ("nerlm",)

    def load(self) -> None:
        import nerlm

        self.nerlm = nerlm

    def versions(self) -> dict[str, str]:
        out = super().versions()
        out["nerlm"] = self.nerlm.__version__
        return out

    def prepare_tokenizer(self) -> None:
        # The file is read and parsed in Rust (no Python copy of the 11 MB JSON text).
        self.vocab = self.nerlm.Vocabulary.from_file(TOKENIZER_JSON, [EOS_ID])

    def compile(self, case: str, text: str) -> Any:
        fmt = "iepile-json" if case == "A" else "xml-inline"
        try:
            table = self.nerlm.TokenTable(self.vocab, fmt, list(LABELS), text)
        except Exception as e:
            if case == "B":
                raise Unsupported(f"not available ({type(e).__name__}: {e})") from e
            raise
        self.table = table  # keep the table alive next to its matcher
        return table.matcher()

    def fill(self, matcher: Any, bitmask: Any) -> None:
        matcher.fill_next_token_bitmask(bitmask)

    def advance(self, matcher: Any, token_id: int) -> bool:
        try:
            matcher.accept_token(token_id)
        except self.nerlm.TokenRejectedError:
            return False
        return True

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_accepting())


def ebnf_literal(s: str) -> str:
    """``s`` as an xgrammar EBNF string literal."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def lark_literal(s: str) -> str:
    """``s`` as a Lark string literal (JSON string syntax, which llguidance reads)."""
    return json.dumps(s, ensure_ascii=False)


def xgrammar_ebnf(case: str, text: str) -> str:
    if case == "A":
        keys = [ebnf_literal(json.dumps(lab, ensure_ascii=False) + ": ") for lab in LABELS]
        body = ' ", " '.join(f"{k} list" for k in keys)
        chunks = ", ".join(ebnf_literal(c) for c in json_chunks(text))
        return "\n".join(
            [
                f'root ::= "{{" {body} "}}"',
                'list ::= "[" "]" | "[" str (", " str)* "]"',
                f'str ::= "\\"" Substring({chunks}) "\\""',
            ]
        )
    n = len(text)
    chars = [ebnf_literal(xml_escape(c)) for c in text]
    opens = [ebnf_literal(f"<{lab}>") for lab in LABELS]
    closes = [ebnf_literal(f"</{lab}>") for lab in LABELS]
    lines = ["root ::= o0"]
    for i in range(n):
        alts = [f"{chars[i]} o{i + 1}"]
        alts += [f"{opens[k]} {chars[i]} t{k}_{i + 1}" for k in range(len(LABELS))]
        lines.append(f"o{i} ::= " + " | ".join(alts))
    lines.append(f'o{n} ::= ""')
    for k in range(len(LABELS)):
        for j in range(1, n):
            lines.append(f"t{k}_{j} ::= {closes[k]} o{j} | {chars[j]} t{k}_{j + 1}")
        lines.append(f"t{k}_{n} ::= {closes[k]}")
    return "\n".join(lines)


class XGrammarEngine(Engine):
    name = "xgrammar"
    packages = ("xgrammar", "transformers", "tokenizers", "torch")

    def load(self) -> None:
        import numpy as np
        import transformers
        import xgrammar

        self.np, self.transformers, self.xgr = np, transformers, xgrammar

    def prepare_tokenizer(self) -> None:
        tok = self.transformers.PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER_JSON))
        self.info = self.xgr.TokenizerInfo.from_huggingface(
            tok, vocab_size=VOCAB_SIZE, stop_token_ids=[EOS_ID]
        )
        self.compiler = self.xgr.GrammarCompiler(
            self.info, max_threads=os.cpu_count() or 1, cache_enabled=False
        )

    def settings(self) -> str:
        return f"GrammarCompiler(max_threads={os.cpu_count()}, cache_enabled=False)"

    def compile(self, case: str, text: str) -> Any:
        compiled = self.compiler.compile_grammar(xgrammar_ebnf(case, text))
        return self.xgr.GrammarMatcher(compiled)

    def fill(self, matcher: Any, bitmask: Any) -> None:
        matcher.fill_next_token_bitmask(bitmask)

    def advance(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.accept_token(token_id))

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_completed())


def llguidance_lark(case: str, text: str, terminals: bool = True) -> str:
    if case == "A":
        keys = [lark_literal(json.dumps(lab, ensure_ascii=False) + ": ") for lab in LABELS]
        body = ' ", " '.join(f"{k} list" for k in keys)
        sub = json.dumps({"substring_chunks": json_chunks(text)}, ensure_ascii=False)
        return "\n".join(
            [
                f'start: "{{" {body} "}}"',
                'list: "[" "]" | "[" STR (", " STR)* "]"',
                'STR: "\\"" (SUB & /(?s:.+)/) "\\""',
                f"SUB: %regex {sub}",
            ]
        )
    n = len(text)
    chars = [lark_literal(xml_escape(c)) for c in text]
    opens = [lark_literal(f"<{lab}>") for lab in LABELS]
    closes = [lark_literal(f"</{lab}>") for lab in LABELS]
    o, t = ("O", "T") if terminals else ("o", "t")

    def outside(j: int) -> str:  # the outside state at position j (nothing once j == n)
        return f" {o}{j}" if j < n else ""

    lines = [f"start: {o}0"]
    for i in range(n):
        alts = [f"{chars[i]}{outside(i + 1)}"]
        alts += [f"{opens[k]} {chars[i]} {t}{k}_{i + 1}" for k in range(len(LABELS))]
        lines.append(f"{o}{i}: " + " | ".join(alts))
    for k in range(len(LABELS)):
        for j in range(1, n):
            lines.append(f"{t}{k}_{j}: {closes[k]}{outside(j)} | {chars[j]} {t}{k}_{j + 1}")
        lines.append(f"{t}{k}_{n}: {closes[k]}")
    return "\n".join(lines)


class LLGuidanceEngine(Engine):
    name = "llguidance"
    packages = ("llguidance", "transformers", "tokenizers")

    def load(self) -> None:
        import llguidance
        import llguidance.hf
        import transformers

        self.llg, self.transformers = llguidance, transformers
        self._ptr: dict[int, tuple[int, int]] = {}
        self.note = ""

    def prepare_tokenizer(self) -> None:
        tok = self.transformers.PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER_JSON))
        self.tok = self.llg.hf.from_tokenizer(tok, n_vocab=VOCAB_SIZE, eos_token=EOS_ID)

    def compile(self, case: str, text: str) -> Any:
        limits = self.llg.LLParserLimits(**LLGUIDANCE_LIMITS)
        m = self.llg.LLMatcher(self.tok, llguidance_lark(case, text), log_level=0, limits=limits)
        if m.is_error() and case == "B":
            first = m.get_error().splitlines()[0][:120]
            rules = llguidance_lark(case, text, False)
            m = self.llg.LLMatcher(self.tok, rules, log_level=0, limits=limits)
            self.note = f"terminal chain failed ({first}); used Lark rules"
        if m.is_error():
            raise RuntimeError(m.get_error()[:500])
        return m

    def fill(self, matcher: Any, bitmask: Any) -> None:
        key = id(bitmask)
        if key not in self._ptr:
            row = bitmask[0]
            self._ptr[key] = (row.ctypes.data, row.size * row.itemsize)
        matcher.unsafe_compute_mask_ptr(*self._ptr[key])

    def advance(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.consume_token(token_id)) and not matcher.is_error()

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_accepting())

    def last_error(self, matcher: Any) -> str:
        lines = matcher.get_error().splitlines()
        return lines[0][:200] if lines else ""

    def settings(self) -> str:
        return (
            "LLParserLimits(" + ", ".join(f"{k}={v:,}" for k, v in LLGUIDANCE_LIMITS.items()) + ")"
        )


def byte_level_decoder() -> dict[str, int]:
    """The GPT-2 byte-level alphabet, from its printable characters back to bytes."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = list(bs)
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def regex_piece(s: str) -> str:
    """``s`` as a literal in Rust regex syntax (ASCII punctuation as ``\\x{..}``)."""
    return "".join(c if c.isalnum() or ord(c) > 0x7F else f"\\x{{{ord(c):X}}}" for c in s)


def outlines_regex(case: str, text: str) -> str:
    if case == "B":
        raise Unsupported(
            "n/a (a tagged copy must carry the open label through every position; a regex "
            "spells that out with exponentially many alternatives)"
        )
    pieces = [regex_piece(c) for c in json_chunks(text)]
    n = len(pieces)
    # Size of one substring regex: per start i, c_i then (?:c_j ... )? for j > i.
    plen = [len(p) for p in pieces]
    suffix = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + plen[i]
    one = sum(suffix[i] + 5 * (n - 1 - i) + 1 for i in range(n)) + 4
    if 20 * one > OUTLINES_REGEX_GUARD:
        raise RuntimeError(
            f"regex would be {20 * one / 2**20:.0f} MiB (20 copies of {one / 2**20:.1f} MiB), "
            f"over the {OUTLINES_REGEX_GUARD >> 20} MiB guard"
        )
    alts = []
    for i in range(n):
        tail = n - 1 - i
        alts.append(pieces[i] + "".join("(?:" + p for p in pieces[i + 1 :]) + ")?" * tail)
    sub = "(?:" + "|".join(alts) + ")"
    string = regex_piece('"') + sub + regex_piece('"')
    lst = regex_piece("[") + f"(?:{string}(?:{regex_piece(', ')}{string})*)?" + regex_piece("]")
    keys = [regex_piece(json.dumps(lab, ensure_ascii=False) + ": ") for lab in LABELS]
    return regex_piece("{") + regex_piece(", ").join(k + lst for k in keys) + regex_piece("}")


class OutlinesCoreEngine(Engine):
    name = "outlines-core"
    packages = ("outlines-core",)

    def load(self) -> None:
        import outlines_core

        self.oc = outlines_core
        self._ptr: dict[int, tuple[int, int]] = {}

    def prepare_tokenizer(self) -> None:
        data = json.loads(TOKENIZER_JSON.read_text(encoding="utf-8"))
        dec = byte_level_decoder()
        tokens: dict[bytes, list[int]] = {}
        for piece, tid in data["model"]["vocab"].items():
            tokens.setdefault(bytes(dec[c] for c in piece), []).append(tid)
        for added in data.get("added_tokens", []):
            if not added.get("special") and added["id"] not in data["model"]["vocab"].values():
                tokens.setdefault(added["content"].encode(), []).append(added["id"])
        self.vocab = self.oc.Vocabulary(EOS_ID, tokens)

    def compile(self, case: str, text: str) -> Any:
        index = self.oc.Index(outlines_regex(case, text), self.vocab)
        return self.oc.Guide(index)

    def fill(self, matcher: Any, bitmask: Any) -> None:
        key = id(bitmask)
        if key not in self._ptr:
            self._ptr[key] = (bitmask.ctypes.data, bitmask.size)
        ptr, numel = self._ptr[key]
        matcher.write_mask_into(ptr, numel, 4)

    def advance(self, matcher: Any, token_id: int) -> bool:
        try:
            matcher.advance(token_id, False)
        except Exception:
            return False
        return True

    def is_accepting(self, matcher: Any) -> bool:
        return bool(matcher.is_finished())


ENGINE_CLASSES: dict[str, Callable[[], Engine]] = {
    "nerlm": NerlmEngine,
    "xgrammar": XGrammarEngine,
    "llguidance": LLGuidanceEngine,
    "outlines-core": OutlinesCoreEngine,
}


# --------------------------------------------------------------------------- worker


def vm_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def emit(event: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_xs[min(len(sorted_xs) - 1, max(0, math.ceil(q * len(sorted_xs)) - 1))]


def worker(job: dict[str, Any]) -> None:
    """Run one (engine, case, size) and report JSON lines on stdout."""
    engine = ENGINE_CLASSES[job["engine"]]()
    t = time.perf_counter()
    engine.load()
    import_s = time.perf_counter() - t
    rss0 = vm_rss_mb()
    t = time.perf_counter()
    engine.prepare_tokenizer()
    prep_s = time.perf_counter() - t
    rss1 = vm_rss_mb()
    emit(
        "prepared",
        import_s=import_s,
        prep_s=prep_s,
        rss_before_mb=rss0,
        rss_after_mb=rss1,
        tokenizer_rss_mb=rss1 - rss0,
        versions=engine.versions(),
    )
    import numpy as np

    start = time.perf_counter()
    try:
        matcher = engine.compile(job["case"], job["text"])
    except Unsupported as e:
        emit("result", status=str(e))
        return
    setup_s = time.perf_counter() - start
    emit("compiled", setup_ms=setup_s * 1e3)
    # A second request of the same size on other text, in the same process: the steady-state
    # setup of a server (allocator and caches warm), measured when the first took < 5 s.
    second_ms = None
    if job.get("second_text") and setup_s < SECOND_REQUEST_LIMIT_S:
        t = time.perf_counter()
        engine.compile(job["case"], job["second_text"])
        second_ms = (time.perf_counter() - t) * 1e3

    cap = float(job["cap_s"])
    trace: list[int] = job["trace"]
    bitmask = np.zeros((1, MASK_WORDS), dtype=np.int32)
    times_ns: list[int] = []
    accepted_bits = 0
    rejected_at = None
    capped = False
    clock = time.perf_counter_ns
    gc.disable()
    for i, tid in enumerate(trace):
        if time.perf_counter() - start > cap:
            capped = True
            break
        t0 = clock()
        engine.fill(matcher, bitmask)
        times_ns.append(clock() - t0)
        if int(bitmask[0, tid >> 5]) >> (tid & 31) & 1:
            accepted_bits += 1
        if not engine.advance(matcher, tid):
            rejected_at = i
            break
    error = engine.last_error(matcher) if rejected_at is not None else ""
    # Further replays of the trace, each on a fresh build of the same grammar (caches cold
    # again), when the build is quick: the mask percentiles pool every replay's fills, which
    # damps the noise of a shared machine. Gold acceptance is the first replay's.
    replays = 1
    if not capped and rejected_at is None and setup_s < SECOND_REQUEST_LIMIT_S:
        for _ in range(REPLAYS - 1):
            if time.perf_counter() - start > cap / 2:
                break
            again = engine.compile(job["case"], job["text"])
            for tid in trace:
                t0 = clock()
                engine.fill(again, bitmask)
                times_ns.append(clock() - t0)
                engine.advance(again, tid)
            replays += 1
    gc.enable()
    wall_s = time.perf_counter() - start
    us = sorted(x / 1e3 for x in times_ns)
    status = "ok"
    if capped:
        status = f"capped at {cap:.0f} s after {len(times_ns)}/{len(trace)} tokens"
    elif rejected_at is not None:
        status = f"gold token {rejected_at} rejected" + (f" ({error})" if error else "")
    note = getattr(engine, "note", "")
    emit(
        "result",
        status=status,
        note=note,
        settings=engine.settings(),
        setup_ms=setup_s * 1e3,
        second_setup_ms=second_ms,
        wall_s=wall_s,
        steps=len(times_ns),
        replays=replays,
        trace_tokens=len(trace),
        gold_bits_set=accepted_bits,
        rejected_at=rejected_at,
        accepting_at_end=(
            engine.is_accepting(matcher) if not capped and rejected_at is None else None
        ),
        mask_us={
            "p50": percentile(us, 0.50),
            "p90": percentile(us, 0.90),
            "p99": percentile(us, 0.99),
            "max": us[-1],
            "mean": sum(us) / len(us),
            "first": times_ns[0] / 1e3,
        }
        if us
        else None,
        exceeded_cap=capped or wall_s > cap,
    )


# --------------------------------------------------------------------------- parent


def run_job(job: dict[str, Any], python: Path) -> dict[str, Any]:
    """Run one job in a subprocess, enforcing the preparation and per-case time limits."""
    row: dict[str, Any] = {"engine": job["engine"], "case": job["case"], "size": job["size"]}
    if not python.exists():
        row["status"] = f"error: no Python at {python}"
        return row
    # A shell raises the soft stack limit before exec'ing the worker (see WORKER_STACK_KIB).
    shell = f'ulimit -s {WORKER_STACK_KIB} 2>/dev/null; exec "$0" "$@"'
    proc = subprocess.Popen(
        ["/bin/sh", "-c", shell, str(python), __file__, "--worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    lines: queue.Queue[str | None] = queue.Queue()
    err_tail: list[str] = []

    def pump_out() -> None:
        assert proc.stdout
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_err() -> None:
        assert proc.stderr
        for line in proc.stderr:
            err_tail.append(line)
            del err_tail[:-20]

    threading.Thread(target=pump_out, daemon=True).start()
    threading.Thread(target=pump_err, daemon=True).start()
    deadline = time.monotonic() + PREP_LIMIT_S
    stage = "tokenizer preparation"
    case_start = None
    compile_limit = OUTLINES_INDEX_LIMIT_S if job["engine"] == "outlines-core" else None
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            proc.wait()
            limit = (deadline - case_start) if case_start is not None else PREP_LIMIT_S
            row["status"] = f"timeout ({stage} still running after {limit:.0f} s)"
            row["exceeded_cap"] = True
            row["wall_s"] = time.monotonic() - (case_start or deadline - PREP_LIMIT_S)
            return row
        if line is None:
            break
        msg = json.loads(line)
        event = msg.pop("event")
        row.update(msg)
        if event == "prepared":
            case_start = time.monotonic()
            stage = "setup (grammar compile)"
            limit = compile_limit if compile_limit is not None else job["cap_s"] + 15
            deadline = case_start + limit
        elif event == "compiled":
            stage = "replay"
            deadline = case_start + job["cap_s"] + 15 if case_start else deadline
        elif event == "result":
            break
    proc.wait()
    if "status" not in row:
        tail = "".join(err_tail).strip().splitlines()
        row["status"] = f"error: {tail[-1] if tail else f'exit code {proc.returncode}'}"
    return row


def fmt_num(x: Any, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def machine_line(rows: Sequence[dict[str, Any]]) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, set[str]] = {}
    for r in rows:
        for k, v in (r.get("versions") or {}).items():
            versions.setdefault(k, set()).add(v)
    vs = ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(versions.items()))
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Machine: {os.cpu_count()} cores (nproc), {cpu}, {platform.machine()}, "
        f"{platform.system()} {platform.release()}; {vs}; {date}"
    )


def summarize(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One (engine, case, size) over its rounds: the first round's row, with the median over
    the rounds that finished of each time and percentile (max: the largest), the smallest
    gold acceptance, and the first status that is not "ok"."""
    out = dict(rounds[0])
    ok = [r for r in rounds if r.get("status") == "ok"]
    out["rounds"] = len(rounds)
    bad = [r for r in rounds if r.get("status") != "ok"]
    if bad:
        out["status"] = bad[0].get("status", "")
        if len(rounds) > 1:
            out["status"] += f" (round {bad[0].get('round', 1)} of {len(rounds)})"
    for key in ("prep_s", "tokenizer_rss_mb", "setup_ms", "second_setup_ms"):
        xs = [r[key] for r in rounds if r.get(key) is not None]
        out[key] = median(xs) if xs else None
    masks = [r["mask_us"] for r in ok if r.get("mask_us")]
    if masks:
        out["mask_us"] = {q: median([m[q] for m in masks]) for q in ("p50", "p90", "p99")}
        out["mask_us"]["max"] = max(m["max"] for m in masks)
    if ok:
        out["gold_bits_set"] = min(r["gold_bits_set"] for r in ok)
        out["accepting_at_end"] = all(r.get("accepting_at_end") for r in ok)
        out["replays"] = min(r.get("replays", 1) for r in ok)
    return out


def ratio_cell(pairs: Sequence[tuple[float, float]]) -> str:
    """Peer / nerlm over paired rounds: the median, and the range when there are several."""
    rs = [peer / ours for peer, ours in pairs]
    if not rs:
        return "—"
    if len(rs) == 1:
        return f"{rs[0]:.1f}x"
    return f"{median(rs):.1f}x ({min(rs):.1f}–{max(rs):.1f})"


def paired(
    peer: Sequence[dict[str, Any]], ours: Sequence[dict[str, Any]], get: Callable[[Any], Any]
) -> list[tuple[float, float]]:
    """(peer, nerlm) values of the rounds both ran; a worker that ran once (a slow one) is
    paired with each of the other's rounds."""

    def vals(rows: Sequence[dict[str, Any]]) -> dict[int, float]:
        return {r.get("round", 1): v for r in rows if (v := get(r)) is not None}

    p, o = vals(peer), vals(ours)
    if len(p) == 1 and len(o) > 1:
        p = {k: next(iter(p.values())) for k in o}
    if len(o) == 1 and len(p) > 1:
        o = {k: next(iter(o.values())) for k in p}
    return [(p[k], o[k]) for k in sorted(p) if k in o]


def print_report(all_rows: Sequence[dict[str, Any]], inputs: dict[int, dict[str, Any]]) -> None:
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in all_rows:
        groups.setdefault((r["engine"], r["case"], r["size"]), []).append(r)
    rows = [summarize(g) for g in groups.values()]
    n_rounds = max((r["rounds"] for r in rows), default=1)
    print(machine_line(all_rows))
    print()
    for size, inp in sorted(inputs.items()):
        print(
            f"- input {size} chars: first {inp['sentences']} dev sentence(s), cut to {size}; "
            f"{len(inp['entities'])} gold entities ({inp['cut_off']} cut off, "
            f"{inp['dropped_overlapping']} nested/overlapping dropped); trace tokens "
            f"A {inp['trace_len']['A']}, B {inp['trace_len']['B']}"
        )
    print()
    print(
        "| case | size | engine | tokenizer prep (s) | tokenizer RSS (MB) | setup, 1st request "
        "(ms) | setup, 2nd request (ms) | mask p50 (µs) | p90 | p99 | max | gold acceptance "
        "| accepted at end | status |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for r in rows:
        mask = r.get("mask_us") or {}
        acc = r.get("accepting_at_end")
        gold = (
            f"{r['gold_bits_set']}/{r['trace_tokens']}"
            if r.get("trace_tokens") is not None
            else "—"
        )
        status = r.get("status", "")
        if r.get("note"):
            status += f"; {r['note']}"
        print(
            "| "
            + " | ".join(
                [
                    r["case"],
                    f"{r['size']:,}",
                    r["engine"],
                    fmt_num(r.get("prep_s"), ".3f"),
                    fmt_num(r.get("tokenizer_rss_mb"), ".0f"),
                    fmt_num(r.get("setup_ms"), ".2f"),
                    fmt_num(r.get("second_setup_ms"), ".2f"),
                    fmt_num(mask.get("p50"), ".1f"),
                    fmt_num(mask.get("p90"), ".1f"),
                    fmt_num(mask.get("p99"), ".1f"),
                    fmt_num(mask.get("max"), ".1f"),
                    gold,
                    "—" if acc is None else ("yes" if acc else "no"),
                    status,
                ]
            )
            + " |"
        )
    print()
    settings = {r["engine"]: r["settings"] for r in rows if r.get("settings")}
    for engine, text in settings.items():
        print(f"- {engine}: {text}")
    print(
        f"- every worker runs with a {WORKER_STACK_KIB >> 10} MiB stack limit; a case is capped "
        f"at {CASE_CAP_S:.0f} s (killed 15 s later if still in setup), outlines-core's Index "
        f"at {OUTLINES_INDEX_LIMIT_S:.0f} s; mask times are per fill, first fill included"
    )
    single = [
        f"{r['engine']} {r['case']} {r['size']:,}"
        for r in rows
        if r.get("replays") == 1 and r.get("status") == "ok"
    ]
    print(
        f"- mask percentiles pool {REPLAYS} replays of the gold trace, each on a fresh grammar "
        f"build; one replay where a build takes over {SECOND_REQUEST_LIMIT_S:.0f} s"
        + (f" ({', '.join(single)})" if single else "")
    )
    print(
        "- setup, 1st request: the process's first grammar build (the input above); 2nd "
        "request: the next build in the same process, over the following dev sentences cut to "
        f"the same size (run when the first took under {SECOND_REQUEST_LIMIT_S:.0f} s)"
    )
    print()
    if n_rounds > 1:
        print(
            f"- {n_rounds} rounds per (case, size), every engine once per round in turn; each "
            f"engine's row gives the median over its rounds of each time and percentile (max: "
            f"the largest); a worker that failed or took over {REPEAT_LIMIT_S:.0f} s in its "
            "first round ran once"
        )
    print()
    print(
        "nerlm vs the fastest peer that completed the trace (ratio = peer / nerlm, so > 1 means "
        "nerlm is faster; setup = per-request grammar build, 1st and 2nd request in a process; "
        "mask = p50 fill; the fastest peer by its median; "
        + (
            "each ratio is the median over rounds of the ratio within a round, with its range "
            "over rounds in brackets; a peer that ran once is paired with each of nerlm's rounds):"
            if n_rounds > 1
            else "one round):"
        )
    )
    print()
    print(
        "| case | size | nerlm setup 1st / 2nd (ms) | fastest peer setup 1st / 2nd (ms) "
        "| setup ratio 1st | setup ratio 2nd | mask p50: fastest peer / nerlm "
        "| mask p50: xgrammar / nerlm |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")

    def p50(r: dict[str, Any]) -> float | None:
        return (r.get("mask_us") or {}).get("p50") if r.get("status") == "ok" else None

    def setup(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: r.get(key) if r.get("status") == "ok" else None

    def of(r: dict[str, Any]) -> list[dict[str, Any]]:
        """Every round of `r`'s (engine, case, size)."""
        return groups[r["engine"], r["case"], r["size"]]

    for case in CASES:
        for size in sorted(inputs):
            cell = [r for r in rows if r["case"] == case and r["size"] == size]
            ours = [r for r in cell if r["engine"] == "nerlm" and r.get("status") == "ok"]
            peers = [
                r
                for r in cell
                if r["engine"] != "nerlm" and r.get("status") == "ok" and r.get("setup_ms")
            ]
            if not ours or not peers:
                continue
            o = ours[0]
            runs = of(o)
            best = min(peers, key=lambda r: r["setup_ms"])
            second = [r for r in peers if r.get("second_setup_ms")]
            best2 = min(second, key=lambda r: r["second_setup_ms"]) if second else None
            best_mask = min(peers, key=lambda r: r["mask_us"]["p50"])
            xgr = [r for r in peers if r["engine"] == "xgrammar"]
            x_cell = (
                f"{xgr[0]['mask_us']['p50']:.1f} / {o['mask_us']['p50']:.1f} µs: "
                f"{ratio_cell(paired(of(xgr[0]), runs, p50))}"
                if xgr
                else "—"
            )
            peer2 = f"{best2['engine']} {best2['second_setup_ms']:.2f}" if best2 else "—"
            second_cell = (
                ratio_cell(paired(of(best2), runs, setup("second_setup_ms"))) if best2 else "—"
            )
            print(
                f"| {case} | {size:,} | {o['setup_ms']:.2f} / "
                f"{fmt_num(o.get('second_setup_ms'), '.2f')} | {best['engine']} "
                f"{best['setup_ms']:.2f} / {peer2} | "
                f"{ratio_cell(paired(of(best), runs, setup('setup_ms')))} | {second_cell} | "
                f"{best_mask['engine']} {best_mask['mask_us']['p50']:.1f} / "
                f"{o['mask_us']['p50']:.1f} µs: "
                f"{ratio_cell(paired(of(best_mask), runs, p50))} | {x_cell} |"
            )


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    ap.add_argument(
        "--alone-sizes",
        default=",".join(map(str, ALONE_SIZES)),
        help="sizes run by nerlm only ('' for none)",
    )
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--cases", default="A,B")
    ap.add_argument("--json", type=Path, help="write all rows and inputs here")
    ap.add_argument("--cap", type=float, default=CASE_CAP_S, help="seconds per case")
    ap.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help="rounds per (case, size): every engine once per round, in turn; the report gives "
        "medians over rounds and the ratios' median and range over rounds",
    )
    ap.add_argument(
        "--dump-traces",
        type=Path,
        help="write the inputs and tokenized gold traces as JSON (for the Rust replay example) "
        "and exit",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tokenize-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if args.worker:
        worker(json.loads(sys.stdin.read()))
        return
    if args.tokenize_worker:
        sys.stdout.write(json.dumps(tokenize_targets(json.loads(sys.stdin.read()))))
        return

    sizes = sorted(int(s) for s in args.sizes.split(","))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for e in engines:
        if e not in ENGINE_CLASSES:
            ap.error(f"unknown engine {e!r}; known: {', '.join(ENGINES)}")
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}; known: {', '.join(CASES)}")

    alone = [int(x) for x in args.alone_sizes.split(",") if x.strip()] if "nerlm" in engines else []
    all_sizes = sorted(set(sizes) | set(alone))
    dev = load_dev()
    inputs = {size: make_input(dev, size) for size in all_sizes}
    # The 2nd request's text: the sentences that follow, wrapping around to the first ones
    # when dev runs out (only at 40,000 characters).
    second = {
        size: make_input(dev[inputs[size]["sentences"] :] + dev, size)["text"] for size in all_sizes
    }
    keys = [(size, case) for size in all_sizes for case in CASES]
    targets = [gold_target(c, inputs[s]["text"], inputs[s]["entities"]) for s, c in keys]
    for (s, c), tgt in zip(keys, targets, strict=True):
        if c == "A":
            assert list(json.loads(tgt)) == list(LABELS)
        else:
            stripped = tgt
            for lab in LABELS:
                stripped = stripped.replace(f"<{lab}>", "").replace(f"</{lab}>", "")
            assert stripped == xml_escape(inputs[s]["text"])
    traces = dict(zip(keys, tokenize_targets(targets), strict=True))
    for (s, c), tgt in zip(keys, targets, strict=True):
        inputs[s].setdefault("targets", {})[c] = tgt
        inputs[s].setdefault("trace_len", {})[c] = len(traces[s, c])
    if args.dump_traces:
        fmt = {"A": "iepile-json", "B": "xml-inline"}
        dump = {
            "labels": list(LABELS),
            "vocab_size": VOCAB_SIZE,
            "traces": [
                {"format": fmt[c], "size": s, "text": inputs[s]["text"], "trace": traces[s, c]}
                for s, c in keys
                if c in cases
            ],
        }
        args.dump_traces.write_text(json.dumps(dump, ensure_ascii=False), encoding="utf-8")
        return

    # The engines run side by side per (case, size), seconds apart, so that a ratio does not
    # compare runs minutes apart (this VM's speed drifts within minutes); the report lists
    # them engine by engine.
    # With several rounds, each (case, size) runs every engine once per round, in turn, so
    # each round's ratios pair runs seconds apart; a worker is not repeated when its first
    # round failed or took over REPEAT_LIMIT_S.
    rows: list[dict[str, Any]] = []
    over: dict[tuple[str, str], tuple[int, float]] = {}
    once: set[tuple[str, str, int]] = set()
    jobs = [
        (case, size, rnd, engine)
        for case in cases
        for size in all_sizes
        for rnd in range(1, args.rounds + 1)
        for engine in engines
        if engine == "nerlm" or size in sizes
    ]
    for case, size, rnd, engine in jobs:
        python = NERLM_PYTHON if engine == "nerlm" else PEER_PYTHON
        if rnd > 1 and (engine, case, size) in once:
            continue
        if (engine, case) in over:
            done = over[engine, case]
            rows.append(
                {
                    "engine": engine,
                    "case": case,
                    "size": size,
                    "status": f"skipped ({done[1]:.0f} s at {done[0]:,} chars)",
                }
            )
            once.add((engine, case, size))
            continue
        print(
            f"[bench] {engine} case {case} size {size} round {rnd} ...", file=sys.stderr, flush=True
        )
        job = {
            "engine": engine,
            "case": case,
            "size": size,
            "text": inputs[size]["text"],
            "second_text": second[size],
            "trace": traces[size, case],
            "cap_s": args.cap,
        }
        t = time.monotonic()
        row = run_job(job, python)
        print(
            f"[bench]   {row.get('status')} ({time.monotonic() - t:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        row["round"] = rnd
        rows.append(row)
        if row.get("exceeded_cap"):
            over[engine, case] = (size, float(row.get("wall_s") or args.cap))
        if row.get("status") != "ok" or float(row.get("wall_s") or 0) > REPEAT_LIMIT_S:
            once.add((engine, case, size))
    rank = {e: k for k, e in enumerate(engines)}
    rows.sort(key=lambda r: (rank[r["engine"]], r["case"], r["size"], r.get("round", 1)))
    print_report(rows, inputs)
    if args.json:
        out = {
            "machine": machine_line(rows),
            "inputs": {
                str(s): {k: v for k, v in inp.items() if k != "text"} | {"text": inp["text"]}
                for s, inp in inputs.items()
            },
            "rows": rows,
        }
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

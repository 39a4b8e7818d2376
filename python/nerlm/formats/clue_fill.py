r"""``clue-fill``: the LLM-NER format (ChatGLM2 + P-tuning v2 on CLUENER).

The prompt shows a Python dict with one empty list per type,
``{'属于人名类实体有?': [], '属于企业类实体有?': [], ...}``, and asks the model to fill it; the
target is the same dict filled, exactly as Python's ``repr()`` writes it:
``{'属于人名类实体有?': ['叶老桂'], '属于企业类实体有?': ['浙商银行'], '属于地址类实体有?': []}``.

Model output is read by a small hand-written parser for this subset of Python literals (never
``eval``): a dict of string keys to lists of strings, with arbitrary whitespace between tokens
and optional trailing commas. Strings are single- or double-quoted, on one line, with the
escapes ``\\ \' \" \a \b \f \n \r \t \v``, octal ``\ooo``, ``\xhh``, ``\uhhhh``,
``\Uhhhhhhhh``, ``\N{name}`` and backslash-newline; any other escape is an error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from nerlm.data.model import Example
from nerlm.formats.base import LabelMapped, ParseResult, encodable, place

#: Key text before and after the type name: ``属于人名类实体有?``.
KEY_PREFIX = "属于"
KEY_SUFFIX = "类实体有?"

#: Built-in definitions and two example entities for the CLUENER types (by Chinese name).
CLUENER_DESCRIPTIONS: dict[str, tuple[str, list[str]]] = {
    "人名": ("真实人物或虚构角色的姓名、称呼", ["张伟", "林黛玉"]),
    "组织机构": ("企业和政府以外的组织，如学校、球队、协会、乐队", ["北京大学", "皇家马德里"]),
    "景点": ("旅游景区、公园、名胜古迹等游览地点", ["故宫", "西湖"]),
    "企业": ("公司、银行、商业机构及其品牌", ["阿里巴巴", "招商银行"]),
    "电影": ("电影、电视剧等影视作品的名称", ["流浪地球", "大话西游"]),
    "书名": ("书籍、小说、杂志、报刊等出版物的名称", ["三体", "红楼梦"]),
    "政府": ("各级政府机关、部委和政府部门", ["国务院", "上海市教育局"]),
    "职位": ("职务、职称和头衔", ["总经理", "主治医师"]),
    "地址": ("国家、省市、区县、街道、门牌等地理位置", ["浙江省杭州市", "南京路"]),
    "游戏": ("电子游戏、网络游戏、手机游戏的名称", ["王者荣耀", "英雄联盟"]),
}

_SIMPLE_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


class _SyntaxError(Exception):
    """Raised inside the parser; :meth:`ClueFill.parse` turns it into ``ParseResult.error``."""


class _Reader:
    """A recursive-descent reader for ``{str: [str, ...], ...}`` written as a Python literal."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0

    def fail(self, what: str) -> _SyntaxError:
        """A syntax error at the current position; notes when the output ends there."""
        tail = " (the output is truncated)" if self.pos >= len(self.src) else ""
        return _SyntaxError(f"{what} at character {self.pos}{tail}")

    def skip_ws(self) -> None:
        """Skip whitespace between tokens."""
        src, i = self.src, self.pos
        while i < len(src) and src[i].isspace():
            i += 1
        self.pos = i

    def peek(self) -> str:
        """The next non-whitespace character, or ``""`` at the end."""
        self.skip_ws()
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def expect(self, ch: str) -> None:
        """Consume ``ch`` (after whitespace) or fail."""
        if self.peek() != ch:
            raise self.fail(f"expected {ch!r}")
        self.pos += 1

    def read_dict(self) -> list[tuple[str, list[str]]]:
        """``{key: [values], ...}`` followed by nothing but whitespace."""
        self.expect("{")
        entries: list[tuple[str, list[str]]] = []
        while self.peek() != "}":
            if self.peek() not in ("'", '"'):
                raise self.fail("expected a string key or '}'")
            key = self.read_string()
            self.expect(":")
            entries.append((key, self.read_list()))
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("}")
        if self.peek():
            raise self.fail("unexpected text after the dict")
        return entries

    def read_list(self) -> list[str]:
        """``[string, ...]`` (trailing comma allowed)."""
        self.expect("[")
        values: list[str] = []
        while self.peek() != "]":
            if self.peek() not in ("'", '"'):
                raise self.fail("expected a string or ']'")
            values.append(self.read_string())
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("]")
        return values

    def read_string(self) -> str:
        """A one-line Python string literal; the reader is on its opening quote."""
        src = self.src
        quote = src[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            i = self.pos
            if i >= len(src):
                self.pos = start
                raise _SyntaxError(
                    f"unterminated string starting at character {start} (the output is truncated)"
                )
            ch = src[i]
            if ch == quote:
                self.pos = i + 1
                return "".join(out)
            if ch in "\n\r":
                raise self.fail("line break inside a string")
            if ch != "\\":
                out.append(ch)
                self.pos = i + 1
                continue
            self.pos = i + 1
            out.append(self.read_escape())

    def read_escape(self) -> str:
        """The character(s) of an escape; the reader is just past its backslash."""
        src, i = self.src, self.pos
        if i >= len(src):
            raise self.fail("unterminated escape")
        ch = src[i]
        if ch in _SIMPLE_ESCAPES:
            self.pos = i + 1
            return _SIMPLE_ESCAPES[ch]
        if ch == "\n":
            self.pos = i + 1
            return ""
        if ch == "\r":
            self.pos = i + 2 if src.startswith("\r\n", i) else i + 1
            return ""
        if ch in _OCTAL:
            j = i
            while j < len(src) and j < i + 3 and src[j] in _OCTAL:
                j += 1
            self.pos = j
            return chr(int(src[i:j], 8))
        width = {"x": 2, "u": 4, "U": 8}.get(ch)
        if width is not None:
            digits = src[i + 1 : i + 1 + width]
            if len(digits) < width or any(c not in _HEX for c in digits):
                self.pos = i - 1
                raise self.fail(f"bad \\{ch} escape (needs {width} hex digits)")
            code = int(digits, 16)
            if code > 0x10FFFF:
                self.pos = i - 1
                raise self.fail(f"\\{ch}{digits} is beyond U+10FFFF")
            self.pos = i + 1 + width
            return chr(code)
        if ch == "N":
            close = src.find("}", i)
            if not src.startswith("{", i + 1) or close < 0:
                self.pos = i - 1
                raise self.fail("bad \\N{...} escape")
            name = src[i + 2 : close]
            try:
                value = unicodedata.lookup(name)
            except KeyError:
                self.pos = i - 1
                raise self.fail(f"unknown character name {name!r}") from None
            self.pos = close + 1
            return value
        self.pos = i - 1
        raise self.fail(f"invalid escape \\{ch}")


class ClueFill(LabelMapped):
    """The ``clue-fill`` output format.

    Args:
        variant: ``"plain"`` (the prompt shows the empty dict) or ``"described"`` (it also
            gives a one-line definition and example entities per type).
        label_map: Optional map from corpus labels to the type names written in the keys
            (e.g. CLUENER ``name`` -> ``人名``); parsing maps back.
        descriptions: For the ``described`` variant: ``(definition, [examples])`` per type, by
            schema name (or corpus label); overrides the built-in CLUENER descriptions.
    """

    name = "clue-fill"

    def __init__(
        self,
        variant: str = "plain",
        label_map: Mapping[str, str] | None = None,
        descriptions: Mapping[str, tuple[str, list[str]]] | None = None,
    ) -> None:
        if variant not in ("plain", "described"):
            raise ValueError("variant must be 'plain' or 'described'")
        self.variant = variant
        super().__init__(label_map)
        self.descriptions: dict[str, tuple[str, list[str]]] = {
            **CLUENER_DESCRIPTIONS,
            **(descriptions or {}),
        }

    def key(self, label: str) -> str:
        """The dict key of corpus label ``label``: ``属于{schema name}类实体有?``."""
        return f"{KEY_PREFIX}{self.schema_name(label)}{KEY_SUFFIX}"

    def describe(self, label: str) -> tuple[str, list[str]]:
        """Definition and examples of ``label`` for the ``described`` prompt.

        Raises:
            ValueError: No description for the label's schema name or corpus label.
        """
        name = self.schema_name(label)
        found = self.descriptions.get(name) or self.descriptions.get(label)
        if found is None:
            raise ValueError(
                f"no description for type {name!r}; pass descriptions={{{name!r}: "
                "(definition, [examples])}"
            )
        return found

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """Ask the model to fill the empty dict for ``example`` (schema ``labels``).

        Raises:
            ValueError: ``described`` variant and a label without a description.
        """
        empty = repr({self.key(lab): [] for lab in labels})
        lines = [
            "请从文本中找出下列各类实体，按出现顺序填入字典中对应的列表，"
            "没有的类型保留空列表，只输出填好的字典。"
        ]
        if self.variant == "described":
            lines.append("类型说明：")
            for lab in labels:
                definition, examples = self.describe(lab)
                line = f"{self.schema_name(lab)}：{definition}"
                lines.append(f"{line}；例如：{'、'.join(examples)}" if examples else line)
        lines.append(f"字典：{empty}")
        lines.append(f"文本：{example.text}")
        return "\n".join(lines)

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """``repr()`` of ``{'属于{name}类实体有?': [surfaces in text order], ...}`` for ``labels``.

        Entities with a label outside ``labels`` are left out.
        """
        out: dict[str, list[str]] = {self.key(lab): [] for lab in labels}
        for e in sorted(example.entities, key=lambda e: (e.start, e.end)):
            if e.label in labels:
                out[self.key(e.label)].append(e.text)
        return repr(out)

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Read the filled dict by hand (never ``eval``) and place its entities in ``text``.

        A key not of the form ``属于<type>类实体有?``, a repeated key, or anything outside the
        literal subset gives a result with ``error`` set and no entities. Types not in the
        schema are reported in ``unknown_labels``; labels in the result are corpus labels.
        """
        try:
            entries = _Reader(output).read_dict()
        except _SyntaxError as e:
            return ParseResult(error=str(e))
        names = {self.schema_name(lab): lab for lab in labels}
        seen: set[str] = set()
        items: list[tuple[str, int]] = []
        owners: list[str] = []
        unknown: list[str] = []
        for group, (key, values) in enumerate(entries):
            name = key[len(KEY_PREFIX) : -len(KEY_SUFFIX)]
            if not (key.startswith(KEY_PREFIX) and key.endswith(KEY_SUFFIX) and name):
                return ParseResult(error=f"key {key!r} is not of the form '属于<type>类实体有?'")
            if name in seen:
                return ParseResult(error=f"key {key!r} appears twice")
            seen.add(name)
            if name not in names:
                unknown.append(name)
            label = names.get(name, self.corpus_label(name))
            for v in values:
                if not encodable(v):
                    return ParseResult(error=f"entity string {v!r} holds a lone surrogate")
                items.append((v, group))
                owners.append(label)
        ents = place(text, items, owners)
        missing = [lab for name, lab in names.items() if name not in seen]
        return ParseResult(ents, None, unknown, missing)

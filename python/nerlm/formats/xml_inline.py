"""``xml-inline``: the power-grid LoRA format (Qwen1.5 + LLaMA-Factory).

The target is the input copied exactly, with each entity wrapped as ``<Name>surface</Name>``:
``<Date>本月</Date><City>菏泽</City><Company>巨野县供电公司</Company>投诉个数``. The characters
``&``, ``<`` and ``>`` of the text are written ``&amp;``, ``&lt;`` and ``&gt;`` everywhere; nothing
else is escaped. Labels configured as *inferred* are inserted as extra elements whose text is
not in the input (the seed adds ``<Province>山东省</Province>``); in an :class:`Example` such an
entity has ``start == end ==`` the insertion point and ``text`` holds the inserted text.

Parsing scans tags by hand (no XML library), checks that the text outside inferred elements
equals the input, and takes real entities' offsets from the scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nerlm.align import AlignStatus
from nerlm.data.model import Entity, Example
from nerlm.formats.base import LabelMapped, ParsedEntity, ParseResult

_ESCAPES = (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))
_SPECIAL = re.compile(r"[<&]")


def escape(s: str) -> str:
    """``s`` with ``&``, ``<`` and ``>`` written as ``&amp;``, ``&lt;`` and ``&gt;``."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class XmlInline(LabelMapped):
    """The ``xml-inline`` output format.

    Args:
        label_map: Optional map from corpus labels to the tag names (e.g. CLUENER ``name`` ->
            ``人名``); parsing maps back.
        inferred: Corpus labels whose elements hold text that is not taken from the input.
    """

    name = "xml-inline"

    def __init__(
        self, label_map: Mapping[str, str] | None = None, inferred: Iterable[str] = ()
    ) -> None:
        super().__init__(label_map)
        self.inferred = frozenset(inferred)

    def _check_names(self, labels: Sequence[str]) -> None:
        for lab in labels:
            name = self.schema_name(lab)
            if not name or "<" in name or ">" in name or name.startswith("/"):
                raise ValueError(f"{name!r} cannot be a tag name")

    def grammar_options(self) -> dict[str, Any]:
        """``inferred``: the schema names of the inferred labels."""
        return {"inferred": sorted(self.schema_name(lab) for lab in self.inferred)}

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """Ask the model to copy ``example.text`` with the entities of ``labels`` tagged."""
        real = [self.schema_name(lab) for lab in labels if lab not in self.inferred]
        extra = [self.schema_name(lab) for lab in labels if lab in self.inferred]
        lines = [
            "请把下面的文本原样抄写一遍，并把其中的实体用标签括起来，写成<类型>实体</类型>。"
            f"实体类型：{'、'.join(real)}。"
        ]
        if extra:
            lines.append(
                f"以下类型的内容不在原文中，请根据文本推断，以<类型>内容</类型>插入到合适位置："
                f"{'、'.join(extra)}。"
            )
        lines.append("文本中的&、<、>分别写作&amp;、&lt;、&gt;。")
        lines.append(f"文本：{example.text}")
        return "\n".join(lines)

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """The escaped text with the entities of ``labels`` wrapped in tags.

        Inferred entities are written at their insertion point, before a real entity that
        starts there.

        Raises:
            ValueError: Overlapping entities, a real entity whose span is empty, outside the
                text or not its ``text``, an inferred entity with ``start != end`` or empty
                text, or a schema name that cannot be a tag name.
        """
        self._check_names(labels)
        text = example.text
        out: list[str] = []
        pos = 0
        prev: Entity | None = None
        for e in sorted(example.entities, key=lambda e: (e.start, e.end)):
            if e.label not in labels:
                continue
            if e.label in self.inferred:
                body = e.text
                if e.start != e.end or not 0 <= e.start <= len(text) or not body:
                    raise ValueError(
                        f"example {example.id!r}: inferred entity {e.label!r} must have "
                        f"start == end within the text and non-empty text, got {e}"
                    )
            else:
                body = text[e.start : e.end]
                if not 0 <= e.start < e.end <= len(text) or body != e.text:
                    raise ValueError(f"example {example.id!r}: entity {e} does not match the text")
            if e.start < pos:
                raise ValueError(f"example {example.id!r}: entities {prev} and {e} overlap")
            name = self.schema_name(e.label)
            out.append(escape(text[pos : e.start]))
            out.append(f"<{name}>{escape(body)}</{name}>")
            pos = e.end
            prev = e
        out.append(escape(text[pos:]))
        return "".join(out)

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Scan the tags of ``output``, check the copy against ``text`` and read the entities.

        ``<`` always starts a tag; ``&amp;``, ``&lt;`` and ``&gt;`` are unescaped and any other
        ``&`` or ``>`` is taken literally. Unknown tag names, nested, unbalanced or empty
        elements, and a copy (the text outside inferred elements) that differs from ``text``
        give a result with ``error`` set and no entities. Real entities get exact offsets;
        inferred ones get ``start = end = -1`` and status ``INFERRED``.
        """
        names = {self.schema_name(lab): lab for lab in labels}
        pieces: list[str] = []
        copied = 0
        ents: list[ParsedEntity] = []
        open_name: str | None = None
        open_at = open_copy = 0
        body: list[str] = []
        i, n = 0, len(output)
        while i < n:
            m = _SPECIAL.search(output, i)
            j = m.start() if m else n
            if j > i:
                chunk = output[i:j]
                i = j
            elif output[i] == "&":
                for ent, ch in _ESCAPES:
                    if output.startswith(ent, i):
                        chunk = ch
                        i += len(ent)
                        break
                else:
                    chunk = "&"
                    i += 1
            else:
                close = output.find(">", i + 1)
                if close < 0:
                    return ParseResult(
                        error=f"unterminated tag at character {i} (the output is truncated)"
                    )
                tag = output[i + 1 : close]
                closing = tag.startswith("/")
                name = tag[1:] if closing else tag
                if name not in names:
                    return ParseResult(error=f"unknown tag <{tag}> at character {i}")
                if not closing:
                    if open_name is not None:
                        return ParseResult(
                            error=f"<{name}> at character {i} is nested in <{open_name}>"
                        )
                    open_name, open_at, open_copy, body = name, i, copied, []
                elif open_name is None:
                    return ParseResult(error=f"</{name}> at character {i} closes no element")
                elif name != open_name:
                    return ParseResult(error=f"</{name}> at character {i} closes <{open_name}>")
                elif not body:
                    return ParseResult(error=f"empty element <{name}> at character {open_at}")
                else:
                    label = names[name]
                    surface = "".join(body)
                    if label in self.inferred:
                        ents.append(ParsedEntity(label, surface, -1, -1, AlignStatus.INFERRED))
                    else:
                        ents.append(
                            ParsedEntity(label, surface, open_copy, copied, AlignStatus.EXACT)
                        )
                    open_name = None
                i = close + 1
                continue
            if open_name is not None:
                body.append(chunk)
                if names[open_name] in self.inferred:
                    continue
            pieces.append(chunk)
            copied += len(chunk)
        if open_name is not None:
            return ParseResult(
                error=f"<{open_name}> at character {open_at} is not closed "
                "(the output is truncated)"
            )
        copy = "".join(pieces)
        if copy != text:
            at = next(
                (k for k, (a, b) in enumerate(zip(copy, text, strict=False)) if a != b),
                min(len(copy), len(text)),
            )
            return ParseResult(error=f"copy mismatch at character {at}")
        return ParseResult(ents)

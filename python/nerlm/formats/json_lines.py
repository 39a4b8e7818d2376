"""``json-lines``: the Qwen2 NER tutorial format (fine-tuning on chinese_ner_sft).

The target has one line per entity, in text order, each exactly
``json.dumps({"entity_text": surface, "entity_label": name}, ensure_ascii=False)``; lines are
joined by ``"\\n"`` with no trailing newline. With no entity the target is
``没有找到任何实体``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from nerlm.data.model import Example
from nerlm.formats.base import LabelMapped, ParseResult, encodable, place

#: The whole target when the text has no entity.
NONE_TEXT = "没有找到任何实体"


class JsonLines(LabelMapped):
    """The ``json-lines`` output format.

    Args:
        label_map: Optional map from corpus labels to the names written as ``entity_label``
            (e.g. CLUENER ``name`` -> ``人名``); parsing maps back.
    """

    name = "json-lines"

    def __init__(self, label_map: Mapping[str, str] | None = None) -> None:
        super().__init__(label_map)

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """Ask for the entities of ``example`` with types ``labels``, one JSON line each."""
        names = "、".join(self.schema_name(lab) for lab in labels)
        sample = json.dumps(
            {"entity_text": "实体文本", "entity_label": "实体类型"}, ensure_ascii=False
        )
        return (
            f"请找出下面文本中的实体，实体类型包括：{names}。"
            f"每个实体按在文本中出现的顺序单独输出一行 JSON，形如 {sample}；"
            f"如果没有实体，只输出“{NONE_TEXT}”。\n"
            f"文本：{example.text}"
        )

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """One JSON object per entity of ``labels``, in text order, or :data:`NONE_TEXT`."""
        lines = [
            json.dumps(
                {"entity_text": e.text, "entity_label": self.schema_name(e.label)},
                ensure_ascii=False,
            )
            for e in sorted(example.entities, key=lambda e: (e.start, e.end))
            if e.label in labels
        ]
        return "\n".join(lines) if lines else NONE_TEXT

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Read one JSON object per non-empty line and place the entities in ``text``.

        The output, stripped, equal to :data:`NONE_TEXT` means no entity. Otherwise every
        non-empty line (split on ``"\\n"`` only) must be a JSON object with string members
        ``entity_text`` and ``entity_label`` (other members are ignored); anything else, or an
        empty output, gives a result with ``error`` set and no entities. All entities are placed
        as one group, in output order; labels in the result are corpus labels.
        """
        stripped = output.strip()
        if stripped == NONE_TEXT:
            return ParseResult()
        if not stripped:
            return ParseResult(error="empty output")
        names = {self.schema_name(lab): lab for lab in labels}
        items: list[tuple[str, int]] = []
        owners: list[str] = []
        unknown: list[str] = []
        for n, raw in enumerate(output.split("\n"), 1):
            line = raw.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                cut = e.msg.startswith("Unterminated string") or e.pos >= len(line)
                tail = " (the output is truncated)" if cut else ""
                return ParseResult(error=f"line {n}: not valid JSON: {e.msg}{tail}")
            except (ValueError, RecursionError) as e:
                return ParseResult(error=f"line {n}: not valid JSON: {e}")
            if not isinstance(obj, dict):
                return ParseResult(error=f"line {n}: expected a JSON object")
            surface, name = obj.get("entity_text"), obj.get("entity_label")
            if not isinstance(surface, str) or not isinstance(name, str):
                return ParseResult(
                    error=f"line {n}: needs string members entity_text and entity_label"
                )
            if not encodable(surface):
                return ParseResult(error=f"line {n}: entity_text holds a lone surrogate")
            if name not in names and name not in unknown:
                unknown.append(name)
            items.append((surface, 0))
            owners.append(names.get(name, self.corpus_label(name)))
        ents = place(text, items, owners)
        return ParseResult(ents, None, unknown)

"""``type-pairs``: the Chinese-LLaMA/Alpaca NER format (outputs scored by ROUGE/BLEU).

The target joins ``name{label_sep}surface`` pairs, in text order, with ``pair_sep``:
``安装动作_安装&操作部件1_a柱左下部饰板`` (defaults ``label_sep="_"``, ``pair_sep="&"``). With no
entity the target is ``none_text`` (default ``无``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nerlm.data.model import Example
from nerlm.formats.base import LabelMapped, ParseResult, encodable, place


class TypePairs(LabelMapped):
    """The ``type-pairs`` output format.

    Args:
        label_map: Optional map from corpus labels to the names written before ``label_sep``
            (e.g. CLUENER ``name`` -> ``人名``); parsing maps back.
        label_sep: Between a type name and its entity.
        pair_sep: Between pairs.
        none_text: The whole target when there is no entity.

    Raises:
        ValueError: An empty separator or ``none_text``, or a separator containing the other.
    """

    name = "type-pairs"

    def __init__(
        self,
        label_map: Mapping[str, str] | None = None,
        label_sep: str = "_",
        pair_sep: str = "&",
        none_text: str = "无",
    ) -> None:
        if not label_sep or not pair_sep or not none_text:
            raise ValueError("label_sep, pair_sep and none_text must not be empty")
        if label_sep in pair_sep or pair_sep in label_sep:
            raise ValueError("neither of label_sep and pair_sep may contain the other")
        super().__init__(label_map)
        self.label_sep = label_sep
        self.pair_sep = pair_sep
        self.none_text = none_text

    def grammar_options(self) -> dict[str, Any]:
        """The separators and the no-entity literal."""
        return {"label_sep": self.label_sep, "pair_sep": self.pair_sep, "none_text": self.none_text}

    def render_prompt(self, example: Example, labels: Sequence[str]) -> str:
        """Ask for the ``type{label_sep}entity`` pairs of ``example`` with types ``labels``."""
        names = "，".join(self.schema_name(lab) for lab in labels)
        return (
            f"请抽取下面文本中的实体，实体类型：{names}。"
            f"每个实体写作“类型{self.label_sep}实体”，按在文本中出现的顺序用“{self.pair_sep}”连接；"
            f"没有实体时输出“{self.none_text}”。\n"
            f"文本：{example.text}"
        )

    def render_target(self, example: Example, labels: Sequence[str]) -> str:
        """``name{label_sep}surface`` pairs of ``labels``, in text order, or ``none_text``.

        Raises:
            ValueError: A surface containing ``pair_sep`` or a schema name containing
                ``label_sep`` (the message names the example).
        """
        for lab in labels:
            if self.label_sep in self.schema_name(lab):
                raise ValueError(
                    f"example {example.id!r}: type name {self.schema_name(lab)!r} contains "
                    f"label_sep {self.label_sep!r}"
                )
        pairs: list[str] = []
        for e in sorted(example.entities, key=lambda e: (e.start, e.end)):
            if e.label not in labels:
                continue
            name = self.schema_name(e.label)
            if self.pair_sep in e.text:
                raise ValueError(
                    f"example {example.id!r}: entity {e.text!r} contains pair_sep {self.pair_sep!r}"
                )
            pairs.append(f"{name}{self.label_sep}{e.text}")
        return self.pair_sep.join(pairs) if pairs else self.none_text

    def parse(self, output: str, text: str, labels: Sequence[str]) -> ParseResult:
        """Split ``output`` into pairs and place their entities in ``text``.

        An output equal to ``none_text`` (ignoring surrounding whitespace) means no entity;
        otherwise the output is split as written (entities may begin or end with whitespace
        when the text has it).
        Each pair must start with a schema name followed by ``label_sep`` (the longest such
        name wins); failing that it is split at its first ``label_sep`` and the prefix is
        reported in ``unknown_labels``. An empty output, an empty pair, or a pair without
        ``label_sep``, with an empty type name or with an empty entity gives a result with
        ``error`` set and no entities. All entities are placed as one group, in output order;
        labels in the result are corpus labels.
        """
        if output.strip() == self.none_text:
            return ParseResult()
        if not output.strip():
            return ParseResult(error="empty output")
        names = {self.schema_name(lab): lab for lab in labels}
        by_length = sorted(names, key=len, reverse=True)
        sep = self.label_sep
        items: list[tuple[str, int]] = []
        owners: list[str] = []
        unknown: list[str] = []
        for n, pair in enumerate(output.split(self.pair_sep), 1):
            if not pair:
                return ParseResult(error=f"pair {n} is empty")
            name = next((m for m in by_length if pair.startswith(m + sep)), None)
            if name is None:
                cut = pair.find(sep)
                if cut < 0:
                    return ParseResult(error=f"pair {n} ({pair!r}) has no {sep!r}")
                name = pair[:cut]
                if not name:
                    return ParseResult(error=f"pair {n} ({pair!r}) has an empty type name")
                if name not in unknown:
                    unknown.append(name)
            surface = pair[len(name) + len(sep) :]
            if not surface:
                return ParseResult(error=f"pair {n} ({pair!r}) has an empty entity")
            if not encodable(surface):
                return ParseResult(error=f"pair {n}: the entity holds a lone surrogate")
            items.append((surface, 0))
            owners.append(names.get(name, self.corpus_label(name)))
        ents = place(text, items, owners)
        return ParseResult(ents, None, unknown)

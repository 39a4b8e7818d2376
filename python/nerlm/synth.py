"""Template synthesis: labelled training examples from slot templates and gazetteers.

The power-grid seed (Qwen1.5 LoRA fine-tuned through LLaMA-Factory on inline XML targets such as
``<Province>山东省</Province><Date>本月</Date><City>菏泽</City><Company>巨野县供电公司</Company>
<Indicator>投诉</Indicator>个数``) trains on sentences generated from templates: a template like
``"{Date}{City}{Company}的{Indicator}个数"`` is filled with values drawn from a gazetteer per
label, and every filled slot is an entity with exact offsets. Some labels are *inferred*: their
text is derived from another slot's value (Province from City through a mapping) and is not in
the sentence; such entities have no span (:class:`nerlm.AlignStatus` ``INFERRED``).

A specification is a JSON object::

    {"name": "power-grid",
     "templates": ["{Date}{City}{Company}的{Indicator}个数", "查询{Date?}{Company}的{Indicator}"],
     "gazetteers": {"Date": ["本月", "上月"], "City": ["菏泽", "济南"],
                    "Company": {"by": "City", "values": {"菏泽": ["巨野县供电公司"],
                                                         "济南": ["章丘区供电公司"]}},
                    "Indicator": ["投诉", "停电"]},
     "inferred": {"Province": {"from": "City", "map": {"菏泽": "山东省", "济南": "山东省"},
                               "position": "start"}}}

Templates: ``{Label}`` is a slot, ``{Label?}`` a slot left empty half of the time, ``{{`` and
``}}`` literal braces. A gazetteer is a list of values, or ``{"by": L, "values": {v: [...]}}``
to draw from the list of the value chosen for label ``L`` in the same sentence (from all its
values when the template has no ``L`` slot). An inferred label is written at ``position``:
``"start"`` or ``"end"`` of the sentence, or ``"before"`` / ``"after"`` the first ``from`` slot;
it is absent when the template has no filled ``from`` slot.

Canonical examples keep the inferred entities in ``meta["inferred"]`` (``{"label", "text",
"at"}``; see :func:`nerlm.instructions.inferred_entities`), so that ``entities`` hold only spans
with ``text[start:end] == entity.text`` (offsets are half-open code points).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from nerlm.data.model import Entity, Example

#: Where an inferred label is inserted.
POSITIONS = ("start", "end", "before", "after")
#: The built-in power-grid-style specification (``nerlm/samples/power_grid_synth.json``).
BUILTIN_SPEC = "power_grid_synth.json"

_INFERRED_KEYS = {"from", "map", "position"}
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")


@dataclass(frozen=True, slots=True)
class Slot:
    """A slot of a template: its label and whether it may be left empty."""

    label: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class InferredLabel:
    """A label whose text is derived from another slot's value, not taken from the sentence.

    Attributes:
        label: The inferred label (e.g. ``Province``).
        source: The slot label it is derived from (e.g. ``City``).
        mapping: Source value -> inferred text.
        position: ``start``, ``end``, ``before`` or ``after`` (the first ``source`` slot).
    """

    label: str
    source: str
    mapping: dict[str, str]
    position: str = "start"


@dataclass(slots=True)
class SynthSpec:
    """Templates, gazetteers and inferred labels (see the module docstring for the JSON form).

    Attributes:
        name: Prefix of the example ids.
        templates: Parsed templates: literal strings and :class:`Slot` items.
        sources: The template strings as given.
        gazetteers: Label -> values, or label -> ``(by label, {value: values})``.
        inferred: Inferred labels.
    """

    name: str
    templates: list[list[str | Slot]]
    sources: list[str]
    gazetteers: dict[str, list[str] | tuple[str, dict[str, list[str]]]]
    inferred: list[InferredLabel] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Slot labels in gazetteer order, then inferred labels."""
        return [*self.gazetteers, *(i.label for i in self.inferred)]

    @property
    def inferred_labels(self) -> list[str]:
        """The inferred labels (for ``XmlInline(inferred=...)``)."""
        return [i.label for i in self.inferred]

    def values(self, label: str) -> list[str]:
        """Every value ``label`` can take (for a conditional gazetteer: all lists, merged)."""
        g = self.gazetteers[label]
        if isinstance(g, list):
            return g
        return list(dict.fromkeys(v for vs in g[1].values() for v in vs))

    @classmethod
    def from_dict(cls, obj: Any, where: str = "spec") -> SynthSpec:
        """Validate and parse a specification object.

        Raises:
            ValueError: Anything malformed; the message says where (``where`` names the file).
        """
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object")
        name = obj.get("name", "synth")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: 'name' must be a non-empty string")
        raw_gaz = obj.get("gazetteers")
        if not isinstance(raw_gaz, dict) or not raw_gaz:
            raise ValueError(f"{where}: 'gazetteers' must be a non-empty object")
        gaz: dict[str, list[str] | tuple[str, dict[str, list[str]]]] = {}
        for label, g in raw_gaz.items():
            at = f"{where}: gazetteers[{label!r}]"
            if isinstance(g, list):
                gaz[label] = _values(g, at)
            elif isinstance(g, dict) and set(g) == {"by", "values"}:
                by, vals = g["by"], g["values"]
                if not isinstance(by, str) or not isinstance(raw_gaz.get(by), list):
                    raise ValueError(f"{at}: 'by' must name a label with a plain list of values")
                if not isinstance(vals, dict) or not vals:
                    raise ValueError(f"{at}: 'values' must be a non-empty object")
                table = {k: _values(v, f"{at}['values'][{k!r}]") for k, v in vals.items()}
                missing = [v for v in raw_gaz[by] if v not in table]
                if missing:
                    raise ValueError(f"{at}: no values for {by} {missing}")
                gaz[label] = (by, table)
            else:
                raise ValueError(f'{at}: expected a list of strings or {{"by", "values"}}')
        raw_tpl = obj.get("templates")
        if not isinstance(raw_tpl, list) or not raw_tpl:
            raise ValueError(f"{where}: 'templates' must be a non-empty list")
        templates = []
        for k, t in enumerate(raw_tpl):
            at = f"{where}: templates[{k}]"
            if not isinstance(t, str):
                raise ValueError(f"{at}: expected a string")
            parsed = parse_template(t, at)
            for item in parsed:
                if isinstance(item, Slot) and item.label not in gaz:
                    raise ValueError(f"{at}: slot {{{item.label}}} has no gazetteer")
            if not any(isinstance(item, Slot) for item in parsed):
                raise ValueError(f"{at}: {t!r} has no slot")
            templates.append(parsed)
        spec = cls(name, templates, list(raw_tpl), gaz)
        raw_inf = obj.get("inferred", {})
        if not isinstance(raw_inf, dict):
            raise ValueError(f"{where}: 'inferred' must be an object")
        for label, d in raw_inf.items():
            at = f"{where}: inferred[{label!r}]"
            if label in gaz:
                raise ValueError(
                    f"{at}: {label!r} also has a gazetteer; a label is filled from a gazetteer "
                    "or inferred, not both"
                )
            if not isinstance(d, dict) or not {"from", "map"} <= set(d) <= _INFERRED_KEYS:
                raise ValueError(f'{at}: expected {{"from", "map", "position"?}}')
            src, mapping, pos = d["from"], d["map"], d.get("position", "start")
            if src not in gaz:
                raise ValueError(f"{at}: 'from' must name a gazetteer label, got {src!r}")
            if pos not in POSITIONS:
                raise ValueError(f"{at}: 'position' must be one of {POSITIONS}, got {pos!r}")
            if not isinstance(mapping, dict) or not all(
                isinstance(v, str) and v for v in mapping.values()
            ):
                raise ValueError(f"{at}: 'map' must map values to non-empty strings")
            missing = [v for v in spec.values(src) if v not in mapping]
            if missing:
                raise ValueError(f"{at}: 'map' lacks {src} values {missing}")
            spec.inferred.append(InferredLabel(label, src, dict(mapping), pos))
        unknown = set(obj) - {"name", "templates", "gazetteers", "inferred", "description"}
        if unknown:
            raise ValueError(f"{where}: unknown members {sorted(unknown)}")
        return spec


def _values(v: Any, at: str) -> list[str]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ValueError(f"{at}: expected a non-empty list of non-empty strings")
    return list(dict.fromkeys(v))


def parse_template(template: str, where: str = "template") -> list[str | Slot]:
    """Split a template into literal strings and :class:`Slot` items.

    ``{Label}`` is a slot, ``{Label?}`` an optional slot, ``{{`` / ``}}`` literal braces.

    Raises:
        ValueError: An unmatched brace or an empty slot name.
    """
    out: list[str | Slot] = []
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            out.append(tok[0])
        elif m.group(1) is not None:
            name = m.group(1)
            optional = name.endswith("?")
            name = name[:-1] if optional else name
            if not name.strip() or name != name.strip():
                raise ValueError(f"{where}: bad slot {tok!r} at character {m.start()}")
            out.append(Slot(name, optional))
        elif tok in ("{", "}"):
            raise ValueError(f"{where}: unmatched {tok!r} at character {m.start()}")
        else:
            out.append(tok)
    return out


def load_synth_spec(path: str | os.PathLike[str] | None = None) -> SynthSpec:
    """Read a specification from a JSON file (``None``: the built-in power-grid sample).

    Raises:
        ValueError: Not JSON, or a malformed specification (with the file name).
    """
    if path is None:
        ref = resources.files("nerlm") / "samples" / BUILTIN_SPEC
        where, text = f"<built-in {BUILTIN_SPEC}>", ref.read_text(encoding="utf-8")
    else:
        where = str(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}:{e.lineno}: not valid JSON: {e.msg}") from None
    return SynthSpec.from_dict(obj, where)


@dataclass(slots=True)
class SynthResult:
    """What :func:`synthesize` made.

    Attributes:
        examples: Distinct sentences, in generation order.
        requested: How many were asked for.
        attempts: Sentences drawn.
        duplicates: Drawn sentences dropped because their text was already generated.
    """

    examples: list[Example]
    requested: int
    attempts: int
    duplicates: int

    def summary(self) -> str:
        """One line: generated, requested, attempts and duplicates dropped."""
        short = "" if len(self.examples) >= self.requested else " (the templates ran out)"
        return (
            f"{len(self.examples)}/{self.requested} examples from {self.attempts} draws; "
            f"{self.duplicates} duplicates dropped{short}"
        )


def _draw(spec: SynthSpec, rng: random.Random) -> tuple[int, list[tuple[str | Slot, str]]]:
    """One template index and its items, each with the text it produces."""
    t = rng.randrange(len(spec.templates))
    items = spec.templates[t]
    chosen: dict[int, str] = {}
    first: dict[str, str] = {}
    # Optional slots are decided first, then plain gazetteers, then conditional ones.
    kept = [not (isinstance(it, Slot) and it.optional and rng.random() < 0.5) for it in items]
    for conditional in (False, True):
        for k, it in enumerate(items):
            if not isinstance(it, Slot) or not kept[k]:
                continue
            g = spec.gazetteers[it.label]
            if isinstance(g, tuple) is not conditional:
                continue
            if isinstance(g, list):
                pool = g
            else:
                by, table = g
                pool = table[first[by]] if by in first else spec.values(it.label)
            chosen[k] = rng.choice(pool)
            first.setdefault(it.label, chosen[k])
    out = [
        (it, chosen.get(k, "") if isinstance(it, Slot) else it)
        for k, it in enumerate(items)
        if kept[k]
    ]
    return t, out


def synthesize(
    spec: SynthSpec | Mapping[str, Any],
    n: int,
    *,
    seed: int = 0,
    max_attempts: int | None = None,
) -> SynthResult:
    """Generate up to ``n`` distinct labelled sentences from ``spec``.

    Templates are drawn uniformly, then each slot's value uniformly from its gazetteer, with a
    generator seeded by ``seed`` (same seed and spec, same result). A sentence whose text was
    already generated is dropped and counted in ``duplicates``; generation stops after ``n``
    distinct sentences or ``max_attempts`` draws (default ``20 * n + 100``), so fewer than ``n``
    come back when the templates cannot make more.

    Every filled slot is an entity ``Entity(start, end, label, value)`` with exact code point
    offsets; inferred labels go to ``meta["inferred"]`` as ``{"label", "text", "at"}``.
    Example ids are ``"{spec.name}-{i}"``; ``meta`` also holds ``source`` (``"synth"``),
    ``spec`` and ``template`` (the template's index).

    Raises:
        ValueError: ``n < 0`` or a malformed ``spec`` mapping.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not isinstance(spec, SynthSpec):
        spec = SynthSpec.from_dict(spec)
    limit = 20 * n + 100 if max_attempts is None else max_attempts
    rng = random.Random(seed)
    seen: set[str] = set()
    examples: list[Example] = []
    attempts = duplicates = 0
    while len(examples) < n and attempts < limit:
        attempts += 1
        t, items = _draw(spec, rng)
        text = ""
        ents: list[Entity] = []
        first: dict[str, Entity] = {}
        for it, s in items:
            if isinstance(it, Slot):
                e = Entity(len(text), len(text) + len(s), it.label, s)
                ents.append(e)
                first.setdefault(it.label, e)
            text += s
        if text in seen:
            duplicates += 1
            continue
        seen.add(text)
        inferred = []
        for inf in spec.inferred:
            src = first.get(inf.source)
            if src is None:
                continue
            at = {"start": 0, "end": len(text), "before": src.start, "after": src.end}
            body = inf.mapping[src.text]
            inferred.append({"label": inf.label, "text": body, "at": at[inf.position]})
        meta: dict[str, Any] = {"source": "synth", "spec": spec.name, "template": t}
        if inferred:
            meta["inferred"] = inferred
        examples.append(Example(f"{spec.name}-{len(examples)}", text, sorted(ents), meta))
    return SynthResult(examples, n, attempts, duplicates)

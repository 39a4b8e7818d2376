"""Constrained generation with transformers.

:class:`ConstrainedLogitsProcessor` is a ``transformers.LogitsProcessor`` backed by the Rust
token tables: at every step it masks the logits of every token that would leave the output
format or write an entity string that is not a substring of the input (grounded mode). It works
on the exact bytes of tokens, so tokens that hold part of a UTF-8 character are usable and the
output is always valid UTF-8.

:func:`extract` runs a whole extraction: prompts (optionally few-shot), batched
``model.generate`` with the processor, parsing, alignment to character offsets, and timing.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from nerlm import _native
from nerlm.align import AlignStatus
from nerlm.data.jsonl import write_json_lines
from nerlm.data.model import Entity, Example
from nerlm.formats.base import OutputFormat, ParsedEntity
from nerlm.formats.iepile_json import IepileJson

__all__ = [
    "ConstrainedLogitsProcessor",
    "Extraction",
    "GenerationStats",
    "build_prompt",
    "eos_token_ids",
    "extract",
    "generate_constrained",
    "mask_logits",
    "vocabulary_for",
]

_VOCAB_CACHE: weakref.WeakKeyDictionary[Any, dict[str, _native.Vocabulary]] = (
    weakref.WeakKeyDictionary()
)


def eos_token_ids(tokenizer: Any, model: Any = None) -> list[int]:
    """The ids that end generation: the tokenizer's EOS plus the model's generation config."""
    ids: set[int] = set()
    for src in (tokenizer, getattr(model, "generation_config", None)):
        v = getattr(src, "eos_token_id", None)
        if isinstance(v, int):
            ids.add(v)
        elif isinstance(v, (list, tuple)):
            ids.update(int(x) for x in v)
    if not ids:
        raise ValueError("the tokenizer has no eos_token_id; pass eos_token_ids explicitly")
    return sorted(ids)


def vocabulary_for(tokenizer: Any, eos_ids: Sequence[int] | None = None) -> _native.Vocabulary:
    """The exact token bytes of a transformers (fast) tokenizer, built once and cached.

    The bytes come from the tokenizer model in its ``tokenizer.json`` (byte-level BPE,
    SentencePiece with byte fallback, or WordPiece), never from decoded strings.

    Raises:
        TypeError: The tokenizer has no Rust backend (``backend_tokenizer``).
        nerlm.TokenizerError: Its model type is not supported.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError("need a fast (tokenizers-backed) tokenizer with a backend_tokenizer")
    eos = list(eos_ids) if eos_ids is not None else eos_token_ids(tokenizer)
    key = ",".join(map(str, eos))
    per_tok = _VOCAB_CACHE.setdefault(tokenizer, {})
    v = per_tok.get(key)
    if v is None:
        v = _native.Vocabulary.from_tokenizer_json(backend.to_str(), eos)
        per_tok[key] = v
    return v


class ConstrainedLogitsProcessor(LogitsProcessor):  # type: ignore[misc]
    """A ``transformers.LogitsProcessor`` that keeps each sequence inside its token table.

    Args:
        tables: One :class:`nerlm._native.TokenTable` per input row of ``generate`` (before
            ``num_return_sequences`` or beam expansion: row ``i`` of the expanded batch uses
            ``tables[i // (batch // len(tables))]``).

    The processor keys each sequence's matcher by its generated tokens, so it is correct under
    sampling, ``num_return_sequences`` and beam search (which reorders rows). Rows that have
    produced an end-of-sequence token allow only end-of-sequence tokens afterwards.

    Shapes: ``input_ids`` ``[batch, length]``; ``scores`` ``[batch, vocab_width]`` where
    ``vocab_width`` (the model's logits width, e.g. 151,936 for Qwen2.5) may exceed the
    tokenizer's size: those extra ids are always masked.
    """

    def __init__(self, tables: Sequence[_native.TokenTable]) -> None:
        if not tables:
            raise ValueError("need at least one token table")
        self.tables = list(tables)
        self._prompt_len: int | None = None
        self._last_len = 0
        self._matchers: dict[tuple[int, tuple[int, ...]], _native.Matcher] = {}
        self.steps = 0

    def reset(self) -> None:
        """Forget all sequences (call before reusing the processor for a new ``generate``)."""
        self._prompt_len = None
        self._last_len = 0
        self._matchers.clear()
        self.steps = 0

    def matchers_for(self, input_ids: torch.Tensor) -> list[_native.Matcher]:
        """The matcher of every row of ``input_ids`` (advancing by their last tokens)."""
        batch, length = input_ids.shape
        if self._prompt_len is not None and length < self._last_len:
            # A new generate() call (sequences only grow within one): start afresh.
            self.reset()
        if self._prompt_len is None:
            self._prompt_len = length
        self._last_len = length
        if batch % len(self.tables):
            raise ValueError(f"batch of {batch} rows for {len(self.tables)} token tables")
        per = batch // len(self.tables)
        gen = input_ids[:, self._prompt_len :].tolist()
        fresh: dict[tuple[int, tuple[int, ...]], _native.Matcher] = {}
        out = []
        for row, toks in enumerate(gen):
            t = row // per
            key = (t, tuple(toks))
            m = fresh.get(key) or self._matchers.get(key)
            if m is None:
                if toks:
                    parent = self._matchers.get((t, key[1][:-1]))
                    if parent is None:
                        raise RuntimeError(
                            "sequence history lost: was the processor reused without reset()?"
                        )
                    m = parent.copy()
                    if not parent.is_terminated():
                        m.accept_token(toks[-1])
                else:
                    m = self.tables[t].matcher()
            fresh[key] = m
            out.append(m)
        self._matchers = fresh
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.steps += 1
        return mask_logits(self.matchers_for(input_ids), scores)


def allowed_tokens(matchers: Sequence[_native.Matcher], width: int) -> np.ndarray:
    """The tokens each matcher allows next, as a ``[len(matchers), width]`` bool array."""
    bitmask = np.zeros((len(matchers), math.ceil(width / 32)), dtype=np.int32)
    _native.fill_next_token_bitmask_batch(list(matchers), bitmask)
    bits = np.unpackbits(bitmask.view(np.uint8), axis=-1, bitorder="little")
    return bits[:, :width].view(np.bool_)


def mask_logits(matchers: Sequence[_native.Matcher], scores: torch.Tensor) -> torch.Tensor:
    """``scores`` with ``-inf`` wherever ``matchers[i]`` does not allow the token.

    Args:
        matchers: One per row.
        scores: ``[batch, width]`` logits; ``width`` may exceed the vocabulary size.

    Returns:
        A new ``[batch, width]`` tensor.
    """
    allowed = torch.from_numpy(allowed_tokens(matchers, scores.shape[-1])).to(scores.device)
    return scores.masked_fill(~allowed, float("-inf"))


@dataclass(slots=True)
class GenerationStats:
    """What a constrained generation cost.

    Attributes:
        forward_passes: Model calls after the prompt (the prompt's prefill not counted).
        sampled_tokens: Tokens chosen from the model's distribution.
        forced_tokens: Tokens appended by jump-forward without a forward pass of their own.
        seconds: Wall time, prefill included.
    """

    forward_passes: int = 0
    sampled_tokens: int = 0
    forced_tokens: int = 0
    seconds: float = 0.0


def _forced(m: _native.Matcher, tokenizer: Any) -> list[int]:
    """The forced run from ``m`` as tokens, less its last token.

    The tokens are the tokenizer's own encoding when it spells the forced bytes with allowed
    tokens, else the vocabulary's greedy longest match. The last one is left to the model:
    the tokenizer may merge it with the free text that follows (``[`` + ``"`` -> ``["``), and
    forcing it would show the model a token split it never saw in training.
    """
    return _forced_all(m, tokenizer)[:-1]


def _forced_all(m: _native.Matcher, tokenizer: Any) -> list[int]:
    if tokenizer is not None:
        forced = m.forced_bytes()
        if forced:
            try:
                ids: list[int] = tokenizer.encode(forced.decode(), add_special_tokens=False)
            except UnicodeDecodeError:
                ids = []
            probe = m.copy()
            try:
                for t in ids:
                    probe.accept_token(t)
            except _native.TokenRejectedError:
                ids = []
            if ids and probe.output() == m.output() + forced:
                return ids
    return m.forced_tokens()


def generate_constrained(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    tables: Sequence[_native.TokenTable],
    *,
    eos_token_ids: Sequence[int],
    pad_token_id: int,
    max_new_tokens: int = 256,
    do_sample: bool = False,
    temperature: float = 1.0,
    jump_forward: bool = True,
    seed: int | None = None,
    tokenizer: Any = None,
) -> tuple[list[list[int]], GenerationStats]:
    """nerlm's batched decoding loop: constrained, with jump-forward of forced tokens.

    After each sampled token, the tokens that the format forces next (e.g. ``"], "人名": [``
    after a list closes) are appended at once and fed to the model in the same forward pass
    as the sampled token, so a forced run costs no extra model call. Rows of different lengths
    are padded inside the batch with attention-mask zeros and explicit position ids.

    Args:
        model: A transformers causal LM (KV cache used).
        input_ids: ``[batch, prompt_len]`` prompt ids, left-padded.
        attention_mask: ``[batch, prompt_len]``, 0 on padding.
        tables: One token table per row.
        eos_token_ids: Ids that end a sequence.
        pad_token_id: Id fed for padding.
        max_new_tokens: Budget per row (sampled and forced tokens together).
        do_sample: Sample (Gumbel-max over the masked logits) instead of greedy argmax.
        temperature: Sampling temperature.
        jump_forward: Append forced runs without sampling them.
        seed: Seed of the sampling noise.
        tokenizer: When given, forced text is tokenized the way this tokenizer writes it
            (the tokens a fine-tuned model saw in training), falling back to the longest
            vocabulary match when that does not reproduce the forced bytes.

    Returns:
        Per row the generated ids (end-of-sequence included when reached), and the costs.
    """
    t0 = time.perf_counter()
    batch = input_ids.shape[0]
    if len(tables) != batch:
        raise ValueError(f"{len(tables)} token tables for a batch of {batch}")
    device = input_ids.device
    eos = set(eos_token_ids)
    gen_rng = torch.Generator(device="cpu")
    if seed is not None:
        gen_rng.manual_seed(seed)
    matchers = [t.matcher() for t in tables]
    out: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    stats = GenerationStats()
    mask = attention_mask.to(device)
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    next_pos = mask.long().sum(-1)
    with torch.no_grad():
        res = model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,  # the prompt's last position only (the LM head is large)
        )
        past = res.past_key_values
        logits = res.logits[:, -1, :].float()
        while True:
            allowed = allowed_tokens(matchers, logits.shape[-1])
            if do_sample:
                # Softmax over the allowed tokens only (the rest have probability 0).
                picks = []
                for i in range(batch):
                    idx = torch.from_numpy(np.flatnonzero(allowed[i]))
                    sub = logits[i, idx.to(device)].cpu() / max(temperature, 1e-6)
                    k = torch.multinomial(torch.softmax(sub, -1), 1, generator=gen_rng)
                    picks.append(int(idx[k]))
                choice = torch.tensor(picks)
            else:
                mask_t = torch.from_numpy(allowed).to(device)
                choice = logits.masked_fill(~mask_t, float("-inf")).argmax(-1)
            chunks: list[list[int] | None] = []
            for i, t in enumerate(choice.tolist()):
                if done[i]:
                    chunks.append(None)  # finished earlier: padding only
                    continue
                matchers[i].accept_token(t)
                out[i].append(t)
                stats.sampled_tokens += 1
                new = [t]
                if t in eos:
                    done[i] = True
                elif jump_forward:
                    room = max_new_tokens - len(out[i])
                    for f in _forced(matchers[i], tokenizer)[:room]:
                        matchers[i].accept_token(f)
                        out[i].append(f)
                        new.append(f)
                        stats.forced_tokens += 1
                if len(out[i]) >= max_new_tokens:
                    done[i] = True
                chunks.append(new)
            if all(done):
                break
            width = max(len(c) for c in chunks if c is not None)
            ids = torch.full((batch, width), pad_token_id, dtype=torch.long)
            chunk_mask = torch.zeros((batch, width), dtype=mask.dtype)
            base = next_pos.clone()
            pos = base.unsqueeze(-1) + torch.arange(width)
            last = []
            for i, c in enumerate(chunks):
                n = len(c) if c is not None else 1
                if c is not None:
                    ids[i, :n] = torch.tensor(c)
                    chunk_mask[i, :n] = 1
                    next_pos[i] += n
                last.append(n - 1)
            mask = torch.cat([mask, chunk_mask.to(device)], dim=-1)
            res = model(
                input_ids=ids.to(device),
                attention_mask=mask,
                position_ids=pos.to(device),
                past_key_values=past,
                use_cache=True,
                logits_to_keep=width,
            )
            past = res.past_key_values
            stats.forward_passes += 1
            logits = res.logits[torch.arange(batch), torch.tensor(last)].float()
    stats.seconds = time.perf_counter() - t0
    return out, stats


def build_prompt(tokenizer: Any, instruction: str, shots: Sequence[tuple[str, str]] = ()) -> str:
    """The model input for ``instruction`` with few-shot ``(instruction, answer)`` pairs.

    With a chat template, shots become user/assistant turns; without one (base models), they
    are written as ``instruction\\n答案：answer`` blocks separated by blank lines and the
    prompt ends with ``答案：`` so the model continues with the answer.
    """
    if getattr(tokenizer, "chat_template", None):
        messages: list[dict[str, str]] = []
        for q, a in shots:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        messages.append({"role": "user", "content": instruction})
        text: str = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text
    blocks = [f"{q}\n答案：{a}" for q, a in shots]
    blocks.append(f"{instruction}\n答案：")
    return "\n\n".join(blocks)


@dataclass(slots=True)
class Extraction:
    """The result of extracting from one document.

    Attributes:
        id: The document id.
        text: The document.
        raw_outputs: The model's output per instruction (one per schema chunk).
        entities: Parsed entities with their placement, in output order.
        parse_errors: One message per output that did not parse (empty when all parsed).
        seconds: Wall time of the generation batches this document was in, shared equally.
    """

    id: str
    text: str
    raw_outputs: list[str] = field(default_factory=list)
    entities: list[ParsedEntity] = field(default_factory=list)
    parse_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def parsed(self) -> bool:
        """Did every output parse?"""
        return not self.parse_errors

    @property
    def grounded(self) -> bool:
        """Is every entity a substring of the text?"""
        return all(e.status is not AlignStatus.UNGROUNDED for e in self.entities)

    def to_example(self) -> Example:
        """The grounded entities as an :class:`Example` (ungrounded ones have no span)."""
        ents = sorted(
            {
                Entity(e.start, e.end, e.label, e.text)
                for e in self.entities
                if e.status is not AlignStatus.UNGROUNDED
            }
        )
        return Example(self.id, self.text, ents, {"parse_errors": len(self.parse_errors)})

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``nerlm extract`` output files."""
        return {
            "id": self.id,
            "text": self.text,
            "raw_outputs": self.raw_outputs,
            "entities": [
                {
                    "start": e.start,
                    "end": e.end,
                    "label": e.label,
                    "text": e.text,
                    "status": e.status.value,
                }
                for e in self.entities
            ],
            "parsed": self.parsed,
            "parse_errors": self.parse_errors,
            "seconds": round(self.seconds, 4),
        }


def extract(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Example],
    labels: Sequence[str],
    *,
    fmt: OutputFormat | None = None,
    shots: Sequence[Example] = (),
    shots_per_example: Sequence[Sequence[Example]] | None = None,
    grounded: bool = True,
    constrained: bool = True,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    max_entities_per_label: int | None = None,
    max_entity_chars: int | None = None,
    do_sample: bool = False,
    backend: str = "nerlm",
    jump_forward: bool = True,
    seed: int | None = None,
    progress: bool = True,
    generate_kwargs: dict[str, Any] | None = None,
) -> list[Extraction]:
    """Extract entities from ``examples`` with a causal LM, constrained to ``fmt``'s format.

    Each document gets one instruction per schema chunk (``iepile-json`` splits schemas into
    chunks of ``split_num`` labels; the other formats use one instruction); the outputs are
    parsed, placed in the text (see :mod:`nerlm.align`) and merged.

    Args:
        model: A transformers causal LM.
        tokenizer: Its (fast) tokenizer.
        examples: Documents (their entities are ignored).
        labels: Corpus labels, in schema order.
        fmt: The output format (default: :class:`IepileJson` with ``split_num=6``); any of
            :data:`nerlm.formats.FORMATS`.
        shots: Labelled examples used as few-shot demonstrations.
        shots_per_example: Demonstrations per example instead of ``shots`` (e.g. chosen by
            similarity, :func:`nerlm.incontext.select_demonstrations`); same length as
            ``examples``.
        grounded: Restrict entity strings to substrings of the input.
        constrained: Apply the logits processor at all (False: plain generation).
        batch_size: Instructions per ``generate`` call.
        max_new_tokens: Generation budget per instruction; an output cut off by it is
            recorded as a parse error, never repaired.
        max_entities_per_label: Cap on list lengths enforced by the grammar.
        max_entity_chars: Cap on entity length (code points) enforced by the grammar.
        do_sample: Sample instead of greedy decoding.
        backend: ``"nerlm"`` (nerlm's own loop, :func:`generate_constrained`, with
            jump-forward), ``"transformers"`` (``model.generate`` with
            :class:`ConstrainedLogitsProcessor`) or ``"outlines"`` (an ``outlines.Generator``
            over ``outlines.from_transformers(model, tokenizer)`` with
            :class:`nerlm.outlines_processor.NerlmOutlinesProcessor`; few-shot turns are an
            ``outlines.inputs.Chat`` when the tokenizer has a chat template). Unconstrained
            runs always use ``model.generate``.
        jump_forward: With the ``nerlm`` backend, append forced tokens without sampling them.
        seed: Seed of the ``nerlm`` backend's sampling noise.
        progress: Show a progress bar.
        generate_kwargs: Extra arguments for ``model.generate`` (``transformers`` backend).

    Returns:
        One :class:`Extraction` per example, in order.
    """
    from tqdm.auto import tqdm

    if backend not in ("nerlm", "transformers", "outlines"):
        raise ValueError(f"unknown backend {backend!r} (nerlm, transformers or outlines)")
    fmt = fmt or IepileJson()
    if shots_per_example is not None and len(shots_per_example) != len(examples):
        raise ValueError(
            f"{len(shots_per_example)} demonstration lists for {len(examples)} examples"
        )
    eos = eos_token_ids(tokenizer, model)
    vocab = vocabulary_for(tokenizer, eos) if constrained else None
    chunks = fmt.chunks(labels)
    jobs: list[tuple[int, list[str]]] = [(i, c) for i in range(len(examples)) for c in chunks]
    results = [Extraction(ex.id, ex.text) for ex in examples]
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    # Decoder-only generation needs left padding; the caller's setting is restored afterwards.
    saved_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    # outlines: one model wrapper for the whole run; few-shot turns as an outlines Chat when
    # the tokenizer has a chat template (outlines applies it), else nerlm's plain layout.
    om = _outlines_model(model, tokenizer) if backend == "outlines" and vocab is not None else None
    chat = om is not None and bool(getattr(tokenizer, "chat_template", None))
    try:
        device = next(model.parameters()).device
        bar = tqdm(total=len(jobs), desc="extracting", unit="instr", disable=not progress)
        for b0 in range(0, len(jobs), batch_size):
            batch = jobs[b0 : b0 + batch_size]
            t0 = time.perf_counter()
            prompts: list[Any] = []
            tables = []
            for i, chunk in batch:
                ex = examples[i]
                own = shots if shots_per_example is None else shots_per_example[i]
                demo = [(fmt.render_prompt(s, chunk), fmt.render_target(s, chunk)) for s in own]
                instruction = fmt.render_prompt(ex, chunk)
                prompts.append(
                    _outlines_chat(instruction, demo)
                    if chat
                    else build_prompt(tokenizer, instruction, demo)
                )
                if vocab is not None:
                    tables.append(
                        _native.TokenTable(
                            vocab,
                            fmt.name,
                            [fmt.schema_name(lab) for lab in chunk],
                            ex.text,
                            grounded=grounded,
                            max_entities_per_label=max_entities_per_label,
                            max_entity_chars=max_entity_chars,
                            **fmt.grammar_options(),
                        )
                    )
            if om is not None:
                raws = _generate_outlines(
                    om, tokenizer, fmt, [(examples[i], c) for i, c in batch], prompts,
                    tables=tables, eos=eos, max_new_tokens=max_new_tokens, do_sample=do_sample,
                )  # fmt: skip
                dt = (time.perf_counter() - t0) / len(batch)
                for (i, chunk), (raw, ended) in zip(batch, raws, strict=True):
                    _record(results[i], fmt, chunk, raw, ended=ended, dt=dt)
                bar.update(len(batch))
                continue
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=True)
            enc = {k: v.to(device) for k, v in enc.items()}
            if tables and backend == "nerlm":
                gen, _ = generate_constrained(
                    model,
                    enc["input_ids"],
                    enc["attention_mask"],
                    tables,
                    eos_token_ids=eos,
                    pad_token_id=tokenizer.pad_token_id,
                    max_new_tokens=max_new_tokens,
                    do_sample=do_sample,
                    temperature=float((generate_kwargs or {}).get("temperature", 1.0)),
                    jump_forward=jump_forward,
                    seed=None if seed is None else seed + b0,
                    tokenizer=tokenizer,
                )
            else:
                kwargs: dict[str, Any] = {
                    "max_new_tokens": max_new_tokens,
                    "do_sample": do_sample,
                    "eos_token_id": eos,
                    "pad_token_id": tokenizer.pad_token_id,
                }
                if not do_sample:
                    kwargs.update(temperature=None, top_p=None, top_k=None)
                if tables:
                    kwargs["logits_processor"] = LogitsProcessorList(
                        [ConstrainedLogitsProcessor(tables)]
                    )
                kwargs.update(generate_kwargs or {})
                with torch.no_grad():
                    out = model.generate(**enc, **kwargs)
                gen = out[:, enc["input_ids"].shape[1] :].tolist()
            dt = (time.perf_counter() - t0) / len(batch)
            for (i, chunk), row in zip(batch, gen, strict=True):
                stop = next((k for k, t in enumerate(row) if t in eos), None)
                ended = stop is not None
                ids = row[:stop]
                if vocab is not None:
                    raw = vocab.decode(ids).decode("utf-8", errors="replace")
                else:
                    raw = tokenizer.decode(ids, skip_special_tokens=True)
                _record(results[i], fmt, chunk, raw, ended=ended, dt=dt)
            bar.update(len(batch))
        bar.close()
    finally:
        tokenizer.padding_side = saved_side
    return results


def _record(
    res: Extraction, fmt: OutputFormat, chunk: list[str], raw: str, *, ended: bool, dt: float
) -> None:
    res.raw_outputs.append(raw)
    res.seconds += dt
    parsed = fmt.parse(raw, res.text, chunk)
    if parsed.error is not None:
        why = parsed.error if ended else f"{parsed.error}; stopped by max_new_tokens"
        res.parse_errors.append(why)
    res.entities.extend(parsed.entities)


def _outlines_model(model: Any, tokenizer: Any) -> Any:
    """``outlines.from_transformers(model, tokenizer)``, with an ImportError naming the extra."""
    try:
        import outlines
    except ImportError as e:
        raise ImportError(f"backend='outlines' needs pip install 'nerlm[outlines]' ({e})") from e
    return outlines.from_transformers(model, tokenizer)


def _outlines_chat(instruction: str, demo: Sequence[tuple[str, str]]) -> Any:
    """Few-shot ``(instruction, answer)`` turns and the instruction as an outlines ``Chat``."""
    from outlines.inputs import Chat

    msgs = []
    for q, a in demo:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    msgs.append({"role": "user", "content": instruction})
    return Chat(msgs)


def _generate_outlines(
    om: Any,
    tokenizer: Any,
    fmt: OutputFormat,
    jobs: list[tuple[Example, list[str]]],
    prompts: list[Any],
    *,
    tables: list[_native.TokenTable],
    eos: list[int],
    max_new_tokens: int,
    do_sample: bool,
) -> list[tuple[str, bool]]:
    """One batch through an outlines Generator with nerlm's processor; ``(output, ended)`` per
    job, from nerlm's exact bytes."""
    import outlines

    from nerlm.outlines_processor import NerlmOutlinesProcessor

    proc = NerlmOutlinesProcessor(tables, om.tensor_library_name)
    generator = outlines.Generator(om, processor=proc)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "eos_token_id": eos,
        "pad_token_id": tokenizer.pad_token_id,
        "do_sample": do_sample,
    }
    if not do_sample:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    generator.batch(prompts, **kwargs)
    # Under the grammar an output fails to parse only when max_new_tokens cut it off.
    out = []
    for (ex, chunk), raw in zip(jobs, proc.outputs(), strict=True):
        text = raw.decode("utf-8", errors="replace")
        out.append((text, fmt.parse(text, ex.text, chunk).ok))
    return out


def write_extractions(results: Iterable[Extraction], path: str) -> int:
    """Write extraction results as JSONL (atomically); return the count."""
    return write_json_lines((r.to_dict() for r in results), path)

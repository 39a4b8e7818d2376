"""Fine-tuning causal LMs for NER: LoRA, QLoRA, P-tuning v2 (prefix tuning) and full fine-tuning.

One YAML config (:class:`TrainConfig`, with command-line overrides in the spirit of
LLaMA-Factory's and DeepKE's configs) drives a whole run::

    model: gemma-3-270m                  # a transformers directory or a nerlm.KNOWN_MODELS name
    method: lora                         # lora | qlora | prefix | full
    output_dir: runs/cluener-lora
    data: {train: ../shared/data/cluener/train.json, dev: ../shared/data/cluener/dev.json,
           format: cluener}
    output: {format: clue-fill, label_map: llm-ner}
    lora: {rank: 8, alpha: 32, target_modules: all-linear}
    max_steps: 1000

    $ nerlm train config.yaml --set lora.rank=16 --set max_steps=5

What it does, each step delegated to the library that owns it:

* **Data**: documents are read with :func:`nerlm.read_corpus` (or :func:`nerlm.read_iepile`),
  turned into instruction records by :func:`nerlm.build_instructions` for any of the five
  output formats, and wrapped in the tokenizer's chat template when it has one, else in
  nerlm's plain template (:func:`nerlm.generate.build_prompt`: the prompts that
  :func:`nerlm.extract` uses, so training and extraction see the same text). The EOS token is
  appended to every target; the loss covers target tokens only (labels ``-100`` on the
  prompt). ``max_source_length``, ``max_target_length`` and ``cutoff_len`` bound the lengths
  in tokens under an explicit overflow policy (``error``, ``drop`` or ``truncate``, the last
  two counted and reported). Optional packing concatenates each batch into one row without
  padding (transformers' ``DataCollatorWithFlattening``; attention stays within each record).
* **Methods** (peft): ``lora`` and ``qlora`` (4-bit NF4 base through bitsandbytes, CUDA only),
  ``prefix`` (P-tuning v2 as peft prefix tuning with ``prefix_projection``: trainable key/value
  prefixes of ``pre_seq_len`` virtual tokens in every layer) and ``full``.
* **Training** is transformers' ``Trainer`` (accelerate underneath: DDP under ``torchrun`` or
  ``accelerate launch``, FSDP and DeepSpeed through ``training_args``); checkpoints every
  ``save_steps``; a killed run resumes from the last checkpoint of ``output_dir``.
* **Evaluation** during training runs nerlm's constrained, grounded extraction on the dev set
  and scores it with :func:`nerlm.score`: micro strict span F1 (``eval_f1``, the metric that
  picks the best checkpoint), its precision and recall, string-level F1 (``eval_string_f1``,
  label and surface per document, as the seeds score) and the share of outputs that parsed.
* **Run directory**: ``config.yaml`` (the resolved config), ``versions.json`` (exact package
  versions), ``metrics.json`` (training loss per logged step, dev scores per evaluation, data
  counts), ``curves.png`` (loss and dev F1), ``checkpoint-N/`` (Trainer checkpoints),
  ``adapter/`` (LoRA or prefix adapter with the tokenizer) and ``merged/`` (LoRA merged into
  the base, or the fully fine-tuned model, with the tokenizer: a plain transformers directory
  for ``nerlm extract --model``).

Settings of the seeds (the defaults follow them): P-tuning v2 on ChatGLM2 (LLM-NER,
https://github.com/cjymz886/LLM-NER; THUDM ChatGLM2-6B ``ptuning/train.sh``): ``pre_seq_len``
128 (64 also used), learning rate 2e-2; LLaMA-Factory LoRA: ``lora_target: q_proj,v_proj``,
rank 8; plain peft LoRA (Qwen2 NER tutorial): all projections, rank 8, alpha 32;
DeepKE InstructKGC QLoRA (after Dettmers et al., 2023, "QLoRA", https://arxiv.org/abs/2305.14314):
4-bit NF4, double quantization, bf16 compute.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerlm.data.model import Example

__all__ = [
    "METHODS",
    "DataStats",
    "EvalSettings",
    "LoraSettings",
    "OutputSettings",
    "PrefixSettings",
    "QloraSettings",
    "TrainConfig",
    "TrainResult",
    "fine_tune",
    "load_train_config",
    "load_trained",
]

log = logging.getLogger("nerlm.train")

#: Fine-tuning methods.
METHODS = ("lora", "qlora", "prefix", "full")
#: What to do with a record longer than a length limit.
OVERFLOW = ("error", "drop", "truncate")
#: Prompt templates: the tokenizer's chat template when it has one (``auto``), always it
#: (``chat``, an error without one), or nerlm's plain template (``plain``).
TEMPLATES = ("auto", "chat", "plain")
#: Learning rates used when ``learning_rate`` is not set: peft/LLaMA-Factory LoRA 2e-4 (QLoRA
#: paper 2e-4), ChatGLM2 P-tuning v2 2e-2, full fine-tuning 1e-5.
DEFAULT_LR = {"lora": 2e-4, "qlora": 2e-4, "prefix": 2e-2, "full": 1e-5}

_EXTRA = "pip install 'nerlm[hf]'"


# --- configuration ----------------------------------------------------------------------------


@dataclass
class LoraSettings:
    """LoRA (Hu et al., 2021, https://arxiv.org/abs/2106.09685) through ``peft.LoraConfig``.

    Attributes:
        rank: ``r``, the rank of the update ``B @ A`` (8 in all the seeds).
        alpha: ``lora_alpha``; the update is scaled by ``alpha / rank`` (32: peft's NER
            tutorial; LLaMA-Factory's default is ``2 * rank``).
        dropout: Dropout on the LoRA input.
        target_modules: ``"all-linear"`` (every linear layer but the output head, peft's
            shorthand), a comma-separated string or a list of module names (LLaMA-Factory's
            seed: ``[q_proj, v_proj]``).
        bias: ``"none"``, ``"all"`` or ``"lora_only"``.
    """

    rank: int = 8
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    bias: str = "none"


@dataclass
class QloraSettings:
    """The 4-bit base of QLoRA (``transformers.BitsAndBytesConfig``; CUDA only).

    Attributes:
        quant_type: ``"nf4"`` (4-bit NormalFloat, QLoRA's) or ``"fp4"``.
        double_quant: Quantize the quantization constants too (QLoRA's double quantization).
        compute_dtype: dtype of the matrix products: ``"bfloat16"`` or ``"float16"``.
    """

    quant_type: str = "nf4"
    double_quant: bool = True
    compute_dtype: str = "bfloat16"


@dataclass
class PrefixSettings:
    """P-tuning v2 (Liu et al., 2022, https://arxiv.org/abs/2110.07602) as peft prefix tuning.

    Attributes:
        pre_seq_len: Virtual tokens per layer (``num_virtual_tokens``; ChatGLM2's P-tuning v2
            uses 128, also 64).
        projection: Reparametrise the prefix with a two-layer MLP (``prefix_projection``);
            the MLP is kept in checkpoints so that training resumes exactly, and folded into
            the exported adapter.
        hidden_size: Width of that MLP (``encoder_hidden_size``; default the model's hidden
            size).

    The prefix is a key/value cache of ``pre_seq_len`` positions before the prompt (position
    ids start at ``pre_seq_len``, as peft numbers them). In sliding-window layers (Gemma3: 5
    of 6 layers, window 512 in Gemma-3-270M) tokens further than the window from the prefix
    no longer see it, in training and in generation alike. Gradient checkpointing and packing
    are refused with this method (the cache does not survive recomputation; one prefix per
    row cannot serve several packed records).
    """

    pre_seq_len: int = 128
    projection: bool = True
    hidden_size: int | None = None


@dataclass
class DataSettings:
    """The corpora.

    Attributes:
        train: Training documents (required).
        dev: Development documents: dev loss and the NER evaluation (optional).
        format: Their format: a reader of :func:`nerlm.read_corpus` (``jsonl``, ``cluener``,
            ``char-tags``, ...) or ``iepile-json`` (instruction files, read back with the
            ``output.label_map``).
        split: Split name recorded by readers that take one.
        options: Reader options (as ``nerlm convert -r KEY=VALUE``).
        train_limit: Use the first N training documents.
    """

    train: str | None = None
    dev: str | None = None
    format: str = "jsonl"
    split: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    train_limit: int | None = None


@dataclass
class OutputSettings:
    """What the model learns to write (DESIGN.md, "Output formats").

    Attributes:
        format: ``iepile-json``, ``clue-fill``, ``json-lines``, ``xml-inline`` or ``type-pairs``.
        label_map: Corpus labels -> names in prompts and targets: ``cluener-zh``, ``llm-ner``,
            a JSON file or a mapping.
        options: Format options (``split_num`` for iepile-json, ``variant`` for clue-fill:
            ``described`` draws its examples per type from the training set, ``inferred`` for
            xml-inline, separators for type-pairs).
        negatives: Absent labels sampled into each document's schema (IEPile; default all).
        negative_ratio: Keep each absent label with this probability (DeepKE).
        order: Schema order, ``stable`` or ``random``.
    """

    format: str = "iepile-json"
    label_map: str | dict[str, str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    negatives: int | None = None
    negative_ratio: float | None = None
    order: str = "stable"


@dataclass
class EvalSettings:
    """The NER evaluation run at every ``eval_steps`` (and by ``Trainer.evaluate``).

    Attributes:
        limit: Dev documents to extract from (the first N; None for all).
        batch_size: Instructions per generation batch (also the dev-loss batch size).
        max_new_tokens: Generation budget per instruction.
        grounded: Restrict entity strings to substrings of the input.
        backend: ``nerlm`` (nerlm's loop with jump-forward) or ``transformers``.
        max_entities_per_label: Grammar cap on list lengths.
        max_entity_chars: Grammar cap on entity length (code points).
    """

    limit: int | None = 200
    batch_size: int = 8
    max_new_tokens: int = 256
    grounded: bool = True
    backend: str = "nerlm"
    max_entities_per_label: int | None = None
    max_entity_chars: int | None = None


@dataclass
class TrainConfig:
    """Everything a ``nerlm train`` run needs; load it with :func:`load_train_config`.

    Attributes:
        model: A transformers model directory or a :data:`nerlm.KNOWN_MODELS` name.
        tokenizer: Tokenizer directory (default: ``model``).
        method: ``lora``, ``qlora`` (CUDA only), ``prefix`` (P-tuning v2) or ``full``.
        output_dir: The run directory (created; a run in it is resumed, see ``resume``).
        seed: Seed of the model initialisation, data order and schema sampling.
        labels: Corpus labels of the schema, in order (default: the sorted labels of the
            training and dev documents).
        template: ``auto``, ``chat`` or ``plain`` (see :data:`TEMPLATES`); ``plain`` removes
            the chat template from the run's tokenizer so that extraction uses the same one.
        chat_template: A Jinja chat template (text or a file) to set on the tokenizer.
        max_source_length: Longest prompt, in tokens (chat template included).
        max_target_length: Longest target, in tokens (EOS included).
        cutoff_len: Longest prompt + target, in tokens.
        overflow: ``error``, ``drop`` or ``truncate`` (prompts and targets keep their first
            tokens; a record left without target tokens is dropped); drops and truncations
            are counted per reason in ``metrics.json``.
        packing: Concatenate each batch into one row without padding.
        dtype: Weights: ``auto`` (float32 on CPU; bfloat16 on CUDA for adapters, float32 with
            bf16 autocast for ``full``), ``float32``, ``bfloat16`` or ``float16``.
        bf16: Mixed precision (default: on CUDA when the GPU supports bfloat16).
        optim: ``TrainingArguments.optim`` (``adamw_torch``, ``adamw_8bit``,
            ``paged_adamw_8bit``, ...).
        learning_rate: Peak learning rate (default per method: :data:`DEFAULT_LR`).
        lr_scheduler_type: ``cosine``, ``linear``, ``constant``, ...
        warmup_steps: Warm-up steps (a float below 1 is a share of the training steps).
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping norm.
        per_device_train_batch_size: Records per device and step.
        gradient_accumulation_steps: Micro-batches per optimizer step.
        num_train_epochs: Epochs (ignored when ``max_steps`` > 0).
        max_steps: Optimizer steps (-1: from the epochs).
        logging_steps: Log the training loss every N steps.
        eval_steps: Evaluate every N steps (default ``save_steps``).
        save_steps: Checkpoint every N steps.
        save_total_limit: Checkpoints kept (the best is always kept).
        gradient_checkpointing: Recompute activations in the backward pass (not with
            ``prefix``).
        resume: ``auto`` (the last checkpoint in ``output_dir`` when there is one), ``never``,
            or a checkpoint directory.
        merge: Write ``merged/`` (LoRA merged into the base; the model itself for ``full``).
        progress: Progress bars.
        training_args: More ``transformers.TrainingArguments`` (they win over the above),
            e.g. ``{ddp_backend: gloo}``, ``{fsdp: full_shard}``, ``{deepspeed: ds.json}``.
        lora, qlora, prefix, data, output, eval: The sections above.
    """

    model: str = ""
    tokenizer: str | None = None
    method: str = "lora"
    output_dir: str = "runs/nerlm-train"
    seed: int = 42
    labels: list[str] | None = None
    template: str = "auto"
    chat_template: str | None = None
    max_source_length: int = 1024
    max_target_length: int = 512
    cutoff_len: int = 1536
    overflow: str = "error"
    packing: bool = False
    dtype: str = "auto"
    bf16: bool | None = None
    optim: str = "adamw_torch"
    learning_rate: float | None = None
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    num_train_epochs: float = 3.0
    max_steps: int = -1
    logging_steps: int = 10
    eval_steps: int | None = None
    save_steps: int = 500
    save_total_limit: int | None = 2
    gradient_checkpointing: bool = False
    resume: str = "auto"
    merge: bool = True
    progress: bool = True
    training_args: dict[str, Any] = field(default_factory=dict)
    lora: LoraSettings = field(default_factory=LoraSettings)
    qlora: QloraSettings = field(default_factory=QloraSettings)
    prefix: PrefixSettings = field(default_factory=PrefixSettings)
    data: DataSettings = field(default_factory=DataSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (what ``config.yaml`` holds)."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """The config as YAML (keys in declaration order)."""
        text: str = _yaml().safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        return text

    def validate(self) -> None:
        """Check values and combinations that cannot work, before anything is loaded.

        Raises:
            ValueError: The message names the config key.
        """

        def bad(key: str, why: str) -> ValueError:
            return ValueError(f"config key {key!r}: {why}")

        if not self.model:
            raise bad("model", "required (a model directory or a known model name)")
        choices = {
            "method": (self.method, METHODS),
            "overflow": (self.overflow, OVERFLOW),
            "template": (self.template, TEMPLATES),
            "dtype": (self.dtype, ("auto", "float32", "bfloat16", "float16")),
            "output.order": (self.output.order, ("stable", "random")),
            "eval.backend": (self.eval.backend, ("nerlm", "transformers")),
            "qlora.quant_type": (self.qlora.quant_type, ("nf4", "fp4")),
            "qlora.compute_dtype": (self.qlora.compute_dtype, ("bfloat16", "float16")),
            "lora.bias": (self.lora.bias, ("none", "all", "lora_only")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise bad(key, f"must be one of {list(allowed)}, got {value!r}")
        from nerlm.formats import FORMATS

        if self.output.format not in FORMATS:
            raise bad(
                "output.format", f"must be one of {sorted(FORMATS)}, got {self.output.format!r}"
            )
        if not self.data.train:
            raise bad("data.train", "required (the training documents)")
        positive: dict[str, int] = {
            "max_source_length": self.max_source_length,
            "max_target_length": self.max_target_length,
            "cutoff_len": self.cutoff_len,
            "per_device_train_batch_size": self.per_device_train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "logging_steps": self.logging_steps,
            "save_steps": self.save_steps,
            "eval_steps": self.eval_steps if self.eval_steps is not None else 1,
            "lora.rank": self.lora.rank,
            "prefix.pre_seq_len": self.prefix.pre_seq_len,
            "eval.batch_size": self.eval.batch_size,
            "eval.max_new_tokens": self.eval.max_new_tokens,
        }
        for key, n in positive.items():
            if n < 1:
                raise bad(key, f"must be at least 1, got {n}")
        if self.max_steps == 0 or (self.max_steps < 0 and self.num_train_epochs <= 0):
            raise bad("max_steps", "give max_steps > 0 or num_train_epochs > 0")
        if self.eval_steps is not None and self.save_steps % self.eval_steps:
            raise bad(
                "save_steps",
                f"must be a multiple of eval_steps ({self.eval_steps}) so that the best "
                "checkpoint by dev F1 is kept",
            )
        if not 0.0 <= self.lora.dropout < 1.0:
            raise bad("lora.dropout", f"must be within [0, 1), got {self.lora.dropout}")
        if self.method == "prefix" and self.gradient_checkpointing:
            raise bad(
                "gradient_checkpointing",
                "prefix tuning passes its prefix as a key/value cache, which gradient "
                "checkpointing discards (peft issue #869); set it to false for method: prefix",
            )
        if self.method == "prefix" and self.packing:
            raise bad(
                "packing",
                "prefix tuning prepends one prefix per row, and packing puts several records "
                "in one row; set it to false for method: prefix",
            )


def _field_types(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` as type ``hint`` (YAML and ``--set`` strings are converted), or ValueError."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        members = typing.get_args(hint)
        if value is None:
            if type(None) in members:
                return None
            raise ValueError(f"config key {key!r}: must not be null")
        errors = []
        # Exact type matches first (a list stays a list in ``list[str] | str``), then conversions.
        for m in members:
            base = typing.get_origin(m) or m
            if (
                m is not type(None)
                and isinstance(value, base)
                and not (isinstance(value, bool) and base in (int, float))
            ):
                return _coerce(value, m, key)
        for m in members:
            if m is type(None):
                continue
            try:
                return _coerce(value, m, key)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0] if errors else f"config key {key!r}: bad value {value!r}")
    if hint is Any:
        return value
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"config key {key!r}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"config key {key!r}: expected a mapping, got {value!r}")
        _, vt = typing.get_args(hint) or (str, Any)
        return {str(k): _coerce(v, vt, f"{key}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"config key {key!r}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ValueError(f"config key {key!r}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ValueError(f"config key {key!r}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads 1e-4 as a string
            except ValueError:
                pass
        raise ValueError(f"config key {key!r}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"config key {key!r}: expected a string, got {value!r}")
    if dataclasses.is_dataclass(hint):
        return _from_mapping(hint, value, key)
    raise ValueError(f"config key {key!r}: unsupported type {hint!r}")  # pragma: no cover


def _from_mapping(cls: Any, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, converting and checking every key."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        where = f"config key {prefix!r}" if prefix else "the config"
        raise ValueError(f"{where}: expected a mapping, got {data!r}")
    hints = _field_types(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if k not in hints:
            raise ValueError(f"unknown config key {key!r} (known here: {', '.join(names)})")
        kwargs[k] = _coerce(v, hints[k], key)
    return cls(**kwargs)


def _set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        if not isinstance(nxt, dict):
            raise ValueError(f"--set {path}: {p!r} is not a section")
        node = nxt
    node[parts[-1]] = value


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as e:  # pragma: no cover - PyYAML comes with transformers
        raise ImportError(f"nerlm train configs are YAML: {_EXTRA} ({e})") from e
    return yaml


def load_train_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    *,
    check: bool = True,
) -> TrainConfig:
    """Load a :class:`TrainConfig` from YAML (a file or a mapping) and ``KEY=VALUE`` overrides.

    Overrides address nested keys with dots (``lora.rank=16``, ``data.options.end=inclusive``)
    and are parsed as YAML values (``[q_proj, v_proj]``, ``true``, ``null``); strings are
    converted to the key's type (``learning_rate=1e-4``).

    Args:
        source: A YAML file, a mapping, or None (the defaults).
        overrides: ``KEY=VALUE`` strings, applied in order after the file.
        check: Run :meth:`TrainConfig.validate`.

    Raises:
        ValueError: Unknown keys, values of the wrong type or out of range, impossible
            combinations (:meth:`TrainConfig.validate`); the message names the key.
        OSError: The file cannot be read.
    """
    yaml = _yaml()

    if source is None:
        tree: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        tree = json.loads(json.dumps(source))  # a deep copy of plain data
    else:
        text = Path(source).read_text(encoding="utf-8")
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{source}: not valid YAML: {e}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{source}: expected a YAML mapping of config keys")
        tree = loaded
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set_path(tree, key.strip(), value)
    cfg: TrainConfig = _from_mapping(TrainConfig, tree)
    if check:
        cfg.validate()
    return cfg


# --- data -------------------------------------------------------------------------------------


@dataclass
class DataStats:
    """What the data preparation of one split did.

    Attributes:
        split: ``"train"`` or ``"dev"``.
        documents: Documents read.
        records: Instruction records built (one per schema chunk).
        kept: Records encoded for training.
        dropped: Records left out, per reason (the length key that overflowed, or
            ``empty_target`` when truncation left no target token).
        truncated: Records truncated, per length key.
        examples: The first affected record ids with their reason.
        max_source_tokens: Longest prompt seen, in tokens (before truncation).
        max_target_tokens: Longest target seen, in tokens, EOS included.
        target_tokens: Target tokens kept (the tokens the loss is computed on).
    """

    split: str
    documents: int = 0
    records: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    max_source_tokens: int = 0
    max_target_tokens: int = 0
    target_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``metrics.json``, ``data``)."""
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One line for the log."""
        parts = [
            f"{self.split}: {self.documents} documents, {self.records} records, {self.kept} kept"
        ]
        if self.dropped:
            parts.append(
                "dropped " + ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items()))
            )
        if self.truncated:
            parts.append(
                "truncated " + ", ".join(f"{k} {v}" for k, v in sorted(self.truncated.items()))
            )
        return "; ".join(parts)


def resolve_label_map(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """A label map from its config value: ``cluener-zh``, ``llm-ner``, a JSON file or a mapping.

    Raises:
        ValueError: The file is not a JSON object of strings (names ``output.label_map``).
    """
    if value is None or value == "none":
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if value == "cluener-zh":
        from nerlm.data import CLUENER_LABELS_ZH

        return dict(CLUENER_LABELS_ZH)
    if value == "llm-ner":
        from nerlm.instructions import LLM_NER_LABELS_ZH

        return dict(LLM_NER_LABELS_ZH)
    try:
        obj = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(
            f"config key 'output.label_map': {value!r} is neither cluener-zh, llm-ner nor a "
            f"readable JSON file ({e})"
        ) from None
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise ValueError(
            f"config key 'output.label_map': {value}: expected a JSON object of strings"
        )
    return obj


def read_documents(
    path: str, data: DataSettings, label_map: Mapping[str, str], split: str
) -> list[Example]:
    """Read ``path`` in ``data.format`` (a :func:`nerlm.read_corpus` reader or ``iepile-json``).

    Raises:
        ValueError: An unknown format or reader option (names ``data.format`` /
            ``data.options``); the readers' own errors carry file and line.
    """
    from nerlm.data.registry import READERS, read_corpus, reader_options

    if data.format == "iepile-json":
        from nerlm.formats import IepileJson, read_iepile

        return read_iepile(path, IepileJson(label_map=label_map), split=data.split or split)
    if data.format not in READERS:
        raise ValueError(
            f"config key 'data.format': must be iepile-json or one of {sorted(READERS)}, "
            f"got {data.format!r}"
        )
    options = dict(data.options)
    accepted = reader_options(data.format)
    if "split" in accepted:
        options.setdefault("split", data.split or split)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"config key 'data.options': the {data.format} reader takes {accepted}, not {unknown}"
        )
    return read_corpus(path, data.format, **options)


def build_output_format(
    cfg: TrainConfig, train_docs: Sequence[Example], labels: Sequence[str]
) -> Any:
    """The output format of ``cfg.output`` (``clue-fill`` ``described``: examples per type
    drawn from ``train_docs``, :func:`nerlm.type_descriptions`).

    Raises:
        ValueError: Options the format does not take (names ``output.options``).
    """
    from nerlm.formats import get_format
    from nerlm.instructions import type_descriptions

    label_map = resolve_label_map(cfg.output.label_map)
    options = dict(cfg.output.options)
    options["label_map"] = label_map
    if (
        cfg.output.format == "clue-fill"
        and options.get("variant") == "described"
        and "descriptions" not in options
    ):
        options["descriptions"] = type_descriptions(
            train_docs,
            labels,
            label_map=label_map,
            per_type=int(options.pop("examples_per_type", 2)),
            seed=cfg.seed,
            definitions=options.pop("definitions", None),
        )
    try:
        return get_format(cfg.output.format, **options)
    except TypeError as e:
        raise ValueError(f"config key 'output.options': {cfg.output.format}: {e}") from None


def apply_template(tokenizer: Any, cfg: TrainConfig) -> None:
    """Set up ``tokenizer`` for the run: the chat template per ``template`` /
    ``chat_template``, right padding, a pad token (the EOS when it has none).

    Raises:
        ValueError: ``template: chat`` without a chat template, or a tokenizer without an EOS
            token (training appends it to every target).
    """
    if cfg.chat_template:
        p = Path(cfg.chat_template)
        is_file = "\n" not in cfg.chat_template and len(cfg.chat_template) < 4096 and p.is_file()
        tokenizer.chat_template = p.read_text(encoding="utf-8") if is_file else cfg.chat_template
    if cfg.template == "plain":
        tokenizer.chat_template = None
    elif cfg.template == "chat" and not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "config key 'template': chat, but the tokenizer has no chat template "
            "(set chat_template, or template: auto / plain)"
        )
    if tokenizer.eos_token_id is None:
        raise ValueError(
            "config key 'tokenizer': the tokenizer has no EOS token, which training appends "
            "to every target; use a tokenizer with one"
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"


def encode_records(
    records: Sequence[Mapping[str, Any]], tokenizer: Any, cfg: TrainConfig, split: str
) -> tuple[list[dict[str, list[int]]], DataStats]:
    """Token ids and loss labels of instruction records.

    Each record becomes ``prompt + target + [EOS]``: the prompt is
    :func:`nerlm.generate.build_prompt` of the instruction (chat template or plain template),
    tokenized as :func:`nerlm.extract` tokenizes it (``add_special_tokens=True``); the target
    is tokenized on its own, so the model learns the token split it continues with at
    extraction time. Labels are ``-100`` on the prompt.

    Length limits (tokens) and ``cfg.overflow``: a prompt over ``max_source_length``, a
    target over ``max_target_length`` or a record over ``cutoff_len`` raises (``error``), is
    left out (``drop``) or cut (``truncate``: prompt and target keep their first tokens; over
    ``cutoff_len`` the target keeps ``max(cutoff_len - prompt, cutoff_len // 2)`` tokens and
    the prompt the rest; a record left without target tokens is dropped).

    Returns:
        ``[{"input_ids", "attention_mask", "labels"}]`` and the counts.

    Raises:
        ValueError: Under ``overflow: error``, the first record over a limit (its id, its
            length and the config key).
    """
    from nerlm.generate import build_prompt

    stats = DataStats(split, records=len(records))
    if not records:
        return [], stats
    prompts = [build_prompt(tokenizer, str(r["instruction"])) for r in records]
    sources = tokenizer(prompts, add_special_tokens=True)["input_ids"]
    targets = tokenizer([str(r["output"]) for r in records], add_special_tokens=False)["input_ids"]
    eos = int(tokenizer.eos_token_id)
    dropped: Counter[str] = Counter()
    truncated: Counter[str] = Counter()
    out = []
    for rec, src_ids, tgt_ids in zip(records, sources, targets, strict=True):
        src = list(src_ids)
        tgt = [*tgt_ids, eos]
        stats.max_source_tokens = max(stats.max_source_tokens, len(src))
        stats.max_target_tokens = max(stats.max_target_tokens, len(tgt))
        over = []
        if len(src) > cfg.max_source_length:
            over.append(("max_source_length", len(src), cfg.max_source_length, "prompt"))
        if len(tgt) > cfg.max_target_length:
            over.append(("max_target_length", len(tgt), cfg.max_target_length, "target"))
        total = min(len(src), cfg.max_source_length) + min(len(tgt), cfg.max_target_length)
        if total > cfg.cutoff_len:
            over.append(("cutoff_len", len(src) + len(tgt), cfg.cutoff_len, "prompt + target"))
        if over:
            key, n, limit, what = over[0]
            if cfg.overflow == "error":
                raise ValueError(
                    f"{split} record {rec.get('id')!r}: the {what} is {n} tokens, more than "
                    f"config key {key!r} = {limit} (raise it, or set overflow: drop or truncate)"
                )
            if len(stats.examples) < 10:
                stats.examples.append(f"{rec.get('id')}: {key} ({n} > {limit})")
            if cfg.overflow == "drop":
                dropped[key] += 1
                continue
            for k, *_ in over:
                truncated[k] += 1
            src = src[: cfg.max_source_length]
            tgt = tgt[: cfg.max_target_length]
            if len(src) + len(tgt) > cfg.cutoff_len:
                keep = min(len(tgt), max(cfg.cutoff_len - len(src), cfg.cutoff_len // 2))
                tgt = tgt[:keep]
                src = src[: cfg.cutoff_len - keep]
            if not tgt:
                dropped["empty_target"] += 1
                continue
        stats.target_tokens += len(tgt)
        out.append(
            {
                "input_ids": src + tgt,
                "attention_mask": [1] * (len(src) + len(tgt)),
                "labels": [-100] * len(src) + tgt,
            }
        )
    stats.kept = len(out)
    stats.dropped = dict(dropped)
    stats.truncated = dict(truncated)
    return out, stats


@dataclass
class PreparedData:
    """The encoded splits and what extraction needs (:func:`prepare_data`).

    Attributes:
        train: Encoded training records.
        dev: Encoded dev records (dev loss), empty without a dev file.
        dev_documents: The dev documents (NER evaluation, first ``eval.limit``).
        labels: Corpus labels of the schema, in order.
        fmt: The output format instance.
        stats: Per split.
    """

    train: list[dict[str, list[int]]]
    dev: list[dict[str, list[int]]]
    dev_documents: list[Example]
    labels: list[str]
    fmt: Any
    stats: dict[str, DataStats]


def prepare_data(cfg: TrainConfig, tokenizer: Any) -> PreparedData:
    """Read, convert to instructions and encode the training and dev data of ``cfg``.

    Raises:
        ValueError: Bad data settings, a document the format cannot render, or an overflow
            under ``overflow: error``.
    """
    from nerlm.instructions import build_instructions

    label_map = resolve_label_map(cfg.output.label_map)
    assert cfg.data.train is not None  # validate() checked it
    train_docs = read_documents(cfg.data.train, cfg.data, label_map, "train")
    if cfg.data.train_limit is not None:
        train_docs = train_docs[: cfg.data.train_limit]
    dev_docs = read_documents(cfg.data.dev, cfg.data, label_map, "dev") if cfg.data.dev else []
    labels = (
        list(cfg.labels)
        if cfg.labels
        else sorted({e.label for d in (*train_docs, *dev_docs) for e in d.entities})
    )
    if not labels:
        raise ValueError("config key 'labels': the data has no entities; list the labels")
    fmt = build_output_format(cfg, train_docs, labels)
    opts: dict[str, Any] = {
        "negatives": cfg.output.negatives,
        "negative_ratio": cfg.output.negative_ratio,
        "order": cfg.output.order,
        "seed": cfg.seed,
    }
    train_records = build_instructions(train_docs, fmt, labels, **opts)
    train, train_stats = encode_records(train_records, tokenizer, cfg, "train")
    train_stats.documents = len(train_docs)
    if not train:
        raise ValueError(f"no training record is left ({train_stats.summary()})")
    # Dev loss uses the full schema, as extraction does.
    dev_records = build_instructions(dev_docs, fmt, labels, order="stable", seed=cfg.seed)
    dev, dev_stats = encode_records(dev_records, tokenizer, cfg, "dev")
    dev_stats.documents = len(dev_docs)
    limit = cfg.eval.limit
    return PreparedData(
        train=train,
        dev=dev,
        dev_documents=dev_docs if limit is None else dev_docs[:limit],
        labels=labels,
        fmt=fmt,
        stats={"train": train_stats, "dev": dev_stats},
    )


# --- models -----------------------------------------------------------------------------------


def _require_hf() -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise ImportError(f"nerlm train needs torch, transformers and peft: {_EXTRA} ({e})") from e


def resolve_model_path(name: str) -> str:
    """A model directory for ``name``: the directory itself, or for a
    :data:`nerlm.KNOWN_MODELS` name its converted copy in the cache (built on first use).

    Raises:
        ValueError: Neither (names the ``model`` key).
    """
    from nerlm import models

    spec = models.KNOWN_MODELS.get(name)
    if spec is None:
        if not Path(name).is_dir():
            raise ValueError(
                f"config key 'model': {name!r} is neither a model directory nor one of "
                f"{sorted(models.KNOWN_MODELS)}"
            )
        return str(Path(name).resolve())
    conv = models._converted_dir(spec)
    if not (conv / "config.json").exists():
        models.load_model(name, device="cpu")  # fetches, dequantizes and caches it once
    return str(conv)


def _dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _weights_dtype(cfg: TrainConfig, cuda: bool) -> Any:
    import torch

    if cfg.dtype != "auto":
        return _dtype(cfg.dtype)
    if not cuda or cfg.method == "full":
        return torch.float32  # full fine-tuning keeps float32 master weights (bf16 autocast)
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_base(cfg: TrainConfig) -> tuple[Any, Any, str]:
    """The base model and tokenizer of ``cfg`` (4-bit NF4 for ``qlora``), tokenizer set up
    by :func:`apply_template`.

    Returns:
        ``(model, tokenizer, model directory)``.

    Raises:
        ValueError: ``method: qlora`` without a CUDA GPU, or a bad ``model``/``tokenizer``.
        ImportError: torch/transformers/peft (``nerlm[hf]``) or bitsandbytes (``nerlm[qlora]``)
            missing.
    """
    _require_hf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    if cfg.method == "qlora":
        if not cuda:
            raise ValueError(
                "config key 'method': qlora loads the base model in 4 bits with bitsandbytes, "
                "which needs a CUDA GPU, and none is available; use method: lora on a CPU"
            )
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as e:
            raise ImportError(
                f"method: qlora needs bitsandbytes: pip install 'nerlm[qlora]' ({e})"
            ) from e
    path = resolve_model_path(cfg.model)
    tok = AutoTokenizer.from_pretrained(cfg.tokenizer or path)
    apply_template(tok, cfg)
    kwargs: dict[str, Any] = {"dtype": _weights_dtype(cfg, cuda)}
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=cfg.qlora.quant_type,
            bnb_4bit_use_double_quant=cfg.qlora.double_quant,
            bnb_4bit_compute_dtype=_dtype(cfg.qlora.compute_dtype),
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    return model, tok, path


def apply_method(model: Any, cfg: TrainConfig) -> Any:
    """Wrap ``model`` for ``cfg.method`` with peft (``full``: unchanged).

    Raises:
        ValueError: LoRA target modules that the model lacks (names ``lora.target_modules``).
    """
    from peft import (
        LoraConfig,
        PrefixTuningConfig,
        TaskType,
        get_peft_model,
        prepare_model_for_kbit_training,
    )

    if cfg.method == "full":
        return model
    if cfg.method == "prefix":
        text_config = model.config.get_text_config()
        pcfg = PrefixTuningConfig(
            task_type=TaskType.CAUSAL_LM,
            num_virtual_tokens=cfg.prefix.pre_seq_len,
            prefix_projection=cfg.prefix.projection,
            encoder_hidden_size=cfg.prefix.hidden_size or text_config.hidden_size,
        )
        return get_peft_model(model, pcfg)
    if cfg.method == "qlora":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    targets: list[str] | str = cfg.lora.target_modules
    if isinstance(targets, str) and targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    lcfg = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=cfg.lora.rank,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=targets,
        bias=cfg.lora.bias,
    )
    try:
        return get_peft_model(model, lcfg)
    except ValueError as e:
        if "target" in str(e).lower():
            raise ValueError(f"config key 'lora.target_modules': {e}") from None
        raise


def _prefix_lm_class() -> Any:
    import torch

    class PrefixCausalLM(torch.nn.Module):  # type: ignore[misc]
        """A prefix-tuned peft model as a plain causal LM for nerlm's decoding loop.

        peft's ``PeftModelForCausalLM.forward`` builds a fresh prefix cache on every call, so a
        loop that feeds back ``past_key_values`` (:func:`nerlm.generate.generate_constrained`)
        would lose its cache. This wrapper builds the prefix (``pre_seq_len`` positions per
        layer) only when no cache is passed, prepends ``pre_seq_len`` ones to the attention
        mask and shifts explicit position ids by ``pre_seq_len``, as peft does in training,
        then calls the base model. ``generate`` is peft's own.
        """

        def __init__(self, peft_model: Any) -> None:
            super().__init__()
            self.peft_model = peft_model
            self.num_virtual_tokens = int(peft_model.active_peft_config.num_virtual_tokens)

        @property
        def config(self) -> Any:
            return self.peft_model.config

        @property
        def generation_config(self) -> Any:
            return self.peft_model.get_base_model().generation_config

        @property
        def device(self) -> Any:
            return next(self.parameters()).device

        def forward(
            self,
            input_ids: Any,
            attention_mask: Any = None,
            position_ids: Any = None,
            past_key_values: Any = None,
            **kwargs: Any,
        ) -> Any:
            n = self.num_virtual_tokens
            batch = input_ids.shape[0]
            if past_key_values is None:
                past_key_values = self.peft_model.get_prompt(
                    batch, max_cache_len=n + input_ids.shape[1]
                )
            if attention_mask is not None:
                ones = attention_mask.new_ones((batch, n))
                attention_mask = torch.cat([ones, attention_mask], dim=1)
            if position_ids is not None:
                position_ids = position_ids + n
            return self.peft_model.get_base_model()(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=past_key_values,
                **kwargs,
            )

        def generate(self, *args: Any, **kwargs: Any) -> Any:
            return self.peft_model.generate(*args, **kwargs)

    return PrefixCausalLM


def for_extraction(model: Any) -> Any:
    """``model`` ready for :func:`nerlm.extract`: a prefix-tuned peft model is wrapped (see
    ``PrefixCausalLM``); other models are returned as they are."""
    from peft import PeftModel, PeftType

    if (
        isinstance(model, PeftModel)
        and model.active_peft_config.peft_type == PeftType.PREFIX_TUNING
    ):
        return _prefix_lm_class()(model)
    return model


def load_trained(
    path: str | os.PathLike[str], *, dtype: Any = None, device: str | None = None
) -> tuple[Any, Any]:
    """Load what ``nerlm train`` wrote, for extraction: an adapter directory (``adapter/``, a
    ``checkpoint-N/`` of a LoRA or prefix run; the base model is found through the adapter's
    ``base_model_name_or_path``) or a model directory (``merged/``).

    Returns:
        ``(model, tokenizer)`` in eval mode; a prefix adapter comes wrapped for nerlm's
        decoding loop (:func:`for_extraction`).

    Raises:
        FileNotFoundError: Not a directory.
        ImportError: peft missing (``nerlm[hf]``).
    """
    _require_hf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"{p} is not a model or adapter directory")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tok = AutoTokenizer.from_pretrained(p)
    if (p / "adapter_config.json").exists():
        from peft import AutoPeftModelForCausalLM

        model = for_extraction(AutoPeftModelForCausalLM.from_pretrained(p, dtype=dtype))
    else:
        model = AutoModelForCausalLM.from_pretrained(p, dtype=dtype)
    return model.to(device).eval(), tok


# --- evaluation and the trainer ---------------------------------------------------------------


@dataclass
class NerEvaluation:
    """nerlm's NER evaluation inside ``Trainer.evaluate``: constrained, grounded extraction on
    the dev documents, scored with :func:`nerlm.score`.

    Under DDP every process extracts from its share of the documents (``rank::world``); the
    predictions are gathered and every process scores all of them, so every process sees the
    same ``eval_f1`` when it picks the best checkpoint.

    Metrics (with the ``eval`` prefix): ``f1``, ``precision``, ``recall`` (micro, strict span
    match: label, start, end; duplicates as a set), ``string_f1`` (micro, label and surface
    per document), ``parsed`` (share of outputs that parsed), ``ner_seconds``.
    """

    documents: list[Example]
    labels: list[str]
    fmt: Any
    settings: EvalSettings

    def run(self, trainer: Any, prefix: str = "eval") -> dict[str, float]:
        """Extract and score with ``trainer``'s model and tokenizer."""
        import torch.distributed as dist

        from nerlm.generate import extract
        from nerlm.score import score

        model = trainer.accelerator.unwrap_model(trainer.model)
        rank, world = trainer.args.process_index, trainer.args.world_size
        mine = self.documents[rank::world]
        s = self.settings
        was_training = model.training
        model.eval()
        t0 = time.perf_counter()
        try:
            results = (
                extract(
                    for_extraction(model),
                    trainer.processing_class,
                    mine,
                    self.labels,
                    fmt=self.fmt,
                    grounded=s.grounded,
                    batch_size=s.batch_size,
                    max_new_tokens=s.max_new_tokens,
                    max_entities_per_label=s.max_entities_per_label,
                    max_entity_chars=s.max_entity_chars,
                    backend=s.backend,
                    progress=False,
                )
                if mine
                else []
            )
        finally:
            model.train(was_training)
        pred = [r.to_example() for r in results]
        outputs = sum(len(r.raw_outputs) for r in results)
        parsed = outputs - sum(len(r.parse_errors) for r in results)
        if world > 1 and dist.is_available() and dist.is_initialized():
            parts: list[Any] = [None] * world
            dist.all_gather_object(parts, (pred, outputs, parsed))
            pred = [p for part in parts for p in part[0]]
            outputs = sum(part[1] for part in parts)
            parsed = sum(part[2] for part in parts)
        span = score(self.documents, pred, labels=self.labels, split="dev", lenient=True)
        string = score(
            self.documents, pred, labels=self.labels, level="string", split="dev", lenient=True
        )
        return {
            f"{prefix}_f1": span.micro.f1,
            f"{prefix}_precision": span.micro.precision,
            f"{prefix}_recall": span.micro.recall,
            f"{prefix}_string_f1": string.micro.f1,
            f"{prefix}_parsed": parsed / outputs if outputs else 1.0,
            f"{prefix}_ner_seconds": round(time.perf_counter() - t0, 3),
        }


PREFIX_STATE = "prefix_encoder.safetensors"


def _trainer_class() -> Any:
    from transformers import Trainer

    class NerTrainer(Trainer):  # type: ignore[misc]
        """transformers' Trainer with nerlm's NER evaluation, and exact checkpoints of peft
        prefix tuning with projection.

        peft saves a prefix-tuning adapter as the projected prefix (the MLP folded in, for
        inference) and refuses to load it as trainable, so a resumed run would lose the MLP.
        Checkpoints of ``method: prefix`` therefore also hold the prompt encoder's full state
        (:data:`PREFIX_STATE`), which resuming and ``load_best_model_at_end`` load back.
        """

        ner_evaluation: NerEvaluation | None = None
        prefix_state: bool = False

        def evaluate(
            self,
            eval_dataset: Any = None,
            ignore_keys: list[str] | None = None,
            metric_key_prefix: str = "eval",
        ) -> dict[str, float]:
            metrics: dict[str, float] = {}
            if eval_dataset is not None or self.eval_dataset is not None:
                metrics.update(super().evaluate(eval_dataset, ignore_keys, metric_key_prefix))
            if self.ner_evaluation is not None:
                ner = self.ner_evaluation.run(self, metric_key_prefix)
                self.log(ner)
                metrics.update(ner)
            return metrics

        def _prefix_encoder(self) -> Any:
            model = self.accelerator.unwrap_model(self.model)
            return model.prompt_encoder[model.active_adapter]

        def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
            super()._save(output_dir, state_dict)
            if self.prefix_state and self.args.should_save:
                from safetensors.torch import save_file

                enc = self._prefix_encoder().state_dict()
                state = {k: v.detach().cpu().contiguous() for k, v in enc.items()}
                save_file(state, os.path.join(output_dir or self.args.output_dir, PREFIX_STATE))

        def _load_prefix_state(self, checkpoint: str) -> None:
            from safetensors.torch import load_file

            f = os.path.join(checkpoint, PREFIX_STATE)
            if not os.path.isfile(f):
                raise ValueError(
                    f"{checkpoint} lacks {PREFIX_STATE}: not a nerlm prefix-tuning checkpoint"
                )
            enc = self._prefix_encoder()
            device = next(enc.parameters()).device
            enc.load_state_dict({k: v.to(device) for k, v in load_file(f).items()})

        def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
            if self.prefix_state:
                self._load_prefix_state(resume_from_checkpoint)
            else:
                super()._load_from_checkpoint(resume_from_checkpoint, model)

        def _load_best_model(self) -> None:
            if self.prefix_state:
                self._load_prefix_state(self.state.best_model_checkpoint)
            else:
                super()._load_best_model()

    return NerTrainer


# --- the run ----------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`fine_tune` did.

    Attributes:
        output_dir: The run directory.
        global_step: Optimizer steps done (resumed runs included).
        resumed_from: The checkpoint the run resumed from, or None.
        best_metric: Best dev ``eval_f1`` (None without dev data).
        best_checkpoint: Its checkpoint directory.
        adapter_dir: ``output_dir/adapter`` (lora, qlora, prefix), or None.
        merged_dir: ``output_dir/merged`` (lora, qlora and full with ``merge``), or None.
        metrics: The content of ``metrics.json``.
        model: The final model in memory (the best checkpoint's when there is dev data; LoRA
            merged into the base when ``merged_dir`` was written), on the main process.
        tokenizer: Its tokenizer.
    """

    output_dir: Path
    global_step: int
    resumed_from: str | None
    best_metric: float | None
    best_checkpoint: str | None
    adapter_dir: Path | None
    merged_dir: Path | None
    metrics: dict[str, Any]
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)


def last_checkpoint(output_dir: str | os.PathLike[str]) -> str | None:
    """The complete ``checkpoint-N`` of ``output_dir`` with the largest N, or None.

    A checkpoint is complete when its ``trainer_state.json`` (written last by the Trainer)
    parses: a run killed while saving leaves an incomplete one, which is skipped.
    """
    d = Path(output_dir)
    if not d.is_dir():
        return None
    found = []
    for p in d.iterdir():
        name, _, step = p.name.partition("-")
        if name == "checkpoint" and step.isdigit() and p.is_dir():
            found.append((int(step), p))
    for _, p in sorted(found, reverse=True):
        try:
            json.loads((p / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return str(p)
    return None


def _resume_point(cfg: TrainConfig) -> str | None:
    if cfg.resume == "never":
        return None
    if cfg.resume == "auto":
        return last_checkpoint(cfg.output_dir)
    if not Path(cfg.resume).is_dir():
        raise ValueError(f"config key 'resume': {cfg.resume!r} is not a checkpoint directory")
    return cfg.resume


def package_versions() -> dict[str, Any]:
    """Exact versions of Python, nerlm and the libraries a run depends on (``versions.json``)."""
    import platform
    from importlib import metadata

    import nerlm

    out: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nerlm": nerlm.__version__,
    }
    for dist in (
        "torch", "transformers", "peft", "accelerate", "tokenizers", "safetensors", "numpy",
        "trl", "bitsandbytes", "PyYAML", "matplotlib",
    ):  # fmt: skip
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    try:
        import torch

        out["cuda"] = torch.version.cuda
        out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        pass
    return out


def run_metrics(log_history: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Training loss per logged step and dev scores per evaluation, from the Trainer's
    ``state.log_history`` (entries of one evaluation step are merged; ``eval_`` dropped)."""
    train = []
    evals: dict[int, dict[str, Any]] = {}
    for h in log_history:
        step = int(h.get("step", 0))
        if "loss" in h:
            keep = (
                "loss", "learning_rate", "grad_norm", "epoch", "num_input_tokens_seen",
                "train_tokens_per_second",
            )  # fmt: skip
            train.append({"step": step, **{k: h[k] for k in keep if k in h}})
        ev = {k[5:]: v for k, v in h.items() if k.startswith("eval_")}
        if ev:
            evals.setdefault(step, {"step": step, "epoch": h.get("epoch")}).update(ev)
    return {"train": train, "eval": [evals[k] for k in sorted(evals)]}


def plot_curves(metrics: Mapping[str, Any], path: str | os.PathLike[str], title: str = "") -> None:
    """Draw the training loss and dev F1 against the step as a PNG (matplotlib, Agg)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(f"training curves need matplotlib: pip install matplotlib ({e})") from e
    fig = Figure(figsize=(7.5, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    train = metrics.get("train", [])
    evals = metrics.get("eval", [])
    lines = []
    if train:
        lines += ax.plot([t["step"] for t in train], [t["loss"] for t in train], label="train loss")
    dev_loss = [(e["step"], e["loss"]) for e in evals if "loss" in e]
    if dev_loss:
        xs, ys = zip(*dev_loss, strict=True)
        lines += ax.plot(xs, ys, "--", label="dev loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (cross-entropy per target token)")
    f1 = [(e["step"], e["f1"]) for e in evals if "f1" in e]
    if f1:
        ax2 = ax.twinx()
        xs, ys = zip(*f1, strict=True)
        lines += ax2.plot(xs, ys, "o-", color="C2", label="dev F1 (micro, strict span)")
        s1 = [(e["step"], e["string_f1"]) for e in evals if "string_f1" in e]
        if s1:
            xs, ys = zip(*s1, strict=True)
            lines += ax2.plot(xs, ys, "s:", color="C3", label="dev F1 (micro, string)")
        ax2.set_ylim(0.0, 1.0)
        ax2.set_ylabel("F1")
    if lines:
        ax.legend(lines, [str(ln.get_label()) for ln in lines], loc="best", fontsize="small")
    ax.set_title(title or "nerlm train")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _training_arguments(cfg: TrainConfig, has_dev: bool, has_dev_loss: bool) -> Any:
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    bf16 = cfg.bf16 if cfg.bf16 is not None else bool(cuda and torch.cuda.is_bf16_supported())
    kwargs: dict[str, Any] = {
        "output_dir": cfg.output_dir,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "optim": cfg.optim,
        "learning_rate": cfg.learning_rate or DEFAULT_LR[cfg.method],
        "lr_scheduler_type": cfg.lr_scheduler_type,
        "warmup_steps": cfg.warmup_steps,
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "per_device_eval_batch_size": cfg.eval.batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "num_train_epochs": cfg.num_train_epochs,
        "max_steps": cfg.max_steps,
        "logging_steps": cfg.logging_steps,
        "save_strategy": "steps",
        "save_steps": cfg.save_steps,
        "save_total_limit": cfg.save_total_limit,
        "eval_strategy": "steps" if has_dev else "no",
        "eval_steps": cfg.eval_steps or cfg.save_steps,
        "load_best_model_at_end": has_dev,
        "metric_for_best_model": "f1" if has_dev else None,
        "greater_is_better": True,
        "bf16": bf16,
        "report_to": "none",
        "remove_unused_columns": False,
        "label_names": ["labels"],
        "disable_tqdm": not cfg.progress,
        "include_num_input_tokens_seen": True,
        "ddp_find_unused_parameters": False,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": cuda,
        # Without CUDA, accelerate sets up DDP over gloo only when told that it runs on CPUs.
        "use_cpu": not cuda,
    }
    # transformers 5.x renamed gradient checkpointing to activation checkpointing.
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    ckpt = (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else "gradient_checkpointing"
    )
    kwargs[ckpt] = cfg.gradient_checkpointing
    if cfg.gradient_checkpointing:
        kwargs[f"{ckpt}_kwargs"] = {"use_reentrant": False}
    if not has_dev_loss:
        kwargs["prediction_loss_only"] = True
    kwargs.update(cfg.training_args)
    try:
        return TrainingArguments(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"config key 'training_args' (or the settings it extends): {e}") from None


def fine_tune(
    config: TrainConfig | str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str] = (),
    *,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Run a fine-tuning described by ``config`` (see the module docstring and
    :class:`TrainConfig`); resumes from the last checkpoint of ``output_dir`` by default.

    Works unchanged under ``torchrun`` / ``accelerate launch`` (DDP): every process runs this
    function; the main process writes the run directory and the exports.

    Args:
        config: A :class:`TrainConfig`, a YAML file or a mapping.
        overrides: ``KEY=VALUE`` overrides (:func:`load_train_config`).
        callbacks: Extra ``transformers.TrainerCallback`` objects.

    Returns:
        The :class:`TrainResult`.

    Raises:
        ValueError: A bad config (names the key), data that cannot be encoded, QLoRA without a
            CUDA GPU.
        ImportError: torch, transformers or peft missing (``pip install 'nerlm[hf]'``).
    """
    if isinstance(config, TrainConfig):
        cfg = load_train_config(config.to_dict(), overrides) if overrides else config
    else:
        cfg = load_train_config(config, overrides)
    cfg.validate()
    _require_hf()
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening, set_seed

    t0 = time.perf_counter()
    out = Path(cfg.output_dir)
    resume = _resume_point(cfg)
    set_seed(cfg.seed)
    model, tok, model_path = load_base(cfg)
    data = prepare_data(cfg, tok)
    for s in data.stats.values():
        log.info("data %s", s.summary())
    set_seed(cfg.seed)  # the adapter's initialisation does not depend on the data preparation
    model = apply_method(model, cfg)
    has_dev = bool(data.dev_documents)
    args = _training_arguments(cfg, has_dev, bool(data.dev))
    main = bool(args.should_save)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        _write_text(out / "config.yaml", cfg.to_yaml())
        _write_text(out / "versions.json", json.dumps(package_versions(), indent=2) + "\n")
    if cfg.packing:
        collator: Any = DataCollatorWithFlattening(return_position_ids=True)
    else:
        collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=data.train,
        eval_dataset=data.dev if (has_dev and data.dev) else None,
        data_collator=collator,
        processing_class=tok,
        callbacks=list(callbacks),
    )
    trainer.prefix_state = cfg.method == "prefix"
    if has_dev:
        trainer.ner_evaluation = NerEvaluation(data.dev_documents, data.labels, data.fmt, cfg.eval)
    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    state = trainer.state
    model = trainer.accelerator.unwrap_model(trainer.model)
    adapter_dir = merged_dir = None
    metrics: dict[str, Any] = {}
    if main:
        adapter_dir, merged_dir, model = _export(model, tok, cfg, model_path, out)
        metrics = dict(run_metrics(state.log_history))
        history = reversed(state.log_history)
        summary: dict[str, Any] = next((h for h in history if "train_runtime" in h), {})
        metrics.update(
            {
                "global_step": state.global_step,
                "best": {
                    "metric": "eval_f1" if has_dev else None,
                    "value": state.best_metric,
                    "checkpoint": state.best_model_checkpoint,
                },
                "resumed_from": resume,
                "method": cfg.method,
                "data": {k: v.to_dict() for k, v in data.stats.items()},
                "labels": data.labels,
                "summary": summary,
                "wall_seconds": round(time.perf_counter() - t0, 3),
                "world_size": args.world_size,
            }
        )
        _write_text(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        title = f"nerlm train: {cfg.method}, {Path(cfg.model).name}"
        plot_curves(metrics, out / "curves.png", title)
    trainer.accelerator.wait_for_everyone()
    return TrainResult(
        output_dir=out,
        global_step=state.global_step,
        resumed_from=resume,
        best_metric=state.best_metric,
        best_checkpoint=state.best_model_checkpoint,
        adapter_dir=adapter_dir,
        merged_dir=merged_dir,
        metrics=metrics,
        model=model,
        tokenizer=tok,
    )


def _export(
    model: Any, tok: Any, cfg: TrainConfig, model_path: str, out: Path
) -> tuple[Path | None, Path | None, Any]:
    """Write ``adapter/`` and ``merged/``; return them and the final model in memory."""
    adapter_dir = merged_dir = None
    if cfg.method != "full":
        adapter_dir = out / "adapter"
        # Record an absolute base path, so that the adapter loads from any directory.
        model.peft_config[model.active_adapter].base_model_name_or_path = model_path
        model.save_pretrained(adapter_dir)
        tok.save_pretrained(adapter_dir)
    if cfg.merge and cfg.method != "prefix":
        merged_dir = out / "merged"
        if cfg.method == "lora":
            model = model.merge_and_unload()
        elif cfg.method == "qlora":
            # Merge into a base in the compute dtype: a 4-bit base cannot hold the update.
            from peft import PeftModel
            from transformers import AutoModelForCausalLM

            base = AutoModelForCausalLM.from_pretrained(
                model_path, dtype=_dtype(cfg.qlora.compute_dtype)
            )
            assert adapter_dir is not None
            model = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
        model.save_pretrained(merged_dir)
        tok.save_pretrained(merged_dir)
    return adapter_dir, merged_dir, model

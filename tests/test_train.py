"""nerlm train: configs, instruction encoding, and LoRA / P-tuning v2 (prefix) / full fine-tuning
of tiny randomly initialised Qwen2, Llama and Gemma3 models with the real Qwen2.5 and Llama-3
tokenizers from ../shared: the loss drops, the dev F1 is logged, a killed run resumes at the
right step, saved models reload with the same logits, and two CPU processes train under DDP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from nerlm.cli import main  # noqa: E402
from nerlm.data.model import Example  # noqa: E402
from nerlm.formats import FORMATS, get_format  # noqa: E402
from nerlm.instructions import build_instructions  # noqa: E402
from nerlm.train import (  # noqa: E402
    TrainConfig,
    encode_records,
    fine_tune,
    for_extraction,
    last_checkpoint,
    load_train_config,
    load_trained,
)

from .conftest import ROOT, load_hf_tokenizer  # noqa: E402

ARCHS = ("qwen2", "llama", "gemma3")
#: (tokenizer folder in ../shared/tokenizers, its EOS, the model's vocabulary size)
TOKENIZERS = {
    "qwen2": ("qwen2.5", "<|endoftext|>", 151_936),
    "llama": ("llama3", "<|end_of_text|>", 128_256),
    # No Gemma tokenizer is in ../shared: the Gemma3 model gets the Qwen2.5 one.
    "gemma3": ("qwen2.5", "<|endoftext|>", 151_936),
}
#: Learning rates high enough for 5 steps on a fixed batch to lower the loss reliably.
LR = {"lora": 2e-2, "prefix": 5e-2, "full": 1e-2}

TRAIN = [
    ("t1", "张三在北京工作。", [(0, 2, "name"), (3, 5, "address")]),
    ("t2", "李四去了上海。", [(0, 2, "name"), (4, 6, "address")]),
]
DEV = [
    ("d1", "王五住在广州。", [(0, 2, "name"), (4, 6, "address")]),
    ("d2", "赵六喜欢杭州。", [(0, 2, "name"), (4, 6, "address")]),
    ("d3", "孙七到了南京。", [(0, 2, "name"), (4, 6, "address")]),
]


def _docs(rows: list[tuple[str, str, list[tuple[int, int, str]]]]) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "text": t,
            "entities": [
                {"start": s, "end": e, "label": lab, "text": t[s:e]} for s, e, lab in ents
            ],
        }
        for i, t, ents in rows
    ]


def _examples(rows: list[tuple[str, str, list[tuple[int, int, str]]]]) -> list[Example]:
    from nerlm.data.model import Entity

    return [Example(i, t, [Entity(s, e, lab, t[s:e]) for s, e, lab in ents]) for i, t, ents in rows]


def build_tiny(arch: str, tok: Any) -> Any:
    """A random tiny causal LM of ``arch`` whose special ids match ``tok``."""
    from transformers import (
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    torch.manual_seed(0)
    common: dict[str, Any] = {
        "vocab_size": TOKENIZERS[arch][2],
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 1024,
        "tie_word_embeddings": True,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": None,
    }
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(num_hidden_layers=1, **common))
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(num_hidden_layers=1, **common))
    # Gemma3 as in Gemma-3-270M: head_dim is not hidden / heads, and sliding-window layers
    # alternate with global ones (a short window, so that the tests cross it).
    cfg = Gemma3TextConfig(
        num_hidden_layers=2,
        head_dim=24,
        sliding_window=32,
        layer_types=["sliding_attention", "full_attention"],
        **common,
    )
    return Gemma3ForCausalLM(cfg)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``tiny_model(arch)``: the directory of a saved tiny model with its tokenizer."""
    made: dict[str, Path] = {}

    def get(arch: str) -> Path:
        if arch not in made:
            name, eos, _ = TOKENIZERS[arch]
            tok = load_hf_tokenizer(name, eos=eos)
            d = tmp_path_factory.mktemp(f"tiny-{arch}")
            build_tiny(arch, tok).save_pretrained(d)
            tok.save_pretrained(d)
            made[arch] = d
        return made[arch]

    return get


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    for name, rows in (("train", TRAIN), ("dev", DEV)):
        lines = [json.dumps(x, ensure_ascii=False) for x in _docs(rows)]
        (d / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def config(model: Path, corpus: Path, out: Path, method: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "model": str(model),
        "method": method,
        "output_dir": str(out),
        "data": {"train": str(corpus / "train.jsonl"), "dev": str(corpus / "dev.jsonl")},
        "output": {"format": "json-lines"},
        "max_steps": 5,
        "per_device_train_batch_size": 2,
        "learning_rate": LR[method],
        "lr_scheduler_type": "constant",
        "logging_steps": 1,
        "save_steps": 2,
        "eval_steps": 2,
        "progress": False,
        "eval": {"limit": 2, "max_new_tokens": 12, "batch_size": 2},
        "lora": {"rank": 4, "alpha": 16, "dropout": 0.0},
        "prefix": {"pre_seq_len": 4},
    }
    cfg.update(extra)
    return cfg


class Interrupted(Exception):
    pass


def crash_at(step: int) -> Any:
    """A callback that kills training (an exception) when ``step`` is done, before it is
    logged or saved."""
    from transformers import TrainerCallback

    class Crash(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == step:
                raise Interrupted(f"killed at step {step}")

    return Crash()


def _batch(tok: Any) -> dict[str, Any]:
    tok.padding_side = "left"
    enc = tok(["张三在北京工作。", "上海"], return_tensors="pt", padding=True)
    tok.padding_side = "right"
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def _logits(model: Any, batch: dict[str, Any]) -> Any:
    model.eval()
    mask = batch["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        return model(**batch, position_ids=positions).logits


# --- configuration ----------------------------------------------------------------------------


def test_config_yaml_with_overrides(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(
        textwrap.dedent(
            """
            model: some/model
            method: lora
            data: {train: train.jsonl, format: cluener}
            output: {format: iepile-json, label_map: cluener-zh, options: {split_num: 4}}
            lora: {rank: 8, target_modules: [q_proj, v_proj]}
            """
        ),
        encoding="utf-8",
    )
    cfg = load_train_config(
        p,
        [
            "lora.rank=16",
            "max_steps=5",
            "learning_rate=1e-4",  # YAML 1.1 reads this as a string: converted to float
            "output.options.split_num=3",
            "lora.target_modules=all-linear",
            "training_args.ddp_backend=gloo",
            "eval.limit=null",
        ],
    )
    assert cfg.lora.rank == 16 and cfg.max_steps == 5 and cfg.learning_rate == 1e-4
    assert cfg.output.options == {"split_num": 3} and cfg.output.label_map == "cluener-zh"
    assert cfg.lora.target_modules == "all-linear" and cfg.eval.limit is None
    assert cfg.training_args == {"ddp_backend": "gloo"} and cfg.data.format == "cluener"
    # The resolved config round-trips through YAML (what the run directory keeps).
    again = tmp_path / "again.yaml"
    again.write_text(cfg.to_yaml(), encoding="utf-8")
    assert load_train_config(again) == cfg
    assert isinstance(load_train_config(None, ["model=m", "data.train=t"]), TrainConfig)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["lora.rnak=3"], "lora.rnak"),
        (["method=adapter"], "method"),
        (["lora.rank=zero"], "lora.rank"),
        (["max_source_length=0"], "max_source_length"),
        (["overflow=ignore"], "overflow"),
        (["output.format=bio"], "output.format"),
        (["save_steps=3", "eval_steps=2"], "save_steps"),
        (["data.train=null"], "data.train"),
        (["method=prefix", "gradient_checkpointing=true"], "gradient_checkpointing"),
        (["method=prefix", "packing=true"], "packing"),
    ],
)
def test_config_errors_name_the_key(overrides: list[str], key: str) -> None:
    with pytest.raises(ValueError, match=f"'{key}'"):
        load_train_config({"model": "m", "data": {"train": "t"}}, overrides)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_qlora_fails_at_start_on_cpu(tmp_path: Path) -> None:
    cfg = {"model": str(tmp_path), "method": "qlora", "data": {"train": "t.jsonl"}}
    with pytest.raises(ValueError, match="CUDA GPU"):
        fine_tune(cfg)


# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_encoding_masks_the_prompt_and_appends_eos(fmt_name: str, qwen_tokenizer: Any) -> None:
    from nerlm.generate import build_prompt

    fmt = get_format(fmt_name)
    records = build_instructions(_examples(TRAIN), fmt, ["address", "name"])
    cfg = TrainConfig(model="m")
    feats, stats = encode_records(records, qwen_tokenizer, cfg, "train")
    assert stats.kept == len(records) == len(feats) and not stats.dropped
    for rec, f in zip(records, feats, strict=True):
        prompt = qwen_tokenizer(build_prompt(qwen_tokenizer, rec["instruction"]))["input_ids"]
        n = len(prompt)
        assert f["input_ids"][:n] == prompt and f["labels"][:n] == [-100] * n
        target = f["labels"][n:]
        assert target == f["input_ids"][n:] and target[-1] == qwen_tokenizer.eos_token_id
        assert qwen_tokenizer.decode(target[:-1]) == rec["output"]
        assert len(f["attention_mask"]) == len(f["input_ids"])


def test_overflow_error_drop_truncate(qwen_tokenizer: Any) -> None:
    records = build_instructions(_examples(TRAIN), get_format("iepile-json"), ["address", "name"])
    cfg = TrainConfig(model="m", max_source_length=40, max_target_length=12, cutoff_len=48)
    with pytest.raises(ValueError, match=r"'max_source_length' = 40.*overflow: drop or truncate"):
        encode_records(records, qwen_tokenizer, cfg, "train")
    cfg.overflow = "drop"
    feats, stats = encode_records(records, qwen_tokenizer, cfg, "train")
    assert feats == [] and stats.dropped == {"max_source_length": 2}
    cfg.overflow = "truncate"
    feats, stats = encode_records(records, qwen_tokenizer, cfg, "train")
    assert stats.kept == 2 and stats.truncated["max_source_length"] == 2
    for f in feats:
        n_src = f["labels"].count(-100)
        assert n_src <= 40 and len(f["input_ids"]) - n_src <= 12 and len(f["input_ids"]) <= 48
    assert stats.max_source_tokens > 40 and stats.examples


def test_chat_template_and_plain_template(qwen_tokenizer: Any) -> None:
    from nerlm.train import apply_template

    tok = load_hf_tokenizer("qwen2.5", eos="<|endoftext|>")
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    records = build_instructions(
        _examples(TRAIN[:1]), get_format("json-lines"), ["address", "name"]
    )
    apply_template(tok, TrainConfig(model="m", template="chat", chat_template=template))
    feats, _ = encode_records(records, tok, TrainConfig(model="m"), "train")
    prompt = tok.decode(
        [t for t, lab in zip(feats[0]["input_ids"], feats[0]["labels"], strict=True) if lab == -100]
    )
    assert prompt.startswith("<|im_start|>user\n") and prompt.endswith("<|im_start|>assistant\n")
    apply_template(tok, TrainConfig(model="m", template="plain"))
    assert tok.chat_template is None
    with pytest.raises(ValueError, match="'template'"):
        apply_template(tok, TrainConfig(model="m", template="chat"))


def test_packing_gives_the_padded_loss(qwen_tokenizer: Any) -> None:
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

    from .conftest import tiny_qwen2

    model = tiny_qwen2()
    records = build_instructions(
        _examples(TRAIN + DEV), get_format("type-pairs"), ["address", "name"]
    )
    feats, _ = encode_records(records, qwen_tokenizer, TrainConfig(model="m"), "train")
    qwen_tokenizer.padding_side = "right"
    padded = DataCollatorForSeq2Seq(qwen_tokenizer, padding=True)(feats)
    packed = DataCollatorWithFlattening()(feats)
    assert packed["input_ids"].shape[0] == 1
    with torch.no_grad():
        a = model(**padded).loss
        b = model(**packed).loss
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_ner_evaluation_scores_the_extractions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluation's wiring: documents -> extract -> nerlm.score (span and string level)."""
    import nerlm.generate
    from nerlm.align import AlignStatus
    from nerlm.formats.base import ParsedEntity
    from nerlm.generate import Extraction
    from nerlm.train import EvalSettings, NerEvaluation

    gold = _examples(DEV)
    seen: dict[str, Any] = {}

    def fake_extract(model: Any, tok: Any, docs: Any, labels: Any, **kw: Any) -> Any:
        seen.update(model=model, docs=[d.id for d in docs], labels=labels, **kw)
        out = []
        for d in docs:  # the name right, the address found one character short
            ents = [
                ParsedEntity(e.label, e.text[: 1 if e.label == "address" else None], e.start,
                             e.end - (e.label == "address"), AlignStatus.EXACT)
                for e in d.entities
            ]  # fmt: skip
            out.append(Extraction(d.id, d.text, ["raw"], ents))
        out[-1].parse_errors.append("cut off")
        return out

    class Args:
        process_index, world_size = 0, 1

    class FakeTrainer:
        model = torch.nn.Linear(1, 1)
        args = Args()
        processing_class = None

        class accelerator:
            @staticmethod
            def unwrap_model(m: Any) -> Any:
                return m

    monkeypatch.setattr(nerlm.generate, "extract", fake_extract)
    fmt = get_format("json-lines")
    settings = EvalSettings(max_new_tokens=7, batch_size=3)
    m = NerEvaluation(gold, ["address", "name"], fmt, settings).run(FakeTrainer(), "eval")
    assert seen["docs"] == ["d1", "d2", "d3"] and seen["fmt"] is fmt
    assert seen["max_new_tokens"] == 7 and seen["grounded"] and not seen["progress"]
    assert m["eval_precision"] == m["eval_recall"] == m["eval_f1"] == 0.5
    assert m["eval_string_f1"] == 0.5 and m["eval_parsed"] == pytest.approx(2 / 3)
    assert FakeTrainer.model.training  # the model is put back into training mode


# --- prefix tuning (P-tuning v2) inside nerlm's decoding loop ---------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_prefix_model_in_the_decoding_loop(arch: str, tiny_model: Any) -> None:
    """The wrapper that feeds a prefix-tuned model to nerlm's loop gives peft's logits, also
    when the cache is fed back in multi-token chunks (jump-forward) past Gemma3's window."""
    from peft import PrefixTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model(arch))
    pcfg = PrefixTuningConfig(
        task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4, prefix_projection=True,
        encoder_hidden_size=16,
    )  # fmt: skip
    peft_model = get_peft_model(base, pcfg).eval()
    wrapped = for_extraction(peft_model)
    torch.manual_seed(1)
    ids = torch.randint(0, 1000, (2, 40))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        ref = peft_model(input_ids=ids, attention_mask=mask).logits
        full = wrapped(
            input_ids=ids, attention_mask=mask, position_ids=torch.arange(40)[None]
        ).logits
        torch.testing.assert_close(full, ref, rtol=1e-5, atol=1e-5)
        out = wrapped(input_ids=ids[:, :30], attention_mask=mask[:, :30], use_cache=True)
        past, steps = out.past_key_values, [out.logits]
        for a, b in ((30, 33), (33, 34), (34, 40)):
            out = wrapped(
                input_ids=ids[:, a:b], attention_mask=mask[:, :b],
                position_ids=torch.arange(a, b)[None], past_key_values=past, use_cache=True,
            )  # fmt: skip
            past = out.past_key_values
            steps.append(out.logits)
        torch.testing.assert_close(torch.cat(steps, 1), ref, rtol=1e-4, atol=1e-4)


# --- training: every CPU method on every architecture -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "prefix", "full"])
@pytest.mark.parametrize("arch", ARCHS)
def test_train_kill_resume_export(
    arch: str, method: str, tiny_model: Any, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    cfg = config(tiny_model(arch), corpus, out, method)
    with pytest.raises(Interrupted):
        fine_tune(cfg, callbacks=[crash_at(3)])
    assert last_checkpoint(out) == str(out / "checkpoint-2")
    res = fine_tune(cfg)  # resume: auto
    assert res.resumed_from == str(out / "checkpoint-2") and res.global_step == 5

    # 5 steps lower the training loss (steps 1-2 come from the checkpoint, 3-5 from the resume).
    losses = {t["step"]: t["loss"] for t in res.metrics["train"]}
    assert sorted(losses) == [1, 2, 3, 4, 5]
    assert losses[5] < losses[1], losses

    # The dev F1 is in the Trainer's logs and in metrics.json; the best checkpoint is kept.
    last = last_checkpoint(out)
    assert last == str(out / "checkpoint-5")  # save_total_limit 2: the best and the last
    state = json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
    f1_logs = [h for h in state["log_history"] if "eval_f1" in h]
    assert [h["step"] for h in f1_logs] == [2, 4, 5]
    assert all(0.0 <= h["eval_f1"] <= 1.0 and "eval_string_f1" in h for h in f1_logs)
    assert [e["step"] for e in res.metrics["eval"] if "f1" in e] == [2, 4, 5]
    assert res.best_checkpoint is not None and Path(res.best_checkpoint).is_dir()
    assert res.best_metric == max(e["f1"] for e in res.metrics["eval"] if "f1" in e)

    # The run directory.
    saved = load_train_config(out / "config.yaml")
    assert saved == load_train_config(cfg)
    versions = json.loads((out / "versions.json").read_text(encoding="utf-8"))
    assert versions["torch"] and versions["transformers"] and versions["peft"]
    assert versions["accelerate"] and versions["nerlm"]
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk["global_step"] == 5 and on_disk["resumed_from"].endswith("checkpoint-2")

    # Save -> load gives the same logits (torch.equal: bit for bit).
    from transformers import AutoModelForCausalLM

    batch = _batch(res.tokenizer)
    if method == "prefix":
        assert res.merged_dir is None and res.adapter_dir is not None
        loaded, _ = load_trained(res.adapter_dir, device="cpu")
        assert torch.equal(_logits(for_extraction(res.model), batch), _logits(loaded, batch))
    else:
        assert res.merged_dir is not None
        merged = AutoModelForCausalLM.from_pretrained(res.merged_dir)
        assert torch.equal(_logits(res.model, batch), _logits(merged, batch))
        if method == "lora":
            # The adapter on its base (unmerged) agrees with the merged weights up to rounding.
            adapter, _ = load_trained(res.adapter_dir, device="cpu")
            torch.testing.assert_close(
                _logits(adapter, batch), _logits(merged, batch), rtol=1e-5, atol=1e-5
            )

    if arch == "qwen2":
        # The resumed run is the uninterrupted run: same losses, same final weights.
        ref = fine_tune({**cfg, "output_dir": str(tmp_path / "ref")})
        ref_losses = {t["step"]: t["loss"] for t in ref.metrics["train"]}
        assert ref_losses == pytest.approx(losses, rel=1e-5)
        ref_model = for_extraction(ref.model) if method == "prefix" else ref.model
        res_model = for_extraction(res.model) if method == "prefix" else res.model
        torch.testing.assert_close(_logits(ref_model, batch), _logits(res_model, batch))


# --- command line: a SIGKILLed run resumes; adapters load for extraction ----------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "python"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.mark.slow
def test_cli_resumes_after_sigkill_and_extracts(
    tiny_model: Any, corpus: Path, tmp_path: Path
) -> None:
    import yaml

    out = tmp_path / "run"
    # Packing (one row per batch, no padding) and no dev set this time.
    cfg = config(tiny_model("qwen2"), corpus, out, "lora", max_steps=4, packing=True)
    del cfg["data"]["dev"]
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    script = textwrap.dedent(
        """
        import os, signal, sys
        from transformers import TrainerCallback
        from nerlm.train import fine_tune

        class Kill(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 3:
                    os.kill(os.getpid(), signal.SIGKILL)

        fine_tune(sys.argv[1], callbacks=[Kill()])
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        env=_env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    assert last_checkpoint(out) == str(out / "checkpoint-2")
    assert not (out / "metrics.json").exists()

    assert main(["train", str(path), "--set", "save_steps=2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["global_step"] == 4 and metrics["resumed_from"] == str(out / "checkpoint-2")
    assert [t["step"] for t in metrics["train"]] == [1, 2, 3, 4]
    assert metrics["train"][-1]["loss"] < metrics["train"][0]["loss"]
    assert metrics["eval"] == [] and metrics["best"]["value"] is None

    # `nerlm extract --model` takes the adapter directory and the merged one.
    for model_dir in (out / "adapter", out / "merged"):
        pred = tmp_path / f"pred-{model_dir.name}.jsonl"
        argv = [
            "extract", "--model", str(model_dir), "--format", "json-lines",
            "--labels", "address,name", "--input", str(corpus / "dev.jsonl"),
            "--output", str(pred), "--max-new-tokens", "8", "--device", "cpu",
        ]  # fmt: skip
        assert main(argv) == 0
        assert len(pred.read_text(encoding="utf-8").splitlines()) == len(DEV)


# --- more than one device ---------------------------------------------------------------------


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_model: Any, corpus: Path, tmp_path: Path) -> None:
    import yaml

    out = tmp_path / "run"
    cfg = config(tiny_model("qwen2"), corpus, out, "lora", max_steps=2, save_steps=2)
    cfg["eval"]["limit"] = 3  # uneven shards: 2 documents on rank 0, 1 on rank 1
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "nerlm.cli", "train", str(path),
    ]  # fmt: skip
    r = subprocess.run(cmd, env=_env(), capture_output=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["world_size"] == 2 and metrics["global_step"] == 2
    assert [e["step"] for e in metrics["eval"] if "f1" in e] == [2]
    assert (out / "adapter" / "adapter_config.json").exists()
    assert (out / "merged" / "config.json").exists()
    assert (out / "checkpoint-2" / "trainer_state.json").exists()


# --- GPU ----------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_qlora_on_gpu(tiny_model: Any, corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "run"
    cfg = {**config(tiny_model("qwen2"), corpus, out, "lora"), "method": "qlora"}
    res = fine_tune(cfg)
    losses = [t["loss"] for t in res.metrics["train"]]
    assert losses[-1] < losses[0]
    assert res.adapter_dir is not None and (res.adapter_dir / "adapter_config.json").exists()
    assert res.merged_dir is not None and (res.merged_dir / "config.json").exists()

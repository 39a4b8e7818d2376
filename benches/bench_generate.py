"""Constrained generation with and without jump-forward, against plain model.generate.

Runs the demo's setting (Gemma-3-270M, 5-shot iepile-json prompts, CLUENER dev sentences
shipped in the package, greedy) three ways in one process and prints a Markdown table:

- ``transformers``: ``model.generate`` with :class:`nerlm.ConstrainedLogitsProcessor`;
- ``nerlm``: nerlm's own loop without jump-forward;
- ``nerlm + jump-forward``: the same loop appending forced tokens in the sampled token's pass.

A fourth row, ``unconstrained (same lengths)``, is plain ``model.generate`` with no processor,
forced to produce as many tokens per batch as the jump-forward run's longest output in that
batch (``min_new_tokens = max_new_tokens``): the cost of generating outputs of the same
length without nerlm (issue #7's comparison).

``--tiny`` swaps the model for a randomly initialised one-layer Qwen2 with the real Qwen2.5
tokenizer from ../shared (no download; the outputs are grammatical but meaningless).

Usage: ``python benches/bench_generate.py [--limit 8] [--batch-size 8] [--model gemma-3-270m]
[--tiny]``.
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib import resources

import torch

import nerlm
from nerlm.generate import build_prompt, eos_token_ids, generate_constrained


def tiny_model() -> tuple[object, object]:
    """A random one-layer Qwen2 with Qwen2.5's tokenizer (../shared): no download."""
    from common import SHARED
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(SHARED / "tokenizers" / "qwen2.5" / "tokenizer.json")
    )
    tok.eos_token = tok.pad_token = "<|endoftext|>"
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=151_936, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    return Qwen2ForCausalLM(cfg).eval(), tok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--tiny", action="store_true", help="a random 1-layer Qwen2 (see above)")
    args = ap.parse_args()
    samples = resources.files("nerlm") / "samples"
    with resources.as_file(samples / "cluener_dev_sample.jsonl") as p:
        docs = nerlm.read_jsonl(p)[: args.limit]
    with resources.as_file(samples / "cluener_train_shots.jsonl") as p:
        shots = nerlm.read_jsonl(p)
    if args.tiny:
        model, tok = tiny_model()
        args.model = "tiny random Qwen2 (1 layer, hidden 64) + Qwen2.5 tokenizer"
    else:
        model, tok = nerlm.load_model(args.model, progress=False)
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    fmt = nerlm.IepileJson(label_map=nerlm.CLUENER_LABELS_ZH)
    labels = list(nerlm.CLUENER_LABELS_ZH)
    eos = eos_token_ids(tok, model)
    vocab = nerlm.vocabulary_for(tok, eos)
    jobs = [(d, c) for d in docs for c in fmt.chunks(labels)]

    def prompts_and_tables(
        batch: list[tuple[nerlm.Example, list[str]]],
    ) -> tuple[list[str], list[nerlm.TokenTable]]:
        prompts, tables = [], []
        for d, chunk in batch:
            demo = [(fmt.render_prompt(s, chunk), fmt.render_target(s, chunk)) for s in shots]
            prompts.append(build_prompt(tok, fmt.render_prompt(d, chunk), demo))
            names = [fmt.schema_name(c) for c in chunk]
            tables.append(
                nerlm.TokenTable(vocab, "iepile-json", names, d.text, max_entities_per_label=8)
            )
        return prompts, tables

    rows = []
    outputs: dict[str, list[bytes]] = {}
    lengths: dict[str, list[int]] = {}
    for name in ("transformers", "nerlm", "nerlm + jump-forward"):
        passes = tokens = 0
        outs: list[bytes] = []
        lens: list[int] = []
        t0 = time.perf_counter()
        for b0 in range(0, len(jobs), args.batch_size):
            prompts, tables = prompts_and_tables(jobs[b0 : b0 + args.batch_size])
            enc = tok(prompts, return_tensors="pt", padding=True)
            if name == "transformers":
                proc = nerlm.ConstrainedLogitsProcessor(tables)
                from transformers import LogitsProcessorList

                with torch.no_grad():
                    out = model.generate(**enc, logits_processor=LogitsProcessorList([proc]),
                                         max_new_tokens=args.max_new_tokens, do_sample=False,
                                         eos_token_id=eos, pad_token_id=tok.pad_token_id,
                                         temperature=None, top_p=None, top_k=None)  # fmt: skip
                passes += proc.steps
                gen = out[:, enc["input_ids"].shape[1] :].tolist()
                gen = [g[: next((k for k, t in enumerate(g) if t in eos), len(g))] for g in gen]
            else:
                gen, st = generate_constrained(
                    model, enc["input_ids"], enc["attention_mask"], tables,
                    eos_token_ids=eos, pad_token_id=tok.pad_token_id,
                    max_new_tokens=args.max_new_tokens, jump_forward=name.endswith("forward"),
                    tokenizer=tok,
                )  # fmt: skip
                passes += st.forward_passes + 1  # + the step the processor path counts first
                gen = [[t for t in g if t not in eos] for g in gen]
            tokens += sum(len(g) for g in gen)
            outs += [vocab.decode(g) for g in gen]
            lens += [len(g) for g in gen]
        dt = time.perf_counter() - t0
        outputs[name] = outs
        lengths[name] = lens
        rows.append((name, passes, tokens, dt))
    # Unconstrained model.generate, as many new tokens per batch as jump-forward produced.
    jf_lengths = lengths["nerlm + jump-forward"]
    passes = tokens = 0
    t0 = time.perf_counter()
    for b0 in range(0, len(jobs), args.batch_size):
        prompts, _ = prompts_and_tables(jobs[b0 : b0 + args.batch_size])
        enc = tok(prompts, return_tensors="pt", padding=True)
        n = max(1, *jf_lengths[b0 : b0 + args.batch_size])
        with torch.no_grad():
            model.generate(**enc, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=tok.pad_token_id, temperature=None, top_p=None,
                           top_k=None)  # fmt: skip
        passes += n
        tokens += n * len(prompts)
    rows.append(("unconstrained (same lengths)", passes, tokens, time.perf_counter() - t0))
    same = sum(a == b for a, b in zip(outputs["transformers"], outputs["nerlm"], strict=True))
    print(
        f"{args.model}, {len(docs)} sentences x {len(fmt.chunks(labels))} instructions, "
        f"batch {args.batch_size}, greedy; torch {torch.__version__}, python "
        f"{platform.python_version()}, {platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(f"identical outputs transformers vs nerlm (no jump-forward): {same}/{len(jobs)}")
    print()
    print("| decoding | forward passes | generated tokens | wall time (s) | vs transformers |")
    print("|---|---|---|---|---|")
    base = rows[0][3]
    for name, passes, tokens, dt in rows:
        print(f"| {name} | {passes} | {tokens} | {dt:.1f} | {base / dt:.2f}x |")


if __name__ == "__main__":
    main()

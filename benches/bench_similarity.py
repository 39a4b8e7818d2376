"""Text similarity (ROUGE-1/2/L, BLEU-4) in the Rust core against the reference packages.

Run with ``.venv/bin/python benches/bench_similarity.py [--n 2000]`` (needs the ``dev`` extra:
rouge-chinese, nltk, jieba). Prints a Markdown table and the machine it ran on.

Cases, ``--n`` pairs each (2,000 by default) from CLUENER dev:

* ``outputs``: raw NER outputs, the CLUENER baseline predictions (``official_ner_predict.json``
  then ``official_ner_predict_large.json``) against the gold labels, each written as the JSON
  object a model would generate (``{"address": ["台湾"], "name": ["彭小军"]}``);
* ``sentences``: dev sentences against copies edited by a seeded random generator (deletions,
  insertions, swaps), longer strings with more overlap.

Each preset runs nerlm (``nerlm.similarity.text_similarity``) and the reference pipeline it
reproduces, in the same process: LLaMA-Factory's ``ComputeSimilarity`` loop (jieba + rouge-chinese
+ nltk), DeepKE's ``RougeMetric`` loop (jieba + rouge-chinese), and rouge-chinese + nltk on
characters or jieba words for the nerlm presets. Both sides are warm (jieba's dictionary loaded,
nerlm's jieba-rs dictionary loaded by a first call, timed separately); times are the best of
``--repeat`` runs for nerlm and of one run for the references. Every row checks that the
per-example values and the means are identical.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from common import SHARED, timed

from nerlm.similarity import cut_words, text_similarity

CLUENER = SHARED / "data" / "cluener"


def _output(label: dict[str, dict[str, Any]]) -> str:
    return json.dumps({k: sorted(v) for k, v in sorted(label.items())}, ensure_ascii=False)


def _read(name: str) -> list[dict[str, Any]]:
    with open(CLUENER / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def output_pairs(n: int) -> tuple[list[str], list[str]]:
    gold = _read("dev.json")
    preds: list[str] = []
    refs: list[str] = []
    for name in ("official_ner_predict.json", "official_ner_predict_large.json"):
        for g, p in zip(gold, _read(name), strict=False):  # the predictions lack the last text
            preds.append(_output(p["label"]))
            refs.append(_output(g["label"]))
    return preds[:n], refs[:n]


def sentence_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    texts = [d["text"] for d in _read("dev.json")]
    rng = random.Random(seed)
    preds: list[str] = []
    refs: list[str] = []
    for i in range(n):
        ref = texts[i % len(texts)]
        chars = list(ref)
        for _ in range(rng.randint(0, 6)):
            op = rng.randrange(3)
            if op == 0 and chars:
                del chars[rng.randrange(len(chars))]
            elif op == 1:
                chars.insert(rng.randint(0, len(chars)), rng.choice(texts)[0])
            elif len(chars) > 1:
                j = rng.randrange(len(chars) - 1)
                chars[j], chars[j + 1] = chars[j + 1], chars[j]
        preds.append("".join(chars))
        refs.append(ref)
    return preds, refs


def references() -> dict[str, Callable[[list[str], list[str]], tuple[dict[str, float], Any]]]:
    import jieba
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge_chinese import Rouge

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    method3 = SmoothingFunction().method3
    keys = ("rouge-1", "rouge-2", "rouge-l")

    def llamafactory(preds: list[str], labels: list[str]) -> tuple[dict[str, float], Any]:
        score_dict: dict[str, list[float]] = {k: [] for k in (*keys, "bleu-4")}
        for pred, label in zip(preds, labels, strict=True):
            hypothesis = list(jieba.cut(pred))
            reference = list(jieba.cut(label))
            if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
                result = {k: {"f": 0.0} for k in keys}
            else:
                result = Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
            for k, v in result.items():
                score_dict[k].append(round(v["f"] * 100, 4))
            bleu = sentence_bleu([list(label)], list(pred), smoothing_function=method3)
            score_dict["bleu-4"].append(round(bleu * 100, 4))
        return {k: float(np.mean(v)) for k, v in score_dict.items()}, score_dict

    def deepke(preds: list[str], golds: list[str]) -> tuple[dict[str, float], Any]:
        rouge = Rouge()
        sums = dict.fromkeys(keys, 0.0)
        per: dict[str, list[float]] = {k: [] for k in keys}
        for pred, gold in zip(preds, golds, strict=True):
            hyp = " ".join(jieba.cut(pred.strip()))
            ref = " ".join(jieba.cut(gold.strip()))
            if (not hyp) != (not ref):
                f = dict.fromkeys(keys, 0.0)
            elif not hyp:
                f = dict.fromkeys(keys, 1.0)
            else:
                s = rouge.get_scores(hyp, ref)[0]
                f = {k: s[k]["f"] for k in keys}
            for k in keys:
                sums[k] += f[k]
                per[k].append(f[k])
        return {k: round(sums[k] / len(preds) * 100, 2) for k in keys}, per

    def nerlm_level(level: str) -> Callable[[list[str], list[str]], tuple[dict[str, float], Any]]:
        def tokens(text: str) -> list[str]:
            if level == "char":
                return [c for c in text if not c.isspace()]
            return [w for w in jieba.cut(text) if not w.isspace()]

        def run(preds: list[str], refs: list[str]) -> tuple[dict[str, float], Any]:
            rouge = Rouge()
            per: dict[str, list[float]] = {k: [] for k in (*keys, "bleu-4")}
            for pred, ref in zip(preds, refs, strict=True):
                h, r = tokens(pred), tokens(ref)
                if h and r:
                    s = rouge.get_scores(" ".join(h), " ".join(r))[0]
                    f = {k: s[k]["f"] for k in keys}
                else:
                    f = dict.fromkeys(keys, 0.0 if (h or r) else 1.0)
                for k in keys:
                    per[k].append(f[k])
                per["bleu-4"].append(float(sentence_bleu([r], h, smoothing_function=method3)))
            return {k: float(np.mean(v)) for k, v in per.items()}, per

        return run

    return {
        "llamafactory": llamafactory,
        "deepke": deepke,
        "nerlm-char": nerlm_level("char"),
        "nerlm-word": nerlm_level("word"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="pairs per case")
    ap.add_argument("--repeat", type=int, default=3, help="nerlm runs (best is kept)")
    args = ap.parse_args()

    t = time.perf_counter()
    cut_words(["预热"])
    jieba_rs_load = time.perf_counter() - t
    t = time.perf_counter()
    refs = references()
    jieba_load = time.perf_counter() - t

    rows = []
    for case, (preds, golds) in (
        ("outputs", output_pairs(args.n)),
        ("sentences", sentence_pairs(args.n)),
    ):
        chars = sum(map(len, preds)) / len(preds)
        for preset, ref_fn in refs.items():
            t_ref, (ref_scores, ref_per) = timed(lambda: ref_fn(preds, golds), 1)  # noqa: B023
            t_ours, res = timed(
                lambda: text_similarity(preds, golds, preset=preset),  # type: ignore[arg-type]  # noqa: B023
                args.repeat,
            )
            same = res.scores == ref_scores and all(
                res.per_example[k].tolist() == v for k, v in ref_per.items()
            )
            rows.append(
                (
                    case,
                    preset,
                    len(preds),
                    chars,
                    t_ref,
                    t_ours,
                    len(preds) / t_ref,
                    len(preds) / t_ours,
                    t_ref / t_ours,
                    same,
                )
            )

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")
    print(
        f"one-time dictionary load: jieba-rs (nerlm) {jieba_rs_load:.2f} s, "
        f"Python jieba {jieba_load:.2f} s"
    )
    print()
    print(
        "| case | preset | pairs | mean pred chars | reference (s) | nerlm (s) "
        "| reference pairs/s | nerlm pairs/s | speed-up | identical |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for case, preset, n, chars, t_ref, t_ours, r_ref, r_ours, ratio, same in rows:
        print(
            f"| {case} | {preset} | {n:,} | {chars:.0f} | {t_ref:.2f} | {t_ours:.4f} "
            f"| {r_ref:,.0f} | {r_ours:,.0f} | {ratio:,.0f}x | {'yes' if same else 'NO'} |"
        )
    if not all(r[-1] for r in rows):
        sys.exit("nerlm and the references disagree")


if __name__ == "__main__":
    main()

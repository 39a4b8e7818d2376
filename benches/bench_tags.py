"""Tag-sequence scoring: nerlm.tags against seqeval 1.2.2, side by side.

Run::

    python benches/bench_tags.py [--tokens 1000000] [--json OUT]

Corpus: the four character-tagged test sets in ``shared/data`` (MSRA, People's Daily, Weibo:
BIO; Resume: BMES, rewritten as IOB2 through its spans), concatenated and replicated until the
corpus holds at least ``--tokens`` tags. Predictions are seeded noise over the gold spans
(8% deleted, 8% relabelled, 14% with a boundary shifted, an inserted span in 30% of the
sentences) written as IOB2, then 35% of the sentences get one or two invalid transitions
(``O I-X``, ``B-X I-Y``, random tags).

Rows (each on the whole corpus, lists of tag strings in, numbers checked equal):

* ``classification_report``: seqeval's ``classification_report(output_dict=True)`` against
  ``nerlm.tags.seqeval_compat``, which also computes the scalar scores and accuracy; default
  mode and ``mode="strict", scheme=IOB2``;
* ``chunking``: seqeval's ``get_entities`` (default) or ``Entities`` (strict) on the gold
  against ``nerlm.tags.spans_from_tags``, and ``spans_from_tag_ids`` on already encoded ids;
* ``conlleval``: ``nerlm.tags.conlleval_compat`` alone, or against ``perl conlleval.pl`` fed
  the same lines when ``NERLM_CONLLEVAL`` names the script.

seqeval runs once per row (it takes seconds); nerlm's time is the best of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import SHARED, timed
from tests.noise import noisy_spans

import nerlm
from nerlm import tags as nt

FILES = [
    ("msra/msra_test_bio.txt", "IOB2"),
    ("peoples_daily/example.test", "IOB2"),
    ("resume_ner/test.char.bmes", "BMES"),
    ("weibo_ner/weiboNER_2nd_conll.test", "IOB2"),
]
Tags = list[list[str]]


def read_tags(path: Path) -> Tags:
    """Tags of a ``char tag`` file as written (nerlm.data.read_tagged)."""
    return [s.tags for s in nerlm.read_tagged(path)]


def corrupt(sents: Tags, rng: random.Random) -> Tags:
    types = sorted({t[2:] for s in sents for t in s if t != "O"})
    out = []
    for sent in sents:
        s = list(sent)
        if s and rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                k = rng.randrange(len(s))
                r = rng.random()
                if s[k] == "O" and r < 0.5:
                    s[k] = "I-" + rng.choice(types)
                elif s[k] != "O" and r < 0.8:
                    s[k] = s[k][0] + "-" + rng.choice(types)
                else:
                    s[k] = rng.choice(["O", "B-" + rng.choice(types), "I-" + rng.choice(types)])
        out.append(s)
    return out


def corpus(min_tokens: int) -> tuple[Tags, Tags]:
    gold: Tags = []
    pred: Tags = []
    rng = random.Random(20261121)
    for rel, scheme in FILES:
        sents = read_tags(SHARED / "data" / rel)
        lengths = [len(s) for s in sents]
        spans = nt.spans_from_tags(sents, scheme=scheme)
        if scheme != "IOB2":
            sents = nt.tags_from_spans(spans, lengths, scheme="IOB2")
        gold += sents
        pred += corrupt(nt.tags_from_spans(noisy_spans(spans, lengths, rng), lengths), rng)
    n = sum(map(len, gold))
    reps = -(-min_tokens // n)
    return gold * reps, pred * reps


def quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def same_report(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return list(a) == list(b) and all(
        float(a[k][m]) == float(b[k][m]) for k in a for m in ("precision", "recall", "f1-score")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from seqeval.metrics import classification_report
    from seqeval.metrics.sequence_labeling import get_entities
    from seqeval.scheme import IOB2, Entities

    gold, pred = corpus(args.tokens)
    n_sent, n_tok = len(gold), sum(map(len, gold))
    rows: list[dict[str, Any]] = []

    def row(case: str, mode: str, ref: str, t_ref: float | None, *, ours: str, t: float) -> None:
        rows.append(
            {
                "case": case,
                "mode": mode,
                "reference": ref,
                "reference_s": t_ref,
                "nerlm": ours,
                "nerlm_s": t,
            }
        )

    for mode, kw in (("default", {}), ("strict IOB2", {"mode": "strict", "scheme": IOB2})):
        t_ref, ref = timed(
            quiet(lambda kw=kw: classification_report(gold, pred, output_dict=True, **kw)), 1
        )
        ours_kw: dict[str, Any] = {"mode": "strict", "scheme": "IOB2"} if kw else {}
        t, res = timed(lambda k=ours_kw: nt.seqeval_compat(gold, pred, **k), 3)
        if not same_report(res.classification_report(), ref):
            sys.exit(f"{mode}: nerlm and seqeval disagree")
        row("classification_report", mode, "seqeval", t_ref, ours="seqeval_compat", t=t)

    t_ref, ref_ents = timed(quiet(lambda: get_entities(gold)), 1)
    t, spans = timed(lambda: nt.spans_from_tags(gold), 3)
    if sum(map(len, spans)) != len(ref_ents):
        sys.exit("default chunking: nerlm and seqeval disagree")
    row("chunking", "default", "get_entities", t_ref, ours="spans_from_tags", t=t)
    t_ref, ents = timed(quiet(lambda: Entities(gold, IOB2).entities), 1)
    t, spans = timed(lambda: nt.spans_from_tags(gold, scheme="IOB2"), 3)
    if [len(s) for s in spans] != [len(e) for e in ents]:
        sys.exit("strict chunking: nerlm and seqeval disagree")
    row("chunking", "strict IOB2", "Entities", t_ref, ours="spans_from_tags", t=t)
    vocab: list[str] = []
    ids, offsets = nerlm._native.encode_tag_strings(gold, vocab)
    t, cols = timed(lambda: nt.spans_from_tag_ids(ids, offsets, vocab, scheme="IOB2"), 3)
    if cols.to_lists(n_sent) != spans:
        sys.exit("strict chunking: the id path and the list path disagree")
    row("chunking", "strict IOB2", "Entities", t_ref, ours="spans_from_tag_ids (ids in)", t=t)

    script = os.environ.get("NERLM_CONLLEVAL")
    t, cres = timed(lambda: nt.conlleval_compat(gold, pred), 3)
    t_ref_c: float | None = None
    if script and Path(script).is_file() and shutil.which("perl"):
        lines = "".join(
            "".join(f"w {g} {p}\n" for g, p in zip(gs, ps, strict=True)) + "\n"
            for gs, ps in zip(gold, pred, strict=True)
        )

        def perl() -> str:
            return subprocess.run(
                ["perl", script], input=lines, capture_output=True, text=True, check=True
            ).stdout

        t_ref_c, out = timed(perl, 1)
        if out != cres.report():
            sys.exit("conlleval: nerlm and conlleval.pl disagree")
    ref_name = "conlleval.pl" if t_ref_c else "(not run)"
    row("conlleval", "-", ref_name, t_ref_c, ours="conlleval_compat", t=t)

    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, nerlm {nerlm.__version__}, "
        f"seqeval 1.2.2"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"corpus: {n_sent:,} sentences, {n_tok:,} tokens")
    print()
    print("| case | mode | reference | ref sent/s | nerlm | nerlm sent/s | ratio |")
    print("|---|---|---|---:|---|---:|---:|")
    for r in rows:
        ref_rate = f"{n_sent / r['reference_s']:,.0f}" if r["reference_s"] else "-"
        ratio = f"{r['reference_s'] / r['nerlm_s']:,.1f}x" if r["reference_s"] else "-"
        print(
            f"| {r['case']} | {r['mode']} | {r['reference']} | {ref_rate} | {r['nerlm']} | "
            f"{n_sent / r['nerlm_s']:,.0f} | {ratio} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"sentences": n_sent, "tokens": n_tok, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()

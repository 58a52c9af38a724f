"""`rag eval`: run, compare, gate and sweep. Parse, call the library, print; exit codes (the
`rag` conventions): 0 done (gate passed), 1 the gate failed or the run could not be done (bad Q&A
file, lint, paths, settings: one message on stderr), 2 usage error.

Wiring from rag/cli.py: `add_arguments(parser)` on the `eval` sub-parser, then `run(args)`;
or `main(argv)` with everything after `rag eval`.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from eval.compare import RESAMPLES, SEED
from rag.registry import ANSWERERS, EMBEDDERS, RETRIEVERS
from eval.run import DEFAULT_QA

DEFAULT_BASELINE = Path(__file__).resolve().parent / "baseline.json"
EXAMPLES = """examples:
  rag eval                                  run eval/data/qa.jsonl against the current store
  rag eval --fresh -k 8 --retriever bm25    on a temporary store built from the corpus
  rag eval --qa my_questions.jsonl --out runs/mine
  rag eval --compare runs/a runs/b          flips, bootstrap CIs, McNemar
  rag eval --gate eval/baseline.json        exit 1 on a regression (CI runs this)
  rag eval --write-baseline                 refresh eval/baseline.json (keeps its margins)
  rag eval --judge                          add LLM-judged correctness/faithfulness
  rag eval --fresh --baseline eval/baseline.json   flips and paired CIs inside the report
  rag eval sweep --chunk-tokens 100 200 400 -k 3 5 10 --modes bm25 dense hybrid
  rag eval sweep --chunk-tokens 200 -k 5 --modes hybrid --dense-weights 0 0.2 0.5 1

exit codes: 0 done (gate passed), 1 the gate failed or the run could not be done, 2 usage error.
Reports go to --out (default: runs/eval-<time> in the current folder): report.html (one file,
every question, failures open to their passages), report.md, summary.json, questions.jsonl.
--compare writes its own (default: runs/compare-<time>): report.html, report.md (config changes,
flips, paired differences) and comparison.json."""


def _add_once(p: argparse.ArgumentParser, flag: str, **kw) -> None:
    # rag/cli.py may already give every sub-command --store/--embedder; don't clash with it.
    with contextlib.suppress(argparse.ArgumentError):
        p.add_argument(flag, **kw)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXAMPLES
    p.add_argument("--qa", type=Path, default=DEFAULT_QA, help="Q&A JSONL file (default: %(default)s)")
    p.add_argument("--out", type=Path, help="output folder (default: runs/eval-<time> in the "
                   "current folder)")
    p.add_argument("-k", type=int, help="passages per question (default: $RAG_K, else 5)")
    p.add_argument("--retriever", choices=sorted(RETRIEVERS), help="retriever (default: hybrid)")
    p.add_argument("--answerer", choices=sorted(ANSWERERS),
                   help="answerer (default: extractive, offline, whatever the environment says)")
    p.add_argument("--model", help="LLM model name for --answerer llm (default: $RAG_LLM_MODEL)")
    _add_once(p, "--store", help="index folder (default: $RAG_STORE)")
    _add_once(p, "--embedder", choices=sorted(EMBEDDERS),
              help="embedder (default: $RAG_EMBED, else wordllama)")
    p.add_argument("--corpus", type=Path, help="article folder the evidence is in (default: $RAG_CORPUS)")
    p.add_argument("--fresh", action="store_true", help="evaluate on a temporary store built from "
                   "the corpus alone (implied by --gate and --write-baseline)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--compare", nargs=2, type=Path, metavar=("RUN_A", "RUN_B"),
                      help="compare two run folders (or baseline files) question by question; "
                           "reports go to --out (default: runs/compare-<time>)")
    mode.add_argument("--gate", type=Path, metavar="BASELINE",
                      help="run, then fail (exit 1) on a regression against this baseline")
    mode.add_argument("--write-baseline", type=Path, nargs="?", const=DEFAULT_BASELINE,
                      metavar="FILE", help="run, then write the baseline (default: %(const)s)")
    p.add_argument("--baseline", type=Path, metavar="RUN",
                   help="put the flips and paired differences against this run folder or "
                        "baseline file into the report (--gate does this with its baseline)")
    p.add_argument("--judge", action="store_true", help="also ask the configured LLM to judge "
                   "correctness and faithfulness (reported apart; cached)")
    p.add_argument("--judge-model", help="judge model (default: $RAG_LLM_MODEL)")
    p.add_argument("--judge-cache", type=Path, help="judge verdict cache (default: ~/.cache/rag-news/judge)")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--resamples", type=int, default=RESAMPLES, help="bootstrap resamples")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary (or comparison) as JSON")
    sub = p.add_subparsers(dest="eval_command", metavar="{sweep}")
    sp = sub.add_parser("sweep", help="chunk size x k x retriever x dense weight x embedder, "
                        "retrieval only",
                        description="Retrieval-only sweep; each chunk size gets a temporary store.")
    sp.add_argument("--chunk-tokens", dest="sweep_chunks", type=int, nargs="+", metavar="N",
                    default=[100, 200, 400], help="chunk sizes (default: %(default)s)")
    sp.add_argument("-k", dest="sweep_ks", type=int, nargs="+", metavar="K", default=[3, 5, 10],
                    help="passages per question (default: %(default)s)")
    sp.add_argument("--modes", dest="sweep_modes", nargs="+", default=sorted(RETRIEVERS),
                    choices=sorted(RETRIEVERS))
    sp.add_argument("--embedders", dest="sweep_embedders", nargs="+", choices=sorted(EMBEDDERS),
                    help="embedder names (default: the configured one)")
    sp.add_argument("--dense-weights", dest="sweep_dense_weights", type=float, nargs="+",
                    metavar="W", help="the dense list's weight in hybrid fusion, BM25's being 1 "
                    "(default: the configured one, $RAG_DENSE_WEIGHT)")
    sp.add_argument("--qa", dest="sweep_qa", type=Path, metavar="QA", help="Q&A file (default: as for eval)")
    sp.add_argument("--out", dest="sweep_out", type=Path, metavar="DIR", help="output folder (default: runs/sweep-<time>)")
    # SUPPRESS: a sub-parser's defaults would overwrite `rag eval --quiet sweep`.
    sp.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar")


def settings_for(args):
    from rag.settings import Settings
    get = lambda name: getattr(args, name, None)  # noqa: E731
    return Settings.from_env(store=get("store"), embedder=get("embedder"), corpus=get("corpus"),
                             llm_model=get("model"))


def run(args: argparse.Namespace, settings=None) -> int:
    """Run the command `args` describes; returns the exit code. Domain errors become one message."""
    from eval.dataset import DatasetError
    from eval.run import EvalError, LintFailed
    try:
        settings = settings or settings_for(args)
        if getattr(args, "eval_command", None) == "sweep":
            return _sweep(args, settings)
        if args.compare:
            if args.baseline:
                raise ValueError("--baseline goes with a run; --compare compares two finished runs")
            return _compare(args)
        return _evaluate(args, settings)
    except LintFailed as e:
        print(f"rag eval: error: the Q&A file does not match the articles, nothing was run.\n{e}",
              file=sys.stderr)
        return 1
    except (DatasetError, EvalError, ValueError, OSError, RuntimeError) as e:
        print(f"rag eval: error: {e}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    from rag.cli import Parser
    p = Parser(prog="rag eval", description="Evaluate the system on a Q&A set.")
    add_arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:   # --help (0) or a usage error (2), as a return code
        return e.code if isinstance(e.code, int) else 2
    return run(args)


def _stamp(kind: str) -> Path:
    return Path("runs") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def _compare(args) -> int:
    from eval.compare import compare, format_comparison, load_run
    from eval.report import write_comparison
    a, b = args.compare
    cmp = compare(load_run(a), load_run(b), resamples=args.resamples, seed=args.seed)
    out = write_comparison(cmp, args.out or _stamp("compare"), str(a), str(b))
    reports = [str(out / "report.html"), str(out / "report.md")]
    if args.json:
        print(json.dumps({**cmp, "reports": reports}, indent=1))
    else:
        print(format_comparison(cmp) + f"\nreport: {reports[0]}\n        {reports[1]}")
    return 0


def _evaluate(args, settings) -> int:
    from eval import compare, report
    from eval.judge import judge_run
    from eval.run import eval_settings, run_eval
    # Everything that can fail fast does so before the long run.
    other = args.gate or args.baseline
    baseline = compare.load_run(other) if other else None
    s = eval_settings(settings, k=args.k, retriever=args.retriever, answerer=args.answerer)
    judge = _judge(args, s) if args.judge else None
    fresh = bool(args.fresh or args.gate or args.write_baseline)
    result = run_eval(s, args.qa, fresh=fresh, progress=not args.quiet)
    judged = judge_run(result.records, judge, progress=not args.quiet) if judge else None
    cmp = (compare.compare(baseline, compare.from_run(result), resamples=args.resamples,
                           seed=args.seed) if baseline else None)
    out = report.write_run(result, args.out or _stamp("eval"), judge=judged, comparison=cmp,
                           compared_with=str(other) if other else None)
    if args.json:
        print(json.dumps({**result.summary, "reports": [str(out / "report.html"),
                                                        str(out / "report.md")]}, indent=1))
    else:
        print(_headline(result.summary, out))
    if args.write_baseline:
        compare.write_baseline(result, args.write_baseline)
        print(f"baseline written to {args.write_baseline}")
    if not args.gate:
        return 0
    passed, reasons, cmp = compare.gate(baseline, compare.from_run(result),
                                        resamples=args.resamples, seed=args.seed)
    print(compare.format_comparison(cmp))
    print("GATE PASSED" if passed else "GATE FAILED:\n  " + "\n  ".join(reasons))
    return 0 if passed else 1


def _judge(args, settings):
    from eval.judge import Judge, default_cache, openai_complete
    complete = openai_complete(settings, args.judge_model)
    return Judge(complete, complete.model, args.judge_cache or default_cache())


def _headline(summary: dict, out: Path) -> str:
    k, m, n = summary["config"]["k"], summary["metrics"], summary["counts"]
    names = ("hit", "mrr", "evidence_recall", "answer_in_context", "context_tokens", "containment",
             "f1", "citation_precision", "noans_accuracy", "false_abstention", "crag_score",
             "accuracy")
    lines = [f"{summary['n']} questions; k={k}, retriever={summary['config']['retriever']}, "
             f"answerer={summary['config']['answerer']}"]
    for name in names:
        v = m[name]
        label = f"{name}@{k}" if name in ("hit", "mrr", "evidence_recall", "answer_in_context",
                                          "context_tokens") else name
        lines.append(f"  {label:<24}{'-' if v is None else f'{v:.3f}':>8}  (n={n[name]})")
    lines.append("  labels: " + ", ".join(f"{a}={b}" for a, b in sorted(summary["labels"].items())))
    lines.append("  by kind: " + ", ".join(_kind_line(kind, v) for kind, v in summary["by_kind"].items()))
    lines.append(f"report: {out / 'report.html'}")
    lines.append(f"        {out / 'report.md'}")
    return "\n".join(lines)


def _kind_line(kind: str, v: dict) -> str:
    """Unanswerable kinds (near-misses, off-topic) report how often they abstained; the others
    how often the answer holds a gold alias."""
    m = v["metrics"]
    name, x = (("abstained", m.get("noans_accuracy")) if m.get("noans_accuracy") is not None
               else ("containment", m.get("containment")))
    return f"{kind} {name} {'-' if x is None else f'{x:.2f}'} (n={v['n']})"


def _sweep(args, settings) -> int:
    from eval.sweep import reproduce_command, run_sweep, table, write_sweep
    qa = args.sweep_qa or args.qa
    axes = {"chunk_tokens": args.sweep_chunks, "k": args.sweep_ks, "mode": args.sweep_modes,
            "dense_weight": args.sweep_dense_weights or [settings.dense_weight],
            "embedder": args.sweep_embedders or [settings.embedder]}
    rows = run_sweep(settings, qa, chunk_sizes=axes["chunk_tokens"], ks=axes["k"],
                     modes=axes["mode"], embedders=axes["embedder"],
                     dense_weights=axes["dense_weight"], progress=not args.quiet)
    out = write_sweep(rows, args.sweep_out or _stamp("sweep"), settings, qa, axes)
    print(table(rows))
    print(f"reproduce: {reproduce_command(settings, qa, axes)}")
    print(f"report: {out / 'sweep.md'}")
    return 0

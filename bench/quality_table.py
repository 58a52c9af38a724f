"""Print the README's answer-quality table (markdown): issue 12's targets, the answerer before
and after, on all questions and on the held-out half.

usage: .venv/bin/python bench/quality_table.py [--before REV [REV ...]] [--after FILE]

"before" is eval/baseline.json as committed at each git revision REV, or kept as
eval/history/baseline-REV.json (default: f804521, the baseline taken on the 291-question set just
before the calibrated answerer, kept there because that commit is not on main; give several revisions for several
"before" columns, e.g. the issue's start and the last session's end); "after" is a fresh `rag eval --fresh`
run of the current code (or a baseline/questions file given with --after). The held-out half is
the questions whose id has an odd number (q001, q003, ...; eval.dataset.half_of, the one
definition every tuner and table uses), which bench/tune_extractive.py never fits on.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.dataset import half_of  # noqa: E402

# The baseline on the 291-question set just before the calibrated answerer (issue 12's start).
BEFORE_REV = "f804521"
HISTORY = ROOT / "eval" / "history"

# (label, target, subset, metric): subset picks questions, metric is a per-question score.
ROWS = [
    ("no-answer accuracy (all unanswerable)", "≥ 0.80", lambda q: not q["answerable"], "noans_accuracy"),
    ("… off-topic questions abstained", "≥ 0.95", lambda q: q["kind"] == "off-topic", "noans_accuracy"),
    ("… near-misses abstained", "", lambda q: q["kind"] == "unanswerable", "noans_accuracy"),
    ("false abstention", "≤ 0.06", lambda q: q["answerable"], "false_abstention"),
    ("containment", "≥ 0.85", lambda q: q["answerable"], "containment"),
    ("paraphrase containment", "≥ 0.70", lambda q: q["kind"] == "paraphrase", "containment"),
    ("citation precision", "≥ 0.95", lambda q: True, "citation_precision"),
    ("answerable follow-ups correct", "≥ 0.80", lambda q: q["kind"] == "follow-up", "accuracy"),
    ("CRAG score", "≥ 0.70", lambda q: True, "crag_score"),
    ("CRAG score, the first 210 questions", "", lambda q: q["id"][:1] == "q" and
     q["id"][1:].isdigit() and int(q["id"][1:]) <= 210, "crag_score"),
]


def mean(records, keep, metric) -> tuple[float | None, int]:
    vals = [float(r["scores"][metric]) for r in records
            if keep(r) and r["scores"].get(metric) is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def before_records(rev: str | None) -> tuple[str, list[dict]]:
    """eval/baseline.json as committed at `rev`, or as kept in eval/history/ for revisions that
    are not on main (the issue's starting point was measured on a branch)."""
    rev = rev or BEFORE_REV
    kept = HISTORY / f"baseline-{rev}.json"
    if kept.exists():
        text = kept.read_text(encoding="utf-8")
    else:
        text = subprocess.run(["git", "show", f"{rev}:eval/baseline.json"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
    return rev, json.loads(text)["questions"]


def after_records(path: str | None) -> tuple[list[dict], dict | None]:
    if path:
        data = json.loads(Path(path).read_text())
        return data["questions"], None
    import contextlib
    import io
    from eval.run import eval_settings, run_eval
    from rag.settings import Settings
    with contextlib.redirect_stderr(io.StringIO()):
        run = run_eval(eval_settings(Settings.from_env()), fresh=True, progress=False)
    return run.records, run.summary


def print_current(summary: dict) -> None:
    m, k = summary["metrics"], summary["config"]["k"]
    f = lambda x: "—" if x is None else f"{x:.3f}"   # noqa: E731
    pairs = [(f"hit@{k}", "hit", "containment (answer holds a gold alias)", "containment"),
             (f"MRR@{k}", "mrr", "citation validity", "citation_validity"),
             (f"evidence recall@{k}", "evidence_recall", "citation precision", "citation_precision"),
             (f"answer in context@{k}", "answer_in_context", "citation recall", "citation_recall"),
             (f"context tokens@{k}", "context_tokens", "supported answer", "supported_answer"),
             ("no-answer accuracy", "noans_accuracy", "false abstention", "false_abstention"),
             ("CRAG score", "crag_score", "accuracy", "accuracy")]
    print("| metric | value | | metric | value |\n| --- | --- | --- | --- | --- |")
    for a, ka, b, kb in pairs:
        va = f"{m[ka]:.0f}" if ka == "context_tokens" else f(m[ka])
        print(f"| {a} | {va} | | {b} | {f(m[kb])} |")
    print("\n| kind | n | hit@5 | containment | abstained | CRAG | accuracy |")
    print("|---|---|---|---|---|---|---|")
    g = lambda x: "—" if x is None else f"{x:.2f}"   # noqa: E731
    for kind, v in summary["by_kind"].items():
        km = v["metrics"]
        print(f"| {kind} | {v['n']} | {g(km.get('hit'))} | {g(km.get('containment'))} | "
              f"{g(km.get('noans_accuracy'))} | {g(km.get('crag_score'))} | {g(km.get('accuracy'))} |")


def held(record: dict) -> bool:
    """In the held-out half (eval.dataset.half_of: an odd id number)."""
    return half_of(record["id"]) == "held"


def fmt(v: tuple[float | None, int]) -> str:
    return "—" if v[0] is None else f"{v[0]:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", nargs="+", default=[None],
                    help="git revision(s) whose eval/baseline.json is 'before'")
    ap.add_argument("--after", help="a baseline.json for 'after' instead of a fresh run")
    ap.add_argument("--current", action="store_true",
                    help="also print the README's 'Current numbers' tables of the fresh run")
    args = ap.parse_args(argv)
    befores = [before_records(rev) for rev in args.before]
    after, summary = after_records(args.after)
    if summary and args.current:
        print_current(summary)
        print()
    revs = [rev for rev, _ in befores]
    print(f"| metric ({len(after)} questions) | target | "
          + " | ".join(f"before ({rev})" for rev in revs) + " | after | "
          + " | ".join(f"held-out half, {rev}" for rev in revs) + " | held-out half, after |")
    print("| --- | --- |" + " --- |" * (2 * len(revs) + 2))
    for label, target, keep, metric in ROWS:
        kept = lambda r: keep(r) and held(r)   # noqa: E731
        cells = ([fmt(mean(b, keep, metric)) for _, b in befores] + [fmt(mean(after, keep, metric))]
                 + [fmt(mean(b, kept, metric)) for _, b in befores]
                 + [fmt(mean(after, kept, metric))])
        n = mean(after, keep, metric)[1]
        print(f"| {label} (n={n}) | {target} | " + " | ".join(cells) + " |")
    if summary:
        p50 = summary["latency_ms"].get("total", {}).get("p50")
        blank = " |" * len(revs)
        print(f"| question p50 in the eval run, warm engine (ms) | ≤ 40 |{blank} {p50:.0f} |"
              + blank + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write a run to disk: summary.json, questions.jsonl, report.md, report.html and PNG plots.

The report is built once as a list of blocks and rendered twice (Markdown with the PNGs beside
it, HTML with them embedded), so the two can never disagree.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Sequence

from eval import metrics

GROUPS = {
    "Retrieval (answerable questions, top k)": metrics.RETRIEVAL,
    "Answers (answerable questions)": ("em", "f1", "containment", "token_recall"),
    "Citations (answered questions)": ("citation_validity", "citation_precision",
                                       "citation_recall", "supported_answer", "supported_sentences"),
    "Abstention and overall": ("noans_accuracy", "false_abstention", "crag_score", "accuracy",
                               "answer_tokens"),
}
LABELS = ("retrieval_miss", "false_abstention", "reader_miss", "hallucination", "bad_citation", "ok")
DEFINITIONS = [
    "**correct** (used for accuracy, flips, McNemar, pinned questions): an answerable question "
    "answered (not abstained) with some alias contained in the answer; an unanswerable question "
    "abstained on. **CRAG score** follows eval.md instead: +1 correct answer, 0 any abstention "
    "(also on unanswerable questions), -1 any other answer.",
    "A passage is **relevant** to an evidence span (s, t) when it lies in the same file and "
    "covers at least half of it. Retrieval metrics use the passages handed to the answerer.",
    "**Normalisation**: {normalisation}. The number canonicalisation is an extension of SQuAD "
    "v1.1, declared here. An abstained answer is scored as the empty answer.",
    "**Citations** count once per sentence ([1][1] is one citation); precision counts distinct "
    "cited passages. nDCG is capped at 1 (two overlapping chunks may cover one span).",
    "Each value averages the questions where it is defined; `n` says how many.",
]


# --------------------------------------------------------------------------- plots
def _plt():
    import matplotlib
    matplotlib.use("Agg")        # no display, ever: reports are written by CI too
    import matplotlib.pyplot as plt
    return plt


def plot_by_kind(summary: dict, path: Path) -> None:
    plt = _plt()
    names = ("hit", "answer_in_context", "containment", "supported_answer", "accuracy")
    kinds = list(summary["by_kind"])
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(kinds)), 4))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        vals = [summary["by_kind"][k]["metrics"].get(name) for k in kinds]
        xs = [i + j * width for i in range(len(kinds))]
        ax.bar(xs, [float("nan") if v is None else v for v in vals], width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(kinds))], kinds, rotation=20)
    ax.set_ylim(0, 1.3)          # headroom for the legend above the bars
    ax.set_title("Metrics by kind")
    ax.legend(fontsize=8, ncol=3, loc="upper center")
    _save(fig, path)


def plot_hit_curve(summary: dict, path: Path) -> None:
    plt = _plt()
    curve = summary["hit_curve"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(curve) + 1), [float("nan") if v is None else v for v in curve], marker="o")
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k")
    ax.set_ylim(0, 1.05)
    ax.set_title("hit@k")
    _save(fig, path)


def plot_latency(records: Sequence[dict], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for stage in ("retrieve", "answer", "total"):
        vals = [r["timings_ms"][stage] for r in records if stage in r["timings_ms"]]
        if vals:
            ax.hist(vals, bins=20, alpha=0.5, label=stage)
    ax.set_xlabel("ms")
    ax.set_ylabel("questions")
    ax.set_title("Latency per stage")
    ax.legend()
    _save(fig, path)


def plot_threshold(summary: dict, path: Path) -> None:
    plt = _plt()
    curve = summary["threshold_curve"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in ("noans_accuracy", "false_abstention"):
        pts = [(c["threshold"], c[name]) for c in curve if c[name] is not None]
        if pts:
            ax.step(*zip(*pts), where="post", label=name)
    ax.set_xlabel("abstain when confidence < threshold")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("Abstention vs confidence threshold")
    ax.legend()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)


def write_plots(summary: dict, records: Sequence[dict], out: Path) -> list[tuple[str, str]]:
    """(file name, caption) of each plot written."""
    plots = [("by_kind.png", "Metrics by kind", lambda p: plot_by_kind(summary, p)),
             ("hit_at_k.png", "hit@k for k = 1..k", lambda p: plot_hit_curve(summary, p)),
             ("latency.png", "Latency histogram", lambda p: plot_latency(records, p))]
    if summary["threshold_curve"]:     # only answers that carry a confidence give a curve
        plots.append(("abstention.png", "Abstention vs confidence threshold",
                      lambda p: plot_threshold(summary, p)))
    for name, _, draw in plots:
        draw(out / name)
    return [(name, caption) for name, caption, _ in plots]


# --------------------------------------------------------------------------- blocks
def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _at(name: str, k: int) -> str:
    return f"{name}@{k}" if name in metrics.RETRIEVAL else name


def blocks(summary: dict, records: Sequence[dict], plots, judge: dict | None) -> list[tuple]:
    cfg, m, n = summary["config"], summary["metrics"], summary["counts"]
    b: list[tuple] = [("h1", f"Evaluation: {summary['n']} questions"),
                      ("table", ["setting", "value"], [[k, _fmt(v)] for k, v in cfg.items()
                                                        if k != "normalisation"])]
    b += [("h2", "Definitions")] + [("p", d.format(**cfg)) for d in DEFINITIONS]
    for title, names in GROUPS.items():
        b.append(("h2", title))
        b.append(("table", ["metric", "value", "n"],
                  [[_at(x, cfg["k"]), _fmt(m[x]), str(n[x])] for x in names]))
    kinds = list(summary["by_kind"])
    b.append(("h2", "By kind"))
    b.append(("table", ["metric"] + [f"{k} (n={summary['by_kind'][k]['n']})" for k in kinds],
              [[_at(x, cfg["k"])] + [_fmt(summary["by_kind"][k]["metrics"][x]) for k in kinds]
               for x in metrics.METRICS]))
    b.append(("h2", "Failure labels (first that applies, in this order)"))
    b.append(("table", ["label", "questions", "ids"],
              [[lab, str(summary["labels"].get(lab, 0)),
                ", ".join(r["id"] for r in records if r["label"] == lab and lab != "ok")]
               for lab in LABELS]))
    b.append(("h2", "Latency (ms)"))
    b.append(("table", ["stage", "p50", "p95", "n"],
              [[st, _fmt(v["p50"]), _fmt(v["p95"]), str(v["n"])]
               for st, v in summary["latency_ms"].items()]))
    if judge:
        b.append(("h2", "LLM judge (separate from the deterministic metrics above)"))
        b.append(("table", ["judge metric", "value"], [[k, _fmt(v)] for k, v in judge.items()]))
    b.append(("h2", "Plots"))
    b += [("img", name, caption) for name, caption in plots]
    if not any(name == "abstention.png" for name, _ in plots):
        b.append(("p", "No abstention-threshold curve: the answers carry no confidence."))
    return b


def to_markdown(bs: list[tuple]) -> str:
    out = []
    for kind, *rest in bs:
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + rest[0])
        elif kind == "p":
            out.append(rest[0])
        elif kind == "table":
            head, rows = rest
            out.append("\n".join(["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
                                 + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
                                    for r in rows]))
        elif kind == "img":
            out.append(f"![{rest[1]}]({rest[0]})")
    return "\n\n".join(out) + "\n"


def to_html(bs: list[tuple], out_dir: Path) -> str:
    import re
    e = html.escape
    parts = ["<!doctype html><meta charset='utf-8'><title>RAG evaluation</title><style>"
             "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style>"]
    for kind, *rest in bs:
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{e(rest[0])}</{kind}>")
        elif kind == "p":
            parts.append("<p>" + re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", e(rest[0])) + "</p>")
        elif kind == "table":
            head, rows = rest
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>"
                                   for r in rows) + "</table>")
        elif kind == "img":
            data = base64.b64encode((out_dir / rest[0]).read_bytes()).decode()
            parts.append(f"<figure><img alt='{e(rest[1])}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(rest[1])}</figcaption></figure>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- files
def write_run(run, out, judge: dict | None = None) -> Path:
    """Write every output of a run into `out` (created); returns the directory."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = dict(run.summary, judge=judge) if judge else run.summary
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    with open(out / "questions.jsonl", "w", encoding="utf-8") as f:
        for r in run.records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    plots = write_plots(run.summary, run.records, out)
    bs = blocks(run.summary, run.records, plots, judge)
    (out / "report.md").write_text(to_markdown(bs), encoding="utf-8")
    (out / "report.html").write_text(to_html(bs, out), encoding="utf-8")
    return out

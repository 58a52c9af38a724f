"""Write a run to disk: summary.json, questions.jsonl, report.md, report.html and PNG plots.

The report is built once as a list of blocks and rendered twice (Markdown with the PNGs beside
it, HTML as one self-contained file with them embedded and no network), so the two can never
disagree. Text from questions, answers and documents is escaped in both (eval.questions_view).
"""
from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Sequence

from eval import metrics, questions_view
from eval.plots import write_plots

GROUPS = {
    "Retrieval (answerable questions, top k)": metrics.RETRIEVAL,
    "Answers (answerable questions)": ("em", "f1", "containment", "token_recall"),
    "Citations (answered questions)": ("citation_validity", "citation_precision",
                                       "citation_recall", "supported_answer", "supported_sentences"),
    "Abstention and overall": ("noans_accuracy", "false_abstention", "crag_score", "accuracy",
                               "answer_tokens"),
}
LABELS = ("retrieval_miss", "false_abstention", "reader_miss", "hallucination", "bad_citation", "ok")
LABEL_MEANING = {
    "retrieval_miss": "no passage shown to the answerer covers the gold evidence",
    "false_abstention": "abstained although the articles answer it",
    "reader_miss": "the gold answer was in the passages, the answer does not contain it",
    "hallucination": "answered an unanswerable question, or answered without the gold answer "
                     "when it was not in the passages",
    "bad_citation": "right answer, but its citations do not support it",
    "ok": "correct and supported",
}
MEANING = {
    "hit": "some passage shown covers the gold evidence",
    "mrr": "1 / rank of the first such passage",
    "evidence_recall": "share of the gold evidence spans covered",
    "ndcg": "rank-discounted evidence coverage",
    "answer_in_context": "some gold alias occurs in the passages shown: the ceiling for any reader",
    "context_tokens": "tokens handed to the answerer (a cost)",
    "em": "answer text equals a gold alias after normalisation",
    "f1": "token overlap between the answer and the best gold alias",
    "containment": "the answer contains a gold alias",
    "token_recall": "share of the gold alias's tokens present in the answer",
    "citation_validity": "cited numbers refer to passages that were shown",
    "citation_precision": "cited passages that cover gold evidence",
    "citation_recall": "gold evidence spans that some citation covers",
    "supported_answer": "every answer sentence is backed by its cited passage",
    "supported_sentences": "share of answer sentences backed by their cited passage",
    "noans_accuracy": "unanswerable questions abstained on",
    "false_abstention": "answerable questions abstained on (lower is better)",
    "crag_score": "+1 correct, 0 abstained, -1 wrong (CRAG)",
    "accuracy": "correct: answered with a gold alias, or abstained when unanswerable",
    "answer_tokens": "length of the answer (a cost)",
}
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


def answerer_note(cfg: dict, m: dict) -> str:
    """What the headline numbers mean for the answerer that produced them."""
    if cfg.get("answerer") == "extractive":
        return ("**Reading these numbers for the extractive answerer**: its answers are whole "
                f"sentences quoted from the articles, so EM ({_fmt(m.get('em'))}) and F1 "
                f"({_fmt(m.get('f1'))}) against short gold answers are low by construction (a "
                "25-word sentence that contains a 2-word answer scores F1 about 0.15). Read "
                "**containment** (the sentence holds a gold alias) and **accuracy** for "
                "correctness, and the citation rows for whether the quote is the right one. "
                "Abstention is a confidence threshold (see the curve and `abstain_threshold`).")
    return ("**Reading these numbers for an LLM answerer**: answers are free text, so EM and F1 "
            "reward short, exact answers and penalise longer correct ones; containment and "
            "accuracy are the correctness measures, and supported_* say whether the cited "
            "passages back each sentence. Abstention is the model's own NO_ANSWER.")


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _at(name: str, k: int) -> str:
    return f"{name}@{k}" if name in metrics.RETRIEVAL else name


def _link(text: str, href: str) -> tuple:
    return ("link", text, href)


def blocks(summary: dict, records: Sequence[dict], plots, judge: dict | None,
           comparison: dict | None = None, compared_with: str | None = None) -> list[tuple]:
    cfg, m, n = summary["config"], summary["metrics"], summary["counts"]
    labels = summary["labels"]
    b: list[tuple] = [("h1", f"Evaluation: {summary['n']} questions"),
                      ("p", "Labels: " + ", ".join(f"{lab} {labels.get(lab, 0)}" for lab in LABELS)
                       + ". The per-question table is at the end; each failure opens to the "
                       "passages the answerer was shown.")]
    b += [("h2", "Settings"),
          ("table", ["setting", "value"], [[k, _fmt(v)] for k, v in cfg.items()
                                           if k != "normalisation"])]
    b += [("h2", "What the metrics mean"), ("p", answerer_note(cfg, m))]
    b += [("p", d.format(**cfg)) for d in DEFINITIONS]
    for title, names in GROUPS.items():
        b.append(("h2", title))
        b.append(("table", ["metric", "value", "n", "meaning"],
                  [[_at(x, cfg["k"]), _fmt(m[x]), str(n[x]), MEANING.get(x, "")] for x in names]))
    kinds = list(summary["by_kind"])
    b.append(("h2", "By kind"))
    b.append(("table", ["metric"] + [f"{k} (n={summary['by_kind'][k]['n']})" for k in kinds],
              [[_at(x, cfg["k"])] + [_fmt(summary["by_kind"][k]["metrics"][x]) for k in kinds]
               for x in metrics.METRICS]))
    b.append(("h2", "Failure labels (first that applies, in this order)"))
    b.append(("table", ["label", "questions", "meaning", "ids"],
              [[lab, _link(str(labels.get(lab, 0)), f"#label={lab}"), LABEL_MEANING[lab],
                ("ids", [_link(r["id"], f"#q-{r['id']}") for r in records
                         if r["label"] == lab and lab != "ok"])]
               for lab in LABELS]))
    if comparison is not None:
        b += comparison_blocks(comparison, compared_with or "the baseline")
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
    b.append(("h2", "Questions"))
    b.append(("p", "report.html lists every question; filter by label, kind or text. A failure opens to the "
                    "passages the answerer was shown: the gold evidence is yellow, the sentence "
                    "the citation points to is blue, green where they overlap. Evidence rank: "
                    "the rank of the first passage covering the gold evidence (- when none does)."))
    b.append(("questions", list(records)))
    return b


def comparison_blocks(cmp: dict, other: str, this: str = "this run",
                      links: bool = True) -> list[tuple]:
    """Flips and paired differences (`this` = B against `other` = A). `links`: question ids
    link to their rows, which a run's report has and a comparison's alone has not."""
    ids = lambda xs: ([_link(i, f"#q-{i}") if links else i for i in xs]  # noqa: E731
                      or ["-"])
    b: list[tuple] = [("h2", f"Compared with {other}"),
                      ("p", f"{cmp['n_paired']} questions paired by id; A = {other}, B = {this}. "
                       f"Exact McNemar p = {cmp['mcnemar_p']:.4g} on the flips; the intervals are "
                       "95% paired-bootstrap CIs of B - A.")]
    if cmp["config_changes"]:
        b.append(("table", ["setting", "A", "B"],
                  [[k, _fmt(x), _fmt(y)] for k, (x, y) in cmp["config_changes"].items()]))
    b.append(("table", ["flip", "n", "questions"],
              [["right -> wrong", str(len(cmp["right_to_wrong"])), ("ids", ids(cmp["right_to_wrong"]))],
               ["wrong -> right", str(len(cmp["wrong_to_right"])), ("ids", ids(cmp["wrong_to_right"]))]]))
    b.append(("table", ["metric", "A", "B", "B - A", "95% CI", "n"],
              [[name, _fmt(r["a"]), _fmt(r["b"]), f"{r['diff']:+.3f}",
                f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]", str(r["n"])]
               for name, r in cmp["metrics"].items()]))
    return b


# --------------------------------------------------------------------------- rendering
def _cell_md(c) -> str:
    # Our own cells (metric names, numbers, settings) only need the table kept intact and HTML
    # kept out; ids come from the Q&A file and get the full escaping.
    if isinstance(c, tuple) and c[0] == "link":
        return questions_view.md_text(c[1])
    if isinstance(c, tuple) and c[0] == "ids":
        return ", ".join(_cell_md(x) for x in c[1])
    return " ".join(c.split()).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def _cell_html(c) -> str:
    if isinstance(c, tuple) and c[0] == "link":
        return f"<a href='{html.escape(c[2])}'>{html.escape(c[1])}</a>"
    if isinstance(c, tuple) and c[0] == "ids":
        return ", ".join(_cell_html(x) for x in c[1]) or "-"
    return html.escape(c)


def _bold(escaped: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)


def to_markdown(bs: list[tuple]) -> str:
    out = []
    for kind, *rest in bs:
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + _cell_md(rest[0]))
        elif kind == "p":
            out.append(rest[0])   # our own prose (bold marks kept); no document text
        elif kind == "table":
            head, rows = rest
            out.append("\n".join(["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
                                 + ["| " + " | ".join(_cell_md(c) for c in r) + " |"
                                    for r in rows]))
        elif kind == "img":
            out.append(f"![{rest[1]}]({rest[0]})")
        elif kind == "questions":
            out.append("Failures (report.html has every question, with the passages):\n\n"
                       + questions_view.rows_md(rest[0]))
    return "\n\n".join(out) + "\n"


def to_html(bs: list[tuple], out_dir: Path) -> str:
    e = html.escape
    parts = ["<!doctype html><meta charset='utf-8'><title>RAG evaluation</title>"
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"><style>"
             "body{font-family:sans-serif;max-width:90em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:left}" + questions_view.CSS + "</style>"]
    for kind, *rest in bs:
        if kind in ("h1", "h2"):
            anchor = re.sub(r"[^a-z]+", "-", rest[0].lower()).strip("-")
            parts.append(f"<{kind} id='{anchor}'>{e(rest[0])}</{kind}>")
        elif kind == "p":
            parts.append("<p>" + _bold(e(rest[0])) + "</p>")
        elif kind == "table":
            head, rows = rest
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in r)
                                   + "</tr>" for r in rows) + "</table>")
        elif kind == "img":
            data = base64.b64encode((out_dir / rest[0]).read_bytes()).decode()
            parts.append(f"<figure><img alt='{e(rest[1])}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{e(rest[1])}</figcaption></figure>")
        elif kind == "questions":
            parts.append(questions_view.rows_html(rest[0]))
    parts.append(f"<script>{questions_view.SCRIPT}</script>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- files
def write_comparison(cmp: dict, out, a: str, b: str) -> Path:
    """`rag eval --compare A B`'s reports in `out` (created): comparison.json (eval.compare's
    result), report.md and report.html (config changes, flips, paired differences)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps({"a": a, "b": b, **cmp}, indent=1,
                                                    ensure_ascii=False) + "\n", encoding="utf-8")
    bs = [("h1", "RAG evaluation: comparison"), *comparison_blocks(cmp, a, b, links=False)]
    (out / "report.md").write_text(to_markdown(bs), encoding="utf-8")
    (out / "report.html").write_text(to_html(bs, out), encoding="utf-8")
    return out


def write_run(run, out, judge: dict | None = None, comparison: dict | None = None,
              compared_with: str | None = None) -> Path:
    """Write every output of a run into `out` (created); returns the directory. With a
    `comparison` (eval.compare.compare(other, this run)), the flips and paired differences go
    into both reports."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = dict(run.summary, judge=judge) if judge else run.summary
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    with open(out / "questions.jsonl", "w", encoding="utf-8") as f:
        for r in run.records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if comparison is not None:
        (out / "comparison.json").write_text(json.dumps(
            {"compared_with": compared_with, **comparison}, indent=1) + "\n", encoding="utf-8")
    plots = write_plots(run.summary, run.records, out)
    bs = blocks(run.summary, run.records, plots, judge, comparison, compared_with)
    (out / "report.md").write_text(to_markdown(bs), encoding="utf-8")
    (out / "report.html").write_text(to_html(bs, out), encoding="utf-8")
    return out

"""Sweep chunk size x k x retrieval mode x embedder on retrieval-only metrics.

Each (embedder, chunk size) gets its own temporary store built with the real ingest pipeline,
since chunking happens at ingest time. Only retrieval is run: it is what these knobs change, and
it keeps the sweep to seconds. Context tokens sit beside every quality number, because bigger
chunks and larger k raise hit@k trivially.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Sequence

from eval import metrics
from eval.dataset import evidence_spans
from eval.run import prepare

COLUMNS = ("embedder", "chunk_tokens", "mode", "k") + metrics.RETRIEVAL + ("retrieve_p50_ms",)


def _chunk_settings(settings, embedder: str, chunk_tokens: int, store: Path):
    # The configured overlap may not fit a small chunk; keep the same share of it then.
    overlap = settings.chunk_overlap if settings.chunk_overlap < chunk_tokens else chunk_tokens // 5
    return settings.with_(embedder=embedder, store=store, chunk_tokens=chunk_tokens,
                          chunk_overlap=overlap)


def _query(engine, item) -> str:
    # A follow-up is retrieved with the rewritten question, as the engine does when asked.
    return engine.rewrite(item.question, list(item.history)) if item.history else item.question


def score_config(engine, items, spans, k: int, mode: str) -> dict:
    from rag.tokens import count
    scores, times = [], []
    for item in items:
        t0 = time.perf_counter()
        passages = [p.to_dict() for p in engine.retrieve(_query(engine, item), k=k, mode=mode)]
        times.append((time.perf_counter() - t0) * 1000)
        scores.append(metrics.retrieval_scores(passages, spans[item.id], item.answers, k, count))
    means, _ = metrics.mean_scores(scores, metrics.RETRIEVAL)
    return {**means, "retrieve_p50_ms": metrics.percentile(times, 50)}


def run_sweep(settings, qa_path, *, chunk_sizes: Sequence[int], ks: Sequence[int],
              modes: Sequence[str], embedders: Sequence[str], progress: bool = True) -> list[dict]:
    """One row per configuration, in loop order."""
    from tqdm import tqdm

    from ingest.pipeline import ingest_paths
    from rag.embed import make_embedder
    from rag.engine import Engine
    items, texts = prepare(qa_path, settings.corpus)
    spans = {it.id: evidence_spans(it, texts) for it in items}
    rows = []
    bar = tqdm(total=len(embedders) * len(chunk_sizes) * len(modes) * len(ks), desc="sweep",
               disable=not progress)
    for emb_name in embedders:
        embedder = make_embedder(settings.with_(embedder=emb_name))   # loaded once per embedder
        for size in chunk_sizes:
            with tempfile.TemporaryDirectory(prefix="rag-sweep-") as tmp:
                s = _chunk_settings(settings, emb_name, size, Path(tmp) / "store")
                ingest_paths([s.corpus], s, progress=False, embedder=embedder)
                with Engine(s.with_(answerer="extractive"), embedder=embedder) as engine:
                    for mode in modes:
                        for k in ks:
                            rows.append({"embedder": emb_name, "chunk_tokens": size,
                                         "mode": mode, "k": k,
                                         **score_config(engine, items, spans, k, mode)})
                            bar.update(1)
    bar.close()
    return rows


def table(rows: Sequence[dict]) -> str:
    """A Markdown table, one row per configuration."""
    def cell(v):
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
    head = [c.replace("context_tokens", "ctx_tokens") for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: Sequence[dict], path: Path) -> None:
    """hit@k against context tokens; one line per (embedder, mode, chunk size) across k."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["embedder"], r["mode"], r["chunk_tokens"]), []).append(r)
    for (emb, mode, size), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["k"])
        ax.plot([r["context_tokens"] for r in rs],
                [float("nan") if r["hit"] is None else r["hit"] for r in rs],
                marker="o", label=f"{mode} {size}t {emb}")
        for r in rs:
            ax.annotate(f"k={r['k']}", (r["context_tokens"], r["hit"] or 0), fontsize=6)
    ax.set_xlabel("context tokens handed to the answerer (mean)")
    ax.set_ylabel("hit@k")
    ax.set_ylim(0, 1.05)
    ax.set_title("Retrieval quality against context size")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_sweep(rows: Sequence[dict], out, config: dict) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"config": config, "rows": list(rows)}, indent=1)
                                    + "\n", encoding="utf-8")
    plot(rows, out / "sweep.png")
    (out / "sweep.md").write_text(
        f"# Sweep (retrieval only, {config['qa']})\n\n{table(rows)}\n\n"
        "hit, mrr, evidence_recall, ndcg and answer_in_context at each row's k, over answerable "
        "questions; ctx_tokens is the mean number of tokens in the top k.\n\n"
        "![hit@k against context tokens](sweep.png)\n", encoding="utf-8")
    return out

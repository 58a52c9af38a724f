"""Sweep chunk size x k x retrieval mode x dense weight x embedder on retrieval-only metrics.

Each (embedder, chunk size) gets its own temporary store built with the real ingest pipeline,
since chunking happens at ingest time. Only retrieval is run: it is what these knobs change, and
it keeps the sweep to seconds. Context tokens sit beside every quality number, because bigger
chunks and larger k raise hit@k trivially. sweep.json records every setting held fixed and the
one command that reproduces the table.
"""
from __future__ import annotations

import hashlib
import json
import shlex
import tempfile
import time
from pathlib import Path
from typing import Sequence

from eval import metrics
from eval.dataset import evidence_spans
from eval.run import prepare

COLUMNS = (("embedder", "chunk_tokens", "mode", "dense_weight", "k") + metrics.RETRIEVAL
           + ("retrieve_p50_ms",))


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
    kinds = sorted({it.kind for it in items})
    by_kind = {kd: metrics.mean_scores([s for s, it in zip(scores, items) if it.kind == kd],
                                       ("hit", "mrr"))[0] for kd in kinds}
    return {**means, "retrieve_p50_ms": metrics.percentile(times, 50), "by_kind": by_kind}


def _weights(mode: str, dense_weights: Sequence[float]) -> list[float | None]:
    # The weight only exists in hybrid fusion; bm25 and dense rows get one row each.
    return list(dense_weights) if mode == "hybrid" else [None]


def run_sweep(settings, qa_path, *, chunk_sizes: Sequence[int], ks: Sequence[int],
              modes: Sequence[str], embedders: Sequence[str],
              dense_weights: Sequence[float] | None = None, progress: bool = True) -> list[dict]:
    """One row per configuration, in loop order."""
    dense_weights = list(dense_weights or [settings.dense_weight])
    from tqdm import tqdm

    from ingest.pipeline import ingest_paths
    from rag.embed import make_embedder
    from rag.engine import Engine
    items, texts = prepare(qa_path, settings.corpus)
    spans = {it.id: evidence_spans(it, texts) for it in items}
    rows = []
    per_size = sum(len(_weights(m, dense_weights)) for m in modes) * len(ks)
    bar = tqdm(total=len(embedders) * len(chunk_sizes) * per_size, desc="sweep",
               disable=not progress)
    for emb_name in embedders:
        embedder = make_embedder(settings.with_(embedder=emb_name))   # loaded once per embedder
        for size in chunk_sizes:
            with tempfile.TemporaryDirectory(prefix="rag-sweep-") as tmp:
                s = _chunk_settings(settings, emb_name, size, Path(tmp) / "store")
                ingest_paths([s.corpus], s, progress=False, embedder=embedder)
                for mode in modes:
                    for w in _weights(mode, dense_weights):
                        sw = s.with_(answerer="extractive", dense_weight=w)
                        with Engine(sw, embedder=embedder) as engine:
                            for k in ks:
                                rows.append({"embedder": emb_name, "chunk_tokens": size,
                                             "mode": mode, "dense_weight": w, "k": k,
                                             **score_config(engine, items, spans, k, mode)})
                                bar.update(1)
    bar.close()
    return rows


def _cell(v, column: str = "") -> str:
    if v is None:
        return "-"
    if column == "dense_weight":       # a setting, shown as it is typed
        return f"{v:g}"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def table(rows: Sequence[dict]) -> str:
    """A Markdown table, one row per configuration."""
    head = [c.replace("context_tokens", "ctx_tokens") for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(r[c], c) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: Sequence[dict], path: Path) -> None:
    """hit@k against context tokens; one line per (embedder, mode, chunk size) across k."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["embedder"], r["mode"], r["chunk_tokens"], r.get("dense_weight")),
                          []).append(r)
    for (emb, mode, size, w), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["k"])
        ax.plot([r["context_tokens"] for r in rs],
                [float("nan") if r["hit"] is None else r["hit"] for r in rs],
                marker="o", label=f"{mode}{'' if w is None else f' w={w:g}'} {size}t {emb}")
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


def fixed_settings(settings, qa_path) -> dict:
    """Everything that can move a retrieval score and is not an axis of the sweep."""
    from eval.run import _shown
    return {"qa": _shown(qa_path),
            "qa_sha256": hashlib.sha256(Path(qa_path).read_bytes()).hexdigest(),
            "corpus": _shown(settings.corpus), "store": "fresh per (embedder, chunk size)",
            "chunk_overlap": (f"{settings.chunk_overlap} (chunk_tokens // 5 where it does not "
                              f"fit)"),
            "openai_embed_model": settings.openai_embed_model,
            "retrieval": "the engine's retrieve(): follow-ups rewritten from their history",
            "scored": "answerable questions; relevance as in rag eval (half an evidence span)"}


def reproduce_command(settings, qa_path, axes: dict) -> str:
    """The one command that gives this table again (environment first for fixed settings)."""
    from eval.run import _shown
    from rag.settings import default_corpus
    env = []
    if Path(settings.corpus).resolve() != default_corpus().resolve():
        env.append(f"RAG_CORPUS={shlex.quote(str(settings.corpus))}")
    if settings.chunk_overlap != 40:
        env.append(f"RAG_CHUNK_OVERLAP={settings.chunk_overlap}")
    if "openai" in axes["embedder"]:
        env.append(f"RAG_EMBED_MODEL={shlex.quote(settings.openai_embed_model)}")
    fmt = lambda xs: " ".join(shlex.quote(f"{x:g}" if isinstance(x, float) else str(x))  # noqa: E731
                              for x in xs)
    return " ".join(env + [
        "rag eval sweep", f"--qa {shlex.quote(_shown(qa_path))}",
        f"--chunk-tokens {fmt(axes['chunk_tokens'])}", f"-k {fmt(axes['k'])}",
        f"--modes {fmt(axes['mode'])}", f"--dense-weights {fmt(axes['dense_weight'])}",
        f"--embedders {fmt(axes['embedder'])}"])


def kind_table(rows: Sequence[dict]) -> str:
    """hit@k by question kind, one row per configuration."""
    kinds = sorted({kd for r in rows for kd in r.get("by_kind", {})})
    cfg = ("embedder", "chunk_tokens", "mode", "dense_weight", "k")
    lines = ["| " + " | ".join(cfg + tuple(f"hit {kd}" for kd in kinds)) + " |",
             "|" + " --- |" * (len(cfg) + len(kinds))]
    lines += ["| " + " | ".join([_cell(r[c], c) for c in cfg]
                                + [_cell(r["by_kind"].get(kd, {}).get("hit")) for kd in kinds]) + " |"
              for r in rows]
    return "\n".join(lines)


def write_sweep(rows: Sequence[dict], out, settings, qa_path, axes: dict) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {"axes": axes, "fixed": fixed_settings(settings, qa_path),
              "command": reproduce_command(settings, qa_path, axes)}
    (out / "sweep.json").write_text(json.dumps({"config": config, "rows": list(rows)}, indent=1)
                                    + "\n", encoding="utf-8")
    plot(rows, out / "sweep.png")
    fixed = "\n".join(f"- {k}: {v}" for k, v in config["fixed"].items())
    (out / "sweep.md").write_text(
        f"# Sweep (retrieval only, {config['fixed']['qa']})\n\n"
        f"Reproduce: `{config['command']}`\n\nHeld fixed:\n\n{fixed}\n\n{table(rows)}\n\n"
        f"By kind:\n\n{kind_table(rows)}\n\n"
        "hit, mrr, evidence_recall, ndcg and answer_in_context at each row's k, over answerable "
        "questions; ctx_tokens is the mean number of tokens in the top k.\n\n"
        "![hit@k against context tokens](sweep.png)\n", encoding="utf-8")
    return out

"""Run a Q&A file through the same `Engine` users talk to, time it, and score every answer.

This is the only eval module that calls the engine; scoring is delegated to `eval.metrics`,
which sees nothing but answer dicts, Q&A items and evidence spans.
"""
from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from eval import metrics
from eval.dataset import QAItem, evidence_spans, lint, load_qa, load_texts

DEFAULT_QA = Path(__file__).resolve().parent / "data" / "qa.jsonl"
NORMALISATION = ("SQuAD v1.1 (lowercase, punctuation, articles, whitespace) plus the declared "
                 "number extension of eval.normalize (\"ten\" -> \"10\", \"2,600\" -> \"2600\", "
                 "\"$5m\" -> \"5 million dollars\"); aliases matched at token boundaries")


class EvalError(RuntimeError):
    """The engine failed on a question; the message names it."""


class LintFailed(Exception):
    """The Q&A file does not match the articles; nothing was run."""

    def __init__(self, path, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Run:
    config: dict
    records: list[dict]      # one per question, the lines of questions.jsonl
    summary: dict            # summary.json


def prepare(qa_path, corpus) -> tuple[list[QAItem], dict[str, str]]:
    """Load and lint: raises DatasetError (format, with the line) or LintFailed (vs articles)."""
    items = load_qa(qa_path)
    texts = load_texts(corpus)
    problems = lint(items, texts)
    if problems:
        raise LintFailed(qa_path, problems)
    return items, texts


def corpus_files(corpus) -> list[Path]:
    return [p for p in sorted(Path(corpus).iterdir()) if p.is_file() and not p.name.startswith(".")]


@contextlib.contextmanager
def fresh_store(settings, progress: bool = False) -> Iterator:
    """Settings pointing at a temporary store built from the corpus alone, so results do not
    depend on whatever else a user has ingested (the gate and the baseline need that)."""
    from ingest.pipeline import ingest_paths
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        s = settings.with_(store=Path(tmp) / "store")
        ingest_paths(corpus_files(settings.corpus), s, progress=progress)
        yield s


def _shown(path) -> str:
    # Paths inside the project are recorded relative to it, so a committed baseline is portable.
    from rag.settings import PROJECT_ROOT
    p = Path(path).resolve()
    return str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)


def config_of(settings, qa_path, fresh: bool, answerer=None) -> dict:
    """Every setting that can change a score, with the value in force (`answerer`: the one the
    engine built, whose own defaults, e.g. the abstention threshold, are then recorded too)."""
    llm = settings.resolved_answerer == "llm"
    threshold = settings.abstain_threshold
    if threshold is None:   # the answerer's own default (the extractive one keeps it in params)
        threshold = getattr(answerer, "threshold", None)
        threshold = getattr(getattr(answerer, "params", None), "threshold", threshold)
    return {
        "qa": _shown(qa_path), "qa_sha256": hashlib.sha256(Path(qa_path).read_bytes()).hexdigest(),
        "corpus": _shown(settings.corpus), "store": "fresh" if fresh else str(settings.store),
        "k": settings.k, "retriever": settings.retriever, "dense_weight": settings.dense_weight,
        "answerer": settings.resolved_answerer, "embedder": settings.embedder,
        "embed_model": settings.openai_embed_model if settings.embedder == "openai" else None,
        "chunk_tokens": settings.chunk_tokens, "chunk_overlap": settings.chunk_overlap,
        "llm_model": settings.llm_model if llm else None,
        "llm_context_window": settings.llm_context_window if llm else None,
        "abstain_threshold": threshold, "normalisation": NORMALISATION,
    }


def ask_all(engine, items: Sequence[QAItem], k: int, progress: bool) -> list[tuple[dict, float]]:
    """(answer dict, wall ms) per item, in order, with a progress bar on stderr."""
    from tqdm import tqdm
    # The first call pays for lazy model loading; keep that out of the latency percentiles.
    engine.retrieve(items[0].question, k=1)
    out = []
    for item in tqdm(items, desc="eval", unit="q", disable=not progress):
        t0 = time.perf_counter()
        try:
            answer = engine.ask(item.question, k=k, history=list(item.history) or None)
        except Exception as e:   # re-raised with the question named: which one broke matters
            raise EvalError(f"question {item.id} (line {item.line}) failed: "
                            f"{type(e).__name__}: {e}") from e
        wall = (time.perf_counter() - t0) * 1000
        out.append((answer.to_dict(), wall))
    return out


def record(item: QAItem, answer: dict, spans, k: int, wall_ms: float) -> dict:
    from rag.tokens import count
    conf = answer.get("confidence")
    if conf is not None:   # answerers may hand over a numpy scalar, which JSON cannot write
        answer = {**answer, "confidence": float(conf)}
    scores = metrics.score_question(answer, item, spans, k, count)
    label = scores.pop("label")
    return {
        "id": item.id, "question": item.question, "kind": item.kind,
        "answerable": item.answerable, "pinned": item.pinned, "answers": list(item.answers),
        "spans": [list(s) for s in spans], "correct": bool(scores["accuracy"]), "label": label,
        "confidence": answer.get("confidence"),
        "timings_ms": {**answer.get("timings_ms", {}), "wall": round(wall_ms, 3)},
        "scores": scores, "answer": answer,
    }


def summarize(records: Sequence[dict], config: dict) -> dict:
    """summary.json: every metric overall and by kind, with the counts they average over."""
    scores = [r["scores"] for r in records]
    means, counts = metrics.mean_scores(scores)
    by_kind = {}
    for kind in sorted({r["kind"] for r in records}):
        sub = [r["scores"] for r in records if r["kind"] == kind]
        by_kind[kind] = {"n": len(sub), "metrics": metrics.mean_scores(sub)[0]}
    return {
        "n": len(records), "config": config, "metrics": means, "counts": counts,
        "by_kind": by_kind, "labels": dict(Counter(r["label"] for r in records)),
        "latency_ms": metrics.latency([r["timings_ms"] for r in records]),
        "hit_curve": metrics.hit_curve(scores, config["k"]),
        "threshold_curve": metrics.threshold_curve(
            [(r["answerable"], r["answer"]["abstained"], r["confidence"]) for r in records]),
    }


def eval_settings(settings, *, k=None, retriever=None, answerer=None):
    """Offline by default: the extractive answerer unless one is named, so an OPENAI_* variable
    in the environment never silently changes what a run (or the gate) measures."""
    return settings.with_(k=k, retriever=retriever, answerer=answerer or "extractive")


def run_eval(settings, qa_path=DEFAULT_QA, *, fresh: bool = False, progress: bool = True,
             engine=None) -> Run:
    """Lint, then ask every question, then score. `settings` are used as given (see
    `eval_settings`); `engine` may be passed in to reuse one already open."""
    items, texts = prepare(qa_path, settings.corpus)
    spans = {it.id: evidence_spans(it, texts) for it in items}
    with contextlib.ExitStack() as stack:
        if engine is None:
            from rag.engine import Engine
            s = stack.enter_context(fresh_store(settings, progress)) if fresh else settings
            # Closed before the temporary store is deleted (the stack unwinds in reverse).
            engine = stack.enter_context(Engine(s))
        answers = ask_all(engine, items, settings.k, progress)
        config = config_of(settings, qa_path, fresh, getattr(engine, "answerer", None))
    records = [record(it, a, spans[it.id], settings.k, wall)
               for it, (a, wall) in zip(items, answers)]
    return Run(config, records, summarize(records, config))

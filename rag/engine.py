"""The engine: opens the store, embedder, BM25 index, retriever and answerer once; answers many
questions. It is wiring only: condense -> retrieve -> answer -> verify (highlight the supporting
sentence of each citation). Which retriever and answerer is a name in rag/registry.py.

One Engine may serve several sessions: it holds no per-conversation state (history is passed
in). Its parts are read-only; when an ingest changes the store, `refresh` replaces them whole
(each attribute swap is atomic, so a concurrent question sees the old parts or the new ones).
"""
from __future__ import annotations

import threading
import time
from typing import Iterator, Sequence

from .answer import consume
from .bm25 import ensure_bm25
from .embed import Embedder
from .registry import Parts, make_answerer, make_embedder, make_retriever
from .retrieve import Retriever, as_passages
from .settings import Settings
from .store import Store, version
from .types import Answer, Passage


def check_question(question: object, limit: int) -> str:
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, got {type(question).__name__}")
    q = question.strip()
    if not q:
        raise ValueError("the question is empty: ask something about the articles")
    if len(q) > limit:
        raise ValueError(f"the question is {len(q):,} characters long; the limit is {limit:,}. "
                         f"Ask a shorter question (or raise RAG_MAX_QUESTION_CHARS).")
    return q


class Engine:
    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, answerer=None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self._given_answerer = answerer
        # One LLM client for the answerer and the condenser, so a broken server is reported once.
        self.llm = _llm_client(settings)
        self._log_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self.closed = False
        self._open()

    def close(self) -> None:
        """Release the LLM client's connections and drop the store, index and answerer (an
        eval's temporary store can then be deleted). Closing twice is harmless."""
        if self.closed:
            return
        self.closed = True
        if self.llm is not None:
            self.llm.close()
        if (close := getattr(self.store, "close", None)) is not None:
            close()
        self.store = self.bm25 = self.parts = self.retriever = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> None:
        self._version = version(self.settings.store)
        self.store = Store(self.settings.store, self.embedder.name,
                           chroma_url=self.settings.chroma_url)
        self.bm25 = ensure_bm25(self.store)
        self.parts = Parts(embedder=self.embedder, store=self.store, bm25=self.bm25, llm=self.llm)
        self.retriever = make_retriever(self.settings.retriever, self.settings, self.parts)
        self.answerer = self._given_answerer or make_answerer(
            self.settings.resolved_answerer, self.settings, self.parts)

    def refresh(self) -> None:
        """Reopen the store if an ingest changed it since (one small file read per question),
        so a long-running engine never answers from a stale or replaced index."""
        _check_open(self)
        if version(self.settings.store) != self._version:
            with self._reload_lock:
                if version(self.settings.store) != self._version:
                    self._open()

    # --- retrieval ---------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None, mode: str | None = None, *,
                 where=None) -> list[Passage]:
        """`mode`: a name in rag.registry.RETRIEVERS (default: settings.retriever); `where`: a
        metadata filter in Chroma's syntax, applied inside the retriever (rag/retrieve.py)."""
        return self._retrieve(check_question(question, self.settings.max_question_chars),
                              self._k(k), mode, where=where)

    def _retrieve(self, q: str, k: int, mode: str | None = None,
                  timings: dict[str, float] | None = None, where=None) -> list[Passage]:
        self.refresh()
        return as_passages(self.retriever_for(mode).search(q, k, where=where, timings=timings))

    def retriever_for(self, mode: str | None = None) -> Retriever:
        """The configured retriever, or another registered one over the same open parts."""
        if mode is None or mode == self.settings.retriever:
            return self.retriever
        return make_retriever(mode, self.settings, self.parts)

    def _k(self, k: int | None) -> int:
        if k is None:
            return self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
            raise ValueError(f"k must be a whole number from 1 to 100, got {k!r}")
        return k

    # --- answering ---------------------------------------------------------------------------
    def stream(self, question: str, *, k: int | None = None,
               history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
        """Yields text as it is produced, then the final Answer (with timings)."""
        t0 = time.perf_counter()
        _check_open(self)
        q = check_question(question, self.settings.max_question_chars)
        k = self._k(k)
        stages: dict[str, float] = {}
        rewritten = self.rewrite(q, history) if history else None
        stages["condense"] = (time.perf_counter() - t0) * 1000
        if rewritten == q:
            rewritten = None
        # The rewrite is ours, not the user's: it is not held to the question-length limit.
        passages = self._retrieve(rewritten or q, k, timings=stages)
        t1 = time.perf_counter()
        for item in self.answerer.stream(q, passages, rewritten=rewritten):
            if isinstance(item, Answer):
                t2 = time.perf_counter()
                timings = {**stages, "retrieve": (t1 - t0) * 1000,
                           "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}
                final = _with_timings(item, timings)
                if self.settings.answer_log:
                    self._log(final)
                yield final
                return
            yield item

    def ask(self, question: str, *, k: int | None = None,
            history: Sequence[dict] | None = None) -> Answer:
        return consume(self.stream(question, k=k, history=history),
                       f"answerer {self.answerer.name!r}")

    def rewrite(self, question: str, history: Sequence[dict]) -> str:
        from .condense import condense
        return condense(question, history, llm=self.llm)

    def stats(self) -> dict:
        return self.store.stats()

    def _log(self, answer: Answer) -> None:
        """One JSON line per answer: question, rewrite, passages and scores, answerer, citation
        verdicts, timings. It serves debugging and evaluation alike, with no extra service."""
        import json
        s = self.settings
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **answer.to_dict(),
                  "config": {"store": str(s.store), "embedder": self.embedder.name,
                             "retriever": s.retriever, "k": s.k, "dense_weight": s.dense_weight}}
        with self._log_lock, open(s.answer_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _check_open(engine: Engine) -> None:
    if engine.closed:
        raise RuntimeError("this Engine is closed; open a new one to ask more questions")


def _llm_client(settings: Settings):
    if settings.resolved_answerer != "llm":
        return None
    from .llm_client import LLMClient
    return LLMClient(settings)


def _with_timings(answer: Answer, timings: dict[str, float]) -> Answer:
    from dataclasses import replace

    from .highlight import highlights
    return replace(answer, timings={**answer.timings, **timings}, highlights=highlights(answer))

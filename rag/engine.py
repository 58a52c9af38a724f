"""The engine: opens the store, embedder, BM25 index, retriever and answerer once; answers many
questions. It is wiring only: condense -> retrieve -> answer -> verify (highlight the supporting
sentence of each citation). Which retriever and answerer is a name in rag/registry.py.

One Engine may serve several sessions: it holds no per-conversation state (history is passed
in). Its parts (store generation, BM25 index, retriever, answerer) form one read-only snapshot.
When an ingest, remove or rebuild publishes a new generation, `refresh` builds a new snapshot
and swaps it in with one assignment; each question takes the snapshot once and uses only it, so
it is answered from the old index or the new one, never a mix. The old snapshot's lease on its
generation is dropped when the last question using it finishes (see `rag.generations`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import date
from typing import Iterator, Sequence

from .answer import consume
from .bm25 import ensure_bm25
from .embed import Embedder
from .news import annotate, filters, newest_date, question_scope, scope_passages
from .registry import Parts, make_answerer, make_embedder, make_retriever
from .retrieve import CANDIDATES, Retriever, as_passages
from .settings import Settings
from .store import Store, StoreError, version
from .types import Answer, Passage
from .when import When

log = logging.getLogger(__name__)


def check_question(question: object, limit: int) -> str:
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, got {type(question).__name__}")
    q = valid_text(question).strip()
    if not q:
        raise ValueError("the question is empty: ask something about the articles")
    if len(q) > limit:
        raise ValueError(f"the question is {len(q):,} characters long; the limit is {limit:,}. "
                         f"Ask a shorter question (or raise RAG_MAX_QUESTION_CHARS).")
    return q


_CONTROLS = {c: " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def valid_text(text: str) -> str:
    """Text every tokenizer, JSON writer and terminal accepts. A lone surrogate (a non-UTF-8
    byte in a shell argument arrives as one, since Python decodes argv with surrogateescape)
    becomes U+FFFD, a split surrogate pair is joined; control characters become spaces."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.translate(_CONTROLS)


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
        snap, self._snap = self._snap, _CLOSED
        snap.store.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> None:
        self._snap = self._load()

    def _load(self) -> "_Snapshot":
        ver = version(self.settings.store)
        store = Store(self.settings.store, self.embedder.name,
                      chroma_url=self.settings.chroma_url)
        try:
            return self._parts(ver, store)
        except (StoreError, ValueError):
            store.close()
            raise
        except Exception as e:     # Chroma's errors for a damaged folder
            store.close()
            raise StoreError(f"the index at {store.path} cannot be read ({type(e).__name__}: "
                             f"{str(e)[:200]}). Nothing was changed. Re-index it with "
                             f"`rag ingest --rebuild --store {store.path} PATH`, or see "
                             f"`rag doctor --store {store.path}`.") from None

    def _parts(self, ver: str, store: Store) -> "_Snapshot":
        if store.partial:
            log.warning("the first ingest into %s has not finished; answering from the %d "
                        "file(s) indexed so far. Run `rag ingest` again to complete it.",
                        store.path, len(store.sources()))
        bm25 = ensure_bm25(store)
        parts = Parts(embedder=self.embedder, store=store, bm25=bm25, llm=self.llm)
        retriever = make_retriever(self.settings.retriever, self.settings, parts)
        answerer = self._given_answerer or make_answerer(
            self.settings.resolved_answerer, self.settings, parts)
        log.info("opened the index at %s (embedder %s, answerer %s)", store.path,
                 self.embedder.name, answerer.name)
        return _Snapshot(ver, store, bm25, parts, retriever, answerer, store.count() == 0)

    def refresh(self) -> None:
        """Swap in the live generation if a writer published one since (one small file read
        per question), so a long-running engine never answers from a replaced index."""
        _check_open(self)
        if version(self.settings.store) == self._snap.version:
            return
        with self._reload_lock:
            if version(self.settings.store) != self._snap.version:
                log.info("the index at %s changed since it was opened; reopening",
                         self.settings.store)
                try:
                    self._snap = self._load()
                except StoreError as e:   # a damaged new generation: keep answering from ours
                    log.warning("could not open the new index generation (%s); still answering "
                                "from the previous one", e)

    def snapshot(self) -> "_Snapshot":
        self.refresh()
        return self._snap

    # One consistent view for callers that read parts directly (None once closed).
    store = property(lambda self: self._snap.store if self._snap is not _CLOSED else None)
    bm25 = property(lambda self: self._snap.bm25)
    parts = property(lambda self: self._snap.parts)
    retriever = property(lambda self: self._snap.retriever)
    answerer = property(lambda self: self._snap.answerer)

    # --- retrieval ---------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None, mode: str | None = None, *,
                 where=None) -> list[Passage]:
        """`mode`: a name in rag.registry.RETRIEVERS (default: settings.retriever); `where`: a
        metadata filter in Chroma's syntax, applied inside the retriever (rag/retrieve.py)."""
        return self._retrieve(check_question(question, self.settings.max_question_chars),
                              self._k(k), mode, where=where)

    def _retrieve(self, q: str, k: int, mode: str | None = None,
                  timings: dict[str, float] | None = None, where=None,
                  snap: "_Snapshot | None" = None) -> list[Passage]:
        snap = snap or self.snapshot()
        if snap.empty:
            where_ = snap.store.path
            if snap.store.partial:
                raise StoreError(f"nothing is indexed at {where_} yet: the first ingest did not "
                                 f"finish. Run `rag ingest PATH --store {where_}` again.")
            raise StoreError(f"the index at {where_} is empty: nothing is indexed. Add documents "
                             f"with `rag ingest PATH --store {where_}`.")
        return as_passages(self.retriever_for(mode, snap).search(q, k, where=where,
                                                                 timings=timings))

    def retriever_for(self, mode: str | None = None, snap: "_Snapshot | None" = None) -> Retriever:
        """The configured retriever, or another registered one over the same open parts."""
        snap = snap or self.snapshot()
        if mode is None or mode == self.settings.retriever:
            return snap.retriever
        return make_retriever(mode, self.settings, snap.parts)

    def _k(self, k: int | None) -> int:
        if k is None:
            return self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
            raise ValueError(f"k must be a whole number from 1 to 100, got {k!r}")
        return k

    # --- answering ---------------------------------------------------------------------------
    def stream(self, question: str, *, k: int | None = None,
               history: Sequence[dict] | None = None,
               as_of: date | None = None, since: date | None = None,
               until: date | None = None, source: str | None = None) -> Iterator[str | Answer]:
        """Yields text as it is produced, then the final Answer (with timings). `as_of` anchors
        relative time in the question ("last year"); default: the newest article's date.
        `since`, `until` (publication dates, inclusive) and `source` (a file name) filter the
        passages inside the store's search, so k matching passages are found when any exist."""
        t0 = time.perf_counter()
        _check_open(self)
        q = check_question(question, self.settings.max_question_chars)
        k = self._k(k)
        stages: dict[str, float] = {}
        snap = self.snapshot()      # one generation for the whole answer, the rewrite included
        rewritten = self._rewrite(q, history, snap) if history else None
        stages["condense"] = (time.perf_counter() - t0) * 1000
        if rewritten == q:
            rewritten = None
        # The rewrite is ours, not the user's: it is not held to the question-length limit.
        scope = question_scope(rewritten or q, lambda: self._newest_date(snap), as_of)
        where = filters(since, until, source, known=snap.store.sources)
        if since or until:
            self._check_days(snap)
        # The deeper list gives room to narrow by time and to find conflicting reports.
        ranked = self._retrieve(rewritten or q, max(CANDIDATES, k), timings=stages, where=where,
                                snap=snap)
        passages, notes = scope_passages(ranked, scope, k)
        limits = When(since, until, source).notice()
        if limits:      # first, so a user knows why some passages are missing
            notes = [limits, *notes]
        t1 = time.perf_counter()
        # An "As of <date>" answer is known only at the end: such answers are sent whole.
        hold = scope is not None and scope.latest
        for item in snap.answerer.stream(q, passages, rewritten=rewritten):
            if isinstance(item, Answer):
                item, extra = annotate(item, scope, ranked)
                if notes:
                    item = replace(item, notices=(*item.notices, *notes))
                if hold and not item.abstained:
                    yield item.text
                elif extra:
                    yield extra
                t2 = time.perf_counter()
                timings = {**stages, "retrieve": (t1 - t0) * 1000,
                           "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}
                final = _with_timings(item, timings)
                log.debug("answered by %s in %.0f ms (abstained: %s, %d passage(s), %d cited)",
                          final.answerer, timings["total"], final.abstained,
                          len(final.passages), len(final.citations))
                if self.settings.answer_log:
                    self._log(final)
                yield final
                return
            if not hold:
                yield item

    def ask(self, question: str, *, k: int | None = None,
            history: Sequence[dict] | None = None, as_of: date | None = None,
            since: date | None = None, until: date | None = None,
            source: str | None = None) -> Answer:
        _check_open(self)
        return consume(self.stream(question, k=k, history=history, as_of=as_of, since=since,
                                   until=until, source=source),
                       f"answerer {self.answerer.name!r}")

    def rewrite(self, question: str, history: Sequence[dict]) -> str:
        return self._rewrite(question, history, self.snapshot())

    def _rewrite(self, question: str, history: Sequence[dict], snap: "_Snapshot") -> str:
        from .condense import condense
        from .referents import corpus_fit
        bm25 = snap.bm25       # the articles weigh in on what a pronoun means
        fit = corpus_fit(bm25.search, bm25.idf) if bm25 is not None else None
        return condense(question, history, llm=self.llm, fit=fit)

    def _newest_date(self, snap: "_Snapshot") -> date | None:
        """The newest article date in the index (what "last year" is relative to), read once
        per store generation."""
        cached = getattr(self, "_newest", None)
        if cached is None or cached[0] != snap.version:
            self._newest = cached = (snap.version, newest_date(snap.store))
        return cached[1]

    def _check_days(self, snap: "_Snapshot") -> None:
        """A store indexed before date filters lacks the field they compare: say what to run
        rather than answer from part of it (rag/days.py). Checked once per store generation."""
        if getattr(self, "_days_ok", None) != snap.version:
            from .days import check
            check(snap.store)
            self._days_ok = snap.version

    def stats(self) -> dict:
        return self.snapshot().store.stats()

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


class _Snapshot:
    """The parts that answer from one store generation; never mutated after it is built."""
    __slots__ = ("version", "store", "bm25", "parts", "retriever", "answerer", "empty")

    def __init__(self, version, store, bm25, parts, retriever, answerer, empty):
        self.version, self.store, self.bm25, self.parts = version, store, bm25, parts
        self.retriever, self.answerer, self.empty = retriever, answerer, empty


_CLOSED = _Snapshot("", None, None, None, None, None, True)


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

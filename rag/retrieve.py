"""The retriever seam: `search(query, k) -> [(Chunk, score)]`, best first.

Implementations: `BM25` (bm25s, rag/bm25.py), `Dense` (Chroma's nearest neighbours of the
question's embedding) and `Hybrid` (weighted reciprocal-rank fusion over any retrievers). They
are picked by name from `rag.registry.RETRIEVERS`.

`where` is a metadata filter in Chroma's `where` syntax ({"source": "a.txt"}, {"date": {"$gte":
"2021-08-15"}}, "$and"/"$or"), applied inside each retriever so that k results survive it:
Dense hands it to Chroma, BM25 masks the chunks that fail it (rag/where.py).

Why our own fusion instead of llama-index's QueryFusionRetriever: that class runs its retrievers
through asyncio and, with its defaults, asks an LLM to generate extra queries; we need a
synchronous, deterministic fusion over ranked lists, which is a dozen lines.
"""
from __future__ import annotations

import time
from typing import Mapping, Protocol, Sequence

from .types import Chunk, Passage

RRF_K = 60          # the constant from Cormack et al. (2009); it damps the top ranks' dominance
CANDIDATES = 30     # each fused retriever's list length before fusion

Ranked = list[tuple[Chunk, float]]


class Retriever(Protocol):
    name: str

    def search(self, query: str, k: int, *, where: Mapping | None = None,
               timings: dict[str, float] | None = None) -> Ranked:
        """The k best chunks for `query`, best first, with scores (higher is better). If
        `timings` is given, the milliseconds of each stage are recorded in it."""
        ...


class BM25:
    name = "bm25"

    def __init__(self, index):
        self.index = index          # rag.bm25.BM25Index, or None for an empty store

    def search(self, query: str, k: int, *, where: Mapping | None = None,
               timings: dict[str, float] | None = None) -> Ranked:
        with _lap(timings, "bm25"):
            return self.index.search(query, k, where=where) if self.index else []


class Dense:
    name = "dense"

    def __init__(self, store, embedder):
        self.store, self.embedder = store, embedder

    def search(self, query: str, k: int, *, where: Mapping | None = None,
               timings: dict[str, float] | None = None) -> Ranked:
        with _lap(timings, "embed"):
            vector = self.embedder.embed([query])[0]
        with _lap(timings, "dense"):
            return self.store.dense(vector, k, where=where)


class Hybrid:
    """Weighted reciprocal-rank fusion of several retrievers' top CANDIDATES."""

    def __init__(self, retrievers: Sequence[Retriever], weights: Sequence[float],
                 depth: int = CANDIDATES, name: str = "hybrid", reranker=None):
        if len(retrievers) != len(weights):
            raise ValueError("one weight per retriever")
        self.retrievers, self.weights, self.depth, self.name = list(retrievers), list(weights), \
            depth, name
        self.reranker = reranker    # (query, fused, k) -> ranked; see SentenceRerank

    def search(self, query: str, k: int, *, where: Mapping | None = None,
               timings: dict[str, float] | None = None) -> Ranked:
        depth = max(self.depth, k)
        lists = [r.search(query, depth, where=where, timings=timings) for r in self.retrievers]
        with _lap(timings, "fusion"):
            fused = rrf(lists, max(RERANK_DEPTH, k) if self.reranker else k, weights=self.weights)
        if self.reranker is None:
            return fused
        with _lap(timings, "rerank"):
            return self.reranker(query, fused, k)


def rrf(rankings: Sequence[Sequence[tuple[Chunk, float]]], k: int, c: int = RRF_K,
        weights: Sequence[float] | None = None) -> Ranked:
    """Fuse ranked lists by reciprocal rank; ties broken by position in the source file."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for ranking, w in zip(rankings, weights):
        for rank, (chunk, _) in enumerate(ranking, start=1):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + w / (c + rank)
            chunks[chunk.id] = chunk
    order = sorted(scores, key=lambda i: (-scores[i], chunks[i].source, chunks[i].start))
    return [(chunks[i], scores[i]) for i in order[:k]]


RERANK_DEPTH = 10    # fused candidates re-ordered by their best sentence (see `rerank`)


def rerank(question: str, ranked: Sequence[tuple[Chunk, float]], k: int, embedder,
           idf, depth: int = RERANK_DEPTH) -> list[tuple[Chunk, float]]:
    """Re-order the fused top candidates by reciprocal rank of two orders: the fusion's, and
    that of each chunk's best sentence as the extractive answerer scores sentences (question-term
    coverage weighted by IDF, embedding similarity, answer type). Among near-duplicate articles
    (same names and context, different facts) chunk-level BM25 and static embeddings cannot tell
    the one holding the answer from its lookalikes; the sentence that answers can. Measured with
    `rag bench` distractors: README "Scale".

    Only the top `depth` are re-ordered, however many are asked for; the rest follow in
    the fusion's order. The engine asks for 30 candidates (room for time scopes and conflicts):
    re-ordering all 30 let lookalikes from ranks 11-30 into the top 5 (hit@5 among 30x
    distractors 0.847, against 0.865 with the window) and cost three times the time
    (bench/quality_scale.py, README "Scale")."""
    from .answer_extractive import Params, features
    top, rest = list(ranked[:depth]), list(ranked[depth:k])
    best: dict[int, float] = {}
    params = Params()
    for f in features(question, as_passages(top), embedder, idf)[1]:
        best[f.n] = max(best.get(f.n, 0.0), f.score(params))
    by_sentence = sorted(range(len(top)), key=lambda i: -best.get(i + 1, 0.0))
    score = {i: 1.0 / (RRF_K + i + 1) for i in range(len(top))}
    for r, i in enumerate(by_sentence):
        score[i] += 1.0 / (RRF_K + r + 1)
    order = sorted(score, key=lambda i: -score[i])
    # The head carries re-rank scores, the tail its fused scores: the list order is the ranking
    # (with the default weights the head's scores are also the larger ones).
    return ([(top[i][0], score[i]) for i in order] + rest)[:k]


class SentenceRerank:
    """`rerank` with the engine's embedder and the BM25 index's IDF."""

    def __init__(self, embedder, index):
        self.embedder, self.index = embedder, index

    def __call__(self, query: str, fused: Ranked, k: int) -> Ranked:
        return rerank(query, fused, k, self.embedder, self.index.idf)


def as_passages(ranked: Sequence[tuple[Chunk, float]]) -> list[Passage]:
    return [Passage(n, chunk, score) for n, (chunk, score) in enumerate(ranked, start=1)]


class _lap:
    """Adds the block's milliseconds to `timings[name]` (when timings are wanted)."""

    def __init__(self, timings: dict[str, float] | None, name: str):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.t = time.perf_counter()

    def __exit__(self, *exc):
        if self.timings is not None:
            self.timings[self.name] = (self.timings.get(self.name, 0.0)
                                       + (time.perf_counter() - self.t) * 1000)

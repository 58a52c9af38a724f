"""Retrieval: BM25, dense, and their reciprocal-rank fusion.

Why our own fusion instead of llama-index's QueryFusionRetriever: that class runs its retrievers
through asyncio and, with its defaults, asks an LLM to generate extra queries; we need a
synchronous, deterministic fusion over two ranked lists, which is a dozen lines.
"""
from __future__ import annotations

from typing import Sequence

from .types import Chunk, Passage

RRF_K = 60          # the constant from Cormack et al. (2009); it damps the top ranks' dominance
MODES = ("bm25", "dense", "hybrid")


def rrf(rankings: Sequence[Sequence[tuple[Chunk, float]]], k: int, c: int = RRF_K,
        weights: Sequence[float] | None = None) -> list[tuple[Chunk, float]]:
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


def as_passages(ranked: Sequence[tuple[Chunk, float]]) -> list[Passage]:
    return [Passage(n, chunk, score) for n, (chunk, score) in enumerate(ranked, start=1)]

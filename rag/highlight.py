"""Which sentence of a cited passage supports an answer sentence: the span a UI highlights.

Pure and cheap (word overlap on stems), so it runs after every answer, streamed or not.
"""
from __future__ import annotations

from typing import Sequence

from . import text as T
from .types import Answer, Passage


def best_span(passage: Passage, claims: Sequence[str]) -> tuple[int, int] | None:
    """Absolute file offsets of the passage sentence that shares most content words with the
    claims citing it; None when no sentence shares any."""
    claim_terms = set()
    for c in claims:
        claim_terms |= set(T.terms(c))
    best, best_score = None, 0.0
    for s, e in T.sentence_spans(passage.chunk.text):
        terms = set(T.terms(passage.chunk.text[s:e]))
        if not terms:
            continue
        score = len(terms & claim_terms) / (len(terms) ** 0.5)
        if score > best_score:
            best, best_score = (passage.chunk.start + s, passage.chunk.start + e), score
    return best


def highlights(answer: Answer) -> dict[int, tuple[int, int]]:
    """For each cited passage number, the span of its supporting sentence."""
    out = {}
    for p in answer.citations:
        claims = [s.text for s in answer.sentences if p.n in s.citations]
        span = best_span(p, claims)
        if span:
            out[p.n] = span
    return out

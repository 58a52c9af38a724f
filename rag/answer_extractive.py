"""The embedded default answerer: no LLM, just the retrieved passages' own sentences.

Every sentence of every passage is scored against the question; the best ones become the answer,
each cited with its passage number. Being verbatim, each answer sentence is supported by the
passage it cites by construction. When even the best sentence is weak evidence, the answerer
abstains: a structured flag, with a plain message for people.

Scoring (weights measured on eval/data/qa.jsonl, see README "Choosing the defaults"):
  coverage  share of the question's content terms, weighted by IDF, found in the sentence
            (its article title and the sentence before it count at half weight, because news
            sentences say "he said" and leave the subject to the context)
  dense     cosine similarity of sentence and question embeddings (catches paraphrase)
  type      the sentence holds what the question asks for (a number, a date, a name)
  rank      a small prior for sentences from higher-ranked passages
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from . import text as T
from .types import Answer, Passage, Sentence

ABSTAIN_MESSAGE = "The indexed articles do not say."
DEFAULT_THRESHOLD = 0.45
WEIGHTS = {"coverage": 0.55, "dense": 0.35, "type": 0.12, "rank": 0.05}
SECOND_RATIO = 0.92      # a runner-up sentence joins the answer when this close to the best


@dataclass(frozen=True, slots=True)
class Candidate:
    n: int
    text: str
    score: float
    coverage: float


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embedder, idf: Callable[[str], float] | None = None,
                 threshold: float | None = None):
        self.embedder = embedder
        self.idf = idf or (lambda term: 1.0)
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold

    def stream(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Iterator[str | Answer]:
        answer = self.answer(question, passages, rewritten=rewritten)
        yield answer.text
        yield answer

    def answer(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Answer:
        t0 = time.perf_counter()
        query = rewritten or question
        ranked = self.rank(query, passages)
        confidence = ranked[0].score if ranked else 0.0
        timings = {"answer": (time.perf_counter() - t0) * 1000}
        base = dict(question=question, passages=tuple(passages), timings=timings,
                    rewritten=rewritten, answerer=self.name, confidence=round(confidence, 4))
        if confidence < self.threshold:
            return Answer(text=ABSTAIN_MESSAGE, abstained=True, **base)
        chosen = [ranked[0]] + [c for c in ranked[1:2] if c.score >= SECOND_RATIO * ranked[0].score]
        sentences = tuple(Sentence(c.text, (c.n,), True) for c in chosen)
        text = " ".join(f"{c.text} [{c.n}]" for c in chosen)
        return Answer(text=text, abstained=False, sentences=sentences, **base)

    def rank(self, query: str, passages: Sequence[Passage]) -> list[Candidate]:
        q_terms = set(T.terms(query))
        if not q_terms or not passages:
            return []
        weights = {t: self.idf(t) for t in q_terms}
        total = sum(weights.values()) or 1.0
        kind = T.expected_type(query)
        cands: list[tuple[int, str, float, float, float]] = []
        for rank, p in enumerate(passages):
            title_terms = set(T.terms(p.chunk.title))
            prev: set[str] = set()
            for s, e in T.sentence_spans(p.chunk.text):
                sent = p.chunk.text[s:e]
                own = set(T.terms(sent))
                if len(own) < 3:          # headings, bylines, captions of two words
                    prev = own
                    continue
                cov = sum(weights[t] for t in q_terms & own) / total
                ctx = sum(weights[t] for t in (q_terms - own) & (title_terms | prev)) / total
                typ = 1.0 if T.has_type(sent, kind, query) else 0.0
                prior = 1.0 / (1.0 + rank)
                cands.append((p.n, sent, cov + 0.5 * ctx, typ, prior))
                prev = own
        if not cands:
            return []
        dense = self._dense(query, [c[1] for c in cands])
        w = WEIGHTS
        out = [Candidate(n, sent, w["coverage"] * cov + w["dense"] * d + w["type"] * typ
                         + w["rank"] * prior, cov)
               for (n, sent, cov, typ, prior), d in zip(cands, dense)]
        return sorted(out, key=lambda c: -c.score)

    def _dense(self, query: str, sentences: list[str]) -> np.ndarray:
        vecs = self.embedder.embed([query] + sentences)
        sims = vecs[1:] @ vecs[0]
        return np.clip(sims, 0.0, 1.0)


def idf_from_bm25(index) -> Callable[[str], float]:
    """IDF of a stemmed term from the BM25 index's own document frequencies."""
    bm25 = index._retriever.bm25
    n = int(bm25.scores["num_docs"])
    indptr = np.asarray(bm25.scores["indptr"])
    df = np.diff(indptr)
    vocab = bm25.vocab_dict
    unseen = math.log(1 + (n + 0.5) / 0.5)

    def idf(term: str) -> float:
        i = vocab.get(term)
        if i is None:
            return unseen
        d = float(df[i])
        return math.log(1 + (n - d + 0.5) / (d + 0.5))
    return idf

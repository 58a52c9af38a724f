"""The embedded default answerer: no LLM, just the retrieved passages' own sentences.

Every sentence of every passage is scored against the question; the best ones become the answer,
each cited with its passage number. Being verbatim, each answer sentence is supported by the
passage it cites by construction. When even the best sentence is weak evidence, the answerer
abstains: a structured flag, with a plain message for people.

Scoring (weights tuned on eval/data/qa.jsonl by bench/tune_extractive.py; see the README):
  coverage  share of the question's content terms, weighted by IDF, found in the sentence
            (its article title and the sentence before it count at half weight, because news
            sentences say "he said" and leave the subject to the context)
  dense     cosine similarity of sentence and question embeddings (catches paraphrase)
  type      the sentence holds what the question asks for (a number, a date, a name)
  rank      a small prior for sentences from higher-ranked passages
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

import numpy as np

from . import text as T
from .answer import ABSTAIN_TEXT
from .citations import verify
from .types import Answer, Passage, Sentence

@dataclass(frozen=True, slots=True)
class Params:
    """Weights and thresholds. The defaults were tuned by `bench/tune_extractive.py` on the
    even-numbered questions of eval/data/qa.jsonl (CRAG score), and checked on the odd ones."""
    coverage: float = 0.45
    dense: float = 0.35
    rank: float = 0.05
    context: float = 0.5        # weight of terms found only in the title / previous sentence
    type_gate: float = 0.5      # score multiplier when the question asks for a kind of thing
                                # (a year, a number, a name) that the sentence does not hold
    second_ratio: float = 0.8   # a runner-up sentence joins the answer when this close to the best
    threshold: float = 0.316    # abstain below this confidence


@dataclass(frozen=True, slots=True)
class Feature:
    n: int
    text: str
    coverage: float
    context: float
    dense: float
    type: float
    prior: float
    typed: bool

    def score(self, p: Params) -> float:
        base = (p.coverage * (self.coverage + p.context * self.context) + p.dense * self.dense
                + p.rank * self.prior)
        return base * (p.type_gate if self.typed and not self.type else 1.0)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embedder, stats=None, threshold: float | None = None,
                 params: Params | None = None):
        """`stats`: the BM25 index, whose `idf(term)` weights question terms (uniform without)."""
        self.embedder = embedder
        self.idf: Callable[[str], float] = stats.idf if stats is not None else _uniform
        params = params or Params()
        self.params = params if threshold is None else replace(params, threshold=threshold)

    def stream(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Iterator[str | Answer]:
        answer = self.answer(question, passages, rewritten=rewritten)
        yield answer.text
        yield answer

    def answer(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Answer:
        t0 = time.perf_counter()
        feats = features(rewritten or question, passages, self.embedder, self.idf)
        chosen, confidence = choose(feats, self.params)
        base = dict(question=question, passages=tuple(passages), rewritten=rewritten,
                    answerer=self.name, confidence=round(float(confidence), 4),
                    timings={"answer": (time.perf_counter() - t0) * 1000})
        if not chosen:
            return Answer(text=ABSTAIN_TEXT, abstained=True, **base)
        by_n = {p.n: p.chunk.text for p in passages}
        # Quoted sentences are supported by construction; checking them with the same verifier
        # the LLM's sentences go through keeps "supported" one definition, not two.
        sentences = tuple(Sentence(f.text, (f.n,), verify(f.text, [by_n[f.n]])) for f in chosen)
        text = " ".join(f"{f.text} [{f.n}]" for f in chosen)
        return Answer(text=text, abstained=False, sentences=sentences, **base)


def choose(feats: Sequence[Feature], p: Params) -> tuple[list[Feature], float]:
    """The answer sentences (best first) and the confidence; no sentences means abstain."""
    if not feats:
        return [], 0.0
    scored = sorted(((f.score(p), i) for i, f in enumerate(feats)), reverse=True)
    best = scored[0][0]
    if best < p.threshold:
        return [], best
    chosen = [feats[scored[0][1]]]
    for sc, i in scored[1:2]:
        if sc >= p.second_ratio * best and feats[i].text != chosen[0].text:
            chosen.append(feats[i])
    return chosen, best


def _uniform(term: str) -> float:
    return 1.0


def features(query: str, passages: Sequence[Passage], embedder,
             idf: Callable[[str], float]) -> list[Feature]:
    q_terms = set(T.terms(query))
    if not q_terms or not passages:
        return []
    weights = {t: idf(t) for t in q_terms}
    total = sum(weights.values()) or 1.0
    names = T.name_groups(query)
    kind = T.expected_type(query)
    raw: list[tuple] = []
    for rank, p in enumerate(passages):
        title_terms = set(T.terms(p.chunk.title))
        prev: set[str] = set()
        for s, e in T.sentence_spans(p.chunk.text):
            sent = p.chunk.text[s:e]
            own = set(T.terms(sent))
            if len(own) >= 3 and not T.is_heading(sent):
                found = q_terms & own
                cov = T.name_credit(found, names, weights) / total
                around = found | (q_terms & (title_terms | prev))
                ctx = max(0.0, T.name_credit(around, names, weights) / total - cov)
                typ = 1.0 if T.has_type(sent, kind, query) else 0.0
                raw.append((p.n, sent, cov, ctx, typ, 1.0 / (1.0 + rank)))
            prev = own
    if not raw:
        return []
    vecs = embedder.embed([query] + [r[1] for r in raw])
    dense = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
    return [Feature(n, sent, cov, ctx, float(d), typ, prior, kind is not None)
            for (n, sent, cov, ctx, typ, prior), d in zip(raw, dense)]

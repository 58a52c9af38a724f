"""The embedded default answerer: no LLM, just the retrieved passages' own sentences.

Every sentence of every passage is scored against the question; the best one becomes the answer,
cited with its passage number. Being verbatim, each answer sentence is supported by the passage
it cites by construction. Whether to answer at all is a separate decision, made by a small
calibrated model over several signals (rag.confidence): when the evidence is weak, or the best
sentence lacks what the question asks for, the answerer abstains (a structured flag, the reason,
and a plain message for people).

Sentence scoring (weights tuned by bench/tune_extractive.py; see the README):
  coverage   share of the question's content terms, weighted by IDF, found in the sentence
             (its article title and the sentence before it count at half weight, because news
             sentences say "he said" and leave the subject to the context)
  predicate  share of the question's non-name terms ("killed", "released", "signed") found in
             the sentence itself: the asked relation, not only the topic
  dense      cosine similarity of sentence and question embeddings (catches paraphrase)
  type       the sentence holds what the question asks for (a number, a date, a name)
  rank       a small prior for sentences from higher-ranked passages
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

import numpy as np

from . import text as T
from .answer import ABSTAIN_TEXT
from .carry import carried, preceding_text
from .referents import PLACE, entities_of
from .citations import verify
from .condense import split_context
from .timescope import date_words
from .confidence import THRESHOLD, Decision, decide
from .direct import KINDS as DIRECT_KINDS, short_answer
from .types import Answer, Passage, Sentence

@dataclass(frozen=True, slots=True)
class Params:
    """Sentence-scoring weights, tuned by `bench/tune_extractive.py` on the even-numbered
    questions of eval/data/qa.jsonl and checked on the odd ones."""
    coverage: float = 0.6
    dense: float = 0.2
    rank: float = 0.05
    predicate: float = 0.4
    context: float = 0.5        # weight of terms found only in the title / previous sentence
    type_gate: float = 0.5      # score multiplier when the question asks for a kind of thing
                                # (a year, a number, a name) that the sentence does not hold
    name_missing: float = 1.5   # the choice's cut for a missing question name (Feature.choice)
    second_ratio: float = 0.8   # a runner-up sentence joins the answer when this close to the best
    second_other: bool = True  # ... even from another passage (a second citation)
    second_full: float = 0.95   # ... but none when the best sentence holds this much of the
                                # question's weight itself: nothing is left for it to support
    threshold: float = THRESHOLD     # the confidence model's threshold (rag/confidence.py)


@dataclass(frozen=True, slots=True)
class Query:
    """Question-level signals, shared by all its sentences."""
    kind: str | None      # the answer type the wording asks for (rag.text.expected_type)
    unknown: float        # IDF-weighted share of the question's terms no article contains
    n_terms: int
    related: float = 1.0  # the best embedding similarity of any candidate sentence to it


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
    predicate: float = 1.0    # share of non-name question weight found in the sentence itself
    missing: float = 0.0      # the rarest question term found neither in it nor its context,
                              # as a share of the question's weight
    missing_name: float = 0.0   # the same, for the question's names only
    near: float = 0.0         # question weight found within a few words of the typed answer
                              # (the number, date or name), not just somewhere in the sentence
    counted: float = 1.0      # "how many X": a number in it is followed by X or the predicate
    span: tuple[int, int] | None = None   # where its typed answer is, for the direct answer

    def score(self, p: Params) -> float:
        base = (p.coverage * (self.coverage + p.context * self.context) + p.dense * self.dense
                + p.rank * self.prior + p.predicate * self.predicate)
        return base * (p.type_gate if self.typed and not self.type else 1.0)

    def choice(self, p: Params) -> float:
        """The score the answerer chooses by: less for a sentence that lacks a name of the
        question (in itself, its title and the sentence before), in proportion to the name's
        weight. Such a sentence is about someone else, and the name gate (rag.confidence) would
        decline it though a sentence about the asked person may come next ("What is Richard
        Bennett's job?"). Retrieval's re-rank keeps `score`: there the cut let off-topic
        questions' passages through."""
        return self.score(p) * max(0.0, 1.0 - p.name_missing * self.missing_name)


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
        asked = rewritten or question
        query, feats = features(asked, passages, self.embedder, self.idf, own=question)
        chosen, decision = choose(query, feats, self.params)
        base = dict(question=question, passages=tuple(passages), rewritten=rewritten,
                    answerer=self.name, confidence=round(float(decision.confidence), 4),
                    timings={"answer": (time.perf_counter() - t0) * 1000})
        if not chosen:
            return Answer(text=ABSTAIN_TEXT, abstained=True,
                          abstain_reason=decision.reason, **base)
        by_n = {p.n: p.chunk.text for p in passages}
        # Quoted sentences are supported by construction; checking them with the same verifier
        # the LLM's sentences go through keeps "supported" one definition, not two.
        sentences = tuple(Sentence(f.text, (f.n,), verify(f.text, [by_n[f.n]])) for f in chosen)
        text = " ".join(f"{f.text} [{f.n}]" for f in chosen)
        top = chosen[0]
        short = _short(asked, query, top)
        if short:
            sentences = (Sentence(short, (top.n,), verify(short, [by_n[top.n]]), direct=True),
                         *sentences)
            text = f"{short} [{top.n}]. {text}"
        notices = (f"weak evidence (confidence {decision.confidence:.2f}): check the source",) \
            if decision.weak else ()
        return Answer(text=text, abstained=False, sentences=sentences, notices=notices, **base)


def choose(query: Query | None, feats: Sequence[Feature],
           p: Params) -> tuple[list[Feature], Decision]:
    """The answer sentences (best first) and the decision; no sentences means abstain."""
    if not feats or query is None:
        return [], Decision(0.0, "no_evidence" if query else "no_terms")
    chosen, best, second = pick(feats, p)
    decision = decide(query, chosen[0], best, second, p.threshold)
    return ([] if decision.abstain else chosen), decision


def pick(feats: Sequence[Feature], p: Params) -> tuple[list[Feature], float, float]:
    """The best sentence, plus a runner-up when it is nearly as good; and the top two scores."""
    scored = sorted(((f.choice(p), i) for i, f in enumerate(feats)), reverse=True)
    best = feats[scored[0][1]]
    second = scored[1][0] if len(scored) > 1 else 0.0
    chosen = [best]
    # A runner-up adds a sentence (and from another passage a citation), which must add
    # support: none joins a best sentence that already holds the whole question (citation
    # precision; see the README).
    if best.coverage >= p.second_full:
        return chosen, scored[0][0], second
    for sc, i in scored[1:2]:
        f = feats[i]
        if (sc >= p.second_ratio * scored[0][0] and f.text != best.text
                and (p.second_other or f.n == best.n)):
            chosen.append(f)
    return chosen, scored[0][0], second


def _short(question: str, query: Query, top: Feature) -> str:
    """The direct answer the best sentence holds, where the asked type allows one (rag.direct)."""
    if query.kind not in DIRECT_KINDS:
        return ""
    counted = set(T.terms(" ".join(T.counted_words(question, 3))))
    return short_answer(top.text, top.span, counted, query.kind, question)


def _uniform(term: str) -> float:
    return 1.0


def features(query: str, passages: Sequence[Passage], embedder, idf: Callable[[str], float],
             own: str | None = None) -> tuple[Query | None, list[Feature]]:
    q_terms = set(T.terms(T.rephrase(query)))
    if not q_terms:
        return None, []
    # A follow-up's rewrite may end in the last question's words, "(Afghans rescued boat
    # capsized Rhodes)" (rag.condense): they say which story, not what is asked, so they count
    # at half weight, as the title and the previous sentence do. `own`, the question as the
    # user typed it: a "(...)" of theirs is what they ask, never carried words.
    asked, carried_words = split_context(query)
    soft = set(T.terms(carried_words)) - set(T.terms(asked)) - set(T.terms(own or ""))
    weights = {t: idf(t) * (0.5 if t in soft else 1.0) for t in q_terms}
    total = sum(weights.values()) or 1.0
    names = T.name_groups(query)
    name_terms = {t for n in T.names(query) for t in T.terms(n)}
    # A place the passage named before is the story's setting, still in force where a sentence
    # does not repeat it ("off Rhodes" in the lead; "18 migrants ... were rescued" after it).
    places = {t for n, k in entities_of(query) if k == PLACE for t in T.terms(n)}
    pred_terms = q_terms - name_terms
    pred_total = sum(weights[t] for t in pred_terms)
    # The asked predicate's head: its first word that is not a name ("released" in "When was
    # Baradar released from Pakistani custody?"), which decides between two typed answers.
    head = next((t for t in T.terms(asked) if t in pred_terms and t not in _ASK_TERMS), None)
    kind = T.expected_type(query)
    # A term no chunk contains gets the largest IDF there is, the IDF of a term that cannot
    # occur (""); uniform weights (no index) know of no unknown terms.
    unseen = idf("")
    unknown = (sum(weights[t] for t in q_terms if idf(t) >= unseen) / total
               if idf is not _uniform else 0.0)
    q = Query(kind, unknown, len(q_terms))
    counted_terms = set(T.terms(" ".join(T.counted_words(query)))) if kind == "number" else set()
    raw: list[tuple] = []
    for rank, p in enumerate(passages):
        # The dateline is context as the title is ("in December 2024": rag.timescope).
        title_terms = set(T.terms(p.chunk.title)) | set(T.terms(date_words(p.chunk.date)))
        prev: set[str] = set()
        setting: set[str] = set()
        sents = T.sentence_spans(p.chunk.text)
        # "He was held until 2018" after the sentence naming him is about him (rag.carry).
        who = carried(p.chunk.text, sents, preceding_text(p, passages))
        for (s, e), name in zip(sents, who):
            sent = p.chunk.text[s:e]
            own = set(T.terms(sent))
            if len(own) >= 3 and not T.is_heading(sent):
                own |= set(T.terms(name)) | T.phrased(sent)
                found = T.matched(q_terms, own)
                cov = T.name_credit(found, names, weights) / total
                around = found | T.matched(q_terms, title_terms | prev)
                ctx = max(0.0, T.name_credit(around, names, weights) / total - cov)
                spans = T.answer_spans(sent, kind, query)
                typ = 1.0 if spans else 0.0
                near, span = _near(sent, spans, q_terms, weights, set(T.terms(name)), pred_terms,
                                   head)
                near = near / total if kind else cov
                counted = (_counted(sent, spans, counted_terms | pred_terms)
                           if counted_terms else typ)
                pred = (sum(weights[t] for t in pred_terms & found) / pred_total
                        if pred_total else 1.0)
                unmatched = q_terms - around
                miss = max((weights[t] for t in unmatched), default=0.0) / total
                miss_name = max((weights[t] for t in (unmatched - setting) & name_terms),
                                default=0.0) / total
                raw.append((p.n, sent, cov, ctx, typ, 1.0 / (1.0 + rank), pred, miss, miss_name,
                            near, counted, span))
            prev = own
            setting |= places & set(T.terms(sent))
    if not raw:
        return q, []
    vecs = embedder.embed([query] + [r[1] for r in raw])
    dense = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
    q = replace(q, related=float(dense.max()))
    return q, [Feature(n, sent, cov, ctx, float(d), typ, prior, kind is not None, pred, miss, mn,
                       near, counted, span)
               for (n, sent, cov, ctx, typ, prior, pred, miss, mn, near, counted, span), d
               in zip(raw, dense)]


NEAR_CHARS = 60     # about ten words either side of the typed answer
# Words that ask for the date itself ("on what exact date"), not the thing dated: never the
# predicate the typed answer must sit near.
_ASK_TERMS = frozenset(T.stem("date day month year time exact".split()))


def _near(sent: str, spans, q_terms: set[str], weights: dict[str, float],
          subject: set[str] = frozenset(), pred_terms: set[str] = frozenset(),
          head: str | None = None) -> tuple[float, tuple[int, int] | None]:
    """The most question weight found around any one typed answer in the sentence (ten words
    either side): "96" in "the 2008 assault on the Serena Hotel ..., and the 2017 truck bombing
    that killed 96 people" is near the truck bombing, not the Serena Hotel. And the answer the
    direct answer shows: the one whose own clause holds the predicate's head, then the most of
    the predicate, then the most weight around it: "2018", not "2010", in "He was arrested in
    2010 and held until 2018" for "When was he released from custody?" (rag.text.clause)."""
    best, where, key = 0.0, None, (-1.0, -1.0, -1.0)
    for s, e in spans:
        text = sent[max(0, s - NEAR_CHARS):e + NEAR_CHARS]
        window = set(T.terms(text)) | T.phrased(text) | subject
        w = sum(weights[t] for t in T.matched(q_terms, window))
        cs, ce = T.clause(sent, s, e)
        part = sent[cs:ce]
        tied = T.matched(pred_terms, set(T.terms(part)) | T.phrased(part))
        best = max(best, w)
        k = (1.0 if head in tied else 0.0, sum(weights[t] for t in tied), w)
        if k > key:
            where, key = (s, e), k
    return best, where


def _counted(sent: str, spans, wanted: set[str]) -> float:
    """1.0 when a number is followed by what is counted or the asked predicate ("10 times",
    "eight confirmed dead"), not by something else ("a 71-year-old" for "how many tanks")."""
    for _, e in spans:
        if T.matched(wanted, set(T.terms(sent[e:e + 40]))):
            return 1.0
    return 0.0

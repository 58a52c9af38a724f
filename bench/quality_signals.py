"""Can a cheap lexical signal tell the evidence chunk from its lookalikes? Each signal measured on
the engine's misses, and each tried as a re-rank variant, on stores of the bench corpora.

usage: .venv/bin/python -m bench.quality_signals STORE [STORE...] [--title]

For the answerable Q&A questions (follow-ups rewritten as the engine rewrites them) it prints:
- the candidate ceiling: the evidence chunk in the fused top 30 (the engine's candidates, the
  most any re-ranker of them can reach) and in the fused top 100;
- for the engine's misses whose evidence is in the fused top 100: its rank among those 100 by
  each signal (fusion, BM25, best-sentence IDF coverage, a 12-term proximity window, whole-chunk
  coverage, the extractive answerer's sentence score);
- hit@5 of each variant on all questions, the tuning half and the held-out half
  (eval.dataset.half_of): the lexical pre-order of the fused top 100, the same only when BM25's
  top 30 is crowded with near-equal scores, proximity or coverage orders fused into the 30
  candidates, chunk coverage as a tie-breaker, a third BM25 list of the question's rare or
  predicate (non-name) terms;
- how many misses hold one of the question's answers in a top-5 chunk anyway.
`--title` also rebuilds BM25 in memory with the title indexed 0, 1 or 2 times (slow at 1000x).
README "Quality at scale, studied" has the results; none is the default.
"""
from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality_scale import (engines, evidence_rank, load_items,  # noqa: E402
                                 question_rows, study_parser)
from rag import text as T  # noqa: E402

WINDOW = 12          # terms: "within a few words" for the proximity signal
CROWD = 0.8          # a BM25 score within this share of the top one counts as near-equal


class Question:
    """A question's stemmed terms and their IDF weights."""

    def __init__(self, question: str, idf):
        self.terms = set(T.terms(question))
        self.weight = {t: idf(t) for t in self.terms}
        self.total = sum(self.weight.values()) or 1.0
        names = {t for n in T.names(question) for t in T.terms(n)}
        median = statistics.median(self.weight.values()) if self.terms else 0.0
        # As words, so that BM25's own query tokenizer finds these very terms again.
        self.rare = _words(question, {t for t in self.terms if self.weight[t] >= median})
        self.predicate = _words(question, (self.terms - names) or self.terms)

    def mass(self, terms) -> float:
        return sum(self.weight[t] for t in self.terms & terms) / self.total


def _words(question: str, terms: set[str]) -> str:
    return " ".join(w for w in T.words(question) if set(T.terms(w)) & terms)


_SPLIT: dict[str, tuple] = {}


def _split(chunk):
    """(title terms, each sentence's terms, the text's terms in order), cached by chunk id."""
    if chunk.id not in _SPLIT:
        _SPLIT[chunk.id] = (set(T.terms(chunk.title)),
                            [set(T.terms(chunk.text[a:b])) for a, b in
                             T.sentence_spans(chunk.text)], T.terms(chunk.text))
    return _SPLIT[chunk.id]


def best_sentence(q: Question, chunk) -> float:
    """The most question IDF mass any one sentence of the chunk holds."""
    return max((q.mass(s) for s in _split(chunk)[1]), default=0.0)


def proximity(q: Question, chunk, width: int = WINDOW) -> float:
    """The most question IDF mass within any `width` consecutive terms of the chunk."""
    seq = _split(chunk)[2]
    return max((q.mass(set(seq[i:i + width])) for i in range(max(1, len(seq) - width + 1))),
               default=0.0)


def coverage(q: Question, chunk) -> float:
    """The question IDF mass the chunk holds anywhere, title included."""
    title, sentences, _ = _split(chunk)
    return q.mass(title.union(*sentences))


def crowded(bm25_list, n: int = 30) -> float:
    """Share of BM25's top n scoring within CROWD of its best: how little BM25 separates them."""
    scores = [s for _, s in bm25_list[:n]]
    return sum(1 for s in scores if s >= CROWD * scores[0]) / n if scores else 0.0


def variants(engine):
    """name -> (row, Question) -> ranked list; the first is the engine itself."""
    from rag.retrieve import rerank, rrf
    idf, emb, w = engine.parts.bm25.idf, engine.embedder, engine.settings.dense_weight
    hybrid, index = engine.retriever_for("hybrid"), engine.parts.bm25

    def fused(r, n):
        return rrf([r["bm"][:n], r["de"][:n]], n, weights=(1.0, w))

    def reorder(r, q, signal, n=30, weight=1.0):
        base = fused(r, n)
        by = sorted(base, key=lambda x: -signal(q, x[0]))
        return rerank(r["q"], rrf([base, by], 10, weights=(1.0, weight)), 10, emb, idf)

    def tie_break(r, q):
        by = sorted(fused(r, 30), key=lambda x: -round(coverage(q, x[0]), 1))   # stable
        return rerank(r["q"], by[:10], 10, emb, idf)

    def third(r, q, words, weight=0.5):
        extra = index.search(words, 30)
        return rerank(r["q"], rrf([r["bm"][:30], r["de"][:30], extra], 10,
                                  weights=(1.0, w, weight)), 10, emb, idf)

    return {
        "engine (fused top 10 re-ranked)": lambda r, q: hybrid.search(r["q"], 10),
        "pre-order of fused 100 by best sentence": lambda r, q: reorder(r, q, best_sentence, 100),
        "... weight 2": lambda r, q: reorder(r, q, best_sentence, 100, 2.0),
        "... only when BM25 top 30 crowded (>= 0.2)":
            lambda r, q: reorder(r, q, best_sentence, 100) if crowded(r["bm"]) >= 0.2
            else hybrid.search(r["q"], 10),
        "proximity order fused into the 30, w 0.5":
            lambda r, q: reorder(r, q, proximity, 30, 0.5),
        "proximity order fused into the 30, w 1": lambda r, q: reorder(r, q, proximity, 30),
        "best-sentence order fused into the 30": lambda r, q: reorder(r, q, best_sentence, 30),
        "chunk coverage as tie-breaker of the 30": tie_break,
        "third list: BM25 of the rare terms": lambda r, q: third(r, q, q.rare),
        "third list: BM25 of the predicate terms": lambda r, q: third(r, q, q.predicate),
    }


def signal_ranks(engine, rows, misses) -> dict[str, list[int]]:
    """Per signal, the evidence chunk's rank among the fused top 100 (fusion order breaks ties),
    for the misses whose evidence is there."""
    from rag.answer_extractive import Params, features
    from rag.retrieve import as_passages, rrf
    idf, emb, w = engine.parts.bm25.idf, engine.embedder, engine.settings.dense_weight
    out: dict[str, list[int]] = {}
    for r in misses:
        deep = rrf([r["bm"][:100], r["de"][:100]], 100, weights=(1.0, w))
        gold = evidence_rank(deep, r["spans"])
        if not gold:
            continue
        q, bm = Question(r["q"], idf), {c.id: s for c, s in r["bm"]}
        best: dict[int, float] = {}
        for f in features(r["q"], as_passages(deep), emb, idf)[1]:
            best[f.n] = max(best.get(f.n, 0.0), f.score(Params()))
        signals = {"fusion": lambda i, c: -i, "BM25": lambda i, c: bm.get(c.id, 0.0),
                   "best-sentence coverage": lambda i, c: best_sentence(q, c),
                   f"proximity ({WINDOW} terms)": lambda i, c: proximity(q, c),
                   "chunk coverage": lambda i, c: coverage(q, c),
                   "answerer's sentence score": lambda i, c: best.get(i + 1, 0.0)}
        for name, f in signals.items():
            vals = [f(i, c) for i, (c, _) in enumerate(deep)]
            g = vals[gold - 1]
            out.setdefault(name, []).append(
                1 + sum(1 for i, v in enumerate(vals) if v > g or (v == g and i < gold - 1)))
    return out


def _answers(rows, tops) -> int:
    """Misses with one of the question's answers (as a whole word) in a top-5 chunk."""
    return sum(1 for r, t in zip(rows, tops) if not evidence_rank(t[:5], r["spans"]) and any(
        re.search(rf"(?<!\w){re.escape(a.lower())}(?!\w)", c.text.lower())
        for c, _ in t[:5] for a in r["answers"]))


def study(engine, items, texts, title: bool = False) -> dict:
    from eval.dataset import half_of
    from rag.retrieve import rrf
    rows = question_rows(engine, items, texts)
    for r, it in zip(rows, items):
        r["answers"], r["half"] = list(it.answers), half_of(it.id)
    idf, w, n = engine.parts.bm25.idf, engine.settings.dense_weight, len(rows)
    print(f"{engine.settings.store}: {engine.stats()['chunks']} chunks, {n} questions")
    ceiling = {d: sum(1 for r in rows if evidence_rank(rrf([r["bm"][:d], r["de"][:d]], d,
                                                  weights=(1.0, w)), r["spans"])) / n
               for d in (30, 100)}
    print(f"  evidence in the fused top 30 (the ceiling of any re-rank) {ceiling[30]:.3f}, "
          f"top 100 {ceiling[100]:.3f}")
    results = {}
    for name, f in variants(engine).items():
        tops = [f(r, Question(r["q"], idf)) for r in rows]
        hits = {h: [bool(evidence_rank(t[:5], r["spans"])) for t, r in zip(tops, rows)
                    if h is None or r["half"] == h] for h in (None, "tune", "held")}
        results[name] = {h or "all": sum(v) / len(v) for h, v in hits.items()}
        print(f"  {name:46s} hit@5 {results[name]['all']:.3f}  tuning "
              f"{results[name]['tune']:.3f}  held out {results[name]['held']:.3f}", flush=True)
        if name.startswith("engine"):
            misses = [r for t, r in zip(tops, rows) if not evidence_rank(t[:5], r["spans"])]
            ranks = signal_ranks(engine, rows, misses)
            print(f"  {len(misses)} misses, {len(next(iter(ranks.values()), []))} with the "
                  f"evidence in the fused top 100; {_answers(rows, tops)} hold an answer in "
                  "their top 5 anyway. The evidence's rank among those 100, by:")
            for sig, v in ranks.items():
                print(f"    {sig:28s} top 5: {sum(1 for x in v if x <= 5):3d}, top 10: "
                      f"{sum(1 for x in v if x <= 10):3d}, median {statistics.median(v):.0f}")
    if title:
        from bench.quality_titles import title_weights
        title_weights(engine, rows)
    return results


def main(argv=None) -> int:
    ap = study_parser(__doc__, half=False)     # reports all, tuning and held-out halves itself
    ap.add_argument("--title", action="store_true",
                    help="also rebuild BM25 with the title indexed 0, 1 or 2 times")
    args = ap.parse_args(argv)
    items, texts = load_items(None)
    for engine in engines(args.stores):
        study(engine, items, texts, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())

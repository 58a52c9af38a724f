"""The quality-at-scale signal study (bench/quality_signals.py): its signals measure what they
claim, and on a real store its 'engine' row is the engine's own ranking, so the variants it
compares against are measured against the real thing."""
from __future__ import annotations

from bench.quality_scale import evidence_rank, load_items
from bench.quality_signals import Question, best_sentence, coverage, crowded, proximity, study
from rag import text as T
from rag.types import Chunk

QUESTION = "When was Anis Haqqani released from prison?"


def _chunk(n: int, text: str) -> Chunk:
    return Chunk(f"id{n}", f"f{n}.txt", "Kabul news", 0, text, 0, len(text))


# The same question terms, once in one sentence and once spread over three.
TOGETHER = _chunk(1, "Anis Haqqani was released from prison in 2019. The weather was fine.")
SCATTERED = _chunk(2, "Anis spoke at length in Kabul on Monday about many things. "
                      "Haqqani fighters were seen near the market and the old mosque. "
                      "A prisoner was released from a prison elsewhere that year.")


def _q():
    return Question(QUESTION, lambda term: 1.0)


def test_one_sentence_holding_the_question_beats_terms_spread_over_the_chunk():
    q = _q()
    assert coverage(q, TOGETHER) == coverage(q, SCATTERED) == 1.0
    assert best_sentence(q, TOGETHER) == 1.0
    assert best_sentence(q, SCATTERED) == 0.5      # "released ... prison" only
    assert proximity(q, TOGETHER) == 1.0 > proximity(q, SCATTERED)


def test_the_rare_and_predicate_queries_are_words_bm25_tokenizes_back():
    rare = {t: 5.0 for t in T.terms("Anis Haqqani")}
    q = Question(QUESTION, lambda t: rare.get(t, 1.0))
    assert q.rare.split() == ["anis", "haqqani"]
    assert q.predicate.split() == ["released", "prison"]


def test_crowded_is_the_share_of_near_equal_bm25_scores():
    assert crowded([(None, 10.0), (None, 9.0), (None, 5.0)], n=3) == 2 / 3
    assert crowded([], n=30) == 0.0


def test_the_engine_row_is_the_engines_ranking_and_the_title_row_rebuilds_bm25(engine, capsys):
    from bench.quality_scale import question_rows
    from bench.quality_titles import title_weights
    from eval.dataset import evidence_spans, half_of
    items, texts = load_items(None)
    items = items[:24]
    results = study(engine, items, texts)
    assert len(results) == 10 and all(0.0 <= v["all"] <= 1.0 for v in results.values())
    direct = []
    for it in items:
        q = engine.rewrite(it.question, list(it.history)) if it.history else it.question
        top = [(p.chunk, p.score) for p in engine.retrieve(q, 5)]
        direct.append(bool(evidence_rank(top, evidence_spans(it, texts))))
    row = results["engine (fused top 10 re-ranked)"]
    assert row["all"] == sum(direct) / len(direct)
    out = capsys.readouterr().out
    assert "the ceiling of any re-rank" in out and "misses" in out
    # BM25 rebuilt with the title indexed once is the engine's own BM25: the same hit@5.
    rows = question_rows(engine, items, texts)
    for r, it in zip(rows, items):
        r["half"] = half_of(it.id)
    assert title_weights(engine, rows, weights=(1,))[1]["all"] == row["all"]

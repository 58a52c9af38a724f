"""Every metric of eval.md against values computed by hand on small constructed answers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from eval import metrics as M
from eval.dataset import QAItem


def words(text: str) -> int:
    """A token counter whose counts are easy to check by eye."""
    return len(text.split())


def P(n, source, start, end, text="filler words here"):
    return {"n": n, "source": source, "title": "", "start": start, "end": end, "text": text,
            "score": 1.0 / n}


# --------------------------------------------------------------------------- relevance
@pytest.mark.parametrize("start,end,expected", [
    (15, 100, True),      # covers 5 of 10 characters: exactly half
    (16, 100, False),     # 4 of 10
    (0, 15, True),
    (0, 14, False),
    (12, 18, True),       # inside the span, 6 of 10
    (13, 17, False),      # inside the span, 4 of 10
    (10, 20, True),
    (20, 30, False),      # touching, no overlap
])
def test_relevance_is_half_of_the_evidence_span(start, end, expected):
    assert M.relevant(P(1, "a.txt", start, end), ("a.txt", 10, 20)) is expected


def test_relevance_needs_the_same_file_but_tolerates_a_path():
    assert not M.relevant(P(1, "b.txt", 0, 100), ("a.txt", 10, 20))
    assert M.relevant(P(1, "data/articles/a.txt", 0, 100), ("a.txt", 10, 20))


# --------------------------------------------------------------------------- retrieval
SPANS = [("a.txt", 100, 120), ("b.txt", 0, 10)]
RANKED = [P(1, "c.txt", 0, 50, "nothing here"),
          P(2, "a.txt", 90, 115, "the answer is 10 times"),   # 15/20 of span 1
          P(3, "a.txt", 0, 50, "in 2010 he left"),
          P(4, "b.txt", 0, 10, "b text")]                      # all of span 2


def test_retrieval_at_3():
    s = M.retrieval_scores(RANKED, SPANS, ["10 times"], 3, words)
    assert s["hit"] is True
    assert s["mrr"] == 0.5
    assert s["evidence_recall"] == 0.5
    # DCG = 1/log2(3); ideal = 1 + 1/log2(3) (two spans, k=3)
    assert s["ndcg"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert s["answer_in_context"] is True
    assert s["context_tokens"] == 2 + 5 + 4
    assert s["first_relevant_rank"] == 2


def test_retrieval_at_1_misses():
    s = M.retrieval_scores(RANKED, SPANS, ["10 times"], 1, words)
    assert (s["hit"], s["mrr"], s["evidence_recall"], s["ndcg"]) == (False, 0.0, 0.0, 0.0)
    assert s["answer_in_context"] is False
    assert s["context_tokens"] == 2


def test_k_larger_than_the_passages():
    s4 = M.retrieval_scores(RANKED, SPANS, ["10 times"], 4, words)
    s10 = M.retrieval_scores(RANKED, SPANS, ["10 times"], 10, words)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert s4["ndcg"] == pytest.approx(expected) and s10["ndcg"] == pytest.approx(expected)
    assert s10["evidence_recall"] == 1.0
    assert s10["context_tokens"] == s4["context_tokens"] == 13


def test_ndcg_ideal_uses_min_of_spans_and_k_and_is_capped():
    one_span = [("a.txt", 100, 120)]
    assert M.ndcg(RANKED, one_span, 5) == pytest.approx(1 / math.log2(3))
    two_relevant = [P(1, "a.txt", 95, 120), P(2, "a.txt", 100, 130)]
    assert M.ndcg(two_relevant, one_span, 5) == 1.0      # 1.63 / 1 without the cap


def test_no_evidence_spans_leave_span_metrics_undefined():
    s = M.retrieval_scores(RANKED, [], [], 3, words)
    assert s["hit"] is s["mrr"] is s["evidence_recall"] is s["ndcg"] is None
    assert s["answer_in_context"] is None
    assert s["context_tokens"] == 11


def test_no_passages():
    s = M.retrieval_scores([], SPANS, ["10"], 5, words)
    assert (s["hit"], s["mrr"], s["evidence_recall"], s["ndcg"], s["context_tokens"]) == \
        (False, 0.0, 0.0, 0.0, 0)


def test_alias_matching_is_at_token_boundaries():
    assert not M.contains_alias("in 2010 he left", ["10"])
    assert M.contains_alias("He went ten times.", ["10"])
    assert M.contains_alias("It cost $5m.", ["5 million dollars"])
    assert not M.contains_alias("anything", ["the"])     # empty after normalisation


# --------------------------------------------------------------------------- answers
def test_answer_exact_after_normalisation():
    s = M.answer_scores("Ten times.", ["10", "ten times"])
    assert s == {"em": True, "f1": 1.0, "containment": True, "token_recall": 1.0}


def test_long_answer_contains_but_f1_is_punished():
    s = M.answer_scores("He travelled to Pakistan 10 times", ["10 times"])
    assert s["em"] is False
    assert s["f1"] == pytest.approx(0.5)         # P = 2/6, R = 1
    assert s["containment"] is True
    assert s["token_recall"] == 1.0


def test_partial_answer():
    s = M.answer_scores("Mullah Baradar", ["Mullah Abdul Ghani Baradar", "Abdul Ghani"])
    assert s["f1"] == pytest.approx(2 / 3)       # P = 1, R = 2/4 against the first alias
    assert s["token_recall"] == 0.5
    assert s["containment"] is False


def test_empty_answer():
    assert M.answer_scores("", ["10"]) == {"em": False, "f1": 0.0, "containment": False,
                                           "token_recall": 0.0}


def test_no_aliases_means_undefined():
    assert set(M.answer_scores("x", []).values()) == {None}


def test_f1_follows_squad_on_empty_sides():
    assert M.f1([], []) == 1.0 and M.f1(["a"], []) == 0.0 and M.f1([], ["a"]) == 0.0
    assert M.f1(["x", "x", "y"], ["x", "y", "y"]) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- citations
def cited_answer(sentence_cites, supported=None):
    passages = [P(1, "a.txt", 0, 100, "Baradar was released in 2018"),
                P(2, "a.txt", 500, 600, "the talks resumed"),
                P(3, "b.txt", 0, 100, "unrelated")]
    supported = supported or [True] * len(sentence_cites)
    return {"answer": "x", "abstained": False, "passages": passages,
            "sentences": [{"text": "s", "citations": c, "supported": sup}
                          for c, sup in zip(sentence_cites, supported)]}


def test_citations_with_duplicates_and_an_invalid_number():
    a = cited_answer([[1, 1, 4], [2], [1]], supported=[True, False, False])
    spans = [("a.txt", 10, 20), ("b.txt", 0, 10)]
    s = M.citation_scores(a, spans, ["2018"])
    assert M.cited_numbers(a) == [1, 4, 2, 1]
    assert s["citation_validity"] == 0.75            # 4 was never shown
    assert s["citation_precision"] == 0.5            # 1 relevant; 2 neither relevant nor has alias
    assert s["citation_recall"] == 0.5               # the b.txt span is not cited
    assert s["supported_answer"] is True
    assert s["supported_sentences"] == pytest.approx(1 / 3)


def test_citation_precision_counts_a_passage_holding_an_alias():
    s = M.citation_scores(cited_answer([[2]]), [("a.txt", 10, 20)], ["talks"])
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 0.0
    assert s["supported_answer"] is True


def test_no_citations():
    s = M.citation_scores(cited_answer([[]]), [("a.txt", 10, 20)], ["2018"])
    assert s["citation_validity"] is None and s["citation_precision"] is None
    assert s["citation_recall"] == 0.0 and s["supported_answer"] is False


def test_only_invalid_citations():
    s = M.citation_scores(cited_answer([[0], [9]]), [("a.txt", 10, 20)], ["2018"])
    assert s["citation_validity"] == 0.0
    assert s["citation_precision"] is None and s["supported_answer"] is False


def test_unanswerable_citations_have_no_gold():
    s = M.citation_scores(cited_answer([[1]]), [], [])
    assert s["citation_validity"] == 1.0
    assert s["citation_precision"] is s["citation_recall"] is s["supported_answer"] is None


# --------------------------------------------------------------------------- whole questions
def item(answerable=True, answers=("2018",)):
    return QAItem(id="q", question="When?", answers=tuple(answers) if answerable else (),
                  evidence=("e",) if answerable else (), source="a.txt" if answerable else "",
                  answerable=answerable, kind="date" if answerable else "unanswerable")


def answer(text, abstained=False, passages=None, cites=(1,)):
    passages = passages if passages is not None else [
        P(1, "a.txt", 0, 100, "Baradar was released in 2018"), P(2, "c.txt", 0, 9, "weather")]
    return {"answer": text, "abstained": abstained, "passages": passages,
            "sentences": [] if abstained else [{"text": text, "citations": list(cites),
                                                "supported": True}]}


SPAN = [("a.txt", 10, 20)]


@pytest.mark.parametrize("ans,it,spans,label,crag,correct", [
    (answer("In 2018."), item(), SPAN, "ok", 1, True),
    (answer("In 2018.", cites=(2,)), item(), SPAN, "bad_citation", 1, True),
    (answer("In 2018.", passages=[P(1, "c.txt", 0, 9, "2018")]), item(), SPAN,
     "retrieval_miss", 1, True),
    (answer("The indexed articles do not say 2018.", abstained=True), item(), SPAN,
     "false_abstention", 0, False),
    (answer("In 2017."), item(), SPAN, "reader_miss", -1, False),
    (answer("In 2017."), item(answers=("May 2018",)), SPAN, "hallucination", -1, False),
    (answer("In 2017."), item(answerable=False), [], "hallucination", -1, False),
    (answer("no", abstained=True), item(answerable=False), [], "ok", 0, True),
])
def test_labels_crag_and_correct(ans, it, spans, label, crag, correct):
    s = M.score_question(ans, it, spans, 5, words)
    assert (s["label"], s["crag_score"], s["accuracy"]) == (label, crag, correct)


def test_abstained_text_is_never_scored_and_abstention_rates():
    s = M.score_question(answer("2018", abstained=True), item(), SPAN, 5, words)
    assert s["containment"] is False and s["em"] is False and s["answer_tokens"] == 0
    assert s["false_abstention"] is True and s["noans_accuracy"] is None
    assert s["citation_validity"] is None and s["supported_answer"] is None
    u = M.score_question(answer("x", abstained=True), item(answerable=False), [], 5, words)
    assert u["noans_accuracy"] is True and u["false_abstention"] is None and u["em"] is None


# --------------------------------------------------------------------------- aggregates
def test_means_skip_undefined_values_and_count_them():
    means, counts = M.mean_scores([{"hit": True, "crag_score": 1}, {"hit": None, "crag_score": -1},
                                   {"hit": False, "crag_score": 0}], ["hit", "crag_score", "f1"])
    assert means == {"hit": 0.5, "crag_score": 0.0, "f1": None}
    assert counts == {"hit": 2, "crag_score": 3, "f1": 0}


def test_percentile_matches_numpy():
    vals = [5.0, 1.0, 9.0, 3.0, 7.5, 2.25]
    for q in (0, 50, 95, 100):
        assert M.percentile(vals, q) == pytest.approx(np.percentile(vals, q))
    assert M.percentile([], 50) is None


def test_latency_per_stage():
    lat = M.latency([{"retrieve": 10, "total": 30}, {"retrieve": 20, "total": 50},
                     {"retrieve": 30, "total": 40, "answer": 5}])
    assert lat["retrieve"] == {"p50": 20.0, "p95": 29.0, "n": 3}
    assert lat["answer"] == {"p50": 5.0, "p95": 5.0, "n": 1}


def test_hit_curve():
    scores = [{"hit": True, "first_relevant_rank": 1}, {"hit": True, "first_relevant_rank": 3},
              {"hit": False, "first_relevant_rank": None}, {"hit": None}]
    assert M.hit_curve(scores, 4) == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert M.hit_curve([{"hit": None}], 2) == [None, None]


def test_threshold_curve():
    rows = [(True, False, 0.9), (True, False, 0.5), (False, False, 0.6), (False, True, 0.3),
            (True, True, None)]
    curve = M.threshold_curve(rows)
    got = [x for c in curve for x in (c["noans_accuracy"], c["false_abstention"])]
    assert [c["threshold"] for c in curve[:4]] == [0.3, 0.5, 0.6, 0.9]
    assert got == pytest.approx([0.5, 1 / 3, 0.5, 1 / 3, 0.5, 2 / 3, 1.0, 2 / 3, 1.0, 1.0])
    assert M.threshold_curve([(True, False, None)]) == []

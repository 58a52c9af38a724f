"""The extractive answerer's direct answer ("10 times [1]." before the quoted sentence) and the
answer-type signals behind it (rag.direct, rag.text.kinds, rag.text.related)."""
from __future__ import annotations

from rag import text as T
from rag.direct import short_answer


def _short(sentence: str, question: str) -> str:
    kind = T.expected_type(question)
    spans = T.answer_spans(sentence, kind, question)
    counted = set(T.terms(" ".join(T.counted_words(question, 3))))
    return short_answer(sentence, spans[0] if spans else None, counted, kind, question)


def test_a_count_is_shown_with_what_it_counts():
    s = "Atmar says he travelled to Pakistan 10 times to secure the release of Baradar."
    assert _short(s, "How many times did Atmar travel to Pakistan?") == "10 times"
    assert _short("A 21-member jirga met.", "How many members did the jirga have?") == "21-member"
    assert _short("Over 4.5 million people have benefited.",
                  "How many people have benefited?") == "4.5 million people"


def test_a_bare_or_unrelated_number_is_not_shown():
    # "a 71-year-old" does not count tanks; a year never answers "how many".
    s = "Haji E'tibar, a 71-year-old who fought in 2001, said so."
    assert _short(s, "How many tanks did the network capture?") == ""
    assert _short("He stayed two weeks.", "How much aid did he bring?") == ""
    assert _short("The staff were held for two weeks.", "For how long were the staff held?") \
        == "two weeks"


def test_counted_words_and_related_predicates():
    assert T.counted_words("How many US soldiers died in Khost?") == ["US", "soldiers"]
    assert T.matched({"die"}, set(T.terms("left eight confirmed dead"))) == {"die"}
    assert T.matched({"freed"}, set(T.terms("he was released in 2018"))) == {"freed"}
    assert not T.matched({"die"}, set(T.terms("he was released in 2018")))


def test_the_direct_answer_comes_first_and_the_quote_keeps_its_citation(engine):
    a = engine.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert not a.abstained
    assert a.text.startswith("10 times [")
    direct, quote = a.sentences[0], a.sentences[1]
    assert direct.text == "10 times" and direct.citations == quote.citations
    assert "travelled to Pakistan 10 times" in quote.text and quote.supported
    n = quote.citations[0]
    p = next(c for c in a.citations if c.n == n)
    s, e = a.highlights[n]                       # the highlight is the quoted sentence
    assert "10 times" in p.chunk.text[s - p.chunk.start:e - p.chunk.start]


def test_a_name_question_gets_no_direct_answer(engine):
    a = engine.ask("Who is Mullah Abdul Ghani Baradar?")
    assert all(len(s.text) > 20 for s in a.sentences)

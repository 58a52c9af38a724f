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


def test_a_when_question_gets_the_date_tied_to_its_predicate(engine):
    # "arrested in 2010 and held until 2018": the date in the clause of the asked predicate's
    # head ("released"; "held until" says released), not the first date or the one beside
    # "custody" (related to "arrested").
    a = engine.ask("When was Mullah Baradar released from Pakistani custody?")
    assert not a.abstained
    assert a.text.startswith("2018 ["), a.text
    a = engine.ask("In what year was Mullah Baradar arrested by Pakistan's intelligence service?")
    assert a.text.startswith("2010 ["), a.text


def test_a_date_is_shown_whole():
    s = "Albares said on Friday, 12 December, that Spain will not recognise the Taliban."
    assert _short(s, "On what date did Albares speak?") == "Friday, 12 December"
    s = "A few weeks later, in early October 2021, Haniyeh called the Emirate again."
    assert _short(s, "When did Haniyeh call?") == "early October 2021"
    # A date word of the question does not hide the fuller date of the sentence.
    s = "Muttaqi spoke in Tehran on 23 December 2023, before the vote."
    assert _short(s, "What date in December 2023 did Muttaqi speak?") == "23 December 2023"


def test_no_date_for_a_weekday_alone_or_a_when_inside_another_question():
    assert _short("The embassy reopened on Sunday.", "When did the embassy reopen?") == ""
    s = "The law, issued on 21 August 2024, tasks the enforcers with checks."
    assert _short(s, "What device was broken when the attacker got in?") == ""


def test_a_clause_ends_at_a_conjunction_but_not_inside_a_range():
    def around(s, w):
        i = s.index(w)
        a, b = T.clause(s, i, i + len(w))
        return s[a:b]
    assert around("He was arrested in 2010 and held until 2018.", "2018") == "held until 2018."
    assert around("Between 200 and 300 people were there.", "300") == \
        "Between 200 and 300 people were there."
    assert around("the 2008 assault on the Serena Hotel, and the 2017 truck bombing that killed "
                  "96 people", "96") == "the 2017 truck bombing that killed 96 people"


def test_the_asked_type_of_where_which_city_names_and_exact_dates():
    assert T.expected_type("Where in Pakistan was Baradar held?") == "place"
    assert T.expected_type("In which city did the talks take place?") == "place"
    assert T.expected_type("On what exact date will Tehran host the meeting?") == "date"
    assert T.expected_type("What were the names of the two professors?") == "name"
    # A place the question names is not an answer to it; one it does not name is.
    s = "He was arrested by Pakistan’s intelligence service in 2010 and held until 2018."
    assert T.answer_spans(s, "place", "Where in Pakistan was Baradar held?") == []
    s = "The Haqqani network, who Washington says are based in Pakistan’s North Waziristan region."
    q = "Where does Washington say the Haqqani network is based?"
    assert [s[a:b] for a, b in T.answer_spans(s, "place", q)] == ["Pakistan’s North Waziristan"]
    s = "He attended several meetings inside the presidential palace."
    assert [s[a:b] for a, b in T.answer_spans(s, "place", "Where did he meet?")] == \
        ["inside the presidential palace"]


def test_a_count_is_not_a_day_of_the_month_nor_a_figure_of_another_year():
    s = "Kabir went to Doha to attend the funeral on 4 August, and left on August 5 with two aides."
    q = "How many officials attended the funeral?"
    assert [s[a:b] for a, b in T.answer_spans(s, "number", q)] == ["two"]
    s = ("The network is accused of the 2008 assault on the Serena Hotel in Kabul, the 2012 attack "
         "on a US base in Khost, and the 2017 truck bombing that killed 96 people in Kabul.")
    assert T.answer_spans(s, "number", "How many US soldiers died in the 2012 attack?") == []
    assert [s[a:b] for a, b in T.answer_spans(
        s, "number", "How many people died in the 2017 truck bombing?")] == ["96"]


def test_a_number_joined_to_a_word_counts_only_what_is_asked():
    # "five-star" counts no one: q224 was answered from the Serena Hotel's "five-star".
    s = "the 2008 assault on the five-star Serena Hotel in Kabul"
    assert T.answer_spans(s, "number", "How many people died in the 2008 assault?") == []
    assert T.answer_spans("A 21-member jirga met.", "number",
                          "How many members did the jirga have?") == [(2, 4)]
    assert T.answer_spans("another three-day jirga was held", "number",
                          "How long did the jirga last?") == [(8, 13)]

"""The extractive answerer's choice of sentences: what joins the best one, and what it cites."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("question", [
    "When was Anis Haqqani arrested?",
    "Who is the spokesperson for Pakistan's Foreign Ministry?",
])
def test_no_second_citation_when_the_best_sentence_holds_the_whole_question(engine, question):
    """The runner-up from another passage ("The US Department of the Treasury designated Khalil
    al-Rahman Haqqani ... in February 2011") added a citation without the answer, because it
    scored within 80% of a best sentence that already held every word of the question."""
    a = engine.ask(question)
    assert not a.abstained, a.text
    quoted = [s for s in a.sentences if not s.direct]
    assert len(quoted) == 1, a.text
    assert len({c.n for c in a.citations}) == 1, a.text


def test_a_sentence_about_the_asked_person_beats_one_that_lacks_the_name(engine):
    """The best-scoring sentence ("... making it challenging to find a job") lacked "Richard
    Bennett", so the name gate declined the question although the sentence naming him as the UN
    special rapporteur was among the passages (a false abstention)."""
    a = engine.ask("What is Richard Bennett's job?")
    assert not a.abstained, a.abstain_reason
    assert "special rapporteur" in a.text.lower(), a.text

"""In-passage pronoun carry (rag/carry.py): a "He ..." sentence after the sentence naming the
person is credited with that person, so the extractive answerer can answer from it. The texts
are the articles' own (data/articles)."""
from __future__ import annotations

from rag import text as T
from rag.answer_extractive import ExtractiveAnswerer
from rag.carry import carried, preceding_text, subject_pronoun
from rag.types import Chunk, Passage

BARADAR = ("Mullah Abdul Ghani Baradar is one of the founders of the Taliban and a close associate "
           "of the group’s founder, Mullah Omar. He was arrested by Pakistan’s intelligence "
           "service in 2010 and held until 2018. Baradar was released following US efforts, "
           "particularly by Zalmay Khalilzad, the former US special representative for "
           "Afghanistan, and later became head of the Taliban’s political office in Qatar.\n"
           "Baradar was a signatory to the Doha peace agreement between the Taliban and the United "
           "States. He now serves as the Taliban administration’s deputy prime minister for "
           "economic affairs and is regarded as one of the most influential figures in Kabul’s "
           "current leadership.")
HANIYEH = ("A few weeks later, in early October 2021, Haniyeh called the Emirate again, as Anadolu "
           "reported. This time, he spoke to Muttaqi. He again praised the Taleban’s victory over "
           "the US, but also urged Muttaqi to keep the topic of Palestine present in his speeches.")


def _carried(text: str, before: str = "") -> list[tuple[str, str]]:
    spans = T.sentence_spans(text)
    return [(text[s:e][:20], name) for (s, e), name in zip(spans, carried(text, spans, before))]


def test_he_is_the_person_the_sentence_before_names_first():
    got = _carried(BARADAR)
    assert got[0][1] == ""                                   # names him itself
    assert got[1] == ("He was arrested by P", "Mullah Abdul Ghani Baradar")   # not Mullah Omar
    assert got[2][1] == ""
    assert got[4] == ("He now serves as the", "Baradar")     # across a paragraph break


def test_a_chain_of_he_sentences_keeps_its_subject_and_an_opening_phrase_is_skipped():
    got = _carried(HANIYEH)
    assert [n for _, n in got] == ["", "Haniyeh", "Haniyeh"]   # Muttaqi is the object
    assert subject_pronoun("This time, he spoke to Muttaqi.") == "he"
    assert subject_pronoun("But she said so.") == "she"
    assert subject_pronoun("The envoy said he would go.") is None      # "he" is not the subject


def test_the_pronoun_kind_picks_the_kind_of_name():
    text = ("The Haqqani Network is based in North Waziristan. They deny it. "
            "Pakistan said so. She left.")
    assert [n for _, n in _carried(text)] == ["", "Haqqani Network", "", ""]


def test_it_and_these_carry_the_thing_or_organisation_named_before():
    kurram = ("The Kurram Agreement, which aimed to end sectarian conflict, secured strategic "
              "locations for the Haqqani Network. These achievements were the direct result of "
              "Khalil Haqqani’s mediation and influence.")
    assert _carried(kurram)[1] == ("These achievements w", "Kurram Agreement")
    barmal = ("The Taliban Ministry of National Defense condemned the late-evening attack in "
              "Barmal, a district in the Afghan border province of Paktika. It asserted via the X "
              "social media platform that Pakistani refugee families residing in the area were "
              "the victims.")
    assert _carried(barmal)[1][1] == "Taliban Ministry of National Defense"


def test_a_word_capitalised_only_because_it_opens_the_sentence_is_not_carried():
    text = ("Securing supply routes for the Haqqani Network were areas in which Khalil Haqqani "
            "played a decisive role. His activities were heavily focused in Pakistan’s urban "
            "areas.")
    assert _carried(text + " He was arrested in 2015.")[2][1] == "Khalil Haqqani"


def _passage(n: int, text: str, start: int) -> Passage:
    return Passage(n, Chunk.make("a.txt", "Baradar", 0, text, start, start + len(text)), 1.0)


def test_a_passage_opening_with_he_looks_into_the_overlapping_passage_before_it():
    cut = BARADAR.index("He was arrested")
    first, second = _passage(1, BARADAR[:cut + 20], 0), _passage(2, BARADAR[cut:], cut)
    before = preceding_text(second, [second, first])
    assert before.endswith("Mullah Omar. ")
    assert _carried(second.chunk.text, before)[0][1] == "Mullah Abdul Ghani Baradar"
    assert preceding_text(first, [first, second]) == ""


def test_phrases_say_a_word_without_using_it():
    assert T.phrased("He was held until 2018.") == set(T.terms("released"))
    assert T.phrased("The talks were held in Doha.") == set()
    assert T.rephrase("when was he let go?") == "when was he released?"


def test_the_answerer_answers_from_the_he_sentence(embedder):
    """Without the carry the "He" sentence lacks Baradar and loses to one that names him but
    holds no date; with it, it is the answer, cited to its own passage."""
    other = _passage(2, "Baradar was a signatory to the Doha peace agreement between the Taliban "
                        "and the United States.", 5000)
    answerer = ExtractiveAnswerer(embedder)
    for question in ("When was Baradar arrested?", "When was Baradar released?"):
        answer = answerer.answer(question, [other, _passage(1, BARADAR, 0)])
        assert not answer.abstained, (question, answer.abstain_reason)
        quote = next(s for s in answer.sentences if not s.direct)
        assert quote.text.startswith("He was arrested") and quote.citations == (1,)


def test_a_possessive_is_not_the_sentence_subject():
    """"Her husband was killed" is about the husband: crediting it with the woman named before
    answered "Was she killed?" from it; and a "he" after it means the husband, not her."""
    text = ("Fatima Amiri is a journalist in Kabul. Her husband was killed in a bombing in 2019. "
            "He had worked for the ministry.")
    assert [n for _, n in _carried(text)] == ["", "", ""]
    # ... but it keeps the topic for a "he" after it (the article's own text)
    text = ("Securing supply routes were areas in which Khalil Haqqani played a decisive role. "
            "His activities were heavily focused in Pakistan’s urban areas. The research centre "
            "member added: “His relationships with tribes in Pakistan dated back to the jihad "
            "era. He had strong ties with Sunni tribes in Kurram Agency.")
    assert [n for _, n in _carried(text)] == ["", "", "", "Khalil Haqqani"]


def test_a_name_in_the_same_sentence_before_the_pronoun_wins():
    text = ("Haniyeh called the Emirate again. According to Muttaqi, he asked for nothing. "
            "According to Muttaqi, his government would not change course.")
    assert [n for _, n in _carried(text)] == ["", "Muttaqi", ""]


def test_a_pronoun_after_several_opening_phrases_is_the_subject():
    text = "Baradar was a founder of the Taliban. Then, in 2016, he left. In 2018, after talks, he returned."
    assert subject_pronoun("Then, in 2016, he left.") == "he"
    assert [n for _, n in _carried(text)] == ["", "Baradar", "Baradar"]

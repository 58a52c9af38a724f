"""Citation parsing, sentence splitting and support verification (rag/citations.py).

The verification pairs are real: each claim is checked against a ~200-token window of an article
in data/articles around an anchor phrase, the size of a chunk the retriever would show.
"""
from __future__ import annotations

import re

import pytest

from rag import tokens
from rag.citations import check, citation_numbers, parse_citations, split_sentences, verify
from rag.settings import default_corpus
from rag.types import Chunk, Passage

SHOWN = {1, 2, 3, 4, 5}


@pytest.mark.parametrize("text, cites, dropped", [
    ("Claim [1].", (1,), ()),
    ("Claim [0].", (), (0,)),                      # [0] never becomes the last passage
    ("Claim [10][1].", (1,), (10,)),               # [10] beside [1]: only [1] survives
    ("Claim [1][2].", (1, 2), ()),
    ("Claim [1, 2].", (1, 2), ()),
    ("Claim [1,3 , 5].", (1, 3, 5), ()),
    ("Claim [1-3].", (1, 2, 3), ()),
    ("Claim [2–4].", (2, 3, 4), ()),               # en dash
    ("Claim [4-7].", (4, 5), (6, 7)),
    ("Claim 【1】【2】.", (1, 2), ()),
    ("Claim ［3］.", (3,), ()),
    ("Claim [Passage 2].", (2,), ()),
    ("Claim [6].", (), (6,)),
    ("Claim [99999999].", (), (99999999,)),
    ("Claim [1][1].", (1,), ()),
    ("Claim with no citation.", (), ()),
])
def test_parse_one_sentence(text, cites, dropped):
    parsed = parse_citations(text, SHOWN)
    assert [s.citations for s in parsed.sentences] == [cites]
    assert parsed.dropped == dropped
    assert parsed.sentences[0].text == "Claim." or not cites and "citation" in text


def test_huge_range_keeps_only_its_ends():
    assert citation_numbers("1-100000") == [1, 100000]


def test_markers_are_normalised_in_place_and_bad_ones_removed():
    text = "He was freed in 2018 [1, 2].\n\nHe leads talks 【3】 and [0] more [7]."
    parsed = parse_citations(text, {1, 2, 3})
    assert parsed.text == "He was freed in 2018 [1][2].\n\nHe leads talks [3] and more."
    assert parsed.dropped == (0, 7)


def test_split_sentences_keeps_abbreviations_and_moves_trailing_markers():
    text = ("U.S. Secretary Hillary Clinton went to Islamabad [1]. Mr. Mullen spoke on Sept. 11 "
            "about 2.5 million people. [2] Was it true? Yes [3].\n- a list item [1]\n- another [2]")
    assert split_sentences(text) == [
        "U.S. Secretary Hillary Clinton went to Islamabad [1].",
        "Mr. Mullen spoke on Sept. 11 about 2.5 million people. [2]",
        "Was it true?", "Yes [3].", "- a list item [1]", "- another [2]"]


def test_split_sentences_cjk_punctuation():
    assert split_sentences("他走了。【1】她来了。【2】") == ["他走了。 【1】", "她来了。 【2】"]


def _passage(n: int, text: str) -> Passage:
    return Passage(n, Chunk.make("x.txt", "Title", 0, text, 0, len(text)), 1.0)


def test_check_marks_support_and_reports_dropped_numbers():
    passages = [_passage(1, "Baradar was arrested in 2010 and held until 2018 by Pakistan."),
                _passage(2, "Spain will not recognise the Taliban, Albares said in Madrid.")]
    checked = check("Baradar was held by Pakistan until 2018 [1]. Albares spoke in Madrid [1]. "
                    "He was freed [3]. Nothing cited here.", passages)
    assert [(s.citations, s.supported) for s in checked.sentences] == [
        ((1,), True), ((1,), False), ((), False), ((), False)]
    assert any("[3]" in n for n in checked.notices)
    assert any("3 of 4" in n for n in checked.notices)


# ---- verification against real passages ----------------------------------------------------

A0, A1, A2, A3, A4 = "000", "001", "002", "003", "004"
SUPPORTED = [   # near-copies of the article's wording
    ("Atmar travelled to Pakistan 10 times to secure Baradar's release.", A0, "says he travelled to Pakistan 10 times"),
    ("Baradar was arrested by Pakistan's intelligence service in 2010 and held until 2018.", A0, "He was arrested by Pakistan’s intelligence service in 2010"),
    ("Baradar later became head of the Taliban's political office in Qatar.", A0, "later became head of the Taliban’s political office in Qatar"),
    ("Richard Bennett said the Taliban's treatment of women amounts to crimes against humanity.", A0, "amounts to “crimes against humanity”"),
    ("Spain will not recognise the Taliban, its foreign minister José Manuel Albares said.", A0, "his country will not recognise the Taliban"),
    ("In February 2011 the US Treasury announced a $5 million bounty on Khalil-ur-Rahman Haqqani.", A0, "In February 2011, the US Treasury Department added his name"),
    ("Khalil-ur-Rahman Haqqani was killed on December 11 by an ISIS suicide bomber inside his ministry.", A0, "he was killed by an ISIS suicide bomber inside his ministry"),
    ("Under the deal the army released 43 Taliban leaders, including Khalil-ur-Rahman Haqqani.", A0, "along with 43 Taliban leaders"),
    ("Nearly 6,000 Haqqani Network fighters took control of Kabul.", A1, "nearly 6,000 jihadis"),
    ("Anis Haqqani was sentenced to death in 2016 but released in 2019 in exchange for two professors.", A1, "In 2016, Anis Haqqani was sentenced to death"),
    ("The 2017 truck bombing near the German Embassy in Kabul killed 96 people.", A1, "truck bombing near the German Embassy"),
    ("Donald Trump struck a deal with the Taliban in February 2020.", A1, "struck a deal with the Taliban in February 2020"),
    ("A Haqqani commander said the group would not take part in peace talks with the United States on its own.", A2, "will not take part individually"),
    ("More than 2,700 NATO troops had been killed since 2001.", A2, "More than 2,700 NATO troops"),
    ("Sirajuddin, the son of Jalaluddin Haqqani, is the group's operational leader.", A2, "his son, Sirajuddin, is the group’s operational leader"),
    ("Hillary Clinton urged Pakistan to persuade the Haqqanis to pursue peace.", A2, "urged Pakistan to persuade the Haqqanis"),
    ("Sirajuddin Haqqani signed the agreement with TTP leaders and al-Qaeda commanders in the Mir Ali area of North Waziristan.", A4, "Sirajuddin Haqqani signed the agreement with leaders"),
    ("Uyghur fighters of the East Turkestan Movement were sent to Shindand district in Herat.", A4, "Uyghur fighters of the East Turkestan Movement"),
    ("In June 2023 a UN Security Council report said the killing of al-Zawahiri caused mistrust among some Taliban members.", A4, "In June 2023, the United Nations Security Council"),
    ("Mufti Noor Wali Mehsud replied that the sun cannot be hidden with two fingers.", A4, "The sun cannot be hidden with two fingers"),
    ("Hamas leader Ismail Haniyeh was assassinated in Tehran on 31 July 2024.", A3, "on 31 July 2024 when he came to Tehran"),
    ("Serajuddin Haqqani said the Emirate does not interfere in the internal affairs of others but has faith-based sympathy with Muslims.", A3, "We do not interfere in others’ internal affairs"),
    ("Zabihullah Mujahed condemned Israel's siege of Gaza in a post on X on 14 October.", A3, "Zabihullah Mujahed, on 14 October"),
    ("According to Peter Bergen, the Haqqani Network helped Bin Laden escape during the Battle of Tora Bora in 2001.", A1, "Battle of Tora Bora in 2001"),
]
PARAPHRASED = [   # supported, in other words, as a model would write them
    ("Atmar said he made ten trips to Pakistan to get Baradar freed.", A0, "travelled to Pakistan ten times"),
    ("Pakistan's spy agency detained Baradar from 2010 until 2018.", A0, "He was arrested by Pakistan’s intelligence service in 2010"),
    ("The UN rapporteur described the Taliban's treatment of women as gender apartheid.", A0, "system of gender apartheid"),
    ("Albares said Madrid remains committed to the rights of Afghan women.", A0, "Spain remains firmly committed to the rights of Afghan women"),
    ("Washington offered $5 million for information leading to Khalil Haqqani's capture.", A1, "offering a $5 million reward"),
    ("About 6,000 Haqqani militants are now in charge of security in Kabul.", A1, "nearly 6,000 jihadis"),
    ("The Haqqani network was behind the 2008 attack on Kabul's Serena Hotel.", A1, "2008 assault on the five-star Serena Hotel"),
    ("Clinton warned of tough action against militants who did not cooperate.", A2, "tough action would have to be taken"),
    ("The Haqqanis say they only operate in Afghanistan.", A2, "operates solely in Afghanistan"),
    ("Hafiz Gul Bahadur moved from Kabul to the border areas of Paktika.", A4, "Hafiz Gul Bahadur went from Shakardara"),
    ("The Taliban barred TTP leaders from giving media interviews.", A4, "banned leaders and commanders of the Tehreek-e-Taliban"),
    ("Kabul issued an official statement on the killing of Haniyeh.", A3, "Kabul was among the few capitals to issue an official statement"),
]
UNSUPPORTED = [
    ("Atmar travelled to Pakistan 15 times to secure Baradar's release.", A0, "says he travelled to Pakistan 10 times"),
    ("Baradar was arrested by Pakistan's intelligence service in 2012 and held until 2018.", A0, "He was arrested by Pakistan’s intelligence service in 2010"),
    ("The 2017 truck bombing near the German Embassy in Kabul killed 150 people.", A1, "truck bombing near the German Embassy"),
    ("More than 5,000 NATO troops had been killed since 2001.", A2, "More than 2,700 NATO troops"),
    ("Baradar later became head of the Taliban's political office in Moscow.", A0, "later became head of the Taliban’s political office in Qatar"),
    ("Hillary Clinton urged India to persuade the Haqqanis to pursue peace.", A2, "urged Pakistan to persuade the Haqqanis"),
    ("Uyghur fighters were sent to Kandahar province.", A4, "Uyghur fighters of the East Turkestan Movement"),
    ("Nearly 6,000 Haqqani Network fighters took control of Kabul.", A2, "More than 2,700 NATO troops"),
    ("Hamas leader Ismail Haniyeh was assassinated in Tehran.", A0, "amounts to “crimes against humanity”"),
    ("Sirajuddin Haqqani signed the agreement with TTP leaders and al-Qaeda commanders in the Mir Ali area of North Waziristan.", A1, "struck a deal with the Taliban in February 2020"),
    ("Baradar was arrested by Pakistan's intelligence service and held for eight years.", A4, "Mullah Baradar told Sirajuddin Haqqani"),
    ("Sirajuddin, the son of Jalaluddin Haqqani, is the group's operational leader.", A4, "Sirajuddin Haqqani signed the agreement with leaders"),
    ("Khalil Haqqani was killed by an ISIS suicide bomber inside his ministry.", A1, "designated Khalil al-Rahman Haqqani a global terrorist"),
    ("A Haqqani commander said the group would not take part in peace talks with the United States on its own.", A0, "saying all sides have jointly declared"),
    ("Abdullah Abdullah was arrested by Pakistan's intelligence service.", A1, "comprising former President Hamid Karzai"),
    ("The Taliban promised to build schools for the children of foreign fighters.", A4, "roads and houses would be built for them"),
    ("Zalmay Khalilzad negotiated Atmar's release from a Pakistani prison.", A0, "Baradar was released following US efforts"),
    ("Albares said Spain would send troops to Afghanistan to protect women.", A0, "Speaking at a gathering of Afghan activists in Madrid"),
    ("Khalil Haqqani ran the Taliban's fundraising networks in Europe and the Gulf.", A1, "is responsible for the fundraising activities"),
    ("Anis Haqqani was flown to Islamabad, where he joined the Pakistani army.", A1, "Later, Anis was flown to Doha"),
    ("Spain will recognise the Taliban government as legitimate.", A0, "his country will not recognise the Taliban"),
    ("Richard Bennett said the situation of women in Afghanistan was improving.", A0, "amounts to “crimes against humanity”"),
    ("The Haqqani commander said the Taliban would stop fighting during the winter.", A2, "The Taliban will keep fighting through Afghanistan’s winter"),
    ("The IEA statement explicitly called for the establishment of a Palestinian state.", A3, "The statement did not explicitly call for the establishment"),
]


def window(article: str, anchor: str, budget: int = 200) -> str:
    """The paragraphs around `anchor`, grown to about `budget` tokens like a retrieved chunk."""
    path = next(default_corpus().glob(f"{article}_*.txt"))
    text = path.read_text(encoding="utf-8")
    i = text.index(anchor)
    paras = list(re.finditer(r"[^\n]+", text))
    lo = hi = next(j for j, m in enumerate(paras) if m.start() <= i < m.end())
    span = lambda: text[paras[lo].start():paras[hi].end()]   # noqa: E731
    while tokens.count(span()) < budget and (lo > 0 or hi + 1 < len(paras)):
        hi = min(hi + 1, len(paras) - 1)
        if tokens.count(span()) < budget and lo > 0:
            lo -= 1
    return span()


def _accuracy(pairs, expected: bool) -> tuple[float, list[str]]:
    misses = [claim for claim, art, anchor in pairs if verify(claim, [window(art, anchor)]) != expected]
    return 1 - len(misses) / len(pairs), misses


def test_verify_keeps_every_supported_claim():
    acc, misses = _accuracy(SUPPORTED + PARAPHRASED, True)
    assert acc == 1.0, misses


def test_verify_rejects_most_unsupported_claims():
    # Measured 19 of 24 (0.79): the 5 misses reuse the passage's own words with a flipped or
    # invented predicate ("will recognise", "build schools"), a known limit of lexical checks.
    acc, misses = _accuracy(UNSUPPORTED, False)
    assert acc >= 0.79, misses


def test_verify_changed_numbers_and_names_are_always_caught():
    for claim, art, anchor in UNSUPPORTED[:7]:
        assert not verify(claim, [window(art, anchor)]), claim


def test_no_citation_is_unsupported():
    assert not verify("Baradar was released in 2018.", [])

"""Text helpers shared by the answerers: sentence spans, content terms, answer-type cues.

Everything here works offline: punkt and the stopword list ship inside llama-index-core.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

_WORD = re.compile(r"(?u)\b\w\w+\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozens?)\b",
                     re.I)
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(rf"\b{_MONTH}\b|\b(?:1[89]|20)\d\d\b|\b(?:Monday|Tuesday|Wednesday|Thursday|"
                   rf"Friday|Saturday|Sunday)\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b|\b[A-Z]{2,}\b")


def _nltk_cache() -> str:
    import llama_index.core
    return os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")


@functools.lru_cache(maxsize=1)
def punkt():
    """English Punkt from the punkt_tab files that ship with llama-index-core. Read directly:
    nltk's own loader only looks under NLTK_DATA and refuses paths outside its data roots."""
    import llama_index.core
    from nltk.tabdata import PunktDecoder
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    d = Path(llama_index.core.__file__).parent / "_static/nltk_cache/tokenizers/punkt_tab/english"
    p, dec = PunktParameters(), PunktDecoder()
    with open(d / "collocations.tab", encoding="utf-8") as f:
        p.collocations = set(dec.tab2tups(f))
    with open(d / "sent_starters.txt", encoding="utf-8") as f:
        p.sent_starters = dec.txt2set(f)
    with open(d / "abbrev_types.txt", encoding="utf-8") as f:
        p.abbrev_types = dec.txt2set(f)
    with open(d / "ortho_context.tab", encoding="utf-8") as f:
        p.ortho_context = dec.tab2intdict(f)
    return PunktSentenceTokenizer(p)


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = (Path(_nltk_cache()) / "corpora" / "stopwords" / "english").read_text().split()
    # Question words carry the question's type, not its topic.
    return frozenset(words) | {"many", "much", "did", "does", "say", "said", "according", "also"}


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer
    return Stemmer.Stemmer("english")


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans in `text` (absolute when `offset` is the text's position in its file).

    Lines are split first: in news text a line break ends a paragraph, a caption or a heading.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            first = len(spans)
            for s, e in punkt().span_tokenize(line):
                # Punkt ends a sentence after a quoted "!" or "?" even when it goes on
                # (“I will fight!” he shouted.): glue a lowercase continuation back on.
                if len(spans) > first and line[s].islower():
                    spans[-1] = (spans[-1][0], offset + pos + e)
                else:
                    spans.append((offset + pos + s, offset + pos + e))
        pos += len(line) + 1
    return spans


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, without stopwords (duplicates kept)."""
    stop = stopwords()
    return _stemmer().stemWords([w for w in words(text) if w not in stop])


def expected_type(question: str) -> str | None:
    """What kind of thing the question asks for, when its wording says so."""
    q = question.lower()
    if re.search(r"\b(what|which|in what) year\b|\bwhat year\b", q):
        return "year"
    if re.search(r"\bhow much (money|aid|funding|did .* (pay|spend|cost|raise))|\bwhat (amount|sum)\b|"
                 r"\bhow much .*\b(cost|worth|paid|spent|raised|fund)", q):
        return "money"
    if re.search(r"\bhow (many|much|long|old|far)\b|\bwhat (number|percentage|share|amount)\b|"
                 r"\bwhat (?:was|is) the (?:number|amount|size|bounty|age|death toll)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (month|day|date)\b|\bwhich (month|day|date)\b|\bon what date\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhose\b|\bwhat is the name\b|\bwhat was the name\b|\bnamed?\b", q):
        return "name"
    return None


_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_MONEY = re.compile(r"[$€£]\s?\d[\d,.]*\s?(?:[mbk]n?\b|million|billion|thousand)?|"
                    r"\b\d[\d,.]*\s?(?:million|billion|thousand)?\s?(?:dollars|afghanis|euros|rupees)\b",
                    re.I)


def has_type(sentence: str, kind: str | None, question: str = "") -> bool:
    """Does the sentence hold something of that kind which the question does not already hold?"""
    if kind is None:
        return False
    pattern = {"year": _YEAR, "number": _NUMBER, "date": _DATE, "name": _NAME, "money": _MONEY}[kind]
    asked = {m.lower() for m in pattern.findall(question)}
    qwords = set(words(question))
    for m in pattern.findall(sentence):
        if m.lower() in asked:
            continue
        if kind == "name" and set(words(m)) <= qwords:
            continue
        if kind == "number" and _YEAR.fullmatch(m):   # "how many" is rarely answered by a year
            continue
        return True
    return False


def is_heading(sentence: str) -> bool:
    """Headings, captions and bylines: short and without closing punctuation."""
    s = sentence.rstrip()
    return not s.endswith((".", "!", "?", "\"", "”", "’", "'", ")")) and len(s.split()) < 12


def name_groups(question: str) -> list[set[str]]:
    """The stemmed parts of each multi-word name in the question ("Hanif Atmar")."""
    return [g for g in (set(terms(m)) for m in _NAME.findall(question)) if len(g) > 1]


def name_credit(found: set[str], groups: list[set[str]], weight: dict[str, float]) -> float:
    """Weight of the question terms found, where part of a name counts for the whole of it.

    News names a person in full once, then by one part ("Atmar said"). The missing parts are
    credited up to the weight of the part that matched, so a rare surname stands for the full
    name but a common family name ("Haqqani") does not stand for every Haqqani.
    """
    total = sum(weight[t] for t in found)
    for g in groups:
        hit, miss = g & found, g - found
        if hit and miss:
            total += min(sum(weight[t] for t in miss), sum(weight[t] for t in hit))
    return total

"""What kind of thing a question asks for (a year, a number, a sum, a date, a name), and
whether a sentence holds one."""
from __future__ import annotations

import re

from .clauses import clause
from .names import DAYS, MONTHS, full_names, names
from .words import NUMBER_PATTERN, words

YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_NUMBER = re.compile(rf"\b{NUMBER_PATTERN}\b|\b(?:one|two|three|four|five|six|seven|eight|nine|"
                     r"ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|"
                     r"billion|dozens?)\b", re.I)
# A date as written, whole: "Friday, 12 December", "December 22", "early October 2021",
# "8 December 2023", "February 2011", a year, or a weekday alone.
_DATE = re.compile(
    rf"\b(?:(?:{'|'.join(DAYS)}),?\s+)?(?:(?:early|mid|late)[\s-]+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?"
    rf"(?:{'|'.join(MONTHS)})\b(?:\s+\d{{1,2}}(?:st|nd|rd|th)?\b)?(?:,?\s+(?:1[89]|20)\d\d\b)?"
    rf"|{YEAR.pattern}|\b(?:{'|'.join(DAYS)})\b")
_MONEY = re.compile(rf"[$€£]\s?{NUMBER_PATTERN}\s?(?:[mbk]n?\b|million|billion|thousand)?|"
                    rf"\b{NUMBER_PATTERN}\s?(?:million|billion|thousand)?\s?"
                    r"(?:dollars|afghanis|euros|rupees)\b", re.I)


def expected_type(question: str) -> str | None:
    """What kind of thing the question asks for, when its wording says so."""
    q = question.lower()
    if re.search(r"\b(what|which|in what) year\b|\bwhat year\b", q):
        return "year"
    if re.search(r"\bhow much (money|aid|funding|did .* (pay|spend|cost|raise))|\bwhat (amount|sum)\b|"
                 r"\bhow much .*\b(cost|worth|paid|spent|raised|fund)|\bwhat (?:was|is|were|are) the (?:price|cost)",
                 q):
        return "money"
    if re.search(r"\bhow (many|much|long|old|far)\b|\bwhat (number|percentage|share|amount)\b|"
                 r"\bwhat (?:was|is) the (?:number|amount|size|bounty|age|death toll)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\b(?:what|which)(?: exact)? (month|day|date)\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhose\b|\bwhat (?:is|was|are|were) the names?\b|\bnamed?\b", q):
        return "name"
    if re.search(rf"\bwhere\b|\b(?:what|which) (?:{_PLACES})\b", q):
        return "place"
    return None


# What a "which ..." question asks for when it asks for a place.
_PLACES = r"cit(?:y|ies)|countr(?:y|ies)|provinces?|districts?|towns?|villages?|regions?|areas?|neighbou?rhoods?"


# A place said in common words: "inside the presidential palace", "at a military base".
_PLACE_NOUN = re.compile(r"\b(?:in|at|inside|into|to|from|near|outside)\s+(?:(?:the|a|an|his|her|their|its)\s+)?"
                         r"(?:[\w-]+\s+){0,2}(?:palace|city|province|district|village|capital|"
                         r"region|border|camp|prison|jail|house|home|embassy|office|mosque|hotel|"
                         r"base|compound|airport|port|island|coast)\b", re.I)


def _places(text: str) -> list[tuple[str, int, int]]:
    """Places: capitalised names, of one word too ("Qatar"), but not the word that opens the
    sentence, nor a month or a weekday; and places said in common words."""
    out, pos = [], 0
    for n in names(text):
        parts = n.split()
        i = text.find(parts[0], pos)
        if i < 0:
            continue
        j = text.find(parts[-1], i)
        e = j + len(parts[-1]) if j >= 0 else i + len(parts[0])
        pos = e
        if (i == 0 and len(parts) == 1 and "-" not in n) or n in MONTHS or n in DAYS:
            continue
        out.append((text[i:e], i, e))
    out += [(m.group(0), m.start(), m.end()) for m in _PLACE_NOUN.finditer(text)]
    return out


def _found(kind: str, text: str) -> list[tuple[str, int, int]]:
    if kind == "place":
        return _places(text)
    if kind == "name":
        out, pos = [], 0
        for n in full_names(text):
            i = text.find(n, pos if text.find(n, pos) >= 0 else 0)
            out.append((n, i, i + len(n)))
        return out
    pattern = {"year": YEAR, "number": _NUMBER, "date": _DATE, "money": _MONEY}[kind]
    return [(m.group(0), m.start(), m.end()) for m in pattern.finditer(text)]


def answer_spans(sentence: str, kind: str | None, question: str = "") -> list[tuple[int, int]]:
    """Where the sentence holds something of that kind which the question does not already
    hold (character spans)."""
    if kind is None:
        return []
    asked = {m.lower() for m, _, _ in _found(kind, question)}
    qwords = set(words(question))
    years = set(YEAR.findall(question)) if kind in ("number", "money") else set()
    out = []
    for m, s, e in _found(kind, sentence):
        if m.lower() in asked:
            continue
        if kind in ("name", "place") and set(words(m)) <= qwords:
            continue
        if kind == "number" and (YEAR.fullmatch(m) or _DAY_OF_MONTH.match(sentence, e)
                                 or _MONTH_BEFORE.search(sentence, 0, s)):
            continue        # "how many" is rarely answered by a year, never by "4 August"
        if years and _other_year(sentence, s, e, years):
            continue
        if kind == "number" and _adjective(sentence, e, question):
            continue
        out.append((s, e))
    return out


_HYPHENED = re.compile(r"-([A-Za-z]+)")
# Questions a unit answers ("two weeks", "900 kilometers"), and those units; rag.direct too.
MEASURE = re.compile(r"\bhow (?:long|old|far)\b", re.I)
UNIT_WORDS = frozenset("""second minute hour day week month year decade kilometre kilometer
mile metre meter km""".split())


def _adjective(sentence: str, e: int, question: str) -> bool:
    """A number joined to a word that is neither asked about nor a unit of a "how long" question:
    "five" in "the five-star Serena Hotel" counts no one ("21-member" does for "how many
    members", "three-day" for "how long")."""
    m = _HYPHENED.match(sentence, e)
    if not m:
        return False
    w = m.group(1).lower()
    asked = set(words(question))
    return not (w in asked or w.rstrip("s") in asked or any(a.rstrip("s") == w for a in asked)
                or (MEASURE.search(question) and w.rstrip("s") in UNIT_WORDS))


_DAY_OF_MONTH = re.compile(rf"\s+(?:{'|'.join(MONTHS)})\b")
_MONTH_BEFORE = re.compile(rf"\b(?:{'|'.join(MONTHS)})\s+$")


def _other_year(sentence: str, s: int, e: int, years: set[str]) -> bool:
    """The figure's own clause is dated to another year than the question's: "96" in "..., and
    the 2017 truck bombing that killed 96 people" does not count the 2008 assault's dead."""
    a, b = clause(sentence, s, e)
    said = set(YEAR.findall(sentence[a:b]))
    return bool(said) and not said & years


_COUNTED = re.compile(r"\bhow many((?:\s+[\w'’-]+){1,3})", re.I)


def counted_words(question: str, n: int = 2) -> list[str]:
    """What a "how many" question counts: the `n` words after it ("How many US soldiers died"
    -> ["US", "soldiers"]; callers drop stopwords such as "were")."""
    m = _COUNTED.search(question)
    return m.group(1).split()[:n] if m else []

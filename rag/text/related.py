"""Related words: which question terms a sentence answers in other words ("died" by "dead",
"freed" by "released"), from the hand-written groups in data/related_words.txt, and the phrases
there that say a word without using it ("held until 2018": released in 2018; "let go")."""
from __future__ import annotations

import functools
import re

from .data import DATA
from .words import stem


@functools.lru_cache(maxsize=1)
def _groups() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for line in (DATA / "related_words.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or " = " in line:
            continue
        group = set(stem(line.lower().split()))
        for t in group:
            out.setdefault(t, set()).update(group)
    return {t: frozenset(g) for t, g in out.items()}


def related(term: str) -> frozenset[str]:
    """The stemmed term and the stems of words that say the same thing."""
    return _groups().get(term, frozenset((term,)))


def matched(q_terms: set[str], terms: set[str]) -> set[str]:
    """The question terms found in `terms` as written or as a related word."""
    return {t for t in q_terms if t in terms or not related(t).isdisjoint(terms)}


@functools.lru_cache(maxsize=1)
def _phrases() -> tuple[tuple[re.Pattern, str], ...]:
    out = []
    for line in (DATA / "related_words.txt").read_text(encoding="utf-8").splitlines():
        if " = " in line and not line.startswith("#"):
            phrase, word = (x.strip() for x in line.split(" = "))
            out.append((re.compile(r"\b(?:" + phrase + r")\b", re.I), word))
    return tuple(out)


def phrased(text: str) -> set[str]:
    """Stems of the words the text's phrases stand for ("held until" -> {"releas"})."""
    return set(stem([w for pat, w in _phrases() if pat.search(text)]))


def rephrase(question: str) -> str:
    """The question with its phrases replaced by the word they stand for ("when was he let
    go?" -> "when was he released?"), so the phrase's common words do not count as terms."""
    for pat, word in _phrases():
        question = pat.sub(word, question)
    return question

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
def _punkt():
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer
    if _nltk_cache() not in nltk.data.path:
        nltk.data.path.insert(0, _nltk_cache())
    return PunktTokenizer("english")


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
    spans = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            for s, e in _punkt().span_tokenize(line):
                spans.append((offset + pos + s, offset + pos + e))
        pos += len(line) + 1
    return spans


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, without stopwords (duplicates kept)."""
    stop = stopwords()
    return _stemmer().stemWords([w for w in words(text) if w not in stop])


def stems(text: str) -> list[str]:
    """Stemmed words with stopwords kept: the tokens BM25 indexes."""
    return _stemmer().stemWords(words(text))


def expected_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far)\b|\bwhat (number|percentage|share)\b|"
                 r"\bwhat (?:was|is) the (?:number|amount|size|bounty|age)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|month|day|date)\b|\bwhich (year|month|day)\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhose\b|\bwhich (person|official|minister|leader|group)\b", q):
        return "name"
    return None


def has_type(sentence: str, kind: str | None, question: str = "") -> bool:
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "name":
        qwords = set(words(question))
        return any(not set(words(m)) <= qwords for m in _NAME.findall(sentence))
    return False

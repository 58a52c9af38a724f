"""Words, stopwords, stems, content terms and numbers: one definition of each for the project."""
from __future__ import annotations

import functools
import re
from .data import read_stopwords

_WORD = re.compile(r"(?u)\b\w\w+\b")
# Letters with an inner apostrophe ("Taliban's", "don’t"): the unit content terms are made of.
_CONTENT_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

# Words that carry a question's or a report's form, not its topic: nltk's English list plus
# reporting verbs and modals ("said", "according", "would"), which news prose is full of.
_NEWS_STOP = frozenset("""many much did does say says said saying told according also could even
may might must one shall still us whose within without would""".split())
# Filler that says nothing about which story a paragraph belongs to; only the topic segmenter
# (ingest/split.py) drops these, since "last year" or "new law" matter in a question.
SEGMENT_STOP = frozenset("""ever every last least less like made make new per since two upon
year years yet""".split())

NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"      # 2018, 2,600, 2.5
_NUMBER = re.compile(NUMBER_PATTERN)


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return read_stopwords() | _NEWS_STOP


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer   # PyStemmer: a C extension, no data files, nothing to download
    return Stemmer.Stemmer("english")


def stem(words: list[str]) -> list[str]:
    """Snowball English stems (the same stemmer BM25 indexes with)."""
    return _stemmer().stemWords(words)


def words(text: str) -> list[str]:
    """Lower-cased words of two or more letters or digits (BM25's token pattern)."""
    return [w.lower() for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, without stopwords (duplicates kept)."""
    stop = stopwords()
    return stem([w for w in words(text) if w not in stop])


def content_words(text: str, *, extra_stop: frozenset[str] = frozenset(),
                  min_len: int = 1) -> list[str]:
    """Content words as written (case kept), possessives folded ("Atmar's" -> "Atmar");
    digits, stopwords and words shorter than `min_len` left out."""
    stop = stopwords() | extra_stop if extra_stop else stopwords()
    out = [_unpossess(w) for w in _CONTENT_WORD.findall(text)]
    return [w for w in out if len(w) >= min_len and not w.isdigit() and w.lower() not in stop]


def _unpossess(w: str) -> str:
    """"Atmar's" -> "Atmar" (a string test: this runs for every word ingest segments)."""
    if "'" not in w and "’" not in w:
        return w
    w = w.replace("’", "'")
    return w[:-2] if w.endswith(("'s", "'S")) else w


def content_terms(text: str) -> set[str]:
    """The stemmed content words of `text` (what support checks compare)."""
    return set(stem([w.lower() for w in content_words(text)]))


def numbers(text: str) -> set[str]:
    """The numbers written in digits, thousands separators removed ("2,600" -> "2600")."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}

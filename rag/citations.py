"""Citations: parse `[n]` markers with bounds checks, split answers into sentences, verify support.

Pure functions, shared by every answerer (LLM and extractive), so citations mean the same thing
whoever wrote the answer. `check()` is the one-call entry point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from . import text as T
from .injection import without_instructions
from .types import Passage, Sentence

# One marker: [1], [1, 2], [1-3], [1][2] (two markers), full-width ［1］ and 【1】, and the
# "[Passage 2]" / "[source 2]" forms small models like to write.
_LIST = r"\d+(?:\s*(?:[,，;；、]|[-–—~])\s*(?:(?:passage|source|doc)\s*)?\d+)*"
CITE_RE = re.compile(r"[\[［【]\s*(?:(?:passage|source|doc(?:ument)?)\s*)?(" + _LIST + r")\s*[\]］】]",
                     re.IGNORECASE)
_RANGE_RE = re.compile(r"(\d+)\s*[-–—~]\s*(?:(?:passage|source|doc)\s*)?(\d+)", re.IGNORECASE)
MAX_RANGE = 50   # "[1-100000]" must not expand into a hundred thousand numbers

@dataclass(frozen=True)
class Parsed:
    """An answer's sentences with their in-range citations, and the numbers that named nothing."""
    sentences: tuple[Sentence, ...]
    dropped: tuple[int, ...]
    text: str                 # the answer with markers normalised to [n] and bad ones removed


def citation_numbers(marker_body: str) -> list[int]:
    """'1, 2-4' -> [1, 2, 3, 4]; a range longer than MAX_RANGE keeps only its two ends."""
    out: list[int] = []
    for part in re.split(r"[,，;；、]", marker_body):
        m = _RANGE_RE.search(part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo <= hi and hi - lo <= MAX_RANGE:
                out.extend(range(lo, hi + 1))
            else:
                out.extend((lo, hi))
        else:
            out.extend(int(d) for d in re.findall(r"\d+", part))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer, each with the citation markers that follow it."""
    return _attach_leading_markers(T.prose_sentences(text))


def _attach_leading_markers(sentences: list[str]) -> list[str]:
    """'He left. [1] Then...' : a marker opening a sentence belongs to the one before it."""
    out: list[str] = []
    for s in sentences:
        m = re.match(r"(?:\s*" + CITE_RE.pattern + r")+", s, re.IGNORECASE)
        if m and out:
            out[-1] = out[-1] + " " + m.group(0).strip()
            s = s[m.end():].strip()
        if s:
            out.append(s)
    return out


def parse_citations(text: str, shown: set[int]) -> Parsed:
    """Sentences with the citations that name a shown passage; every other number is dropped
    and reported, never resolved to another passage ([0] and [n > len] included)."""
    sentences, dropped = [], []
    for raw in split_sentences(text):
        cites: list[int] = []
        for n in _marker_numbers(raw):
            if n in shown:
                if n not in cites:
                    cites.append(n)
            elif n not in dropped:
                dropped.append(n)
        clean = _tidy(CITE_RE.sub("", raw))
        if clean:
            sentences.append(Sentence(clean, tuple(cites)))
    return Parsed(tuple(sentences), tuple(dropped), normalise_markers(text, shown))


def _marker_numbers(text: str) -> list[int]:
    return [n for m in CITE_RE.finditer(text) for n in citation_numbers(m.group(1))]


def normalise_markers(text: str, shown: set[int]) -> str:
    """The answer as written, with each marker rewritten to plain [n][m] and numbers that name
    no shown passage removed; layout (paragraphs, lists) is kept."""
    def one(m: re.Match) -> str:
        keep = dict.fromkeys(n for n in citation_numbers(m.group(1)) if n in shown)
        return "".join(f"[{n}]" for n in keep)
    return _tidy_lines(CITE_RE.sub(one, text))


def _tidy(s: str) -> str:
    s = re.sub(r"[ \t]+([.,;:!?])", r"\1", s)           # "claim [1]." -> "claim ." -> "claim."
    return re.sub(r"[ \t]{2,}", " ", s).strip()


def _tidy_lines(s: str) -> str:
    s = re.sub(r"[ \t]+([.,;:!?])(?!\d)", r"\1", s)
    return re.sub(r"[ \t]{2,}", " ", s).strip()


# ---- support verification -------------------------------------------------------------------

# Measured on the 60 claim/passage pairs from data/articles in tests/test_citations.py (24
# near-copies and 12 paraphrases that the passage supports, 24 that it does not: changed numbers,
# swapped names, the right claim cited to the wrong passage, invented details). Numbers + names +
# this share of content words classified 55 of 60 correctly (0.917; every supported claim kept).
# With the text kit's stopwords (function words such as "until" no longer count as evidence),
# 0.4 keeps every supported claim and rejects the same 19 of 24; 0.45 and 0.5 lose a paraphrase.
# WordLlama cosine similarity (alone, or as an "or" with the lexical share) was never better.
LEXICAL_THRESHOLD = 0.4


def _names_after_first_word(sentence: str) -> list[str]:
    """A sentence's first word is capitalised whatever it is, and is often a paraphrase of the
    passage's subject ("Washington" for "the US"): it is not held to the name rule."""
    first = re.match(r"\W*\w+(?:['’]s)?", sentence)
    return T.names(sentence[first.end():] if first else sentence)


def _acronym_of(word: str, text: str) -> bool:
    """'UN' in a sentence is backed by 'United Nations' in the passage."""
    if not (word.isupper() and 2 <= len(word) <= 5):
        return False
    return word in "".join(w[0] for w in re.findall(r"[A-Za-z]+", text)).upper()


def lexical_support(sentence: str, passage_text: str) -> float:
    """Share of the sentence's content words (stemmed) that occur in the passage."""
    terms = T.content_terms(sentence)
    if not terms:
        return 1.0
    return len(terms & T.content_terms(passage_text)) / len(terms)


def verify(sentence: str, cited_passage_texts: Sequence[str]) -> bool:
    """Do the cited passages support the sentence? Every number and every name in the sentence
    must occur in them (a news claim hinges on who, where and how many), and at least
    LEXICAL_THRESHOLD of its content words must. Known blind spot: a flipped negation ("will
    recognise" against "will not recognise") passes; so do reworded falsehoods built from the
    passage's own words."""
    if not cited_passage_texts:
        return False           # a claim with no citation is unsupported by definition
    evidence = "\n".join(cited_passage_texts)
    if not T.numbers(sentence) <= T.numbers(evidence):
        return False
    terms = T.content_terms(evidence)
    if any(not T.content_terms(w) <= terms and not _acronym_of(w, evidence)
           for name in _names_after_first_word(sentence) for w in name.split()):
        return False
    return lexical_support(sentence, evidence) >= LEXICAL_THRESHOLD


@dataclass(frozen=True)
class Checked:
    text: str
    sentences: tuple[Sentence, ...]
    notices: tuple[str, ...]


def check(text: str, passages: Sequence[Passage]) -> Checked:
    """Parse citations against the shown passages and mark each sentence supported or not.
    Passage sentences addressed to the model (prompt injection) are not evidence."""
    by_n = {p.n: without_instructions(p.chunk.text) for p in passages}
    injected = [p.n for p in passages if by_n[p.n] != p.chunk.text]
    parsed = parse_citations(text, set(by_n))
    sentences = tuple(Sentence(s.text, s.citations,
                               verify(s.text, [by_n[n] for n in s.citations]))
                      for s in parsed.sentences)
    notices = []
    if parsed.dropped:
        nums = ", ".join(f"[{n}]" for n in parsed.dropped)
        notices.append(f"dropped citation(s) {nums}: no passage with that number was shown "
                       f"(shown: {', '.join(str(n) for n in sorted(by_n)) or 'none'})")
    if injected:
        nums = ", ".join(f"[{n}]" for n in injected)
        notices.append(f"passage(s) {nums} contain text addressed to the model (possible prompt "
                       f"injection); those sentences were read as article text and support no claim")
    unsupported = sum(not s.supported for s in sentences)
    if unsupported:
        notices.append(f"{unsupported} of {len(sentences)} sentence(s) not supported by the "
                       f"passages they cite")
    return Checked(parsed.text, sentences, tuple(notices))

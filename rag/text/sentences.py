"""Sentences and headings.

Two splitters, for two kinds of text: `sentence_spans` (Punkt, line by line) for article text,
where offsets must be exact and abbreviations are common; `prose_sentences` for text a model
wrote, which may be in any script (。！？), use markdown lists, and carry citation markers.
"""
from __future__ import annotations

import functools
import re

from .data import punkt

# A line is a heading, caption or byline rather than a sentence when it is short and does not
# end like one. How short differs by caller: the answerer treats lines under 12 words as
# headings (ANSWER_HEADING_WORDS); the article splitter's subheadings and bylines may run to 15.
ANSWER_HEADING_WORDS = 11
_CLOSERS = "\"”’')"
_SENTENCE_END = ".!?:;,"


def is_heading(line: str, max_words: int = ANSWER_HEADING_WORDS) -> bool:
    s = line.rstrip()
    return len(s.split()) <= max_words and s.rstrip(_CLOSERS)[-1:] not in _SENTENCE_END


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans in `text` (absolute when `offset` is the text's position in its file).

    Lines are split first: in news text a line break ends a paragraph, a caption or a heading.
    """
    # Paragraphs are cached; a long window of a huge line is not worth holding.
    spans = _spans(text) if len(text) <= 4000 else _spans.__wrapped__(text)
    return [(s + offset, e + offset) for s, e in spans] if offset else list(spans)


@functools.lru_cache(maxsize=2048)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    """Cached: ingest splits a paragraph once to chunk it and again for its first sentence
    (article segmentation, titles); Punkt is most of both."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            first = len(spans)
            for s, e in punkt().span_tokenize(line):
                # Punkt ends a sentence after a quoted "!" or "?" even when it goes on
                # (“I will fight!” he shouted.): glue a lowercase continuation back on.
                if len(spans) > first and line[s].islower():
                    spans[-1] = (spans[-1][0], pos + e)
                else:
                    spans.append((pos + s, pos + e))
        pos += len(line) + 1
    return tuple(spans)


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph, without its closing punctuation."""
    spans = sentence_spans(text)
    first = text[spans[0][0]:spans[0][1]] if spans else text
    return first.rstrip().rstrip(".!?")


# Generated text: . ! ? (and CJK 。！？) followed by space and an upper-case letter, digit, quote
# or citation bracket; blank lines and list items always end a sentence.
_ABBREV = ("mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "sgt", "prof", "sen", "rep", "gov",
           "u.s", "u.n", "u.k", "e.g", "i.e", "no", "vs", "jan", "feb", "mar", "apr", "jun", "jul",
           "aug", "sep", "sept", "oct", "nov", "dec", "inc", "ltd", "co", "jr", "sr", "mt", "ft")
_END_RE = re.compile(r"(?<=[.!?。！？])[\"”’)\]]*\s+(?=[\"“‘(\[［【A-Z0-9])|(?<=[。！？])|\n\s*\n|"
                     r"\n(?=\s*(?:[-*•]|\d+[.)])\s)")


def prose_sentences(text: str) -> list[str]:
    """Sentences of generated text; abbreviations (U.S., Mr.), initials and decimals do not end
    a sentence."""
    pieces, start = [], 0
    for m in _END_RE.finditer(text):
        before = text[start:m.start()].rstrip()
        last_word = re.search(r"([\w.]+)[.]$", before)
        if last_word and (last_word.group(1).lower() in _ABBREV or len(last_word.group(1)) == 1):
            continue
        pieces.append(text[start:m.end()])
        start = m.end()
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]

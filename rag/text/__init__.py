"""The text kit: every rule about words, names, numbers, sentences and headings, defined once
and shared by ingest (splitting, chunking), retrieval, the answerers and the citation checker.

Where two callers need different strictness they pass a named parameter (`is_heading(line,
max_words=...)`, `content_words(text, extra_stop=..., min_len=...)`) rather than keeping their
own copy of the rule. Everything works offline: the language data ships in rag/text/data/.
"""
from __future__ import annotations

from .data import punkt
from .clauses import clause
from .kinds import YEAR, answer_spans, counted_words, expected_type
from .related import matched, phrased, related, rephrase
from .names import DAYS, HONORIFICS, MONTHS, NOT_NAMES, full_names, name_credit, name_groups, names
from .sentences import (ANSWER_HEADING_WORDS, first_sentence, is_heading, prose_sentences,
                        sentence_spans)
from .words import (NUMBER_PATTERN, SEGMENT_STOP, content_terms, content_words, numbers, stem,
                    stopwords, terms, words)

__all__ = ["clause", "punkt", "YEAR", "answer_spans", "counted_words", "expected_type", "DAYS", "HONORIFICS", "MONTHS", "NOT_NAMES", "full_names",
           "name_credit", "name_groups", "names", "ANSWER_HEADING_WORDS", "first_sentence",
           "is_heading", "prose_sentences", "sentence_spans", "NUMBER_PATTERN", "SEGMENT_STOP",
           "content_terms", "content_words", "numbers", "stem", "stopwords", "terms", "words", "matched", "phrased", "related", "rephrase"]

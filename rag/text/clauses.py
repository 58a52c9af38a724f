"""Clauses: the stretch of a sentence a word belongs to, for tying an answer to what is asked."""
from __future__ import annotations

import re

# A clause ends at punctuation that separates statements, or at a conjunction joining two
# predicates ("arrested in 2010 and held until 2018"); a list's commas end one too, which is
# what keeps "the 2008 assault on the Serena Hotel" apart from "the 2017 truck bombing that
# killed 96 people". A conjunction between two numbers joins a range ("between 200 and 300").
_BOUNDARY = re.compile(r"[,;:()\[\]—–]|\s-\s|\s(?:and|but|while|whereas|or)\s(?!\d)|(?<!\d)\s(?:and|or)\s", re.I)


def clause(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The (start, end) of the clause holding sentence[start:end]."""
    left, right = 0, len(sentence)
    for m in _BOUNDARY.finditer(sentence):      # the whole sentence: a lookahead sees past start
        if m.end() <= start:
            left = m.end()
        elif m.start() >= end:
            right = m.start()
            break
    return left, right

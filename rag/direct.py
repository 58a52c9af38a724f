"""A direct answer before the quoted sentence, where the question's type allows one.

"How many times did Atmar travel to Pakistan?" is answered "10 times [1]." and then the sentence
that says so, with the same citation: a reader sees the answer without reading the paragraph,
and the quote stays the evidence. Only for numbers, sums and years, which the text kit finds
reliably in a sentence, and for dates, where the date chosen is the one whose own clause holds
the asked predicate ("held until 2018", not "arrested in 2010", for "when was he released?");
a name is left to the quote (a sentence holds several, and a wrong short answer above a right
quote would mislead).
"""
from __future__ import annotations

import re

from . import text as T
from .text.kinds import MEASURE, UNIT_WORDS

KINDS = ("number", "money", "year", "date")
# Words that belong to the number itself: "4.5 million", "40 percent".
_SCALE = frozenset("hundred thousand million billion trillion percent per cent %".split())
_UNITS = frozenset(T.stem(sorted(UNIT_WORDS)))
_WORD = re.compile(r"[\w%’'-]+")
# A date is shown only for a question that opens by asking one: in "What device was off when
# the attacker got in?" the date kind comes from a "when" inside it.
_ASKS_DATE = re.compile(r"^\W*(?:(?:and|so|but|then)\s+)?when\b|"
                        r"\b(?:what|which)(?: exact)? (?:month|day|date)\b", re.I)


def short_answer(sentence: str, span: tuple[int, int] | None, counted: set[str],
                 kind: str | None, question: str) -> str:
    """The typed answer at `span` with its scale word, and the counted words or unit that follow
    ("10 times", "4.5 million people", "two weeks", "a 21-member jirga" -> "21-member"). A bare
    number is not shown: without what it counts ("20" for "how many soldiers") it is as likely
    another figure in the sentence, so "" then, and for no answer."""
    if span is None:
        return ""
    s, e = span
    out = sentence[s:e]
    if kind == "date":          # a weekday alone ("on Sunday") says less than the quote does
        return out if out not in T.DAYS and _ASKS_DATE.search(question) else ""
    if kind != "number":                            # a year or a sum says what it is
        return out
    # A unit answers "how long / old / far", not "how much aid" ("three years").
    wanted = counted | (_UNITS if MEASURE.search(question) else frozenset())
    if sentence[e:e + 1] == "-":                    # "21-member", "267-word"
        m = _WORD.match(sentence, e + 1)
        ok = m and set(T.terms(m.group(0))) & wanted
        return out + "-" + m.group(0) if ok else ""
    told = False
    for w in _WORD.findall(sentence[e:e + 60])[:4]:
        t = set(T.terms(w))
        if w.lower() in _SCALE:
            out += ("" if w == "%" else " ") + w
        elif t & wanted:
            out += " " + w
            told = True
        else:
            break
    return out.strip() if told else ""

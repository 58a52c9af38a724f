"""In-passage pronoun carry: whom a sentence's "He ..." stands for, from the sentences before it.

News names a person in full once and then goes on with "he": "Mullah Abdul Ghani Baradar is one
of the founders of the Taliban ... He was arrested by Pakistan's intelligence service in 2010
and held until 2018." The second sentence answers "When was Baradar arrested?" but does not name
him, so a scorer that reads sentences one at a time misses it. `carried` finds, for each
sentence whose subject is a pronoun (he/she/his/her, also after an opening phrase: "This time,
he spoke to Muttaqi"), the person the nearest preceding sentence of the same passage names
first, or carries itself (a chain of "He ..." sentences keeps its subject); they/their carry an
organisation. The preceding text may lie in another retrieved passage of the same article that
ends where this one begins (chunks overlap), so a passage opening with "He" is not left alone.

The answerer credits the sentence with the carried name's terms (rag.answer_extractive); the
citation still points at the sentence itself, which holds the answer.
"""
from __future__ import annotations

import functools
import re
from typing import Sequence

from .referents import ORG, OTHER, PERSON, entities_of
from .types import Passage

# A pronoun as the sentence's subject: first, after a connective, or after a short opening
# phrase ending in a comma ("This time, he ...", "In 2016, she ...").
_SUBJECT = re.compile(r"^\W*(?:(?:but|and|so|yet|then|later|now|still|instead|however|meanwhile|"
                      r"there)\s*,?\s+|[^,.;:“”\"]{1,40},\s+)?(he|she|his|her|they|their|it|its|"
                      r"this|these|that|those)\b", re.I)
_THING = (ORG, OTHER)
_KIND = {"he": (PERSON,), "she": (PERSON,), "his": (PERSON,), "her": (PERSON,), "they": _THING,
         "their": _THING, "it": _THING, "its": _THING, "this": _THING, "these": _THING,
         "that": _THING, "those": _THING}
LOOK_BACK = 2        # sentences searched for the name; beyond that the referent is a guess


def subject_pronoun(sentence: str) -> str | None:
    """The pronoun that is the sentence's subject, lower-cased, or None."""
    m = _SUBJECT.match(sentence)
    return m.group(1).lower() if m else None


def carried(text: str, spans: Sequence[tuple[int, int]], before: str = "") -> list[str]:
    """For each sentence span of `text`, the name its subject pronoun stands for, or "".

    `before`: the article text just before `text` (from an overlapping passage), consulted for
    the first sentences."""
    sents = [text[s:e] for s, e in spans]
    out: list[str] = []
    for i, sent in enumerate(sents):
        pron = subject_pronoun(sent)
        name = ""
        if pron:
            kind = _KIND[pron]
            for j in range(i - 1, max(-1, i - 1 - LOOK_BACK), -1):
                name = _carried_by(sents[j], out[j], kind)
                if name:
                    break
            if not name and i < LOOK_BACK and before:
                name = _named(_last_sentence(before), kind)
        out.append(name)
    return out


def _carried_by(sent: str, its_own: str, kind: tuple[str, ...]) -> str:
    """The name `sent` gives to a following pronoun of `kind`: the one it carries itself when
    its own subject is such a pronoun, else the first of that kind it names."""
    pron = subject_pronoun(sent)
    if pron and _KIND[pron] == kind and its_own:
        return its_own
    return _named(sent, kind)


@functools.lru_cache(maxsize=4096)
def _named(sent: str, kind: tuple[str, ...]) -> str:
    # Cached: the same passages come back for question after question, and typing a name
    # (rag.referents.kind_of) compiles a pattern per name.
    return next((n for n, k in entities_of(sent) if k in kind and not _opener(n, sent)), "")


def _opener(name: str, sent: str) -> bool:
    """A capitalised word only because it opens the sentence ("Securing supply routes ...")."""
    return " " not in name and sent.lstrip("“\"‘ ").startswith(name) and \
        name.lower().endswith(("ing", "ed", "ly", "tion", "ment", "ness"))


def _last_sentence(text: str) -> str:
    from .text import sentence_spans
    spans = sentence_spans(text)
    return text[spans[-1][0]:spans[-1][1]] if spans else ""


def preceding_text(passage: Passage, passages: Sequence[Passage]) -> str:
    """The text just before `passage` in its article, from another retrieved passage of the
    same article that overlaps or touches its start; "" when none was retrieved."""
    c = passage.chunk
    for p in passages:
        o = p.chunk
        if o is not c and o.source == c.source and o.article == c.article \
                and o.start < c.start <= o.end:
            return o.text[:c.start - o.start]
    return ""

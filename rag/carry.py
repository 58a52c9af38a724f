"""In-passage pronoun carry: whom a sentence's "He ..." stands for, from the sentences before it.

News names a person in full once and then goes on with "he": "Mullah Abdul Ghani Baradar is one
of the founders of the Taliban ... He was arrested by Pakistan's intelligence service in 2010
and held until 2018." The second sentence answers "When was Baradar arrested?" but does not name
him, so a scorer that reads sentences one at a time misses it. `carried` finds, for each
sentence whose subject is a pronoun (he/she/they/it, also after opening phrases: "This time, he
spoke to Muttaqi", "Then, in 2016, he left"), the person named in its own opening phrase
("According to Muttaqi, he ..."), else the one the nearest preceding sentence of the same passage
names first, or carries itself (a chain of "He ..." sentences keeps its subject); they/it carry
an organisation. A possessive is not a subject: "Her husband was killed" is not about her, and
a "he" after it means the husband, whom no name gives. The preceding text may lie in another
retrieved passage of the same article that ends where this one begins (chunks overlap), so a
passage opening with "He" is not left alone.

The answerer credits the sentence with the carried name's terms (rag.answer_extractive); the
citation still points at the sentence itself, which holds the answer.
"""
from __future__ import annotations

import functools
import re
from typing import Sequence

from .referents import ORG, OTHER, PERSON, entities_of
from .types import Passage

# A pronoun as the sentence's subject: first, or after connectives and short opening phrases
# ending in a comma, one or several ("This time, he ...", "Then, in 2016, he left."); a clause
# that opens with a personal pronoun is the sentence's own ("He arrived, and they left").
_OPENING = (r"(?:but|and|so|yet|then|later|now|still|instead|however|meanwhile|there)\s*,?\s+"
            r"|(?!(?:he|she|they|it|we|i|you)\b)[^,.;:“”\"]{1,40},\s+")
_SUBJECT = re.compile(r"^\W*((?:" + _OPENING + r"){0,3})(he|she|his|her|they|their|it|its|"
                      r"this|these|that|those)\b", re.I)
_THING = (ORG, OTHER)
_KIND = {"he": (PERSON,), "she": (PERSON,), "his": (PERSON,), "her": (PERSON,), "they": _THING,
         "their": _THING, "it": _THING, "its": _THING, "this": _THING, "these": _THING,
         "that": _THING, "those": _THING}
# A possessive names whose something is ("Her husband was killed"), not who acts: the sentence
# is not about that person as its subject, so it is credited with no one.
_POSSESSIVE = frozenset({"his", "her", "their", "its"})
# ... and when that something is a person, a following "he"/"she" means them, not the possessor.
_RELATIVE = re.compile(r"(?:his|her|their)\s+(?:\w+\s+)?(?:husband|wife|son|daughter|father|"
                       r"mother|brother|sister|uncle|aunt|cousin|nephew|niece|child|children|"
                       r"family|deputy|aide|spokesman|spokeswoman|successor|predecessor|friend|"
                       r"lawyer|guard|bodyguard)s?\b", re.I)
LOOK_BACK = 2        # sentences searched for the name; beyond that the referent is a guess


def subject_pronoun(sentence: str) -> str | None:
    """The pronoun that opens the sentence (after any opening phrase), lower-cased, or None."""
    m = _SUBJECT.match(sentence)
    return m.group(2).lower() if m else None


def carried(text: str, spans: Sequence[tuple[int, int]], before: str = "") -> list[str]:
    """For each sentence span of `text`, the name its subject pronoun stands for, or "".

    `before`: the article text just before `text` (from an overlapping passage), consulted for
    the first sentences."""
    sents = [text[s:e] for s, e in spans]
    # topic: whom the pronoun stands for, passed down a chain of pronoun sentences, possessive
    # ones included ("His activities were ... He had strong ties ..."); out: the subject only.
    topic: list[str] = []
    out: list[str] = []
    for i, sent in enumerate(sents):
        m = _SUBJECT.match(sent)
        pron = m.group(2).lower() if m else None
        name = ""
        if pron:
            kind = _KIND[pron]
            # "According to Muttaqi, he ...": a name in the opening phrase is the one meant.
            name = _named(m.group(1), kind) if m.group(1) else ""
            for j in range(i - 1, max(-1, i - 1 - LOOK_BACK), -1):
                if name or _introduces_person(sents[j], kind):
                    break
                name = _carried_by(sents[j], topic[j], kind)
            if not name and i < LOOK_BACK and before and \
                    not any(_introduces_person(s, kind) for s in sents[:i]):
                name = _named(_last_sentence(before), kind)
        topic.append(name)
        out.append("" if pron in _POSSESSIVE else name)
    return out


def _introduces_person(sent: str, kind: tuple[str, ...]) -> bool:
    """`sent` opens on "Her husband ...", whom a following "he" stands for, but who has no name."""
    return kind == (PERSON,) and bool(_RELATIVE.match(sent.lstrip("“\"‘ ")))


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

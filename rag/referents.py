"""What a pronoun in a follow-up points at, offline: the entities of the earlier turns, typed
(person, place, organisation) and ranked by salience, and optionally by what the articles say.

A follow-up's "he" is rarely simply the last name mentioned. Measured on the project's follow-ups
(bench/followups.py), the rules that carry weight are:
- the kind of pronoun picks the kind of entity: he/she/him/his a person, there a place,
  they/it/the group an organisation or thing (a country or a demonym is never "he");
- the last exchange outranks older ones;
- after a who/which question the answer's first person is the new subject ("Who shot Jafari?"
  "Mr. Fateh ..." "Where does he live now?" means Fateh), unless the follow-up repeats the
  question's own predicate ("Who did Haniyeh call?" "Whom did he speak to when he called
  again?" keeps Haniyeh);
- "about X" makes X the topic over the speaker ("What did Atmar say about Baradar?");
- names repeated across the turns are more salient;
- optionally, the articles: a candidate named in the same sentence as the follow-up's predicate
  words ("arrested", "UN post") is more likely its subject (`corpus_fit`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

from .text import DAYS, HONORIFICS, MONTHS, names, sentence_spans, stopwords, terms

# Titles and roles that precede a person's name; the name is what follows the last of them.
_TITLES = frozenset("""mr mrs ms dr lt col gen capt sgt maj prof sen rep gov colonel general
lieutenant captain sergeant major president minister prime deputy foreign defence defense
interior commander spokesperson spokesman envoy ambassador chief leader head secretary judge
king queen prince sheikh emir acting former late hamas taliban""".split())
# Words of a name that mark a person outright.
_PERSON_WORDS = HONORIFICS | frozenset("""lt col hafiz qari sayed syed mohammad muhammad ahmad
abdul""".split())
_ORG_WORDS = frozenset("""network taliban ministry council times tv movement party army agency
foundation bank group committee shura emirate office government nations union service
analysts press news organisation organization front police forces commission university
institute alliance company corporation association federation court parliament assembly
qaeda isis hamas ttp""".split())
_PLACE_WORDS = frozenset("""province district city valley county region state island sea river
mountains street road square airport village town""".split())
# Countries and cities a news reader names without a cue word; the articles' own places are
# recognised by the cue words above or by `corpus_fit`'s contexts.
_PLACES = frozenset("""afghanistan pakistan iran iraq china india russia turkey qatar doha kabul
islamabad tehran istanbul ankara spain madrid germany berlin france paris britain london
america washington syria israel gaza palestine egypt cairo saudi arabia uzbekistan tajikistan
turkmenistan kazakhstan moscow beijing delhi kandahar herat kunduz mazar-e-sharif jalalabad
helmand nangarhar paktika khost ghazni balkh badakhshan panjshir waziristan peshawar karachi
quetta lahore rhodes greece europe asia africa""".split())
# Named things a follow-up calls "it": "the Kurram Agreement", "the Mir Ali Accord".
_THING_WORDS = frozenset("""agreement accord treaty deal document plan resolution report law decree
conference meeting summit talks process programme program operation attack war""".split())
_GROUP_AFTER = r"\s+(?:[a-z]+\s+)?(?:group|network|movement|faction|militia|organi[sz]ation)\b"
_DEMONYM = re.compile(r"(?:an|ian|ani|ese|ish|i|ic)$")
# Sentence openers that are no one's name, besides what names() (NOT_NAMES) and stopwords() drop.
_COMMON = frozenset("""speaking since however meanwhile earlier later today yesterday last
next""".split())

PERSON, PLACE, ORG, OTHER = "person", "place", "org", "other"
ANSWER_BONUS = 1.6   # the answer to who / where / which: above the last question's own subject
OBJECT_SHARE = 0.25  # a name in a sentence whose subject is someone else's "he" (an object)
FIT_WEIGHT = 2.0     # what the articles' say counts for, beside salience (about 1 per cue)


@dataclass
class Entity:
    name: str
    kind: str
    score: float = 0.0
    mentions: int = 0
    why: list[str] = field(default_factory=list)


def split_name(raw: str) -> tuple[str, bool]:
    """("Taliban Defence Minister Yaqoob Mujahid") -> ("Yaqoob Mujahid", True): the name after
    its titles, and whether a title or honorific marked it as a person."""
    words = raw.split()
    low = [w.lower().strip(".") for w in words]
    cut = max((i + 1 for i, w in enumerate(low) if w in _TITLES), default=0)
    marked = cut > 0 or any(w in _PERSON_WORDS for w in low)
    if cut >= len(words):          # nothing but titles ("Mr", "Lt")...
        if any(w in _ORG_WORDS and w not in _TITLES for w in low):
            return raw, False      # ...or an organisation ("Taliban Ministry of ... Defense")
        return "", marked
    rest = words[cut:]
    if len(rest) > 2 and rest[0] in ("of", "for"):   # "Secretary of State Hillary Clinton"
        rest = rest[2:]
    return " ".join(rest), marked


def kind_of(name: str, marked: bool, text: str) -> str:
    low = [w.lower().strip(".") for w in re.split(r"[\s-]+", name)]
    if name.isupper() and len(name) >= 2:
        return ORG                                      # UN, NATO, AAN, UNDP
    if any(w in _ORG_WORDS for w in low) or re.search(re.escape(name) + _GROUP_AFTER, text):
        return ORG                                      # "the Haqqani militant group"
    if len(low) == 1 and name.endswith("s") and re.search(r"\bthe\s+" + re.escape(name), text):
        return ORG                                      # "the Haqqanis": a group
    if any(w in _THING_WORDS for w in low):
        return OTHER
    if any(w in _PLACE_WORDS for w in low) or name.lower() in _PLACES or \
            (len(low) == 1 and low[0] in _PLACES):
        return PLACE
    if marked or any(w in _PERSON_WORDS for w in low):
        return PERSON
    if re.fullmatch(r"[\w’']+(?:-[a-z]+)+", name):
        return OTHER                                    # "Afghan-born", "US-led": adjectives
    if len(low) == 1 and _DEMONYM.search(low[0]) and \
            re.search(re.escape(name) + r"\s+[a-z]", text):   # "American officer", "Afghan"
        return OTHER
    if len(low) == 1 and re.search(r"\b(?:in|at|near|across)\s+" + re.escape(name) + r"\b", text):
        return PLACE
    return PERSON


def entities_of(text: str) -> list[tuple[str, str]]:
    """(name, kind) in order of appearance, titles removed, sentence-opening words dropped."""
    out: list[tuple[str, str]] = []
    marked_next = False
    for raw in names(text):
        name, marked = split_name(raw)
        if not name:                  # a bare title: it marks the name that follows
            marked_next = marked_next or marked
            continue
        if " " not in name and (name.lower() in _COMMON or name.lower() in stopwords()
                                or name in MONTHS or name in DAYS):
            continue
        kind = kind_of(name, marked or marked_next, text)
        marked_next = False
        if name not in [n for n, _ in out]:
            out.append((name, kind))
    return out


def short_form(name: str) -> str:
    """The form of a person's name news uses after the first mention: honorifics dropped, and of
    three or more words the last ("Mullah Abdul Ghani Baradar" -> "Baradar") unless it is a
    family name many share ("Mawlawi Jalaluddin Haqqani" -> "Jalaluddin Haqqani"). Sentences
    that answer a follow-up name the person that way, or only as "he"."""
    words = name.split()
    while len(words) > 1 and words[0].lower().strip(".") in HONORIFICS:
        words = words[1:]
    if len(words) >= 3 and words[-1].lower() not in _FAMILY:
        words = words[-1:]
    return " ".join(words)


def same(a: str, b: str) -> bool:
    """One name refers to the other: "Baradar" and "Mullah Abdul Ghani Baradar", "Mr. Omar" and
    "Mohammad Omar". A shared last word is enough; a shared family name alone ("Haqqani")
    is not, unless one of the names is that word alone."""
    wa, wb = a.lower().split(), b.lower().split()
    if wa == wb:
        return True
    if len(wa) == 1 or len(wb) == 1:
        one, other = (wa, wb) if len(wa) == 1 else (wb, wa)
        return one[0] in other
    return wa[-1] == wb[-1] and (wa[0] == wb[0] or wa[-1] not in _FAMILY)


_FAMILY = frozenset("haqqani khan ahmad mohammad muhammad".split())
# What a question asks for, whose answer then becomes the subject of the next one: who -> a
# person, where -> a place, which / "what" as the subject ("What secured ...?") -> anything;
# not "What did X say?".
_SOUGHT = re.compile(r"^\W*(?:and\s+|so\s+)?(?:(who|whom|whose)|(where)|(which|what(?!\s+(?:did|does|"
                     r"do|is|are|was|were|has|have|had|will|would|can|could)\b)))\b", re.I)


def _sought(asked: str) -> str | None:
    m = _SOUGHT.match(asked)
    if not m:
        return None
    return PERSON if m.group(1) else PLACE if m.group(2) else "any"


_WHO_IS = re.compile(r"^\W*(?:and\s+|so\s+)?who\s+(?:is|was|are|were)\b", re.I)
_ABOUT = re.compile(r"\babout\s+((?:[A-Z][\w’'-]*\s*)+)")


def rank(question: str, history: Sequence[dict]) -> list[Entity]:
    """The earlier turns' entities, most salient first, for a pronoun in `question`."""
    ents: list[Entity] = []
    exchanges = _exchanges(history)
    q_terms = set(terms(question))
    for age, (asked, answered) in enumerate(reversed(exchanges)):
        recency = 1.0 / (1 + age)
        in_q = entities_of(asked)
        first_person = next((n for n, k in in_q if k == PERSON), None)
        for i, (name, kind) in enumerate(in_q):
            e = _add(ents, name, kind, recency * (1.0 if i == 0 else 0.6), "asked")
            m = _ABOUT.search(asked)
            if m and same(name, m.group(1).strip()):
                e.score += 1.0 * recency
                e.why.append("topic")
            elif _WHO_IS.match(asked) and i == 0:
                e.score += 0.5 * recency
                e.why.append("topic")
            if name == first_person and q_terms & (set(terms(asked)) - set(terms(name))):
                e.score += 1.5 * recency      # the follow-up repeats this question's predicate
                e.why.append("same predicate")
        in_a = entities_of(answered)
        sought = _sought(asked) if not (_WHO_IS.match(asked) and first_person) else None
        new = next((n for n, k in in_a if sought in (k, "any")
                    and not any(same(n, m) and k == j for m, j in in_q)), None)
        for i, (name, kind) in enumerate(in_a):
            e = _add(ents, name, kind, recency * (0.7 if i == 0 else 0.3), "answered")
            if name == new:
                e.score += ANSWER_BONUS * recency    # what was asked for is the new subject
                e.why.append("answer to " + (sought if sought != "any" else "what"))
    if not exchanges:      # only the summary of dropped turns is left (rag.chat)
        for t in history:
            for name, kind in entities_of(t.get("content", "")):
                _add(ents, name, kind, 0.2, "summary")
    for e in ents:
        e.score += 0.2 * (e.mentions - 1)
    return sorted(ents, key=lambda e: -e.score)


def _add(ents: list[Entity], name: str, kind: str, score: float, why: str) -> Entity:
    for e in ents:
        if same(e.name, name) and e.kind == kind:
            if len(name) > len(e.name):       # keep the fuller form for the rewrite
                e.name = name
            e.score += score
            e.mentions += 1
            e.why.append(why)
            return e
    e = Entity(name, kind, score, 1, [why])
    ents.append(e)
    return e


def _exchanges(history: Sequence[dict]) -> list[tuple[str, str]]:
    """(question as searched, answer) pairs, oldest first."""
    out: list[tuple[str, str]] = []
    for t in history:
        if t.get("role") == "user":
            out.append((t.get("rewritten") or t.get("content") or "", ""))
        elif t.get("role") == "assistant" and out:
            out[-1] = (out[-1][0], t.get("content") or "")
    return out


def corpus_fit(search: Callable[[str, int], list], idf: Callable[[str], float] | None = None,
               k: int = 5, weight: float = FIT_WEIGHT) -> Callable[[str, str], float]:
    """fit(name, question): how well the articles tie `name` to the question's own words, from
    0 to `weight`: the largest IDF-weighted share of those words found in one sentence that
    names it (or in the next sentence when that one goes on with "he"/"she"), plus a bonus when
    a sentence puts the name where the question put the pronoun ("demand from him": "demanded
    a fatwa from Hibatullah"). `search(query, k)` returns (chunk, score) pairs, e.g. the BM25
    index's search; `idf(term)` its term weights."""
    idf = idf or (lambda t: 1.0)

    def fit(name: str, question: str) -> float:
        pred = set(terms(question)) - _NOT_PREDICATE - set(terms(name))
        if not pred:
            return 0.0
        total = sum(idf(t) for t in pred) or 1.0
        key = [w for w in re.split(r"[\s-]+", name) if w[:1].isupper() and
               w.lower() not in _PERSON_WORDS and w.lower() not in _FAMILY] or name.split()[-1:]
        pat = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in key) + r")\b")
        slot = _slot(question, key)
        best = 0.0
        for chunk, _ in search(f"{name} {question}", k):
            named = False
            for sent, subject in zip(_sentences(chunk.text), _subjects(chunk.text)):
                here = bool(pat.search(sent))
                theirs = bool(subject) and bool(pat.search(subject))
                if here or theirs or (named and _GOES_ON.match(sent)):
                    share = sum(idf(t) for t in pred & _sentence_terms(sent)) / total
                    if subject and not theirs:     # "He decided that activating Mr. Omar's
                        share *= OBJECT_SHARE      # group ...": Omar is not who decided
                    bonus = 0.5 if here and slot is not None and slot.search(sent) else 0.0
                    best = max(best, min(1.0, share + bonus))
                    named = True
                else:
                    named = False
        return weight * best
    return fit


# fit() runs for each candidate of each pronoun, and their searches return many of the same
# chunks: split and tokenise a chunk's sentences once.
@lru_cache(maxsize=2048)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(sentence_spans(text))


@lru_cache(maxsize=2048)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(text[a:b] for a, b in _spans(text))


@lru_cache(maxsize=2048)
def _subjects(text: str) -> tuple[str, ...]:
    """Per sentence, whom its subject pronoun stands for (rag.carry), or "": a sentence saying
    "He ..." three sentences after naming him is still about him."""
    from .carry import carried
    return tuple(carried(text, _spans(text)))


@lru_cache(maxsize=8192)
def _sentence_terms(sentence: str) -> frozenset[str]:
    return frozenset(terms(sentence))

_GOES_ON = re.compile(r"\W*(?:he|she|they|his|her|their|it|its|this|these)\b", re.I)
_PREPOSITIONS = frozenset("from to with by for about against on at of".split())


def _slot(question: str, key: list[str]) -> re.Pattern | None:
    """"from him" -> a pattern for "from <name>": the pronoun's preposition, when it has one."""
    m = re.search(r"\b(\w+)\s+(?:him|her|them)\b", question, re.I)
    if not m or m.group(1).lower() not in _PREPOSITIONS:
        return None
    return re.compile(r"\b" + m.group(1) + r"\s+(?:\w+\s+){0,2}?(?:" +
                      "|".join(re.escape(w) for w in key) + r")\b", re.I)


# Question words and pronouns are stopwords, which terms() drops already.
_NOT_PREDICATE = frozenset(terms("group"))

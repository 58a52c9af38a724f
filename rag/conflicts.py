"""Conflicting reports: passages from different articles that disagree on the asked fact.

News changes between articles: a 2021 story has Khalil Haqqani roaming Kabul, a later one
reports him killed. Rather than letting retrieval rank decide silently, the answer shows both
claims, each with its date and source. Deterministic rules, no model:

* the subject is the question's full name (two or more words; all must appear in the sentence,
  in any form: "Khalil Haqqani" matches "Khalil-ur-Rahman Haqqani"). A single capitalised word is
  as often a group, a country or a month ("Taliban", "Afghanistan", "December") as a person, and
  such subjects gave notes that answered nothing asked;
* a question in the past tense ("did he play a key role") asks about then, not about the
  subject's present status or office (unless it says "now", "still", "latest");
* a status conflict: one article reports the subject dead, another describes them active
  (an office, a command, a present-tense role) without a death;
* an office conflict: two articles give the subject different offices;
* a number conflict (for "how many / how much" questions): two articles give different numbers
  for the same unit next to the subject (a year is not such a number, and a stopword is no unit:
  "in 2022 the ..." against "in 2021 the ...").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .text import HONORIFICS, YEAR, expected_type, names, sentence_spans, stopwords
from .timescope import as_date
from .types import Passage

_DEAD = re.compile(r"\b(killed|died|dead|assassinated|was executed|death of|funeral)\b", re.I)
_ACTIVE = re.compile(r"\b(roaming|roams|leading|leads|heads|is in charge|in-charge|serves as|"
                     r"commands|currently|now serves|is the|seen)\b", re.I)
_OFFICE = re.compile(r"\b((?:(?i:interior|foreign|defen[cs]e|deputy|acting|former|operational|"
                     r"current|supreme|military|senior|top|prime) )?(?i:prime minister|minister|"
                     r"governor|spokesman|chief|leader|head|commander|founder|emir|director)"
                     r"(?: of (?:the )?[A-Z][\w’'-]*(?: (?:and )?[A-Z][\w’'-]*)*)?)\b")
_QUANT = re.compile(r"(\$?\d[\d,.]*\s*(?:m|bn|million|billion|thousand)?)\s+([a-z]+)", re.I)
_PAST = re.compile(r"\b(did|was|were|had)\b", re.I)
_NOW = re.compile(r"\b(now|still|currently|current|latest|today)\b", re.I)
_ROLE_Q = re.compile(r"\b(role|position|status|office|post|job|alive|dead|who is|what is|what does"
                     r"|where is|doing|now|currently|still|latest|become)\b", re.I)


@dataclass(frozen=True)
class Claim:
    n: int               # passage number
    source: str
    date: str | None
    text: str            # the sentence, verbatim from the passage
    start: int
    end: int
    value: str           # what it says about the asked fact ("killed", "minister of ...", "6000 jihadis")
    article: int = 0     # the article's index in its file (claims are compared across articles)

    def to_dict(self) -> dict:
        return {"n": self.n, "source": self.source, "date": self.date, "text": self.text,
                "start": self.start, "end": self.end, "value": self.value}


@dataclass(frozen=True)
class Conflict:
    about: str
    kind: str            # "status" | "office" | "number"
    claims: tuple[Claim, ...]

    @property
    def latest(self) -> Claim | None:
        """The newest dated claim; when dates don't tell, a report of a death supersedes
        reports of the living (it cannot have been written before them)."""
        dated = [c for c in self.claims if as_date(c.date)]
        if len(dated) >= 2 or (dated and len(dated) == len(self.claims)):
            return max(dated, key=lambda c: as_date(c.date))
        if self.kind == "status":
            dead = [c for c in self.claims if c.value == "killed"]
            return dead[0] if len(dead) == 1 else None
        return None

    def to_dict(self) -> dict:
        latest = self.latest
        return {"about": self.about, "kind": self.kind,
                "claims": [c.to_dict() for c in self.claims],
                "latest": latest.n if latest else None}


def find_conflicts(question: str, passages: list[Passage]) -> list[Conflict]:
    subject = _subject(question)
    if not subject:
        return []
    want_number = expected_type(question) in ("number", "money")
    role_question = bool(_ROLE_Q.search(question)) and not (
        _PAST.search(question) and not _NOW.search(question))
    per_article: dict[tuple[str, int], list[Claim]] = {}
    for p in passages:
        c = p.chunk
        for a, b in sentence_spans(c.text, c.start):
            s = c.text[a - c.start:b - c.start]
            a, b = a + len(s) - len(s.lstrip()), b - (len(s) - len(s.rstrip()))
            s = s.strip()
            where = _mention(s, subject)
            if where is None:
                continue
            for value in _values(s, where, want_number, role_question):
                per_article.setdefault((c.source, c.article), []).append(
                    Claim(p.n, c.source, c.date, s, a, b, value, c.article))
    out = []
    for kind in ("status", "office", "number"):
        conflict = _disagreement(subject, kind, per_article)
        if conflict:
            out.append(conflict)
    return out[:1] if out and out[0].kind == "status" else out


_TITLES = HONORIFICS | frozenset("president minister general commander al ul ur el bin ibn".split())


def _subject(question: str) -> list[str] | None:
    found = [n for n in names(question) if len(n) > 2 and len(re.split(r"[\s-]+", n)) > 1]
    if not found:
        return None
    best = max(found, key=lambda n: len(n.split()))
    return [w.lower() for w in re.split(r"[\s-]+", best) if len(w) > 1]


def _keys(subject: list[str]) -> list[str]:
    """The words that identify the subject: the given names ("Khalil" of "Khalil Haqqani"; a
    family name such as "Haqqani" is shared by many), else the whole name."""
    given = [w for w in subject[:-1] if w not in _TITLES]
    return given or subject


def _mention(sentence: str, subject: list[str]) -> tuple[int, int] | None:
    """Where the sentence names the subject (start, end of the name run), or None."""
    low = sentence.lower()
    spots = []
    for w in _keys(subject):
        m = re.search(rf"\b{re.escape(w)}\b", low)
        if not m:
            return None
        spots.append(m)
    start = min(m.start() for m in spots)
    run = re.match(r"[\w’'-]+(?:\s+[A-Z][\w’'-]*)*", sentence[start:])
    return start, start + (run.end() if run else 0)


def _values(sentence: str, where: tuple[int, int], want_number: bool,
            role_question: bool) -> list[str]:
    vals = []
    if role_question:
        a, b = where
        if any(_about_subject(m, sentence, where) for m in _DEAD.finditer(sentence)):
            vals.append("killed")
        elif _ACTIVE.search(sentence):
            vals.append("active")
        for m in _OFFICE.finditer(sentence):
            # An office is the subject's when it stands next to the name ("Sirajuddin Haqqani,
            # the Taliban's interior minister", "Interior Minister Sirajuddin Haqqani").
            if 0 <= m.start() - b <= 40 or 0 <= a - m.end() <= 3:
                office = " ".join(m.group(1).lower().split()).removeprefix("current ")
                vals.append("office:" + office)
    if want_number:
        for m in _QUANT.finditer(sentence):
            if YEAR.fullmatch(m.group(1).strip()) or m.group(2).lower() in stopwords():
                continue
            vals.append(f"number:{m.group(1).replace(',', '').strip()} {m.group(2).lower()}")
    return vals


def _about_subject(m: re.Match, sentence: str, where: tuple[int, int]) -> bool:
    """Whether a death word is said of the subject: "X, who was killed", "X died", "the death
    of X" - not "X ... after the death of al-Zawahiri"."""
    a, b = where
    if m.group(1).lower() in ("death of", "funeral"):
        return 0 <= a - m.end() <= 12
    return 0 <= m.start() - b <= 50 and not re.search(r"[.;]", sentence[b:m.start()])


def _disagreement(subject, kind, per_article) -> Conflict | None:
    about = " ".join(w.capitalize() for w in subject)
    by_value: dict[str, list[Claim]] = {}        # value -> claims, at most one per article
    for key, claims in per_article.items():
        for c in claims:
            if _kind(c.value) == kind:
                by_value.setdefault(c.value, []).append(c)
    if kind == "status":
        dead, alive = by_value.get("killed", []), by_value.get("active", [])
        dead_articles = {(c.source, _art(c)) for c in dead}
        alive = [c for c in alive if (c.source, _art(c)) not in dead_articles]
        if not dead or not alive:
            return None
        groups = [dead, alive]
    else:
        if kind == "number":
            units: dict[str, list[str]] = {}
            for v in by_value:
                units.setdefault(v.split()[-1], []).append(v)
            clash = next((vs for vs in units.values() if len(vs) > 1), [])
        else:
            clash = list(by_value)
        groups = [by_value[v] for v in clash]
        articles = {(c.source, _art(c)) for g in groups for c in g}
        if len(groups) < 2 or len(articles) < 2:
            return None
    picks, articles = [], set()
    for c in sorted((max(g, key=_newest) for g in groups), key=_newest, reverse=True):
        if (c.source, _art(c)) not in articles:     # one claim per article: across articles only
            articles.add((c.source, _art(c)))
            picks.append(c)
    picks = picks[:3]
    if len(picks) < 2:
        return None
    picks.sort(key=lambda c: (as_date(c.date) is None, as_date(c.date) or date.min))
    return Conflict(about, kind, tuple(_clean(c) for c in picks))


def _newest(c: Claim):
    # Newest first; within an article, a full sentence over a heading-like line.
    return (as_date(c.date) is not None, as_date(c.date) or date.min, len(c.text.split()) > 8,
            -c.n)


def _art(c: Claim) -> int:
    return c.article


def _kind(value: str) -> str:
    if value in ("killed", "active"):
        return "status"
    return value.split(":", 1)[0]


def _clean(c: Claim) -> Claim:
    v = c.value.split(":", 1)[-1]
    return Claim(c.n, c.source, c.date, c.text, c.start, c.end, v, c.article)

"""The time scope of a question: "in 2011", "last year", "before the takeover", "latest", "now".

A scope is a date range (either end open) or a request for the latest word. Relative phrases
resolve against a reference date: the newest article date in the index unless the user gives one
(`--as-of`), so an archive read years later still means "last year" of its own news.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .text import MONTHS

# Events the bundled corpus dates its stories by. A phrase names an event only with "the"
# before it, so "before the takeover" resolves and "before taking over" does not.
EVENTS: dict[str, date] = {
    "takeover": date(2021, 8, 15), "taliban takeover": date(2021, 8, 15),
    "fall of kabul": date(2021, 8, 15), "taliban's return": date(2021, 8, 15),
    "doha agreement": date(2020, 2, 29), "doha deal": date(2020, 2, 29),
    "7 october attacks": date(2023, 10, 7), "october 7 attacks": date(2023, 10, 7),
}

_LATEST = re.compile(r"\b(latest|most recent(?:ly)?|now|currently|current|today|these days|"
                     r"at present|presently|still|nowadays|recent(?:ly)?|newest|last known)\b", re.I)
_MON = "|".join(MONTHS)
_WHEN = (rf"(?:(?P<mon>{_MON})\s+)?(?P<year>(?:19|20)\d\d)\b"
         rf"|the\s+(?P<event>{'|'.join(re.escape(e) for e in sorted(EVENTS, key=len, reverse=True))})")
_RANGE = re.compile(rf"\b(?P<op>in|during|throughout|before|prior to|until|till|by|after|since|"
                    rf"from|as of)\s+(?:the\s+year\s+)?(?:{_WHEN})", re.I)
_RELATIVE = re.compile(r"\b(?P<which>last|this|past|previous)\s+(?:(?P<n>\d+|two|three|five|ten)\s+)?"
                       r"(?P<unit>year|month|week)s?\b", re.I)
_WORD_N = {"two": 2, "three": 3, "five": 5, "ten": 10}


@dataclass(frozen=True)
class Scope:
    since: date | None = None
    until: date | None = None
    latest: bool = False
    phrase: str = ""            # the words that set the scope, for the notice
    ref: date | None = None     # what a relative phrase ("last year") was resolved against
    ref_from: str = "--as-of"   # where `ref` came from, for the notice

    def contains(self, d: date) -> bool:
        return (self.since is None or d >= self.since) and (self.until is None or d <= self.until)

    @property
    def ranged(self) -> bool:
        return self.since is not None or self.until is not None

    def describe(self) -> str:
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"from {self.since.isoformat()}"
        if self.until:
            return f"up to {self.until.isoformat()}"
        return "the latest"


def parse_scope(question: str, ref: date | None) -> Scope | None:
    """The question's time scope, or None. `ref` anchors relative phrases ("last year"); without
    it they are ignored rather than resolved against an arbitrary clock."""
    if m := _RANGE.search(question):
        start, end = _period(m)
        op = m["op"].lower()
        if op in ("before", "prior to", "until", "till", "by"):
            # "before 2011" ends before the year begins; "by 2011", "until 2011" include it.
            return Scope(until=start - timedelta(days=1) if op in ("before", "prior to") else end,
                         phrase=m[0])
        if op in ("after", "since", "from"):
            return Scope(since=end + timedelta(days=1) if op == "after" else start, phrase=m[0])
        if op == "as of":
            return Scope(until=end, latest=True, phrase=m[0])
        return Scope(since=start, until=end, phrase=m[0])
    if ref is not None and (m := _RELATIVE.search(question)):
        n = int(_WORD_N.get((m["n"] or "1").lower(), m["n"] or 1))
        unit, which = m["unit"].lower(), m["which"].lower()
        if unit == "year" and which in ("last", "previous") and n == 1:
            return Scope(date(ref.year - 1, 1, 1), date(ref.year - 1, 12, 31), phrase=m[0], ref=ref)
        if unit == "year" and which == "this":
            return Scope(date(ref.year, 1, 1), ref, phrase=m[0], ref=ref)
        days = {"year": 365, "month": 30, "week": 7}[unit] * n
        return Scope(ref - timedelta(days=days), ref, phrase=m[0], ref=ref)
    if m := _LATEST.search(question):
        return Scope(latest=True, phrase=m[0])
    return None


def needs_reference(question: str) -> bool:
    """Whether the question holds a relative phrase ("last year") that needs a reference date."""
    return bool(_RELATIVE.search(question))


def _period(m: re.Match) -> tuple[date, date]:
    if m["event"]:
        d = EVENTS[m["event"].lower()]
        return d, d
    y = int(m["year"])
    if m["mon"]:
        mon = MONTHS.index(m["mon"].capitalize()) + 1
        nxt = date(y + (mon == 12), mon % 12 + 1, 1)
        return date(y, mon, 1), nxt - timedelta(days=1)
    return date(y, 1, 1), date(y, 12, 31)


def as_date(iso: str | None) -> date | None:
    if not iso:
        return None
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


_YEAR = re.compile(r"\b(?:19[5-9]\d|20\d\d)\b")


def in_scope(scope: Scope, published: str | None, text: str) -> bool | None:
    """Whether a passage falls in a ranged scope: its article was published then, or its text
    names a year in the range (a 2025 article recounting 2011 is about 2011). None when neither
    a date nor a year says."""
    d = as_date(published)
    if d is not None and scope.contains(d):
        return True
    years = {int(y) for y in _YEAR.findall(text)}
    lo, hi = scope.since or date.min, scope.until or date.max
    if any(date(y, 1, 1) <= hi and date(y, 12, 31) >= lo for y in years):
        return True
    return False if (d is not None or years) else None


def date_words(published: str | None) -> str:
    """An article's date as the words a question says it with ("21 December 2024"): news is
    about the day it is dated, so a question's "in December 2024" is found in the dateline as
    its title's words are, not looked for in every sentence. "" when the date is unknown."""
    d = as_date(published)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}" if d else ""

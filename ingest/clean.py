"""Line-level cleaning: which lines of a news file are article text and which are page furniture.

Pages saved as text keep their furniture on lines of its own ("Advertisement", "read more",
"print sharing button", "More in World", a comments section), so cleaning is a classification of
whole lines, never an edit of the text: offsets into the file stay exact.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Line kinds.
TEXT = "text"
DROP = "drop"            # furniture: not indexed, and a chunk never spans it
END = "end"              # closes the current article ("read more", "More News")
TEASER_END = "teaser"    # "read more": the line before it repeats the article's title
COMMENTS = "comments"    # opens a reader-comments section, dropped up to the next END

_STRIP = " \t\n\r\f\v\u00a0\u2000\u2001\u2002\u2003\u2009\u200a\u200b\u202f\u3000\ufeff"


@dataclass(frozen=True, slots=True)
class Line:
    start: int      # offsets of the stripped line in the file text
    end: int
    text: str


def lines(text: str) -> list[Line]:
    """Non-blank lines with their stripped spans (a BOM or no-break spaces count as blank)."""
    out: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        s = raw.strip(_STRIP)
        if s:
            lead = len(raw) - len(raw.lstrip(_STRIP))
            out.append(Line(pos + lead, pos + lead + len(s), s))
        pos += len(raw) + 1
    return out


def is_blank(s: str) -> bool:
    return not s.strip(_STRIP)


def norm(s: str) -> str:
    """Lowercase, furniture punctuation and extra spaces removed: for matching and dedup."""
    s = re.sub(r"[\s\u00a0]+", " ", s.lower())
    return s.strip(" \t•·|»«›‹→←>…:-–—*#")


_TEASER = re.compile(r"(read|see) (more|full (story|article))|continue reading|full story")
_END = re.compile(
    r"more (news|stories|articles|headlines|videos)|more (in|from|on) [\w&' .-]{1,30}|"
    r"related( (articles?|stories|news|posts|content|coverage))?|you (may|might) also like|"
    r"recommended( for you| stories)?|most (read|popular|viewed|shared)|latest (news|stories)|"
    r"trending( now| stories)?|top stories|editor'?s picks")
_COMMENTS = re.compile(
    r"((reader|user|readers') )?comments?( \(\d+\))?|\d+ (comments?|responses?|replies)|"
    r"facebook conversations|leave a (comment|reply)|post a comment|add a comment|"
    r"join the (conversation|discussion)|(show|view|load) (all )?comments|comments are closed")
_DROP = re.compile(
    r"advertisements?|advert|ad|sponsored( content)?|(paid|partner) content|"
    r"story continues (below|after)( (the )?advertisement)?|scroll to continue( with content)?|"
    r"([\w-]+ )?sharing button|share( this( article| story| page| post)?)?( on [\w ]+)?|"
    r"tweet|print|e-?mail|whatsapp|copy link|click to (share|print|email).*|"
    r"follow us( on [\w ,]+)?|subscribe( now| to [\w ' ]+)?|sign up( for [\w ' ]+)?|"
    r"listen to (this )?(article|story)|(also read|read also|see also|related( \w+)?): .{0,200}|"
    r"(tags|topics|filed under): .{0,200}|(©|\(c\)|copyright ©?\s*\d{4}).{0,120}|"
    r"all rights reserved.?")
_URL = re.compile(r"(https?://|www\.)\S+")
_CREDIT = re.compile(r"(photo|image|picture|file photo|photograph|video|graphic)s?"
                     r"( credit| source| courtesy)?\s*:.{0,100}", re.I)
_CAPTION_CREDIT = re.compile(r".{0,200}\bPHOTO:\s*[\w .,/&-]{1,40}")
_BYLINE_BIO = re.compile(r"[^.!?]{2,60}:\s*(staff|senior|chief|special|contributing)?\s*"
                         r"(reporter|writer|correspondent|editor|contributor)\b[^.!?]{0,60}", re.I)
_CREDITS_LINE = re.compile(r"\(?(edited|(additional )?reporting|writing|compiled|translated|"
                           r"produced|fact-checked) by\b", re.I)
_TIMESTAMP = re.compile(r"\w{3,9}\.? \d{1,2}, \d{4}\s*[-–—|,]?\s*(at )?\d{1,2}:\d{2}\s*([ap]\.?m\.?)?",
                        re.I)


def classify(line: str) -> str:
    """The kind of one stripped line, from its text alone."""
    n = norm(line)
    if len(n) <= 60 and not n.endswith((".", "?", "!")):    # furniture, not a short sentence
        if _TEASER.fullmatch(n):
            return TEASER_END
        if _END.fullmatch(n):
            return END
        if _COMMENTS.fullmatch(n):
            return COMMENTS
    if len(n) <= 200 and _DROP.fullmatch(n):
        return DROP
    if _URL.fullmatch(line) or _CREDIT.fullmatch(line) or _TIMESTAMP.fullmatch(n):
        return DROP
    words = len(line.split())
    if words <= 25 and _CAPTION_CREDIT.fullmatch(line):
        return DROP
    if words <= 20 and (_BYLINE_BIO.fullmatch(line) or _CREDITS_LINE.match(line)):
        return DROP
    return TEXT


def classify_all(ls: list[Line]) -> list[str]:
    """Kinds for all lines: a comments header drops everything up to the next END line."""
    kinds: list[str] = []
    in_comments = False
    for ln in ls:
        k = classify(ln.text)
        if k == COMMENTS:
            in_comments = True
            k = DROP
        elif k in (END, TEASER_END):
            in_comments = False
        elif in_comments:
            k = DROP
        kinds.append(k)
    return kinds


_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTH_RE = r"(?P<mon>[a-z]{3,9})\.?"
_DATE_FORMS = (
    re.compile(_MONTH_RE + r" (?P<d>\d{1,2})(st|nd|rd|th)?,? (?P<y>\d{4})"),
    re.compile(r"(?P<d>\d{1,2})(st|nd|rd|th)? " + _MONTH_RE + r",? (?P<y>\d{4})"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})"),
)
_DATE_PREFIX = re.compile(r"(published|updated|posted|last updated|date)( on)?\s*:?\s*|"
                          r"(mon|tues|wednes|thurs|fri|satur|sun)day,?\s*")
_TIME_SUFFIX = re.compile(r"\s*([-–—|,@]|at)?\s*\d{1,2}[:.]\d{2}(\s*[ap]\.?m\.?)?(\s*\w{2,5})?\s*$")


def parse_date(line: str) -> str | None:
    """ISO date of a line that is only a date ("Published: October 25, 2011", "Tuesday,
    01/14/2025", "December 21, 2024"), else None."""
    s = norm(line)
    if len(s) > 60:
        return None
    while (m := _DATE_PREFIX.match(s)) and m.end() > 0:
        s = s[m.end():]
    s = _TIME_SUFFIX.sub("", s).strip(" ,.")
    for form in _DATE_FORMS:
        m = form.fullmatch(s)
        if m:
            return _iso(m.groupdict())
    return None


def _iso(g: dict) -> str | None:
    y = int(g["y"])
    if g.get("mon"):
        mon = g["mon"]
        full = [v for k, v in _MONTHS.items() if k.startswith(mon)]
        if len(full) != 1 or not (mon in _MONTHS or len(mon) <= 4):   # "oct", "sept", "october"
            return None
        m, d = full[0], int(g["d"])
    elif g.get("a"):
        a, b = int(g["a"]), int(g["b"])
        m, d = (a, b) if a <= 12 else (b, a)   # US month-first unless the first can't be a month
    else:
        m, d = int(g["m"]), int(g["d"])
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None

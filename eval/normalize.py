"""Answer normalisation for evaluation (see docs: ../shared/docs/eval.md, "Normalisation").

`squad_normalize` is exactly the official SQuAD v1.1 `normalize_answer`.

`normalize` is SQuAD v1.1 plus two things:

* curly quotes are mapped to straight ones (and so removed with the other ASCII punctuation);
  Unicode hyphens and the en dash are removed like "-" ("Wana–Jandola" == "Wana-Jandola");
  other non-ASCII punctuation (Unicode category P*, e.g. the em dash in "Taliban—who") becomes a
  space instead of being left in place, since it separates words;
* the declared **number extension** (on by default, `numbers=False` turns it off), applied first:
  "2,600" -> "2600"; "ten" -> "10", "twenty-five" -> "25", "one hundred and five" -> "105",
  "five thousand" -> "5000", "five million" -> "5 million" (million/billion/trillion stay words);
  "5 thousand" -> "5000"; "5bn" -> "5 billion"; "$5m" / "$5 million" / "US$5 million" ->
  "5 million dollars" (likewise £ pounds, € euros); "5%" / "5 per cent" -> "5 percent";
  ordinals "first" -> "1st", "twenty-first" -> "21st"; a hyphen or en dash touching a digit
  becomes a space ("21-member" -> "21 member", "200-300" -> "200 300", "ten-year-old" ->
  "10 yearold"); and a decimal point between two digits survives punctuation stripping, so "1.5"
  stays "1.5" instead of becoming "15".

Both sides of every comparison (gold alias and system answer/context) go through the same function,
so ambiguous words ("one", "second") are harmless: they are rewritten identically on both sides.
"""
from __future__ import annotations

import re
import string
import unicodedata
from decimal import Decimal

__all__ = ["normalize", "tokens", "squad_normalize", "canonicalize_numbers"]


# --------------------------------------------------------------------------- official SQuAD v1.1
def squad_normalize(s: str) -> str:
    """Official SQuAD v1.1 `normalize_answer`: lower, remove punctuation, articles, extra whitespace."""

    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


# --------------------------------------------------------------------------- quotes, punctuation
_QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
    }
)

_ASCII_PUNCT = frozenset(string.punctuation)
_HYPHENS = frozenset("\u2010\u2011\u2012\u2013")  # hyphen, non-breaking hyphen, figure dash, en dash


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _remove_punct(text: str, keep_decimal: bool) -> str:
    """ASCII punctuation is deleted (as SQuAD does: "well-known" -> "wellknown"); other Unicode
    punctuation (em/en dashes, ellipsis, ...) becomes a space, since it separates words."""
    out = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch in _HYPHENS:  # Unicode hyphens and the en dash join words like "-" does
            continue
        if ch not in _ASCII_PUNCT and _is_punct(ch):
            out.append(" ")
            continue
        if ch in _ASCII_PUNCT:
            if (
                keep_decimal
                and ch == "."
                and 0 < i < n - 1
                and text[i - 1].isdigit()
                and text[i + 1].isdigit()
            ):
                out.append(ch)
            continue
        out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- numbers
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"million": "million", "billion": "billion", "trillion": "trillion"}
_ORD_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9,
}
_ORD_TEENS = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}
_ORD_TENS = {
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60,
    "seventieth": 70, "eightieth": 80, "ninetieth": 90,
}
_ORD_BIG = {"hundredth": 100, "thousandth": 1000}

# Teens and tens (cardinal or ordinal) with their kind: a unit may follow "twenty", not
# "thirteen".
_TWO_DIGITS = {**{w: (v, "teen") for w, v in {**_TEENS, **_ORD_TEENS}.items()},
               **{w: (v, "tens") for w, v in {**_TENS, **_ORD_TENS}.items()}}

_ALL_WORDS = (
    list(_UNITS) + list(_TEENS) + list(_TENS) + list(_SCALES) + list(_ORD_UNITS)
    + list(_ORD_TEENS) + list(_ORD_TENS) + list(_ORD_BIG) + ["hundred", "thousand"]
)
_WORD_ALT = "|".join(sorted(_ALL_WORDS, key=len, reverse=True))
# A run of number words joined by spaces, hyphens, or "and".
_WORD_RUN = re.compile(
    rf"\b(?:{_WORD_ALT})\b(?:(?:\s+|\s*-\s*)(?:and\s+)?(?:{_WORD_ALT})\b)*"
)


def _ordinal_suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _parse_word_run(run: str) -> str:
    """Turn a run of number words into digits. Invalid sequences ("five six") become separate
    numbers; stray "and" words are kept."""
    words = [w for w in re.split(r"[\s-]+", run) if w]
    out: list[str] = []
    total = 0        # completed thousands
    cur = 0          # current group below 1000
    last = None      # category of the previous word within the current number
    active = False
    pending_and = False

    def flush():
        nonlocal total, cur, last, active, pending_and
        if active:
            out.append(str(total + cur))
        if pending_and:
            out.append("and")
        total = cur = 0
        last = None
        active = False
        pending_and = False

    for w in words:
        if w == "and":
            if active and last in ("hundred", "thousand") and not pending_and:
                pending_and = True
            else:
                flush()
                out.append("and")
            continue
        if w in _UNITS or w in _ORD_UNITS:
            v = _UNITS.get(w, _ORD_UNITS.get(w))
            if active and last not in ("tens", "hundred", "thousand"):
                flush()
            if w == "zero" and active:
                flush()
            cur += v
            active, last, pending_and = True, "unit", False
        elif w in _TWO_DIGITS:
            v, last_kind = _TWO_DIGITS[w]
            if active and last not in ("hundred", "thousand"):
                flush()
            cur += v
            active, last, pending_and = True, last_kind, False
        elif w in ("hundred", "hundredth"):
            if active and (last in ("hundred", "thousand") or cur >= 100):
                flush()
            if pending_and:
                flush()
            cur = (cur or 1) * 100
            active, last = True, "hundred"
        elif w in ("thousand", "thousandth"):
            if active and last == "thousand":
                flush()
            if pending_and:
                flush()
            total += (cur or 1) * 1000
            cur = 0
            active, last = True, "thousand"
        elif w in _SCALES:
            if pending_and:
                flush()
            if active:
                out.append(f"{total + cur} {w}")
                total = cur = 0
                last = None
                active = False
            else:
                out.append(w)
            pending_and = False
            continue
        else:  # pragma: no cover - regex only yields known words
            flush()
            out.append(w)
            continue
        # ordinals end a number
        if w in _ORD_UNITS or w in _ORD_TEENS or w in _ORD_TENS or w in _ORD_BIG:
            n = total + cur
            out.append(f"{n}{_ordinal_suffix(n)}")
            total = cur = 0
            last = None
            active = False
    flush()
    return " ".join(out)


_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
_SCALE_SUFFIX = {
    "m": "million", "mn": "million", "mln": "million", "million": "million",
    "b": "billion", "bn": "billion", "billion": "billion",
    "tn": "trillion", "trillion": "trillion",
    "k": "thousand", "thousand": "thousand",
}
_NUM = r"\d+(?:\.\d+)?"
_MONEY = re.compile(
    rf"(?:\bus\s?)?([$£€])\s?({_NUM})"
    rf"(?:\s?(million|billion|trillion|thousand)\b|(m|mn|mln|bn|b|tn|k)\b)?"
)
_DIGIT_GROUPS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d])")


def _fmt_num(x: Decimal) -> str:
    if x == x.to_integral_value():
        return str(int(x))
    return format(x.normalize(), "f")


def _money_sub(m: re.Match) -> str:
    sym, num, word_scale, suf_scale = m.group(1), m.group(2), m.group(3), m.group(4)
    scale = _SCALE_SUFFIX.get(word_scale or suf_scale or "", "")
    unit = _CURRENCY[sym]
    if scale == "thousand":
        return f" {_fmt_num(Decimal(num) * 1000)} {unit} "
    if scale:
        return f" {num} {scale} {unit} "
    return f" {num} {unit} "


def canonicalize_numbers(s: str) -> str:
    """The number step of `normalize`, on already lower-cased text (see the module docstring)."""
    s = _DIGIT_GROUPS.sub(lambda m: m.group(0).replace(",", ""), s)
    s = _MONEY.sub(_money_sub, s)
    # digits followed by a hundred/thousand word -> plain integer ("5 thousand" -> "5000")
    s = re.sub(
        rf"\b({_NUM})\s+(hundred|thousand)\b",
        lambda m: _fmt_num(Decimal(m.group(1)) * (100 if m.group(2) == "hundred" else 1000)),
        s,
    )
    s = _WORD_RUN.sub(lambda m: _parse_word_run(m.group(0)), s)
    # "5bn" / "5mn" / "5tn" -> "5 billion" (a bare "5m" is left alone: metres or million?)
    s = re.sub(rf"\b({_NUM})(bn|mn|mln|tn)\b", lambda m: f"{m.group(1)} {_SCALE_SUFFIX[m.group(2)]}", s)
    s = re.sub(rf"({_NUM})\s*%", r"\1 percent ", s)
    s = re.sub(r"\bper\s?cent\b", "percent", s)
    # a hyphen/en dash touching a digit separates tokens: "21-member" -> "21 member",
    # "200-300" -> "200 300" (plain SQuAD would glue them into "21member", "200300")
    s = re.sub(r"(?<=\d)\s*[-\u2010\u2011\u2012\u2013]\s*|\s*[-\u2010\u2011\u2012\u2013]\s*(?=\d)", " ", s)
    return s


# --------------------------------------------------------------------------- public API
def normalize(s: str, numbers: bool = True) -> str:
    """SQuAD v1.1 normalisation (+ curly quotes, Unicode punctuation) with the declared number
    extension applied first when `numbers` is true."""
    s = s.translate(_QUOTE_MAP).lower()
    if numbers:
        s = canonicalize_numbers(s)
    s = _remove_punct(s, keep_decimal=numbers)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def tokens(s: str, numbers: bool = True) -> list[str]:
    """Tokens of the normalised string (whitespace split)."""
    return normalize(s, numbers=numbers).split()

"""Names: one extractor for people, places and organisations, and the name-aware term credit."""
from __future__ import annotations

import re

from .words import terms

# Capitalised runs, allowing Arabic-style particles inside names: "Khalil-ur-Rahman Haqqani",
# "Mullah Abdul Ghani Baradar", "al-Qaeda", "Tehreek-e-Taliban Pakistan".
_WORD = r"(?:[A-Z](?:\.[A-Z])+\.?|[A-Z][\w’'-]*)"          # "U.S." or "Haqqani"
_NAME_RE = re.compile(r"(?:\b(?:al|el|ul|bin|ibn)-)?\b" + _WORD + r"(?:\s+(?:(?:al|el|ul|bin|ibn|of|de)"
                      r"[\s-]+)?" + _WORD + r")*")
# Capitalised only because they open a sentence or a question, or name no one.
NOT_NAMES = frozenset("""what when where who whom whose why how which did does do is are was were
will would can could should has have had the a an and but or if in on at of for to by with from
he she they it his her their its him them this that these those there i you we tell give list
according also then so yes no please ok okay thanks""".split())
# Honorifics: a person's, never part of what they are called ("Mullah Baradar", "Mr. Omar").
HONORIFICS = frozenset("""mr mrs ms dr mullah mawlawi maulvi mawlana maulana mufti haji
sheikh""".split())
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def names(text: str) -> list[str]:
    """Named entities, in order of appearance, without duplicates or question words."""
    out: list[str] = []
    for m in _NAME_RE.finditer(text):
        words = m.group(0).replace("’s", "").removesuffix("'s").split()
        while words and words[0].lower() in NOT_NAMES:      # "When Baradar" -> "Baradar"
            words = words[1:]
        name = " ".join(words).strip(" -'’")
        if name and name.lower() not in NOT_NAMES and name not in out:
            out.append(name)
    return out


def full_names(text: str) -> list[str]:
    """Names of two or more words, or acronyms ("Hanif Atmar", "UN"): the ones that identify
    someone, where a single capitalised word may only open a sentence."""
    return [n for n in names(text) if " " in n or "-" in n or (n.isupper() and len(n) >= 2)]


def name_groups(question: str) -> list[set[str]]:
    """The stemmed parts of each multi-word name in the question ("Hanif Atmar")."""
    return [g for g in (set(terms(n)) for n in names(question)) if len(g) > 1]


def name_credit(found: set[str], groups: list[set[str]], weight: dict[str, float]) -> float:
    """Weight of the question terms found, where part of a name counts for the whole of it.

    News names a person in full once, then by one part ("Atmar said"). The missing parts are
    credited up to the weight of the part that matched, so a rare surname stands for the full
    name but a common family name ("Haqqani") does not stand for every Haqqani.
    """
    total = sum(weight[t] for t in found)
    for g in groups:
        hit, miss = g & found, g - found
        if hit and miss:
            total += min(sum(weight[t] for t in miss), sum(weight[t] for t in hit))
    return total

"""Related words: which question terms a sentence answers in other words ("died" by "dead",
"freed" by "released"), from the hand-written groups in data/related_words.txt."""
from __future__ import annotations

import functools

from .data import DATA
from .words import stem


@functools.lru_cache(maxsize=1)
def _groups() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for line in (DATA / "related_words.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        group = set(stem(line.lower().split()))
        for t in group:
            out.setdefault(t, set()).update(group)
    return {t: frozenset(g) for t, g in out.items()}


def related(term: str) -> frozenset[str]:
    """The stemmed term and the stems of words that say the same thing."""
    return _groups().get(term, frozenset((term,)))


def matched(q_terms: set[str], terms: set[str]) -> set[str]:
    """The question terms found in `terms` as written or as a related word."""
    return {t for t in q_terms if t in terms or not related(t).isdisjoint(terms)}

"""Time and conflicts around an answer: the engine's news layer.

Before answering, a question's time scope ("in 2011", "last year", "before the takeover")
narrows the retrieved candidates to passages of that time, and "latest / now / currently"
puts the newest articles first. After answering, the answer says the date it speaks as of and
shows conflicting reports (each quoted verbatim, with its date and source, cited) instead of
silently picking one.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Callable

from .conflicts import Conflict, find_conflicts
from .timescope import Scope, as_date, in_scope, needs_reference, parse_scope
from .types import Answer, Passage, Sentence
from .when import check_range


def show_date(iso: str | None) -> str:
    """'14 January 2025', or 'no date' when the article gives none (never guessed)."""
    d = as_date(iso)
    if d is None:
        return iso or "no date"
    return f"{d.day} {d:%B %Y}"


def question_scope(question: str, reference: Callable[[], date | None],
                   as_of: date | None = None) -> Scope | None:
    """The scope of `question`; relative phrases resolve against `as_of`, else against the
    newest article date in the index (`reference`, called only when a phrase needs it)."""
    scope = parse_scope(question, as_of)
    if scope is None and as_of is None:
        ref = needs_reference(question) and reference()
        scope = parse_scope(question, ref or None)
        if scope is not None and scope.ref is not None:
            scope = replace(scope, ref_from="the newest article in the index")
    return scope


def scope_passages(ranked: list[Passage], scope: Scope | None, k: int
                   ) -> tuple[list[Passage], list[str]]:
    """The k passages to answer from, given the question's scope, and notices for the user."""
    if scope is None:
        return _renumber(ranked[:k]), []
    notes = []
    if scope.ref is not None:
        notes.append(f"\"{scope.phrase}\" read as {scope.describe()}, relative to "
                     f"{show_date(scope.ref.isoformat())} ({scope.ref_from}).")
    if scope.ranged:
        inside = [p for p in ranked if in_scope(scope, p.chunk.date, p.chunk.text)]
        if not inside:
            return _renumber(ranked[:k]), notes + [
                f"No indexed passage is dated {scope.describe()} (\"{scope.phrase}\"); "
                "the answer is not limited to that time."]
        ranked = inside
    if scope.latest:
        # Newest first among the best k; undated passages keep their rank after the dated ones.
        top = ranked[:k]
        ranked = sorted(top, key=lambda p: as_date(p.chunk.date) or date.min, reverse=True)
    return _renumber(ranked[:k]), notes


def _renumber(passages: list[Passage]) -> list[Passage]:
    return [Passage(i, p.chunk, p.score) for i, p in enumerate(passages, start=1)]


def annotate(answer: Answer, scope: Scope | None, candidates: list[Passage] = ()
             ) -> tuple[Answer, str]:
    """The answer with its as-of date and conflicts, and the text to append to a stream.

    Conflicting reports are looked for among the shown passages and the other retrieval
    candidates: a 2021 story and a 2025 one rarely both make the top k. A candidate that holds a
    conflicting claim is added to the passages (numbered after them) so the claim is cited."""
    if answer.abstained:
        return answer, ""
    sentences, text, as_of = list(answer.sentences), answer.text, None
    if scope is not None and scope.latest and answer.citations:
        dated = [p.chunk.date for p in answer.citations if as_date(p.chunk.date)]
        if dated:
            as_of = max(dated, key=as_date)
            prefix = f"As of {show_date(as_of)}, "
            text = prefix + _lower_article(text)
            if sentences:
                sentences[0] = replace(sentences[0], text=prefix + _lower_article(sentences[0].text))
    shown = list(answer.passages)
    ids = {p.chunk.id for p in shown}
    top = max((p.n for p in shown), default=0)
    pool = shown + [Passage(top + i, p.chunk, p.score) for i, p in enumerate(
        (c for c in candidates if c.chunk.id not in ids), start=1)]
    conflicts = find_conflicts(answer.rewritten or answer.question, pool)
    extra = ""
    if conflicts:
        conflicts, shown = _adopt(conflicts, pool, len(answer.passages))
        added = _conflict_sentences(conflicts)
        sentences += [s for s, _ in added]
        extra = "\n" + " ".join(shown_text for _, shown_text in added)
        text = text + extra
    return replace(answer, text=text, sentences=tuple(sentences), passages=tuple(shown),
                   conflicts=tuple(conflicts), as_of=as_of), extra


def _lower_article(text: str) -> str:
    """'The Taliban's ...' -> 'the Taliban's ...' after "As of <date>, "; names keep their case."""
    from .text import stopwords
    first = text.split(" ", 1)[0].strip(",")
    lower = first.lower() in stopwords() or first in ("However", "Meanwhile", "Also", "Yet")
    return text[0].lower() + text[1:] if lower else text


def _adopt(conflicts: list[Conflict], pool: list[Passage], n_shown: int
           ) -> tuple[list[Conflict], list[Passage]]:
    """Add the candidates that conflicting claims come from to the shown passages, numbered
    after them, and renumber the claims to match."""
    passages = pool[:n_shown]
    by_n = {p.n: p for p in pool}
    new_n: dict[int, int] = {p.n: p.n for p in passages}
    top = max(new_n, default=0)
    for c in conflicts:
        for claim in c.claims:
            if claim.n not in new_n:
                top += 1
                new_n[claim.n] = top
                passages.append(Passage(top, by_n[claim.n].chunk, by_n[claim.n].score))
    out = [replace(c, claims=tuple(replace(x, n=new_n[x.n]) for x in c.claims))
           for c in conflicts]
    return out, passages


def _conflict_sentences(conflicts: list[Conflict]) -> list[tuple[Sentence, str]]:
    """(sentence, its text as shown): each claim quoted verbatim from its passage with its date
    and source, so it is supported by the passage it cites."""
    out = []
    for c in conflicts:
        latest = c.latest
        for i, claim in enumerate(c.claims):
            when = show_date(claim.date) if claim.date else "An undated article"
            tag = ""
            if latest is not None and claim is latest:
                tag = " (the latest)" if as_date(claim.date) else " (the later report: it tells of the death)"
            said = f"{when}{tag}, {claim.source}: “{claim.text}”"
            head = f"Reports differ on {c.about}. " if i == 0 else ""
            out.append((Sentence(said, (claim.n,), True), f"{head}{said} [{claim.n}]"))
    return out


def filters(since: date | None = None, until: date | None = None,
            source: str | None = None, known: Callable[[], list[str]] | None = None) -> dict | None:
    """A Chroma `where` for --since / --until / --source (BM25 applies the same one), or None.
    Dates compare as the numeric `day` field; an undated chunk never passes a date filter."""
    check_range(since, until)
    conds: list[dict] = []
    if since:
        conds.append({"day": {"$gte": int(since.strftime("%Y%m%d"))}})
    if until:
        conds.append({"day": {"$lte": int(until.strftime("%Y%m%d"))}})
    if source:
        if known is not None and source not in (names := known()):
            close = [n for n in names if source.lower() in n.lower()][:5]
            hint = f" Did you mean: {', '.join(close)}?" if close else " See `rag stats --files`."
            raise ValueError(f"no indexed file is named {source!r}.{hint}")
        conds.append({"source": source})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def newest_date(store) -> date | None:
    """The newest publication date among the indexed chunks (one query on the chunk table)."""
    return as_date(store.newest_date())

"""Plain-text rendering of answers for the terminal (CLI and chat)."""
from __future__ import annotations

import textwrap
from typing import IO, Iterable

from .news import show_date
from .types import Answer


def print_answer(stream: Iterable, engine=None, out: IO[str] | None = None,
                 sources: bool = True) -> Answer | None:
    """Print text as it streams, then the citations; returns the final Answer."""
    import sys
    out = out or sys.stdout
    final = None
    for item in stream:
        if isinstance(item, Answer):
            final = item
            break
        out.write(item)
        out.flush()
    out.write("\n")
    if final is None:
        return None
    if final.rewritten and final.rewritten != final.question:
        out.write(f"  (searched for: {final.rewritten})\n")
    unsupported = [s.text for s in final.sentences if not s.supported]
    for s in unsupported:
        out.write(f"  ! not supported by its cited passage: {_short(s, 90)}\n")
    if final.abstained and final.abstain_reason in WHY:
        out.write(f"  (why: {WHY[final.abstain_reason]})\n")
    for note in final.notices:
        out.write(f"  note: {note}\n")
    if sources:
        out.write(format_sources(final))
    out.write(f"  [{final.answerer or 'answerer'}; {final.timings.get('total', 0):.0f} ms]\n")
    return final


# The answerer's abstain reasons (rag.confidence), said for people.
WHY = {"off_topic": "most of the question's words occur in no indexed article",
       "topic_missing": "the closest sentence is not about a name or rare word the question "
                        "asks about",
       "type_missing": "the closest sentence does not hold what the question asks for "
                       "(a number, a date, a name)",
       "predicate_missing": "the closest sentence is on the topic but not about what is asked",
       "weak_evidence": "the closest sentences are weak evidence",
       "no_evidence": "nothing relevant was retrieved",
       "no_terms": "the question has no searchable words"}


def format_sources(answer: Answer, all_passages: bool = False) -> str:
    shown = answer.passages if all_passages else answer.citations
    if not shown:
        return ""
    lines = ["Sources:" if not all_passages else "Passages shown to the answerer:"]
    for p in shown:
        c = p.chunk
        lines.append(f"  [{p.n}] {c.title or c.source} — {c.source}, {show_date(c.date)}, "
                     f"chars {c.start}-{c.end}")
        # Show the sentence that supports the answer, not just the passage's first lines.
        a, b = answer.highlights.get(p.n, (c.start, c.end))
        quote = c.text[a - c.start:b - c.start]
        lines.append(textwrap.indent(textwrap.fill(_short(quote, 300), 96), "      "))
    return "\n".join(lines) + "\n"


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"

"""The answerer seam: a one-method protocol, and `consume` to read a stream to its Answer.

Implementations: rag/answer_extractive.py (offline default), rag/answer_llm.py (an
OpenAI-compatible server). They are picked by name from `rag.registry.ANSWERERS`.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol, Sequence

from .types import Answer, Passage

# What every answerer says when the passages do not hold the answer (Answer.abstained is the
# signal; this is the words for people).
ABSTAIN_TEXT = "The indexed articles do not say."


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Iterator[str | Answer]:
        """Yields text deltas (str) as produced, then exactly one final Answer."""
        ...


def consume(stream: Iterable[str | Answer], who: str = "the answerer") -> Answer:
    """Read a stream of text deltas to its final Answer."""
    final = None
    for item in stream:
        if isinstance(item, Answer):
            final = item
    if final is None:
        raise RuntimeError(f"{who} ended its stream without an Answer")
    return final


def run(answerer: Answerer, question: str, passages: Sequence[Passage], **kw) -> Answer:
    """Answer once, without streaming."""
    return consume(answerer.stream(question, passages, **kw), f"answerer {answerer.name!r}")

"""The vocabulary that flows from ingest to answer.

Every span (`start`, `end`) is a character offset into the source file's text as Python reads it
(`open(path, encoding="utf-8").read()`), so `text == file_text[start:end]` always holds and any
citation can be highlighted and checked. For HTML files the "file text" is the extracted article
text, which ingest keeps beside the store (see `rag.store.Store.document_text`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def content_id(*parts: object) -> str:
    """A stable id from content, so re-ingesting the same text is a no-op."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Article:
    """One article inside a source file: its title and where its body lies in the file text."""
    source: str
    index: int
    title: str
    start: int
    end: int
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one article, as indexed.

    id: content hash of (source, start, end, text); re-ingesting the same text gives the same id.
    source: the file's name (unique within a store). title: the article's title.
    article: the article's index within its file. text: exactly `file_text[start:end]`.
    start, end: character offsets into the file text (see the module docstring).
    date: the article's publication date (ISO 8601) when known, else None.
    """
    id: str
    source: str
    title: str
    article: int
    text: str
    start: int
    end: int
    date: str | None = None   # the article's publication date (ISO), None when none is given

    @staticmethod
    def make(source: str, title: str, article: int, text: str, start: int, end: int,
             date: str | None = None) -> "Chunk":
        return Chunk(content_id(source, start, end, text), source, title, article, text,
                     start, end, date)


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk as shown to the answerer.

    n: its number in the answer (from 1), as sentences cite it. chunk: the `Chunk`.
    score: the retrieval score (fused rank score for hybrid; higher is better).
    """
    n: int
    chunk: Chunk
    score: float

    def to_dict(self) -> dict:
        c = self.chunk
        return {"n": self.n, "source": c.source, "title": c.title, "date": c.date,
                "start": c.start, "end": c.end, "text": c.text, "score": float(self.score)}


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an answer. citations: the passage numbers (`Passage.n`) it cites.
    supported: True when citation checking found it backed by a cited passage.
    direct: True for a short direct answer ("10 times") taken from the quote that follows it."""
    text: str
    citations: tuple[int, ...] = ()
    supported: bool = False
    direct: bool = False


@dataclass(frozen=True)
class Answer:
    """One answer. `to_dict()` is the JSON record (`rag ask --json`), whose JSON Schema ships as
    `rag/schemas/answer.schema.json`.

    question: as asked. text: the answer (the abstention sentence when `abstained`).
    abstained: True when the articles did not give enough evidence (a flag, not a phrase).
    sentences: the answer's `Sentence`s with their citations. passages: every `Passage` the
    answerer was shown, numbered as cited; `citations` is the cited subset, in citation order.
    notices: remarks for the user (e.g. a fallback to the extractive answerer).
    timings: milliseconds per stage (`retrieve`, `answer`, `total`). rewritten: the standalone
    question a follow-up was rewritten to (None when unchanged). answerer: which answerer wrote it.
    interrupted: True when the stream was cut short. confidence: the answerer's evidence score.
    highlights: passage number -> the file span (start, end) of its sentence that best supports
    the answer.
    """
    question: str
    text: str
    abstained: bool
    sentences: tuple[Sentence, ...] = ()
    passages: tuple[Passage, ...] = ()
    notices: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    rewritten: str | None = None
    answerer: str = ""
    interrupted: bool = False
    confidence: float | None = None   # the answerer's own evidence score; abstains below a threshold
    conflicts: tuple = ()             # rag.conflicts.Conflict: cited reports that disagree
    as_of: str | None = None          # for "latest / now" questions: the date the answer speaks as of
    highlights: dict[int, tuple[int, int]] = field(default_factory=dict)  # passage n -> the file
                                      # span of the sentence that supports the answer
    abstain_reason: str | None = None  # which check failed when it abstained (rag.confidence)

    @property
    def citations(self) -> tuple[Passage, ...]:
        """The passages the answer's sentences cite, in order of first citation."""
        by_n = {p.n: p for p in self.passages}
        seen: dict[int, Passage] = {}
        for s in self.sentences:
            for n in s.citations:
                if n in by_n and n not in seen:
                    seen[n] = by_n[n]
        return tuple(seen.values())

    def to_dict(self) -> dict:
        cites = []
        for p in self.citations:
            d = p.to_dict()
            d.pop("score")
            if p.n in self.highlights:
                a, b = self.highlights[p.n]
                c = p.chunk
                d["highlight"] = {"start": a, "end": b, "text": c.text[a - c.start:b - c.start]}
            cites.append(d)
        from .schemas import ANSWER_SCHEMA_VERSION
        return {
            "schema_version": ANSWER_SCHEMA_VERSION,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "rewritten": self.rewritten if self.rewritten is not None else self.question,
            "answerer": self.answerer,
            "interrupted": self.interrupted,
            "confidence": self.confidence,
            "abstain_reason": self.abstain_reason,
            "sentences": [{"text": s.text, "citations": list(s.citations),
                           "supported": s.supported} for s in self.sentences],
            "citations": cites,
            "passages": [p.to_dict() for p in self.passages],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "as_of": self.as_of,
            "notices": list(self.notices),
            "timings_ms": {k: round(v, 3) for k, v in self.timings.items()},
        }

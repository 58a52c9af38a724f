"""The answerer seam: a one-method protocol, a registry picked by name at the edge, and the prompt
material the LLM answerer and the condenser share (prompt files, passage formatting, fitting
passages into a token budget, reading the NO_ANSWER line).

Abstention protocol: the prompt asks for the line NO_ANSWER first when the passages do not hold
the answer. A fixed token at a fixed place is what small local models follow most reliably (JSON
and tool calls break, or are unsupported on many local servers, and would stop us streaming
prose), and it is read before any text reaches the user; no prose is ever matched afterwards.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

from . import tokens
from .types import Answer, Passage

PROMPTS = Path(__file__).resolve().parent / "prompts"
NO_ANSWER = "NO_ANSWER"
ABSTAIN_TEXT = "The passages do not contain the answer."


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Iterator[str | Answer]:
        """Yields text deltas (str) as produced, then exactly one final Answer."""
        ...


def run(answerer: Answerer, question: str, passages: Sequence[Passage], **kw) -> Answer:
    """Consume a stream; return its final Answer."""
    final = None
    for item in answerer.stream(question, passages, **kw):
        if isinstance(item, Answer):
            final = item
    if final is None:
        raise RuntimeError(f"answerer {answerer.name!r} ended its stream without an Answer")
    return final


# ---- registry -------------------------------------------------------------------------------
# Factories import their module only when called, so picking "extractive" never imports the
# openai client and picking "llm" never loads what only the extractive answerer needs.

def _extractive(settings, *, fallback=None, embedder=None, idf=None) -> Answerer:
    from .answer_extractive import ExtractiveAnswerer
    from .embed import make_embedder
    return ExtractiveAnswerer(embedder or make_embedder(settings), idf, settings.abstain_threshold)


def _llm(settings, *, fallback=None, embedder=None, idf=None) -> Answerer:
    from .llm import LLMAnswerer
    return LLMAnswerer(settings, fallback or _extractive(settings, embedder=embedder, idf=idf))


ANSWERERS: dict[str, Callable[..., Answerer]] = {"extractive": _extractive, "llm": _llm}


def make_answerer(name: str, settings, *, fallback: Answerer | None = None,
                  embedder=None, idf=None) -> Answerer:
    """`fallback` answers when the LLM cannot (default: the extractive answerer); `idf` weights
    the extractive answerer's term matching (the engine passes its BM25 index's)."""
    try:
        factory = ANSWERERS[name]
    except KeyError:
        raise ValueError(f"unknown answerer {name!r}; valid: {', '.join(sorted(ANSWERERS))}") from None
    return factory(settings, fallback=fallback, embedder=embedder, idf=idf)


# ---- prompt material ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip()


_BRACKETED_NUMBER = re.compile(r"[\[［【]\s*(\d+)\s*[\]］】]")


def format_passage(p: Passage, text: str | None = None) -> str:
    """'[2] Title — source.txt' then the text. Bracketed numbers inside the article (footnotes
    like "[1]") become "(note 1)", so the model never copies one that looks like a citation."""
    body = _BRACKETED_NUMBER.sub(r"(note \1)", p.chunk.text if text is None else text)
    head = f"[{p.n}] {p.chunk.title or '(untitled)'} — {p.chunk.source}"
    if p.chunk.date:
        head += f" ({p.chunk.date})"
    return f"{head}\n{body.strip()}"


def fit_passages(passages: Sequence[Passage], budget: int) -> tuple[list[Passage], list[str]]:
    """The passages that fit in `budget` tokens, best first (the order given); a passage too big
    for what is left is skipped and a smaller later one may still fit. If not even the best one
    fits, its text is cut to the budget so the model sees something. Returns the kept passages
    and their formatted blocks."""
    kept: list[Passage] = []
    blocks: list[str] = []
    left = budget
    for p in passages:
        block = format_passage(p)
        cost = tokens.count(block) + 2          # the blank line between blocks
        if cost <= left:
            kept.append(p)
            blocks.append(block)
            left -= cost
    if not kept and passages and budget > 32:
        p = passages[0]
        head_cost = tokens.count(format_passage(p, "")) + 2
        enc = tokens.encoding()
        cut = enc.decode(enc.encode(p.chunk.text, disallowed_special=())[: budget - head_cost])
        kept, blocks = [p], [format_passage(p, cut + " …")]
    return kept, blocks


# ---- the NO_ANSWER line ---------------------------------------------------------------------
_DECOR = " \t\r\n*`#>\"'_"
_SENTINEL_RE = re.compile(r"^[\s*`#>\"'_]*NO[_ -]?ANSWER\b[\s*`#>\"'_:.\-–—]*", re.IGNORECASE)
# Reasoning models served locally (qwen3, deepseek-r1 on Ollama) open with a <think> block.
_THINK_RE = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


class SentinelGate:
    """Holds back the start of a streamed reply until it is clear whether it opens with
    NO_ANSWER (after any <think> block), so neither ever reaches the user."""

    def __init__(self):
        self.buf, self.decided, self.abstained, self.started = "", False, False, False

    def feed(self, delta: str) -> str:
        if self.decided:
            return self._start(delta)
        self.buf += delta
        return "" if self._undecided() else self.flush()

    def _start(self, delta: str) -> str:
        """Blank lines (and, after NO_ANSWER, its markdown or colon) never open the text."""
        if not self.started:
            delta = delta.lstrip(_DECOR + ":.-–—" if self.abstained else " \t\r\n")
            self.started = bool(delta)
        return delta

    def _undecided(self) -> bool:
        text = self.buf.lstrip()
        if text.startswith("<think>"):
            if "</think>" not in text:
                return True
            text = _THINK_RE.sub("", text)
        elif "<think>".startswith(text):
            return True
        head = re.sub(r"^NO[ -]", "NO_", text.lstrip(_DECOR).upper())
        return len(head) < len(NO_ANSWER) and NO_ANSWER.startswith(head)

    def flush(self) -> str:
        if self.decided:
            return ""
        self.decided = True
        self.abstained, body = split_sentinel(self.buf)
        return self._start(body)


def split_sentinel(text: str) -> tuple[bool, str]:
    """(abstained, the reply without a leading <think> block and NO_ANSWER line)."""
    text = _THINK_RE.sub("", text, count=1)
    m = _SENTINEL_RE.match(text)
    return bool(m), (text[m.end():] if m else text).strip()

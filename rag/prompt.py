"""Prompt building for the LLM answerer and the condenser: the prompt files, passage formatting,
fitting passages into the model's window, and reading the NO_ANSWER line.

Abstention protocol: the prompt asks for the line NO_ANSWER first when the passages do not hold
the answer. A fixed token at a fixed place is what small local models follow most reliably (JSON
and tool calls break, or are unsupported on many local servers, and would stop us streaming
prose), and it is read before any text reaches the user; no prose is ever matched afterwards.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Sequence

from . import tokens
from .injection import quote_attribute, quote_for_prompt
from .types import Passage

PROMPTS = Path(__file__).resolve().parent / "prompts"
NO_ANSWER = "NO_ANSWER"
MAX_ANSWER_TOKENS = 512
TOKENIZER_SLACK = 0.9           # tiktoken counts for OpenAI models; others may use ~10% more


@functools.lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip()


def answer_messages(question: str, passages: Sequence[Passage],
                    context_window: int) -> tuple[list[dict], list[Passage], list[str]]:
    """System and user messages with as many passages as fit the model's window; returns the
    messages, the passages shown, and notices about any left out."""
    system, template = load_prompt("answer_system"), load_prompt("answer_user")
    fixed = tokens.count(system) + tokens.count(template.format(passages="", question=question))
    budget = int(context_window * TOKENIZER_SLACK) - MAX_ANSWER_TOKENS - fixed - 16
    shown, blocks = fit_passages(passages, budget)
    notices = []
    if len(shown) < len(passages):
        notices.append(f"{len(passages) - len(shown)} of {len(passages)} passages left out to "
                       f"fit the model's {context_window}-token context window")
    user = template.format(passages="\n\n".join(blocks), question=question)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], shown, notices


_BRACKETED_NUMBER = re.compile(r"[\[［【]\s*(\d+)\s*[\]］】]")


def format_passage(p: Passage, text: str | None = None) -> str:
    """One passage as quoted data: `<passage n="2" title=".." source="..">` then the text, then
    `</passage>`. The text is quoted (rag/injection.py) so it cannot close its tag or carry the
    NO_ANSWER token; bracketed numbers inside the article (footnotes like "[1]") become
    "(note 1)", so the model never copies one that looks like a citation."""
    body = _BRACKETED_NUMBER.sub(r"(note \1)", p.chunk.text if text is None else text)
    attrs = f'n="{p.n}" title="{quote_attribute(p.chunk.title or "(untitled)")}" ' \
            f'source="{quote_attribute(p.chunk.source)}"'
    if p.chunk.date:
        attrs += f' date="{quote_attribute(p.chunk.date)}"'
    return f"<passage {attrs}>\n{quote_for_prompt(body.strip())}\n</passage>"


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
        text = _THINK_RE.sub("", self.buf, count=1)
        m = _SENTINEL_RE.match(text)
        self.abstained = bool(m)
        # Only the start is trimmed: the buffer may end in the space before the next delta.
        return self._start(text[m.end():] if m else text)


def split_sentinel(text: str) -> tuple[bool, str]:
    """(abstained, the reply without a leading <think> block and NO_ANSWER line)."""
    text = _THINK_RE.sub("", text, count=1)
    m = _SENTINEL_RE.match(text)
    return bool(m), (text[m.end():] if m else text).strip()

"""Follow-up questions rewritten into standalone ones before retrieval.

With an LLM configured, the model rewrites the question (prompt: rag/prompts/condense.txt). Offline,
or when the model fails, a deterministic method carries the entities of earlier turns: pronouns
(he, she, they, it, his, her, their...) become the main named entity of the previous question,
else of the previous answer; a question with no pronoun and no name of its own ("And in 2019?")
gets the previous turn's names appended. Otherwise the question is left alone.

History is a list of {"role": "user"|"assistant", "content": str} dicts (OpenAI's shape); a user
turn may carry "rewritten", the standalone form it was searched with; a "system" turn summarises
dropped turns (rag.chat).
"""
from __future__ import annotations

import re
from typing import Sequence

from . import tokens
from .text import names

HISTORY_TOKENS = 1200        # what the condense prompt may spend on earlier turns
ANSWER_TOKENS_IN_PROMPT = 120   # an earlier answer, cut to its start in the condense prompt

_PRONOUNS = {"he": "", "him": "", "she": "", "they": "", "them": "", "it": "",
             "his": "'s", "her": "'s", "their": "'s", "its": "'s"}
_PRONOUN_RE = re.compile(r"\b(" + "|".join(_PRONOUNS) + r")\b", re.IGNORECASE)
_FOLLOW_UP_RE = re.compile(r"^\s*(and|also|what about|how about|why|how come|then|so)\b", re.I)


def condense(question: str, history: Sequence[dict], *, llm=None) -> str:
    """A standalone form of `question`. `llm` is the engine's LLMClient (rag.llm_client), or
    None offline; without one, or if the model fails, the deterministic method answers. The
    current question is never cut."""
    question = question.strip()
    if not history or not needs_context(question):
        return question
    if llm is not None:
        rewritten = _with_llm(question, history, llm)
        if rewritten:
            return rewritten
    return carry_entities(question, history)


def needs_context(question: str) -> bool:
    return bool(_PRONOUN_RE.search(question) or _FOLLOW_UP_RE.search(question)
                or not names(question))


def carry_entities(question: str, history: Sequence[dict]) -> str:
    """The deterministic rewrite: resolve pronouns to the most recent main entity, else append
    the previous turn's entities."""
    subject, context = _recent_entities(history)
    if not subject:
        return question
    if _PRONOUN_RE.search(question):
        return _PRONOUN_RE.sub(lambda m: subject + _PRONOUNS[m.group(1).lower()], question)
    if names(question):      # "What about Spain?": a new subject; only the model can do better
        return question
    return f"{question.rstrip()} ({', '.join(context[:3])})"


def _recent_entities(history: Sequence[dict]) -> tuple[str | None, list[str]]:
    """The main entity (first name of the last user turn that has one, else of the last answer)
    and the names of the last exchange."""
    last_user = next((t for t in reversed(history) if t.get("role") == "user"), None)
    last_answer = next((t for t in reversed(history) if t.get("role") == "assistant"), None)
    asked = names(_text(last_user)) if last_user else []
    answered = names(_text(last_answer)) if last_answer else []
    if not asked:   # the last question had none (it was itself a follow-up): look further back
        asked = next((names(_text(t)) for t in reversed(history)
                      if t.get("role") == "user" and names(_text(t))), [])
    if not (asked or answered):   # only a summary of dropped turns is left (rag.chat)
        asked = next((names(_text(t)) for t in history if t.get("role") == "system"), [])
    subject = (asked or answered or [None])[0]
    return subject, list(dict.fromkeys(asked + answered))


def _text(turn: dict) -> str:
    return turn.get("rewritten") or turn.get("content") or ""


# ---- with the LLM ---------------------------------------------------------------------------

def _with_llm(question: str, history: Sequence[dict], llm) -> str | None:
    from .llm_client import LLMError, LLMUnavailable, StreamCut
    from .prompt import load_prompt
    prompt = load_prompt("condense").format(history=format_history(history), question=question)
    try:
        reply = llm.complete([{"role": "user", "content": prompt}], max_tokens=96)
    except (LLMError, LLMUnavailable, StreamCut):
        return None        # the deterministic rewrite answers instead; the answer reports errors
    return _clean(reply, question)


def _clean(reply: str, question: str) -> str | None:
    """First non-empty line, without a label or quotes; None if it is not a plausible question."""
    line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"^(standalone question|rewritten question|question)\s*:\s*", "", line, flags=re.I)
    line = line.strip(" \"'“”*`")
    if not line or len(line) > 3 * len(question) + 200:
        return None
    return line


def format_history(history: Sequence[dict], budget: int = HISTORY_TOKENS) -> str:
    """The most recent turns that fit `budget` tokens, oldest first; long answers are cut to
    their start (their first sentences carry the names a follow-up refers to)."""
    lines: list[str] = []
    used = 0
    for turn in reversed(history):
        role = {"user": "User", "system": "Earlier"}.get(turn.get("role"), "Assistant")
        text = " ".join(str(turn.get("content", "")).split())
        if role == "Assistant":
            text = _head(text, ANSWER_TOKENS_IN_PROMPT)
        cost = tokens.count(text) + 4
        if used + cost > budget:
            break
        lines.append(f"{role}: {text}")
        used += cost
    return "\n".join(reversed(lines))


def _head(text: str, n: int) -> str:
    enc = tokens.encoding()
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= n else enc.decode(ids[:n]) + " …"

"""Follow-up questions rewritten into standalone ones before retrieval.

With an LLM configured, the model rewrites the question (prompt: rag/prompts/condense.txt). Offline,
or when the model fails, a deterministic method resolves what the follow-up refers to: each
pronoun (he, she, his, him, they, it, its, there, the group) becomes the earlier entity of its
kind (a person, an organisation or thing, a place) that rag.referents ranks first by salience
and, given the articles (`fit`), by which one they tie to the question's words; a question that
points at the last question's event without naming anything ("And how many civilians?", "What
date was that?") gets that question's words appended. A question that names its own subject
("What about Spain?") is left alone.

History is a list of {"role": "user"|"assistant", "content": str} dicts (OpenAI's shape); a user
turn may carry "rewritten", the standalone form it was searched with; a "system" turn summarises
dropped turns (rag.chat).
"""
from __future__ import annotations

import re
from typing import Sequence

from . import tokens
from .referents import FIT_WEIGHT, ORG, OTHER, PERSON, PLACE, entities_of, rank, same, short_form
from .text import names, stopwords, terms

HISTORY_TOKENS = 1200        # what the condense prompt may spend on earlier turns
ANSWER_TOKENS_IN_PROMPT = 120   # an earlier answer, cut to its start in the condense prompt

_PRONOUNS = {"he": "", "him": "", "she": "", "they": "", "them": "", "it": "",
             "his": "'s", "her": "'s", "their": "'s", "its": "'s"}
# "his country" is a place, named in full ("the border Pakistan shares"); listed first so it
# wins over "his" alone.
_COUNTRY = r"(?:his|her|their|its) (?:country|nation|homeland)"
_PRONOUN_RE = re.compile(r"\b(" + _COUNTRY + "|" + "|".join(_PRONOUNS) + r"|there|the group)\b",
                         re.IGNORECASE)
_FOLLOW_UP_RE = re.compile(r"^\s*(and|also|what about|how about|why|how come|then|so)\b", re.I)
# "there" as a place, not "is there any..."; "that" / "this" as the whole object ("what date
# was that?", "how many jobs came out of that?"): the earlier question's event.
_EXISTENTIAL = re.compile(r"\b(?:is|are|was|were|be|been)\s+there\b", re.I)
_BARE_THAT = re.compile(r"\b(?:that|this)\s*\??\s*$", re.I)
_MOTION = re.compile(r"\b(?:go|goes|went|gone|move[sd]?|travel(?:l?ed)?|sent|send|fled|flee|"
                     r"return(?:ed)?|come|came|get|got)\b[^?]*\bthere\b", re.I)
_KINDS = {"he": PERSON, "him": PERSON, "his": PERSON, "she": PERSON, "her": PERSON,
          "they": ORG, "them": ORG, "their": ORG, "the group": ORG, "it": ORG, "its": ORG,
          "there": PLACE, "his country": PLACE}
_OBJECT = {"him", "her"}      # beside a subject pronoun, another person ("did he show him")
_SUBJECT = {"he", "she"}
FIT_CANDIDATES = 3            # entities the articles are consulted about, per pronoun kind
FIT_FLOOR = 0.5               # a best fit below this (a quarter of the words) is not evidence


def condense(question: str, history: Sequence[dict], *, llm=None, fit=None) -> str:
    """A standalone form of `question`. `llm` is the engine's LLMClient (rag.llm_client), or
    None offline; without one, or if the model fails, the deterministic method answers.
    `fit(name, question)` (rag.referents.corpus_fit) lets the articles weigh in on which
    earlier entity a pronoun means. The current question is never cut."""
    question = question.strip()
    if not history or not needs_context(question):
        return question
    if llm is not None:
        rewritten = _with_llm(question, history, llm)
        if rewritten:
            return rewritten
    return carry_entities(question, history, fit=fit)


def needs_context(question: str) -> bool:
    return bool(_pronouns(question) or _FOLLOW_UP_RE.search(question)
                or _BARE_THAT.search(question) or not names(question))


def _pronouns(question: str) -> list[re.Match]:
    return [m for m in _PRONOUN_RE.finditer(question)
            if not (m.group(1).lower() == "there" and _EXISTENTIAL.search(
                question[max(0, m.start() - 12):m.end()]))]


def carry_entities(question: str, history: Sequence[dict], *, fit=None) -> str:
    """The deterministic rewrite: each pronoun becomes the most salient earlier entity of its
    kind (rag.referents); a question that refers to the last one's event without naming it
    ("And how many civilians?", "What date was that?") gets that question's words."""
    found = _pronouns(question)
    own = entities_of(question)
    picks = _resolve(question, history, found, own, fit) if found else {}
    out, at = [], 0
    for m in found:
        name = picks.get(m.start())
        if name:
            out.append(question[at:m.start()] + _substitute(question, m, name))
            at = m.end()
    rewritten = "".join(out) + question[at:]
    if picks:
        short = not set(terms(rewritten)) - set(terms(" ".join(picks.values())))
        return _with_context(rewritten, history) if short or _BARE_THAT.search(question) \
            else rewritten
    if own and not _BARE_THAT.search(question):   # "What about Spain?": a subject of its own
        return question
    return _with_context(question, history)


def _resolve(question, history, found, own, fit) -> dict[int, str]:
    """Pronoun start -> the name it stands for; pronouns whose kind the question itself names
    ("And Haji Fateh, where is he now?") are left alone."""
    ranked = rank(question, history)
    words = {_key(m) for m in found}
    picks: dict[int, str] = {}
    by_kind: dict[str, list[str]] = {}
    first = min(m.start() for m in found)
    before = [(n, k) for n, k in own if 0 <= question.find(n) < first]
    for kind in {_KINDS[w] for w in words}:
        if any(k == kind for _, k in before):
            continue
        cands = [e for e in ranked if e.kind == kind and not any(same(e.name, n) for n, _ in own)]
        if kind == ORG:    # "it" / "they" may also be a thing ("the Kurram Agreement")
            cands = [e for e in ranked if e in cands or e.kind == OTHER]
        if fit is not None and len(cands) > 1:
            for e, f in zip(cands, _relative([fit(e.name, question)
                                              for e in cands[:FIT_CANDIDATES]])):
                e.score += f
            cands = sorted(cands[:FIT_CANDIDATES], key=lambda e: -e.score) + cands[FIT_CANDIDATES:]
        by_kind[kind] = [e.name for e in cands]
    two_people = bool(words & _SUBJECT) and bool(words & _OBJECT)
    for m in found:
        w = _key(m)
        cands = by_kind.get(_KINDS[w]) or []
        i = 1 if two_people and w in _OBJECT and len(cands) > 1 else 0
        if cands:
            picks[m.start()] = cands[i]
    return picks


def _relative(fits: list[float]) -> list[float]:
    """What the articles say, relative to the best-fitting candidate: the one they tie to the
    question's words gets the full FIT_WEIGHT, the others their share of it. Absolute fits are
    small when the question's words are few and common ("What post does he hold at the UN?":
    only "UN" names Bennett), yet one candidate fitting where the other does not is strong
    evidence. Below FIT_FLOOR the best fit is noise and is left as it is."""
    top = max(fits, default=0.0)
    if top < FIT_FLOOR:
        return fits
    return [FIT_WEIGHT * f / top for f in fits]


def _key(m: re.Match) -> str:
    word = m.group(1).lower()
    return "his country" if " " in word and word != "the group" else word


def _substitute(question: str, m: re.Match, name: str) -> str:
    name = short_form(name)
    word = _key(m)
    if word == "his country":
        return name
    if word == "there":
        return ("to " if _MOTION.search(question) else "in ") + name
    if word == "her" and not re.match(r"\s+[a-z]", question[m.end():]):
        return name                           # "asked her?" is an object, not "her book"
    return name + _PRONOUNS.get(word, "")


def _with_context(question: str, history: Sequence[dict]) -> str:
    """The question with the last standalone question's content words appended."""
    last = next((t.get("rewritten") or t.get("content") or "" for t in reversed(history)
                 if t.get("role") == "user"), "")
    stop = stopwords() | _WH_WORDS
    mine = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    ctx = [w for w in re.findall(r"[\w’'-]+", last) if w.lower() not in stop and w.lower() not in mine]
    if not ctx:                  # only a summary of dropped turns is left (rag.chat)
        ctx = [n for t in history if t.get("role") == "system" for n in names(t["content"])][:3]
    if not ctx:
        return question
    return f"{question.rstrip()} ({' '.join(dict.fromkeys(ctx))})"


_CONTEXT = re.compile(r"\s\(([^()]+)\)\s*$")


def split_context(question: str) -> tuple[str, str]:
    """("over how long?", "interviews New York Times ...") from a rewrite `_with_context` made:
    the question as asked and the words carried from the last one ("" when there are none).
    The answerer weighs the carried words less: they say which story, not what is asked."""
    m = _CONTEXT.search(question)
    return (question[:m.start()], m.group(1)) if m else (question, "")


_WH_WORDS = frozenset("who whom whose what which when where why how many much did does do is are "
                      "was were per".split())


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

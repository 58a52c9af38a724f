"""The LLM answerer: answers from the passages with an OpenAI-compatible model, streaming; when
the server cannot answer, the fallback (the extractive answerer) does, with a notice saying why.

Abstention is the NO_ANSWER line of the prompt (see rag/prompt.py for why and how it is read).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Iterator, Sequence

from .answer import ABSTAIN_TEXT
from .citations import check
from .llm_client import LLMClient, LLMError, LLMUnavailable, StreamCut
from .prompt import MAX_ANSWER_TOKENS, SentinelGate, answer_messages, split_sentinel
from .types import Answer, Passage

log = logging.getLogger(__name__)


class LLMAnswerer:
    """Answers from the passages with an OpenAI-compatible model; when the server cannot answer,
    the fallback (the extractive answerer) does, with a notice saying why."""

    def __init__(self, settings, fallback, client: LLMClient):
        self.client = client
        self.fallback = fallback
        self.context_window = settings.llm_context_window

    @property
    def name(self) -> str:
        return f"llm:{self.client.model or 'auto'}"

    def stream(self, question: str, passages: Sequence[Passage], *,
               rewritten: str | None = None) -> Iterator[str | Answer]:
        if self.client.broken:
            yield from self._fall_back(question, passages, rewritten,
                                       "the LLM is off for this session after the error reported "
                                       "earlier; answered extractively")
            return
        messages, shown, notices = self.prompt(rewritten or question, passages)
        gate, parts, interrupted = SentinelGate(), [], False
        try:
            for delta in self.client.stream(messages, MAX_ANSWER_TOKENS):
                parts.append(delta)
                if out := gate.feed(delta):
                    yield out
        except LLMError as e:
            yield from self._fall_back(question, passages, rewritten, f"{e}; answered extractively")
            return
        except LLMUnavailable as e:
            yield from self._fall_back(question, passages, rewritten,
                                       f"the LLM server failed: {e}; answered extractively")
            return
        except StreamCut as e:
            interrupted = True
            notices.append(f"the answer was cut off ({e}); showing what arrived")
        if tail := gate.flush():
            yield tail
        abstained, text = split_sentinel("".join(parts))
        if not text and not abstained:
            yield from self._fall_back(question, passages, rewritten,
                                       "the model returned an empty answer; answered extractively")
            return
        if abstained and not text:
            yield ABSTAIN_TEXT       # nothing after NO_ANSWER: tell the reader in words
        yield self._final(question, rewritten, shown, abstained, text, notices, interrupted)

    def prompt(self, question: str, passages: Sequence[Passage]) -> tuple[list[dict], list[Passage], list[str]]:
        return answer_messages(question, passages, self.context_window)

    def _final(self, question, rewritten, shown, abstained, text, notices, interrupted) -> Answer:
        base = dict(question=question, passages=tuple(shown), rewritten=rewritten,
                    answerer=self.name, interrupted=interrupted)
        if abstained:
            return Answer(text=text or ABSTAIN_TEXT, abstained=True, notices=tuple(notices), **base)
        checked = check(text, shown)
        return Answer(text=checked.text, abstained=False, sentences=checked.sentences,
                      notices=tuple(notices) + checked.notices, **base)

    def _fall_back(self, question, passages, rewritten, notice: str) -> Iterator[str | Answer]:
        log.warning("%s", notice)
        for item in self.fallback.stream(question, passages, rewritten=rewritten):
            if isinstance(item, Answer):
                item = replace(item, notices=(notice,) + tuple(item.notices))
            yield item

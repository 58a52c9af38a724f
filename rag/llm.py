"""The OpenAI-compatible answerer: OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio.

We drive the `openai` client directly rather than llama-index's OpenAILike (which wraps the same
client): we need each chunk's finish_reason to tell a finished stream from a cut one, the
client's typed errors for the retry policy, and `models.list()` for the "unknown model" message;
OpenAILike would add a second retry layer and global instrumentation for no gain here.

Abstention is the NO_ANSWER line of the prompt (see rag/answer.py for why and how it is read).
"""
from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Iterator, Sequence

from . import tokens
from .answer import ABSTAIN_TEXT, SentinelGate, fit_passages, load_prompt, split_sentinel
from .citations import check
from .types import Answer, Passage

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
MAX_ANSWER_TOKENS = 512
TOKENIZER_SLACK = 0.9           # tiktoken counts for OpenAI models; others may use ~10% more
BACKOFF = 0.5                   # seconds before the first retry; doubles each time


class LLMError(RuntimeError):
    """The server cannot be used as configured (key, address, model); the message says the fix."""


class LLMUnavailable(RuntimeError):
    """Timeouts, 429 or 5xx outlasted the retries, or the server refused the request."""


class StreamCut(RuntimeError):
    """The reply stopped after some text had arrived."""


class LLMClient:
    """Chat completions with bounded retries. Retries happen only before any text arrives: text
    already shown cannot be taken back, so a later failure is a StreamCut."""

    def __init__(self, settings, *, backoff: float = BACKOFF):
        import openai
        self.base_url = (settings.openai_base_url or OPENAI_URL).rstrip("/")
        self.model = settings.llm_model
        self.retries = max(0, settings.llm_retries)
        self.backoff = backoff
        self.ever_worked = False     # once it has worked, a connection error is transient
        self.broken: str | None = None   # a configuration error, reported once, then no requests
        self._client = openai.OpenAI(api_key=settings.openai_api_key or "not-needed",
                                     base_url=self.base_url, timeout=settings.llm_timeout,
                                     max_retries=0)   # our own loop below decides

    def resolve_model(self) -> str:
        if not self.model:
            if self.base_url == OPENAI_URL:
                self.model = OPENAI_DEFAULT_MODEL
            else:
                names = self._model_names()
                if len(names) != 1:
                    raise LLMError(f"RAG_LLM_MODEL is not set and {self.base_url} serves "
                                   f"{len(names)} models: set RAG_LLM_MODEL (or --model) to one "
                                   f"of: {', '.join(names) or '(none listed)'}")
                self.model = names[0]
        return self.model

    def stream(self, messages: list[dict], max_tokens: int = MAX_ANSWER_TOKENS) -> Iterator[str]:
        if self.broken:
            raise LLMError(self.broken)
        try:
            yield from self._stream(messages, max_tokens)
        except LLMError as e:
            self.broken = str(e)
            raise

    def _stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        import httpx
        import openai
        retryable = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError,
                     httpx.TransportError, StreamCut)   # APITimeoutError is a connection error
        model = self.resolve_model()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            got_text = False
            try:
                with self._client.chat.completions.create(
                        model=model, messages=messages, stream=True, temperature=0,
                        max_tokens=max_tokens) as stream:
                    finish = None
                    for chunk in stream:
                        choice = chunk.choices[0] if chunk.choices else None
                        if choice and choice.delta and choice.delta.content:
                            got_text = True
                            yield choice.delta.content
                        finish = (choice.finish_reason if choice else None) or finish
                self.ever_worked = True
                if finish == "length":
                    raise StreamCut(f"it reached the {max_tokens}-token answer limit")
                if finish is None:
                    raise StreamCut("the server ended the stream before the answer was complete")
                return
            except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
                raise LLMError(self._key_message(e)) from None
            except openai.NotFoundError:
                raise LLMError(self._not_found_message(model)) from None
            except retryable as e:
                if got_text and isinstance(e, StreamCut):
                    raise
                if got_text:
                    raise StreamCut(describe(e)) from e
                last = e
                if attempt < self.retries:
                    time.sleep(self._delay(attempt, e))
            except openai.APIStatusError as e:          # 400, 413, 422: retrying will not help
                raise LLMUnavailable(describe(e)) from None
        if isinstance(last, openai.APIConnectionError) and not isinstance(
                last, openai.APITimeoutError) and not self.ever_worked:
            raise LLMError(self._unreachable_message())
        raise LLMUnavailable(f"{describe(last)} (after {self.retries + 1} attempts)")

    def complete(self, messages: list[dict], max_tokens: int = 128) -> str:
        return "".join(self.stream(messages, max_tokens))

    def _delay(self, attempt: int, error: Exception) -> float:
        """Exponential backoff with jitter; a server's Retry-After (within reason) wins."""
        response = getattr(error, "response", None)
        after = response.headers.get("retry-after") if response is not None else None
        if after and after.replace(".", "", 1).isdigit():
            return min(float(after), 10.0)
        return self.backoff * (2 ** attempt) * random.uniform(0.75, 1.25)

    def _model_names(self) -> list[str]:
        import openai
        try:
            return sorted(m.id for m in self._client.models.list())
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise LLMError(self._key_message(e)) from None
        except openai.APIConnectionError:
            raise LLMError(self._unreachable_message()) from None
        except openai.APIError:
            return []

    def _unreachable_message(self) -> str:
        return (f"could not reach the LLM server at {self.base_url}: is it running? Check "
                f"OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)")

    def _key_message(self, e: Exception) -> str:
        return (f"OPENAI_API_KEY was rejected by {self.base_url} ({describe(e)}): check the key, "
                f"or unset OPENAI_API_KEY and OPENAI_BASE_URL to answer offline")

    def _not_found_message(self, model: str) -> str:
        try:
            names = self._model_names()
        except LLMError:
            names = []
        if not names:
            return (f"{self.base_url} answered 404 for model '{model}': check OPENAI_BASE_URL "
                    f"(it usually ends in /v1) and RAG_LLM_MODEL")
        return (f"model '{model}' not found on {self.base_url}: set RAG_LLM_MODEL (or --model) "
                f"to one of: {', '.join(names)}")


def describe(e: Exception | None) -> str:
    """One line for a notice: 'HTTP 500 from the server', 'the request timed out', ..."""
    if status := getattr(e, "status_code", None):
        return f"HTTP {status} from the server"
    if "Timeout" in type(e).__name__:        # openai.APITimeoutError, httpx.ReadTimeout
        return "the request timed out"
    return str(e) or type(e).__name__


# ---- the answerer ---------------------------------------------------------------------------

class LLMAnswerer:
    """Answers from the passages with an OpenAI-compatible model; when the server cannot answer,
    the fallback (the extractive answerer) does, with a notice saying why."""

    def __init__(self, settings, fallback, *, client: LLMClient | None = None):
        self.client = client or LLMClient(settings)
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
        """System and user messages with as many passages as fit the model's window."""
        system, template = load_prompt("answer_system"), load_prompt("answer_user")
        fixed = tokens.count(system) + tokens.count(template.format(passages="", question=question))
        budget = int(self.context_window * TOKENIZER_SLACK) - MAX_ANSWER_TOKENS - fixed - 16
        shown, blocks = fit_passages(passages, budget)
        notices = []
        if len(shown) < len(passages):
            notices.append(f"{len(passages) - len(shown)} of {len(passages)} passages left out to "
                           f"fit the model's {self.context_window}-token context window")
        user = template.format(passages="\n\n".join(blocks), question=question)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}], shown, notices

    def _final(self, question, rewritten, shown, abstained, text, notices, interrupted) -> Answer:
        base = dict(question=question, passages=tuple(shown), rewritten=rewritten,
                    answerer=self.name, interrupted=interrupted)
        if abstained:
            return Answer(text=text or ABSTAIN_TEXT, abstained=True, notices=tuple(notices), **base)
        checked = check(text, shown)
        return Answer(text=checked.text, abstained=False, sentences=checked.sentences,
                      notices=tuple(notices) + checked.notices, **base)

    def _fall_back(self, question, passages, rewritten, notice: str) -> Iterator[str | Answer]:
        for item in self.fallback.stream(question, passages, rewritten=rewritten):
            if isinstance(item, Answer):
                item = replace(item, notices=(notice,) + tuple(item.notices))
            yield item

"""The OpenAI-compatible transport shared by the LLM answerer, the condenser and the judge:
OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio.

We drive the `openai` client directly rather than llama-index's OpenAILike (which wraps the same
client): we need each chunk's finish_reason to tell a finished stream from a cut one, the
client's typed errors for clear messages, and `models.list()` for the "unknown model" message.

Retries are the client's own (`max_retries=settings.llm_retries`, exponential backoff, honouring
Retry-After), with `settings.llm_timeout`. The one thing it cannot retry is a stream that began
and then died before its first token; that is retried here, as often. Text already shown cannot
be taken back, so a failure after it is a StreamCut.
"""
from __future__ import annotations

import logging
from typing import Iterator

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"


class LLMError(RuntimeError):
    """The server cannot be used as configured (key, address, model); the message says the fix."""


class LLMUnavailable(RuntimeError):
    """Timeouts, 429 or 5xx outlasted the retries, or the server refused the request."""


class StreamCut(RuntimeError):
    """The reply stopped after some text had arrived."""


def base_url(settings) -> str:
    return (settings.openai_base_url or OPENAI_URL).rstrip("/")


def openai_client(settings):
    """An `openai.OpenAI` with the project's one retry policy and timeout, from settings."""
    import openai
    return openai.OpenAI(api_key=settings.openai_api_key or "not-needed",
                         base_url=base_url(settings), timeout=settings.llm_timeout,
                         max_retries=max(0, settings.llm_retries))


class LLMClient:
    """Streamed chat completions with clear errors; one per engine, shared by answerer and
    condenser so a broken server is reported once."""

    def __init__(self, settings):
        self.base_url = base_url(settings)
        self.model = settings.llm_model
        self.retries = max(0, settings.llm_retries)
        self.ever_worked = False     # once it has worked, a connection error is transient
        self.broken: str | None = None   # a configuration error, reported once, then no requests
        self._client = openai_client(settings)

    def close(self) -> None:
        self._client.close()

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

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        if self.broken:
            raise LLMError(self.broken)
        try:
            yield from self._stream(messages, max_tokens)
        except LLMError as e:
            self.broken = str(e)
            raise

    def complete(self, messages: list[dict], max_tokens: int = 128) -> str:
        return "".join(self.stream(messages, max_tokens))

    def _stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        import httpx
        import openai
        model = self.resolve_model()
        last: Exception | None = None
        for _ in range(self.retries + 1):
            began = got_text = False
            try:
                with self._client.chat.completions.create(
                        model=model, messages=messages, stream=True, temperature=0,
                        max_tokens=max_tokens) as stream:
                    began = True
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
            except (openai.APIConnectionError, httpx.TransportError, StreamCut) as e:
                if got_text:
                    raise e if isinstance(e, StreamCut) else StreamCut(describe(e)) from e
                last = e
                if not began:          # the client has already retried the request itself
                    break
                log.warning("the LLM stream failed before any text (%s); retrying", describe(e))
            except openai.APIStatusError as e:   # 429/5xx after the client's retries; 400, 413
                raise LLMUnavailable(f"{describe(e)} (after {self.retries + 1} attempts)"
                                     if e.status_code in (429,) or e.status_code >= 500
                                     else describe(e)) from None
        if isinstance(last, openai.APIConnectionError) and not isinstance(
                last, openai.APITimeoutError) and not self.ever_worked:
            raise LLMError(self._unreachable_message())
        raise LLMUnavailable(f"{describe(last)} (after {self.retries + 1} attempts)")

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

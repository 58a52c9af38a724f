"""Embedders: a small protocol with one required method, picked by name from a dict at the edge."""
from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np


class EmbedderError(ValueError):
    """The embedder could not embed; the message names the cause and the fix."""


class Embedder(Protocol):
    name: str    # recorded in the store, so a store is never queried with another embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms == 0, 1.0, norms)


@contextlib.contextmanager
def _keep_root_logging():
    # wordllama calls logging.basicConfig(level=INFO) at import, which would make every
    # library's log lines print in the user's program; undo that.
    import logging
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)


class WordLlamaEmbedder:
    """Static token embeddings shipped inside the `wordllama` wheel: no torch, no download."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"wordllama-l2_supercat-{dim}"

    @functools.cached_property
    def _model(self):
        with _keep_root_logging():
            import wordllama
            from wordllama import WordLlama
        # WordLlama.load() looks for its tokenizer in the wrong folder and then downloads;
        # the files ship inside the package, so point it there and forbid downloads.
        return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True,
                              dim=self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.embed(list(texts)))


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint, through llama-index's client."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None,
                 timeout: float = 60.0, batch: int = 64):
        if not (api_key or base_url):
            raise ValueError("the 'openai' embedder needs OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                             "compatible server); set them or use RAG_EMBED=wordllama")
        self.model, self.batch = model, batch
        self.name = f"openai-{model}"
        self._kw = dict(api_key=api_key or "unused", api_base=base_url, timeout=timeout)

    @functools.cached_property
    def _client(self):
        from llama_index.embeddings.openai import OpenAIEmbedding
        # model_name, not model: llama-index validates `model` against OpenAI's own list,
        # and a compatible server may call its model anything.
        return OpenAIEmbedding(model_name=self.model, embed_batch_size=self.batch,
                               max_retries=2, **self._kw)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            vectors = self._client.get_text_embedding_batch(list(texts))
        except Exception as e:   # the network boundary: every failure becomes one clear message
            where = self._kw["api_base"] or "api.openai.com"
            raise EmbedderError(
                f"could not get embeddings for model {self.model!r} from {where}: "
                f"{type(e).__name__}: {e}. Check OPENAI_BASE_URL / OPENAI_API_KEY and "
                f"RAG_EMBED_MODEL, or use the offline default: RAG_EMBED=wordllama") from None
        return _normalise(np.array(vectors))


def _wordllama(settings) -> Embedder:
    return WordLlamaEmbedder()


def _openai(settings) -> Embedder:
    return OpenAIEmbedder(settings.openai_embed_model, settings.openai_api_key,
                          settings.openai_base_url, timeout=settings.llm_timeout)


EMBEDDERS: dict[str, Callable[..., Embedder]] = {"wordllama": _wordllama, "openai": _openai}


def make_embedder(settings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.embedder]
    except KeyError:
        raise ValueError(f"unknown embedder {settings.embedder!r}; valid: "
                         f"{', '.join(sorted(EMBEDDERS))}") from None
    return factory(settings)

"""Embedders: a small protocol with one required method, picked by name from a dict at the edge."""
from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Protocol, Sequence

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
    """Any OpenAI-compatible `/v1/embeddings` endpoint, through the `openai` client (with the
    project's one retry policy and timeout, rag.llm_client.openai_client)."""

    def __init__(self, settings, batch: int = 64):
        if not settings.llm_configured:
            raise ValueError("the 'openai' embedder needs OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                             "compatible server); set them or use RAG_EMBED=wordllama")
        self.model, self.batch = settings.openai_embed_model, batch
        self.name = f"openai-{self.model}"
        self._settings = settings

    @functools.cached_property
    def _client(self):
        from .llm_client import openai_client
        return openai_client(self._settings)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        texts = list(texts)
        try:
            vectors = [d.embedding for i in range(0, len(texts), self.batch)
                       for d in sorted(self._client.embeddings.create(
                           model=self.model, input=texts[i:i + self.batch]).data,
                           key=lambda d: d.index)]
        except Exception as e:   # the network boundary: every failure becomes one clear message
            where = self._settings.openai_base_url or "api.openai.com"
            raise EmbedderError(
                f"could not get embeddings for model {self.model!r} from {where}: "
                f"{type(e).__name__}: {e}. Check OPENAI_BASE_URL / OPENAI_API_KEY and "
                f"RAG_EMBED_MODEL, or use the offline default: RAG_EMBED=wordllama") from None
        return _normalise(np.array(vectors))


def make_embedder(settings) -> Embedder:
    """The embedder named by `settings.embedder` (registered in rag.registry.EMBEDDERS)."""
    from .registry import make_embedder as make
    return make(settings)

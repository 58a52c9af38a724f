"""The one edge where names meet implementations: EMBEDDERS, RETRIEVERS and ANSWERERS.

Settings validation, both CLIs' `choices=` and every "unknown name" error read these dicts. A
factory imports its module only when called, so importing this file is free, picking
"extractive" never imports the openai client, and picking "bm25" never loads an embedder.

Factories take the settings and `Parts`, the engine's already-open pieces, so no implementation
reaches into another object's internals. Adding an implementation is one module plus one line
here (docs/design.md shows one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Parts:
    """What the engine has opened once and shares: the store, the embedder, the BM25 index
    (its public statistics weight the extractive answerer's terms) and the LLM client (None
    when no server is configured)."""
    embedder: Any = None
    store: Any = None
    bm25: Any = None
    llm: Any = None


# ---- embedders: factory(settings) -> Embedder -------------------------------------------------

def _wordllama(settings):
    from .embed import WordLlamaEmbedder
    return WordLlamaEmbedder()


def _openai_embedder(settings):
    from .embed import OpenAIEmbedder
    return OpenAIEmbedder(settings)


EMBEDDERS: dict[str, Callable] = {"wordllama": _wordllama, "openai": _openai_embedder}


# ---- retrievers: factory(settings, parts) -> Retriever ---------------------------------------

def _bm25(settings, parts: Parts):
    from .retrieve import BM25
    return BM25(parts.bm25)


def _dense(settings, parts: Parts):
    from .retrieve import Dense
    return Dense(parts.store, parts.embedder)


def _hybrid(settings, parts: Parts):
    # BM25 leads; dense adds paraphrase recall at a lower weight (README "Choosing the defaults").
    # The fused top 10 are re-ranked by their best sentence (README "Scale").
    from .retrieve import Hybrid, SentenceRerank
    reranker = SentenceRerank(parts.embedder, parts.bm25) if parts.bm25 is not None else None
    return Hybrid([_bm25(settings, parts), _dense(settings, parts)], [1.0, settings.dense_weight],
                  reranker=reranker)


RETRIEVERS: dict[str, Callable] = {"bm25": _bm25, "dense": _dense, "hybrid": _hybrid}


# ---- answerers: factory(settings, parts) -> Answerer -----------------------------------------

def _extractive(settings, parts: Parts):
    from .answer_extractive import ExtractiveAnswerer
    return ExtractiveAnswerer(parts.embedder, parts.bm25, settings.abstain_threshold)


def _llm(settings, parts: Parts):
    from .answer_llm import LLMAnswerer
    from .llm_client import LLMClient
    return LLMAnswerer(settings, _extractive(settings, parts), parts.llm or LLMClient(settings))


ANSWERERS: dict[str, Callable] = {"extractive": _extractive, "llm": _llm}


# ---- picking ---------------------------------------------------------------------------------

def pick(registry: dict[str, Callable], kind: str, name: str) -> Callable:
    """The factory registered under `name`; the error lists the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(registry))}") from None


def make_embedder(settings):
    return pick(EMBEDDERS, "embedder", settings.embedder)(settings)


def make_retriever(name: str, settings, parts: Parts):
    return pick(RETRIEVERS, "retriever", name)(settings, parts)


def make_answerer(name: str, settings, parts: Parts):
    return pick(ANSWERERS, "answerer", name)(settings, parts)

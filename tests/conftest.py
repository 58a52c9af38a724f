"""Shared fixtures. Every test runs with its own data directory and no LLM configured; the
network is blocked by pytest-socket (see pyproject addopts), so any outside call fails a test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "data" / "articles"
_CLEARED = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_STORE", "RAG_EMBED", "RAG_EMBED_MODEL",
            "RAG_RETRIEVER", "RAG_ANSWERER", "RAG_LLM_MODEL", "RAG_K", "RAG_CHUNK_TOKENS",
            "RAG_CHUNK_OVERLAP", "RAG_ABSTAIN_THRESHOLD", "RAG_CORPUS")

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var in _CLEARED or var.startswith("RAG_"):
            monkeypatch.delenv(var, raising=False)
    import rag
    monkeypatch.setattr(rag, "_engines", {})      # no engine outlives its test
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RAG_STORE", str(tmp_path / "store"))


@pytest.fixture(scope="session")
def embedder():
    from rag.embed import WordLlamaEmbedder
    return WordLlamaEmbedder()


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory, embedder) -> Settings:
    """The default corpus indexed once per session, read-only for the tests that share it."""
    from ingest.pipeline import ingest_paths
    store = tmp_path_factory.mktemp("corpus") / "store"
    settings = Settings.from_env(env={}, store=store, corpus=CORPUS)
    ingest_paths([CORPUS], settings, progress=False, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def engine(corpus_settings, embedder):
    from rag.engine import Engine
    return Engine(corpus_settings.with_(answerer="extractive"), embedder=embedder)


@pytest.fixture
def fresh_settings(tmp_path) -> Settings:
    return Settings.from_env(env={}, store=tmp_path / "own-store", corpus=CORPUS)

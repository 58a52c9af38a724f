"""A store named by a relative path (`--store idx`, RAG_STORE=idx) opens for reading: the file
table's read-only sqlite URI needs an absolute path ("relative path can't be expressed as a file
URI" before)."""
from __future__ import annotations

from pathlib import Path

from rag.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "data" / "articles"


def test_relative_store_path_ingests_and_answers(tmp_path, monkeypatch, embedder):
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(env={}, store=Path("idx"), corpus=CORPUS, answerer="extractive")
    ingest_paths([CORPUS / "000_c73e7dc4e8ffbfc0.txt"], settings, progress=False, embedder=embedder)
    answer = Engine(settings, embedder=embedder).ask(
        "How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert not answer.abstained and answer.citations

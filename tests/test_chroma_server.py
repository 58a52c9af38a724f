"""Client/server mode against a real `chroma run` server on 127.0.0.1 (the CLI ships in the
chromadb wheel, so the test venv has it): ingest, ask and remove go through the server, BM25
follows the server's collection, other processes' changes are seen, and a server that is down or
silent is a clear error within seconds."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.chroma_server import chroma_server
from rag.remote import ServerError
from rag.settings import Settings
from rag.store import StoreError

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "data" / "articles"
QUESTION = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
ATMAR = "000_c73e7dc4e8ffbfc0.txt"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("chroma-server") / "data"
    with chroma_server(data) as url:
        yield url


def _rag(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from rag.cli import main; sys.exit(main())", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_ingest_ask_remove_through_the_server(server, tmp_path, embedder):
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine
    import chromadb
    settings = Settings.from_env(env={}, store=tmp_path / "store", corpus=CORPUS,
                                 chroma_url=server, answerer="extractive")
    report = ingest_paths([CORPUS], settings, progress=False, embedder=embedder)
    assert report.chunks_added > 100
    # The vectors are on the server, not in the store folder.
    assert not list((tmp_path / "store").rglob("chroma.sqlite3"))
    host, port = server.rsplit(":", 1)
    remote = chromadb.HttpClient(host=host.split("//")[1], port=int(port))
    names = [c.name for c in remote.list_collections()]
    chunks = remote.get_collection(next(n for n in names if n.endswith("-chunks")))
    assert chunks.count() == report.chunks_added

    engine = Engine(settings, embedder=embedder)
    answer = engine.ask(QUESTION)
    assert not answer.abstained and ATMAR in {c.chunk.source for c in answer.citations}
    assert "ten times" in answer.text or "10 times" in answer.text

    # Another process removes the file through the server; the open engine follows.
    env = dict(os.environ, RAG_STORE=str(tmp_path / "store"), RAG_CHROMA_URL=server)
    done = _rag("remove", ATMAR, env=env)
    assert done.returncode == 0, done.stderr
    assert chunks.get(where={"source": ATMAR}, include=[])["ids"] == []
    again = engine.ask(QUESTION)
    assert ATMAR not in {p.chunk.source for p in again.passages}

    stats = _rag("stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["documents"] == 4


def test_bm25_follows_the_server_collection(server, tmp_path, embedder):
    """A change made on the server by someone else (here: directly with chromadb) is picked up:
    the BM25 cache in the store folder no longer matches the collection's fingerprint, so the
    next engine rebuilds it instead of returning chunks the server no longer has."""
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine
    settings = Settings.from_env(env={}, store=tmp_path / "store", corpus=CORPUS,
                                 chroma_url=server, answerer="extractive")
    ingest_paths([CORPUS], settings, progress=False, embedder=embedder)
    first = Engine(settings, embedder=embedder)
    assert ATMAR in {p.chunk.source for p in first.retrieve(QUESTION, mode="bm25")}
    first.store.chunks.delete(where={"source": ATMAR})
    second = Engine(settings, embedder=embedder)
    assert ATMAR not in {p.chunk.source for p in second.retrieve(QUESTION, mode="bm25")}


def test_server_down_is_a_clear_error_quickly(tmp_path):
    with socket.socket() as s:           # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, RAG_STORE=str(tmp_path / "store"),
               RAG_CHROMA_URL=f"http://127.0.0.1:{port}")
    t = time.monotonic()
    done = _rag("ingest", str(CORPUS / ATMAR), env=env)
    assert done.returncode != 0
    assert "cannot reach the Chroma server" in done.stderr and "chroma run" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - t < 60     # a hang would hit subprocess's timeout instead


def test_silent_server_times_out_instead_of_hanging(tmp_path):
    from rag.remote import CONNECT_TIMEOUT, check_server
    with socket.socket() as s:           # accepts connections, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        t = time.monotonic()
        with pytest.raises(ServerError, match="cannot reach the Chroma server"):
            check_server(f"http://127.0.0.1:{s.getsockname()[1]}")
        assert time.monotonic() - t < CONNECT_TIMEOUT + 10


def test_bad_url_and_mode_mismatch_name_the_fix(server, tmp_path, embedder):
    from ingest.pipeline import ingest_paths
    with pytest.raises(ValueError, match="http://host:port"):
        Settings.from_env(env={"RAG_CHROMA_URL": "localhost:8000"})
    local = Settings.from_env(env={}, store=tmp_path / "store", corpus=CORPUS)
    ingest_paths([CORPUS / ATMAR], local, progress=False, embedder=embedder)
    from rag.engine import Engine
    with pytest.raises(StoreError, match="unset RAG_CHROMA_URL"):
        Engine(local.with_(chroma_url=server), embedder=embedder)

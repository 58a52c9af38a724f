"""The whole product against an OpenAI-compatible server on 127.0.0.1: the real `openai` client,
real HTTP and SSE, through the same `rag` command users run."""
from __future__ import annotations

import json

import pytest

from rag.cli import main
from tests.conftest import CORPUS
from tests.fake_openai import FakeOpenAI, Reply

ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"


@pytest.fixture
def server():
    with FakeOpenAI(models=["tiny"], api_key="sk-test") as srv:
        yield srv


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_openai_embedder_store_and_the_mismatch_message(server, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    store = tmp_path / "oa-store"
    code, out, _ = _run(capsys, "ingest", CORPUS / "000_c73e7dc4e8ffbfc0.txt", "--store", store,
                        "--embedder", "openai", "--quiet")
    assert code == 0 and "1 new" in out
    assert any("input" in r for r in server.requests)          # vectors came from the server
    code, out, _ = _run(capsys, "stats", "--json", "--store", store, "--embedder", "openai")
    assert json.loads(out)["embedder"] == "openai-text-embedding-3-small"
    # The same store opened with the default embedder: a clear error naming the fix.
    code, _, err = _run(capsys, "ask", ATMAR, "--store", store, "--answerer", "extractive")
    assert code != 0 and "openai-text-embedding-3-small" in err and "--rebuild" in err
    # An API key alone never switches the embedder: a fresh default ingest uses WordLlama.
    code, out, _ = _run(capsys, "ingest", CORPUS / "004_e30819fc19684813.txt",
                        "--store", tmp_path / "default", "--quiet")
    code, out, _ = _run(capsys, "stats", "--json", "--store", tmp_path / "default")
    assert json.loads(out)["embedder"].startswith("wordllama")


def test_rag_ask_streams_an_llm_answer_with_checked_citations(server, monkeypatch, capsys,
                                                               corpus_settings):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("RAG_LLM_MODEL", "tiny")
    server.enqueue(Reply("Atmar said he travelled to Pakistan ten times to secure Baradar's "
                         "release [1]. He also met the Pope [7]."))
    code, out, err = _run(capsys, "ask", ATMAR, "--json", "--store", corpus_settings.store)
    assert code == 0, err
    d = json.loads(out)
    assert d["answerer"] == "llm:tiny" and not d["abstained"]
    assert [s["citations"] for s in d["sentences"]][0] == [1]
    assert any("[7]" in n for n in d["notices"])               # out of range: dropped, reported
    assert {c["n"] for c in d["citations"]} <= {p["n"] for p in d["passages"]}
    prompt = json.dumps(server.requests[-1])
    assert "000_c73e7dc4e8ffbfc0.txt" in prompt                  # passages went to the model

    server.enqueue(Reply("NO_ANSWER\nThe passages do not say."))
    code, out, _ = _run(capsys, "ask", "Who won the 2018 FIFA World Cup?", "--json",
                        "--store", corpus_settings.store)
    d = json.loads(out)
    assert d["abstained"] and d["citations"] == [] and "NO_ANSWER" not in d["answer"]

    server.always(Reply(status=500))
    code, out, err = _run(capsys, "ask", ATMAR, "--store", corpus_settings.store)
    assert code == 0 and ("ten times" in out.lower() or "10 times" in out) and "extractive" in out

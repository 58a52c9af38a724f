"""A planted API key never shows up in anything the system writes: CLI output (answers and
errors), logs at debug level, the answer log, evaluation outputs, the web app's feedback file,
exception messages from a server that rejects the key, or the settings' repr."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.fake_openai import FakeOpenAI, Reply

KEY = "sk-planted-" + secrets.token_hex(16)
ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
TINY_QA = PROJECT / "tests" / "fixtures" / "eval" / "qa_tiny.jsonl"


def _env(server_url: str, tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server_url, RAG_LLM_MODEL="tiny",
               RAG_ANSWER_LOG=str(tmp_path / "answers.jsonl"), RAG_LOG_LEVEL="DEBUG",
               RAG_LLM_TIMEOUT="3")
    env.update(extra)
    return env


def _rag(env: dict, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _no_key_in(*texts: str) -> None:
    for t in texts:
        assert KEY not in t and KEY[len("sk-planted-"):] not in t


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def server():
    with FakeOpenAI(models=["tiny"], api_key=KEY) as srv:
        yield srv


def test_the_key_stays_out_of_answers_logs_and_eval_outputs(server, corpus_settings, tmp_path):
    env = _env(server.base_url, tmp_path)
    store = corpus_settings.store
    server.always(Reply("Atmar travelled to Pakistan ten times [1]."))
    outputs = []
    for args in (("ask", ATMAR, "--json"), ("ask", ATMAR), ("stats", "--json"),
                 ("ask", ""), ("ask", ATMAR, "-k", "0")):     # two that fail, with messages
        r = _rag(env, *args, "--store", store)
        outputs += [r.stdout, r.stderr]
    assert any("llm:tiny" in o for o in outputs), "the LLM answered (the key was in use)"
    out = tmp_path / "eval"
    r = _rag(env, "eval", "--qa", TINY_QA, "--answerer", "llm", "--store", store,
             "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    outputs += [r.stdout, r.stderr]
    written = _files_under(out) + [tmp_path / "answers.jsonl"]
    assert len(written) > 1
    _no_key_in(*outputs, *(p.read_text(encoding="utf-8", errors="replace") for p in written))


def test_a_rejected_key_is_not_repeated_in_the_error(corpus_settings, tmp_path):
    with FakeOpenAI(models=["tiny"], api_key="sk-the-right-one") as srv:
        env = _env(srv.base_url, tmp_path)
        r = _rag(env, "ask", ATMAR, "--answerer", "llm", "--store", corpus_settings.store)
    assert "rejected" in r.stdout + r.stderr          # the user is told what went wrong
    _no_key_in(r.stdout, r.stderr, (tmp_path / "answers.jsonl").read_text())


def test_an_unreachable_server_message_does_not_carry_the_key(corpus_settings, tmp_path):
    import socket
    with socket.socket() as s:                       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(f"http://127.0.0.1:{port}/v1", tmp_path, RAG_LLM_TIMEOUT="1")
    r = _rag(env, "ask", ATMAR, "--answerer", "llm", "--store", corpus_settings.store)
    _no_key_in(r.stdout, r.stderr)
    r = _rag(env, "ingest", PROJECT / "data" / "articles", "--embedder", "openai",
             "--store", tmp_path / "oa-store", "--quiet")
    assert r.returncode != 0
    _no_key_in(r.stdout, r.stderr)


def test_exceptions_and_settings_do_not_show_the_key(tmp_path):
    from rag.llm_client import LLMClient, LLMError
    from rag.settings import Settings
    with FakeOpenAI(models=["tiny"], api_key="sk-the-right-one") as srv:
        s = Settings.from_env(env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": srv.base_url,
                                   "RAG_LLM_MODEL": "tiny"}, store=tmp_path / "s")
        _no_key_in(repr(s), str(s))
        client = LLMClient(s)
        with pytest.raises(LLMError) as e:
            list(client.stream([{"role": "user", "content": "hi"}], 16))
    _no_key_in(str(e.value), repr(e.value))


def test_the_feedback_file_has_no_key(server, corpus_settings, tmp_path, embedder):
    from rag.settings import Settings
    from ui.service import Service
    server.always(Reply("Atmar travelled to Pakistan ten times [1]."))
    s = Settings.from_env(env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url,
                               "RAG_LLM_MODEL": "tiny"}, store=corpus_settings.store)
    service = Service(s, data_dir=tmp_path / "app", embedder=embedder)
    answer = service.chat([]).ask(ATMAR)
    service.record_feedback(answer.to_dict(), "down", config={"answerer": "llm"})
    _no_key_in(service.feedback_path.read_text(encoding="utf-8"))

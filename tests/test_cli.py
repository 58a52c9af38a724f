"""The `rag` command as users run it: real processes, real store, exit codes and messages."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, PROJECT

ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"


def rag(*args, store, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "store"
    r = rag("ingest", "--quiet", store=store)
    assert r.returncode == 0, r.stderr
    assert "5 new" in r.stdout
    return store


def test_ingest_twice_is_a_noop(cli_store):
    r = rag("ingest", "--json", store=cli_store)
    rep = json.loads(r.stdout)
    assert r.returncode == 0 and rep["chunks_added"] == 0 and rep["files_unchanged"] == 5


def test_ask_json_and_stats(cli_store):
    r = rag("ask", ATMAR, "--json", store=cli_store)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= {"question", "answer", "abstained", "sentences", "citations", "passages",
                      "notices", "timings_ms"}
    assert not d["abstained"] and d["citations"][0]["source"].startswith("000_")
    s = json.loads(rag("stats", "--json", store=cli_store).stdout)
    assert set(s) >= {"documents", "articles", "chunks", "embedder", "store"}
    assert s["documents"] == 5


def test_ask_prints_answer_and_sources(cli_store):
    r = rag("ask", ATMAR, "-k", "4", store=cli_store)
    assert r.returncode == 0
    assert "Sources:" in r.stdout and "000_c73e7dc4e8ffbfc0.txt" in r.stdout


@pytest.mark.parametrize("args, match", [
    (("ask", ""), "empty"),
    (("ask", "x" * 100_000), "100,000 characters"),
    (("ask", "who?", "-k", "0"), "k must be"),
])
def test_bad_questions_exit_nonzero_with_a_message(cli_store, args, match):
    r = rag(*args, store=cli_store)
    assert r.returncode != 0 and match in r.stderr


def test_bad_paths_exit_nonzero_and_leave_the_store_as_it_was(cli_store, tmp_path):
    before = json.loads(rag("stats", "--json", store=cli_store).stdout)
    r = rag("ingest", tmp_path / "missing-folder", store=cli_store)
    assert r.returncode != 0 and "missing-folder" in r.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = rag("ingest", empty, store=cli_store)
    assert r.returncode != 0 and "empty" in (r.stdout + r.stderr).lower()
    huge = tmp_path / "huge.txt"
    huge.write_text("word " * 5_000_000)
    r = rag("ingest", huge, store=cli_store)
    assert r.returncode != 0 and "RAG_MAX_FILE_BYTES" in (r.stdout + r.stderr)
    assert json.loads(rag("stats", "--json", store=cli_store).stdout) == before


def test_asking_before_ingesting_says_what_to_do(tmp_path):
    r = rag("ask", ATMAR, store=tmp_path / "none")
    assert r.returncode != 0 and "rag ingest" in r.stderr


@pytest.mark.parametrize("cmd", ["ingest", "ask", "stats", "chat", "remove"])
def test_help_has_examples(cmd, tmp_path):
    r = rag(cmd, "--help", store=tmp_path)
    assert r.returncode == 0 and "examples:" in r.stdout


def test_default_corpus_falls_back_to_the_project_folder_for_a_wheel_install(tmp_path, monkeypatch):
    # A wheel in site-packages has no data/articles beside the package: the folder the user runs
    # `rag ingest` from is used instead.
    import rag.settings as settings
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path / "site-packages")
    (tmp_path / "proj" / "data" / "articles").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj")
    assert settings.default_corpus() == tmp_path / "proj" / "data" / "articles"

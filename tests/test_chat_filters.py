"""`rag chat --since/--until/--source/--as-of` (issue 11): the terminal chat as a user runs it,
a real process over stdin, against a real store of the default corpus."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, PROJECT

OLD = "000_c73e7dc4e8ffbfc0.txt"
BOUNTY = "001_e6efb181a4683f8c.txt"


def rag(*args, store, stdin: str | None = None, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=PROJECT,
                          env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("chat-filters") / "store"
    r = rag("ingest", "--quiet", CORPUS, store=store)
    assert r.returncode == 0, r.stderr
    return store


def sources_block(out: str) -> str:
    """What /sources printed: the text after the last answer's timing line."""
    return out.split("/sources", 1)[-1] if "/sources" in out else out.rsplit("ms]", 1)[-1]


def test_chat_source_filter_holds_for_every_turn(store):
    r = rag("chat", "--source", BOUNTY, store=store,
            stdin="What role does Khalil Haqqani have?\nWho leads the negotiations?\n"
                  "/sources\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert f"Filtered: source {BOUNTY}." in r.stdout.split("\n", 1)[0]     # said up front
    assert r.stdout.count(f"note: Filtered: source {BOUNTY}.") == 2       # and on each answer
    listed = [line for line in sources_block(r.stdout).splitlines() if ".txt," in line]
    assert listed and all(BOUNTY in line for line in listed), r.stdout


def test_chat_date_filter_drops_the_undated_top_source(store):
    q = "Who was arrested?\n/sources\n/quit\n"
    plain = rag("chat", store=store, stdin=q)
    assert OLD in plain.stdout
    r = rag("chat", "--since", "2024-12-01", "--until", "2025-12-31", store=store, stdin=q)
    assert r.returncode == 0, r.stderr
    assert OLD not in r.stdout and "003_f62552b4376e47fb.txt" in r.stdout
    assert "Filtered: since 2024-12-01, until 2025-12-31" in r.stdout


def test_chat_as_of_anchors_relative_time(store):
    r = rag("chat", "--as-of", "2031-03-01", store=store,
            stdin="What happened last year?\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert "2030-01-01 to 2030-12-31" in r.stdout


@pytest.mark.parametrize("args, code, says", [
    (["--since", "2024-13-01"], 2, "argument --since: '2024-13-01' is not a date; use YYYY-MM-DD"),
    (["--since", "2025-01-01", "--until", "2024-01-01"], 1,
     "--since 2025-01-01 is after --until 2024-01-01"),
    (["--source", "001_e6efb"], 1, f"no indexed file is named '001_e6efb'. Did you mean: {BOUNTY}"),
])
def test_chat_refuses_bad_filters_before_the_first_question(store, args, code, says):
    r = rag("chat", *args, store=store, stdin="Who was arrested?\n/quit\n")
    assert r.returncode == code and says in r.stderr, r.stderr
    assert "Answering with" not in r.stdout

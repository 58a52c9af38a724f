"""The command line's conventions, as a script sees them: exit codes (0 done, 1 run-time failure
with a message, 2 usage error), results on stdout and diagnostics on stderr, --version,
`python -m rag`, --quiet/--json, "did you mean", and logging under the `rag` logger only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version

import pytest

from tests.conftest import CORPUS, PROJECT

ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"


def rag(*args, store=None, env_extra=None, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    if store is not None:
        env["RAG_STORE"] = str(store)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "rag", *map(str, args)], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_version_matches_the_package_metadata():
    import rag as pkg
    r = rag("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"rag-news {version('rag-news')}" == f"rag-news {pkg.__version__}"


def test_python_dash_m_rag_is_the_rag_command_and_help_lists_each_command_once():
    r = rag("--help")
    assert r.returncode == 0 and r.stderr == ""
    for cmd in ("ingest", "ask", "chat", "stats", "remove", "eval"):
        lines = [ln for ln in r.stdout.splitlines() if ln.strip().startswith(cmd + " ")]
        assert len(lines) == 1, (cmd, r.stdout)
    assert "rag COMMAND --help" in r.stdout
    assert "examples:" not in r.stdout          # examples live on each command's own help


@pytest.mark.parametrize("args, said", [
    (("ingets",), "did you mean `rag ingest`?"),
    (("ask", ATMAR, "--qiuet"), "did you mean --quiet?"),
    (("stats", "--jsno"), "did you mean --json?"),
    (("ask", ATMAR, "-k", "0"), "k must be a whole number"),
    (("ingest", "--chunk-tokens", "many"), "--chunk-tokens must be"),
    (("ask",), "question"),
    (("eval", "--qa"), "--qa"),
    (("eval", "--fersh"), "did you mean --fresh?"),
])
def test_usage_errors_exit_2_with_a_hint(tmp_path, args, said):
    r = rag(*args, store=tmp_path / "store")
    assert r.returncode == 2, r
    assert said in r.stderr and r.stdout == ""


def test_run_time_failures_exit_1_with_one_message(tmp_path, corpus_settings):
    missing = rag("ask", ATMAR, store=tmp_path / "none")
    assert missing.returncode == 1 and "rag ingest" in missing.stderr and missing.stdout == ""
    assert "Traceback" not in missing.stderr
    gone = rag("ingest", tmp_path / "no-such-folder", store=tmp_path / "s")
    assert gone.returncode == 1 and "no-such-folder" in gone.stderr
    bad_qa = tmp_path / "qa.jsonl"
    bad_qa.write_text('{"id": "x1", "question": "?"}\n')
    ev = rag("eval", "--qa", bad_qa, "--quiet", "--out", tmp_path / "o",
             store=corpus_settings.store)
    assert ev.returncode == 1 and "rag eval: error" in ev.stderr
    removed = rag("remove", "not-indexed.txt", store=tmp_path / "none")
    assert removed.returncode == 1 and removed.stderr.startswith("rag: error:")


def test_debug_logging_goes_to_stderr_under_the_rag_logger(tmp_path):
    r = rag("ask", ATMAR, store=tmp_path / "none", env_extra={"RAG_LOG_LEVEL": "DEBUG"})
    assert r.returncode == 1
    assert "rag: DEBUG rag: rag ask with Settings(" in r.stderr
    assert "Traceback" in r.stderr                 # the failure's traceback, for debugging


def test_skipped_files_go_to_stderr_and_results_to_stdout(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text((CORPUS / "000_c73e7dc4e8ffbfc0.txt").read_text("utf-8"), "utf-8")
    (docs / "empty.txt").write_text("")
    r = rag("ingest", docs, store=tmp_path / "store")
    assert r.returncode == 0, r.stderr
    assert "Skipped" in r.stderr and "empty.txt" in r.stderr
    assert "Skipped" not in r.stdout and "Indexed 1 file(s)" in r.stdout
    quiet = rag("ingest", "--quiet", docs, store=tmp_path / "store")
    assert quiet.returncode == 0 and "Skipped" not in quiet.stdout and "empty.txt" in quiet.stderr
    js = rag("ingest", "--json", docs, store=tmp_path / "store")
    assert json.loads(js.stdout)["files_unchanged"] == 1
    gone = rag("remove", "--json", "good.txt", store=tmp_path / "store")
    assert gone.returncode == 0 and json.loads(gone.stdout)["chunks_removed"] > 0
    assert rag("remove", "--quiet", "good.txt", store=tmp_path / "store").stdout == ""


def test_ask_quiet_prints_only_the_answer_text(corpus_settings):
    full = rag("ask", ATMAR, "--json", store=corpus_settings.store)
    quiet = rag("ask", ATMAR, "--quiet", store=corpus_settings.store)
    assert quiet.returncode == 0
    assert quiet.stdout == json.loads(full.stdout)["answer"] + "\n"


def test_the_library_never_configures_the_root_logger():
    code = ("import logging, rag, rag.cli, rag.engine, rag.embed; "
            "from rag.embed import WordLlamaEmbedder; WordLlamaEmbedder(); "
            "r = logging.getLogger(); "
            "print(len(r.handlers), r.level, logging.getLogger('rag').propagate)")
    r = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", str(30), "True"]


def test_py_typed_ships_with_the_package():
    import rag as pkg
    from importlib.resources import files
    assert files(pkg).joinpath("py.typed").is_file()


def test_library_events_are_logged_under_rag_loggers(engine, caplog):
    """Library modules log through `logging` (rag.engine, rag.llm_client, ...), not print."""
    import logging
    with caplog.at_level(logging.DEBUG, logger="rag"):
        engine.ask(ATMAR)
    rec = [r for r in caplog.records if r.name == "rag.engine" and "answered by" in r.getMessage()]
    assert rec and rec[0].levelno == logging.DEBUG and "extractive" in rec[0].getMessage()

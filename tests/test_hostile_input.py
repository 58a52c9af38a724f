"""Hostile input (issue 9): megabyte lines, unreadable and special files, link loops, deeply
nested HTML, questions that are not valid Unicode. Each is reported with a reason; none crashes
a run, hangs it, or changes the store."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.chunk import chunk_document
from ingest.pipeline import ingest_paths
from ingest.read import IngestError, read_source
from ingest.split import parse_articles
from rag import tokens
from tests.conftest import CORPUS, PROJECT

WORDS = "the minister said talks in Kabul would resume with Taliban officials next week".split()


def long_line(n_chars: int, seed: int = 0) -> str:
    """One line of words and no sentence end: the shape that made chunking quadratic."""
    import random
    rnd = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        w = rnd.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n_chars].strip()


_TIMER = """
import sys, time
from pathlib import Path
from ingest.read import read_source
from ingest.split import parse_articles
from ingest.chunk import chunk_document
from rag.text import sentence_spans
sentence_spans("Warm up. The splitter.")
doc = read_source(Path(sys.argv[1]))
t = time.perf_counter()
chunks = chunk_document(doc, parse_articles(doc), 200, 40)
print(time.perf_counter() - t, len(chunks))
"""


def _time_chunking(path: Path, timeout: float) -> float:
    r = subprocess.run([sys.executable, "-c", _TIMER, str(path)], cwd=PROJECT,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return float(r.stdout.split()[0])


def test_cleaning_and_chunking_are_linear_in_line_length(tmp_path):
    """A 5 MB line without a sentence end within 30x the time of a 500 KB one (linear: ~10x;
    the old quadratic cut loop needed ~100x and minutes). The big run is killed at the bound, so
    a regression fails instead of hanging."""
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text(long_line(500_000))
    big.write_text(long_line(5_000_000))
    t_small = _time_chunking(small, timeout=600)
    bound = 30 * max(t_small, 0.05)
    try:
        t_big = _time_chunking(big, timeout=bound + 20)   # + process start and file read
    except subprocess.TimeoutExpired:
        pytest.fail(f"chunking 5 MB took over {bound + 20:.0f} s; 500 KB took {t_small:.2f} s")
    assert t_big / max(t_small, 0.05) < 30, (t_small, t_big)


def test_a_long_line_is_cut_into_exact_bounded_chunks(tmp_path):
    p = tmp_path / "line.txt"
    p.write_text(long_line(300_000) + ". Then a short sentence.\n")
    doc = read_source(p)
    chunks = chunk_document(doc, parse_articles(doc), 200, 40)
    assert all(c.text == doc.text[c.start:c.end] for c in chunks)
    assert max(tokens.count(c.text) for c in chunks) <= 200
    # The chunks cover the line: only whitespace lies outside them, nothing between cuts lost.
    pos = 0
    for c in sorted(chunks, key=lambda c: c.start):
        assert not doc.text[pos:c.start].strip()
        pos = max(pos, c.end)
    assert not doc.text[pos:].strip()


def test_a_file_over_the_time_limit_is_skipped_with_the_setting_to_raise(
        fresh_settings, embedder, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "slow.txt").write_text(long_line(8_000_000))   # seconds of work, even when idle
    (folder / "ok.txt").write_text((CORPUS / "000_c73e7dc4e8ffbfc0.txt").read_text())
    doc = read_source(folder / "ok.txt")      # load the splitter and tokenizer first: the
    chunk_document(doc, parse_articles(doc), 200, 40)   # limit is for the work, not the imports
    report = ingest_paths([folder], fresh_settings.with_(max_file_seconds=1.0), progress=False,
                          embedder=embedder)
    assert report.files_new == 1
    (path, why), = report.skipped
    assert path.endswith("slow.txt") and "RAG_MAX_FILE_SECONDS" in why


def test_the_file_time_limit_is_read_from_the_environment():
    from rag.settings import Settings
    assert Settings.from_env(env={"RAG_MAX_FILE_SECONDS": "7.5"}).max_file_seconds == 7.5


# --- files that cannot be read ------------------------------------------------------------------

def _without_dac_override():
    """Runs in the child before exec: as root, drop the capabilities that let root read any
    file, so a mode-000 file raises a real PermissionError as it would for any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):      # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:   # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def rag_cli(*args, store, timeout=300, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=PROJECT,
                          env=env, capture_output=True, timeout=timeout, **kw)


def test_an_unreadable_file_is_skipped_and_the_rest_indexed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / "good.txt"
    good.write_text((CORPUS / "000_c73e7dc4e8ffbfc0.txt").read_text())
    locked = folder / "locked.txt"
    locked.write_text((CORPUS / "001_e6efb181a4683f8c.txt").read_text())
    locked.chmod(0)
    probe = subprocess.run([sys.executable, "-c", f"open({str(locked)!r}).read()"],
                           preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
                           capture_output=True, text=True)
    assert "PermissionError" in probe.stderr, "the test needs a file this process cannot read"
    r = rag_cli("ingest", "--quiet", folder, store=tmp_path / "store", text=True,
                preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr       # the summary on stdout, skipped files on stderr
    assert "1 new" in out
    assert f"Skipped {locked}" in out and "permission denied" in out
    assert "Traceback" not in r.stderr


def test_a_named_pipe_is_skipped_not_waited_on(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "ok.txt").write_text((CORPUS / "000_c73e7dc4e8ffbfc0.txt").read_text())
    try:    # a process, so that reading the pipe (which blocks until a writer comes) times out
        r = rag_cli("ingest", "--quiet", folder, store=tmp_path / "store", text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the ingest waited on a named pipe")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "1 new" in out and f"Skipped {folder / 'pipe.txt'}" in out
    assert "named pipe" in out
    with pytest.raises(IngestError, match="named pipe"):   # named explicitly, too
        read_source(folder / "pipe.txt")


def test_a_folder_holding_only_a_link_loop_says_why_nothing_was_indexed(fresh_settings, embedder,
                                                                       tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "self").symlink_to(".")
    (folder / "a.txt").symlink_to("b.txt")
    (folder / "b.txt").symlink_to("a.txt")
    report = ingest_paths([folder], fresh_settings, progress=False, embedder=embedder)
    reasons = dict(report.skipped)
    assert "symbolic link loop" in reasons[str(folder / "self")]
    assert "symbolic link loop" in reasons[str(folder / "a.txt")]
    assert "symbolic link loop" in report.summary()
    assert not Path(fresh_settings.store).exists()


def test_deeply_nested_html_gets_an_honest_message(tmp_path):
    body = " ".join(["The minister said the talks would resume next week in Doha."] * 10)
    page = tmp_path / "deep.html"
    page.write_text("<html><body>" + "<div>" * 3000 + f"<p>{body}</p>" + "</div>" * 3000
                    + "</body></html>")
    with pytest.raises(IngestError) as e:
        read_source(page)
    assert "nested 3,00" in str(e.value) and "navigation" not in str(e.value)


# --- questions that are not valid Unicode --------------------------------------------------------

@pytest.mark.parametrize("question", ["\ud800 Atmar", "Atmar \udcff travel", "\udfff",
                                      "Who \x00signed\x07 the agreement?"])
def test_a_question_with_lone_surrogates_or_controls_is_answered(question, corpus_settings,
                                                                monkeypatch):
    import rag
    monkeypatch.setenv("RAG_STORE", str(corpus_settings.store))
    a = rag.query(question)
    a.to_dict()
    import json
    json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")   # printable and storable


def test_a_question_that_is_only_a_bad_byte_is_refused_as_empty(corpus_settings, monkeypatch):
    import rag
    monkeypatch.setenv("RAG_STORE", str(corpus_settings.store))
    with pytest.raises(ValueError, match="empty"):
        rag.query("\x00\x01 ")


def test_a_non_utf8_byte_in_a_shell_argument_is_not_a_traceback(corpus_settings):
    r = rag_cli("ask", os.fsdecode(b"How many times did Hanif Atmar travel to Pakistan \xff?"),
                store=corpus_settings.store)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err
    assert "Traceback" not in err and b"Sources:" in r.stdout

"""A writer copies the live generation while readers use it (rag/generations.py): every Chroma
client that starts on the live generation writes a row into its chroma.sqlite3, so a copy can
be taken in the middle of such a write. The copy must be the database as committed, without
the write's rollback journal (a plain file copy took it along: a hot journal that the copy's
first Chroma client had to roll back, and with the journal gone between listing and copying, a
torn database)."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from ingest.pipeline import ingest_paths
from rag import generations
from rag.generations import StoreError, copy_generation, live_generation
from rag.store import Store
from tests.conftest import CORPUS


def _write_in_progress(db_path, hold: float, begin: str = "BEGIN IMMEDIATE"):
    """A thread that starts a write on `db_path` (as a starting Chroma client does), holds it
    `hold` seconds, then commits; returns the thread once the write has begun."""
    started = threading.Event()

    def write():
        db = sqlite3.connect(db_path, timeout=5, check_same_thread=False)
        db.execute(begin)
        db.execute("CREATE TABLE written_meanwhile (x)")
        started.set()
        time.sleep(hold)
        db.commit()
        db.close()

    t = threading.Thread(target=write)
    t.start()
    started.wait()
    return t


@pytest.fixture
def store(fresh_settings, embedder):
    ingest_paths([CORPUS], fresh_settings, progress=False, embedder=embedder)
    return fresh_settings.store, live_generation(fresh_settings.store)


def test_a_copy_taken_during_a_write_is_the_database_as_committed(store, embedder):
    root, live = store
    writer = _write_in_progress(live / "chroma" / "chroma.sqlite3", hold=0.5)
    try:
        work = copy_generation(root, live)
    finally:
        writer.join()
    assert not list(work.rglob("*-journal"))
    db = sqlite3.connect(f"{(work / 'chroma' / 'chroma.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert "written_meanwhile" not in tables     # the last commit, not the write under way
    with Store(root, embedder.name, generation=work) as copy:
        assert copy.count() > 0 and copy.sources()
    # ...and the write commits once the copy is done.
    db = sqlite3.connect(f"{(live / 'chroma' / 'chroma.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT count(*) FROM written_meanwhile").fetchone() == (0,)
    finally:
        db.close()


def test_a_commit_that_does_not_finish_fails_the_copy_clearly(store, monkeypatch):
    root, live = store
    monkeypatch.setattr(generations, "COPY_WAIT", 0.2)
    writer = _write_in_progress(live / "chroma" / "chroma.sqlite3", hold=2.0,
                                begin="BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="could not be copied .*Run the command again"):
            copy_generation(root, live)
    finally:
        writer.join()
    assert not list(root.glob(".tmp-*")) and live_generation(root) == live


def test_a_busy_database_is_not_taken_for_a_damaged_one(store):
    """The check before a copy (rag doctor's too) waits for a commit in progress; with
    SQLite's default 5 s it reported one held longer as damage, telling the user to
    re-index."""
    from rag.doctor import sqlite_problem
    _, live = store
    db = live / "chroma" / "chroma.sqlite3"
    writer = _write_in_progress(db, hold=6.0, begin="BEGIN EXCLUSIVE")
    try:
        assert sqlite_problem(db) is None
    finally:
        writer.join()


def test_a_database_that_cannot_be_read_is_not_called_busy(tmp_path):
    """Only a busy database is worth a retry; a file that is not a database says so and points
    to the check, and nothing is left behind."""
    root = tmp_path / "store"
    live = root / "g-1"
    live.mkdir(parents=True)
    (live / "chroma.sqlite3").write_bytes(b"not a database, " * 512)
    with pytest.raises(StoreError) as e:
        copy_generation(root, live)
    assert "rag doctor" in str(e.value) and "again" not in str(e.value)
    assert sorted(p.name for p in root.iterdir()) == ["g-1"]

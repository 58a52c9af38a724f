"""The store protects what it holds: a lost or damaged marker, a damaged database or a folder
that is not an index is refused with the fix named, and nothing is changed until asked; an
empty index says so."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from ingest.pipeline import ingest_paths
from rag.store import Store, StoreError
from tests.conftest import CORPUS, PROJECT

FIRST = ["000_c73e7dc4e8ffbfc0.txt", "001_e6efb181a4683f8c.txt", "002_5edc88af400f5deb.txt"]
SECOND = ["003_f62552b4376e47fb.txt", "004_e30819fc19684813.txt"]


def _rag(*args, store, ok=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    done = subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert (done.returncode == 0) == ok, (done.returncode, done.stdout, done.stderr)
    return done


def _snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in (".lock", ".readers")}


@pytest.fixture
def two_folders(tmp_path, fresh_settings, embedder):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, names in ((a, FIRST), (b, SECOND)):
        folder.mkdir()
        for n in names:
            shutil.copy(CORPUS / n, folder)
    ingest_paths([a], fresh_settings, progress=False, embedder=embedder)
    ingest_paths([b], fresh_settings, progress=False, embedder=embedder)
    assert len(Store(fresh_settings.store, embedder.name).sources()) == 5
    return a, b


@pytest.mark.parametrize("damage", ["lost", "garbage", "names-nothing"])
def test_a_lost_or_damaged_marker_is_refused_and_repaired_without_loss(
        damage, two_folders, fresh_settings, embedder):
    root = fresh_settings.store
    current = root / "CURRENT"
    if damage == "lost":
        current.unlink()
    elif damage == "garbage":
        current.write_bytes(b"\xff\x00not a name")
    else:
        current.write_text("g-20200101000000-deadbeef")
    before = _snapshot(root)
    # Ingesting one folder again must not build a new index of just that folder and delete
    # the generation holding the other folder's documents.
    with pytest.raises(StoreError, match="rag doctor") as e:
        ingest_paths([two_folders[1]], fresh_settings, progress=False, embedder=embedder)
    assert "--rebuild" in str(e.value)
    with pytest.raises(StoreError, match="rag doctor"):
        Store(root, embedder.name)
    assert _snapshot(root) == before
    err = _rag("ask", "Who signed the Mir Ali agreement?", store=root).stderr
    assert "rag doctor" in err
    assert _snapshot(root) == before
    assert "problem" in _rag("doctor", store=root).stdout
    _rag("doctor", "--repair", store=root, ok=True)
    assert len(Store(root, embedder.name).sources()) == 5


def test_a_truncated_database_names_the_fix_and_changes_nothing(two_folders, fresh_settings,
                                                                 embedder):
    root = fresh_settings.store
    live = root / (root / "CURRENT").read_text()
    db = live / "chroma" / "chroma.sqlite3"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    before = _snapshot(root)
    for args in (["ask", "Who signed the Mir Ali agreement?"], ["ingest", str(two_folders[0])],
                 ["remove", FIRST[0]]):
        err = _rag(*args, store=root).stderr
        assert "rag ingest --rebuild" in err, (args, err)
        assert _snapshot(root) == before, args
    assert "PROBLEM" in _rag("doctor", store=root).stdout
    _rag("ingest", "--rebuild", str(two_folders[0]), str(two_folders[1]), store=root, ok=True)
    assert len(Store(root, embedder.name).sources()) == 5


def test_a_folder_that_is_not_an_index_is_refused(tmp_path, fresh_settings, embedder):
    foreign = tmp_path / "my-documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own notes")
    (foreign / "chroma.sqlite3").write_bytes(b"someone else's database")
    before = _snapshot(foreign)
    with pytest.raises(StoreError, match="not a rag-news index"):
        ingest_paths([CORPUS / FIRST[0]], fresh_settings.with_(store=foreign), progress=False,
                     embedder=embedder)
    assert _snapshot(foreign) == before
    assert sorted(os.listdir(foreign)) == ["chroma.sqlite3", "notes.txt"]


def test_an_empty_index_says_so(fresh_settings, embedder):
    """What a killed first ingest used to leave: an empty, published store."""
    empty = Store(fresh_settings.store, embedder.name, create=True)
    del empty
    done = _rag("ask", "Who signed the Mir Ali agreement?", store=fresh_settings.store)
    assert "empty" in done.stderr and "rag ingest" in done.stderr
    assert "do not say" not in done.stdout
    stats = _rag("stats", store=fresh_settings.store, ok=True)
    assert "empty" in stats.stderr


def test_an_unfinished_first_ingest_says_so_and_resumes(fresh_settings, embedder):
    """A SIGKILLed first ingest with nothing committed: readers say so; a rerun completes."""
    from rag.generations import FRESH, new_generation
    gen = new_generation(fresh_settings.store, FRESH)
    Store(fresh_settings.store, embedder.name, create=True, generation=gen).close()
    done = _rag("ask", "Who signed the Mir Ali agreement?", store=fresh_settings.store)
    assert "did not finish" in done.stderr and "rag ingest" in done.stderr
    assert "has not finished" in _rag("stats", store=fresh_settings.store, ok=True).stderr
    ingest_paths([CORPUS], fresh_settings, progress=False, embedder=embedder)
    assert len(Store(fresh_settings.store, embedder.name).sources()) == 5
    assert [g.name for g in fresh_settings.store.glob("g-*")] == [gen.name]

"""The chunk table (rag/chunktable.py) and the read-only opening it shares with the file table."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from rag.chunktable import ChunkTable
from rag.filetable import FileTable
from rag.types import Chunk


def _chunks() -> list[Chunk]:
    texts = ["Baradar was freed in 2018.", "Atmar travelled to Pakistan.", "Schools reopened."]
    return [Chunk.make(src, f"Title {src}", 0, t, i * 40, i * 40 + len(t), "2021-08-1" + str(i))
            for i, (src, t) in enumerate(zip(["b.txt", "a.txt", "b.txt"], texts))]


def test_round_trip_lookup_by_id(tmp_path):
    table = ChunkTable(tmp_path / "chunks.sqlite", writable=True)
    chunks = _chunks()
    table.put_many(chunks)
    table.put_many(chunks[:1])                  # a resumed ingest writes a chunk again
    assert table.count() == 3
    assert table.get_many([c.id for c in chunks] + ["missing"]) == {c.id: c for c in chunks}
    assert list(table.iter_chunks(batch=2)) == sorted(chunks, key=lambda c: (c.source, c.start,
                                                                             c.id))
    assert table.newest_date() == "2021-08-12"
    table.delete([chunks[0].id])
    assert table.count() == 2 and chunks[0].id not in table.get_many([chunks[0].id])
    assert table.present([c.id for c in chunks] + ["missing"]) == {chunks[1].id, chunks[2].id}
    table.close()
    reader = ChunkTable(tmp_path / "chunks.sqlite", writable=False)
    with pytest.raises(sqlite3.OperationalError):
        reader.put_many(chunks)                 # readers never write
    assert reader.count() == 2


@pytest.mark.parametrize("kind", ["chunks", "files"])
def test_a_reader_opens_a_table_whose_writer_was_killed_mid_transaction(tmp_path, kind):
    """A writer killed inside a transaction leaves a hot rollback journal; a read-only SQLite
    connection cannot roll it back and fails on every query ("attempt to write a readonly
    database"). The reader must see the last commit instead."""
    live = tmp_path / "live.sqlite"
    if kind == "chunks":
        writer = ChunkTable(live, writable=True)
        writer.put_many(_chunks()[:1])
        db = writer._db
    else:
        writer = FileTable(live, writable=True)
        writer.put_many([{"source": "a.txt", "sha256": "x"}])
        db = writer._db
    # Uncommitted changes large enough to spill to the file, as a killed batch leaves them.
    db.execute("BEGIN")
    if kind == "chunks":
        db.executemany("INSERT INTO chunks (id, source, text) VALUES (?, 's', ?)",
                       [(str(i), "x" * 2000) for i in range(3000)])
    else:
        db.executemany("INSERT INTO files (source, sha256, text) VALUES (?, 's', ?)",
                       [(str(i), b"x" * 2000) for i in range(3000)])
    killed = tmp_path / "killed.sqlite"
    shutil.copy(live, killed)                   # the files as a SIGKILL leaves them
    shutil.copy(live.with_name("live.sqlite-journal"), tmp_path / "killed.sqlite-journal")
    db.rollback()
    if kind == "chunks":
        reader = ChunkTable(killed, writable=False)
        assert reader.count() == 1
    else:
        reader = FileTable(killed, writable=False)
        assert list(reader.all()) == ["a.txt"]


def _indexes(path) -> set[str]:
    """The indexes the file holds, as a separate process would see them."""
    db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        db.close()


def test_a_new_table_gets_its_id_index_once_when_its_writer_closes(tmp_path):
    """Chunk ids are hashes: an id index kept up while rows go in rewrites most of its pages on
    every commit. A writer that creates the table builds it once, at the end; a reader in the
    meantime still finds every row by id, and a repeated id keeps its last row."""
    path = tmp_path / "chunks.sqlite"
    writer = ChunkTable(path, writable=True)
    chunks = _chunks()
    writer.put_many(chunks)
    writer.put_many([chunks[0]], terms={chunks[0].id: "freed 2018"})   # written again: last wins
    assert _indexes(path) == {"chunks_order"}       # no id index while rows go in
    reader = ChunkTable(path, writable=False)
    assert reader.get_many([chunks[1].id, "missing"]) == {chunks[1].id: chunks[1]}
    writer.close()
    assert "chunks_id" in _indexes(path)
    reader = ChunkTable(path, writable=False)
    assert reader.count() == 3
    assert [t for c, t in reader.iter_with_terms() if c.id == chunks[0].id] == ["freed 2018"]


def test_a_writer_resuming_a_table_left_without_its_id_index_builds_it(tmp_path):
    """A run killed before closing leaves the table without its id index; the next writer
    builds it on opening, so resuming finds the rows already written and repeats none."""
    path = tmp_path / "chunks.sqlite"
    chunks = _chunks()
    killed = ChunkTable(path, writable=True)
    killed.put_many(chunks[:2])
    killed.put_many(chunks[:1])                 # the killed run wrote one chunk twice
    killed._db.close()                          # gone without close(): no index built
    assert _indexes(path) == {"chunks_order"}
    resumed = ChunkTable(path, writable=True)
    assert "chunks_id" in _indexes(path)
    assert resumed.present([c.id for c in chunks]) == {chunks[0].id, chunks[1].id}
    resumed.put_many(chunks)                    # upserts: nothing duplicated
    assert resumed.count() == 3
    resumed.delete([chunks[2].id])
    resumed.close()
    assert ChunkTable(path, writable=False).count() == 2


def test_a_table_written_before_the_late_index_keeps_its_own(tmp_path):
    """Tables from before had `UNIQUE` on the id column (SQLite's own index): no second one."""
    path = tmp_path / "chunks.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE chunks (id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, title TEXT, "
               "article INTEGER, text TEXT NOT NULL, start INTEGER, \"end\" INTEGER, date TEXT, "
               "terms TEXT)")
    db.commit()
    db.close()
    table = ChunkTable(path, writable=True)
    chunks = _chunks()
    table.put_many(chunks)
    table.put_many(chunks[:1])
    assert table.count() == 3
    table.close()
    assert "chunks_id" not in _indexes(path)

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

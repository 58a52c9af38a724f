"""The per-generation chunk table: each chunk's text and fields, outside the vector collection.

Chroma keeps a chunk's vector and the few fields filters need (source, date, day); the text and
the rest live here, in one SQLite table keyed by chunk id. Handing Chroma the documents made
it keep each text three times over (a metadata row, its index, and a trigram full-text index
nothing here uses): two thirds of its write time and three quarters of its size. From here
the dense search fetches the texts of its k hits by id, BM25 is built without reading the
collection back, and answers never hold the whole corpus in memory.

Writers keep this table a subset of the collection (rows go in after the vectors, out before
them), so a killed ingest leaves at worst vectors without a row, which searches skip.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from .types import Chunk

_FIELDS = ("id", "source", "title", "article", "text", "start", "end", "date")
# `terms`: the chunk's BM25 terms, space-joined, computed where the chunk was made (in ingest's
# worker processes), so building BM25 at the end of an ingest splits strings instead of stemming
# the whole corpus again in one process. NULL for rows written without them.
# A rowid table with a unique index on id rather than WITHOUT ROWID: rows of a kilobyte of text
# would spill into overflow pages of the id b-tree (2.5 times the size).
_TABLE = ("CREATE TABLE IF NOT EXISTS chunks (id TEXT NOT NULL, source TEXT NOT NULL, "
          "title TEXT, article INTEGER, text TEXT NOT NULL, start INTEGER, \"end\" INTEGER, "
          "date TEXT, terms TEXT)",
          # Serves lookups by source and reading in order without sorting the whole table.
          "CREATE INDEX IF NOT EXISTS chunks_order ON chunks (source, start, id)")
# The id index, built when a writer closes the table it created (or first needs it) rather
# than kept up as rows go in: chunk ids are content hashes, so every commit lands all over it
# and rewrites (and journals) most of its pages (`python -m bench.write_patterns table`, 188,000
# rows in ingest's commits: 326 MB written for a 278 MB table, 286 MB with the index at the
# end). Tables written before it have the same index under SQLite's own name (`UNIQUE` on the
# column); either counts.
_ID_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS chunks_id ON chunks (id)"
# Keeps the last row of each id, as INSERT OR REPLACE does when the index is there.
_DEDUPE = "DELETE FROM chunks WHERE rowid NOT IN (SELECT max(rowid) FROM chunks GROUP BY id)"
_COLS = ", ".join(f'"{f}"' for f in _FIELDS)
_PARAMS = 900       # under SQLite's limit on bound parameters per statement


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection that only reads. Read-only mode, unless a writer was killed mid-transaction
    and left a hot rollback journal: a read-only connection cannot roll it back and fails on
    every query, so that one connects read-write (SQLite then restores the last commit)."""
    path = Path(path)
    if path.with_name(path.name + "-journal").exists():
        return sqlite3.connect(path, check_same_thread=False)
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                           check_same_thread=False)


def connect(path: Path, *, writable: bool, schema: Sequence[str]) -> sqlite3.Connection:
    """A writer's connection (schema created) or a reader's (published generations never
    change: read-only, no locks to contend on)."""
    if not writable:
        return connect_reader(path)
    # A reader of a first ingest still running scans the table (no id index yet) and holds its
    # read lock meanwhile: a commit waits for it rather than failing after SQLite's default 5 s.
    db = sqlite3.connect(path, check_same_thread=False, timeout=60.0)
    db.execute("PRAGMA synchronous=NORMAL")
    for stmt in schema:
        db.execute(stmt)
    db.commit()
    return db


class ChunkTable:
    """A writer that creates the table appends rows without the id index and builds it once,
    on `close()` (or before its first lookup or delete by id); a writer that opens a table
    without it (a run killed before closing) builds it at once, so a resumed ingest looks rows
    up by id as before. A reader of such a table (the first ingest of a store, read while it
    runs) finds rows by scanning: slower, never wrong."""

    def __init__(self, path: Path, *, writable: bool):
        self.path = Path(path)
        self._lock = threading.Lock()
        fresh = writable and not self.path.exists()
        self._db = connect(self.path, writable=writable, schema=_TABLE)
        self._indexed = not writable or has_id_index(self._db)
        if writable and not fresh:
            self._index()

    def _index(self) -> None:
        """Build the id index (caller holds no lock); a no-op once built."""
        if self._indexed:
            return
        with self._lock:
            if self._indexed:               # another thread built it while this one waited
                return
            try:
                self._db.execute(_ID_INDEX)
            except sqlite3.IntegrityError:  # an id written twice without the index: keep the last
                self._db.execute(_DEDUPE)
                self._db.execute(_ID_INDEX)
            self._db.commit()
            self._indexed = True

    def put_many(self, chunks: Iterable[Chunk], terms: Mapping[str, str] | None = None) -> None:
        terms = terms or {}
        rows = [(c.id, c.source, c.title, c.article, c.text, c.start, c.end, c.date,
                 terms.get(c.id)) for c in chunks]
        with self._lock:
            # Without the index, OR REPLACE replaces nothing: a repeated id is left to _DEDUPE.
            self._db.executemany(f"INSERT OR REPLACE INTO chunks ({_COLS}, terms) VALUES "
                                 f"({', '.join('?' * (len(_FIELDS) + 1))})", rows)
            self._db.commit()

    def delete(self, ids: Iterable[str]) -> None:
        self._index()
        with self._lock:
            self._db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])
            self._db.commit()

    def get_many(self, ids: Sequence[str]) -> dict[str, Chunk]:
        return {r[0]: Chunk(*r) for r in self._rows(_COLS, ids)}

    def present(self, ids: Sequence[str]) -> set[str]:
        """Those of `ids` that have a row (ids only: no texts read)."""
        return {r[0] for r in self._rows("id", ids)}

    def _rows(self, cols: str, ids: Sequence[str]) -> list[tuple]:
        self._index()
        ids, out = list(ids), []
        with self._lock:
            for i in range(0, len(ids), _PARAMS):
                part = ids[i:i + _PARAMS]
                out += self._db.execute(
                    f"SELECT {cols} FROM chunks WHERE id IN ({', '.join('?' * len(part))})",
                    part).fetchall()
        return out

    def iter_chunks(self, batch: int = 2000) -> Iterator[Chunk]:
        return (c for c, _ in self.iter_with_terms(batch))

    def iter_with_terms(self, batch: int = 2000) -> Iterator[tuple[Chunk, str | None]]:
        """Every chunk by (source, start, id), read a batch at a time so memory stays bounded
        (the order comes from an index: the first rows arrive without sorting the table)."""
        self._index()
        with self._lock:
            cur = self._db.execute(f"SELECT {_COLS}, terms FROM chunks "
                                   f"ORDER BY source, start, id")
        while True:
            with self._lock:
                rows = cur.fetchmany(batch)
            if not rows:
                return
            yield from ((Chunk(*r[:-1]), r[-1]) for r in rows)

    def count(self) -> int:
        self._index()       # a writer's repeated ids are one chunk
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def newest_date(self) -> str | None:
        with self._lock:
            return self._db.execute("SELECT max(date) FROM chunks").fetchone()[0]

    def close(self) -> None:
        """Closes the connection; a writer's table gets its id index first."""
        try:
            self._index()
        finally:
            with self._lock:
                self._db.close()


def has_id_index(db: sqlite3.Connection) -> bool:
    """Whether the table has a unique index on id alone (ours, or SQLite's for `UNIQUE`)."""
    for _, name, unique, *_ in db.execute("PRAGMA index_list(chunks)").fetchall():
        if unique and [r[2] for r in db.execute(f"PRAGMA index_info({name!r})")] == ["id"]:
            return True
    return False

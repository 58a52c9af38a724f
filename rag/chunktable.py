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
# A rowid table with a unique id rather than WITHOUT ROWID: rows of a kilobyte of text would
# spill into overflow pages of the id b-tree (2.5 times the size).
_SCHEMA = ("CREATE TABLE IF NOT EXISTS chunks (id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, "
           "title TEXT, article INTEGER, text TEXT NOT NULL, start INTEGER, \"end\" INTEGER, "
           "date TEXT, terms TEXT)",
           # Serves lookups by source and reading in order without sorting the whole table.
           "CREATE INDEX IF NOT EXISTS chunks_order ON chunks (source, start, id)")
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
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    for stmt in schema:
        db.execute(stmt)
    db.commit()
    return db


class ChunkTable:
    def __init__(self, path: Path, *, writable: bool):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = connect(self.path, writable=writable, schema=_SCHEMA)

    def put_many(self, chunks: Iterable[Chunk], terms: Mapping[str, str] | None = None) -> None:
        terms = terms or {}
        rows = [(c.id, c.source, c.title, c.article, c.text, c.start, c.end, c.date,
                 terms.get(c.id)) for c in chunks]
        with self._lock:
            self._db.executemany(f"INSERT OR REPLACE INTO chunks ({_COLS}, terms) VALUES "
                                 f"({', '.join('?' * (len(_FIELDS) + 1))})", rows)
            self._db.commit()

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])
            self._db.commit()

    def get_many(self, ids: Sequence[str]) -> dict[str, Chunk]:
        return {r[0]: Chunk(*r) for r in self._rows(_COLS, ids)}

    def present(self, ids: Sequence[str]) -> set[str]:
        """Those of `ids` that have a row (ids only: no texts read)."""
        return {r[0] for r in self._rows("id", ids)}

    def _rows(self, cols: str, ids: Sequence[str]) -> list[tuple]:
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
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def newest_date(self) -> str | None:
        with self._lock:
            return self._db.execute("SELECT max(date) FROM chunks").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

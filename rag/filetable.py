"""The per-generation file table: one row per ingested file, outside the vector collection.

It answers "is this file already indexed, unchanged?" for a whole corpus from one query
(`all()`), records where each file lives (so pruning and moves need no Chroma round trip), and
keeps, for HTML only, the extracted text that citation offsets index, zlib-compressed: a .txt
or .md file's offsets index the file itself, and every chunk's text is in Chroma already.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Iterable

from .chunktable import connect

_COLUMNS = ("source", "sha256", "kind", "path", "size", "mtime_ns", "chunks", "articles")
_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, kind TEXT, path TEXT, size INTEGER,
    mtime_ns INTEGER, chunks INTEGER, articles INTEGER, meta TEXT, text BLOB)"""


class FileTable:
    def __init__(self, path: Path, *, writable: bool):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = connect(self.path, writable=writable, schema=(_SCHEMA,))

    @classmethod
    def in_memory(cls, rows: Iterable[dict]) -> "FileTable":
        """A table for a store from before files.sqlite existed, filled from its old records."""
        t = cls.__new__(cls)
        t.path, t._lock = Path(":memory:"), threading.Lock()
        t._db = sqlite3.connect(":memory:", check_same_thread=False)
        t._db.execute(_SCHEMA)
        t.put_many(rows)
        return t

    def put_many(self, rows: Iterable[dict]) -> None:
        """Insert or replace rows (dicts with `source`, `sha256`, optional `text`, and any other
        keys; unknown keys go into a JSON `meta` column) in one transaction."""
        values = []
        for r in rows:
            r = dict(r)
            text = r.pop("text", None)
            blob = zlib.compress(text.encode("utf-8"), 6) if text is not None else None
            extra = {k: v for k, v in r.items() if k not in _COLUMNS}
            values.append(tuple(r.get(c) for c in _COLUMNS) + (json.dumps(extra), blob))
        with self._lock:
            self._db.executemany(f"INSERT OR REPLACE INTO files ({', '.join(_COLUMNS)}, meta, text) "
                                 f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})", values)
            self._db.commit()

    def set_paths(self, moves: Iterable[tuple[str, str, int]]) -> None:
        """Record new locations (source, path, mtime_ns) of files that moved, in one statement."""
        with self._lock:
            self._db.executemany("UPDATE files SET path = ?, mtime_ns = ? WHERE source = ?",
                                 [(p, m, s) for s, p, m in moves])
            self._db.commit()

    def delete(self, sources: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM files WHERE source = ?", [(s,) for s in sources])
            self._db.commit()

    def get(self, source: str) -> dict | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)}, meta FROM files WHERE source = ?",
                                   (source,)).fetchone()
        return _record(row) if row else None

    def all(self) -> dict[str, dict]:
        """Every row but the texts, keyed by source: one query for a whole incremental check."""
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)}, meta FROM files").fetchall()
        return {r[0]: _record(r) for r in rows}

    def text(self, source: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM files WHERE source = ?", (source,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8") if row and row[0] is not None else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def read_records(path: Path) -> dict[str, dict]:
    """Every row of the file table at `path` but the texts, read-only, the table closed again:
    the one read that ingest's plan, its store check and the saved web pages' list share."""
    table = FileTable(path, writable=False)
    try:
        return table.all()
    finally:
        table.close()


def _record(row) -> dict:
    rec = {k: v for k, v in zip(_COLUMNS, row) if v is not None}
    rec.update(json.loads(row[-1] or "{}"))
    return rec

"""When a local Chroma collection saves its HNSW index, and making the last save happen before a
writer lets go of the store.

Chroma (1.x, local mode) writes every record to a log in chroma.sqlite3 first, applies it to the
in-memory HNSW index, and saves the index files only once `sync_threshold` records have been
applied since the last save; each save rewrites every element an insert touched (a new record
and the neighbours it links to), so at the default threshold (1,000) and 5,000-record calls,
most of the index was rewritten after every call. Records not yet saved stay in the log, and
every process that opens the store replays them (re-inserting their vectors) before its first
query, on every open, until some writer crosses the threshold again.

So a writer sets the threshold to about a quarter of the records it expects to write (a few
saves in all), and `sync` makes the last save happen before the store is closed: it sends
deletes of ids that do not exist (log records that cost a row each and no vector work) until
the count since the last save reaches the threshold. The next reader then has nothing to
replay. A killed writer leaves at most one threshold's worth in the log, which Chroma replays
(no record is lost: the log is committed before anything is applied).
"""
from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

MIN_SYNC = 1000         # Chroma's default threshold
MAX_SYNC = 50_000       # the log kept between saves: rows a reader of a killed ingest replays
_PAD = 5000             # ids per delete call (Chroma's max batch here is 5,461)
_PAD_ID = "rag-hnsw-sync-{}"    # never a chunk id (those are hex content hashes)

log = logging.getLogger(__name__)


def threshold_for(expected: int) -> int:
    """The save threshold for a writer that expects to add about `expected` records."""
    return max(MIN_SYNC, min(MAX_SYNC, int(expected) // 4))


def set_threshold(collection, threshold: int, tries: int = 8) -> int | None:
    """Use `threshold` for this collection; None if it could not be set (the collection keeps
    the one it had: `sync` copes with any). It applies to the HNSW writer a process builds next
    (at its first read or write of the collection); Chroma keeps a built writer's threshold.
    SQLite refuses a write at once, without waiting, when another connection is mid-write and
    this one already reads (Chroma's own start-up work, or a reader's log purge in a copied
    file): such a refusal is retried."""
    for attempt in range(tries):
        try:
            collection.modify(configuration={"hnsw": {"sync_threshold": threshold}})
            return threshold
        except Exception as e:      # chromadb raises InternalError for SQLite's SQLITE_BUSY
            if "locked" not in str(e) or attempt == tries - 1:
                # Not fatal: Chroma keeps its threshold and `sync` pads to whatever it is.
                log.warning("could not set Chroma's HNSW save threshold (%s: %s)",
                            type(e).__name__, str(e)[:200])
                return None
            time.sleep(0.05 * 2 ** attempt)
    return None


def unsaved(chroma_dir: Path, collection_id) -> int | None:
    """Log records of the collection that its saved HNSW files do not hold yet (what the next
    reader replays); None when Chroma's tables cannot be read (then nothing is padded)."""
    db_path = Path(chroma_dir) / "chroma.sqlite3"
    try:
        db = sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        row = db.execute(
            "SELECT (SELECT count(*) FROM embeddings_queue WHERE topic LIKE '%/' || s.collection "
            "        AND seq_id > coalesce(m.seq_id, 0)) "
            "FROM segments s LEFT JOIN max_seq_id m ON m.segment_id = s.id "
            "WHERE s.collection = ? AND s.scope = 'VECTOR'", (str(collection_id),)).fetchone()
        return None if row is None else int(row[0])
    except sqlite3.Error:
        return None
    finally:
        db.close()


def sync(collection, chroma_dir: Path, threshold: int | None) -> int:
    """Make Chroma save the collection's HNSW index now, if any applied record is unsaved.
    Returns the padding records sent. Stops at the first save (the count drops to 0); capped
    at MAX_SYNC in case this process's writer was built before `threshold` was set."""
    left = unsaved(chroma_dir, collection.id)
    if not left:
        return 0
    threshold = threshold or MIN_SYNC
    sent = 0
    while left and sent < MAX_SYNC:
        n = max(1, min(_PAD, threshold - left)) if left < threshold else _PAD
        collection.delete(ids=[_PAD_ID.format(sent + i) for i in range(n)])
        sent += n
        left = unsaved(chroma_dir, collection.id)
        if left is None:
            break
    return sent

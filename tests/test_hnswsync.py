"""A writer leaves Chroma's HNSW index saved, so the next process has no log to replay
(rag/hnswsync.py), with a real local Chroma store."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np

from rag import hnswsync
from rag.generations import live_generation
from rag.store import Store
from rag.types import Chunk
from tests.conftest import PROJECT


def _log_state(gen) -> tuple[int, int]:
    """(the last record in Chroma's log, the last record its saved HNSW files hold), read
    from Chroma's own tables; a reader replays every record between the two."""
    db = sqlite3.connect(f"{(gen / 'chroma' / 'chroma.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        last = db.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()[0] or 0
        saved = db.execute("SELECT m.seq_id FROM segments s JOIN max_seq_id m ON m.segment_id = "
                           "s.id WHERE s.scope = 'VECTOR'").fetchone()
        return last, saved[0] if saved else 0
    finally:
        db.close()


def _chunks(n: int, source: str = "f.txt") -> list[Chunk]:
    return [Chunk.make(source, "T", 0, f"text {i}", i * 10, i * 10 + 5) for i in range(n)]


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


_COUNT_AND_QUERY = """
import sys, numpy as np
from rag.store import Store
s = Store(sys.argv[1], "e")
hits = s.dense(np.ones(16, dtype=np.float32), k=int(sys.argv[2]))
print(s.count(), len(hits))
"""


def test_an_ingest_leaves_the_hnsw_index_saved_and_every_chunk_queryable(corpus_settings):
    """Chroma saves its index only past a threshold of records (1,000 by default): a small
    ingest used to leave all its records in the log, replayed by every process that opened it."""
    gen = live_generation(corpus_settings.store)
    last, saved = _log_state(gen)
    assert last > 0 and saved == last


def test_a_writer_that_expects_many_records_saves_once_more_on_close(tmp_path):
    store = tmp_path / "s"
    n = 1500
    w = Store(store, "e", create=True, expect=4 * 3000)     # threshold 3,000: never crossed
    w.add(_chunks(n), _vectors(n))
    gen = w.data
    last, saved = _log_state(gen)
    assert saved < last                 # unsaved while the writer is open
    w.close()
    last, saved = _log_state(gen)
    assert saved == last and hnswsync.unsaved(gen / "chroma", w.chunks.id) == 0
    # A fresh process sees every record, through the saved index.
    out = subprocess.run([sys.executable, "-c", _COUNT_AND_QUERY, str(store), "50"], cwd=PROJECT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(n), "50"]


def test_sync_pads_only_up_to_the_threshold_and_not_again(tmp_path):
    w = Store(tmp_path / "s", "e", create=True)       # threshold 1,000
    w.add(_chunks(300), _vectors(300))
    chroma = w.data / "chroma"
    assert hnswsync.unsaved(chroma, w.chunks.id) == 300
    assert hnswsync.sync(w.chunks, chroma, 1000) == 700
    assert hnswsync.sync(w.chunks, chroma, 1000) == 0
    assert w.count() == 300
    w.close()


def test_the_threshold_follows_the_expected_records():
    assert hnswsync.threshold_for(0) == hnswsync.MIN_SYNC
    assert hnswsync.threshold_for(40_000) == 10_000
    assert hnswsync.threshold_for(10**7) == hnswsync.MAX_SYNC


def test_close_vectors_saves_and_leaves_the_tables_for_bm25(tmp_path):
    from rag.bm25 import ensure_bm25
    root = tmp_path / "s"
    w = Store(root, "e", create=True, expect=40_000)        # threshold 10,000: never crossed
    w.add(_chunks(120), _vectors(120))
    gen = w.data
    w.close_vectors()
    last, saved = _log_state(gen)
    assert saved == last > 0
    assert ensure_bm25(w, force=True).n == 120              # from the chunk table alone
    w.close()                                               # nothing is closed twice
    r = Store(root, "e")
    assert r.count() == 120 and len(r.dense(_vectors(1, seed=1)[0], k=7)) == 7
    r.close()


def test_records_go_to_chroma_in_even_calls():
    from rag.store import _parts
    assert _parts(10_005, 5461) == [(0, 5003), (5003, 10_005)]      # not 5,000 + 5,000 + 5
    assert _parts(5461, 5461) == [(0, 5461)] and _parts(0, 5461) == []
    spans = _parts(16_003, 5461)
    assert len(spans) == 3 and spans[-1][1] == 16_003


def test_a_batch_goes_to_chroma_in_id_order_each_call_its_own_slice(tmp_path):
    """Chunk ids are hashes: calls in file order would each land on most pages of Chroma's
    index on (segment, id) and rewrite them; sorted, each call takes its own slice of it. The
    vectors must travel with their ids."""
    w = Store(tmp_path / "s", "e", create=True, expect=120)
    w._max_batch = 40
    calls, real = [], w.chunks.upsert

    def spy(**kw):
        calls.append(list(kw["ids"]))
        return real(**kw)

    w.chunks.upsert = spy
    chunks = [Chunk.make(f"f{i % 7}.txt", "T", 0, f"text {i}", i * 10, i * 10 + 5)
              for i in range(120)]
    vectors = _vectors(120)
    w.add(chunks, vectors)
    assert [len(c) for c in calls] == [40, 40, 40]
    assert all(c == sorted(c) for c in calls)
    assert all(a[-1] < b[0] for a, b in zip(calls, calls[1:]))
    for n in (0, 57, 119):          # each chunk's own vector finds it first
        assert w.dense(vectors[n], k=1)[0][0] == chunks[n]
    assert w.table.get_many([chunks[3].id]) == {chunks[3].id: chunks[3]}
    # ... and so must the filter fields: a mix-up would pass the lookups above (they read the
    # chunk table by id) and break every source filter.
    picked = [chunks[n] for n in (1, 58, 118)]
    got = w.chunks.get(ids=[c.id for c in picked], include=["metadatas"])
    assert {i: m["source"] for i, m in zip(got["ids"], got["metadatas"])} == \
        {c.id: c.source for c in picked}
    w.close()


def test_a_bookkeeping_writer_leaves_chromas_files_alone(tmp_path):
    """A writer that passes no `expect` (ingest's bookkeeping on the live generation, which
    running apps read) neither sets Chroma's save threshold nor pads the log to force a save on
    close: that would rewrite the HNSW files in place under the readers."""
    root = tmp_path / "s"
    w = Store(root, "e", create=True)
    w.add(_chunks(300), _vectors(300))
    w.close()
    gen = live_generation(root)
    before = _log_state(gen)
    assert before[0] - before[1] == 300          # the records sit in the log, unsaved
    b = Store(root, "e", create=True, generation=gen)
    b.close()
    assert _log_state(gen) == before


def test_a_threshold_chroma_refuses_is_logged_not_raised(caplog):
    class Refusing:     # stands in for a chromadb version whose configuration rejects the key
        def modify(self, configuration):
            raise ValueError("unknown hnsw parameter sync_threshold")
    with caplog.at_level("WARNING", logger="rag.hnswsync"):
        assert hnswsync.set_threshold(Refusing(), 5000) is None
    assert "save threshold" in caplog.text and "sync_threshold" in caplog.text

"""The persistent store: Chroma (telemetry off) for chunks and vectors, with BM25 and a small
file table beside it, kept in generations (`rag.generations` says how a store changes while
engines read it).

Layout of a store directory:
    CURRENT              names the live generation folder (replaced atomically)
    g-<id>/chroma/       Chroma's files: the `chunks` collection, one record per chunk: its vector
                         and the fields filters use (source, date, day), no text
    g-<id>/chunks.sqlite each chunk's text, title and offsets (`rag.chunktable`), by chunk id
    g-<id>/files.sqlite  one row per ingested file (`rag.filetable`), written only after all the
                         file's chunks are in: the commit marker that makes an interrupted
                         ingest resumable
    g-<id>/bm25/         the lexical index, rebuilt from the chunk table whenever it is stale
    .lock                held by writers, so two ingests never interleave

Stores written before files.sqlite kept file records in a Chroma collection `files` (with each
file's full text), and stores written before chunks.sqlite kept each chunk's text in Chroma;
they read as they are, and the next writer migrates the copy it writes.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import weakref
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .chunktable import ChunkTable
from .filetable import FileTable
from . import hnswsync
from .generations import (Lease, StoreError, check_unmarked, generations,  # noqa: F401
                          holds_index, live_generation, new_generation, publish, touch_version,
                          unfinished_first, version)
from .remote import ServerError
from .types import Chunk
from .where import metadata

CHUNKS, FILES, FILE_TABLE = "chunks", "files", "files.sqlite"   # FILES: before files.sqlite
CHUNK_TABLE = "chunks.sqlite"
# Chroma shares one System per folder in a process, counted by its clients; creating one
# while another thread closes the last client of that folder races (KeyError inside chromadb).
_CLIENTS = threading.RLock()
log = logging.getLogger(__name__)
# Records per Chroma call at most (its max batch size is 5461 here). Every call is a few SQLite
# transactions, each rewriting the pages of Chroma's indexes that its records land on (chunk ids
# are hashes, so they land all over), so fewer, larger calls write less.
_BATCH = 5000


def _parts(n: int, most: int) -> list[tuple[int, int]]:
    """[start, end) ranges splitting n records into as few calls of at most `most` as
    possible, evenly (10,005 records: two calls of 5,003 and 5,002, not 5,000 + 5,000 + 5)."""
    calls = -(-n // max(1, most))
    size = -(-n // max(1, calls))
    return [(i, min(n, i + size)) for i in range(0, n, size)] if n else []


def _client(path: Path, chroma_url: str | None = None):
    """The Chroma client: the generation's own folder, or a `chroma run` server (rag/remote.py)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from .remote import http_client
        return http_client(chroma_url, settings)
    return chromadb.PersistentClient(path=str(path / "chroma"), settings=settings)


def _where(generation: Path, chroma_url: str | None, root: Path) -> dict[str, str]:
    """Collection names for this generation; checks it is opened in the mode it was built in.
    On a server, names carry the generation, so a rebuild builds beside the live index."""
    from .remote import MARKER
    marker = generation / MARKER
    if chroma_url:
        if (generation / "chroma").is_dir():
            raise StoreError(f"the index at {root} keeps its vectors in its own folder, not on a "
                             f"Chroma server; unset RAG_CHROMA_URL, or index into the server "
                             f"with `rag ingest --rebuild --store {root}`.")
        if not marker.exists():
            marker.write_text(chroma_url)
        return {"chunks": f"{generation.name}-{CHUNKS}", "files": f"{generation.name}-{FILES}"}
    if marker.exists():
        raise StoreError(f"the index at {root} lives on the Chroma server "
                         f"{marker.read_text().strip()}; set RAG_CHROMA_URL (or --chroma-url) "
                         f"to it.")
    return {"chunks": CHUNKS, "files": FILES}


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on a store for the duration of an ingest (taken before a generation
    is chosen, so two first ingests cannot each publish their own). `filelock` takes an OS lock
    (flock on Linux/macOS, msvcrt on Windows) that the OS drops if the process dies."""
    from filelock import FileLock, Timeout
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    # A new, non-singleton lock object per call: a second writer in the same process (another
    # thread or Engine) is refused too, as a second process would be.
    lock = FileLock(root / ".lock", timeout=0, is_singleton=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise StoreError(f"another `rag ingest` is writing to {root}; wait for it to "
                         f"finish and run this again.") from None
    try:
        yield
    finally:
        lock.release()


def day_number(iso: str | None) -> int | None:
    """2025-01-14 -> 20250114, the numeric form date filters compare (None if not a date)."""
    if iso and len(iso) >= 10 and iso[4] == "-" and iso[7] == "-" and iso[:10].replace("-", "").isdigit():
        return int(iso[:10].replace("-", ""))
    return None


def _chunk(cid: str, text: str, m: dict) -> Chunk:
    """A chunk from a record of a store written before chunks.sqlite (text in Chroma)."""
    return Chunk(cid, m["source"], m.get("title", ""), int(m.get("article", 0)), text,
                 int(m["start"]), int(m["end"]), m.get("date"))


class Store:
    """One generation of a store. `path` is the store's root (what users name with --store);
    `data` is the generation folder that holds Chroma's files, the file table and BM25.

    Readers (no `generation` given) open the live generation and hold a lease on it until
    `close()`, so a later publish does not delete it under them. Writers pass the building
    `generation` they write (`create=True` makes its collection)."""

    def __init__(self, path: Path, embedder_name: str, *, create: bool = False,
                 generation: Path | None = None, chroma_url: str | None = None,
                 expect: int | None = None):
        self.path = Path(path)
        # Records a bulk writer expects to add: it sets when Chroma saves its HNSW index and
        # makes it save on close (rag/hnswsync.py). None for a writer that only keeps books on
        # a generation others may be reading (the live one): that leaves Chroma's files alone.
        self.expect = expect
        self.embedder_name = embedder_name
        self.partial = False          # reading a first ingest that has not finished
        self._lease = None
        if generation is None and create and live_generation(self.path) is None \
                and not generations(self.path):
            # A new, empty store published at once (for tools and tests; `rag ingest` builds
            # its generations unpublished and publishes them when complete).
            generation = new_generation(self.path)
            publish(self.path, generation)
        self.data = generation or self._resolve()
        try:
            self._open(create, chroma_url)
        except BaseException:
            self.close()
            raise
        # A list, so close_vectors can take the client out of what is released later.
        self._held = [self._client, self._lease, self.files, self.table]
        self._finalizer = weakref.finalize(self, _release, self._held)
        built_with = (self.chunks.metadata or {}).get("embedder")
        if built_with != embedder_name:
            raise StoreError(
                f"the index at {self.path} was built with embedder {built_with!r}, not "
                f"{embedder_name!r}. Use the same embedder (RAG_EMBED / --embedder), or re-index "
                f"with the new one: `rag ingest --rebuild --store {self.path}`.")

    def _resolve(self) -> Path:
        for _ in range(20):     # a publish between reading CURRENT and taking the lease: retry
            gen = live_generation(self.path)
            if gen is None:
                if not generations(self.path):
                    raise StoreError(f"no index at {self.path}. Build it with `rag ingest` "
                                     f"(or point --store / RAG_STORE at an existing index).")
                check_unmarked(self.path)
                gen, self.partial = unfinished_first(self.path), True
            try:
                self._lease = Lease(gen)
            except FileNotFoundError:
                continue
            if holds_index(gen):
                return gen
            self._lease.release()
        raise StoreError(f"the index at {self.path} kept changing while it was being opened; "
                         f"try again.")

    def _open(self, create: bool, chroma_url: str | None) -> None:
        self._client = self.files = self.table = None
        self.remote = bool(chroma_url)
        self._writer = False
        names = _where(self.data, chroma_url, self.path)
        self._legacy_files = names["files"]
        try:
            with _CLIENTS:
                self._client = _client(self.data, chroma_url)
            kw = dict(embedding_function=None)   # Chroma's default downloads a model
            if create:
                self.chunks = self._client.get_or_create_collection(
                    names["chunks"], metadata={"embedder": self.embedder_name},
                    configuration={"hnsw": {"space": "cosine"}}, **kw)
                # A server keeps its index in memory across clients: nothing to set there.
                if not self.remote and self.expect is not None:
                    self._sync_every = hnswsync.set_threshold(
                        self.chunks, hnswsync.threshold_for(self.expect))
            else:
                self.chunks = self._client.get_collection(names["chunks"], **kw)
            self.files = self._file_table(writable=create)
            self.table = self._chunk_table(writable=create)
            self._writer = create and not self.remote and self.expect is not None
            self._max_batch = _BATCH
            if create:
                self._max_batch = min(self._client.get_max_batch_size(), 8 * _BATCH)
        except (StoreError, ServerError):
            raise
        except Exception as e:  # chromadb and sqlite raise many types for a damaged folder
            raise StoreError(f"the index at {self.path} cannot be opened ({type(e).__name__}: "
                             f"{str(e)[:200]}). Nothing was changed. Re-index it with "
                             f"`rag ingest --rebuild --store {self.path} PATH`, or see "
                             f"`rag doctor --store {self.path}`.") from None

    def _file_table(self, writable: bool) -> FileTable:
        table = self.data / FILE_TABLE
        legacy = self._legacy_files
        if table.exists() or (writable and not _has_legacy(self._client, legacy)):
            return FileTable(table, writable=writable)
        rows = _legacy_rows(self._client, legacy)
        if not writable:
            return FileTable.in_memory(rows)
        files = FileTable(table, writable=True)      # migrate the copy a writer works on
        files.put_many(rows)
        self._client.delete_collection(legacy)
        return files

    def _chunk_table(self, writable: bool) -> ChunkTable | None:
        """The chunk table; None when reading a store from before it (texts in Chroma). A writer
        of such a store's copy moves the texts into a new table first."""
        path = self.data / CHUNK_TABLE
        if path.exists():
            return ChunkTable(path, writable=writable)
        if not writable:
            return None
        legacy = self._legacy_chunks() if self.chunks.count() else []
        table = ChunkTable(path, writable=True)
        table.put_many(legacy)
        return table

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release Chroma's client and the reader's lease (also done when garbage collected).
        A local writer first makes Chroma save its HNSW index (rag/hnswsync.py), so the next
        process to open the store has no log to replay."""
        try:
            self._save()
        finally:    # a second Ctrl-C during the save must not keep the client and the lease
            fin = getattr(self, "_finalizer", None)
            if fin is not None:
                fin()
            else:
                _release([getattr(self, "_client", None), self._lease,
                          getattr(self, "files", None), getattr(self, "table", None)])

    def _save(self) -> None:
        if getattr(self, "_writer", False):
            self._writer = False
            try:
                hnswsync.sync(self.chunks, self.data / "chroma", self._sync_every)
            except Exception as e:  # not fatal: the records are in Chroma's log, replayed
                log.warning("Chroma's HNSW index was not saved on close (%s: %s); the next "
                            "reader replays its log", type(e).__name__, str(e)[:200])

    def close_vectors(self) -> None:
        """Save and let go of a local store's Chroma side (the client and its in-memory HNSW
        index: about 260 MB at 1000x the corpus) while the chunk and file tables stay open.
        Ingest calls it before building BM25 from the chunk table, so the index and BM25's
        matrices are never in memory together. Nothing Chroma holds can be used after it."""
        if self.remote:
            return
        self._save()
        client, self._client, self._held[0] = self._client, None, None
        self.chunks = None
        _release([client])

    # --- writing -----------------------------------------------------------------------------
    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            terms: dict[str, str] | None = None) -> None:
        """Write chunks: vectors to Chroma, then texts to the chunk table (so the table never
        holds a chunk the collection lacks). Upsert, not add: ids are content hashes, so
        writing a chunk twice (a resumed ingest) is harmless."""
        # Sent in id order: each call then lands on its own slice of Chroma's index on (segment,
        # id) instead of on most of its pages, which each call (a transaction) rewrites and
        # journals (`python -m bench.write_patterns chroma`: 660 -> 301 MB at 188,000 records).
        order = sorted(range(len(chunks)), key=lambda n: chunks[n].id)
        vectors = np.asarray(vectors, dtype=np.float32)[order]
        by_id = [chunks[n] for n in order]
        for i, j in _parts(len(by_id), self._max_batch):
            part = by_id[i:j]
            self.chunks.upsert(ids=[c.id for c in part], embeddings=vectors[i:j],
                               metadatas=[metadata(c) for c in part])
        self.table.put_many(chunks, terms)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids and self.table is not None:
            self.table.delete(ids)          # rows before vectors: the table stays a subset
        for i, j in _parts(len(ids), self._max_batch):
            self.chunks.delete(ids=ids[i:j])

    def put_file(self, source: str, sha: str, kind: str, text: str | None = None,
                 **meta: str | int) -> None:
        """Commit a file's record (after its chunks). HTML keeps its extracted text: citation
        offsets index it, and it cannot be re-read from the file."""
        self.files.put_many([{**meta, "source": source, "sha256": sha, "kind": kind,
                              "text": text if kind == "html" else None}])

    def remove_file(self, source: str) -> int:
        ids = self.chunk_ids(source)
        self.delete(ids)
        self.files.delete([source])
        return len(ids)

    # --- reading -----------------------------------------------------------------------------
    def chunk_ids(self, source: str) -> set[str]:
        return set(self.chunks.get(where={"source": source}, include=[])["ids"])

    def file_record(self, source: str) -> dict | None:
        return self.files.get(source)

    def file_records(self) -> dict[str, dict]:
        return self.files.all()

    def sources(self) -> list[str]:
        return sorted(self.files.all())

    def document_text(self, source: str) -> str:
        """The text a file's citation offsets index: HTML's extracted text as kept, a text
        file's own contents (checked against the hash it was indexed with)."""
        rec = self.files.get(source)
        if rec is None:
            raise StoreError(f"{source!r} is not in the index at {self.path}")
        text = self.files.text(source)
        if text is not None:
            return text
        import hashlib
        try:
            raw = open(rec.get("path", ""), "rb").read()
        except OSError:
            raw = b""
        if hashlib.sha256(raw).hexdigest() != rec.get("sha256"):
            raise StoreError(f"{source!r} changed or moved since it was indexed; re-index it "
                             f"with `rag ingest`.")
        return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, sorted by (source, start). On a Chroma server, whose collection other
        clients may change, only chunks the collection still holds."""
        return list(self.iter_chunks())

    def iter_chunks(self) -> Iterator[Chunk]:
        """`all_chunks` one at a time, without holding them all (from the chunk table)."""
        return (c for c, _ in self.iter_with_terms())

    def iter_with_terms(self) -> Iterator[tuple[Chunk, str | None]]:
        """(chunk, its BM25 terms space-joined, or None when not stored) in `all_chunks`
        order."""
        if self.table is None:
            yield from ((c, None) for c in self._legacy_chunks())
            return
        held = set(self.chunks.get(include=[])["ids"]) if self.remote else None
        for c, terms in self.table.iter_with_terms():
            if held is None or c.id in held:
                yield c, terms

    def _legacy_chunks(self) -> list[Chunk]:
        out, offset = [], 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=_BATCH * 5, offset=offset)
            out += [_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
            if len(got["ids"]) < _BATCH * 5:
                return sorted(out, key=lambda c: (c.source, c.start, c.id))
            offset += len(got["ids"])

    def newest_date(self) -> str | None:
        """The newest chunk date (ISO) in the index, None if no chunk is dated."""
        if self.table is not None:
            return self.table.newest_date()
        return max((d for c in self._legacy_chunks() if (d := c.date)), default=None)

    def all_ids(self) -> list[str]:
        return sorted(self.chunks.get(include=[])["ids"])

    def count(self) -> int:
        return self.chunks.count()

    def stats(self, records: dict | None = None) -> dict:
        """`records`: the file table's rows when the caller has read them already."""
        recs = (self.files.all() if records is None else records).values()
        return {"documents": len(recs), "articles": sum(int(m.get("articles", 0)) for m in recs),
                "chunks": self.count(), "embedder": self.embedder_name, "store": str(self.path)}

    def dense(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """The k nearest chunks by cosine distance, scored exp(-distance) (the scale the
        answerers' thresholds were tuned on). No count() round trip: Chroma returns fewer
        results when it holds fewer than k (and none when it is empty)."""
        legacy = self.table is None
        try:
            res = self.chunks.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                    n_results=k, where=where or None,
                                    include=["distances"] + (["documents", "metadatas"]
                                                             if legacy else []))
        except Exception as e:
            raise StoreError(f"the index at {self.path} could not be searched ({e}). "
                             f"Re-index it: `rag ingest --rebuild --store {self.path}`.") from e
        ids, dists = res["ids"][0], res["distances"][0]
        if legacy:
            found = {i: _chunk(i, d, m) for i, d, m in zip(ids, res["documents"][0],
                                                             res["metadatas"][0])
                     if d is not None and m and "source" in m}
        else:
            found = self.table.get_many(ids)
        # A record deleted under a stale vector index, or a vector whose row a killed ingest
        # never wrote, has no chunk: skipped, never half a chunk.
        return [(found[i], math.exp(-float(d))) for i, d in zip(ids, dists) if i in found]


def _release(held: list) -> None:
    """Close what a Store holds: [client, lease, files, table] (any may be None)."""
    client, lease, files, table = (held + [None] * 4)[:4]
    held[:] = [None] * len(held)
    for closer in (getattr(files, "close", None), getattr(table, "close", None),
                   getattr(client, "close", None),
                   getattr(lease, "release", None)):
        if closer is not None:
            try:
                with _CLIENTS:
                    closer()
            except Exception as e:          # closing the rest matters more; say what failed
                log.warning("closing the store: %s failed: %s", getattr(closer, "__qualname__",
                                                                        closer), e)


def _has_legacy(client, name: str) -> bool:
    return name in {getattr(c, "name", c) for c in client.list_collections()}


def _legacy_rows(client, name: str) -> list[dict]:
    if not _has_legacy(client, name):
        return []
    got = client.get_collection(name, embedding_function=None).get(
        include=["metadatas", "documents"])
    return [{**m, "source": i, "text": d if m.get("kind") == "html" else None}
            for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])]

"""The persistent store: Chroma (telemetry off) for chunks and vectors, BM25 beside it.

Layout of a store directory:
    CURRENT     names the live generation folder (replaced atomically)
    g-<id>/chroma/   Chroma's own files (sqlite + HNSW segments); crash-safe by Chroma's design
    g-<id>/bm25/     the lexical index, rebuilt from Chroma whenever its fingerprint is stale
    .lock       held by writers, so two ingests never interleave

A rebuild writes a new generation and switches CURRENT only when it is complete, so a failed
rebuild leaves the old index answering. Generation folders are never renamed or reused: Chroma
keeps one client per path in a process, and a client whose files moved underneath it breaks.

Chroma holds two collections: `chunks` (one record per chunk, with its vector) and `files` (one
record per ingested file, written only after all its chunks are in: the commit marker that makes
an interrupted ingest resumable).
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .types import Chunk

CHUNKS, FILES = "chunks", "files"
_BATCH = 1000   # well under Chroma's max batch size, and a unit of progress for the bar


class StoreError(ValueError):
    """A problem with the store that the user can fix; the message says how."""


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


def live_generation(root: Path) -> Path | None:
    """The live generation folder of the store at `root`, if there is one."""
    try:
        name = (Path(root) / "CURRENT").read_text().strip()
    except OSError:
        return None
    folder = Path(root) / name
    from .remote import MARKER
    ok = (folder / "chroma").is_dir() or (folder / MARKER).exists()
    return folder if name.startswith("g-") and ok else None


def new_generation(root: Path) -> Path:
    folder = Path(root) / f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def publish(root: Path, generation: Path) -> None:
    """Make `generation` the live one (atomic rename of CURRENT). The generation it replaces is
    kept until the next publish, so engines still reading it finish their queries and then
    notice the switch (see `version`); older ones are deleted."""
    root = Path(root)
    previous = live_generation(root)
    tmp = root / "CURRENT.tmp"
    tmp.write_text(generation.name)
    os.replace(tmp, root / "CURRENT")
    for old in root.glob("g-*"):
        if old not in (generation, previous):
            shutil.rmtree(old, ignore_errors=True)
    touch_version(root)


def touch_version(root: Path) -> None:
    """Record that the store changed; open engines compare this to reload."""
    tmp = Path(root) / "VERSION.tmp"
    tmp.write_text(uuid.uuid4().hex)
    os.replace(tmp, Path(root) / "VERSION")


def version(root: Path) -> str:
    try:
        return (Path(root) / "VERSION").read_text()
    except OSError:
        return ""


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


def _meta(c: Chunk, file_sha: str) -> dict:
    m = {"source": c.source, "title": c.title, "article": c.article, "start": c.start,
         "end": c.end, "file_sha": file_sha}
    if c.date:
        m["date"] = c.date
    return m


def _chunk(cid: str, text: str, m: dict) -> Chunk:
    return Chunk(cid, m["source"], m.get("title", ""), int(m.get("article", 0)), text,
                 int(m["start"]), int(m["end"]), m.get("date"))


class Store:
    """One generation of a store. `path` is the store's root (what users name with --store);
    `data` is the generation folder that holds Chroma's files and the BM25 index."""

    def __init__(self, path: Path, embedder_name: str, *, create: bool = False,
                 generation: Path | None = None, chroma_url: str | None = None):
        self.path = Path(path)
        self.embedder_name = embedder_name
        data = generation or live_generation(self.path)
        if data is None:
            if not create:
                raise StoreError(f"no index at {self.path}. Build it with `rag ingest` "
                                 f"(or point --store / RAG_STORE at an existing index).")
            data = new_generation(self.path)
            publish(self.path, data)
        self.data = data
        names = _where(self.data, chroma_url, self.path)
        self._client = _client(self.data, chroma_url)
        # embedding_function=None: Chroma's default one downloads a model; we always pass vectors.
        kw = dict(embedding_function=None)
        if create:
            self.chunks = self._client.get_or_create_collection(
                names["chunks"], metadata={"embedder": embedder_name},
                configuration={"hnsw": {"space": "cosine"}}, **kw)
            self.files = self._client.get_or_create_collection(names["files"], **kw)
        else:
            try:
                self.chunks = self._client.get_collection(names["chunks"], **kw)
                self.files = self._client.get_collection(names["files"], **kw)
            except Exception as e:  # chromadb raises NotFoundError/ValueError by version
                raise StoreError(f"{self.path} is not an index built by `rag ingest` ({e}). "
                                 f"Build it with `rag ingest --store {self.path}`.") from None
        built_with = (self.chunks.metadata or {}).get("embedder")
        if built_with != embedder_name:
            raise StoreError(
                f"the index at {self.path} was built with embedder {built_with!r}, not "
                f"{embedder_name!r}. Use the same embedder (RAG_EMBED / --embedder), or re-index "
                f"with the new one: `rag ingest --rebuild --store {self.path}`.")

    # --- writing -----------------------------------------------------------------------------
    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray, file_sha: str) -> None:
        """Write chunks with their vectors straight to Chroma, in batches. Upsert, not add: ids
        are content hashes, so writing a chunk twice (a resumed ingest) is harmless."""
        vectors = np.asarray(vectors, dtype=np.float32)
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i:i + _BATCH]
            self.chunks.upsert(ids=[c.id for c in part], embeddings=vectors[i:i + _BATCH],
                               documents=[c.text for c in part],
                               metadatas=[_meta(c, file_sha) for c in part])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            self.chunks.delete(ids=ids[i:i + _BATCH])

    def put_file(self, source: str, sha: str, kind: str, text: str, **meta: str | int) -> None:
        # The file's text is kept so citations into HTML (whose offsets index the extracted
        # text) can be resolved and highlighted later. The 1-d vector is a placeholder:
        # Chroma wants one per record, and nothing searches this collection by vector.
        self.files.upsert(ids=[source], documents=[text],
                          metadatas=[{**meta, "sha256": sha, "kind": kind}],
                          embeddings=[[0.0]])

    def remove_file(self, source: str) -> int:
        ids = self.chunk_ids(source)
        self.delete(ids)
        self.files.delete(ids=[source])
        return len(ids)

    # --- reading -----------------------------------------------------------------------------
    def chunk_ids(self, source: str) -> set[str]:
        return set(self.chunks.get(where={"source": source}, include=[])["ids"])

    def file_record(self, source: str) -> dict | None:
        got = self.files.get(ids=[source], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def sources(self) -> list[str]:
        return sorted(self.files.get(include=[])["ids"])

    def document_text(self, source: str) -> str:
        got = self.files.get(ids=[source], include=["documents"])
        if not got["ids"]:
            raise StoreError(f"{source!r} is not in the index at {self.path}")
        return got["documents"][0]

    def all_chunks(self) -> list[Chunk]:
        out, offset = [], 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=_BATCH * 5, offset=offset)
            out += [_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
            if len(got["ids"]) < _BATCH * 5:
                return sorted(out, key=lambda c: (c.source, c.start, c.id))
            offset += len(got["ids"])

    def all_ids(self) -> list[str]:
        return sorted(self.chunks.get(include=[])["ids"])

    def count(self) -> int:
        return self.chunks.count()

    def stats(self) -> dict:
        recs = self.files.get(include=["metadatas"])["metadatas"]
        return {"documents": len(recs), "articles": sum(int(m.get("articles", 0)) for m in recs),
                "chunks": self.count(), "embedder": self.embedder_name, "store": str(self.path)}

    def dense(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """The k nearest chunks by cosine distance, scored exp(-distance) (the scale the
        answerers' thresholds were tuned on). No count() round trip: Chroma returns fewer
        results when it holds fewer than k (and none when it is empty)."""
        try:
            res = self.chunks.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                    n_results=k, where=where or None,
                                    include=["documents", "metadatas", "distances"])
        except Exception as e:
            raise StoreError(f"the index at {self.path} could not be searched ({e}). "
                             f"Re-index it: `rag ingest --rebuild --store {self.path}`.") from e
        out = []
        for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                        res["distances"][0]):
            if doc is None or not meta or "source" not in meta:
                continue     # a record deleted under a stale vector index: never half a chunk
            out.append((_chunk(cid, doc, meta), math.exp(-float(dist))))
        return out

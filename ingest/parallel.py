"""Reading, article parsing and chunking of many files in worker processes.

These steps are pure functions of a file's bytes and most of an ingest's CPU (Punkt, topic
segmentation, token counting, and the chunks' BM25 terms, stored with them so the index is built
at the end without stemming the corpus again), while the main process embeds and writes. A large ingest hands
them to a pool of processes, a few dozen files per task with a bounded number of tasks in flight
(memory stays flat however large the corpus), and takes the results back in file order, so the
store and the report are the same as a serial run's. Small ingests stay in-process: starting
workers costs about a second each.
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from rag.bm25 import document, tokens

from .chunk import chunk_document
from .read import IngestError, read_source
from .split import parse_articles

MIN_FILES = 200        # below this, workers cost more than they save
TASK_FILES = 32        # files per task: amortises pickling, keeps results flowing


@dataclass(frozen=True)
class Prepared:
    """One file's result. `error` is set when the file is skipped; `source` and `sha256` are
    set whenever the file could be read (the caller checks name conflicts first)."""
    source: str | None = None
    sha256: str | None = None
    kind: str | None = None
    text: str | None = None          # HTML only: the extracted text its offsets index
    chunks: tuple = ()
    terms: tuple = ()                # each chunk's BM25 terms, space-joined (rag.bm25.tokens)
    articles: int = 0
    error: str | None = None


def prepare(path: Path, max_bytes: int, chunk_tokens: int, overlap: int,
            max_seconds: float | None) -> Prepared:
    try:
        doc = read_source(path, max_bytes=max_bytes)
    except IngestError as e:
        return Prepared(error=str(e))
    base = dict(source=doc.source, sha256=doc.sha256, kind=doc.kind,
                text=doc.text if doc.kind == "html" else None)
    try:
        parsed = parse_articles(doc)
        chunks = chunk_document(doc, parsed, chunk_tokens, overlap, max_seconds=max_seconds)
        if not chunks:
            raise IngestError(f"no article text found in {doc.source} after cleaning")
    except IngestError as e:
        return Prepared(**base, error=str(e))
    terms = tuple(" ".join(tokens(document(c))) for c in chunks)
    return Prepared(**base, chunks=tuple(chunks), terms=terms, articles=len(parsed))


def _task(paths: list[str], *args) -> list[Prepared]:
    return [prepare(Path(p), *args) for p in paths]


def workers() -> int:
    """Worker processes: the CPUs this process may use, at most 4 (the main process embeds)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 4)


def prepared(paths: Sequence[Path], max_bytes: int, chunk_tokens: int, overlap: int,
             max_seconds: float | None) -> Iterator[tuple[Path, Prepared]]:
    """(path, Prepared) for each path, in order."""
    args = (max_bytes, chunk_tokens, overlap, max_seconds)
    n = workers()
    if len(paths) < MIN_FILES or n < 2:
        for p in paths:
            yield p, prepare(p, *args)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # spawn, not fork: the main process may hold Chroma's threads and open databases.
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
        groups = [list(paths[i:i + TASK_FILES]) for i in range(0, len(paths), TASK_FILES)]
        pending: deque = deque()
        it = iter(groups)
        for group in it:
            pending.append((group, pool.submit(_task, [str(p) for p in group], *args)))
            if len(pending) >= 2 * n:
                break
        while pending:
            group, future = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_task, [str(p) for p in nxt], *args)))
            yield from zip(group, future.result())

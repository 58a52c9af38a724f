"""The lexical index: bm25s (Lucene BM25, k1=1.5, b=0.75), persisted beside the Chroma store.

Documents are tokenized by the text kit (`rag.text.terms`: the same words, stopwords and stems
the answerer and the citation checker use), with the article title indexed before the text:
news questions often name the story's subject. `search(query, k)` keeps no state between calls,
so one index serves concurrent sessions without a lock.

Chroma is the source of truth. The BM25 files carry a fingerprint of the chunk ids they were
built from; when it differs from Chroma's (an ingest was killed between the two writes, or a
store was copied without its bm25/ folder), or the folder was written by an older version (the
llama-index BM25Retriever layout), the index is rebuilt from Chroma. So the two never disagree
for longer than one open (and open engines reopen when an ingest changes the store).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import text as T
from .types import Chunk

_STATE = "state.json"
_CHUNKS = "chunks.jsonl"
FORMAT = 2          # 1: llama-index's BM25Retriever folder (node JSON corpus); rebuilt on open


def fingerprint(ids: Sequence[str]) -> str:
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode())
    return f"{len(ids)}:{h.hexdigest()[:24]}"


def tokens(text: str) -> list[str]:
    """What BM25 indexes and queries with: the text kit's stemmed content terms."""
    return T.terms(text)


def document(c: Chunk) -> str:
    return f"{c.title}\n{c.text}"


class BM25Index:
    def __init__(self, model, chunks: list[Chunk], df: dict[str, int], fp: str):
        self._model = model
        self._chunks = chunks
        self.df = df                      # term -> number of chunks holding it
        self.n = len(chunks)
        self.fingerprint = fp

    def idf(self, term: str) -> float:
        """BM25's IDF of a stemmed term (Lucene's form, never negative): the extractive
        answerer weights question terms with it."""
        d = self.df.get(term, 0)
        return math.log(1 + (self.n - d + 0.5) / (d + 0.5))

    @classmethod
    def build(cls, chunks: Sequence[Chunk]) -> "BM25Index | None":
        if not chunks:
            return None
        import bm25s
        corpus = [tokens(document(c)) for c in chunks]
        df: dict[str, int] = {}
        for doc in corpus:
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        model = bm25s.BM25()
        # An empty document would give bm25s an empty vocabulary row; index one placeholder.
        model.index([doc or [""] for doc in corpus], show_progress=False)
        return cls(model, list(chunks), df, fingerprint([c.id for c in chunks]))

    def search(self, query: str, k: int, where: Mapping | None = None) -> list[tuple[Chunk, float]]:
        """The `k` best chunks for `query` with their BM25 scores (only those sharing a term),
        among the chunks whose metadata match `where` (Chroma's filter syntax, rag/where.py)."""
        q = [t for t in tokens(query) if t in self.df]
        if not q or self.n == 0:
            return []
        mask = None
        if where:
            from .where import matches, metadata
            mask = np.array([matches(where, metadata(c)) for c in self._chunks], dtype=np.float32)
            if not mask.any():
                return []
        ids, scores = self._model.retrieve([q], k=min(k, self.n), show_progress=False,
                                           n_threads=1, weight_mask=mask)
        return [(self._chunks[int(i)], float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]

    def save(self, folder: Path) -> None:
        # Write to a sibling temp folder and swap it in, so a kill never leaves half an index.
        folder = Path(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            self._model.save(str(tmp), show_progress=False)
            with open(tmp / _CHUNKS, "w", encoding="utf-8") as f:
                for c in self._chunks:
                    f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
            (tmp / _STATE).write_text(json.dumps({"format": FORMAT, "fingerprint": self.fingerprint,
                                                  "df": self.df}))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index | None":
        folder = Path(folder)
        try:
            state = json.loads((folder / _STATE).read_text())
            if state.get("format") != FORMAT:
                return None        # an older layout: the caller rebuilds from Chroma
            import bm25s
            model = bm25s.BM25.load(str(folder), show_progress=False)
            with open(folder / _CHUNKS, encoding="utf-8") as f:
                chunks = [Chunk(**json.loads(line)) for line in f]
            return cls(model, chunks, state["df"], state["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError):
            return None   # missing or damaged: the caller rebuilds from Chroma


def ensure_bm25(store, force: bool = False) -> BM25Index | None:
    """Load the BM25 index beside `store`, rebuilding it from Chroma if missing or stale."""
    folder = store.data / "bm25"
    current = None if force else BM25Index.load(folder)
    if current is not None and current.fingerprint == fingerprint(store.all_ids()):
        return current
    index = BM25Index.build(store.all_chunks())
    if index is not None:
        try:
            index.save(folder)
        except OSError:
            pass   # a read-only store still answers; the index is rebuilt in memory next time
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return index

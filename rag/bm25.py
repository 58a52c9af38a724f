"""The lexical index: bm25s (Lucene BM25, k1=1.5, b=0.75), persisted beside the Chroma store.

Documents are tokenized by the text kit (`rag.text.terms`: the same words, stopwords and stems
the answerer and the citation checker use), with the article title indexed before the text:
news questions often name the story's subject. `search(query, k)` keeps no state between calls,
so one index serves concurrent sessions without a lock.

The index keeps chunk ids and, for `where` filters, each chunk's filterable fields as small
integer codes; the texts of the k chunks a search returns come from the store's chunk table
(rag/chunktable.py), so an open index does not hold the corpus in memory.

The BM25 files record how many chunks they were built from (and, for a Chroma server that other
clients may change, a fingerprint of the collection's ids); when that differs from the store
(a store copied without its bm25/ folder, a first ingest still running, a change made on the
server), or the folder was written by an older version, the index is rebuilt from the chunk
table. So the two never disagree for longer than one open (and open engines reopen when an
ingest changes the store).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from . import text as T
from .types import Chunk

_STATE = "state.json"
_IDS, _CODES = "ids.npy", "codes.npz"
# 1: llama-index's BM25Retriever folder; 2: chunks.jsonl beside the model. Both rebuilt on open.
FORMAT = 3
# The fields `where` filters use, as Chroma keeps them (rag.where.metadata); indexes of format 3
# written before this also kept title/article/start/end codes, which loading drops.
FIELDS = ("source", "date", "day")


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


Lookup = Callable[[Sequence[str]], Mapping[str, Chunk]]


class BM25Index:
    def __init__(self, model, ids: np.ndarray, codes: dict[str, np.ndarray],
                 values: dict[str, list], df: dict[str, int], fp: str, lookup: Lookup):
        self._model = model
        self._ids = ids                   # chunk ids in index order (bytes, S32)
        self._codes, self._values = codes, values   # field -> per-chunk code, code -> value
        self._lookup = lookup             # ids -> chunks (the chunk table)
        self.df = df                      # term -> number of chunks holding it
        self.n = len(ids)
        self.fingerprint = fp

    def idf(self, term: str) -> float:
        """BM25's IDF of a stemmed term (Lucene's form, never negative): the extractive
        answerer weights question terms with it."""
        d = self.df.get(term, 0)
        return math.log(1 + (self.n - d + 0.5) / (d + 0.5))

    @classmethod
    def build(cls, chunks: Iterable[Chunk | tuple[Chunk, str | None]], lookup: Lookup | None = None,
              fp: str | None = None) -> "BM25Index | None":
        """An index of `chunks` (read once, so a generator keeps memory to the tokens), each a
        Chunk or a (Chunk, its `tokens` space-joined) pair as the chunk table stores them.
        Without `lookup` the chunks are kept in memory to answer with."""
        import bm25s
        from array import array
        kept: dict[str, Chunk] = {}
        corpus, ids, df, vocab = [], [], {}, {}
        fields = _Fields()
        for c in chunks:
            c, known = c if isinstance(c, tuple) else (c, None)
            doc = known.split() if known is not None else tokens(document(c))
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
            # Term ids in 4-byte arrays: at 1000x the corpus, lists of strings held a gigabyte.
            # An empty document would give bm25s an empty vocabulary row: index a placeholder.
            corpus.append(array("i", [vocab.setdefault(t, len(vocab)) for t in doc or [""]]))
            ids.append(c.id)
            fields.add(c)
            if lookup is None:
                kept[c.id] = c
        if not ids:
            return None
        model = bm25s.BM25()
        model.index(bm25s.tokenization.Tokenized(ids=corpus, vocab=vocab), show_progress=False)
        del corpus
        codes, values = fields.arrays()
        return cls(model, np.array(ids, dtype="S32"), codes, values, df,
                   fp or fingerprint(ids),
                   lookup or (lambda want, _k=kept: {i: _k[i] for i in want if i in _k}))

    def search(self, query: str, k: int, where: Mapping | None = None) -> list[tuple[Chunk, float]]:
        """The `k` best chunks for `query` with their BM25 scores (only those sharing a term),
        among the chunks whose metadata match `where` (Chroma's filter syntax, rag/where.py)."""
        q = [t for t in tokens(query) if t in self.df]
        if not q or self.n == 0:
            return []
        mask = None
        if where:
            mask = self.mask(where).astype(np.float32)
            if not mask.any():
                return []
        rows, scores = self._model.retrieve([q], k=min(k, self.n), show_progress=False,
                                            n_threads=1, weight_mask=mask)
        hits = [(self._ids[int(i)].decode(), float(s)) for i, s in zip(rows[0], scores[0]) if s > 0]
        found = self._lookup([i for i, _ in hits])
        return [(found[i], s) for i, s in hits if i in found]

    def mask(self, where: Mapping) -> np.ndarray:
        """Which chunks match `where`, evaluated once per distinct value of a field rather than
        once per chunk (rag.where.matches decides each value, so the semantics are Chroma's)."""
        from .where import matches
        out = np.ones(self.n, dtype=bool)
        for key, cond in where.items():
            if key in ("$and", "$or"):
                parts = [self.mask(w) for w in cond]
                if key == "$and":
                    part = np.logical_and.reduce(parts) if parts else np.ones(self.n, bool)
                else:
                    part = np.logical_or.reduce(parts) if parts else np.zeros(self.n, bool)
            else:
                if key not in FIELDS:   # Chroma would filter on it: the two lists would differ
                    raise ValueError(f"the BM25 index cannot filter on {key!r}; filter on one "
                                     f"of {', '.join(FIELDS)}")
                ok = np.array([matches({key: cond}, {} if v is None else {key: v})
                               for v in self._values[key]], dtype=bool)
                part = ok[self._codes[key]]
            out &= part
        return out

    def save(self, folder: Path) -> None:
        # Write to a sibling temp folder and swap it in, so a kill never leaves half an index.
        folder = Path(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            self._model.save(str(tmp), show_progress=False)
            np.save(tmp / _IDS, self._ids)
            np.savez(tmp / _CODES, **self._codes)
            (tmp / _STATE).write_text(json.dumps({"format": FORMAT, "fingerprint": self.fingerprint,
                                                  "df": self.df, "values": self._values}))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, lookup: Lookup | None = None) -> "BM25Index | None":
        """The index saved in `folder`; chunks come from `lookup`, by default the chunk table
        beside the folder. None when missing, damaged or of an older layout."""
        folder = Path(folder)
        try:
            state = json.loads((folder / _STATE).read_text())
            if state.get("format") != FORMAT:
                return None        # an older layout: the caller rebuilds it
            if lookup is None:
                from .chunktable import ChunkTable
                lookup = ChunkTable(folder.parent / "chunks.sqlite", writable=False).get_many
            import bm25s
            # Memory-mapped: an engine's memory holds the postings its queries touch, not the
            # whole index (at 1000x the corpus, about a hundred megabytes).
            model = bm25s.BM25.load(str(folder), show_progress=False, mmap=True)
            ids = np.load(folder / _IDS, mmap_mode="r")
            with np.load(folder / _CODES) as z:
                codes = {k: z[k] for k in FIELDS}
            values = {k: state["values"][k] for k in FIELDS}
            return cls(model, ids, codes, values, state["df"], state["fingerprint"], lookup)
        except (OSError, ValueError, KeyError, TypeError, sqlite3.Error):
            return None   # missing or damaged: the caller rebuilds it


class _Fields:
    """Per-chunk codes of the filterable fields, and each field's distinct values."""

    def __init__(self):
        self.index: dict[str, dict] = {f: {} for f in FIELDS}
        self.codes: dict[str, list[int]] = {f: [] for f in FIELDS}

    def add(self, c: Chunk) -> None:
        from .where import metadata
        meta = metadata(c)
        for f in FIELDS:
            v = meta.get(f)
            seen = self.index[f]
            self.codes[f].append(seen.setdefault(v, len(seen)))

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, list]]:
        return ({f: np.array(c, dtype=np.int32) for f, c in self.codes.items()},
                {f: list(self.index[f]) for f in FIELDS})


def ensure_bm25(store, force: bool = False) -> BM25Index | None:
    """Load the BM25 index beside `store`, rebuilding it from the chunk table if missing or
    stale. A local generation is checked by its chunk count (a published one never changes);
    on a Chroma server, which other clients write to, by the fingerprint of the collection's ids."""
    folder = store.data / "bm25"
    table = store.table
    lookup = table.get_many if table is not None else None
    current = None if (force or table is None) else BM25Index.load(folder, lookup)
    if store.remote or table is None:
        want = fingerprint(store.all_ids())
        if current is not None and current.fingerprint == want:
            return current
    else:
        n = table.count()
        if current is not None and current.n == n:
            return current
        want = None
    index = BM25Index.build(store.iter_with_terms(), lookup, fp=want)
    if index is not None and table is not None:
        try:
            index.save(folder)
        except OSError:
            pass   # a read-only store still answers; the index is rebuilt in memory next time
    elif index is None:
        shutil.rmtree(folder, ignore_errors=True)
    return index

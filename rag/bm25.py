"""The lexical index: llama-index's BM25Retriever (bm25s), persisted beside the Chroma store.

Chroma is the source of truth. The BM25 files carry a fingerprint of the chunk ids they were
built from; when it differs from Chroma's (an ingest was killed between the two writes, or a
store was copied without its bm25/ folder), the index is rebuilt from Chroma. So the two can
never disagree for longer than one open (and open engines reopen when an ingest changes the
store: see `Engine.refresh`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Sequence

from .types import Chunk

_STATE = "state.json"


def fingerprint(ids: Sequence[str]) -> str:
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode())
    return f"{len(ids)}:{h.hexdigest()[:24]}"


def _node(c: Chunk):
    from llama_index.core.schema import TextNode
    meta = {"title": c.title, "source": c.source, "article": c.article, "start": c.start,
            "end": c.end, "date": c.date or ""}
    # The title is indexed with the text: news questions often name the story's subject,
    # and AnythingLLM-style title prefixes measurably help lexical recall.
    return TextNode(id_=c.id, text=c.text, metadata=meta,
                    excluded_embed_metadata_keys=["source", "article", "start", "end", "date"],
                    metadata_template="{value}", text_template="{metadata_str}\n{content}")


def _to_chunk(node) -> Chunk:
    m = node.metadata
    return Chunk(node.node_id, m["source"], m["title"], int(m["article"]), node.get_content(),
                 int(m["start"]), int(m["end"]), m.get("date") or None)


class BM25Index:
    def __init__(self, retriever, fp: str):
        self._retriever = retriever
        self.fingerprint = fp
        self._lock = threading.Lock()

    def idf(self, term: str) -> float:
        """BM25's IDF of a stemmed term (Lucene's form, never negative) from this index's
        document frequencies: the extractive answerer weights question terms with it."""
        df = self._df.get(term, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    @functools.cached_property
    def _df(self) -> dict[str, int]:
        import numpy as np
        bm25 = self._retriever.bm25
        counts = np.diff(np.asarray(bm25.scores["indptr"]))
        # bm25s adds a placeholder token past the last column; it occurs in no document.
        return {t: int(counts[i]) for t, i in bm25.vocab_dict.items() if i < len(counts)}

    @property
    def _n(self) -> int:
        return int(self._retriever.bm25.scores["num_docs"])

    @classmethod
    def build(cls, chunks: Sequence[Chunk]) -> "BM25Index | None":
        if not chunks:
            return None
        import Stemmer
        from llama_index.retrievers.bm25 import BM25Retriever
        r = BM25Retriever.from_defaults(nodes=[_node(c) for c in chunks],
                                        stemmer=Stemmer.Stemmer("english"), language="english")
        return cls(r, fingerprint([c.id for c in chunks]))

    def save(self, folder: Path) -> None:
        # Write to a sibling temp folder and swap it in, so a kill never leaves half an index.
        folder = Path(folder)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            self._retriever.persist(str(tmp), show_progress=False)
            (tmp / _STATE).write_text(json.dumps({"fingerprint": self.fingerprint}))
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
            fp = json.loads((folder / _STATE).read_text())["fingerprint"]
            from llama_index.retrievers.bm25 import BM25Retriever
            return cls(BM25Retriever.from_persist_dir(str(folder), show_progress=False), fp)
        except (OSError, ValueError, KeyError):
            return None   # missing or damaged: the caller rebuilds from Chroma

    def search(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        from llama_index.core.schema import QueryBundle
        n = int(self._retriever.bm25.scores.get("num_docs", 0))
        if n == 0 or not query.strip():
            return []
        # BM25Retriever keeps top-k as state; one engine serves many sessions, so the
        # set-and-retrieve pair is serialised (a query takes well under a millisecond).
        with self._lock:
            self._retriever.similarity_top_k = min(k, n)
            hits = self._retriever.retrieve(QueryBundle(query))
        return [(_to_chunk(h.node), float(h.score)) for h in hits if h.score > 0]


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
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    return index

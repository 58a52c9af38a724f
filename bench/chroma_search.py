"""Does chromadb's own hybrid search (sparse BM25 index + `Search` API with RRF) work against a
local `chroma run` server? If it did, it could replace our bm25s index in server mode.

usage: .venv/bin/python -m bench.chroma_search
Prints, for each step, "ok" with its latency or the server's error. With chromadb 1.5.9 every
step fails (sparse indexing and Search are Chroma Cloud features; see README "Chroma server").
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"


def main() -> int:
    import chromadb
    from chromadb import K, Knn, Rrf, Schema, Search, SparseVectorIndexConfig
    from chromadb.utils.embedding_functions import ChromaBm25EmbeddingFunction

    from bench.chroma_server import chroma_server
    from rag.embed import WordLlamaEmbedder
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "articles").iterdir())]
    docs = [t[i:i + 1000] for t in texts for i in range(0, len(t), 1000)]
    embedder = WordLlamaEmbedder()
    qv = embedder.embed([QUESTION])[0].tolist()
    with tempfile.TemporaryDirectory() as tmp, chroma_server(Path(tmp) / "data") as url:
        host, port = url.split("//")[1].split(":")
        client = chromadb.HttpClient(host=host, port=int(port))
        schema = Schema()
        schema.create_index(config=SparseVectorIndexConfig(
            source_key=K.DOCUMENT, embedding_function=ChromaBm25EmbeddingFunction(), bm25=True),
            key="bm25")
        try:
            col = client.create_collection("probe", schema=schema, embedding_function=None)
            print("collection with a sparse BM25 index: ok")
        except Exception as e:
            print(f"collection with a sparse BM25 index: FAILED: {type(e).__name__}: {e}")
            col = client.create_collection("probe-dense", embedding_function=None)
        col.add(ids=[str(i) for i in range(len(docs))], documents=docs,
                embeddings=embedder.embed(docs))
        for name, rank in [("Search, dense Knn", Knn(query=qv)),
                           ("Search, sparse BM25 Knn", Knn(query=QUESTION, key="bm25")),
                           ("Search, Rrf(dense, BM25)", Rrf([Knn(query=qv, return_rank=True),
                                                             Knn(query=QUESTION, key="bm25",
                                                                 return_rank=True)]))]:
            t = time.perf_counter()
            try:
                col.search(Search().rank(rank).limit(5).select(K.DOCUMENT, K.SCORE))
                print(f"{name}: ok, {(time.perf_counter() - t) * 1000:.1f} ms")
            except Exception as e:
                print(f"{name}: FAILED: {type(e).__name__}: {str(e)[:300]}")
    return 0


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

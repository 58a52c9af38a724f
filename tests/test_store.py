"""The store and retrieval against real Chroma and BM25 files on disk."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag.bm25 import BM25Index, ensure_bm25, fingerprint
from rag.retrieve import rrf
from rag.store import Store, StoreError
from rag.types import Chunk


def _chunk(i: int, text: str = "x") -> Chunk:
    return Chunk.make("f.txt", "T", 0, f"{text} {i}", i * 10, i * 10 + 5)


def test_missing_store_says_how_to_build_it(tmp_path):
    with pytest.raises(StoreError, match="rag ingest"):
        Store(tmp_path / "nowhere", "wordllama-l2_supercat-256")


def test_store_refuses_another_embedder_and_says_how_to_reindex(corpus_settings, embedder):
    with pytest.raises(StoreError) as e:
        Store(corpus_settings.store, "openai-text-embedding-3-small")
    msg = str(e.value)
    assert embedder.name in msg and "--rebuild" in msg


def test_stats_count_the_default_corpus(corpus_settings, embedder):
    s = Store(corpus_settings.store, embedder.name).stats()
    assert s["documents"] == 5
    assert s["articles"] >= 5 + 9   # 003 alone holds ten articles
    assert s["chunks"] > 100
    assert s["embedder"] == embedder.name


def test_bm25_is_rebuilt_when_missing_or_stale(corpus_settings, embedder, tmp_path):
    store_copy = tmp_path / "copy"
    shutil.copytree(corpus_settings.store, store_copy)
    store = Store(store_copy, embedder.name, create=True)    # writable: it deletes below
    shutil.rmtree(store.data / "bm25")
    index = ensure_bm25(store)
    assert index.fingerprint == fingerprint(store.all_ids())
    assert (store.data / "bm25").is_dir()
    # A chunk removed behind BM25's back (as after a killed ingest) makes it stale.
    victim = store.all_ids()[0]
    store.delete([victim])
    rebuilt = ensure_bm25(store)
    assert rebuilt.fingerprint != index.fingerprint
    hits = rebuilt.search("Taliban Pakistan Haqqani", 500)
    assert victim not in {c.id for c, _ in hits}


def test_rrf_matches_hand_computed_scores():
    a, b, c = _chunk(1), _chunk(2), _chunk(3)
    fused = rrf([[(a, 9.0), (b, 5.0)], [(b, 0.9), (c, 0.8)]], k=3, c=60)
    scores = {ch.id: s for ch, s in fused}
    assert [ch.id for ch, _ in fused] == [b.id, a.id, c.id]
    assert scores[b.id] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[a.id] == pytest.approx(1 / 61)
    assert scores[c.id] == pytest.approx(1 / 62)


def test_dense_search_agrees_with_brute_force(corpus_settings, embedder):
    store = Store(corpus_settings.store, embedder.name)
    chunks = store.all_chunks()
    vecs = embedder.embed([f"{c.title}\n{c.text}" for c in chunks])
    for question in ["Who signed the Mir Ali agreement?", "Saudi embassy reopened in Kabul",
                     "boat capsized near Rhodes with Afghan migrants"]:
        q = embedder.embed([question])[0]
        oracle = [chunks[i].id for i in np.argsort(-(vecs @ q))[:5]]
        got = [c.id for c, _ in store.dense(q, 5)]
        assert len(set(got) & set(oracle)) >= 4, (question, got, oracle)
        assert got[0] == oracle[0]


def test_bm25_ranks_the_chunk_with_rare_terms_first(corpus_settings, embedder):
    index = BM25Index.load(Store(corpus_settings.store, embedder.name).data / "bm25")
    top, _ = index.search("Arezo TV employees released", 3)[0]
    assert "Arezo" in top.text


def test_new_records_hold_no_text_and_only_filter_fields(corpus_settings, embedder):
    """Chroma holds each chunk's vector and the fields filters use, not its text: given the
    documents it keeps three copies of each (and a trigram index), most of an ingest's writes.
    The text, title and offsets are in the chunk table, exactly as chunked."""
    store = Store(corpus_settings.store, embedder.name)
    got = store.chunks.get(limit=50, include=["metadatas", "documents"])
    assert got["ids"] and all(d is None for d in got["documents"])
    for m in got["metadatas"]:
        assert "source" in m and set(m) <= {"source", "date", "day"}
    rows = store.table.get_many(got["ids"])
    assert rows.keys() == set(got["ids"])
    for c in rows.values():
        assert c.text == store.document_text(c.source)[c.start:c.end]
        assert c.id == Chunk.make(c.source, c.title, c.article, c.text, c.start, c.end, c.date).id


def test_a_store_written_by_the_llama_index_layer_still_reads(tmp_path, embedder):
    """Stores built before the direct Chroma layer carry llama-index's node fields in each chunk
    and keep file records (with full texts) in a Chroma collection `files`. They read as before,
    and the next ingest migrates the copy it writes to the file table."""
    import json

    import chromadb

    from ingest.pipeline import ingest_paths
    from rag.settings import Settings
    from tests.conftest import CORPUS
    root = tmp_path / "old"
    gen = root / "g-20250101000000-abcdef12"
    client = chromadb.PersistentClient(str(gen / "chroma"))
    chunks_col = client.create_collection("chunks", metadata={"embedder": embedder.name},
                                          configuration={"hnsw": {"space": "cosine"}},
                                          embedding_function=None)
    texts = ["The Mir Ali agreement was signed in the spring.",
             "Boats capsized near Rhodes with Afghan migrants aboard."]
    chunks = [Chunk.make("old.txt", "Old", 0, t, i * 100, i * 100 + len(t))
              for i, t in enumerate(texts)]
    chunks_col.add(ids=[c.id for c in chunks], embeddings=embedder.embed(texts), documents=texts,
                   metadatas=[{"source": c.source, "title": c.title, "article": c.article,
                               "start": c.start, "end": c.end, "file_sha": "x",
                               "_node_type": "TextNode", "document_id": "None", "doc_id": "None",
                               "ref_doc_id": "None",
                               "_node_content": json.dumps({"id_": c.id, "text": "", "metadata": {}})}
                              for c in chunks])
    client.create_collection("files", embedding_function=None).add(
        ids=["old.txt"], documents=["full text of old.txt"], embeddings=[[0.0]],
        metadatas=[{"sha256": "x", "kind": "txt", "path": "/nowhere/old.txt", "chunks": 2,
                    "articles": 1, "chunk_tokens": 200, "chunk_overlap": 30}])
    (root / "CURRENT").write_text(gen.name)
    store = Store(root, embedder.name)
    hits = store.dense(embedder.embed(["Who signed the Mir Ali agreement?"])[0], 5)
    assert [c for c, _ in hits][0] == chunks[0] and 0 < hits[0][1] <= 1.0
    assert sorted(store.all_chunks(), key=lambda c: c.start) == chunks
    assert store.sources() == ["old.txt"] and store.stats()["articles"] == 1
    store.close()
    # the next ingest adds to it, keeping the old file, and migrates its file records
    settings = Settings.from_env(env={}, store=root)
    ingest_paths([CORPUS / "004_e30819fc19684813.txt"], settings, progress=False,
                 embedder=embedder)
    store = Store(root, embedder.name)
    assert store.sources() == ["004_e30819fc19684813.txt", "old.txt"]
    assert store.data != gen and (store.data / "files.sqlite").exists()
    assert "files" not in {c.name for c in store._client.list_collections()}

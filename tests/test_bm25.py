"""BM25 against a brute-force oracle: the index must score exactly what the formula says."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from rag.bm25 import BM25Index, document, ensure_bm25, fingerprint, tokens
from rag.types import Chunk

TEXTS = [
    "Mullah Abdul Ghani Baradar was arrested in Karachi in 2010 and freed in 2018.",
    "Hanif Atmar travelled to Pakistan ten times to secure the release of Baradar.",
    "Spain will not recognise the Taliban government, its foreign minister said in Madrid.",
    "The Taliban reopened girls' schools in three provinces; Pakistan welcomed the move.",
    "Floods in Pakistan displaced thousands; the Taliban asked for international aid.",
    "A boat carrying Afghan migrants capsized near Rhodes; the coast guard rescued 20 people.",
    "Pakistan and Afghanistan traded fire at the Torkham crossing, closing it for a week.",
    "Baradar, Baradar and Baradar again: the name repeats in this short text.",
]
QUESTIONS = ["Why was Baradar freed?", "Pakistan Taliban", "migrants capsized near Rhodes",
             "Torkham crossing closed for a week", "Baradar Baradar", "who is the minister of Spain"]


def _chunks() -> list[Chunk]:
    return [Chunk.make(f"{i}.txt", f"Story {i}", 0, t, 0, len(t)) for i, t in enumerate(TEXTS)]


def oracle(query: str, chunks: list[Chunk], k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    """Lucene's BM25 written out term by term (the variant bm25s implements by default)."""
    docs = [Counter(tokens(document(c))) for c in chunks]
    n = len(docs)
    avgdl = sum(sum(d.values()) for d in docs) / n
    df = Counter(t for d in docs for t in d)
    out = {}
    for c, d in zip(chunks, docs):
        dl = sum(d.values())
        s = 0.0
        for t in tokens(query):          # a repeated query term counts each time, as in bm25s
            if d[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * d[t] / (d[t] + k1 * (1 - b + b * dl / avgdl))
        if s > 0:
            out[c.id] = s
    return out


@pytest.mark.parametrize("question", QUESTIONS)
def test_scores_match_a_brute_force_bm25(question):
    chunks = _chunks()
    index = BM25Index.build(chunks)
    got = {c.id: s for c, s in index.search(question, len(chunks))}
    want = oracle(question, chunks)
    assert want, "the oracle must score something for every test question"
    assert got.keys() == want.keys()
    for cid, s in want.items():
        assert got[cid] == pytest.approx(s, rel=1e-5)
    ranked = [c.id for c, _ in index.search(question, 3)]
    assert ranked == sorted(want, key=lambda i: -want[i])[:3]


def test_idf_is_public_and_matches_the_formula():
    chunks = _chunks()
    index = BM25Index.build(chunks)
    df = sum("pakistan" in tokens(document(c)) for c in chunks)
    assert index.df["pakistan"] == df == 4
    assert index.idf("pakistan") == pytest.approx(math.log(1 + (8 - 4 + 0.5) / (4 + 0.5)))
    assert index.idf("neverseen") > index.idf("pakistan")


def test_search_holds_no_state_between_calls():
    index = BM25Index.build(_chunks())
    first = index.search("Pakistan", 2)
    assert len(first) == 2 and len(index.search("Pakistan", 10)) == 4
    assert index.search("Pakistan", 2) == first
    assert index.search("", 3) == [] and index.search("zzzz qqqq", 3) == []


def test_save_and_load_round_trip(tmp_path):
    """The saved index holds ids; texts come back from the chunk table beside it."""
    from rag.chunktable import ChunkTable
    table = ChunkTable(tmp_path / "chunks.sqlite", writable=True)
    table.put_many(_chunks())
    index = BM25Index.build(table.iter_chunks(), table.get_many)
    index.save(tmp_path / "bm25")
    assert not list((tmp_path / "bm25").glob("*.jsonl"))     # no second copy of the texts
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.fingerprint == index.fingerprint == fingerprint([c.id for c in _chunks()])
    for q in QUESTIONS:
        assert loaded.search(q, 5) == index.search(q, 5)


def test_a_folder_in_the_old_llama_index_layout_is_rebuilt(tmp_path):
    """Stores written before bm25s was called directly hold llama-index's BM25Retriever folder
    (state.json without a format); opening such a store rebuilds the index from Chroma."""
    import json

    import numpy as np

    from rag.store import Store
    store = Store(tmp_path / "store", "test-embedder", create=True)
    chunks = _chunks()
    store.add(chunks, np.eye(len(chunks), 8, dtype=np.float32))
    old = store.data / "bm25"
    old.mkdir()
    (old / "state.json").write_text(json.dumps({"fingerprint": fingerprint(store.all_ids())}))
    (old / "retriever.json").write_text("{}")
    assert BM25Index.load(old) is None
    index = ensure_bm25(store)
    assert index.search("Rhodes migrants", 1)[0][0].text.startswith("A boat")
    assert json.loads((old / "state.json").read_text())["format"] == 3


def test_the_index_keeps_only_the_fields_filters_use_and_says_so_for_others(tmp_path):
    """FIELDS are what rag.news.filters filters on (source, date, day): title, article and the
    offsets were kept as codes (and every distinct offset in state.json) for nothing."""
    import json

    import numpy as np

    from rag.chunktable import ChunkTable
    chunks = [Chunk.make(f"{i}.txt", f"Story {i}", 0, t, 0, len(t), "2021-08-1" + str(i % 3))
              for i, t in enumerate(TEXTS)]
    table = ChunkTable(tmp_path / "chunks.sqlite", writable=True)
    table.put_many(chunks)
    BM25Index.build(table.iter_chunks(), table.get_many).save(tmp_path / "bm25")
    state = json.loads((tmp_path / "bm25" / "state.json").read_text())
    assert set(state["values"]) == {"source", "date", "day"}
    with np.load(tmp_path / "bm25" / "codes.npz") as z:
        assert set(z.files) == {"source", "date", "day"}
    index = BM25Index.load(tmp_path / "bm25")
    hits = index.search("Pakistan", 8, where={"$and": [{"day": {"$gte": 20210811}},
                                                      {"source": {"$ne": "3.txt"}}]})
    assert hits and all(c.date >= "2021-08-11" and c.source != "3.txt" for c, _ in hits)
    with pytest.raises(ValueError, match="cannot filter on 'title'; filter on one of source"):
        index.search("Pakistan", 3, where={"title": "Story 1"})


def test_an_index_saved_with_the_old_fields_still_loads_and_filters(tmp_path):
    """Format 3 indexes written before FIELDS were cut carry title/article/start/end codes too:
    they load (those are dropped) instead of being rebuilt."""
    import json

    import numpy as np

    from rag.chunktable import ChunkTable
    table = ChunkTable(tmp_path / "chunks.sqlite", writable=True)
    table.put_many(_chunks())
    folder = tmp_path / "bm25"
    BM25Index.build(table.iter_chunks(), table.get_many).save(folder)
    state = json.loads((folder / "state.json").read_text())
    with np.load(folder / "codes.npz") as z:
        codes = {k: z[k] for k in z.files}
    n = len(TEXTS)
    state["values"].update(title=[f"Story {i}" for i in range(n)], article=[0], start=[0],
                           end=sorted({len(t) for t in TEXTS}))
    codes.update(title=np.arange(n, dtype=np.int32), article=np.zeros(n, dtype=np.int32))
    (folder / "state.json").write_text(json.dumps(state))
    np.savez(folder / "codes.npz", **codes)
    loaded = BM25Index.load(folder)
    assert loaded is not None
    assert [c.source for c, _ in loaded.search("Pakistan", 5, where={"source": "3.txt"})] == ["3.txt"]


def test_bm25_codes_the_fields_chroma_keeps(tmp_path):
    """One definition of a chunk's filter fields (rag.where.metadata): Chroma's metadata and the
    BM25 codes hold the same keys, so a filter means the same in the dense and the lexical list."""
    import numpy as np

    from rag.bm25 import FIELDS
    from rag.store import Store
    chunks = [Chunk.make(f"{i}.txt", f"Story {i}", 0, t, 0, len(t), "2021-08-1" + str(i % 3))
              for i, t in enumerate(TEXTS)]
    with Store(tmp_path / "store", "test-embedder", create=True) as store:
        store.add(chunks, np.eye(len(chunks), 8, dtype=np.float32))
        metas = store.chunks.get(include=["metadatas"])["metadatas"]
        index = ensure_bm25(store)
    assert {k for m in metas for k in m} == set(FIELDS) == set(index._values)

"""Large ingests parse and chunk in worker processes (ingest/parallel.py); the store they build
must be the one a serial run builds, skipped files and their reasons included."""
from __future__ import annotations

import shutil

import ingest.parallel as parallel
from ingest.pipeline import ingest_paths
from rag.store import Store
from tests.conftest import CORPUS


def _corpus(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        for f in CORPUS.iterdir():
            shutil.copy(f, src / f"{i}_{f.name}")
    (src / "empty.txt").write_text("   \n")
    (src / "teasers.txt").write_text("Just a headline\nAnother headline\n")
    return src


def test_worker_processes_build_the_store_a_serial_run_builds(tmp_path, fresh_settings,
                                                              embedder, monkeypatch):
    src = _corpus(tmp_path)
    serial = ingest_paths([src], fresh_settings.with_(store=tmp_path / "serial"),
                          progress=False, embedder=embedder)
    monkeypatch.setattr(parallel, "MIN_FILES", 1)
    monkeypatch.setattr(parallel, "TASK_FILES", 2)        # several tasks, several in flight
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    used = []
    import concurrent.futures as cf

    class Counting(cf.ProcessPoolExecutor):
        def submit(self, *a, **kw):
            used.append(a[1])
            return super().submit(*a, **kw)
    monkeypatch.setattr(cf, "ProcessPoolExecutor", Counting)
    par = ingest_paths([src], fresh_settings.with_(store=tmp_path / "par"),
                       progress=False, embedder=embedder)
    assert len(used) >= 8           # the work really went to the pool
    assert (par.chunks_added, par.articles, par.files_new) == \
        (serial.chunks_added, serial.articles, serial.files_new) and par.chunks_added > 0
    assert sorted(par.skipped) == sorted(serial.skipped) and len(serial.skipped) == 2
    a = Store(tmp_path / "serial", embedder.name)
    b = Store(tmp_path / "par", embedder.name)
    assert a.all_chunks() == b.all_chunks()
    assert a.file_records().keys() == b.file_records().keys()


def test_stored_bm25_terms_are_the_chunks_terms(tmp_path, fresh_settings, embedder):
    """Ingest stores each chunk's BM25 terms (computed where the chunk is made); an index built
    from them must score exactly as one that tokenizes the texts itself."""
    from rag.bm25 import BM25Index, document, tokens
    ingest_paths([CORPUS], fresh_settings, progress=False, embedder=embedder)
    store = Store(fresh_settings.store, embedder.name)
    pairs = list(store.iter_with_terms())
    assert pairs and all(t == " ".join(tokens(document(c))) for c, t in pairs)
    stored = BM25Index.build(pairs)
    fresh = BM25Index.build([c for c, _ in pairs])
    for q in ["Who freed Baradar?", "Atmar Pakistan visits", "Taliban schools girls"]:
        assert stored.search(q, 10) == fresh.search(q, 10) != []

"""Incremental ingest on a real store: no-op re-ingest, replaced files, pruning, recovery."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths, remove_sources
from rag.store import Store
from tests.conftest import CORPUS


class CountingEmbedder:
    """The real embedder, counting the texts it embeds (the seam, not the thing under test)."""

    def __init__(self, inner, fail_after: int | None = None):
        self.inner, self.name = inner, inner.name
        self.texts, self.calls, self.fail_after = 0, 0, fail_after

    def embed(self, texts):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("embedder died mid-ingest")
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture
def corpus_copy(tmp_path):
    d = tmp_path / "articles"
    shutil.copytree(CORPUS, d)
    return d


def _store(settings, embedder) -> Store:
    return Store(settings.store, embedder.name)


def test_reingest_is_a_noop(fresh_settings, embedder, corpus_copy):
    first = ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    assert first.files_new == 5 and first.chunks_added > 0
    counting = CountingEmbedder(embedder)
    again = ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=counting)
    assert counting.texts == 0
    assert (again.files_unchanged, again.chunks_added, again.chunks_removed) == (5, 0, 0)
    assert again.chunks_unchanged == first.chunks_added
    assert _store(fresh_settings, embedder).count() == first.chunks_added


def test_changed_file_replaces_its_old_chunks(fresh_settings, embedder, corpus_copy):
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    f = corpus_copy / "004_e30819fc19684813.txt"
    text = f.read_text(encoding="utf-8")
    old = "Mir Ali Agreement"
    f.write_text(text.replace(old, "Zebrafish Accord"), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    report = ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=counting)
    assert report.files_changed == 1 and report.files_unchanged == 4
    assert report.chunks_removed > 0 and report.chunks_added == report.chunks_removed
    store = _store(fresh_settings, embedder)
    texts = [c.text for c in store.all_chunks() if c.source == f.name]
    assert any("Zebrafish Accord" in t for t in texts)
    assert not any(old in t for t in texts)
    new_text = f.read_text(encoding="utf-8")
    for c in store.all_chunks():
        if c.source == f.name:
            assert new_text[c.start:c.end] == c.text


def test_prune_and_remove_drop_files(fresh_settings, embedder, corpus_copy):
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    (corpus_copy / "001_e6efb181a4683f8c.txt").unlink()
    report = ingest_paths([corpus_copy], fresh_settings, prune=True, progress=False, embedder=embedder)
    assert report.pruned == ["001_e6efb181a4683f8c.txt"]
    store = _store(fresh_settings, embedder)
    assert "001_e6efb181a4683f8c.txt" not in store.sources()
    assert not store.chunk_ids("001_e6efb181a4683f8c.txt")
    removed = remove_sources(["002_5edc88af400f5deb.txt"], fresh_settings, embedder=embedder)
    assert removed > 0 and len(_store(fresh_settings, embedder).sources()) == 3
    with pytest.raises(ValueError, match="not in the index"):
        remove_sources(["nope.txt"], fresh_settings, embedder=embedder)


def test_interrupted_ingest_leaves_a_usable_store_and_a_rerun_completes(
        fresh_settings, embedder, corpus_copy, tmp_path):
    reference = ingest_paths([corpus_copy], fresh_settings.with_(store=tmp_path / "ref"),
                             progress=False, embedder=embedder)
    # Writes are batched across files (the first batch small, so early files commit early):
    # the second embedder call dies, after the first batch's files are committed.
    dying = CountingEmbedder(embedder, fail_after=1)
    with pytest.raises(RuntimeError, match="died"):
        ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=dying)
    partial = _store(fresh_settings, embedder)
    assert 0 < len(partial.sources()) < 5
    from rag.engine import Engine
    answer = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder).ask(
        "What did Hanif Atmar say about Pakistan?")
    assert answer.passages   # the half-built store answers from what it has
    rerun = ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    store = _store(fresh_settings, embedder)
    assert store.count() == reference.chunks_added
    assert sorted(store.all_ids()) == sorted(_store(fresh_settings.with_(store=tmp_path / "ref"),
                                                    embedder).all_ids())
    assert rerun.chunks_added < reference.chunks_added   # finished files were not redone


def test_folder_with_bad_files_ingests_the_good_ones(fresh_settings, embedder, tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    shutil.copy(CORPUS / "004_e30819fc19684813.txt", d)
    (d / "empty.txt").write_text("", encoding="utf-8")
    (d / "latin1.txt").write_bytes("Caf\xe9 au lait, na\xefve r\xe9sum\xe9.".encode("latin-1"))
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    (d / "notes.docx").write_bytes(b"PK\x03\x04")
    report = ingest_paths([d], fresh_settings, progress=False, embedder=embedder)
    skipped = {p.split("/")[-1]: why for p, why in report.skipped}
    assert set(skipped) == {"empty.txt", "latin1.txt", "image.txt", "notes.docx"}
    assert "UTF-8" in skipped["latin1.txt"] and "empty" in skipped["empty.txt"].lower()
    assert _store(fresh_settings, embedder).sources() == ["004_e30819fc19684813.txt"]


def test_killed_ingest_process_recovers_without_duplicates(tmp_path, embedder):
    """SIGKILL a real `rag ingest` mid-run; the store opens, and a re-run completes it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ingest.pipeline import ingest_paths
    from rag.settings import Settings
    from tests.conftest import PROJECT

    src = tmp_path / "many"
    src.mkdir()
    for i in range(12):
        for f in CORPUS.iterdir():
            (src / f"{i:02d}_{f.name}").write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(src), "--quiet"],
                            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        table = next(store.glob("g-*/chunks.sqlite"), None)
        if table and table.stat().st_size > 300_000:   # some files' chunks are in
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    settings = Settings.from_env(env={}, store=store)
    partial = Store(store, embedder.name)
    n_partial = len(partial.sources())
    del partial
    rerun = ingest_paths([src], settings, progress=False, embedder=embedder)
    reference = ingest_paths([src], settings.with_(store=tmp_path / "ref"), progress=False,
                             embedder=embedder)
    got = Store(store, embedder.name)
    assert n_partial < 60, "the ingest finished before it was killed; the test proved nothing"
    assert sorted(got.all_ids()) == sorted(Store(tmp_path / "ref", embedder.name).all_ids())
    assert got.count() == reference.chunks_added
    assert len(got.sources()) == 60 and rerun.files_unchanged == n_partial


def test_nothing_indexed_leaves_no_store_behind(fresh_settings, embedder, tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_text("   \n")
    report = ingest_paths([bad], fresh_settings, progress=False, embedder=embedder)
    assert report.skipped and not fresh_settings.store.exists()


def test_failed_rebuild_keeps_the_old_index(fresh_settings, embedder, corpus_copy, tmp_path):
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    before = sorted(_store(fresh_settings, embedder).all_ids())
    with pytest.raises(RuntimeError):
        ingest_paths([corpus_copy], fresh_settings, rebuild=True, progress=False,
                     embedder=CountingEmbedder(embedder, fail_after=1))
    assert sorted(_store(fresh_settings, embedder).all_ids()) == before
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00binary")
    ingest_paths([bad], fresh_settings, rebuild=True, progress=False, embedder=embedder)
    assert sorted(_store(fresh_settings, embedder).all_ids()) == before
    # A rebuild that works replaces the index (here with one file instead of five).
    ingest_paths([corpus_copy / "004_e30819fc19684813.txt"], fresh_settings, rebuild=True,
                 progress=False, embedder=embedder)
    assert _store(fresh_settings, embedder).sources() == ["004_e30819fc19684813.txt"]


def test_html_citations_resolve_against_the_text_the_store_keeps(fresh_settings, embedder):
    from rag.engine import Engine
    page = Path(__file__).parent / "fixtures" / "ingest" / "news_page.html"
    report = ingest_paths([page], fresh_settings, progress=False, embedder=embedder)
    assert report.files_new == 1
    eng = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder)
    a = eng.ask("How many households in Millbrook were told to prepare for evacuation?")
    assert not a.abstained and "340" in a.text
    kept = eng.store.document_text("news_page.html")
    for p in a.passages:
        assert kept[p.chunk.start:p.chunk.end] == p.chunk.text
    assert "<p>" not in kept and "Riverton" in kept


def test_a_second_writer_is_refused_while_one_ingests(fresh_settings, embedder, corpus_copy):
    from rag.store import StoreError, writer_lock
    with writer_lock(fresh_settings.store):
        with pytest.raises(StoreError, match="another `rag ingest`"):
            ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    assert ingest_paths([corpus_copy], fresh_settings, progress=False,
                        embedder=embedder).files_new == 5


def test_one_name_is_one_file(fresh_settings, embedder, corpus_copy, tmp_path):
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "004_e30819fc19684813.txt").write_text("A different story entirely. " * 20)
    report = ingest_paths([other], fresh_settings, progress=False, embedder=embedder)
    assert "already indexed" in report.skipped[0][1] and "rag remove" in report.skipped[0][1]
    assert any("Mir Ali" in c.text for c in _store(fresh_settings, embedder).all_chunks())
    # A file that moved (its old path is gone) is the same file: unchanged, and not pruned.
    moved = tmp_path / "moved"
    shutil.move(str(corpus_copy), moved)
    report = ingest_paths([moved], fresh_settings, prune=True, progress=False, embedder=embedder)
    assert report.files_unchanged == 5 and not report.pruned


def test_an_unreachable_embedding_server_fails_clearly_and_leaves_no_store(fresh_settings,
                                                                           corpus_copy):
    from rag.embed import EmbedderError, make_embedder
    s = fresh_settings.with_(embedder="openai", openai_base_url="http://127.0.0.1:9/v1",
                             openai_api_key="sk-x")
    with pytest.raises(EmbedderError, match="RAG_EMBED=wordllama"):
        ingest_paths([corpus_copy], s, progress=False, embedder=make_embedder(s))
    assert not s.store.exists()


def test_an_open_engine_sees_later_ingests_and_rebuilds(fresh_settings, embedder, corpus_copy):
    from rag.engine import Engine
    only = corpus_copy / "004_e30819fc19684813.txt"
    ingest_paths([only], fresh_settings, progress=False, embedder=embedder)
    eng = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder)
    q = "Who heads the UNDP office in Afghanistan?"
    assert all(p.chunk.source == only.name for p in eng.retrieve(q))
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    assert "Rodrigues" in eng.ask(q).text
    ingest_paths([only], fresh_settings, rebuild=True, progress=False, embedder=embedder)
    assert all(p.chunk.source == only.name for p in eng.retrieve(q))


def test_a_run_killed_between_vectors_and_rows_resumes_with_every_row(
        fresh_settings, embedder, corpus_copy, monkeypatch):
    """Vectors go to Chroma before their rows go to the chunk table; a run that dies between
    the two leaves vectors without rows. The rerun writes those rows (it used to take the
    vectors for done and skip them: chunks that no search could return)."""
    from rag.chunktable import ChunkTable
    real = ChunkTable.put_many
    calls = []

    def dies_on_the_second_write(self, chunks, terms=None):
        if chunks:      # (an empty write opens every new table)
            calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed between the vectors and the rows")
        return real(self, chunks, terms)

    monkeypatch.setattr(ChunkTable, "put_many", dies_on_the_second_write)
    with pytest.raises(RuntimeError, match="killed"):
        ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    monkeypatch.setattr(ChunkTable, "put_many", real)
    ingest_paths([corpus_copy], fresh_settings, progress=False, embedder=embedder)
    store = _store(fresh_settings, embedder)
    assert store.table.count() == store.count() > 100
    assert len(store.all_chunks()) == store.count()

"""Keeping date filters and fetched pages across the store's life (issue 11): a store indexed
before the `day` field is brought up to date by the next `rag ingest` (metadata only) and,
until then, a date filter says exactly what to run; `rag ingest --rebuild` re-indexes the pages
fetched by URL from their saved copies, without the network."""
from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from ingest.fetch import safe_name
from ingest.pipeline import ingest_paths
from rag.engine import Engine
from rag.filetable import FileTable
from rag.generations import StoreError, current_name, live_generation
from rag.store import Store
from tests.conftest import CORPUS
from tests.test_web_ingest import Site

DATED = "004_e30819fc19684813.txt"     # 14 January 2025


def make_old(settings, embedder, keep_day: bool = False) -> None:
    """Turn a freshly built store into one as the code before date filters left it: chunks
    without `day`, file records without the mark (unless `keep_day`: the chunks have it)."""
    root = settings.store
    live = live_generation(root)
    with Store(root, embedder.name, generation=live, create=True) as store:
        if not keep_day:
            got = store.chunks.get(include=["metadatas"])
            ids = [i for i, m in zip(got["ids"], got["metadatas"]) if "day" in m]
            store.chunks.update(ids=ids, metadatas=[{"day": None}] * len(ids))
    table = FileTable(live / "files.sqlite", writable=True)
    try:
        rows = [{**{k: v for k, v in r.items() if k != "days"}, "text": table.text(s)}
                for s, r in table.all().items()]
        table.put_many(rows)
    finally:
        table.close()


def dated_chunks(settings, embedder) -> int:
    with Store(settings.store, embedder.name) as store:
        return len(store.chunks.get(where={"day": {"$gte": 0}}, include=[])["ids"])


@pytest.fixture
def old_store(fresh_settings, embedder, tmp_path):
    docs = tmp_path / "articles"
    shutil.copytree(CORPUS, docs)
    settings = fresh_settings.with_(answerer="extractive")
    ingest_paths([docs], settings, progress=False, embedder=embedder)
    assert dated_chunks(settings, embedder) > 0
    make_old(settings, embedder)
    assert dated_chunks(settings, embedder) == 0
    return settings, docs


def test_a_date_filter_on_a_store_without_day_names_the_command(old_store, embedder):
    settings, docs = old_store
    with Engine(settings, embedder=embedder) as engine:
        with pytest.raises(StoreError, match="built before date filters existed") as e:
            engine.ask("What is the Mir Ali agreement?", since=date(2025, 1, 1))
        assert f"rag ingest --store {settings.store} {docs}" in str(e.value)
        # A file filter needs no date: it works on the old store as it is.
        only = engine.ask("What is the Mir Ali agreement?", source=DATED)
        assert {p.chunk.source for p in only.passages} == {DATED}


def test_the_next_ingest_adds_day_without_re_embedding(old_store, embedder):
    settings, docs = old_store
    before = current_name(settings.store)
    report = ingest_paths([docs], settings, progress=False, embedder=embedder)
    assert report.chunks_added == 0 and report.files_unchanged == 5
    assert report.chunks_dated > 0 and "Date filters:" in report.summary()
    assert dated_chunks(settings, embedder) == report.chunks_dated
    assert current_name(settings.store) != before        # a new generation, published whole
    with Engine(settings, embedder=embedder) as engine:
        a = engine.ask("What is the Mir Ali agreement?", since=date(2025, 1, 1))
        assert not a.abstained and {p.chunk.source for p in a.passages} == {DATED}
        # The dense search itself now filters by date (Chroma's where on `day`).
        vec = engine.embedder.embed(["Mir Ali agreement"])[0]
        hits = engine.store.dense(vec, 5, where={"day": {"$gte": 20250101}})
        assert hits and {c.source for c, _ in hits} == {DATED}
    # Done once: the run after that changes nothing and copies nothing.
    again = ingest_paths([docs], settings, progress=False, embedder=embedder)
    assert again.chunks_dated == 0 and not again.changed


def test_the_chunks_lacking_day_are_looked_for_once(old_store, embedder, monkeypatch):
    """The look on the live generation (is a copy needed?) is what the copy updates; it used to
    look again after copying, reading every unmarked chunk's metadata twice."""
    from rag import days
    settings, docs = old_store
    looks = []
    real = days.lacking
    monkeypatch.setattr(days, "lacking", lambda store, s: looks.append(len(s)) or real(store, s))
    report = ingest_paths([docs], settings, progress=False, embedder=embedder)
    assert looks == [5] and report.chunks_dated > 0
    assert dated_chunks(settings, embedder) == report.chunks_dated


def test_a_run_that_also_changes_files_dates_every_chunk(old_store, embedder):
    """With files to index, the look happens once, after the changes (a look before them would
    name chunks the re-index drops)."""
    settings, docs = old_store
    with Store(settings.store, embedder.name) as store:
        dated = len([m for m in store.chunks.get(include=["metadatas"])["metadatas"]
                     if m.get("date")])
    changed = docs / DATED
    changed.write_text(changed.read_text(encoding="utf-8").replace(
        "the Taliban pledged to support", "the Taliban promised to support"), encoding="utf-8")
    report = ingest_paths([docs], settings, progress=False, embedder=embedder)
    assert report.chunks_dated > 0 and report.chunks_added > 0
    with Store(settings.store, embedder.name) as store:
        metas = store.chunks.get(include=["metadatas"])["metadatas"]
    assert all("day" in m for m in metas if m.get("date")) and len(metas) >= dated


def test_records_without_the_mark_but_chunks_with_day_are_marked_in_place(
        fresh_settings, embedder, tmp_path):
    docs = tmp_path / "articles"
    shutil.copytree(CORPUS, docs)
    ingest_paths([docs], fresh_settings, progress=False, embedder=embedder)
    make_old(fresh_settings, embedder, keep_day=True)
    before = current_name(fresh_settings.store)
    report = ingest_paths([docs], fresh_settings, progress=False, embedder=embedder)
    assert report.chunks_dated == 0 and current_name(fresh_settings.store) == before
    table = FileTable(live_generation(fresh_settings.store) / "files.sqlite", writable=False)
    try:
        assert all(r.get("days") for r in table.all().values())
    finally:
        table.close()


def test_rebuild_keeps_pages_fetched_by_url_without_the_network(tmp_path, capsys):
    from rag.cli import main
    site = Site()
    site.page("/clinic", "Clinic opens in Kandahar",
              "A clinic with two doctors opened in the Kandahar district of Arghandab.",
              date="2025-02-20")
    url = site.base + "/clinic"
    store = tmp_path / "store"
    docs = tmp_path / "articles"
    shutil.copytree(CORPUS, docs)
    assert main(["ingest", "--store", str(store), "--quiet", str(docs), url]) == 0
    site.server.shutdown()      # from here on, a fetch would fail
    site.server.server_close()
    capsys.readouterr()
    assert main(["ingest", "--store", str(store), "--quiet", "--rebuild", str(docs)]) == 0
    err = capsys.readouterr().err
    assert main(["stats", "--store", str(store), "--files", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert safe_name(url) in files and len(files) == 6
    assert "Re-indexing 1 page(s) fetched earlier" in err and "Not fetched" not in err
    assert main(["ask", "--store", str(store), "--json", "--since", "2025-02-01",
                 "Where did the clinic open?"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["citations"] and d["citations"][0]["source"] == safe_name(url)
    assert d["citations"][0]["date"] == "2025-02-20"


def test_rebuild_leaves_out_a_page_removed_from_the_index(tmp_path, capsys):
    from rag.cli import main
    site = Site()
    try:
        site.page("/a", "Bridge reopens", "The old bridge over the Helmand river reopened.")
        site.page("/b", "School opens", "A girls' school opened in Herat with 400 pupils.")
        store = tmp_path / "store"
        assert main(["ingest", "--store", str(store), "--quiet", site.base + "/a",
                     site.base + "/b"]) == 0
        assert main(["remove", "--store", str(store), "--quiet", safe_name(site.base + "/a")]) == 0
        assert main(["ingest", "--store", str(store), "--quiet", "--rebuild",
                     str(CORPUS)]) == 0
        capsys.readouterr()
        assert main(["stats", "--store", str(store), "--files", "--json"]) == 0
        files = json.loads(capsys.readouterr().out)["files"]
        assert safe_name(site.base + "/b") in files and safe_name(site.base + "/a") not in files
    finally:
        site.server.shutdown()

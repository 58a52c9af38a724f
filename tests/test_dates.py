"""Dates: every chunk carries its article's publication date when the text or the page gives
one, and none (never a guess) when it does not; citations show it in JSON and on the terminal."""
from __future__ import annotations

import io

from ingest.pipeline import ingest_paths
from ingest.read import read_source
from rag.engine import Engine
from rag.render import format_sources, show_date
from rag.store import Store

BODY = ("<p>The provincial council approved the new water budget after a long debate on Tuesday. "
        "Members said the canal repairs would start before the spring planting season.</p>"
        "<p>Farmers in the district have asked for the repairs for three years, the council "
        "chairman said, adding that the work would be paid for from the reconstruction fund.</p>")


def _page(head: str, extra_body: str = "") -> str:
    return (f"<html><head><title>Council approves water budget</title>{head}</head><body>"
            f"<article><h1>Council approves water budget</h1>{BODY}{extra_body}</article>"
            "</body></html>")


def test_html_publication_date_comes_from_the_page_metadata(tmp_path):
    f = tmp_path / "council.html"
    f.write_text(_page('<meta property="article:published_time" content="2024-12-21T09:30:00Z">'
                       '<meta property="article:modified_time" content="2025-02-01T10:00:00Z">'),
                 encoding="utf-8")
    assert read_source(f).date == "2024-12-21"      # published, not last modified


def test_html_without_date_metadata_has_no_date_even_if_the_text_mentions_one(tmp_path):
    # The body mentions a date the story is about; it is not the publication date.
    f = tmp_path / "undated.html"
    f.write_text(_page("", "<p>The last repairs were made on March 3, 2019, by the same firm, "
                           "which has since closed its office in the provincial capital.</p>"),
                 encoding="utf-8")
    assert read_source(f).date is None


def test_dates_reach_the_store_and_the_citations(engine, corpus_settings, embedder):
    store = Store(corpus_settings.store, embedder.name)
    dates = {}
    for c in store.all_chunks():
        dates.setdefault(c.source, set()).add(c.date)
    # 002 has a "Published:" line, 004 a dated header; 001 gives no date at all.
    assert dates["002_5edc88af400f5deb.txt"] == {"2011-10-25"}
    assert dates["004_e30819fc19684813.txt"] == {"2025-01-14"}
    assert dates["001_e6efb181a4683f8c.txt"] == {None}

    answer = engine.ask("What did the senior Haqqani commander tell Reuters about peace talks?")
    record = answer.to_dict()
    assert record["citations"], record
    for c in record["citations"] + record["passages"]:
        assert "date" in c
        expected = next(iter(dates[c["source"]])) if len(dates[c["source"]]) == 1 else c["date"]
        assert c["date"] == expected
    assert any(c["date"] == "2011-10-25" for c in record["citations"])
    shown = format_sources(answer)
    assert "25 October 2011" in shown


def test_show_date_says_no_date_rather_than_inventing_one():
    assert show_date(None) == "no date"
    assert show_date("2025-01-14") == "14 January 2025"

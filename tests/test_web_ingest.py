"""Ingest by URL and by feed, against a real HTTP server on 127.0.0.1: new, changed and removed
feed items, a timeout, a 404, a huge page and a page that is not an article."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.fetch import FetchError, WebFolder, fetch, safe_name
from ingest.pipeline import ingest_paths
from ingest.web import fetch_sources
from rag.store import Store

ARTICLE = """<html><head><title>{title}</title>
<meta property="article:published_time" content="{date}T08:00:00Z"></head><body><article>
<h1>{title}</h1><p>{body} The provincial council met on Tuesday to discuss the matter at length,
and members said a decision would follow within weeks after consultation with local elders.</p>
<p>Officials said the district had waited for years and that funding had finally been agreed
with the reconstruction fund, which will pay for most of the work this year.</p>
</article></body></html>"""
MENU = "<html><body><nav><a href='/'>Home</a> <a href='/w'>World</a> <a href='/s'>Sport</a></nav></body></html>"


def rss(items):
    body = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{g}</guid>"
                   f"<description>{d}</description></item>" for g, t, link, d in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{body}</channel></rss>"


class Site:
    def __init__(self):
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.agents: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.agents.append(self.headers.get("User-Agent", ""))
                if self.path == "/slow":
                    time.sleep(2)
                status, ctype, body = site.routes.get(self.path, (404, "text/plain", b"no"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path, title, body, date="2025-03-02"):
        self.routes[path] = (200, "text/html; charset=utf-8",
                             ARTICLE.format(title=title, body=body, date=date).encode())

    def feed(self, items):
        self.routes["/feed.xml"] = (200, "application/rss+xml",
                                    rss([(g, t, self.base + p, d) for g, t, p, d in items]).encode())


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.shutdown()


def _ingest(paths, settings, embedder):
    return ingest_paths(paths, settings, progress=False, embedder=embedder)


def _texts(settings, embedder):
    return {c.source: c for c in Store(settings.store, embedder.name).all_chunks()}


def test_page_by_url_is_saved_under_a_safe_name_with_its_url(site, fresh_settings, embedder):
    site.page("/news/dam-opens", "Dam opens", "The Kamal Khan dam opened to water on Monday.")
    url = site.base + "/news/dam-opens"
    paths, run = fetch_sources([url], [], fresh_settings)
    report = _ingest(paths, fresh_settings, embedder)
    run.commit()
    name = safe_name(url)
    assert name.startswith("127_0_0_1_") and name.endswith(".html") and "/" not in name
    assert report.files_new == 1
    chunks = _texts(fresh_settings, embedder)
    c = chunks[name]
    assert c.date == "2025-03-02"
    # offsets index the extracted text the store keeps
    text = Store(fresh_settings.store, embedder.name).document_text(name)
    assert text[c.start:c.end] == c.text and "Kamal Khan dam" in text
    assert json.loads((fresh_settings.store / "web" / "urls.json").read_text())[name] == url
    assert site.agents[-1].startswith("rag-news/")


def test_feed_new_changed_and_removed_items(site, fresh_settings, embedder):
    site.page("/a", "Bridge rebuilt", "The old bridge over the river was rebuilt by engineers.")
    site.page("/b", "School opens", "A new girls' school opened its doors in the valley.")
    site.feed([("a", "Bridge rebuilt", "/a", "v1"), ("b", "School opens", "/b", "v1")])
    feed = site.base + "/feed.xml"

    def run():
        paths, web = fetch_sources([], [feed], fresh_settings)
        if paths:
            _ingest(paths, fresh_settings, embedder)
        web.commit()
        return web

    first = run()
    assert "2 new, 0 changed, 0 unchanged" in first.messages[0]
    assert {safe_name(site.base + "/a"), safe_name(site.base + "/b")} <= set(_texts(fresh_settings, embedder))

    again = run()                                   # what a cron line does every hour
    assert "0 new, 0 changed, 2 unchanged" in again.messages[0]

    site.page("/a", "Bridge rebuilt", "The old bridge collapsed again after the spring floods.")
    site.feed([("a", "Bridge rebuilt", "/a", "v2")])          # a changed, b dropped from the feed
    third = run()
    assert "0 new, 1 changed, 0 unchanged" in third.messages[0]
    assert "1 item(s) no longer in the feed; kept" in third.messages[0]
    store = Store(fresh_settings.store, embedder.name)
    a_text = store.document_text(safe_name(site.base + "/a"))
    assert "collapsed again" in a_text and "was rebuilt by engineers" not in a_text
    assert safe_name(site.base + "/b") in store.sources()          # removed from feed, kept


def test_feed_item_that_fails_is_retried_next_run(site, fresh_settings, embedder):
    site.feed([("x", "Missing", "/missing", "v1")])
    paths, web = fetch_sources([], [site.base + "/feed.xml"], fresh_settings)
    assert paths == [] and "HTTP 404" in web.failures[0][1]
    web.commit()
    site.page("/missing", "Now here", "The page that was missing has been published at last.")
    paths, web = fetch_sources([], [site.base + "/feed.xml"], fresh_settings)
    assert "1 new" in web.messages[0] and len(paths) == 1


def test_timeout_404_and_huge_page_are_clear_errors(site):
    with pytest.raises(FetchError, match="no answer within 0.5 s"):
        fetch(site.base + "/slow", 10_000_000, timeout=0.5)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(site.base + "/nothing-here", 10_000_000)
    site.routes["/huge"] = (200, "text/html", b"<p>" + b"word " * 200_000 + b"</p>")
    with pytest.raises(FetchError, match="over 100,000 bytes"):
        fetch(site.base + "/huge", 100_000)
    with pytest.raises(FetchError, match="not an http"):
        fetch("ftp://example.org/x", 100)


def test_cli_reports_failures_and_keeps_the_index(site, tmp_path, monkeypatch, capsys):
    from rag.cli import main
    site.page("/ok", "Clinic opens", "A clinic opened in the district with two doctors.")
    site.routes["/menu"] = (200, "text/html", MENU.encode())
    store = tmp_path / "store"
    rc = main(["ingest", "--store", str(store), "--quiet", site.base + "/ok"])
    assert rc == 0
    before = sorted(p.name for p in (store / "web").iterdir())
    rc = main(["ingest", "--store", str(store), "--quiet", site.base + "/menu",
               site.base + "/gone"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Not fetched " + site.base + "/gone: the server answered HTTP 404" in err
    assert "no article text found" in err
    rc = main(["ask", "--store", str(store), "--json", "What opened in the district?"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["citations"][0]["source"] == safe_name(site.base + "/ok")
    assert set(before) <= {p.name for p in (store / "web").iterdir()}


def test_a_feed_url_that_is_not_a_feed(site, fresh_settings):
    site.page("/plain", "Plain page", "Just a page, not a feed, with some text in it.")
    paths, web = fetch_sources([], [site.base + "/plain"], fresh_settings)
    assert paths == [] and "not an RSS or Atom feed" in web.failures[0][1]


def test_web_folder_state_is_readable_json(tmp_path):
    w = WebFolder(tmp_path)
    (tmp_path / "web" / "feeds.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(FetchError, match="delete it"):
        WebFolder(tmp_path)
    assert w.path.is_dir()

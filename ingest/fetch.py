"""Pages and feeds by URL: `rag ingest https://...` and `rag ingest --feed URL`.

A fetched page is saved as an .html file in the store's `web/` folder under a safe name derived
from its URL (`example.com_news_story_1a2b3c4d.html`): that name is the citation `source`, and
offsets index the extracted article text, as for any HTML file. `web/urls.json` maps each
name to its URL. A feed's state (`web/feeds.json`) remembers every item seen, with a signature
of its content, so a cron line re-running the same command ingests only what is new or changed.

The network is used only here, only for URLs the user gave, with a timeout, a size limit and a
user agent naming the project. A failed fetch is reported and retried on the next run; nothing
already ingested is lost.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

USER_AGENT = "rag-news/{version} (news question answering; +https://github.com/rag-news/rag-news)"
TIMEOUT = float(os.environ.get("RAG_FETCH_TIMEOUT", "20"))


class FetchError(ValueError):
    """A URL that could not be fetched; the message names the URL, the problem and the fix."""


def is_url(text: str) -> bool:
    return bool(re.match(r"^https?://", str(text), re.I))


def safe_name(url: str) -> str:
    """A file name from a URL: host and path words, plus a hash so two URLs never share one."""
    parts = urlsplit(url)
    words = re.sub(r"[^A-Za-z0-9]+", "_", f"{parts.netloc}{parts.path}").strip("_")[:80]
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{words}_{digest}.html"


def fetch(url: str, max_bytes: int, timeout: float = TIMEOUT) -> bytes:
    """The body of `url`, or FetchError. Streams, so a huge page is cut off at `max_bytes`."""
    import httpx

    from rag import __version__
    if not is_url(url):
        raise FetchError(f"{url}: not an http(s) URL; give a full address such as https://...")
    headers = {"User-Agent": USER_AGENT.format(version=__version__)}
    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout,
                          follow_redirects=True) as r:
            if r.status_code >= 400:
                raise FetchError(f"{url}: the server answered HTTP {r.status_code} "
                                 f"{r.reason_phrase}; check the address")
            size = int(r.headers.get("content-length") or 0)
            if size > max_bytes:
                raise FetchError(_too_big(url, size, max_bytes))
            body = bytearray()
            for piece in r.iter_bytes():
                body += piece
                if len(body) > max_bytes:
                    raise FetchError(_too_big(url, len(body), max_bytes))
            return bytes(body)
    except httpx.TimeoutException:
        raise FetchError(f"{url}: no answer within {timeout:g} s; try again later or raise "
                         "RAG_FETCH_TIMEOUT") from None
    except httpx.HTTPError as e:
        raise FetchError(f"{url}: could not fetch ({type(e).__name__}: {e}); check the address "
                         "and your connection") from None


def _too_big(url: str, size: int, limit: int) -> str:
    return (f"{url}: page is over {limit:,} bytes (at least {size:,}); not saved. Raise "
            "RAG_MAX_FILE_BYTES if it is really one article")


class WebFolder:
    """The store's `web/` folder: saved pages, their URLs, and the feeds' state."""

    def __init__(self, store_root: Path):
        self.path = Path(store_root) / "web"
        self.path.mkdir(parents=True, exist_ok=True)
        self.urls = _load(self.path / "urls.json")
        self.feeds = _load(self.path / "feeds.json")

    def save_page(self, url: str, body: bytes) -> Path:
        name = safe_name(url)
        tmp = self.path / f".{name}.tmp"
        tmp.write_bytes(body)
        os.replace(tmp, self.path / name)
        self.urls[name] = url
        return self.path / name

    def commit(self) -> None:
        _dump(self.path / "urls.json", self.urls)
        _dump(self.path / "feeds.json", self.feeds)


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise FetchError(f"{path}: unreadable ({e}); delete it to start the record afresh") from None


def _dump(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class FeedReport:
    feed: str
    new: list[str] = field(default_factory=list)         # urls
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    gone: list[str] = field(default_factory=list)        # seen before, no longer in the feed
    failed: list[tuple[str, str]] = field(default_factory=list)   # (url, why): retried next run

    def summary(self) -> str:
        lines = [f"Feed {self.feed}: {len(self.new)} new, {len(self.changed)} changed, "
                 f"{self.unchanged} unchanged item(s)."]
        if self.gone:
            lines.append(f"{len(self.gone)} item(s) no longer in the feed; kept in the index "
                         "(feeds list only recent items).")
        for url, why in self.failed:
            lines.append(f"Not ingested, will retry next run: {why}")
        return "\n".join(lines)


def read_feed(url: str, web: WebFolder, max_bytes: int) -> tuple[FeedReport, list[Path]]:
    """Fetch a feed, then each new or changed item's page; returns the report and the saved
    pages to ingest. State is updated only for items whose page was saved."""
    import feedparser
    report = FeedReport(url)
    parsed = feedparser.parse(fetch(url, max_bytes))
    if parsed.bozo and not parsed.entries:
        raise FetchError(f"{url}: not an RSS or Atom feed ({parsed.get('bozo_exception')}); "
                         "check the address, or ingest it as a page without --feed")
    state = web.feeds.setdefault(url, {})
    pages: list[Path] = []
    current = set()
    for e in parsed.entries:
        link = e.get("link")
        if not link:
            continue
        key = e.get("id") or link
        current.add(key)
        sig = hashlib.sha256("\x1f".join(str(e.get(k, "")) for k in (
            "title", "summary", "updated", "published", "link")).encode()).hexdigest()[:16]
        seen = state.get(key)
        if seen and seen.get("sig") == sig and (web.path / seen.get("source", "")).is_file():
            report.unchanged += 1
            continue
        try:
            pages.append(web.save_page(link, fetch(link, max_bytes)))
        except FetchError as err:
            report.failed.append((link, str(err)))
            continue
        (report.changed if seen else report.new).append(link)
        state[key] = {"url": link, "sig": sig, "source": safe_name(link),
                      "title": e.get("title", "")}
    report.gone = sorted(v["url"] for k, v in state.items() if k not in current)
    return report, pages

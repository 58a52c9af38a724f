"""The CLI's side of URL ingest: split the arguments into paths and URLs, fetch pages and feeds
into the store's web/ folder, and hand the saved files to the ordinary ingest."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .fetch import FetchError, WebFolder, fetch, is_url, read_feed


@dataclass
class WebRun:
    folder: WebFolder
    messages: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def commit(self) -> None:
        self.folder.commit()


def fetch_sources(args: Sequence[str], feeds: Sequence[str], settings
                  ) -> tuple[list[Path], WebRun | None]:
    """(paths to ingest, the web run or None when no URL was given). Local paths pass through;
    each page URL and each feed's new or changed items are fetched and saved first."""
    urls = [a for a in args if is_url(a)]
    paths = [Path(a) for a in args if not is_url(a)]
    if not urls and not feeds:
        return paths, None
    run = WebRun(WebFolder(settings.store))
    limit = settings.max_file_bytes
    for url in urls:
        try:
            paths.append(run.folder.save_page(url, fetch(url, limit)))
        except FetchError as e:
            run.failures.append((url, str(e).removeprefix(f"{url}: ")))
    for feed in feeds:
        try:
            report, pages = read_feed(feed, run.folder, limit)
        except FetchError as e:
            run.failures.append((feed, str(e).removeprefix(f"{feed}: ")))
            continue
        paths += pages
        run.messages.append(report.summary())
        run.failures += [(u, why.removeprefix(f"{u}: ")) for u, why in report.failed]
    if not paths:
        run.commit()       # e.g. a feed with nothing new: its state is still current
    return paths, run

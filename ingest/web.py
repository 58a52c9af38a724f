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


def kept_pages(settings) -> list[Path]:
    """The pages fetched earlier that the index holds, from their saved copies in the store's
    web/ folder: what `--rebuild` re-indexes without the network. A page removed from the index
    (`rag remove`) stays out; if the index cannot be read (a rebuild may be its repair), every
    saved page listed in web/urls.json is taken."""
    folder = Path(settings.store) / "web"
    if not folder.is_dir():
        return []
    names = _indexed(Path(settings.store), folder)
    if names is None:
        try:
            names = set(WebFolder(settings.store).urls)
        except FetchError:
            names = set()
    return sorted(folder / n for n in names if (folder / n).is_file())


def _indexed(root: Path, folder: Path) -> set[str] | None:
    from rag.filetable import read_records
    from rag.generations import live_generation
    try:
        live = live_generation(root)
        if live is None:
            return None
        where = str(folder.resolve())
        return {s for s, r in read_records(live / "files.sqlite").items()
                if str(Path(r.get("path", "")).parent) == where}
    except Exception:       # noqa: BLE001 - a damaged store: fall back to the saved list
        return None


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

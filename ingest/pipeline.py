"""Incremental indexing: files -> articles -> chunks -> vectors -> a new store generation.

A run first plans against the live generation's file table (one query): a file whose path,
size and modification time match its record is unchanged without being read; one whose bytes
hash to its record's is unchanged (moved, or touched). Only when something must change does it
copy the live generation (`rag.generations`), write the changes into the copy and publish it, so
engines reading the store never see half an ingest.

Writes are batched across files: chunks of many files are embedded and written to Chroma
together, and a file's record (the commit marker) is written after all its chunks are in. A
killed run leaves a building generation whose committed files the next run keeps (ids are
content hashes, so nothing is duplicated); until the first ingest of a store completes, readers
see that partial generation rather than nothing.
"""
from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rag import days
from rag.bm25 import ensure_bm25
from rag.embed import Embedder, make_embedder
from rag.generations import (FRESH, REBUILD, check_unmarked, collect, copy_generation,
                             live_generation, new_generation, publish, resumable, touch_version)
from rag.settings import Settings
from rag.store import Store, StoreError, writer_lock

from .parallel import prepared
from .read import IngestError, discover

_EMBED_BATCH = 256      # texts per embedder call
_FIRST_FLUSH = 16       # chunks in the first write; doubling to _MAX_FLUSH. Small first writes
_MAX_FLUSH = 32000      # commit the first files at once; large later ones amortise round trips.
# Each write goes to Chroma in id order, a few calls of its own slices of Chroma's index on
# chunk ids (rag/store.py), so each write rewrites that index about once: fewer, larger writes
# rewrite it less (`python -m bench.write_patterns chroma`, 188,000 records: Chroma's SQLite
# wrote 660 MB unsorted, 301 MB sorted in 16,000-record writes, 218 MB in 32,000). The pending
# chunks, their terms and vectors take about 100 MB at this size. The chunk table builds its id
# index once, at the end.


@dataclass
class IngestReport:
    store: str
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    articles: int = 0
    chunks_added: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    chunks_dated: int = 0       # old chunks given the `day` field date filters use (rag/days.py)
    pruned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_removed or self.pruned or self.chunks_dated)

    def summary(self, skipped: bool = True) -> str:
        lines = [f"Indexed {self.files_seen - len(self.skipped)} file(s) into {self.store} "
                 f"in {self.seconds:.1f} s: {self.files_new} new, {self.files_changed} changed, "
                 f"{self.files_unchanged} unchanged; {self.articles} article(s).",
                 f"Chunks: {self.chunks_added} added, {self.chunks_unchanged} unchanged, "
                 f"{self.chunks_removed} removed."]
        if self.chunks_dated:
            lines.append(f"Date filters: {self.chunks_dated} chunk(s) indexed before them given "
                         f"the date field they compare (metadata only, nothing re-embedded).")
        if self.pruned:
            lines.append(f"Removed {len(self.pruned)} file(s) that are gone: {', '.join(self.pruned)}")
        for path, why in self.skipped if skipped else ():
            lines.append(f"Skipped {path}: {why}")
        return "\n".join(lines)


def _bar(total: int, enabled: bool, unit: str = "file"):
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, disable=not enabled, leave=False, dynamic_ncols=True)


@dataclass
class _Plan:
    todo: list[Path] = field(default_factory=list)        # new or changed: read, chunk, embed
    moves: list[tuple[str, str, int]] = field(default_factory=list)  # (source, path, mtime_ns)
    records: dict = field(default_factory=dict)
    bytes: int = 0          # of the files in `todo`: sizes the store's write settings

    def expected_chunks(self, settings: Settings) -> int:
        """About how many chunks `todo` makes: news text runs about 4.5 bytes per token, and
        each chunk advances by its tokens less the overlap."""
        return int(self.bytes / (4.5 * max(1, settings.chunk_tokens - settings.chunk_overlap)))


def ingest_paths(paths: Sequence[Path] | None, settings: Settings, *, prune: bool = False,
                 rebuild: bool = False, progress: bool = True,
                 embedder: Embedder | None = None) -> IngestReport:
    """Index files and folders (default: the bundled corpus). Raises IngestError / StoreError
    before touching the store when the input as a whole is unusable (e.g. a missing path) or the
    store is damaged (the message names the fix; nothing is changed).

    A run that indexes nothing leaves no new store behind; `rebuild` builds a fresh generation
    and publishes it only when done, so a failed rebuild leaves the old index as it was."""
    t0 = time.perf_counter()
    paths = [Path(p) for p in (paths or [settings.corpus])]
    files, skipped = discover(paths)
    files, dupes = _unique_names(files)
    embedder = embedder or make_embedder(settings)
    root = Path(settings.store)
    created = not root.exists()
    report = IngestReport(str(root), files_seen=len(files) + len(skipped) + len(dupes),
                          skipped=[(str(p), w) for p, w in skipped + dupes])
    if root.is_dir() and live_generation(root) is None:
        check_unmarked(root)     # before the lock file: refuse a foreign folder untouched
    try:
        with writer_lock(root):
            _ingest_locked(root, files, settings, embedder, report, prune, rebuild, progress)
    finally:
        if created and not any(root.glob("g-*")):
            _discard(root)              # nothing indexed: leave no empty store behind
    report.seconds = time.perf_counter() - t0
    return report


def _ingest_locked(root, files, settings, embedder, report, prune, rebuild, progress) -> None:
    live = live_generation(root)        # a damaged CURRENT is refused here, before any write
    if live is None:
        check_unmarked(root)            # so is an unmarked folder holding data
    elif not rebuild:
        _check_intact(root, live, thorough=False)   # a truncated database, even on a no-op
    parent = REBUILD if rebuild else (live.name if live else FRESH)
    work = None if rebuild else resumable(root, parent)
    base = work or (None if rebuild else live)
    url = settings.chroma_url
    records = _records(root, base, embedder, url)
    plan = _plan(files, records, settings, report)
    gone = _gone(records, plan) if prune else []
    undated = [] if rebuild else days.unmarked(records)   # a store from before date filters
    lacking = None
    if undated and live is not None and base is live and not (plan.todo or gone):
        undated, lacking = _mark_dated(root, live, embedder, url, undated)
    if not (plan.todo or gone or rebuild or work or undated):
        if plan.moves and live is not None:     # bookkeeping only: no new generation for it
            with Store(root, embedder.name, generation=live, create=True, chroma_url=url) as store:
                store.files.set_paths(plan.moves)
        return
    # A Chroma server is one process that every client sees the same way, and copying its
    # collection would mean sending every vector through HTTP twice: there, changes go into
    # the live generation in place and engines reload on the VERSION marker.
    in_place = bool(url and live is not None and not rebuild)
    made = work is None and not in_place
    if in_place:
        work = live
    elif made:
        if live and not rebuild:
            _check_intact(root, live)
        work = copy_generation(root, live) if (live and not rebuild) else new_generation(root, parent)
    published = False
    try:
        with Store(root, embedder.name, create=True, generation=work, chroma_url=url,
                   expect=plan.expected_chunks(settings)) as store:
            store.files.set_paths(plan.moves)
            _index(plan, store, embedder, settings, report, progress, resumed=not made)
            if undated:
                report.chunks_dated += days.backfill(store, undated, lacking)
            for source in gone:
                report.chunks_removed += store.remove_file(source)
                report.pruned.append(source)
            worth = (report.changed or plan.moves or not made) and bool(store.files.all())
            if worth:
                store.close_vectors()   # Chroma's HNSW index and BM25's build never share memory
                ensure_bm25(store, force=True)
        if worth and in_place:
            touch_version(root)
        elif worth:
            publish(root, work)
            published = True
    finally:
        # A copy with newly committed files is kept when a run fails, so a rerun resumes it;
        # an empty one, a failed rebuild or a copy that changed nothing goes.
        if not published and made and (rebuild or not report.changed or not _has_files(work)):
            shutil.rmtree(work, ignore_errors=True)
        collect(root)


def _mark_dated(root: Path, live: Path, embedder: Embedder, url: str | None,
                sources: list[str]) -> tuple[list[str], tuple | None]:
    """For a run with nothing else to do: the sources whose chunks lack the `day` field
    (rag/days.py) and those chunks, which the copy then updates without looking again; when
    none lack it, the records are marked in place (bookkeeping, as for moves), so no generation
    is copied for nothing. A run that indexes or prunes files copies anyway, and looks once,
    after its changes."""
    with Store(root, embedder.name, generation=live, create=True, chroma_url=url) as store:
        found = days.lacking(store, sources)
        if found[0]:
            return sources, found
        days.mark(store, sources)
    return [], None


def _check_intact(root: Path, live: Path, thorough: bool = True) -> None:
    """Refuse to build on a damaged generation (a truncated or corrupt chroma.sqlite3): the copy
    would carry the damage, or fail half way with a raw database error. `thorough` reads every
    page (PRAGMA quick_check; before a copy, which reads them all anyway); otherwise only the
    header is checked."""
    from rag.doctor import header_problem, sqlite_problem
    db = live / "chroma" / "chroma.sqlite3"
    problem = (sqlite_problem if thorough else header_problem)(db) if db.exists() else None
    if problem:
        raise StoreError(f"the index at {root} is damaged ({problem}). Nothing was changed. "
                         f"Re-index it with `rag ingest --rebuild --store {root} PATH` "
                         f"(`rag doctor --store {root}` shows what is there).")


def _has_files(gen: Path) -> bool:
    from rag.filetable import read_records
    try:
        return bool(read_records(gen / "files.sqlite"))
    except Exception:
        return False


def _records(root: Path, base: Path | None, embedder: Embedder, url: str | None) -> dict[str, dict]:
    if base is None:
        return {}
    table = base / "files.sqlite"
    if table.exists():      # the plan needs no Chroma client: an unchanged corpus costs stats
        from rag.filetable import read_records
        return read_records(table)
    with Store(root, embedder.name, generation=base, chroma_url=url) as store:
        return store.file_records()


def _plan(files: list[Path], records: dict, settings: Settings, report: IngestReport) -> _Plan:
    """Decide per file, cheaply: a stat for files whose record matches; a hash for the rest."""
    plan = _Plan(records=records)
    for path in files:
        rec = records.get(path.name)
        try:
            st = path.stat()
            where = str(path.resolve())
            if rec and _same_settings(rec, settings):
                if rec.get("path") == where and rec.get("size") == st.st_size \
                        and rec.get("mtime_ns") == st.st_mtime_ns:
                    _unchanged(report, rec)
                    continue
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                if sha == rec.get("sha256"):
                    _check_same_file(rec, path, sha)
                    plan.moves.append((path.name, where, st.st_mtime_ns))
                    _unchanged(report, rec)
                    continue
        except OSError as e:
            report.skipped.append((str(path), f"cannot be read ({e.strerror or e})"))
            continue
        except IngestError as e:
            report.skipped.append((str(path), str(e)))
            continue
        plan.todo.append(path)
        plan.bytes += st.st_size
    return plan


def _same_settings(rec: dict, settings: Settings) -> bool:
    return rec.get("chunk_tokens") == settings.chunk_tokens \
        and rec.get("chunk_overlap") == settings.chunk_overlap


def _unchanged(report: IngestReport, rec: dict) -> None:
    report.files_unchanged += 1
    report.articles += int(rec.get("articles", 0))
    report.chunks_unchanged += int(rec.get("chunks", 0))


def _gone(records: dict, plan: _Plan) -> list[str]:
    moved = {s for s, _, _ in plan.moves}
    return sorted(s for s, r in records.items()
                  if s not in moved and r.get("path") and not Path(r["path"]).exists())


def _index(plan: _Plan, store: Store, embedder: Embedder, settings: Settings,
           report: IngestReport, progress: bool, resumed: bool) -> None:
    """Read, chunk and embed the planned files, writing many files' chunks per round trip."""
    batch = _Batch(store, embedder, report)
    bar = _bar(len(plan.todo), progress)
    for path, got in prepared(plan.todo, settings.max_file_bytes, settings.chunk_tokens,
                              settings.chunk_overlap, settings.max_file_seconds):
        bar.set_postfix_str(path.name[-40:], refresh=False)
        rec = plan.records.get(got.source) if got.source else None
        try:
            if got.sha256:
                _check_same_file(rec, path, got.sha256)
            if got.error:
                raise IngestError(got.error)
        except IngestError as e:
            report.skipped.append((str(path), str(e)))
            bar.update(1)
            continue
        chunks = list(got.chunks)
        # Only a file the store may already hold chunks of needs a lookup.
        held = store.chunk_ids(got.source) if (rec is not None or resumed) else set()
        # Done are the chunks with their row too: a run killed between writing vectors and
        # their rows left vectors that must be written again, rows and all.
        done = store.table.present(sorted(held)) if held else held
        st = path.stat()
        # Only HTML keeps its text: its offsets index the extracted text, not the file.
        record = dict(source=got.source, sha256=got.sha256, kind=got.kind, text=got.text,
                      path=str(path.resolve()), size=st.st_size, mtime_ns=st.st_mtime_ns,
                      chunks=len(chunks), articles=got.articles, days=True,
                      chunk_tokens=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap)
        batch.add(chunks, done, held, record, new=rec is None and not held,
                  terms=dict(zip((c.id for c in chunks), got.terms)))
        bar.update(1)
    batch.flush()
    bar.close()


class _Batch:
    """Pending chunks of several files, written together; files commit after their chunks."""

    def __init__(self, store: Store, embedder: Embedder, report: IngestReport):
        self.store, self.embedder, self.report = store, embedder, report
        self.chunks, self.stale, self.records, self.terms = [], [], [], {}
        self.limit = _FIRST_FLUSH

    def add(self, chunks, done: set[str], held: set[str], record: dict, new: bool,
            terms: dict[str, str] | None = None) -> None:
        new_ids = {c.id for c in chunks}
        todo = [c for c in chunks if c.id not in done]
        self.chunks += todo
        self.terms.update(terms or {})
        self.stale += sorted(held - new_ids)
        self.records.append(record)
        r = self.report
        r.files_new += new
        r.files_changed += not new
        r.articles += record["articles"]
        r.chunks_added += len(todo)
        r.chunks_unchanged += len(chunks) - len(todo)
        r.chunks_removed += len(held - new_ids)
        if len(self.chunks) >= self.limit:
            self.flush()
            self.limit = min(self.limit * 2, _MAX_FLUSH)

    def flush(self) -> None:
        import numpy as np
        if self.chunks:
            vecs = [self.embedder.embed([_embed_text(c) for c in self.chunks[i:i + _EMBED_BATCH]])
                    for i in range(0, len(self.chunks), _EMBED_BATCH)]
            self.store.add(self.chunks, np.vstack(vecs), self.terms)
        self.store.delete(self.stale)
        if self.records:
            self.store.files.put_many(self.records)
        self.chunks, self.stale, self.records, self.terms = [], [], [], {}


def _discard(root: Path) -> None:
    """Remove what a store consists of, and its folder only if that leaves it empty."""
    for g in list(root.glob("g-*")) + list(root.glob(".tmp-*")):
        shutil.rmtree(g, ignore_errors=True)
    for name in ("CURRENT", "CURRENT.tmp", "VERSION", "VERSION.tmp", ".lock"):
        (root / name).unlink(missing_ok=True)
    try:
        root.rmdir()
    except OSError:
        pass


def _unique_names(files: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    # A citation names its file by name alone, so two files may not share one.
    seen: dict[str, Path] = {}
    keep, dupes = [], []
    for f in files:
        if f.name in seen:
            dupes.append((f, f"another file with the same name is already included ({seen[f.name]}); "
                             f"rename one of them"))
        else:
            seen[f.name] = f
            keep.append(f)
    return keep, dupes


def _check_same_file(record: dict | None, path: Path, sha: str) -> None:
    """Citations name files by name, so one name is one file. A file that moved (its old path
    is gone) is the same file; two live files with one name are a conflict the user resolves."""
    old = (record or {}).get("path")
    new = str(path.resolve())
    if old and old != new and Path(old).exists() and record.get("sha256") != sha:
        raise IngestError(f"another file named {path.name} is already indexed (from {old}); "
                          f"rename one of them, or drop the old one first: "
                          f"`rag remove {path.name}`")


def _embed_text(c) -> str:
    # The title gives a short chunk its subject ("he said ..." names nobody).
    return f"{c.title}\n{c.text}" if c.title else c.text


def remove_sources(names: Sequence[str], settings: Settings, embedder: Embedder | None = None) -> int:
    """Drop files from the index by name (in a new generation); returns the chunks removed."""
    embedder = embedder or make_embedder(settings)
    root = Path(settings.store)
    url = settings.chroma_url
    with Store(root, embedder.name, chroma_url=url) as current:
        unknown = [n for n in names if current.file_record(n) is None]
    if unknown:
        raise StoreError(f"not in the index: {', '.join(unknown)}. `rag stats --files` lists "
                         f"what is indexed.")
    with writer_lock(root):
        live = live_generation(root)
        if live is None:
            raise StoreError(f"the first ingest into {root} has not finished; run `rag ingest` "
                             f"again to complete it, then remove files.")
        if url:        # on a server, in place (see _ingest_locked)
            with Store(root, embedder.name, create=True, generation=live, chroma_url=url) as store:
                removed = sum(store.remove_file(n) for n in names)
                ensure_bm25(store, force=True)
            touch_version(root)
            return removed
        _check_intact(root, live)
        work = copy_generation(root, live)
        try:
            with Store(root, embedder.name, create=True, generation=work, expect=0) as store:
                removed = sum(store.remove_file(n) for n in names)
                ensure_bm25(store, force=True)
            publish(root, work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return removed

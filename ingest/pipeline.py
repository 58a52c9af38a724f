"""Incremental indexing: files -> articles -> chunks -> vectors -> store.

Each file is committed on its own: its chunks go in first, then its record in the `files`
collection. A file whose record matches its bytes is skipped (re-ingest is a no-op); a changed
file gets its new chunks added and its stale ones deleted; a killed run leaves records only for
finished files, and the next run adds just the chunks that are missing (ids are content hashes,
so nothing is duplicated).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rag.bm25 import ensure_bm25
from rag.embed import Embedder, make_embedder
from rag.settings import Settings
from rag.store import (Store, StoreError, live_generation, new_generation, publish, touch_version,
                       writer_lock)

from .chunk import chunk_document
from .read import IngestError, SourceDoc, discover, read_source
from .split import parse_articles

_EMBED_BATCH = 256


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
    pruned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_removed or self.pruned)

    def summary(self, skipped: bool = True) -> str:
        lines = [f"Indexed {self.files_seen - len(self.skipped)} file(s) into {self.store} "
                 f"in {self.seconds:.1f} s: {self.files_new} new, {self.files_changed} changed, "
                 f"{self.files_unchanged} unchanged; {self.articles} article(s).",
                 f"Chunks: {self.chunks_added} added, {self.chunks_unchanged} unchanged, "
                 f"{self.chunks_removed} removed."]
        if self.pruned:
            lines.append(f"Removed {len(self.pruned)} file(s) that are gone: {', '.join(self.pruned)}")
        for path, why in self.skipped if skipped else ():
            lines.append(f"Skipped {path}: {why}")
        return "\n".join(lines)


def _bar(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, unit="file", disable=not enabled, leave=False, dynamic_ncols=True)


def ingest_paths(paths: Sequence[Path] | None, settings: Settings, *, prune: bool = False,
                 rebuild: bool = False, progress: bool = True,
                 embedder: Embedder | None = None) -> IngestReport:
    """Index files and folders (default: the bundled corpus). Raises IngestError / StoreError
    before touching the store when the input as a whole is unusable (e.g. a missing path).

    A run that indexes nothing leaves no new store behind; `rebuild` builds into a fresh folder
    and swaps it in only when done, so a failed rebuild leaves the old index as it was."""
    t0 = time.perf_counter()
    paths = [Path(p) for p in (paths or [settings.corpus])]
    files, skipped = discover(paths)
    files, dupes = _unique_names(files)
    embedder = embedder or make_embedder(settings)
    root = Path(settings.store)
    report = IngestReport(str(root), files_seen=len(files) + len(skipped) + len(dupes),
                          skipped=[(str(p), w) for p, w in skipped + dupes])
    discard = False
    try:
        with writer_lock(root):
            existed = live_generation(root) is not None
            generation = new_generation(root) if rebuild else None
            indexed = 0
            try:
                store = Store(root, embedder.name, create=True, generation=generation,
                              chroma_url=settings.chroma_url)
                _ingest_files(files, store, embedder, settings, report, progress)
                if prune:
                    _prune(store, report)
                ensure_bm25(store, force=report.changed)
                indexed = report.files_seen - len(report.skipped)
                if generation is not None and indexed:
                    publish(root, generation)
                    generation = None
                elif report.changed:
                    touch_version(root)
            finally:
                if generation is not None:      # a rebuild that failed or found nothing to index
                    shutil.rmtree(generation, ignore_errors=True)
                # A new store into which no file was committed (all input bad, or the first
                # file failed) is removed; one with committed files stays, to be resumed.
                discard = not existed and report.files_new + report.files_changed == 0
    finally:
        if discard:
            _discard(root)              # nothing indexed: leave no empty store behind
    report.seconds = time.perf_counter() - t0
    return report


def _ingest_files(files, store, embedder, settings, report, progress) -> None:
    bar = _bar(len(files), progress)
    for path in files:
        bar.set_postfix_str(path.name[-40:], refresh=False)
        try:
            doc = read_source(path, max_bytes=settings.max_file_bytes)
            _ingest_one(doc, store, embedder, settings, report)
        except IngestError as e:
            report.skipped.append((str(path), str(e)))
        bar.update(1)
    bar.close()


def _discard(root: Path) -> None:
    """Remove what a store consists of, and its folder only if that leaves it empty: --store
    may point at a folder that holds other things."""
    for g in root.glob("g-*"):
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


def _ingest_one(doc: SourceDoc, store: Store, embedder: Embedder, settings: Settings,
                report: IngestReport) -> None:
    record = store.file_record(doc.source)
    _check_same_file(record, doc)
    existing = store.chunk_ids(doc.source)
    if record and record.get("sha256") == doc.sha256 and record.get("chunks") == len(existing) \
            and record.get("chunk_tokens") == settings.chunk_tokens \
            and record.get("chunk_overlap") == settings.chunk_overlap:
        report.files_unchanged += 1
        report.articles += int(record.get("articles", 0))
        report.chunks_unchanged += len(existing)
        if record.get("path") != str(doc.path.resolve()):   # moved: remember where it is now
            store.put_file(doc.source, doc.sha256, doc.kind, doc.text,
                           **{k: v for k, v in record.items() if k not in ("sha256", "kind", "path")},
                           path=str(doc.path.resolve()))
        return
    parsed = parse_articles(doc)
    chunks = chunk_document(doc, parsed, settings.chunk_tokens, settings.chunk_overlap)
    if not chunks:
        raise IngestError(f"no article text found in {doc.source} after cleaning")
    new_ids = {c.id for c in chunks}
    todo = [c for c in chunks if c.id not in existing]
    for i in range(0, len(todo), _EMBED_BATCH):
        batch = todo[i:i + _EMBED_BATCH]
        store.add(batch, embedder.embed([_embed_text(c) for c in batch]), doc.sha256)
    stale = existing - new_ids
    store.delete(stale)
    store.put_file(doc.source, doc.sha256, doc.kind, doc.text, chunks=len(chunks),
                   articles=len(parsed), path=str(doc.path.resolve()),
                   chunk_tokens=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap)
    if record is None and not existing:
        report.files_new += 1
    else:
        report.files_changed += 1
    report.articles += len(parsed)
    report.chunks_added += len(todo)
    report.chunks_unchanged += len(chunks) - len(todo)
    report.chunks_removed += len(stale)


def _check_same_file(record: dict | None, doc: SourceDoc) -> None:
    """Citations name files by name, so one name is one file. A file that moved (its old path
    is gone) is the same file; two live files with one name are a conflict the user resolves."""
    old = (record or {}).get("path")
    new = str(doc.path.resolve())
    if old and old != new and Path(old).exists() and record.get("sha256") != doc.sha256:
        raise IngestError(f"another file named {doc.source} is already indexed (from {old}); "
                          f"rename one of them, or drop the old one first: "
                          f"`rag remove {doc.source}`")


def _embed_text(c) -> str:
    # The title gives a short chunk its subject ("he said ..." names nobody).
    return f"{c.title}\n{c.text}" if c.title else c.text


def _prune(store: Store, report: IngestReport) -> None:
    for source in store.sources():
        path = (store.file_record(source) or {}).get("path")
        if path and not Path(path).exists():
            report.chunks_removed += store.remove_file(source)
            report.pruned.append(source)


def remove_sources(names: Sequence[str], settings: Settings, embedder: Embedder | None = None) -> int:
    """Drop files from the index by name; returns the number of chunks removed."""
    embedder = embedder or make_embedder(settings)
    store = Store(settings.store, embedder.name, chroma_url=settings.chroma_url)
    unknown = [n for n in names if store.file_record(n) is None]
    if unknown:
        raise StoreError(f"not in the index: {', '.join(unknown)}. `rag stats --files` lists "
                         f"what is indexed.")
    with writer_lock(store.path):
        removed = sum(store.remove_file(n) for n in names)
        ensure_bm25(store, force=True)
        touch_version(store.path)
    return removed

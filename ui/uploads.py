"""Uploaded files into the index: checked on the server, stored under the app's data folder with
safe names, ingested one at a time so each gets its own verdict.

A file is stored under a name made only of letters, digits, `.`, `-` and `_` (so a crafted name
such as `../../etc/passwd.txt` cannot leave the uploads folder), and is never executed: it is
read as text (HTML through the extractor). A rejected file leaves the index as it was, and a
rejected re-upload of a name keeps the copy that is indexed.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED = (".txt", ".md", ".html", ".htm")
MAX_NAME = 120


@dataclass
class UploadSummary:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "unchanged": self.unchanged,
                "rejected": [list(r) for r in self.rejected]}


class UploadError(ValueError):
    pass


def safe_name(name: str) -> str:
    """The name an upload is stored under; raises UploadError for a type we do not read."""
    base = re.split(r"[\\/]", str(name))[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in ALLOWED:
        raise UploadError(f"{suffix or 'no extension'} files are not read; upload "
                          f"{', '.join(ALLOWED[:3])} files")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:MAX_NAME - len(suffix)]
    return (stem or "upload") + suffix


def ingest_uploads(paths, folder: Path, settings, embedder, progress=None) -> UploadSummary:
    """Store and index each uploaded file (`paths`: files on the server, named as uploaded)."""
    from ingest.pipeline import ingest_paths
    folder.mkdir(parents=True, exist_ok=True)
    summary = UploadSummary()
    paths = [Path(p) for p in paths or []]
    for i, src in enumerate(paths):
        if progress:
            progress((i, len(paths)), desc=f"Indexing {src.name}")
        shown = src.name
        try:
            name = safe_name(src.name)
            size = src.stat().st_size
            if size > settings.max_file_bytes:
                raise UploadError(f"the file is {size:,} bytes, over the limit of "
                                  f"{settings.max_file_bytes:,} (RAG_MAX_FILE_BYTES)")
        except (UploadError, OSError) as e:
            summary.rejected.append((shown, str(e)))
            continue
        final = folder / name
        before = final.read_bytes() if final.is_file() else None
        shutil.copyfile(src, final)
        try:
            report = ingest_paths([final], settings, progress=False, embedder=embedder)
            why = report.skipped[0][1] if report.skipped else None
        except (ValueError, OSError) as e:      # IngestError, StoreError (e.g. a writer lock)
            why = str(e)
        if why:
            _restore(final, before)
            summary.rejected.append((shown, why.replace(str(final), name)))
        elif report.files_unchanged:
            summary.unchanged.append(name)
        else:
            summary.added.append(name)
    if progress:
        progress((len(paths), len(paths)), desc="Done")
    return summary


def _restore(final: Path, before: bytes | None) -> None:
    if before is None:
        final.unlink(missing_ok=True)
    else:
        final.write_bytes(before)

"""Files -> `SourceDoc`: the exact text that every citation offset indexes into.

Plain-text files are read the way the citation checker reads them (`open(path, encoding="utf-8")
.read()`, universal newlines, a BOM kept as U+FEFF), so `text[start:end]` means the same thing
everywhere. HTML pages are reduced to their article text with trafilatura; offsets then refer to
that extracted text, which the store keeps beside the index.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md"}
HTML_SUFFIXES = {".html": "html", ".htm": "html"}
KINDS = {**TEXT_SUFFIXES, **HTML_SUFFIXES}
VALID = ", ".join(sorted(KINDS))
MIN_HTML_WORDS = 20

# Leading bytes of common binary formats that carry no NUL in their first bytes.
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b",
                 b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"\x7fELF", b"OggS", b"ID3")


class IngestError(ValueError):
    """A file that cannot be ingested; the message names the problem and the fix."""


@dataclass(frozen=True, slots=True)
class SourceDoc:
    source: str          # file name, e.g. "000_c73e7dc4e8ffbfc0.txt"
    path: Path
    kind: str            # "txt" | "md" | "html"
    text: str            # what offsets index into
    sha256: str          # of the raw file bytes
    title: str | None = None   # HTML only: from the page's metadata
    date: str | None = None    # HTML only: ISO date from the page's metadata


def read_source(path: Path, max_bytes: int = 20_000_000) -> SourceDoc:
    path = Path(path)
    kind = _check_path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"{path}: file is {size:,} bytes, over the limit of {max_bytes:,}; "
                          "split it or raise the limit with RAG_MAX_FILE_BYTES")
    raw = path.read_bytes()
    if not raw.strip():
        what = "empty" if not raw else "whitespace only"
        raise IngestError(f"{path}: file is {what}; add article text or remove the file")
    _check_not_binary(path, raw)
    digest = hashlib.sha256(raw).hexdigest()
    if kind == "html":
        text, title, date = _extract_html(path, raw)
        return SourceDoc(path.name, path, kind, text, digest, title, date)
    text = _decode_utf8(path, raw)
    # Universal newlines, exactly what open(path, encoding="utf-8").read() returns.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.replace("\ufeff", "").strip():
        raise IngestError(f"{path}: file is whitespace only; add article text or remove the file")
    return SourceDoc(path.name, path, kind, text, digest)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read and (path, reason) pairs skipped. Folders are walked recursively in sorted
    order, hidden files and folders left out; a file named explicitly is always returned, so
    `read_source` can say precisely what is wrong with it."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for top in map(Path, paths):
        if not top.exists():
            raise IngestError(f"{top}: no such file or folder; check the path")
        if not top.is_dir():
            add(top)
            continue
        for root, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                p = Path(root) / name
                if p.suffix.lower() in KINDS:
                    add(p)
                else:
                    skipped.append((p, f"unsupported extension {p.suffix or '(none)'!r}; "
                                       f"valid: {VALID}"))
    return files, skipped


def _check_path(path: Path) -> str:
    if not path.exists():
        raise IngestError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise IngestError(f"{path}: is a folder, expected a file; pass the folder to discover() "
                          "or name a file inside it")
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"{path}: unsupported extension {path.suffix or '(none)'!r}; "
                          f"valid: {VALID}")
    return kind


def _check_not_binary(path: Path, raw: bytes) -> None:
    nul = raw.find(b"\x00", 0, 8192)
    if nul >= 0 or raw.startswith(_BINARY_MAGIC):
        where = f"NUL byte at offset {nul}" if nul >= 0 else "binary file signature"
        raise IngestError(f"{path}: binary file ({where}), not text; convert it to .txt or "
                          "remove it from the corpus")


def _decode_utf8(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IngestError(f"{path}: not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                          f"convert it, e.g. iconv -f LATIN1 -t UTF-8 {path.name} > fixed.txt"
                          ) from None


def _extract_html(path: Path, raw: bytes) -> tuple[str, str | None, str | None]:
    import trafilatura  # heavy import, only needed for HTML

    # Bytes, not str: trafilatura honours the page's declared charset.
    text = trafilatura.extract(raw, include_comments=False, include_tables=False,
                               favor_precision=True, output_format="txt", with_metadata=False)
    words = len(text.split()) if text else 0
    # What is left of a page without an article is a menu ("Home World Sport"): no sentences.
    if words < MIN_HTML_WORDS or not re.search(r"[.!?]", text or ""):
        raise IngestError(f"{path}: no article text found in this HTML page ({words} words "
                          "extracted: navigation or scripts only?); save the article as .txt")
    meta = trafilatura.extract_metadata(raw.decode("utf-8", errors="replace"))
    title = (meta.title or "").strip() or None if meta else None
    date = (meta.date or None) if meta else None
    return text, title, date

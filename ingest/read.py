"""Files -> `SourceDoc`: the exact text that every citation offset indexes into.

Plain-text files are read the way the citation checker reads them (`open(path, encoding="utf-8")
.read()`, universal newlines, a BOM kept as U+FEFF), so `text[start:end]` means the same thing
everywhere. HTML pages are reduced to their article text with trafilatura; offsets then refer to
that extracted text, which the store keeps beside the index.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
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
    raw = _read_bytes(path, max_bytes)
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
    order, hidden files and folders left out, symbolic links to folders not followed (each is
    reported: a link loop would otherwise walk forever); a file named explicitly is always
    returned, so `read_source` can say precisely what is wrong with it."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)       # never raises, unlike Path.resolve() on a link loop
        if key not in seen:
            seen.add(key)
            files.append(p)

    for top in map(Path, paths):
        if not top.exists():
            if os.path.islink(top):
                raise IngestError(f"{top}: {_link_problem(top)}; fix or remove the link")
            raise IngestError(f"{top}: no such file or folder; check the path")
        if not top.is_dir():
            add(top)
            continue
        for root, dirs, names in os.walk(top):
            for d in dirs:
                p = Path(root) / d
                if os.path.islink(p) and not d.startswith("."):
                    skipped.append((p, _folder_link(p)))
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not os.path.islink(Path(root) / d))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                p = Path(root) / name
                why = _not_a_file(p)
                if why:
                    skipped.append((p, why))
                elif p.suffix.lower() in KINDS:
                    add(p)
                else:
                    skipped.append((p, f"unsupported extension {p.suffix or '(none)'!r}; "
                                       f"valid: {VALID}"))
    return files, skipped


def _not_a_file(p: Path) -> str | None:
    """Why a folder entry is not a readable regular file (None when it is one)."""
    try:
        st = os.stat(p)
    except OSError:
        return _link_problem(p) if os.path.islink(p) else "vanished while the folder was read"
    if stat.S_ISREG(st.st_mode):
        return None
    return f"not a regular file ({_file_type(st.st_mode)}); only files are indexed"


def _link_problem(p: Path) -> str:
    try:
        os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself)"
        return f"broken symbolic link (it points to {os.readlink(p)!r}, which does not exist)"
    return "symbolic link"


def _folder_link(p: Path) -> str:
    target = os.path.realpath(p)
    parent = os.path.realpath(p.parent)
    if parent == target or parent.startswith(target.rstrip(os.sep) + os.sep):
        return (f"symbolic link loop (it points back to {target}, a folder that contains it); "
                "not followed")
    return f"symbolic link to a folder, not followed; pass {target} itself to index it"


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or an IngestError saying why not. Opened without blocking and checked
    on the open descriptor, so a named pipe (or a file swapped for one) cannot hang the ingest."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise IngestError(_os_problem(path, e)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IngestError(f"{path}: not a regular file ({_file_type(st.st_mode)}); "
                              "only files are indexed")
        if st.st_size > max_bytes:
            raise IngestError(f"{path}: file is {st.st_size:,} bytes, over the limit of "
                              f"{max_bytes:,}; split it or raise the limit with RAG_MAX_FILE_BYTES")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(max_bytes + 1)     # the file may have grown since fstat
    except OSError as e:
        raise IngestError(_os_problem(path, e)) from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise IngestError(f"{path}: file is over the limit of {max_bytes:,} bytes; split it or "
                          "raise the limit with RAG_MAX_FILE_BYTES")
    return raw


def _os_problem(path: Path, e: OSError) -> str:
    if isinstance(e, PermissionError):
        return (f"{path}: cannot read it (permission denied); make it readable "
                f"(chmod a+r {path.name}) or move it out of the corpus")
    if e.errno == errno.ELOOP:
        return f"{path}: symbolic link loop (the link leads back to itself); fix or remove it"
    return f"{path}: cannot read it ({e.strerror or e}); check the file, or move it out of the corpus"


def _check_path(path: Path) -> str:
    if not path.exists():
        if os.path.islink(path):
            raise IngestError(f"{path}: {_link_problem(path)}; fix or remove the link")
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
        depth = nesting_depth(raw)
        if depth > MAX_HTML_DEPTH:
            raise IngestError(f"{path}: HTML nested {depth:,} elements deep; the HTML parser "
                              f"stops at {MAX_HTML_DEPTH} and the text below that is lost "
                              f"({words} words extracted); save the article as .txt")
        raise IngestError(f"{path}: no article text found in this HTML page ({words} words "
                          "extracted: navigation or scripts only?); save the article as .txt")
    meta = trafilatura.extract_metadata(raw.decode("utf-8", errors="replace"),
                                        date_config=_DATE_CONFIG)
    title = (meta.title or "").strip() or None if meta else None
    date = (meta.date or None) if meta else None
    return text, title, date


MAX_HTML_DEPTH = 255     # libxml2's default depth limit, which lxml (and so trafilatura) uses
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
_VOID = {b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
         b"source", b"track", b"wbr", b"p", b"li", b"option", b"td", b"th", b"tr"}


def nesting_depth(raw: bytes) -> int:
    """How deep elements nest, from a linear scan of the tags (no tree: that is what fails).
    Elements whose end tag is optional or absent (`<br>`, `<p>`) are not counted."""
    depth = deepest = 0
    for m in _TAG.finditer(raw):
        name = m.group(2).lower()
        if name in _VOID or m.group(3):
            continue
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest


# htmldate reads the page's markup (meta tags, JSON-LD, <time>, the URL); its "extensive" search
# would also guess from any date in the body text, which can be a date the article only mentions.
# The publication date, not the last edit; no date at all rather than a guessed one.
_DATE_CONFIG = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"}

"""Generations: how a store changes while engines keep reading it.

A store root holds generation folders `g-<id>/` and a `CURRENT` file naming the live one.
A published generation is never written again. Every change (ingest, remove, prune, rebuild)
writes a new generation, a copy of the live one or an empty one for `--rebuild`, and publishes
it by replacing `CURRENT` atomically. A reader opens one generation and answers from it alone
until it sees `CURRENT` change, then opens the new one whole: old index or new, never a mix.

Why copies rather than writing in place: Chroma's PersistentClient is not multi-process safe.
A process loads the HNSW graph into memory when it opens a folder and never sees another
process's later writes to it (chroma-core/chroma#3792), so after a remove elsewhere its vector
search returns ids whose records are gone; a new client in the same process reuses the cached
graph. A fresh folder per change gives each reader a consistent, unchanging view.

Markers inside a generation folder:
    BUILDING  being written (holds the name of the generation it was copied from, "-" for none,
              "rebuild" for a fresh one); an interrupted writer resumes a generation whose parent
              is still live, so committed files are not redone
    RETIRED   replaced by a later publish; deleted once no reader holds it
    .readers  readers hold a shared lock on it while they use the generation; a retired
              generation is deleted only when its exclusive lock can be taken

Nothing but a publish retires a generation, and a publish only retires the one it replaced
(copied from, or `--rebuild`): a store whose `CURRENT` is lost or damaged is refused with a
message naming the fix, never silently replaced by a new, smaller index.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

try:
    import fcntl
except ImportError:        # Windows: no shared locks; retired folders wait for the next writer
    fcntl = None

CURRENT, BUILDING, RETIRED, READERS = "CURRENT", "BUILDING", "RETIRED", ".readers"
VERSION = "VERSION"
REMOTE = "REMOTE"       # rag.remote.MARKER: the generation's collections live on a server
FRESH, REBUILD = "-", "rebuild"


class StoreError(ValueError):
    """A problem with the store that the user can fix; the message says how."""


def _fixes(root: Path) -> str:
    return (f"Nothing was changed. `rag doctor --store {root}` lists what is there and "
            f"`rag doctor --repair --store {root}` restores the newest complete index; or "
            f"re-index from your files with `rag ingest --rebuild --store {root} PATH`.")


def holds_index(gen: Path) -> bool:
    return (gen / "chroma").is_dir() or (gen / REMOTE).exists()


def generations(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).glob("g-*") if p.is_dir())


def is_building(gen: Path) -> bool:
    return (gen / BUILDING).exists()


def is_retired(gen: Path) -> bool:
    return (gen / RETIRED).exists()


def parent_of(gen: Path) -> str | None:
    try:
        return (gen / BUILDING).read_text().strip()
    except OSError:
        return None


def version(root: Path) -> str:
    """What engines compare to notice a change: the live generation's name, and the VERSION
    marker that in-place writers (Chroma server mode) touch."""
    out = [_read(Path(root) / CURRENT), _read(Path(root) / VERSION)]
    return ":".join(out) if any(out) else ""


def current_name(root: Path) -> str:
    return _read(Path(root) / CURRENT)


def _read(path: Path) -> str:
    try:   # damage is reported by live_generation(); here any bytes are just a version
        return path.read_bytes().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def touch_version(root: Path) -> None:
    """Record an in-place change (server mode), so open engines reload."""
    tmp = Path(root) / (VERSION + ".tmp")
    tmp.write_text(uuid.uuid4().hex)
    os.replace(tmp, Path(root) / VERSION)


def live_generation(root: Path) -> Path | None:
    """The live generation named by CURRENT; None if there is no CURRENT file. A CURRENT that
    names nothing usable is damage, reported with the fix."""
    root = Path(root)
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise StoreError(f"the index marker {root / CURRENT} cannot be read ({e}). "
                         + _fixes(root)) from None
    folder = root / name
    if not name.startswith("g-") or "/" in name or not holds_index(folder):
        raise StoreError(f"the index marker {root / CURRENT} names {name[:80]!r}, which is not a "
                         f"generation folder of this index. " + _fixes(root))
    return folder


def unfinished_first(root: Path) -> Path | None:
    """A store whose first ingest never finished has no CURRENT, only building generations
    that were started from nothing; the newest of them is the one to resume (or read)."""
    gens = generations(root)
    first = [g for g in gens if parent_of(g) == FRESH and holds_index(g)]
    return first[-1] if first and len(first) == len(gens) else None


def check_unmarked(root: Path) -> None:
    """Refuse a root without CURRENT that still holds index data, or holds someone else's
    files: writing a new index there could bury or delete what it holds."""
    root = Path(root)
    gens = generations(root)
    if gens and unfinished_first(root) is None:
        raise StoreError(f"the index at {root} has no {CURRENT} marker but holds "
                         f"{len(gens)} generation folder(s). " + _fixes(root))
    if not gens and root.is_dir():
        foreign = sorted(p.name for p in root.iterdir()
                         # web/: pages `rag ingest URL` fetched before the first index exists
                         if p.name not in (".lock", CURRENT + ".tmp", "web")
                         and not p.name.startswith(".tmp-"))
        if foreign:
            hint = (" (it looks like a bare Chroma folder)" if "chroma.sqlite3" in foreign else "")
            raise StoreError(f"{root} is not a rag-news index{hint}: it holds "
                             f"{', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}. "
                             f"Nothing was changed. Point --store / RAG_STORE at a new or empty "
                             f"folder.")


def new_generation(root: Path, parent: str = FRESH) -> Path:
    folder = Path(root) / f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    (folder / BUILDING).write_text(parent)
    return folder


def copy_generation(root: Path, source: Path) -> Path:
    """A building copy of `source`. Copied under a temporary name first, so a kill mid-copy
    never leaves a half-copied folder that looks resumable. Safe while readers use `source`:
    each SQLite file is copied as last committed (`_copy_file`)."""
    root = Path(root)
    tmp = root / f".tmp-{uuid.uuid4().hex[:8]}"
    # bm25/ is not copied: every writer that publishes rebuilds it from the chunk table (and a
    # reader of a copy without it rebuilds it too), so copying it only adds bytes written.
    # A rollback journal belongs to a write in progress in `source`, never to the copy.
    skip = shutil.ignore_patterns(READERS, RETIRED, BUILDING, "*.old", ".bm25-*", "bm25",
                                  "*-journal")
    try:
        shutil.copytree(source, tmp, ignore=skip, copy_function=_copy_file)
    except sqlite3.Error as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if busy(e):
            raise StoreError(f"the index at {root} could not be copied for the change: a "
                             f"process kept a commit to it under way for over {COPY_WAIT:g} s "
                             f"({e}). Nothing was changed. Run the command again.") from None
        raise StoreError(f"the index at {root} could not be copied for the change: {e}. "
                         f"Nothing was changed. Run `rag doctor` to check the store.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / BUILDING).write_text(source.name)
    folder = root / f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    os.replace(tmp, folder)
    return folder


# How long a copy waits for a commit in progress on the generation it copies (SQLite's busy
# timeout): readers write too (Chroma's start-up row, a log purge), each for milliseconds.
COPY_WAIT = 60.0


def busy(e: sqlite3.Error) -> bool:
    """SQLite gave up waiting for another connection: worth a retry, not a sign of damage."""
    return getattr(e, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")


def _copy_file(src: str, dst: str) -> str:
    """Copy a file; a SQLite database under a read transaction on it. Readers of a live
    generation write its chroma.sqlite3 (every Chroma client's start-up writes a row), and a
    plain copy taken meanwhile took that write's rollback journal along (17 of 60 copies while
    two other processes opened the live generation in a loop): a hot journal for the copy's
    first client to roll back, or, when the write commits between the copy's listing and its
    copying of the journal, a failed copy. Holding a read lock, the database file holds only
    what was committed (a writer needs the exclusive lock to change it, and waits for the copy,
    Chroma for up to its busy timeout), so the journal is not copied."""
    if not src.endswith((".sqlite", ".sqlite3")):
        return shutil.copy2(src, dst)
    # Read-write, not mode=ro: a hot journal a killed writer left is rolled back first.
    db = sqlite3.connect(src, timeout=COPY_WAIT)
    try:
        db.execute("BEGIN")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()    # takes the read lock
        return shutil.copy2(src, dst)
    finally:
        db.close()


def resumable(root: Path, parent: str) -> Path | None:
    """A building generation left by an interrupted writer that started from `parent`."""
    found = [g for g in generations(root) if parent_of(g) == parent and holds_index(g)]
    return found[-1] if found else None


def publish(root: Path, generation: Path) -> None:
    """Make `generation` live: CURRENT is replaced atomically, then the generation it replaced
    is marked retired and retired folders no reader holds are deleted."""
    root = Path(root)
    previous = current_name(root)
    tmp = root / (CURRENT + ".tmp")
    tmp.write_text(generation.name)
    os.replace(tmp, root / CURRENT)
    (generation / BUILDING).unlink(missing_ok=True)
    if previous and previous != generation.name and (root / previous).is_dir():
        (root / previous / RETIRED).write_text(generation.name)
    collect(root)


def collect(root: Path) -> list[str]:
    """Delete retired generations no reader holds, and building ones that can no longer be
    resumed (their parent is not live). Callers hold the writer lock. Returns what went."""
    root = Path(root)
    live = current_name(root)
    gone = []
    for g in generations(root):
        if g.name == live:
            continue
        stale_build = is_building(g) and parent_of(g) not in (live or FRESH,)
        if not (is_retired(g) or stale_build):
            continue
        if _try_exclusive(g):
            gone.append(g.name)
    for t in Path(root).glob(".tmp-*"):          # copies a killed writer left half done
        shutil.rmtree(t, ignore_errors=True)
    return gone


def _try_exclusive(gen: Path) -> bool:
    if fcntl is None:
        shutil.rmtree(gen, ignore_errors=True)
        return not gen.exists()
    try:
        fh = open(gen / READERS, "a+")
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False               # a reader still answers from it
        shutil.rmtree(gen, ignore_errors=True)
        return True


class Lease:
    """A reader's shared hold on a generation, released when the reader closes (or dies)."""

    def __init__(self, gen: Path):
        self._fh = open(gen / READERS, "a+")   # FileNotFoundError if the folder just went
        if fcntl is not None:
            fcntl.flock(self._fh, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()                   # closing drops the lock
            self._fh = None

"""`rag doctor`: what a store holds, what is wrong with it, and (with --repair) the one repair
that loses nothing: pointing a lost or damaged CURRENT marker back at the newest complete
generation. It never deletes anything; `rag ingest --rebuild` is the way to start afresh.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import generations as G


@dataclass
class GenerationReport:
    name: str
    state: str                      # live, retired, building, unmarked
    documents: int | None = None
    problem: str | None = None


@dataclass
class DoctorReport:
    store: str
    marker: str                     # ok, missing, damaged, none (no index)
    generations: list[GenerationReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repaired: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"store: {self.store}", f"CURRENT marker: {self.marker}"]
        for g in self.generations:
            docs = "?" if g.documents is None else g.documents
            lines.append(f"  {g.name}  {g.state:<8}  {docs} document(s)"
                         + (f"  PROBLEM: {g.problem}" if g.problem else ""))
        lines += [f"problem: {p}" for p in self.problems]
        if self.repaired:
            lines.append(f"repaired: CURRENT now names {self.repaired}")
        elif self.ok:
            lines.append("no problems found")
        return "\n".join(lines)


def examine(root: Path, repair: bool = False) -> DoctorReport:
    root = Path(root)
    live_name = G.current_name(root)
    try:
        live = G.live_generation(root)
        marker = "ok" if live else "missing"
    except G.StoreError:
        live, marker = None, "damaged"
    gens = G.generations(root)
    if marker == "missing" and not gens:
        marker = "none"
    report = DoctorReport(str(root), marker)
    for g in gens:
        state = ("live" if live is not None and g == live else "retired" if G.is_retired(g)
                 else "building" if G.is_building(g) else "unmarked")
        report.generations.append(_examine(g, state))
    if marker == "none":
        report.problems.append(f"no index here; build one with `rag ingest --store {root} PATH`")
    if marker in ("missing", "damaged") and gens:
        report.problems.append(f"the CURRENT marker is {marker}"
                               + (f" (it reads {live_name[:60]!r})" if live_name else ""))
    for g in report.generations:
        if g.problem and g.state == "live":
            report.problems.append(f"the live generation {g.name} is damaged ({g.problem}); "
                                   f"re-index with `rag ingest --rebuild --store {root} PATH`")
    if repair and marker in ("missing", "damaged"):
        candidates = [g for g in report.generations
                      if g.state in ("unmarked", "retired") and not g.problem]
        if candidates:
            best = max(candidates, key=lambda g: (g.state == "unmarked", g.name))
            tmp = root / (G.CURRENT + ".tmp")
            tmp.write_text(best.name)
            tmp.replace(root / G.CURRENT)
            report.repaired = best.name
            report.problems = [p for p in report.problems if "CURRENT marker" not in p]
        else:
            report.problems.append(f"no complete generation to restore; re-index with "
                                   f"`rag ingest --rebuild --store {root} PATH`")
    elif marker in ("missing", "damaged") and gens:
        report.problems.append(f"`rag doctor --repair --store {root}` points CURRENT at the newest "
                               f"complete generation")
    return report


def _examine(gen: Path, state: str) -> GenerationReport:
    out = GenerationReport(gen.name, state)
    db = gen / "chroma" / "chroma.sqlite3"
    if db.exists():
        out.problem = sqlite_problem(db)
    elif not (gen / G.REMOTE).exists():
        out.problem = "no chroma.sqlite3"
    table = gen / "files.sqlite"
    if table.exists():
        try:
            con = sqlite3.connect(f"{table.absolute().as_uri()}?mode=ro", uri=True)
            out.documents = con.execute("SELECT count(*) FROM files").fetchone()[0]
            con.close()
        except sqlite3.Error as e:
            out.problem = out.problem or f"files.sqlite: {e}"
    return out


def header_problem(db: Path) -> str | None:
    """What the first 100 bytes of a sqlite file say is wrong with it, in microseconds: not a
    database at all, or shorter than the size its header records (a truncated copy)."""
    try:
        with open(db, "rb") as f:
            head = f.read(100)
        size = db.stat().st_size
    except OSError as e:
        return f"{db.name}: {e.strerror or e}"
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        return f"{db.name} is not a SQLite database"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    # The in-header page count is trusted only when it was written by the last change.
    if head[24:28] == head[92:96] and pages and pages * page > size:
        return f"{db.name} is truncated ({size:,} of {pages * page:,} bytes)"
    return None


def sqlite_problem(db: Path) -> str | None:
    problem = header_problem(db)
    if problem:
        return problem
    try:
        # A commit in progress (a Chroma client starting on the live generation writes a row)
        # is waited for, as a copy waits for it. With SQLite's default 5 s, one held longer
        # was reported as damage ("database is locked"), with the advice to re-index.
        con = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True,
                              timeout=G.COPY_WAIT)
        try:
            row = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.Error as e:
        # Busy is not damage: a copy after this waits, or says it could not.
        return None if G.busy(e) else f"chroma.sqlite3: {e}"
    return None if row and row[0] == "ok" else f"chroma.sqlite3: {row[0] if row else 'unreadable'}"

"""Ingest fuzzing: a folder of hostile files dropped into a store that already holds articles.
Random bytes under text and HTML names, zero-byte and whitespace-only files, a megabyte line,
HTML nested thousands deep, wrong extensions, link loops, a broken link, a named pipe, a folder
named like a file, a link out to a folder. Every file is indexed or skipped with a reason; the
run never raises; the articles already indexed are untouched and the rejected files add nothing.
(Unreadable files need a process without root's override: tests/test_hostile_input.py.)"""
from __future__ import annotations

import os
import random
import shutil

from ingest.pipeline import ingest_paths
from rag.store import Store
from tests.conftest import CORPUS
from tests.test_hostile_input import long_line

SEEDS = range(12)


def hostile_folder(root) -> tuple[set[str], set[str]]:
    """Writes the files; returns (names that must be skipped, names that may be indexed)."""
    d = root / "drop"
    d.mkdir()
    bad: set[str] = set()
    for seed in SEEDS:
        rnd = random.Random(seed)
        data = rnd.randbytes(rnd.choice([1, 7, 300, 5000, 70000]))
        ext = rnd.choice([".txt", ".md", ".html"])
        (d / f"random_{seed}{ext}").write_bytes(data)
        bad.add(f"random_{seed}{ext}")
    (d / "zero.txt").write_bytes(b"")
    (d / "blank.md").write_text(" \n\t\n\ufeff  \n", encoding="utf-8")
    (d / "nul_in_text.txt").write_bytes(b"Words and words\x00 and more words.")
    (d / "deep.html").write_text("<html><body>" + "<div>" * 4000 + "<p>" +
                                 "The council met on Monday and agreed the budget. " * 10 +
                                 "</p>" + "</div>" * 4000 + "</body></html>", encoding="utf-8")
    (d / "notes.pdf").write_bytes(b"%PDF-1.7\n" + bytes(100))
    (d / "archive.txt").write_bytes(b"PK\x03\x04" + bytes(100))
    (d / "loop_a.txt").symlink_to("loop_b.txt")
    (d / "loop_b.txt").symlink_to("loop_a.txt")
    (d / "dangling.txt").symlink_to("nowhere.txt")
    (d / "self").symlink_to(".")
    (d / "outside").symlink_to(root)
    (d / "dir.txt").mkdir()          # a folder named like a file: walked into, holds nothing
    os.mkfifo(d / "pipe.txt")
    bad |= {"zero.txt", "blank.md", "nul_in_text.txt", "deep.html", "notes.pdf", "archive.txt",
            "loop_a.txt", "loop_b.txt", "dangling.txt", "self", "outside", "pipe.txt"}
    (d / "one_line.txt").write_text(long_line(1_000_000), encoding="utf-8")   # valid, huge
    shutil.copy(CORPUS / "003_f62552b4376e47fb.txt", d)
    return bad, {"one_line.txt", "003_f62552b4376e47fb.txt"}


def test_hostile_files_are_each_reported_and_the_store_keeps_what_it_had(
        fresh_settings, embedder, tmp_path):
    ingest_paths([CORPUS / "000_c73e7dc4e8ffbfc0.txt", CORPUS / "004_e30819fc19684813.txt"],
                 fresh_settings, progress=False, embedder=embedder)
    store = Store(fresh_settings.store, embedder.name)
    before = {s: store.chunk_ids(s) for s in store.sources()}
    store.close()

    bad, good = hostile_folder(tmp_path)
    report = ingest_paths([tmp_path / "drop"], fresh_settings, progress=False, embedder=embedder)

    reasons = {os.path.basename(p): why for p, why in report.skipped}
    assert bad <= set(reasons), bad - set(reasons)
    assert all(len(why) > 15 for why in reasons.values()), reasons
    assert not good & set(reasons), {n: reasons[n] for n in good & set(reasons)}
    assert "symbolic link loop" in reasons["loop_a.txt"] and "named pipe" in reasons["pipe.txt"]
    assert "nested" in reasons["deep.html"] and "broken symbolic link" in reasons["dangling.txt"]

    store = Store(fresh_settings.store, embedder.name)
    try:
        after = {s: store.chunk_ids(s) for s in store.sources()}
    finally:
        store.close()
    assert set(after) == set(before) | good           # rejected files added nothing
    assert all(after[s] == ids for s, ids in before.items())   # and changed nothing

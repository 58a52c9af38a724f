"""The numeric `day` field (20250114) that date filters compare, for stores indexed before it
existed.

Chroma compares only numbers, so `--since/--until` filter on `day`, written with every chunk
since the filters came. A store indexed earlier has chunks with a `date` and no `day`: Chroma's
search would silently drop them under a date filter. The next `rag ingest` into such a store adds
the field (`backfill`: a metadata-only update in the writer's new generation; no file re-read,
nothing re-embedded), and a date filter on a store still lacking it is refused with the exact
command to run (`check`) instead of answering from a partial index.

A file's record carries `days: true` once its chunks have the field, so the check costs one
file-table read on an up-to-date store.
"""
from __future__ import annotations

from pathlib import Path

from .generations import StoreError
from .store import day_number

MARK = "days"
_BATCH = 200    # sources per Chroma request


def unmarked(records: dict[str, dict]) -> list[str]:
    """Sources whose chunks may lack `day` (their record predates the field)."""
    return sorted(s for s, r in records.items() if not r.get(MARK))


def lacking(store, sources: list[str]) -> tuple[list[str], list[dict]]:
    """(ids, {"day": n} updates) of the chunks of `sources` that have a date but no `day`."""
    ids, updates = [], []
    for i in range(0, len(sources), _BATCH):
        got = store.chunks.get(where={"source": {"$in": sources[i:i + _BATCH]}},
                               include=["metadatas"])
        for cid, m in zip(got["ids"], got["metadatas"]):
            day = day_number((m or {}).get("date"))
            if day is not None and "day" not in m:
                ids.append(cid)
                updates.append({"day": day})    # Chroma merges: the other fields stay
    return ids, updates


def backfill(store, sources: list[str], found: tuple[list[str], list[dict]] | None = None) -> int:
    """Give the chunks of `sources` their `day` field and mark their records; returns the
    number of chunks updated. Call on a writable (building or in-place) generation. `found`:
    `lacking`'s answer for these sources when the caller took it on the generation this one
    copies, with nothing changed since (so the chunks are scanned once, not twice)."""
    ids, updates = found if found is not None else lacking(store, sources)
    for i in range(0, len(ids), 5000):
        store.chunks.update(ids=ids[i:i + 5000], metadatas=updates[i:i + 5000])
    mark(store, sources)
    return len(ids)


def mark(store, sources: list[str]) -> None:
    """Record that these sources' chunks have `day` (so no later run looks again)."""
    records = store.files.all()
    # A row is replaced whole: the kept HTML text goes back in with the mark.
    store.files.put_many([{**records[s], "text": store.files.text(s), MARK: True}
                          for s in sources if s in records])


def check(store) -> None:
    """Refuse a date filter on a store whose chunks lack `day`, naming the command that adds
    it. One file-table read when every record is marked."""
    records = store.files.all()
    todo = unmarked(records)
    if not todo:
        return
    ids, _ = lacking(store, todo)
    if not ids:
        return
    folders = sorted({str(Path(r["path"]).parent) for s, r in records.items()
                      if s in todo and r.get("path")})
    where = " ".join(_quote(f) for f in folders[:3]) if 0 < len(folders) <= 3 else "PATH"
    raise StoreError(
        f"the index at {store.path} was built before date filters existed: {len(ids)} dated "
        f"chunk(s) lack the field they compare. Run `rag ingest --store {_quote(store.path)} "
        f"{where}` once (the folder(s) it was built from; it adds the field without re-reading "
        f"or re-embedding anything), then ask again.")


def _quote(path) -> str:
    import shlex
    return shlex.quote(str(path))

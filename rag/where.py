"""Chroma's `where` filter language, evaluated on a chunk's metadata in Python, so the BM25
index applies the same filter Chroma applies to the dense search.

Supported (as in Chroma): {"field": value} (equality), {"field": {"$eq"|"$ne"|"$gt"|"$gte"|
"$lt"|"$lte"|"$in"|"$nin": value}}, {"$and": [...]}, {"$or": [...]}. A field the chunk lacks
(an undated chunk under a date filter) never matches a comparison, as in Chroma.
"""
from __future__ import annotations

import operator
from typing import Any, Mapping

_CMP = {"$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt, "$gte": operator.ge,
        "$lt": operator.lt, "$lte": operator.le,
        "$in": lambda a, b: a in b, "$nin": lambda a, b: a not in b}


def metadata(chunk) -> dict[str, Any]:
    """A chunk's filterable fields: what Chroma keeps besides the vector (rag.store writes this)
    and BM25 codes (rag.bm25.FIELDS), only what filters use (rag.news.filters builds them on
    source and day). Every key costs a row and an index entry per chunk in Chroma."""
    m = {"source": chunk.source}
    if chunk.date:
        m["date"] = chunk.date
        from .store import day_number
        if (day := day_number(chunk.date)) is not None:
            m["day"] = day      # Chroma compares numbers only: date filters use this
    return m


def matches(where: Mapping, meta: Mapping[str, Any]) -> bool:
    for key, cond in where.items():
        if key in ("$and", "$or"):
            results = (matches(w, meta) for w in cond)
            if not (all(results) if key == "$and" else any(results)):
                return False
            continue
        ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
        for op, value in ops.items():
            if op not in _CMP:
                raise ValueError(f"unsupported filter operator {op!r}; valid: "
                                 f"{', '.join(sorted(_CMP))}, $and, $or")
            if key not in meta:
                if op not in ("$ne", "$nin"):
                    return False
                continue
            try:
                if not _CMP[op](meta[key], value):
                    return False
            except TypeError:       # comparing a number with text: no match, as in Chroma
                return False
    return True

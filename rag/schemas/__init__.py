"""JSON Schemas for the records this package writes, shipped with it.

    from rag.schemas import schema, schema_path
    schema("answer")        # the record of `rag ask --json` / Answer.to_dict()
    schema_path("answer")   # the file, e.g. for another language's validator

The Q&A file format of `rag eval` has its own schema: eval/qa.schema.json.
"""
from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path

# MAJOR.MINOR: a minor version adds optional fields; a major one removes or changes a field.
ANSWER_SCHEMA_VERSION = "1.0"

NAMES = ("answer",)


def schema_path(name: str = "answer") -> Path:
    if name not in NAMES:
        raise ValueError(f"no schema called {name!r}; valid: {', '.join(NAMES)}")
    return Path(str(files(__name__).joinpath(f"{name}.schema.json")))


@cache
def _load(name: str) -> str:
    return schema_path(name).read_text("utf-8")


def schema(name: str = "answer") -> dict:
    """The schema as a fresh dict (safe to modify)."""
    return json.loads(_load(name))

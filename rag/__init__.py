"""Question answering over news articles, with cited passages.

    from rag import query
    answer = query("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    print(answer.text); print(answer.to_dict()["citations"])

`Engine` loads once and answers many questions; `query()` keeps one Engine per store.
"""
from __future__ import annotations

import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import Settings
from .types import Answer, Chunk, Passage, Sentence

if TYPE_CHECKING:
    from .engine import Engine

try:
    __version__ = version("rag-news")
except PackageNotFoundError:   # running from a source tree that was never installed
    __version__ = "0+unknown"

# A library logs under "rag" and leaves handlers to the application (the CLI adds one,
# levelled by RAG_LOG_LEVEL); the root logger is never configured here.
logging.getLogger("rag").addHandler(logging.NullHandler())

__all__ = ["__version__", "query", "get_engine", "Engine", "Chat", "Settings", "Answer", "Chunk", "Passage",
           "Sentence"]

_engines: dict[Settings, "Engine"] = {}
_lock = threading.Lock()


def get_engine(store: str | Path | None = None, settings: Settings | None = None) -> "Engine":
    """The shared Engine for a configuration (`store`, else RAG_STORE, else the default)."""
    from .engine import Engine
    settings = settings or Settings.from_env()
    if store is not None:
        settings = settings.with_(store=Path(store).expanduser())
    settings = settings.with_(store=Path(settings.store).resolve())
    with _lock:
        if settings not in _engines:   # Settings is frozen: every field is part of the key
            _engines[settings] = Engine(settings)
        return _engines[settings]


def query(question: str, *, k: int | None = None, store: str | Path | None = None,
          as_of: date | None = None, since: date | None = None, until: date | None = None,
          source: str | None = None) -> Answer:
    """Answer one question from the indexed articles, with cited passages. `as_of` anchors
    relative time in the question ("last year"); default: the newest article's date. `since`,
    `until` (publication dates, inclusive) and `source` (a file name) filter the passages."""
    from .engine import check_question
    settings = Settings.from_env(store=store)
    check_question(question, settings.max_question_chars)   # before loading anything
    return get_engine(settings=settings).ask(question, k=k, as_of=as_of, since=since,
                                             until=until, source=source)


def __getattr__(name: str):
    if name == "Engine":
        from .engine import Engine
        return Engine
    if name == "Chat":
        from .chat import Chat
        return Chat
    raise AttributeError(name)

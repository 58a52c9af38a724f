"""What the web app does, without Gradio: engines per session setting, chat turns, uploads,
removals, feedback and example questions. Gradio handlers in ui/app.py stay thin over this.

One `Service` serves every browser session. It holds no conversation: each session passes its
own history and settings in. Engines are shared (one per answerer x retrieval mode, all on one
embedder); an engine notices an ingest by the store's version and reopens, so questions asked
while an upload is being indexed answer from the index as it was until the new one is published.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from rag import Chat, Engine, Settings
from rag.store import StoreError
from rag.when import When

from .uploads import UploadSummary, ingest_uploads

FEEDBACK_FILE = "feedback.jsonl"


def data_dir_for(settings: Settings) -> Path:
    """Where the app keeps uploads and feedback: $RAG_UI_DATA, else `<store>/app` (beside the
    index it belongs to; a rebuild keeps it)."""
    env = os.environ.get("RAG_UI_DATA")
    return Path(env).expanduser() if env else Path(settings.store) / "app"


class Service:
    def __init__(self, settings: Settings, *, data_dir: Path | None = None, embedder=None):
        self.settings = settings
        self.data_dir = Path(data_dir) if data_dir else data_dir_for(settings)
        self.uploads = self.data_dir / "uploads"
        self.feedback_path = self.data_dir / FEEDBACK_FILE
        self._embedder = embedder
        self._engines: dict[tuple[str, str], Engine] = {}
        self._lock = threading.Lock()
        self._ingest = threading.Lock()     # uploads and removals, one at a time
        self._feedback = threading.Lock()
        self._examples: tuple[str, list[str]] | None = None

    # --- engines -----------------------------------------------------------------------------
    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from rag.embed import make_embedder
                self._embedder = make_embedder(self.settings)
            return self._embedder

    def answerers(self) -> list[str]:
        """The answerers this configuration can use (an LLM only when a server is set)."""
        from rag.registry import ANSWERERS
        return [a for a in ANSWERERS if a != "llm" or self.settings.llm_configured]

    def retrievers(self) -> list[str]:
        from rag.registry import RETRIEVERS
        first = self.settings.retriever
        return [first] + [r for r in RETRIEVERS if r != first]

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for e in engines:
            e.close()

    @property
    def default_answerer(self) -> str:
        return self.settings.resolved_answerer

    def engine(self, answerer: str | None = None, retriever: str | None = None) -> Engine:
        answerer = answerer or self.default_answerer
        retriever = retriever or self.settings.retriever
        if answerer not in self.answerers():
            raise ValueError(f"unknown answerer {answerer!r}; valid here: "
                             f"{', '.join(self.answerers())}")
        key = (answerer, retriever)
        embedder = self.embedder
        with self._lock:
            if key not in self._engines:
                s = self.settings.with_(answerer=answerer, retriever=retriever)
                self._engines[key] = Engine(s, embedder=embedder)
            return self._engines[key]

    def chat(self, history: list[dict], *, answerer=None, retriever=None, k=None,
             when: When | None = None) -> Chat:
        """A Chat over this session's history; its `history` holds the new turn afterwards.
        `when`: the session's date range, file and as-of date (rag/when.py)."""
        chat = Chat(self.engine(answerer, retriever), k=int(k) if k else None, when=when)
        chat.history = [dict(t) for t in history]
        return chat

    def ask(self, question: str, history: list[dict] | None = None, k: int | None = None,
            when: When | None = None):
        return self.engine().ask(question, k=k, history=history or None,
                                 **(when or When()).kwargs())

    # --- the index ---------------------------------------------------------------------------
    def stats(self) -> dict:
        e = self.engine()
        e.refresh()
        return e.stats()

    def index_state(self) -> tuple[dict, list[str]]:
        """The index's figures and its file names, from one read of the file table (the page
        shows both on every load, upload and remove)."""
        e = self.engine()
        store = e.snapshot().store
        records = store.files.all()
        return store.stats(records), sorted(records)

    def sources(self) -> list[str]:
        try:
            e = self.engine()
            e.refresh()
            return e.store.sources()
        except StoreError:
            return []

    def document_text(self, source: str) -> str | None:
        try:
            return self.engine().store.document_text(source)
        except (StoreError, ValueError):
            return None

    def examples(self, n: int = 4) -> list[str]:
        """Questions drawn from the indexed articles' titles, for the empty screen; one per
        file, cached until the index changes."""
        try:
            e = self.engine()
            e.refresh()
            from rag.store import version
            v = version(self.settings.store)
            if self._examples and self._examples[0] == v:
                return self._examples[1]
            titles: dict[str, str] = {}
            for c in e.store.iter_chunks():    # in source order; stop at n (1000x: 160k chunks)
                if c.title and c.source not in titles and 12 <= len(c.title) <= 140:
                    titles[c.source] = c.title
                    if len(titles) >= n:
                        break
            out = [_question_from_title(t) for t in list(titles.values())[:n]]
            self._examples = (v, out)
            return out
        except StoreError:
            return []

    def upload(self, paths: list[str], progress=None) -> UploadSummary:
        with self._ingest:
            return ingest_uploads(paths, self.uploads, self.settings, self.embedder,
                                  progress=progress)

    def remove(self, name: str) -> int:
        from ingest.pipeline import remove_sources
        with self._ingest:
            n = remove_sources([name], self.settings, embedder=self.embedder)
            copy = self.uploads / Path(name).name
            if copy.is_file():
                copy.unlink()       # an uploaded file leaves with its index entry
            return n

    # --- feedback ----------------------------------------------------------------------------
    def record_feedback(self, answer: dict, verdict: str, history: list[dict] | None = None,
                        config: dict | None = None) -> dict:
        """Append one JSON line: the question, its rewrite, the answer, the passages with their
        offsets, the verdict and the time. `rag feedback drafts` turns the downs into Q&A drafts."""
        if verdict not in ("up", "down"):
            raise ValueError(f"verdict must be 'up' or 'down', got {verdict!r}")
        keep = ("n", "source", "title", "start", "end", "text")
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "verdict": verdict,
            "question": answer["question"], "rewritten": answer["rewritten"],
            "answer": answer["answer"], "abstained": answer["abstained"],
            "answerer": answer["answerer"],
            "citations": [{k: c[k] for k in keep if k in c} | ({"highlight": c["highlight"]}
                          if "highlight" in c else {}) for c in answer["citations"]],
            "passages": [{k: p[k] for k in keep if k in p} for p in answer["passages"]],
            "history": [{"role": t["role"], "content": t["content"]} for t in history or []
                        if t.get("role") in ("user", "assistant")],
            "config": config or {},
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._feedback, open(self.feedback_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record


def _question_from_title(title: str) -> str:
    title = " ".join(title.split()).rstrip(".:;")
    if title.endswith("?"):
        return title
    return f"What does the article “{title}” report?"


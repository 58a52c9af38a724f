"""One frozen settings object, built once from the environment and flags, passed in explicitly.

Nothing here reads global state after construction, and nothing in the project touches
LlamaIndex's global `Settings`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_store() -> Path:
    """`$XDG_DATA_HOME/rag-news/store`, i.e. `~/.local/share/rag-news/store` by default."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "rag-news" / "store"


def default_corpus() -> Path:
    # A source checkout (or editable install) has the bundled articles beside the package; a
    # wheel installed into site-packages does not, so the project folder one runs from is next.
    bundled = PROJECT_ROOT / "data" / "articles"
    return bundled if bundled.is_dir() else Path.cwd() / "data" / "articles"


@dataclass(frozen=True)
class Settings:
    store: Path
    corpus: Path
    embedder: str = "wordllama"
    openai_embed_model: str = "text-embedding-3-small"
    retriever: str = "hybrid"
    k: int = 5
    dense_weight: float = 0.1      # the dense list's weight in reciprocal-rank fusion (BM25's is 1);
                                   # measured on the Q&A set, see README "Choosing the defaults"
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    answerer: str = "auto"          # auto: "llm" when an OpenAI-compatible server is configured
    llm_model: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)   # never in logs or errors
    openai_base_url: str | None = None
    llm_context_window: int = 4096   # tokens; Ollama's default context, safe for small models
    llm_timeout: float = 60.0
    llm_retries: int = 2
    abstain_threshold: float | None = None   # None: the answerer's calibrated default
    answer_log: Path | None = None   # append every answer record here (JSON lines), for debugging
    max_question_chars: int = 2000
    max_file_bytes: int = 20_000_000
    chroma_url: str | None = None    # a `chroma run` server (http://host:port) instead of the folder
    max_file_seconds: float = 120.0   # per file, for cleaning and chunking (ingest/chunk.py)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **flags) -> "Settings":
        """Environment first, then flags (flags set to None are ignored)."""
        env = dict(os.environ if env is None else env)
        vals: dict = {
            "store": Path(env["RAG_STORE"]).expanduser() if env.get("RAG_STORE") else default_store(),
            "corpus": Path(env["RAG_CORPUS"]).expanduser() if env.get("RAG_CORPUS") else default_corpus(),
        }
        if env.get("RAG_ANSWER_LOG"):
            vals["answer_log"] = Path(env["RAG_ANSWER_LOG"]).expanduser()
        simple = {"RAG_EMBED": "embedder", "RAG_EMBED_MODEL": "openai_embed_model",
                  "RAG_RETRIEVER": "retriever", "RAG_ANSWERER": "answerer",
                  "RAG_LLM_MODEL": "llm_model", "OPENAI_API_KEY": "openai_api_key",
                  "OPENAI_BASE_URL": "openai_base_url", "RAG_CHROMA_URL": "chroma_url"}
        for var, name in simple.items():
            if env.get(var):
                vals[name] = env[var]
        numeric = {"RAG_K": ("k", int), "RAG_CHUNK_TOKENS": ("chunk_tokens", int),
                   "RAG_CHUNK_OVERLAP": ("chunk_overlap", int),
                   "RAG_LLM_TIMEOUT": ("llm_timeout", float),
                   "RAG_DENSE_WEIGHT": ("dense_weight", float),
                   "RAG_LLM_CONTEXT": ("llm_context_window", int),
                   "RAG_ABSTAIN_THRESHOLD": ("abstain_threshold", float),
                   "RAG_MAX_FILE_BYTES": ("max_file_bytes", int),
                   "RAG_MAX_FILE_SECONDS": ("max_file_seconds", float),
                   "RAG_MAX_QUESTION_CHARS": ("max_question_chars", int)}
        for var, (name, typ) in numeric.items():
            if env.get(var):
                try:
                    vals[name] = typ(env[var])
                except ValueError:
                    raise ValueError(f"{var}={env[var]!r} is not a number; set it to e.g. "
                                     f"{getattr(cls, name, 5)!r} or unset it") from None
        known = {f.name for f in fields(cls)}
        for name, value in flags.items():
            if name not in known:
                raise TypeError(f"unknown setting {name!r}")
            if value is not None:
                vals[name] = (Path(value).expanduser() if name in ("store", "corpus", "answer_log")
                              else value)
        s = cls(**vals)
        s.validate()
        return s

    def with_(self, **changes) -> "Settings":
        s = replace(self, **{k: v for k, v in changes.items() if v is not None})
        s.validate()
        return s

    def validate(self) -> None:
        if not isinstance(self.k, int) or isinstance(self.k, bool) or not 1 <= self.k <= 100:
            raise ValueError(f"k must be a whole number from 1 to 100, got {self.k!r}")
        from .registry import ANSWERERS, EMBEDDERS, RETRIEVERS, pick
        pick(RETRIEVERS, "retriever", self.retriever)
        pick(EMBEDDERS, "embedder", self.embedder)
        if self.answerer != "auto":
            pick(ANSWERERS, "answerer", self.answerer)
        if not 16 <= self.chunk_tokens <= 8192:
            raise ValueError(f"chunk_tokens must be 16..8192, got {self.chunk_tokens}")
        if self.answerer == "llm" and not self.llm_configured:
            # Never fall through to api.openai.com because nobody said otherwise.
            raise ValueError("the llm answerer needs a server: set OPENAI_API_KEY (OpenAI) or "
                             "OPENAI_BASE_URL (Ollama, vLLM, llama.cpp, LM Studio), or use "
                             "--answerer extractive")
        if self.chroma_url:
            from .remote import parse_url
            parse_url(self.chroma_url)      # a malformed URL fails here, with the expected form
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ValueError("chunk_overlap must be at least 0 and below chunk_tokens")

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def resolved_answerer(self) -> str:
        if self.answerer != "auto":
            return self.answerer
        return "llm" if self.llm_configured else "extractive"

"""Token counting with tiktoken that never downloads.

Plain `tiktoken.get_encoding` fetches its BPE file on first use; llama-index-core ships the files
for cl100k_base and o200k_base, so we point tiktoken's cache at them.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

ENCODING = "cl100k_base"


def _bundled_cache() -> str:
    import llama_index.core
    return str(Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache")


@functools.lru_cache(maxsize=4)
def encoding(name: str = ENCODING):
    import tiktoken
    # Respect a cache the user set up; otherwise use the files that ship with llama-index-core.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", _bundled_cache())
    return tiktoken.get_encoding(name)


def count(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))

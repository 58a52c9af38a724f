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
    # tiktoken reads its cache folder from the environment only; point it at the shipped files
    # for this one load and put the user's setting back, as llama-index's own splitters do.
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = _bundled_cache()
    try:
        return tiktoken.get_encoding(name)
    finally:
        if saved is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved


def count(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))

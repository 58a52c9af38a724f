"""Token counting with tiktoken that never downloads (the BPE file ships in rag/text/data/)."""
from __future__ import annotations

import functools

ENCODING = "cl100k_base"


@functools.lru_cache(maxsize=4)
def encoding(name: str = ENCODING):
    from .text.data import tiktoken_encoding
    return tiktoken_encoding(name)


def count(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))

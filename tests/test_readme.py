"""The README's Python examples run as written, against a store built from data/articles."""
from __future__ import annotations

import contextlib
import io
import re

from tests.conftest import PROJECT

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[str]:
    return BLOCK.findall((PROJECT / "README.md").read_text("utf-8"))


def test_the_readme_python_blocks_run_as_written(corpus_settings, monkeypatch):
    blocks = python_blocks()
    assert blocks, "the README has no ```python block to check"
    monkeypatch.setenv("RAG_STORE", str(corpus_settings.store))
    out = io.StringIO()
    for i, code in enumerate(blocks):
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md python block {i + 1}", "exec"), {"__name__": "readme"})
    printed = out.getvalue()
    # The examples print real results: a cited passage of the Atmar article, and streamed text.
    assert "000_c73e7dc4e8ffbfc0.txt" in printed

"""Shared by the web-app tests: a store with the default corpus plus a hostile document, and
the app launched for real on 127.0.0.1 (gradio's own pattern: launch without blocking, then
drive it with gradio_client or a browser)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rag.settings import Settings
from tests.conftest import CORPUS, PROJECT

# A news-like article that carries markup an attacker would plant; it must show as text.
XSS_NAME = "zz_clove_report.txt"
XSS_TEXT = """Zanzibar Clove Harvest Breaks Record

Monday, 03/03/2025

The Zanzibar State Trading Corporation said the clove harvest reached 9,400 tonnes this season, the largest since 1970. <script>alert(1)</script> Farmers on Pemba island sold most of the crop at the corporation's auctions.

Officials said the price paid to farmers rose to 14,000 shillings a kilogram. <img src=x onerror=alert(1)> Exporters expect shipments to India and Indonesia to grow next year.
"""
XSS_QUESTION = "How many tonnes of cloves did the Zanzibar harvest reach?"
ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
# ../shared beside the project (as in CI); CHECK_ANSWER_TOOL points elsewhere for a worktree.
CHECK_ANSWER = Path(os.environ.get("CHECK_ANSWER_TOOL")
                    or PROJECT.parent / "shared" / "tools" / "check-answer")


def build_store(root: Path, embedder, **extra) -> tuple[Settings, Path]:
    """The default corpus and the XSS article in one folder, indexed into root/store."""
    from ingest.pipeline import ingest_paths
    docs = root / "articles"
    shutil.copytree(CORPUS, docs)
    (docs / XSS_NAME).write_text(XSS_TEXT, encoding="utf-8")
    settings = Settings.from_env(env={}, store=root / "store", corpus=docs, **extra)
    ingest_paths([docs], settings, progress=False, embedder=embedder)
    return settings, docs


def check_answer(answer: dict, tmp: Path, *folders: Path) -> None:
    """Run ../shared/tools/check-answer on an answer record against the files of `folders`;
    skip (saying why) without the tool."""
    import json

    import pytest
    if not CHECK_ANSWER.is_file():
        pytest.skip(f"{CHECK_ANSWER} is absent (../shared is not beside the project)")
    corpus = tmp / "check-corpus"
    corpus.mkdir(exist_ok=True)
    for folder in folders:
        for f in folder.iterdir():
            if f.is_file():
                shutil.copy(f, corpus / f.name)
    f = tmp / "answer.json"
    f.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    r = subprocess.run([sys.executable, str(CHECK_ANSWER), "--corpus", str(corpus), str(f)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

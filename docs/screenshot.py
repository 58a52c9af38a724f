"""Regenerate docs/ui.png, the README's picture of the web app answering a question.

    .venv/bin/python docs/screenshot.py [--out docs/ui.png] [--question "..."]

Indexes the bundled corpus into a temporary store, starts the app on 127.0.0.1, asks the
question in Debian's chromium (driven by Playwright, no browser download), clicks the first
citation and saves the page.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTION = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "ui.png")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from ingest.pipeline import ingest_paths
    from rag.settings import Settings, default_corpus
    from ui.server import start
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, store=Path(tmp) / "store", corpus=default_corpus())
        ingest_paths(None, settings, progress=False)
        demo, url, _ = start(settings, port=0, quiet=True, data_dir=Path(tmp) / "app")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1360, "height": 820})
                page.goto(url, wait_until="load")
                page.wait_for_selector("#question textarea", timeout=30_000)
                page.fill("#question textarea", args.question)
                page.keyboard.press("Enter")
                page.wait_for_selector("#chat .bot .rag-meta", timeout=60_000)
                page.locator("#chat a.rag-cite").first.click()
                page.wait_for_timeout(1200)          # the citation's flash and scroll settle
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            demo.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.exit(main())

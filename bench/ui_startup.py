"""The web app's first impression: startup to a ready page, and the first answer's time.

usage: .venv/bin/python bench/ui_startup.py [--repeat 3] [--out bench/out/ui_startup.json]

Extractive answerer, the default corpus indexed into a temporary store. For each repeat, a fresh
`python -m ui` process is started (chromium already running, so its own start is not counted):
  url      process start -> the URL printed (imports, app built, server listening); also
           the CPU seconds the process used by then (url_cpu_s), which a busy machine inflates less
  page     process start -> the page in chromium, connected, its load event done (ready to ask)
  engine   process start -> the default engine loaded by the warm-up thread (index loaded)
Then in the browser, over the questions below: `first` = Enter -> the first answer text in the
chat bubble, `final` = Enter -> the finished answer with its sources. The first question of a
process is reported apart from the later (warm) ones. For comparison, `engine_first_token` is
the in-process time from `Engine.stream()` to its first text (no web stack).
Wall-clock figures on a shared 2-core machine: compare within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = ["How many times did Hanif Atmar travel to Pakistan to free Baradar?",
             "Who is Khalil Haqqani?",
             "What did the Taliban promise foreign fighters in the agreement?",
             "Which outlet interviewed Hanif Atmar?",
             "What bounty is on Khalil Haqqani's head?",
             "Who signed the Mir Ali agreement?"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# Ready = the page is connected and has run its load event (the index panel is filled in).
READY_JS = "() => (document.querySelector('#index-state')?.textContent || '').includes('Index')"
FIRST_TEXT_JS = """n => { const b = document.querySelectorAll('#chat .bot');
  return b.length > n && b[b.length-1].innerText.trim().length > 3; }"""
FINAL_JS = """n => { const b = document.querySelectorAll('#chat .bot');
  return b.length > n && b[b.length-1].querySelector('.rag-meta')
         && document.querySelector('#sources .rag-src'); }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read(1)
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float | None:
    """user+system CPU time of a process (Linux /proc): robust to a busy machine, unlike wall."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def one_run(store: Path, browser, env: dict) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ui", "--store", str(store), "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append((time.monotonic() - t0, line))
    threading.Thread(target=read, daemon=True).start()

    def when(prefix: str) -> float:
        while time.monotonic() - t0 < 120:
            for t, line in list(lines):
                if line.startswith(prefix):
                    return t
            time.sleep(0.005)
        raise TimeoutError(prefix)
    try:
        t_url = when("rag-news web app:")
        cpu_url = cpu_seconds(proc.pid)
        wait_http(url, t0 + 60)
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.wait_for_function(READY_JS, timeout=60_000)
        t_page = time.monotonic() - t0
        t_engine = when("Index loaded")     # the warm-up thread's line
        first, final = [], []
        for i, q in enumerate(QUESTIONS):
            n = page.locator("#chat .bot").count()
            page.fill("#question textarea", q)
            s = time.monotonic()
            page.keyboard.press("Enter")
            page.wait_for_function(FIRST_TEXT_JS, arg=n, timeout=60_000, polling="raf")
            first.append((time.monotonic() - s) * 1000)
            page.wait_for_function(FINAL_JS, arg=n, timeout=60_000, polling="raf")
            final.append((time.monotonic() - s) * 1000)
        page.close()
        return {"url_s": t_url, "url_cpu_s": cpu_url, "page_s": t_page, "engine_s": t_engine,
                "first_question": {"first_ms": first[0], "final_ms": final[0]},
                "warm": {"first_ms": first[1:], "final_ms": final[1:]}}
    finally:
        proc.terminate()
        proc.wait(10)


def engine_first_token(store: Path) -> list[float]:
    from rag import Engine, Settings
    engine = Engine(Settings.from_env(env={}, store=store, answerer="extractive"))
    engine.ask(QUESTIONS[0])
    out = []
    for q in QUESTIONS * 3:
        s = time.perf_counter()
        it = engine.stream(q)
        next(it)
        out.append((time.perf_counter() - s) * 1000)
        for _ in it:
            pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="web app startup and first-answer times")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ui_startup.json")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from ingest.pipeline import ingest_paths
    from rag.settings import Settings, default_corpus
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAG_", "OPENAI_"))}
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        ingest_paths(None, Settings.from_env(env={}, store=store, corpus=default_corpus()),
                     progress=False)
        runs = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for i in range(args.repeat):
                runs.append(one_run(store, browser, env))
                print(f"run {i + 1}: " + json.dumps({k: v for k, v in runs[-1].items()
                                                     if k != "warm"}), flush=True)
            browser.close()
        tokens = engine_first_token(store)
    med = statistics.median
    warm_first = [x for r in runs for x in r["warm"]["first_ms"]]
    warm_final = [x for r in runs for x in r["warm"]["final_ms"]]
    summary = {
        "url_s": med(r["url_s"] for r in runs),
        "url_cpu_s": med(r["url_cpu_s"] for r in runs if r["url_cpu_s"] is not None),
        "load_average": os.getloadavg()[0], "page_s": med(r["page_s"] for r in runs),
        "engine_s": med(r["engine_s"] for r in runs if r["engine_s"] is not None),
        "first_question_first_ms": med(r["first_question"]["first_ms"] for r in runs),
        "first_question_final_ms": med(r["first_question"]["final_ms"] for r in runs),
        "warm_first_ms_p50": med(warm_first), "warm_final_ms_p50": med(warm_final),
        "engine_first_token_ms_p50": med(tokens), "repeat": args.repeat,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs,
                                    "engine_first_token_ms": tokens}, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

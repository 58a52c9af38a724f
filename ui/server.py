"""Starting the web app: `rag ui` and `python -m ui`. Binds 127.0.0.1 unless told otherwise,
no share link unless asked, analytics and Gradio's browser-side run history off, optional login.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

DEFAULT_PORT = 7860


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default: $RAG_UI_PORT, else {DEFAULT_PORT})")
    p.add_argument("--share", action="store_true",
                   help="also open a public gradio.live link (traffic goes through Gradio's "
                        "servers)")


def auth_from_env(env=None) -> list[tuple[str, str]] | None:
    """RAG_UI_AUTH=user:password, and/or RAG_UI_USERS=FILE with one user:password a line."""
    env = os.environ if env is None else env
    pairs = []
    if env.get("RAG_UI_AUTH"):
        pairs.append(_pair(env["RAG_UI_AUTH"], "RAG_UI_AUTH"))
    if env.get("RAG_UI_USERS"):
        path = Path(env["RAG_UI_USERS"]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ValueError(f"RAG_UI_USERS={path}: cannot read it ({e.strerror}); point it at "
                             f"a file with one user:password a line") from None
        for i, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                pairs.append(_pair(line.strip(), f"{path}:{i}"))
    return pairs or None


def _pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{where}: expected user:password (both non-empty)")
    return user, password


def quiet_gradio() -> None:
    # Before gradio is imported: no analytics calls, no run history kept in the browser.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_RUN_HISTORY", "False")


def start(settings, *, host: str = "127.0.0.1", port: int | None = None, share: bool = False,
          data_dir: Path | None = None, embedder=None, quiet: bool = False, warm: bool = True):
    """Launch without blocking; returns (demo, url, service). `port=0` picks a free port."""
    quiet_gradio()
    from .service import Service
    service = Service(settings, data_dir=data_dir, embedder=embedder)
    auth = auth_from_env()
    if warm:    # load the index while Gradio imports, so the first question answers at speed
        threading.Thread(target=_warm, args=(service, quiet), daemon=True).start()
    from .app import build_app, theme
    demo = build_app(service)
    limit = int(os.environ.get("RAG_UI_CONCURRENCY", "4"))
    demo.queue(default_concurrency_limit=limit, max_size=256)
    if port is None:
        port = int(os.environ.get("RAG_UI_PORT", DEFAULT_PORT))
    if port == 0:
        port = _free_port(host)
    from .app import CSS, PAGE_JS
    _, url, share_url = demo.launch(
        server_name=host, server_port=port, share=share, auth=auth,
        auth_message="rag-news: sign in" if auth else None,
        max_file_size=settings.max_file_bytes, run_history=False,
        footer_links=["api", "settings"], prevent_thread_lock=True, quiet=True, show_error=True,
        ssr_mode=False, enable_monitoring=False, pwa=False, mcp_server=False,
        theme=theme(), css=CSS, js=PAGE_JS)
    url = url.rstrip("/") if url else f"http://{host}:{port}"
    if not quiet:
        print(f"rag-news web app: {url}" + (f"  (public link: {share_url})" if share_url else "")
              + "   Ctrl-C stops it.", flush=True)
    return demo, url, service


def _warm(service, quiet: bool) -> None:
    t0 = time.perf_counter()
    try:
        # A whole chat turn, so the answerer's parts and the conversation code load now, and a
        # passage's article text is read once (Chroma's first document fetch).
        answer = service.chat([]).ask("warm up")
        for p in answer.passages[:1]:
            service.document_text(p.chunk.source)
        s = service.stats()
        msg = (f"Index loaded: {s['documents']} files, {s['chunks']} chunks "
               f"({time.perf_counter() - t0:.1f} s).")
    except Exception as e:  # noqa: BLE001 - the page shows the same message in its index panel
        msg = f"No index to answer from yet: {e}"
    if not quiet:
        print(msg, flush=True)


def _free_port(host: str) -> int:
    import socket
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(settings, *, host: str, port: int | None, share: bool) -> int:
    from rag.memory import cap_malloc_arenas
    cap_malloc_arenas()     # before the worker threads exist: memory stays flat (rag/memory.py)
    demo, _, service = start(settings, host=host, port=port, share=share)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
        service.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.settings import Settings
    p = argparse.ArgumentParser(prog="python -m ui", description="The rag-news web app.")
    add_arguments(p)
    p.add_argument("--store", help="index folder (default: $RAG_STORE)")
    args = p.parse_args(argv)
    try:
        settings = Settings.from_env(store=args.store)
        return serve(settings, host=args.host, port=args.port, share=args.share)
    except ValueError as e:
        print(f"python -m ui: error: {e}", file=sys.stderr)
        return 2

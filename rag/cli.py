"""`rag`: a thin command line over the library. Parse, call, print; domain errors become one
clear line on stderr and a non-zero exit. Heavy imports happen inside the command that needs them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .settings import Settings

EXAMPLES = {
    "ingest": """examples:
  rag ingest                         index the bundled articles (data/articles)
  rag ingest ~/news/ report.html     index a folder and a file
  rag ingest --prune ~/news/         also drop indexed files that no longer exist
  rag ingest --rebuild               start the index afresh (e.g. after changing the embedder)""",
    "ask": """examples:
  rag ask "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
  rag ask "Who leads the Haqqani network?" -k 8
  rag ask "When was Baradar released?" --json | jq .citations""",
    "stats": """examples:
  rag stats
  rag stats --json
  rag stats --files""",
    "remove": """examples:
  rag remove 000_c73e7dc4e8ffbfc0.txt""",
    "chat": """examples:
  rag chat            then type questions; /sources shows the passages, /reset forgets, /quit""",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="index folder (default: $RAG_STORE, else "
                                   "~/.local/share/rag-news/store)")
    p.add_argument("--embedder", help="embedder name: wordllama (default, offline) or openai "
                                      "(default: $RAG_EMBED)")


def _answering(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, help="passages to retrieve (default: $RAG_K, else 5)")
    p.add_argument("--retriever", choices=["hybrid", "bm25", "dense"], help="retrieval mode")
    p.add_argument("--answerer", help="extractive or llm (default: llm when OPENAI_API_KEY or "
                                      "OPENAI_BASE_URL is set, else extractive)")
    p.add_argument("--model", help="LLM model name (default: $RAG_LLM_MODEL)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rag", description="Ask questions about news articles; "
                                 "every answer cites the passages it comes from.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(EXAMPLES.values()))
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES.get(name),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _common(p)
        return p

    p = add("ingest", "Index .txt, .md and .html files and folders into the store.")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the bundled corpus)")
    p.add_argument("--prune", action="store_true", help="drop indexed files that no longer exist")
    p.add_argument("--rebuild", action="store_true", help="delete the index and build it afresh")
    p.add_argument("--chunk-tokens", type=int, help="chunk size in tokens (default 200)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = add("ask", "Answer one question, citing the passages it comes from.")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    _answering(p)

    p = add("stats", "Show what the index holds.")
    p.add_argument("--json", action="store_true")
    p.add_argument("--files", action="store_true", help="list the indexed files")

    p = add("remove", "Drop files from the index by name.")
    p.add_argument("names", nargs="+")

    p = add("chat", "Chat in the terminal; follow-up questions keep the conversation's context.")
    _answering(p)

    sub.add_parser("eval", help="Evaluate answers against a Q&A set (see `rag eval --help`).",
                   add_help=False)
    sub.add_parser("bench", help="Measure ingest, storage, memory, latency and quality as the "
                                 "corpus grows (see `rag bench --help`).", add_help=False)
    return ap


def settings_from(args: argparse.Namespace) -> Settings:
    get = lambda name: getattr(args, name, None)  # noqa: E731
    return Settings.from_env(store=get("store"), embedder=get("embedder"), k=get("k"),
                             retriever=get("retriever"), answerer=get("answerer"),
                             llm_model=get("model"), chunk_tokens=get("chunk_tokens"))


def cmd_ingest(args, settings: Settings) -> int:
    from ingest.pipeline import ingest_paths
    report = ingest_paths(args.paths or None, settings, prune=args.prune, rebuild=args.rebuild,
                          progress=not args.quiet and sys.stderr.isatty())
    if args.json:
        print(json.dumps(report.__dict__, indent=2, default=str))
    else:
        print(report.summary())
    ok = report.files_seen > len(report.skipped)
    return 0 if ok else 1


def cmd_ask(args, settings: Settings) -> int:
    from .engine import Engine
    from .render import print_answer
    engine = Engine(settings)
    if args.json:
        print(json.dumps(engine.ask(args.question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    print_answer(engine.stream(args.question), engine, out=sys.stdout)
    return 0


def cmd_stats(args, settings: Settings) -> int:
    from .embed import make_embedder
    from .store import Store
    store = Store(settings.store, make_embedder(settings).name)
    s = store.stats()
    if args.files:
        s["files"] = store.sources()
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        for k, v in s.items():
            print(f"{k:>10}: {', '.join(v) if isinstance(v, list) else v}")
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from ingest.pipeline import remove_sources
    n = remove_sources(args.names, settings)
    print(f"Removed {len(args.names)} file(s), {n} chunk(s).")
    return 0


def cmd_chat(args, settings: Settings) -> int:
    from .chat import repl
    from .engine import Engine
    return repl(Engine(settings), settings) or 0


def cmd_eval(argv: list[str]) -> int:
    from eval.cli import main as eval_main
    return eval_main(argv)


def _quiet_libraries() -> None:
    # No telemetry and no hub calls at run time, whatever the user's libraries default to.
    for var, val in {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
                     "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                     "TOKENIZERS_PARALLELISM": "false"}.items():
        os.environ.setdefault(var, val)


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        # the scale benchmark has its own parser; it lives in bench/ (shipped as a package)
        from bench.scale import main as bench_main
        return _guard(lambda: bench_main(argv[1:]))
    if argv[:1] == ["eval"]:
        # eval has its own parser (with sub-commands); hand it the rest untouched.
        return _guard(lambda: cmd_eval(argv[1:]))
    args = build_parser().parse_args(argv)
    return _guard(lambda: _dispatch(args))


def _dispatch(args) -> int:
    settings = settings_from(args)
    return {"ingest": cmd_ingest, "ask": cmd_ask, "stats": cmd_stats,
            "remove": cmd_remove, "chat": cmd_chat}[args.command](args, settings)


def _guard(fn) -> int:
    try:
        return fn()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:   # IngestError and StoreError are ValueErrors
        print(f"rag: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

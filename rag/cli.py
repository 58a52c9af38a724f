"""`rag`: a thin command line over the library. Parse, call, print.

Conventions (every sub-command keeps them; tests/test_cli_conventions.py checks them):
  exit 0 success, 1 run-time failure (one `rag: error: ...` line on stderr), 2 usage error
  (argparse's code), 130 interrupted; results on stdout, diagnostics and skipped files on stderr;
  `--json` / `--quiet` where there is output worth scripting.

Adding a sub-command: write `args_NAME(p)` (its flags) and `cmd_NAME(args, settings) -> int`,
then add one `Command(...)` line to COMMANDS. Heavy imports happen inside the command.
"""
from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .registry import ANSWERERS, EMBEDDERS, RETRIEVERS
from .settings import Settings

log = logging.getLogger("rag")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# ---- shared flags ---------------------------------------------------------------------------

def positive_int(name: str) -> Callable[[str], int]:
    """An argparse type: a bad value is a usage error (exit 2) naming the flag's rule."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = 0
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number of 1 or more, "
                                             f"got {text!r}")
        return v
    return parse


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="index folder (default: $RAG_STORE, else "
                                   "~/.local/share/rag-news/store)")
    p.add_argument("--embedder", choices=sorted(EMBEDDERS),
                   help="embedder (default: $RAG_EMBED, else wordllama, offline)")
    p.add_argument("--chroma-url", help="use a Chroma server (`chroma run`) at http://host:port "
                                        "for the vectors (default: $RAG_CHROMA_URL, else the "
                                        "store folder)")


def _answering(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=positive_int("k"), help="passages to retrieve (default: $RAG_K, else 5)")
    p.add_argument("--retriever", choices=sorted(RETRIEVERS),
                   help="retriever (default: $RAG_RETRIEVER, else hybrid)")
    p.add_argument("--answerer", choices=["auto", *sorted(ANSWERERS)],
                   help="answerer (default: llm when OPENAI_API_KEY or OPENAI_BASE_URL is set, "
                        "else extractive)")
    p.add_argument("--model", help="LLM model name (default: $RAG_LLM_MODEL)")


def _output(p: argparse.ArgumentParser, json_help: str, quiet_help: str | None = None) -> None:
    p.add_argument("--json", action="store_true", help=json_help)
    if quiet_help:
        p.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


def settings_from(args: argparse.Namespace) -> Settings:
    get = lambda name: getattr(args, name, None)  # noqa: E731
    return Settings.from_env(store=get("store"), embedder=get("embedder"), k=get("k"),
                             retriever=get("retriever"), answerer=get("answerer"),
                             llm_model=get("model"), chunk_tokens=get("chunk_tokens"),
                             chroma_url=get("chroma_url"))


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


# ---- commands: args_NAME adds the flags, cmd_NAME runs it -----------------------------------

def args_ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="files, folders or page URLs (https://...) "
                                            "(default: the bundled corpus)")
    p.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="an RSS or Atom feed: ingest its new and changed items (repeatable)")
    p.add_argument("--prune", action="store_true", help="drop indexed files that no longer exist")
    p.add_argument("--rebuild", action="store_true", help="delete the index and build it afresh")
    p.add_argument("--chunk-tokens", type=positive_int("--chunk-tokens"),
                   help="chunk size in tokens (default 200)")
    _output(p, "print the summary as JSON", "no progress bar (the summary still prints)")


def cmd_ingest(args, settings: Settings) -> int:
    from ingest.pipeline import ingest_paths
    from ingest.web import fetch_sources, kept_pages
    # Fetched pages have no folder of the user's to re-index them from: a rebuild takes them
    # from their saved copies in the store (before the fetches, which may add to them).
    kept = kept_pages(settings) if args.rebuild else []
    paths, web = fetch_sources(args.paths, args.feed, settings)
    if web is not None:
        for line in web.messages:
            print(line, file=sys.stderr)
        for url, why in web.failures:
            print(f"Not fetched {url}: {why}", file=sys.stderr)
        if not paths and not kept:
            return EXIT_FAILURE if web.failures else EXIT_OK
    if kept:
        print(f"Re-indexing {len(kept)} page(s) fetched earlier, from their copies in "
              f"{kept[0].parent} (no network).", file=sys.stderr)
        given = paths or ([] if args.paths or args.feed else [settings.corpus])
        paths = given + [p for p in kept if p not in given]
    report = ingest_paths(paths or None, settings, prune=args.prune, rebuild=args.rebuild,
                          progress=not args.quiet and not args.json and sys.stderr.isatty())
    if web is not None:
        web.commit()        # remembered only once ingested, so a failed run is retried
    for path, why in report.skipped:
        print(f"Skipped {path}: {why}", file=sys.stderr)
    if args.json:
        _print_json(report.__dict__)
    else:
        print(report.summary(skipped=False))
    if report.files_seen <= len(report.skipped):
        print("rag: error: no file could be indexed (see the Skipped lines above)", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_FAILURE if web is not None and web.failures else EXIT_OK


def args_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question")
    _output(p, "print the whole answer record as JSON (schema: rag.schemas)",
            "print only the answer text (no sources, notes or timing)")
    _answering(p)
    _when_args(p)


def _when_args(p: argparse.ArgumentParser) -> None:
    """--as-of/--since/--until/--source, shared by `rag ask` and `rag chat` (rag/when.py)."""
    p.add_argument("--as-of", type=iso_day, metavar="YYYY-MM-DD",
                   help="the date relative time in the question (\"last year\") counts from "
                        "(default: the newest article's date in the index)")
    p.add_argument("--since", type=iso_day, metavar="YYYY-MM-DD",
                   help="only articles published on or after this date (undated ones are left out)")
    p.add_argument("--until", type=iso_day, metavar="YYYY-MM-DD",
                   help="only articles published on or before this date (undated ones are left out)")
    p.add_argument("--source", metavar="FILE",
                   help="only this indexed file (a name from `rag stats --files`)")


def _when(args):
    from .when import When
    return When.parse(args.since, args.until, args.source, args.as_of,
                      names={"since": "--since", "until": "--until", "as_of": "--as-of"})


def iso_day(text: str):
    """argparse type for the date flags: an ISO date, or a clear usage error."""
    from .when import EXAMPLE, parse_day
    try:
        return parse_day(text, "date")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, "
                                         f"e.g. {EXAMPLE}") from None


def cmd_ask(args, settings: Settings) -> int:
    from .engine import Engine
    from .render import print_answer
    when = _when(args).kwargs()
    with Engine(settings) as engine:
        if args.json:
            _print_json(engine.ask(args.question, **when).to_dict())
        elif args.quiet:
            print(engine.ask(args.question, **when).text)
        else:
            print_answer(engine.stream(args.question, **when), engine, out=sys.stdout)
    return EXIT_OK


def args_stats(p: argparse.ArgumentParser) -> None:
    _output(p, "print the figures as JSON")
    p.add_argument("--files", action="store_true", help="list the indexed files")


def cmd_stats(args, settings: Settings) -> int:
    from .embed import make_embedder
    from .store import Store
    store = Store(settings.store, make_embedder(settings).name, chroma_url=settings.chroma_url)
    s = store.stats()
    if args.files:
        s["files"] = store.sources()
    if args.json:
        _print_json(s)
    else:
        for k, v in s.items():
            print(f"{k:>10}: {', '.join(v) if isinstance(v, list) else v}")
    if store.partial:
        print(f"rag: the first ingest into {store.path} has not finished; run `rag ingest` "
              f"again to complete it.", file=sys.stderr)
    if not s["documents"]:
        print(f"rag: the index at {store.path} is empty: nothing is indexed. Add documents with "
              f"`rag ingest PATH`.", file=sys.stderr)
    return EXIT_OK


def args_doctor(p: argparse.ArgumentParser) -> None:
    _output(p, "print the findings as JSON")
    p.add_argument("--repair", action="store_true",
                   help="point a lost or damaged CURRENT marker at the newest complete "
                        "generation (deletes nothing)")


def cmd_doctor(args, settings: Settings) -> int:
    from dataclasses import asdict

    from .doctor import examine
    report = examine(settings.store, repair=args.repair)
    if args.json:
        _print_json({**asdict(report), "ok": report.ok})
    else:
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILURE


def args_remove(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", help="file names as `rag stats --files` lists them")
    _output(p, "print what was removed as JSON", "print nothing on success")


def cmd_remove(args, settings: Settings) -> int:
    from ingest.pipeline import remove_sources
    n = remove_sources(args.names, settings)
    if args.json:
        _print_json({"files": args.names, "chunks_removed": n})
    elif not args.quiet:
        print(f"Removed {len(args.names)} file(s), {n} chunk(s).")
    return EXIT_OK


def args_chat(p: argparse.ArgumentParser) -> None:
    _answering(p)
    _when_args(p)


def cmd_chat(args, settings: Settings) -> int:
    from .chat import repl
    from .engine import Engine
    from .memory import cap_malloc_arenas
    cap_malloc_arenas()     # a long session: keep resident memory flat (rag/memory.py)
    with Engine(settings) as engine:
        return repl(engine, settings, when=_when(args)) or EXIT_OK


def args_ui(p: argparse.ArgumentParser) -> None:
    from ui.server import add_arguments   # stdlib only: gradio loads when the app starts
    add_arguments(p)


def cmd_ui(args, settings: Settings) -> int:
    from ui.server import serve
    return serve(settings, host=args.host, port=args.port, share=args.share)


def args_feedback(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["drafts"], help="drafts: thumbs-down answers as draft "
                   "Q&A entries (answers and evidence left for a person to fill)")
    p.add_argument("--file", type=Path, help="feedback file (default: <store>/app/feedback.jsonl)")
    p.add_argument("--out", type=Path, help="append the drafts to this Q&A file (default: stdout)")


def cmd_feedback(args, settings: Settings) -> int:
    from eval.drafts import write_drafts
    from ui.service import FEEDBACK_FILE, data_dir_for
    source = args.file or data_dir_for(settings) / FEEDBACK_FILE
    n = write_drafts(source, args.out, out=sys.stdout)
    print(f"{n} draft(s) from {source}" + (f" appended to {args.out}" if args.out else ""),
          file=sys.stderr)
    return EXIT_OK


@dataclass(frozen=True)
class Command:
    name: str
    summary: str                  # one line in `rag --help`
    examples: str                 # shown by `rag NAME --help`
    add_args: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]
    common: bool = True           # gets --store / --embedder


COMMANDS: list[Command] = [
    Command("ingest", "Index .txt, .md and .html files and folders into the store.", """examples:
  rag ingest                         index the bundled articles (data/articles)
  rag ingest ~/news/ report.html     index a folder and a file
  rag ingest --prune ~/news/         also drop indexed files that no longer exist
  rag ingest --rebuild               start the index afresh (e.g. after changing the embedder)
  rag ingest --json ~/news | jq .chunks_added""", args_ingest, cmd_ingest),
    Command("ask", "Answer one question, citing the passages it comes from.", """examples:
  rag ask "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
  rag ask "Who leads the Haqqani network?" -k 8
  rag ask "When was Baradar released?" --json | jq .citations
  rag ask "Who is Baradar?" --quiet       just the answer text""", args_ask, cmd_ask),
    Command("chat", "Chat in the terminal; follow-up questions keep the context.", """examples:
  rag chat            then type questions; /sources shows the passages, /reset forgets, /quit""",
            args_chat, cmd_chat),
    Command("stats", "Show what the index holds.", """examples:
  rag stats
  rag stats --json
  rag stats --files""", args_stats, cmd_stats),
    Command("doctor", "Check the index folder; --repair restores a lost CURRENT marker.",
            """examples:
  rag doctor
  rag doctor --repair""", args_doctor, cmd_doctor),
    Command("remove", "Drop files from the index by name.", """examples:
  rag remove 000_c73e7dc4e8ffbfc0.txt
  rag remove --json old.txt older.txt""", args_remove, cmd_remove),
    Command("ui", "Open the web app: chat with the articles, check each citation in one click.",
            """examples:
  rag ui                             the web app on http://127.0.0.1:7860
  rag ui --port 8080 --store ~/idx   another port and index
  RAG_UI_AUTH=me:secret rag ui --host 0.0.0.0   reachable from the network, with a login""",
            args_ui, cmd_ui),
    Command("feedback", "Turn the web app's thumbs-down answers into draft Q&A entries.",
            """examples:
  rag feedback drafts                thumbs-down answers as draft Q&A lines, on stdout
  rag feedback drafts --out eval/data/drafts.jsonl""", args_feedback, cmd_feedback),
]
# Commands with their own parser get the rest of argv untouched: name -> (summary, module that
# has `main(argv) -> int`).
PASSTHROUGH = {
    "eval": ("Evaluate answers against a Q&A set; write report.html and report.md.", "eval.cli"),
    "bench": ("Measure ingest, storage, memory, latency and quality as the corpus grows.",
              "bench.scale"),
}


# ---- parser ---------------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" for mistyped flags."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            message += _suggest(message.split(":", 1)[1].split(), self._option_names())
        super().error(message)

    def _option_names(self) -> list[str]:
        return [o for a in self._actions for o in a.option_strings]


def _suggest(tokens: list[str], choices: list[str]) -> str:
    for t in tokens:
        near = difflib.get_close_matches(t.split("=", 1)[0], choices, n=1, cutoff=0.6)
        if near:
            return f" (did you mean {near[0]}?)"
    return ""


def build_parser() -> Parser:
    from . import __version__
    ap = Parser(prog="rag", description="Ask questions about news articles; every answer cites "
                "the passages it comes from.", formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="Run `rag COMMAND --help` for a command's options and examples.\n"
                       "Exit codes: 0 done, 1 failed (message on stderr), 2 usage error.\n"
                       "Logging: RAG_LOG_LEVEL=DEBUG|INFO|WARNING (default WARNING), on stderr.")
    ap.add_argument("--version", action="version", version=f"rag-news {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND",
                            parser_class=Parser)
    for c in COMMANDS:
        p = sub.add_parser(c.name, help=c.summary, description=c.summary, epilog=c.examples,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if c.common:
            _common(p)
        c.add_args(p)
    for name, (summary, _) in PASSTHROUGH.items():
        sub.add_parser(name, help=summary, add_help=False)
    return ap


def _subparser(ap: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def command_names() -> list[str]:
    return [c.name for c in COMMANDS] + list(PASSTHROUGH)


# ---- running --------------------------------------------------------------------------------

def _quiet_libraries() -> None:
    # No telemetry and no hub calls at run time, whatever the user's libraries default to.
    for var, val in {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
                     "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                     "TOKENIZERS_PARALLELISM": "false"}.items():
        os.environ.setdefault(var, val)


def setup_logging() -> None:
    """Route the `rag` logger (never the root logger) to stderr at RAG_LOG_LEVEL."""
    level = os.environ.get("RAG_LOG_LEVEL", "WARNING").upper()
    logger = logging.getLogger("rag")
    if not any(getattr(h, "_rag_cli", False) for h in logger.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("rag: %(levelname)s %(name)s: %(message)s"))
        h._rag_cli = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    logger.setLevel(level if level in logging._nameToLevel else "WARNING")


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    setup_logging()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in PASSTHROUGH:
        import importlib
        module = importlib.import_module(PASSTHROUGH[argv[0]][1])
        return _guard(lambda: module.main(argv[1:]))
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in command_names():
            near = difflib.get_close_matches(argv[0], command_names(), n=1)
            hint = f"; did you mean `rag {near[0]}`?" if near else ""
            build_parser().error(f"unknown command {argv[0]!r}{hint} "
                                 f"(commands: {', '.join(command_names())})")
        ap = build_parser()
        args, extra = ap.parse_known_args(argv)
        if extra:   # reported by the sub-command's parser, which knows its flags' names
            _subparser(ap, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    run = {c.name: c.run for c in COMMANDS}[args.command]

    def go() -> int:
        settings = settings_from(args)
        log.debug("rag %s with %s", args.command, settings)
        return run(args, settings)
    return _guard(go)


def _guard(fn: Callable[[], int]) -> int:
    try:
        return fn()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, RuntimeError) as e:
        # Domain errors (IngestError, StoreError, EmbedderError, LLMError...) carry a message
        # that says what to change; the traceback is there for RAG_LOG_LEVEL=DEBUG.
        log.debug("command failed", exc_info=True)
        print(f"rag: error: {e}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

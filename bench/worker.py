"""One measured run, in its own process, so CPU, memory and I/O figures belong to it alone.

usage: python -m bench.worker ingest|query ours|starter --corpus DIR --store DIR [--qa FILE]
                              [--chroma-url URL]
Prints one JSON object on the last line of stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def process_age() -> float:
    """Seconds since this process started (interpreter start included): cold-start time."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def usage() -> dict:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    # Worker processes (ingest/parallel.py) count too: their CPU once they have exited.
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    io = {}
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            key, _, val = line.partition(":")
            io[key] = int(val)
    except OSError:     # not Linux: the I/O figures are left out
        pass
    return {"cpu_s": ru.ru_utime + ru.ru_stime + kids.ru_utime + kids.ru_stime,
            "peak_rss_mb": ru.ru_maxrss / 1024, "child_peak_rss_mb": kids.ru_maxrss / 1024,
            "write_bytes": io.get("write_bytes"), "read_bytes": io.get("read_bytes")}


def disk_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk (allocated blocks, so sparse files count as they are)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total


def corpus_bytes(folder: Path) -> tuple[int, int]:
    files = [p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".")]
    return len(files), sum(p.stat().st_size for p in files)


def pct(values, q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _load() -> float:
    return os.getloadavg()[0]


def _built_chunks(store: Path) -> int | None:
    """Chunks ours has committed so far (the chunk table of the generation being built)."""
    import sqlite3
    for table in Path(store).glob("g-*/chunks.sqlite"):
        try:
            # read-only even over a live journal: the writer being watched must not be disturbed
            db = sqlite3.connect(f"{table.absolute().as_uri()}?mode=ro", uri=True, timeout=1)
            try:
                return db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return None
    return None


class Progress:
    """A line on stderr every `every` seconds while a long step runs: elapsed, CPU, RSS, bytes
    written, the load average and (ours) chunks committed, with a rate and an estimate of the
    time left. `rag bench` shows these lines; a 1000x run takes minutes."""

    def __init__(self, label: str, store: Path, total_chunks: int | None, every: float = 20.0):
        import threading
        self.label, self.store, self.total, self.every = label, store, total_chunks, every
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            u = usage()
            rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") \
                if Path("/proc/self/statm").exists() else 0
            t = time.perf_counter() - self.t0
            line = (f"[progress] {self.label}: {t:,.0f} s, CPU {u['cpu_s']:,.0f} s, RSS "
                    f"{rss / 1e6:,.0f} MB, written {(u['write_bytes'] or 0) / 1e6:,.0f} MB, "
                    f"load {_load():.1f}")
            done = _built_chunks(self.store)
            if done:
                line += f", {done:,} chunks ({done / t:,.0f}/s)"
                if self.total and done < self.total:
                    line += f", about {(self.total - done) / (done / t) / 60:.1f} min left"
            print(line, file=sys.stderr, flush=True)


def _settings(args):
    from rag.settings import Settings
    extra = {"chroma_url": args.chroma_url} if args.chroma_url else {}
    return Settings.from_env(store=args.store, answerer="extractive", **extra)


def ingest(args) -> dict:
    n_files, n_bytes = corpus_bytes(args.corpus)
    t = time.perf_counter()
    with Progress(f"ingest {args.system}", args.store, args.expect_chunks):
        if args.system == "ours":
            from ingest.pipeline import ingest_paths
            report = ingest_paths([args.corpus], _settings(args), progress=False)
            chunks = report.chunks_added + report.chunks_unchanged
            skipped = len(report.skipped)
        else:
            from bench import starter
            chunks, skipped = starter.ingest(args.corpus, args.store), 0
    wall = time.perf_counter() - t
    return {"wall_s": wall, "load_avg": _load(), "files": n_files, "bytes": n_bytes, "chunks": chunks,
            "skipped": skipped, "files_per_s": n_files / wall, "chunks_per_s": chunks / wall,
            "mb_per_s": n_bytes / 1e6 / wall, "store_bytes": disk_bytes(args.store), **usage()}


def _qa(args):
    from eval.dataset import evidence_spans, load_qa, load_texts
    texts = load_texts(ROOT / "data" / "articles")
    return [(it, evidence_spans(it, texts)) for it in load_qa(args.qa)]


def query(args) -> dict:
    from eval.metrics import retrieval_scores
    from rag.tokens import count
    items = _qa(args)
    stages: dict[str, list[float]] = {}
    hits, mrrs = [], []

    def score(passages, it, spans):
        if it.answerable:
            r = retrieval_scores(passages, spans, it.answers, 5, count)
            hits.append(r["hit"])
            mrrs.append(r["mrr"])

    if args.system == "ours":
        from rag.engine import Engine
        engine = Engine(_settings(args))
        engine.ask(items[0][0].question)
        cold = process_age()
        for it, spans in items:
            t = time.perf_counter()
            answer = engine.ask(it.question, history=list(it.history) or None)
            wall = (time.perf_counter() - t) * 1000
            for name, ms in {**answer.timings, "wall": wall}.items():
                stages.setdefault(name, []).append(ms)
            score(answer.to_dict()["passages"], it, spans)
    else:
        from bench import starter
        retriever = starter.retriever(args.store)
        retriever.retrieve(items[0][0].question)
        cold = process_age()
        for it, spans in items:
            # The starter has no conversation handling: follow-ups are asked as they are.
            t = time.perf_counter()
            nodes = retriever.retrieve(it.question)
            stages.setdefault("wall", []).append((time.perf_counter() - t) * 1000)
            score(starter.passages(nodes), it, spans)
    return {"cold_start_s": cold, "questions": len(items),
            "hit_at_5": statistics.mean(hits), "mrr_at_5": statistics.mean(mrrs),
            "stages_ms": {name: {"p50": pct(v, 50), "p95": pct(v, 95)} for name, v in stages.items()},
            **usage()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["ingest", "query"])
    ap.add_argument("system", choices=["ours", "starter"])
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--qa", type=Path, default=ROOT / "eval" / "data" / "qa.jsonl")
    ap.add_argument("--chroma-url")
    ap.add_argument("--expect-chunks", type=int, help="for the progress lines' estimate")
    args = ap.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    out = (ingest if args.task == "ingest" else query)(args)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

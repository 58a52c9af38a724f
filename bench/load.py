"""Load: many clients asking at once, for a bounded time; errors, latency and memory over time.

usage: .venv/bin/python bench/load.py [--mode app|query] [--clients 20] [--seconds 60]
                                      [--max-requests 20000] [--store PATH] [--arenas N]
                                      [--out bench/out/load.json]

  app    (default) the web app as users run it: `python -m ui` on 127.0.0.1 in its own process,
         each client a `gradio_client.Client` calling the /ask endpoint; memory is the server
         process's resident set, sampled every second.
  query  `rag.query()` from threads in this process (the library path; no web stack).

The Q&A set's questions (answerable and not) are asked round-robin, each client starting at a
different one. Bounded in time (--seconds, then each client finishes its current request within
--request-timeout) and in count (--max-requests over all clients). Without --store the bundled
corpus is indexed into a temporary store first. Extractive answerer (offline).

Errors: an exception, or a reply that is not an answer record (abstained, or with citations).
Memory: after one warm-up question per client, RSS is sampled once a second; "growth" is the
median of the last third of the run minus the median of the first third. `--arenas N` starts
the server with MALLOC_ARENA_MAX=N (N=8 shows the old, uncapped growth; by default the app caps
arenas itself, see rag/memory.py).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def questions() -> list[str]:
    with open(ROOT / "eval" / "data" / "qa.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def rss_mb(pid: int) -> float | None:
    try:
        from rag.memory import rss_mb as read
        return read(pid)
    except OSError:
        return None


def index_corpus(folder: Path) -> Path:
    store = folder / "store"
    r = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", "--quiet", "--store", str(store)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"indexing the corpus failed:\n{r.stderr}")
    return store


# --- targets: something that answers one question ---------------------------------------------

class AppTarget:
    """`python -m ui` in its own process; one gradio_client.Client per client thread."""

    def __init__(self, store: Path, arenas: int | None, startup_timeout: float = 300):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
        env.update(RAG_STORE=str(store), RAG_ANSWERER="extractive", GRADIO_ANALYTICS_ENABLED="False",
                   ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1")
        if arenas:
            env["MALLOC_ARENA_MAX"] = str(arenas)
        self.proc = subprocess.Popen([sys.executable, "-m", "ui", "--port", "0"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.pid = self.proc.pid
        self.url = self._wait_for_url(startup_timeout)
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := re.search(r"(http://127\.0\.0\.1:\d+)", line):
                return m.group(1)
        self.close()
        raise SystemExit("the web app did not start:\n" + "".join(lines))

    def _drain(self) -> None:
        for _ in self.proc.stdout:
            pass

    def client(self):
        import gradio_client
        c = gradio_client.Client(self.url, verbose=False)
        return lambda q: c.predict(question=q, api_name="/ask")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class QueryTarget:
    """rag.query() from threads in this process."""

    def __init__(self, store: Path):
        os.environ["RAG_STORE"] = str(store)
        os.environ["RAG_ANSWERER"] = "extractive"
        self.pid = os.getpid()

    def client(self):
        from rag import query
        return lambda q: query(q).to_dict()

    def close(self) -> None:
        pass


# --- the run ------------------------------------------------------------------------------------

def run(target, clients: int, seconds: float, max_requests: int, qs: list[str]) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    budget = [max_requests]
    callers = [None] * clients

    def setup(i: int) -> None:
        try:
            callers[i] = target.client()
            callers[i](qs[i % len(qs)])          # warm-up, not counted
        except Exception as e:   # noqa: BLE001 - a failed client is an error of the run
            with lock:
                errors.append(f"client {i} setup: {type(e).__name__}: {e}")

    ts = [threading.Thread(target=setup, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

    stop = threading.Event()
    memory: list[tuple[float, float]] = []
    t_start = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            m = rss_mb(target.pid)
            if m is not None:
                memory.append((time.monotonic() - t_start, m))
            stop.wait(1.0)

    def ask(i: int) -> None:
        call = callers[i]
        if call is None:
            return
        n = i * 7
        while time.monotonic() - t_start < seconds:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            q = qs[n % len(qs)]
            n += 1
            t0 = time.monotonic()
            try:
                d = call(q)
                ok = isinstance(d, dict) and "answer" in d and (d.get("abstained") or d.get("citations"))
                err = None if ok else f"not an answer record: {str(d)[:200]}"
            except Exception as e:   # noqa: BLE001
                err = f"{type(e).__name__}: {e}"[:300]
            with lock:
                latencies.append(time.monotonic() - t0)
                if err:
                    errors.append(err)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=ask, args=(i,)) for i in range(clients)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = time.monotonic() - t_start
    stop.set()
    sampler.join()
    return summarise(latencies, errors, memory, elapsed, clients)


def summarise(latencies, errors, memory, elapsed, clients) -> dict:
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else float("nan")

    rss = [m for _, m in memory]
    third = max(1, len(rss) // 3)
    first, last = statistics.median(rss[:third]), statistics.median(rss[-third:])
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(lat),
        "errors": len(errors), "error_examples": sorted(set(errors))[:5],
        "throughput_per_s": round(len(lat) / elapsed, 2) if elapsed else 0.0,
        "latency_s": {"p50": round(pct(50), 3), "p95": round(pct(95), 3), "max": round(pct(100), 3)},
        "rss_mb": {"start": round(rss[0], 1), "end": round(rss[-1], 1), "max": round(max(rss), 1),
                   "first_third_median": round(first, 1), "last_third_median": round(last, 1),
                   "growth": round(last - first, 1)},
        "rss_series": [(round(t, 1), round(m, 1)) for t, m in memory],
    }


def report(result: dict) -> str:
    r, lat, mem = result, result["latency_s"], result["rss_mb"]
    every = max(1, len(r["rss_series"]) // 12)
    series = ", ".join(f"{t:.0f}s {m:.0f}" for t, m in r["rss_series"][::every])
    return "\n".join([
        f"mode {r['mode']}: {r['clients']} clients for {r['seconds']} s, arenas {r['arenas']}",
        f"requests {r['requests']}  errors {r['errors']}  throughput {r['throughput_per_s']}/s",
        f"latency p50 {lat['p50']:.2f} s  p95 {lat['p95']:.2f} s  max {lat['max']:.2f} s",
        f"RSS MB: start {mem['start']}  end {mem['end']}  max {mem['max']}  "
        f"growth (last third - first third, medians) {mem['growth']:+.1f}",
        f"RSS over time (MB): {series}",
        *(f"error: {e}" for e in r["error_examples"]),
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["app", "query"], default="app")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--store", type=Path, help="an existing index (default: index the corpus)")
    ap.add_argument("--arenas", type=int, help="MALLOC_ARENA_MAX for the answering process")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load.json")
    args = ap.parse_args(argv)
    if args.mode == "query" and args.arenas and os.environ.get("MALLOC_ARENA_MAX") != str(args.arenas):
        # glibc reads MALLOC_ARENA_MAX once, at process start: run again with it set.
        env = {**os.environ, "MALLOC_ARENA_MAX": str(args.arenas)}
        return subprocess.call([sys.executable, __file__, *(argv or sys.argv[1:])], env=env)
    if args.mode == "query" and not args.arenas:
        from rag.memory import cap_malloc_arenas
        cap_malloc_arenas()     # what `rag ui` and `rag chat` do at startup
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        store = args.store or index_corpus(Path(tmp))
        target = AppTarget(store, args.arenas) if args.mode == "app" else QueryTarget(store)
        try:
            result = run(target, args.clients, args.seconds, args.max_requests, questions())
        finally:
            target.close()
    result.update(mode=args.mode, arenas=args.arenas or "capped at 2 (rag/memory.py)",
                  command="python bench/load.py " + " ".join(argv or sys.argv[1:]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result))
    print(f"(full record: {args.out})")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

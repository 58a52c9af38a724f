"""`rag bench` / `python -m bench`: how ingest, storage, memory, latency and retrieval quality
grow with corpus size, ours against the LlamaIndex starter, in one run.

Sizes are multiples of the bundled corpus's chunk count (162 chunks): the five real files hidden
among seeded, generated distractors (bench/corpus.py). Every measured step (ingest, queries) runs
in its own process (bench/worker.py), so CPU, peak memory and bytes written are that step's.
Writes DIR/bench.json (after every step, so a long run keeps what it measured), DIR/bench.md
and DIR/scale.png.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_CHUNKS = 162          # the bundled corpus at the default chunking
QUICK_SIZES = (1, 10)      # under two minutes on the 2-core machine this was written on
FULL_SIZES = (1, 100, 1000)


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        mem = f"{int(open('/proc/meminfo').readline().split()[1]) / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu or platform.processor(), "memory": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def run_worker(*args: str, log: Path) -> dict:
    cmd = [sys.executable, "-m", "bench.worker", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               ANONYMIZED_TELEMETRY="False", TOKENIZERS_PARALLELISM="false")
    with open(log, "ab") as err:
        err.write(f"\n$ {' '.join(cmd)}\n".encode())
        err.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        # stderr goes to the log; the worker's progress lines are also shown as they come.
        for line in proc.stderr:
            err.write(line)
            if line.startswith(b"[progress]"):
                err.flush()
                print("   ", line.decode(errors="replace").rstrip(), flush=True)
        out = proc.stdout.read()
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed (exit {proc.returncode}); see {log}")
    return json.loads(out.decode().strip().splitlines()[-1])


def measure(system: str, corpus: Path, store: Path, qa: Path, log: Path,
            chroma_url: str | None = None, expect_chunks: int | None = None) -> dict:
    shutil.rmtree(store, ignore_errors=True)
    extra = ["--chroma-url", chroma_url] if chroma_url else []
    expect = ["--expect-chunks", str(expect_chunks)] if expect_chunks else []
    out = {"ingest": run_worker("ingest", system, "--corpus", str(corpus), "--store", str(store),
                                *extra, *expect, log=log)}
    out["query"] = run_worker("query", system, "--store", str(store), "--qa", str(qa), *extra,
                              log=log)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="rag bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale",
                    help="where bench.json, bench.md and scale.png go")
    ap.add_argument("--work", type=Path, help="where generated corpora and stores go "
                    "(default: OUT/work; corpora are reused between runs)")
    ap.add_argument("--sizes", type=float, nargs="+",
                    help=f"multiples of the bundled corpus's chunk count (default "
                         f"{' '.join(map(str, FULL_SIZES))}; --quick: "
                         f"{' '.join(map(str, QUICK_SIZES))})")
    ap.add_argument("--quick", action="store_true", help="small sizes only (under two minutes)")
    ap.add_argument("--seed", type=int, default=0, help="distractor generator seed")
    ap.add_argument("--no-starter", action="store_true", help="skip the LlamaIndex starter")
    ap.add_argument("--server-size", type=float, default=None,
                    help="also run ours against a `chroma run` server at this size "
                         "(default: the largest size up to 100)")
    ap.add_argument("--no-server", action="store_true", help="skip the client/server run")
    ap.add_argument("--qa", type=Path, default=ROOT / "eval" / "data" / "qa.jsonl")
    ap.add_argument("--keep-stores", action="store_true", help="keep the stores after measuring")
    args = ap.parse_args(argv)
    from bench.corpus import write_corpus
    from bench.report import write_report

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    out = args.out.resolve()
    work = (args.work or args.out / "work").resolve()
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    log = out / "bench.log"
    log.write_text("")
    server_size = args.server_size if args.server_size is not None else \
        max([s for s in sizes if s <= 100] or [min(sizes)])
    result = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "command": "rag bench " + " ".join(argv if argv is not None else sys.argv[1:]),
              "seed": args.seed, "base_chunks": BASE_CHUNKS, "sizes": []}

    def save():
        (out / "bench.json").write_text(json.dumps(result, indent=2))

    for size in sizes:
        label = f"{size:g}x"
        t = time.perf_counter()
        corpus = work / f"corpus-{label}-seed{args.seed}"
        manifest = write_corpus(corpus, ROOT / "data" / "articles", args.qa,
                                int(size * BASE_CHUNKS), seed=args.seed)
        row = {"size": label, "multiple": size, "corpus": manifest,
               "generate_s": time.perf_counter() - t}
        result["sizes"].append(row)
        print(f"[{label}] {manifest['files']:,} files, {manifest['bytes'] / 1e6:.1f} MB, about "
              f"{manifest['estimated_chunks']:,} chunks (generated in {row['generate_s']:.0f} s)",
              flush=True)
        systems = ["ours"] + ([] if args.no_starter else ["starter"])
        for system in systems:
            print(f"[{label}] {system}: {estimate(result['sizes'][:-1], system, manifest)}",
                  flush=True)
            store = work / f"store-{system}-{label}"
            row[system] = measure(system, corpus, store, args.qa, log,
                                  expect_chunks=manifest["estimated_chunks"]
                                  if system == "ours" else None)
            if not args.keep_stores:
                shutil.rmtree(store, ignore_errors=True)
            print(f"[{label}] {system}: ingest {row[system]['ingest']['wall_s']:.1f} s, "
                  f"hit@5 {row[system]['query']['hit_at_5']:.3f}", flush=True)
            save()
        if size == server_size and not args.no_server:
            from bench.chroma_server import chroma_server
            data = work / f"chroma-server-{label}"
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            with chroma_server(data) as url:
                row["ours_server"] = measure("ours", corpus, work / f"store-server-{label}",
                                             args.qa, log, chroma_url=url)
            row["ours_server"]["ingest"]["store_bytes"] = _disk(data)
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(work / f"store-server-{label}", ignore_errors=True)
            print(f"[{label}] ours via chroma server: ingest "
                  f"{row['ours_server']['ingest']['wall_s']:.1f} s", flush=True)
            save()
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    save()
    write_report(result, out)
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'scale.png'}")
    return 0


def estimate(done: list[dict], system: str, manifest: dict) -> str:
    """What the next step should cost, scaled linearly by bytes from the largest size measured
    so far (every step is linear in the corpus; a 1000x run takes minutes, not seconds)."""
    prev = [r for r in done if r.get(system, {}).get("ingest")]
    if not prev:
        return "ingesting (no earlier size to estimate from)"
    last = prev[-1]
    ing, q = last[system]["ingest"], last[system].get("query", {})
    f = manifest["bytes"] / max(1, ing["bytes"])
    return (f"ingesting; expect about {ing['wall_s'] * f / 60:.1f} min ingest at the "
            f"{last['size']} rate (load now {_load():.1f}), store about "
            f"{ing['store_bytes'] * f / 1e9:.2f} GB, then {q.get('questions', '?')} questions")


def _load() -> float:
    return os.getloadavg()[0]


def _disk(folder: Path) -> int:
    from bench.worker import disk_bytes
    return disk_bytes(folder)


if __name__ == "__main__":
    sys.exit(main())

"""Cold `rag ask`: process start to printed answer, and where the import time goes.

    .venv/bin/python bench/coldstart.py                      # 5 runs + an import-time table
    .venv/bin/python bench/coldstart.py --src /tmp/old-checkout --store /tmp/old-store

Each run is a fresh `python -m rag ask QUESTION --json` process (the same code path as the
`rag` script), timed from spawn to exit, after one unrecorded warm-up run (the page cache holds
the files then, as for a user's second command). The store must exist (`rag ingest` first).
`--src` runs another checkout's code with this environment's packages (for before/after
tables). The import table comes from `python -X importtime` on one more run: cumulative
microseconds of each top-level package, as imported by the command.

Writes bench/out/coldstart.json and prints Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
OUT = Path(__file__).resolve().parent / "out"


def _env(src: Path | None, store: Path) -> dict[str, str]:
    env = {**os.environ, "RAG_STORE": str(store)}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_ANSWERER"):
        env.pop(var, None)        # offline, extractive: the default a new user gets
    if src:
        env["PYTHONPATH"] = str(src)
    return env


def run_once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one process. CPU time barely moves with the
    machine's load; wall time is what a user waits on an idle machine only."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0 or '"answer"' not in r.stdout:
        sys.exit(f"the command failed ({r.returncode}): {r.stderr[-1500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_table(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Cumulative import milliseconds per top-level package (`-X importtime`)."""
    r = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, cwd=cwd,
                       capture_output=True, text=True)
    per: dict[str, float] = {}
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue                     # the header line, or not importtime's
        raw = parts[2][1:]               # one space follows the bar; nesting adds two per level
        if raw.startswith(" "):
            continue                     # imported by another module: counted in its total
        top = raw.split(".")[0]
        per[top] = per.get(top, 0.0) + int(parts[1]) / 1000
    return dict(sorted(per.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--store", type=Path, default=None,
                    help="store to ask (default: $RAG_STORE or the default store)")
    ap.add_argument("--src", type=Path, help="run the rag package from this checkout")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--label", default="current")
    args = ap.parse_args(argv)
    store = args.store or Path(os.environ.get("RAG_STORE") or
                               Path.home() / ".local/share/rag-news/store")
    env = _env(args.src, store)
    cmd = [sys.executable, "-m", "rag.cli", "ask", args.question, "--json"]
    # `python -m` puts the working directory first on sys.path: run from the checkout measured.
    cwd = args.src or Path(__file__).resolve().parent.parent
    run_once(cmd, env, cwd)                              # warm-up: page cache, .pyc files
    runs = [run_once(cmd, env, cwd) for _ in range(args.repeat)]
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    imports = import_table(cmd, env, cwd)
    result = {"label": args.label, "src": str(args.src or "."), "repeat": args.repeat,
              "wall_s": walls, "median_s": statistics.median(walls), "cpu_s": cpus,
              "median_cpu_s": statistics.median(cpus), "load_avg": os.getloadavg()[0],
              "imports_ms": imports, "total_import_ms": sum(imports.values())}
    OUT.mkdir(exist_ok=True)
    (OUT / f"coldstart-{args.label}.json").write_text(json.dumps(result, indent=1))
    print(f"cold `rag ask --json` ({args.label}): median {result['median_s']:.2f} s, "
          f"min {min(walls):.2f} s, max {max(walls):.2f} s over {args.repeat} runs; CPU (user+sys) "
          f"median {result['median_cpu_s']:.2f} s; load average {result['load_avg']:.1f}")
    print("\n| package | cumulative import ms |\n| --- | ---: |")
    for name, ms in list(imports.items())[:12]:
        print(f"| {name} | {ms:.0f} |")
    print(f"| all top-level imports | {result['total_import_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""bench.json -> bench.md (tables) and scale.png (how each cost grows with corpus size)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

MB = 1e6


def _get(row: dict, system: str, part: str, key: str, stage: str | None = None):
    try:
        v = row[system][part][key]
        return v[stage]["p95" if stage == "p95" else "p50"] if stage else v
    except (KeyError, TypeError):
        return None


def _stage(row, system, name, q):
    try:
        return row[system]["query"]["stages_ms"][name][q]
    except (KeyError, TypeError):
        return None


def _f(v, fmt="{:.1f}"):
    return "—" if v is None else fmt.format(v)


def _ratio(a, b):
    return None if a is None or not b else a / b


def _system_rows(row: dict, system: str) -> list:
    ing = row.get(system, {}).get("ingest", {})
    q = row.get(system, {}).get("query", {})
    wall = "total" if system != "starter" else "wall"
    written, store = ing.get("write_bytes"), ing.get("store_bytes")
    return [ing.get("chunks"), ing.get("wall_s"), ing.get("chunks_per_s"), ing.get("mb_per_s"),
            ing.get("cpu_s"), None if written is None else written / MB,
            None if store is None else store / MB, _ratio(written, store),
            ing.get("peak_rss_mb"), q.get("peak_rss_mb"), q.get("cold_start_s"),
            _stage(row, system, wall, "p50"), _stage(row, system, wall, "p95"),
            q.get("hit_at_5"), q.get("mrr_at_5")]


HEAD = ["chunks", "ingest s", "chunks/s", "MB/s", "ingest CPU s", "written MB", "store MB",
        "written/store", "ingest RSS MB", "query RSS MB", "cold start s", "query p50 ms",
        "query p95 ms", "hit@5", "MRR@5"]
FMT = ["{:,.0f}", "{:.1f}", "{:,.0f}", "{:.2f}", "{:.1f}", "{:,.0f}", "{:,.0f}", "{:.2f}",
       "{:,.0f}", "{:,.0f}", "{:.2f}", "{:.1f}", "{:.1f}", "{:.3f}", "{:.3f}"]
STAGES = ["condense", "bm25", "embed", "dense", "fusion", "rerank", "answer", "total"]


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']}, Python {m['python']}; "
             f"run {result['started']} – {result.get('finished', 'unfinished')}; "
             f"`{result['command']}`", ""]
    lines += ["| size | files | MB | system | " + " | ".join(HEAD) + " |",
              "|" + " --- |" * (len(HEAD) + 4)]
    for row in result["sizes"]:
        c = row["corpus"]
        for system in ("ours", "ours_server", "starter"):
            if system not in row:
                continue
            vals = _system_rows(row, system)
            name = {"ours": "ours", "ours_server": "ours, chroma server",
                    "starter": "LlamaIndex starter"}[system]
            lines.append(f"| {row['size']} | {c['files']:,} | {c['bytes'] / MB:.1f} | {name} | "
                         + " | ".join(_f(v, f) for v, f in zip(vals, FMT)) + " |")
    lines += ["", "Ours / starter (same run; below 1 means ours is cheaper or faster, above 1 for "
              "throughput and hit@5 means ours is better):", "",
              "| size | ingest s | chunks/s | MB/s | CPU s | written | store | ingest RSS | "
              "query RSS | cold start | query p50 | hit@5 |", "|" + " --- |" * 12]
    for row in result["sizes"]:
        if "starter" not in row or "ours" not in row:
            continue
        o, s = _system_rows(row, "ours"), _system_rows(row, "starter")
        idx = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13]
        lines.append(f"| {row['size']} | " + " | ".join(_f(_ratio(o[i], s[i]), "{:.2f}")
                                                        for i in idx) + " |")
    lines += ["", "Ours, warm `query()` per stage, p50 / p95 ms:", "",
              "| size | " + " | ".join(STAGES) + " |", "|" + " --- |" * (len(STAGES) + 1)]
    for row in result["sizes"]:
        for system in ("ours", "ours_server"):
            if system in row:
                lines.append(f"| {row['size']}{' (server)' if system == 'ours_server' else ''} | "
                             + " | ".join(f"{_f(_stage(row, system, st, 'p50'))} / "
                                          f"{_f(_stage(row, system, st, 'p95'))}" for st in STAGES)
                             + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("ingest wall s", 1), ("chunks/s", 2), ("ingest CPU s", 4), ("written MB", 5),
              ("store MB", 6), ("ingest peak RSS MB", 8), ("cold start s", 10),
              ("warm query p50 ms", 11), ("warm query p95 ms", 12), ("hit@5", 13)]
    fig, axes = plt.subplots(2, 5, figsize=(20, 7.5))
    for ax, (title, i) in zip(axes.flat, panels):
        for system, style in (("ours", "o-"), ("starter", "s--"), ("ours_server", "^:")):
            # x is the corpus (ours' chunk count), so the systems line up size by size
            pts = [(_system_rows(r, "ours")[0], _system_rows(r, system)[i])
                   for r in result["sizes"] if system in r]
            pts = [(x, y) for x, y in pts if x and y is not None]
            if pts:
                ax.plot(*zip(*pts), style, label={"ours_server": "ours (chroma server)"}.get(
                    system, system))
        ax.set_xscale("log")
        if title != "hit@5":
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("corpus size (our chunks)")
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend()
    fig.suptitle(f"rag bench: cost against corpus size ({result['machine']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(result: dict, out: Path) -> None:
    (out / "bench.md").write_text(markdown(result))
    plot(result, out / "scale.png")


def merge(results: list[dict]) -> dict:
    """Several runs' sizes in one report (e.g. 1000x run on its own beside 1x and 100x)."""
    out = dict(results[0])
    out["sizes"] = sorted((row for r in results for row in r["sizes"]), key=lambda r: r["multiple"])
    out["command"] = "`; `".join(r["command"] for r in results)
    out["started"] = min(r["started"] for r in results)
    out["finished"] = max(r.get("finished", "unfinished") for r in results)
    return out


if __name__ == "__main__":
    # python -m bench.report DIR               re-render DIR/bench.json
    # python -m bench.report OUT DIR1 DIR2...  merge runs into OUT
    if not sys.argv[1:] or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: python -m bench.report DIR            re-render DIR/bench.json\n"
                 "       python -m bench.report OUT DIR1 DIR2  merge runs into OUT")
    dirs = [Path(a) for a in sys.argv[1:]]
    target = dirs[0]
    sources = dirs[1:] or dirs
    result = merge([json.loads((d / "bench.json").read_text()) for d in sources])
    target.mkdir(parents=True, exist_ok=True)
    (target / "bench.json").write_text(json.dumps(result, indent=2))
    write_report(result, target)

"""The eval report's plots (PNG files beside report.md, embedded in report.html)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def _plt():
    import matplotlib
    matplotlib.use("Agg")        # no display, ever: reports are written by CI too
    import matplotlib.pyplot as plt
    return plt


def plot_by_kind(summary: dict, path: Path) -> None:
    plt = _plt()
    names = ("hit", "answer_in_context", "containment", "supported_answer", "accuracy")
    kinds = list(summary["by_kind"])
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(kinds)), 4))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        vals = [summary["by_kind"][k]["metrics"].get(name) for k in kinds]
        xs = [i + j * width for i in range(len(kinds))]
        ax.bar(xs, [float("nan") if v is None else v for v in vals], width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(kinds))], kinds, rotation=20)
    ax.set_ylim(0, 1.3)          # headroom for the legend above the bars
    ax.set_title("Metrics by kind")
    ax.legend(fontsize=8, ncol=3, loc="upper center")
    _save(fig, path)


def plot_hit_curve(summary: dict, path: Path) -> None:
    plt = _plt()
    curve = summary["hit_curve"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(curve) + 1), [float("nan") if v is None else v for v in curve], marker="o")
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k")
    ax.set_ylim(0, 1.05)
    ax.set_title("hit@k")
    _save(fig, path)


def plot_latency(records: Sequence[dict], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for stage in ("retrieve", "answer", "total"):
        vals = [r["timings_ms"][stage] for r in records if stage in r["timings_ms"]]
        if vals:
            ax.hist(vals, bins=20, alpha=0.5, label=stage)
    ax.set_xlabel("ms")
    ax.set_ylabel("questions")
    ax.set_title("Latency per stage")
    ax.legend()
    _save(fig, path)


def plot_threshold(summary: dict, path: Path) -> None:
    plt = _plt()
    curve = summary["threshold_curve"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in ("noans_accuracy", "false_abstention"):
        pts = [(c["threshold"], c[name]) for c in curve if c[name] is not None]
        if pts:
            ax.step(*zip(*pts), where="post", label=name)
    t = summary["config"].get("abstain_threshold")
    if isinstance(t, (int, float)):
        ax.axvline(t, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"threshold in use: {t:.3f}", (t, 1.0), xytext=(4, -4),
                    textcoords="offset points", fontsize=8, va="top")
    ax.set_xlabel("abstain when confidence < threshold")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("Abstention vs confidence threshold")
    ax.legend(loc="center right")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)


def write_plots(summary: dict, records: Sequence[dict], out: Path) -> list[tuple[str, str]]:
    """(file name, caption) of each plot written."""
    t = summary["config"].get("abstain_threshold")
    plots = [("by_kind.png", "Metrics by kind", lambda p: plot_by_kind(summary, p)),
             ("hit_at_k.png", "hit@k for k = 1..k", lambda p: plot_hit_curve(summary, p)),
             ("latency.png", "Latency histogram", lambda p: plot_latency(records, p))]
    if summary["threshold_curve"]:     # only answers that carry a confidence give a curve
        caption = "Abstention vs confidence threshold" + (
            f" (dashed line: the threshold in use, {t:.3f})" if isinstance(t, (int, float)) else "")
        plots.append(("abstention.png", caption, lambda p: plot_threshold(summary, p)))
    for name, _, draw in plots:
        draw(out / name)
    return [(name, caption) for name, caption, _ in plots]

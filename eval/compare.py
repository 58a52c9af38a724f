"""Paired comparison of two runs, and the regression gate built on it.

With ~100 questions one flip is noise, so verdicts rest on per-question pairing: the flips
themselves, a paired bootstrap CI of each metric's difference, and an exact McNemar test.
A run is a dict {"config", "metrics", "questions": {id: {"correct", "pinned", "kind",
"scores"}}} loaded from a run directory or from a baseline file (`load_run`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.metrics import LOWER_IS_BETTER, METRICS, NOT_QUALITY

RESAMPLES = 2000
SEED = 20240917
# A metric regresses when the CI upper bound of its change is below -margin. Rates get 0.05;
# the CRAG score spans [-1, 1], so twice that.
DEFAULT_MARGINS = {m: 0.05 for m in METRICS if m not in NOT_QUALITY} | {"crag_score": 0.10}
QUESTION_KEYS = ("id", "kind", "answerable", "pinned", "correct", "label", "scores")


# --------------------------------------------------------------------------- statistics
def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p: binomial test of b successes in b + c trials at 1/2."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES,
                     seed: int = SEED) -> tuple[float, float, float]:
    """(mean of b - a, 2.5th and 97.5th percentile of the resampled mean differences).
    Questions are resampled as pairs, with a fixed seed, so the CI is reproducible."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if d.size == 0:
        raise ValueError("no paired values to compare")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi)


# --------------------------------------------------------------------------- runs
def load_run(path) -> dict:
    """A run directory (summary.json + questions.jsonl) or a baseline JSON file."""
    path = Path(path)
    if path.is_dir():
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        with open(path / "questions.jsonl", encoding="utf-8") as f:
            qs = [json.loads(line) for line in f if line.strip()]
        return {"config": summary["config"], "metrics": summary["metrics"],
                "questions": {q["id"]: q for q in qs}, "margins": {}}
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no run directory or baseline file there")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"config": data["config"], "metrics": data["metrics"],
            "questions": {q["id"]: q for q in data["questions"]},
            "margins": data.get("margins", {})}


def baseline_dict(run, margins: dict | None = None) -> dict:
    """What baseline.json holds: configuration, summary, margins and per-question results (no
    answer text or passages: the pairing needs only the verdicts and scores)."""
    return {"config": run.config, "metrics": run.summary["metrics"],
            "margins": dict(margins or DEFAULT_MARGINS),
            "questions": [{k: r[k] for k in QUESTION_KEYS} for r in run.records]}


def write_baseline(run, path) -> None:
    """Refresh a baseline, keeping margins someone tuned by hand in the existing file."""
    path = Path(path)
    margins = DEFAULT_MARGINS
    if path.is_file():
        margins = json.loads(path.read_text(encoding="utf-8")).get("margins", margins)
    data = baseline_dict(run, margins)
    questions = data.pop("questions")
    head = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)
    # One question a line: a refreshed baseline's git diff shows exactly which questions moved.
    rows = ",\n".join("  " + json.dumps(q, ensure_ascii=False, sort_keys=True) for q in questions)
    path.write_text(f'{head[:-2]},\n "questions": [\n{rows}\n ]\n}}\n', encoding="utf-8")


# --------------------------------------------------------------------------- comparison
def compare(a: dict, b: dict, *, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Run b against run a, paired by question id."""
    ids = [i for i in a["questions"] if i in b["questions"]]
    qa, qb = a["questions"], b["questions"]
    r2w = [i for i in ids if qa[i]["correct"] and not qb[i]["correct"]]
    w2r = [i for i in ids if not qa[i]["correct"] and qb[i]["correct"]]
    out = {"n_paired": len(ids),
           "only_a": [i for i in qa if i not in qb], "only_b": [i for i in qb if i not in qa],
           "right_to_wrong": r2w, "wrong_to_right": w2r,
           "mcnemar_p": mcnemar_exact(len(r2w), len(w2r)),
           "config_changes": {k: [a["config"].get(k), b["config"].get(k)]
                              for k in sorted(set(a["config"]) | set(b["config"]))
                              if k not in ("qa", "store") and a["config"].get(k) != b["config"].get(k)},
           "metrics": {}}
    for m in METRICS:
        pairs = [(qa[i]["scores"].get(m), qb[i]["scores"].get(m)) for i in ids]
        pairs = [(float(x), float(y)) for x, y in pairs if x is not None and y is not None]
        if pairs:
            diff, lo, hi = paired_bootstrap(*zip(*pairs), resamples=resamples, seed=seed)
            out["metrics"][m] = {"a": sum(x for x, _ in pairs) / len(pairs),
                                 "b": sum(y for _, y in pairs) / len(pairs),
                                 "diff": diff, "ci": [lo, hi], "n": len(pairs)}
    return out


def gate(baseline: dict, current: dict, *, resamples: int = RESAMPLES,
         seed: int = SEED) -> tuple[bool, list[str], dict]:
    """(passed, reasons it failed, the comparison). Fails when a metric's CI bound on the change
    is past -margin in the bad direction, or when a pinned question flips to wrong."""
    cmp = compare(baseline, current, resamples=resamples, seed=seed)
    margins = baseline.get("margins") or DEFAULT_MARGINS
    reasons = []
    for m, margin in sorted(margins.items()):
        r = cmp["metrics"].get(m)
        if r is None:
            continue
        lo, hi = r["ci"]
        worse = lo > margin if m in LOWER_IS_BETTER else hi < -margin
        if worse:
            reasons.append(f"{m} regressed: {r['a']:.3f} -> {r['b']:.3f} (change {r['diff']:+.3f}, "
                           f"95% CI [{lo:+.3f}, {hi:+.3f}], margin {margin}, n={r['n']})")
    pinned = [i for i in cmp["right_to_wrong"]
              if baseline["questions"][i].get("pinned") or current["questions"][i].get("pinned")]
    for i in pinned:
        reasons.append(f"pinned question {i} flipped to wrong "
                       f"(now: {current['questions'][i].get('label', '?')})")
    return not reasons, reasons, cmp


def format_comparison(cmp: dict) -> str:
    """A plain-text table of the comparison, for the terminal and for report files."""
    lines = [f"paired questions: {cmp['n_paired']}"
             + (f" (only in A: {len(cmp['only_a'])}, only in B: {len(cmp['only_b'])})"
                if cmp["only_a"] or cmp["only_b"] else "")]
    for k, (x, y) in cmp["config_changes"].items():
        lines.append(f"config {k}: {x} -> {y}")
    lines.append(f"right->wrong ({len(cmp['right_to_wrong'])}): {', '.join(cmp['right_to_wrong']) or '-'}")
    lines.append(f"wrong->right ({len(cmp['wrong_to_right'])}): {', '.join(cmp['wrong_to_right']) or '-'}")
    lines.append(f"exact McNemar p = {cmp['mcnemar_p']:.4g}")
    lines.append(f"{'metric':<22}{'A':>9}{'B':>9}{'B-A':>9}   95% CI (paired bootstrap)      n")
    for m, r in cmp["metrics"].items():
        lines.append(f"{m:<22}{r['a']:>9.3f}{r['b']:>9.3f}{r['diff']:>+9.3f}   "
                     f"[{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]{r['n']:>16}")
    return "\n".join(lines)


def from_run(run) -> dict:
    """The comparable form of a run just made (an `eval.run.Run`)."""
    return {"config": run.config, "metrics": run.summary["metrics"], "margins": {},
            "questions": {r["id"]: r for r in run.records}}

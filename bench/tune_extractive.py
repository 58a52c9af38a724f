"""Tune the extractive answerer on the Q&A set: sentence-scoring weights, then the confidence
model that decides whether to answer (rag/confidence.py), then its threshold.

usage: .venv/bin/python bench/tune_extractive.py [--qa eval/data/qa.jsonl] [-k 5]
                                                 [--max-false-abstention 0.15]

Features are computed once per question (retrieval + sentence features), then every parameter
set in the grid is scored cheaply. Everything is fitted on the tuning half only (the ids with an
even number: q002, q004, ...; eval.dataset.half_of, the one definition every tuner and table
uses); the odd-numbered ids are held out and reported separately, so the figure is not a fit to
its own data. For each scoring grid point, a logistic model (label: the chosen sentence holds a gold
alias; unanswerable questions are negatives) is fitted on the tuning half and its threshold set
for CRAG score ((correct - wrong) / n; abstaining counts 0) on that half. The best grid point's
constants are printed for rag/answer_extractive.py and rag/confidence.py.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.dataset import half_of, load_qa  # noqa: E402
from eval.metrics import contains_alias  # noqa: E402
from rag import confidence as C  # noqa: E402
from rag.answer_extractive import Params, features, pick  # noqa: E402
from rag.settings import Settings  # noqa: E402

GRID = {
    "coverage": [0.45, 0.6],
    "dense": [0.2, 0.35],
    "context": [0.25, 0.5],
    "predicate": [0.0, 0.2, 0.4],
    "type_gate": [0.5, 0.3],
    "second_ratio": [0.8, 0.9, 2.0],
    "second_other": [False, True],
}
L2 = 0.1


def prepare(settings: Settings, items, k: int):
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine
    ingest_paths([settings.corpus], settings, progress=False)
    engine = Engine(settings.with_(answerer="extractive"))
    ans = engine.answerer
    rows = []
    for it in items:
        q = engine.rewrite(it.question, list(it.history)) if it.history else it.question
        passages = engine.retrieve(q, k=k)
        rows.append((it, *features(q, passages, ans.embedder, ans.idf)))
    return rows


def halves(rows) -> tuple[list, list]:
    """(tuning rows, held-out rows), by each row's question id (eval.dataset.half_of)."""
    return ([r for r in rows if half_of(r[0].id) == "tune"],
            [r for r in rows if half_of(r[0].id) == "held"])


def candidates(rows, p: Params):
    """Per question: (feature vector or None, correct-if-answered)."""
    out = []
    for it, query, feats in rows:
        if not feats or query is None or query.unknown >= C.OFF_TOPIC_GATE:
            out.append((None, False, it))
            continue
        chosen, best, second = pick(feats, p)
        if chosen[0].missing_name >= C.MISSING_GATE:
            out.append((None, False, it))
            continue
        ok = it.answerable and contains_alias(" ".join(f.text for f in chosen), it.answers)
        out.append((C.vector(query, chosen[0], best, second), ok, it))
    return out


def fit(cands) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a few hundred rows, a dozen
    features), keeping each weight's sign as C.SIGNS allows: a weight that comes out the wrong
    way is held at 0 and the rest refitted."""
    X = np.array([x for x, _, _ in cands if x is not None], dtype=float)
    y = np.array([ok for x, ok, _ in cands if x is not None], dtype=float)
    signs = np.array(C.SIGNS, dtype=float)
    free = np.ones(X.shape[1], dtype=bool)
    while True:
        w, b = _newton(X[:, free], y)
        full = np.zeros(X.shape[1])
        full[free] = w
        wrong = free & (full * signs < 0)
        if not wrong.any():
            return full, b
        free &= ~wrong


def _newton(X, y) -> tuple[np.ndarray, float]:
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    reg = np.full(Xb.shape[1], L2)
    reg[-1] = 0.0
    for _ in range(50):
        pr = 1 / (1 + np.exp(-np.clip(Xb @ w, -30, 30)))
        g = Xb.T @ (pr - y) + reg * w
        H = (Xb * (pr * (1 - pr))[:, None]).T @ Xb + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def evaluate(cands, w, b, t) -> dict:
    correct = wrong = abstained = 0
    off = off_n = 0
    for x, ok, it in cands:
        answer = x is not None and C.probability(x, w, b) >= t
        if it.kind == "off-topic":
            off_n += 1
            off += not answer
        if not answer:
            abstained += 1
        elif ok:
            correct += 1
        else:
            wrong += 1
    n = len(cands)
    ans = [c for c in cands if c[2].answerable]
    una = [c for c in cands if not c[2].answerable]
    fa = sum(1 for x, _, _ in ans if x is None or C.probability(x, w, b) < t)
    na = sum(1 for x, _, _ in una if x is None or C.probability(x, w, b) < t)
    return {"crag": round((correct - wrong) / n, 4), "correct": correct, "wrong": wrong,
            "abstained": abstained, "n": n,
            "noans_accuracy": round(na / len(una), 3) if una else None,
            "false_abstention": round(fa / len(ans), 3) if ans else None,
            "off_topic_abstain": round(off / off_n, 3) if off_n else None}


def best_threshold(cands, w, b, max_fa: float = 1.0) -> float:
    """The threshold with the best CRAG score on `cands` among those that decline at most
    `max_fa` of the answerable questions (CRAG alone prefers declining: on this set a wrong
    answer costs as much as a right one gains, and a user asking an answerable question gains
    nothing from "I don't know")."""
    probs = sorted({round(C.probability(x, w, b), 4) for x, _, _ in cands if x is not None})
    scored = [(t, evaluate(cands, w, b, t)) for t in [0.0] + probs]
    ok = [(t, r) for t, r in scored if r["false_abstention"] <= max_fa]
    return max(ok, key=lambda tr: (tr[1]["crag"], -tr[0]))[0] if ok else 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", default=str(ROOT / "eval" / "data" / "qa.jsonl"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--max-false-abstention", type=float, default=0.15,
                    help="the threshold declines at most this share of the tuning half's "
                         "answerable questions (default: 0.15)")
    args = ap.parse_args(argv)
    settings = Settings.from_env(store=Path(tempfile.mkdtemp()) / "store")
    rows = prepare(settings, load_qa(args.qa), args.k)
    train, test = halves(rows)
    results = []
    for values in itertools.product(*GRID.values()):
        p = replace(Params(), **dict(zip(GRID, values)))
        cands = candidates(train, p)
        w, b = fit(cands)
        t = best_threshold(cands, w, b, args.max_false_abstention)
        e = evaluate(cands, w, b, t)
        # Off-topic questions must keep abstaining (issue 12: >= 0.95), whatever CRAG says.
        results.append(((e["off_topic_abstain"] or 1.0) >= 0.95, e["crag"], p, w, b, t))
    results.sort(key=lambda r: (-r[0], -r[1]))
    results = [r[1:] for r in results]
    _, p, w, b, t = results[0]
    cur = Params()
    report = {
        "k": args.k, "params": asdict(p),
        "confidence": {"features": C.FEATURES, "weights": [round(float(v), 4) for v in w],
                       "bias": round(b, 4), "threshold": t},
        "tuned": {"train": evaluate(candidates(train, p), w, b, t),
                  "held_out": evaluate(candidates(test, p), w, b, t),
                  "all": evaluate(candidates(rows, p), w, b, t)},
        "shipped": {"train": evaluate(candidates(train, cur), C.WEIGHTS, C.BIAS, C.THRESHOLD),
                    "held_out": evaluate(candidates(test, cur), C.WEIGHTS, C.BIAS, C.THRESHOLD)},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

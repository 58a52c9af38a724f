"""Tune the extractive answerer on the Q&A set: sentence-scoring weights, then the confidence
model that decides whether to answer (rag/confidence.py), then its threshold.

usage: .venv/bin/python bench/tune_extractive.py [--qa eval/data/qa.jsonl] [-k 5]
                                                 [--max-false-abstention 0.15] [--grid]
                                                 [--write | --check]

Every question goes through the engine's own path, as in `rag eval` (a follow-up's rewrite, a
time-scoped question's passages, retrieval with its sentence re-rank), and the passages the
answerer was given are recorded; their sentence features are computed once, then every parameter
set in the grid is scored cheaply. Everything is fitted on the tuning half only (the ids with an
even number: q002, q004, ...; eval.dataset.half_of, the one definition every tuner and table
uses); the odd-numbered ids are held out and reported separately, so the figure is not a fit to
its own data.

What ships is the fit for the shipped sentence weights (rag.answer_extractive.Params): a
logistic model (label: the chosen sentences hold a gold alias; unanswerable questions are
negatives) fitted on the tuning half, its weights rounded as shipped, and its threshold set for
CRAG score ((correct - wrong) / n; abstaining counts 0) on that half among thresholds that decline
at most --max-false-abstention of its answerable questions. The output's "confidence" is what
rag/confidence.py holds (WEIGHTS, BIAS, THRESHOLD); "reproduces_shipped" says whether it does
(up to the noise of the index build: see `reproduces`),
`--write` puts the fit into rag/confidence.py (the refit after any change to the answerer's
features or sentence choice) unless the shipped model already reproduces it, and says which it
did; `--check` exits 1 when they differ: a hand edit, or a change to the answerer without a
refit, fails it (tests/test_tune_extractive.py runs the same check).

`--grid` also searches the sentence weights (GRID), each point with its own model, and reports
the best on the tuning half. It is a report, not what ships: the weights are shared with the
retrieval re-rank (rag/retrieve.py), so changing them moves retrieval too, and on today's set the
grid's pick gains on the tuning half what it loses on the held-out one (README).
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
DIGITS = 4              # the shipped weights' precision
MAX_FALSE_ABSTENTION = 0.15


class _Seen:
    """The engine's answerer, recording what it was asked and the passages it was given."""

    def __init__(self, answerer):
        self.answerer, self.name, self.last = answerer, answerer.name, None

    def stream(self, question, passages, *, rewritten=None):
        self.last = (rewritten or question, list(passages), question)
        yield from self.answerer.stream(question, passages, rewritten=rewritten)


def prepare(settings: Settings, items, k: int):
    """[(item, query, features)] for the answerer's own inputs; `settings.store` is indexed."""
    from rag.engine import Engine
    settings = settings.with_(answerer="extractive")
    base = Engine(settings)
    seen = _Seen(base.answerer)
    engine = Engine(settings, embedder=base.embedder, answerer=seen)
    ans = base.answerer
    rows = []
    try:
        for it in items:
            seen.last = None
            engine.ask(it.question, k=k, history=list(it.history) or None)
            asked, passages, own = seen.last if seen.last else (it.question, [], it.question)
            rows.append((it, *features(asked, passages, ans.embedder, ans.idf, own=own)))
    finally:
        engine.close()
        base.close()
    return rows


def halves(rows) -> tuple[list, list]:
    """(tuning rows, held-out rows), by each row's question id (eval.dataset.half_of)."""
    return ([r for r in rows if half_of(r[0].id) == "tune"],
            [r for r in rows if half_of(r[0].id) == "held"])


def candidates(rows, p: Params):
    """Per question: (feature vector or None, correct-if-answered, item)."""
    out = []
    for it, query, feats in rows:
        if not feats or query is None or C.off_topic(query):
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


def _probs(cands, w, b) -> np.ndarray:
    """Each question's confidence as the answerer computes it (rag.confidence.probability);
    -1 where a gate declines before the model."""
    return np.array([C.probability(x, w, b) if x is not None else -1.0 for x, _, _ in cands])


def evaluate(cands, w, b, t, probs: np.ndarray | None = None) -> dict:
    probs = _probs(cands, w, b) if probs is None else probs
    answer = probs >= t
    ok = np.array([bool(o) for _, o, _ in cands])
    answerable = np.array([it.answerable for _, _, it in cands])
    off = np.array([it.kind == "off-topic" for _, _, it in cands])
    correct, wrong = int((answer & ok).sum()), int((answer & ~ok).sum())
    n, n_ans, n_una = len(cands), int(answerable.sum()), int((~answerable).sum())
    return {"crag": round((correct - wrong) / n, 4), "correct": correct, "wrong": wrong,
            "abstained": int((~answer).sum()), "n": n,
            "noans_accuracy": round(int((~answer & ~answerable).sum()) / n_una, 3) if n_una else None,
            "false_abstention": round(int((~answer & answerable).sum()) / n_ans, 3) if n_ans else None,
            "off_topic_abstain": round(int((~answer & off).sum()) / int(off.sum()), 3)
            if off.any() else None}


def best_threshold(cands, w, b, max_fa: float = 1.0) -> float:
    """The threshold with the best CRAG score on `cands` among those that decline at most
    `max_fa` of the answerable questions (CRAG alone prefers declining: on this set a wrong
    answer costs as much as a right one gains, and a user asking an answerable question gains
    nothing from "I don't know"). Candidates are the questions' own confidences, rounded as
    the threshold is shipped; ties go to the lowest."""
    probs = _probs(cands, w, b)
    ts = sorted({round(float(v), DIGITS) for v in probs if v >= 0})
    scored = [(t, evaluate(cands, w, b, t, probs)) for t in [0.0] + ts]
    ok = [(t, r) for t, r in scored if r["false_abstention"] <= max_fa]
    return max(ok, key=lambda tr: (tr[1]["crag"], -tr[0]))[0] if ok else 0.0


def fit_model(rows, p: Params, max_fa: float = MAX_FALSE_ABSTENTION
              ) -> tuple[tuple[float, ...], float, float]:
    """(weights, bias, threshold) as shipped in rag/confidence.py, fitted on `rows` (the tuning
    half) with sentence weights `p`: the weights rounded first, the threshold set for them."""
    cands = candidates(rows, p)
    w, b = fit(cands)
    w = tuple(round(float(v), DIGITS) + 0.0 for v in w)     # + 0.0: no -0.0
    b = round(float(b), DIGITS)
    return w, b, best_threshold(cands, w, b, max_fa)


def search(train, max_fa: float = MAX_FALSE_ABSTENTION):
    """Every grid point with its model, best first: those keeping off-topic questions declined
    (issue 12: >= 0.95) before the rest, then by CRAG on `train`; ties keep the grid's order."""
    results = []
    for values in itertools.product(*GRID.values()):
        p = replace(Params(), **dict(zip(GRID, values)))
        w, b, t = fit_model(train, p, max_fa)
        e = evaluate(candidates(train, p), w, b, t)
        results.append(((e["off_topic_abstain"] or 1.0) >= 0.95, e["crag"], p, w, b, t))
    results.sort(key=lambda r: (-r[0], -r[1]))
    return [r[1:] for r in results]


def shipped() -> tuple[tuple[float, ...], float, float]:
    return tuple(C.WEIGHTS), C.BIAS, C.THRESHOLD


# How far the fit moves between two builds of the same index: Chroma's HNSW graph is built by
# several threads, so the dense list at retrieval depth differs for a few questions from one
# build to the next (12 of 311 at depth 30), and with it a question or two's features. Measured
# over five builds: weights and bias within 0.002; the threshold, chosen among the questions' own
# confidences, moved once from 0.4785 to 0.4494 (where the shipped one scored higher).
WEIGHT_TOLERANCE = 0.01


def reproduces(rows, p: Params, model, fitted, max_fa: float = MAX_FALSE_ABSTENTION) -> bool:
    """Whether `model` (weights, bias, threshold) is what fitting `rows` gives (`fitted`), up to
    the noise of the index build: each weight and the bias within WEIGHT_TOLERANCE, and its
    threshold scoring a CRAG on `rows` at least the fit's, within the false-abstention cap.
    A hand edit that changes what the model does, or a change to the features without a refit,
    fails it."""
    if model == fitted:
        return True
    (w, b, t), (fw, fb, ft) = model, fitted
    if max(abs(x - y) for x, y in zip((*w, b), (*fw, fb))) > WEIGHT_TOLERANCE:
        return False
    cands = candidates(rows, p)
    mine, best = evaluate(cands, w, b, t), evaluate(cands, fw, fb, ft)
    return mine["crag"] >= best["crag"] and mine["false_abstention"] <= max_fa


def build_rows(qa, k: int):
    """Index the corpus into a temporary store and prepare every question of `qa`."""
    from ingest.pipeline import ingest_paths
    settings = Settings.from_env(store=Path(tempfile.mkdtemp()) / "store")
    ingest_paths([settings.corpus], settings, progress=False)
    return prepare(settings, load_qa(qa), k)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", default=str(ROOT / "eval" / "data" / "qa.jsonl"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--max-false-abstention", type=float, default=MAX_FALSE_ABSTENTION,
                    help="the threshold declines at most this share of the tuning half's "
                         f"answerable questions (default: {MAX_FALSE_ABSTENTION})")
    ap.add_argument("--grid", action="store_true",
                    help="also search the sentence-scoring weights (GRID) and report the best "
                         "point with its own model")
    mode = ap.add_mutually_exclusive_group()    # a check that writes first always passes
    mode.add_argument("--write", action="store_true",
                      help="write the fitted model into rag/confidence.py (the refit after a "
                           "change to the answerer's features); the shipped model is kept when "
                           "the refit is within the tolerance --check allows")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 unless the shipped confidence model is what the fit gives "
                           "for the shipped sentence weights")
    args = ap.parse_args(argv)
    rows = build_rows(args.qa, args.k)
    train, test = halves(rows)
    cur = Params()
    refit = fit_model(train, cur, args.max_false_abstention)
    same = reproduces(train, cur, shipped(), refit, args.max_false_abstention)
    report = {
        "k": args.k, "params": asdict(cur),
        "confidence": _model(*refit), "reproduces_shipped": same,
        "refit": {"train": evaluate(candidates(train, cur), *refit),
                  "held_out": evaluate(candidates(test, cur), *refit),
                  "all": evaluate(candidates(rows, cur), *refit)},
    }
    if not same:
        report["shipped"] = {"confidence": _model(*shipped()),
                             "train": evaluate(candidates(train, cur), *shipped()),
                             "held_out": evaluate(candidates(test, cur), *shipped())}
    if args.grid:
        _, p, w, b, t = search(train, args.max_false_abstention)[0]
        report["grid"] = {"params": {name: getattr(p, name) for name in GRID},
                          "confidence": _model(w, b, t),
                          "train": evaluate(candidates(train, p), w, b, t),
                          "held_out": evaluate(candidates(test, p), w, b, t)}
    print(json.dumps(report, indent=2))
    if args.write:
        print(write_if_moved(refit, same), file=sys.stderr)
    return 1 if args.check and not same else 0


def write_if_moved(refit, same: bool, path: Path | None = None) -> str:
    """--write: put `refit` into rag/confidence.py unless the shipped model already reproduces
    it (`same`, the tolerance --check allows). A refit within the index build's noise differs
    from the shipped one by a question's worth of threshold or a weight's last digit, and
    rewriting the constants for that churns every refit commit and the eval baseline for
    nothing. Returns what was done, for the user."""
    path = path or CONFIDENCE_PY
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if same:
        how = ("identical to it" if refit == shipped() else
               "within the index build's noise of it (the tolerance --check allows)")
        return f"kept the shipped model in {name}: the refit is {how}"
    write_model(*refit, path=path)
    return f"wrote the refitted model into {name}"


CONFIDENCE_PY = ROOT / "rag" / "confidence.py"


def write_model(w, b, t, path: Path = CONFIDENCE_PY) -> None:
    """Replace the WEIGHTS, BIAS and THRESHOLD lines of rag/confidence.py."""
    import re
    text = path.read_text(encoding="utf-8")
    for name, value in (("WEIGHTS", repr(tuple(w))), ("BIAS", repr(b)), ("THRESHOLD", repr(t))):
        text, n = re.subn(rf"^{name} = .*$", f"{name} = {value}", text, count=1, flags=re.M)
        if n != 1:
            raise SystemExit(f"{path}: no '{name} = ...' line to replace")
    path.write_text(text, encoding="utf-8")


def _model(w, b, t) -> dict:
    return {"features": C.FEATURES, "weights": list(w), "bias": b, "threshold": t}


if __name__ == "__main__":
    sys.exit(main())

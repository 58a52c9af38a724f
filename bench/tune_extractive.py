"""Tune the extractive answerer's weights and abstention threshold on the Q&A set.

usage: .venv/bin/python bench/tune_extractive.py [--qa eval/data/qa.jsonl] [-k 5]

Features are computed once per question (retrieval + sentence features), then every parameter
set in the grid is scored cheaply. Tuning uses the even-numbered questions; the odd-numbered ones
are held out and reported separately, so the figure is not only a fit to its own data.
Objective: CRAG score ((correct - wrong) / n; abstaining counts 0), the metric that rewards both
answering and declining correctly.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.metrics import contains_alias  # noqa: E402
from eval.dataset import load_qa  # noqa: E402
from rag.answer_extractive import Params, choose, features  # noqa: E402
from rag.settings import Settings  # noqa: E402

GRID = {
    "coverage": [0.45, 0.6],
    "dense": [0.2, 0.35],
    "context": [0.25, 0.5],
    "type_gate": [0.65, 0.5, 0.4],
    "second_ratio": [0.92, 0.8],
}


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
        rows.append((it, features(q, passages, ans.embedder, ans.idf)))
    return rows


def evaluate(rows, p: Params) -> dict:
    correct = wrong = abstained = 0
    confs = []
    for it, feats in rows:
        chosen, conf = choose(feats, replace(p, threshold=-1.0))
        confs.append((it, conf, chosen))
    out = {}
    for it, conf, chosen in confs:
        if conf < p.threshold:
            abstained += 1
            continue
        ok = it.answerable and contains_alias(" ".join(f.text for f in chosen), it.answers)
        correct += ok
        wrong += not ok
    n = len(rows)
    out.update(crag=(correct - wrong) / n, correct=correct, wrong=wrong, abstained=abstained, n=n)
    return out


def best_threshold(rows, p: Params) -> tuple[float, dict]:
    cands = sorted({round(c, 3) for c in
                    [choose(f, replace(p, threshold=-1.0))[1] for _, f in rows]})
    best = (-2.0, None, None)
    for t in [0.0] + cands:
        r = evaluate(rows, replace(p, threshold=t))
        if r["crag"] > best[0]:
            best = (r["crag"], t, r)
    return best[1], best[2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", default=str(ROOT / "eval" / "data" / "qa.jsonl"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--features-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    settings = Settings.from_env(store=Path(tempfile.mkdtemp()) / "store")
    items = load_qa(args.qa)
    rows = prepare(settings, items, args.k)
    if args.features_only:
        return 0
    train = [r for i, r in enumerate(rows) if i % 2 == 0]
    test = [r for i, r in enumerate(rows) if i % 2 == 1]
    results = []
    for values in itertools.product(*GRID.values()):
        p = replace(Params(), **dict(zip(GRID, values)))
        t, r = best_threshold(train, p)
        results.append((r["crag"], replace(p, threshold=t)))
    results.sort(key=lambda x: -x[0])
    top = results[0][1]
    report = {"k": args.k, "params": asdict(top), "train": evaluate(train, top),
              "held_out": evaluate(test, top), "all": evaluate(rows, top),
              "current_defaults": {"train": evaluate(train, Params()),
                                   "held_out": evaluate(test, Params()),
                                   "all": evaluate(rows, Params())}}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

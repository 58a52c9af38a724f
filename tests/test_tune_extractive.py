"""bench/tune_extractive.py reproduces what ships: the confidence model in rag/confidence.py is
the tuner's fit on the tuning half for the current answerer. A hand edit of WEIGHTS, BIAS or
THRESHOLD, or a change to the answerer's features or sentence choice without a refit
(`.venv/bin/python bench/tune_extractive.py --write`), fails here."""
from __future__ import annotations

import importlib

from eval.dataset import load_qa
from rag import confidence as C
from rag.answer_extractive import Params
from tests.conftest import PROJECT

QA = PROJECT / "eval" / "data" / "qa.jsonl"


def test_shipped_confidence_model_is_the_tuners_fit(corpus_settings):
    tuner = importlib.import_module("bench.tune_extractive")
    rows = tuner.prepare(corpus_settings, load_qa(QA), 5)
    train, held = tuner.halves(rows)
    assert len(train) + len(held) == len(rows) and len(train) > 100
    weights, bias, threshold = tuner.fit_model(train, Params())
    assert (weights, bias, threshold) == (tuple(C.WEIGHTS), C.BIAS, C.THRESHOLD), (
        "rag/confidence.py is not the tuner's fit; refit with "
        ".venv/bin/python bench/tune_extractive.py --write")
    # What the fit is judged by: off-topic questions of the tuning half stay declined.
    tuned = tuner.evaluate(tuner.candidates(train, Params()), weights, bias, threshold)
    assert tuned["off_topic_abstain"] >= 0.95
    assert tuned["false_abstention"] <= tuner.MAX_FALSE_ABSTENTION


def test_write_replaces_the_three_constants_only(tmp_path):
    tuner = importlib.import_module("bench.tune_extractive")
    path = tmp_path / "confidence.py"
    original = (PROJECT / "rag" / "confidence.py").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    tuner.write_model((0.5,) * len(C.FEATURES), -1.0, 0.25, path)
    text = path.read_text(encoding="utf-8")
    assert f"WEIGHTS = {(0.5,) * len(C.FEATURES)!r}\n" in text
    assert "BIAS = -1.0\n" in text and "THRESHOLD = 0.25\n" in text
    changed = [(a, b) for a, b in zip(original.splitlines(), text.splitlines()) if a != b]
    assert len(changed) == 3 and len(text.splitlines()) == len(original.splitlines())

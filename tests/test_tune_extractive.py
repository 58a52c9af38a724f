"""bench/tune_extractive.py reproduces what ships: the confidence model in rag/confidence.py is
the tuner's fit on the tuning half for the current answerer. A hand edit of WEIGHTS, BIAS or
THRESHOLD, or a change to the answerer's features or sentence choice without a refit
(`.venv/bin/python bench/tune_extractive.py --write`), fails here."""
from __future__ import annotations

import importlib

import pytest

from eval.dataset import load_qa
from rag import confidence as C
from rag.answer_extractive import Params
from tests.conftest import PROJECT

QA = PROJECT / "eval" / "data" / "qa.jsonl"


@pytest.fixture(scope="module")
def tuner():
    return importlib.import_module("bench.tune_extractive")


@pytest.fixture(scope="module")
def rows(tuner, corpus_settings):
    """Every question's answerer inputs, through the engine's own path on the shared index."""
    return tuner.prepare(corpus_settings, load_qa(QA), 5)


def test_shipped_confidence_model_is_the_tuners_fit(tuner, rows):
    train, held = tuner.halves(rows)
    assert len(train) + len(held) == len(rows) and len(train) > 100
    weights, bias, threshold = tuner.fit_model(train, Params())
    shipped = (tuple(C.WEIGHTS), C.BIAS, C.THRESHOLD)
    assert tuner.reproduces(train, Params(), shipped, (weights, bias, threshold)), (
        f"rag/confidence.py is not the tuner's fit ({weights}, {bias}, {threshold}); refit with "
        ".venv/bin/python bench/tune_extractive.py --write")
    # What the fit is judged by: off-topic questions of the tuning half stay declined.
    tuned = tuner.evaluate(tuner.candidates(train, Params()), weights, bias, threshold)
    assert tuned["off_topic_abstain"] >= 0.95
    assert tuned["false_abstention"] <= tuner.MAX_FALSE_ABSTENTION


def test_a_hand_edit_is_not_taken_for_the_fit(tuner, rows):
    """`reproduces` allows for the index build's noise, not for an edit: a weight moved by more
    than the build moves it, or a threshold that scores worse on the tuning half."""
    train, _ = tuner.halves(rows)
    fitted = tuner.fit_model(train, Params())
    w, b, t = fitted
    assert tuner.reproduces(train, Params(), fitted, fitted)
    nudged = tuple(x + (0.05 if i == 11 else 0.0) for i, x in enumerate(w))    # "near"
    assert not tuner.reproduces(train, Params(), (nudged, b, t), fitted)
    assert not tuner.reproduces(train, Params(), (w, b - 0.05, t), fitted)
    assert not tuner.reproduces(train, Params(), (w, b, round(t + 0.15, 4)), fitted)


def test_write_replaces_the_three_constants_only(tuner, tmp_path):
    path = tmp_path / "confidence.py"
    original = (PROJECT / "rag" / "confidence.py").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    tuner.write_model((0.5,) * len(C.FEATURES), -1.0, 0.25, path)
    text = path.read_text(encoding="utf-8")
    assert f"WEIGHTS = {(0.5,) * len(C.FEATURES)!r}\n" in text
    assert "BIAS = -1.0\n" in text and "THRESHOLD = 0.25\n" in text
    changed = [(a, b) for a, b in zip(original.splitlines(), text.splitlines()) if a != b]
    assert len(changed) == 3 and len(text.splitlines()) == len(original.splitlines())

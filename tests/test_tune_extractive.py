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

def test_shipped_model_keeps_off_topic_declined_and_answers(tuner, rows):
    """What the model is judged by, for the model that ships (not a refit of it, which --write
    may have kept out within the build's noise): off-topic questions of the tuning half stay
    declined, and it declines at most the cap of answerable ones."""
    train, _ = tuner.halves(rows)
    shipped = tuner.evaluate(tuner.candidates(train, Params()), *tuner.shipped())
    assert shipped["off_topic_abstain"] >= 0.95, shipped
    assert shipped["false_abstention"] <= tuner.MAX_FALSE_ABSTENTION, shipped


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


def test_write_keeps_the_shipped_model_within_the_build_noise(tuner, rows, tmp_path):
    """--write rewrites the constants only when the refit is not reproduced by what ships (the
    tolerance --check allows, judged on the tuning half as --write judges it); a refit within
    it leaves the file as it was."""
    train, _ = tuner.halves(rows)
    path = tmp_path / "confidence.py"
    original = (PROJECT / "rag" / "confidence.py").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    w, b, t = tuner.shipped()
    noisy = (w, b, round(t - 0.01, 4))                  # a question's worth of threshold
    same = tuner.reproduces(train, Params(), tuner.shipped(), noisy)
    said = tuner.write_if_moved(noisy, same, path)
    assert path.read_text(encoding="utf-8") == original and "kept" in said
    moved = (tuple(x + (0.05 if i == 11 else 0.0) for i, x in enumerate(w)), b, t)
    same = tuner.reproduces(train, Params(), tuner.shipped(), moved)
    said = tuner.write_if_moved(moved, same, path)
    assert f"WEIGHTS = {moved[0]!r}\n" in path.read_text(encoding="utf-8")
    assert "wrote" in said

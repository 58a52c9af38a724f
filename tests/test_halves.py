"""One definition of the tuning / held-out halves (eval.dataset.half_of), used by every tuner and
table: the tuner fits on exactly the questions the table does not report as held out, and a
question keeps its half when the file is reordered or grows."""
from __future__ import annotations

import importlib

import pytest

from eval.dataset import half_of, in_half, load_qa, split_halves
from tests.conftest import PROJECT

QA = PROJECT / "eval" / "data" / "qa.jsonl"


def _number(item_id: str) -> int:
    return int(item_id.lstrip("qt"))


def test_half_of_is_the_parity_of_the_ids_number():
    assert [half_of(i) for i in ("q001", "q002", "t003", "t016", "q295")] == [
        "held", "tune", "held", "tune", "held"]
    with pytest.raises(ValueError, match="does not end in a number"):
        half_of("capital-of-france")
    with pytest.raises(ValueError, match="unknown half"):
        in_half([], "left")


def test_the_tuners_tuning_half_and_the_tables_held_out_half_split_the_real_set():
    items = load_qa(QA)
    assert {i.id[0] for i in items} == {"q", "t"}        # every prefix the file holds
    tuner = importlib.import_module("bench.tune_extractive")
    table = importlib.import_module("bench.quality_table")
    train, test = tuner.halves([(it, None, []) for it in items])
    tuned = {r[0].id for r in train}
    held = {it.id for it in items if table.held({"id": it.id})}
    assert tuned and held
    assert tuned.isdisjoint(held) and tuned | held == {it.id for it in items}
    assert all(_number(i) % 2 == 0 for i in tuned)       # tuning = even numbers
    assert {r[0].id for r in test} == held


def test_a_question_keeps_its_half_when_the_file_is_reordered_or_grows():
    items = load_qa(QA)
    tuner = importlib.import_module("bench.tune_extractive")
    before = {r[0].id for r in tuner.halves([(it,) for it in items])[0]}
    # a new question inserted at the top, the rest in reverse order: line positions all move
    grown = [items[-1].__class__(**{**items[0].__dict__, "id": "q999"})] + items[::-1]
    after = {r[0].id for r in tuner.halves([(it,) for it in grown])[0]}
    assert after == before                               # q999 is odd: held out
    assert [x.id for x in split_halves(grown)[1]][:1] == ["q999"]


def test_the_retrieval_studies_and_the_follow_up_report_use_the_same_halves():
    scale = importlib.import_module("bench.quality_scale")
    even, _ = scale.load_items("even")
    odd, _ = scale.load_items("odd")
    assert even and odd
    assert {half_of(i.id) for i in even} == {"tune"} and {half_of(i.id) for i in odd} == {"held"}
    follow = importlib.import_module("bench.followups")
    rows = [{"id": i, "answerable": True, "correct": True, "rewrite_ok": True, "label": "ok"}
            for i in ("q101", "q102", "t004")]
    rep = follow.report(rows)
    assert rep["even ids"]["n"] == 2 and rep["odd ids"]["n"] == 1

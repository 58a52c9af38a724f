"""Golden records for `rag ask --json` on two questions (one answered, one abstained): the whole
record but its timings must stay the same through refactoring. After an intended change
(a better answerer, a new field), regenerate and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.cli import main

GOLDEN = Path(__file__).parent / "golden"
QUESTIONS = {
    "ask_atmar": "How many times did Hanif Atmar travel to Pakistan to free Baradar?",
    "ask_unanswerable": "Who won the 2018 FIFA World Cup?",
}


def _stable(record: dict) -> dict:
    record = dict(record)
    record.pop("timings_ms")
    # Scores are floats from numpy; six figures is what the contract promises to keep.
    for p in record["passages"] + record["citations"]:
        if "score" in p:
            p["score"] = round(p["score"], 6)
    return record


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_ask_json_matches_the_golden_record(name, corpus_settings, capsys):
    code = main(["ask", QUESTIONS[name], "--json", "--store", str(corpus_settings.store),
                 "--answerer", "extractive"])
    assert code == 0
    got = _stable(json.loads(capsys.readouterr().out))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want

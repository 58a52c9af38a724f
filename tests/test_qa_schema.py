"""The Q&A file format has a JSON Schema (eval/qa.schema.json), and the loader agrees with it:
every line the schema accepts loads, every line it rejects is refused with its line number."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from eval.dataset import DatasetError, load_qa
from eval.run import DEFAULT_QA

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "eval" / "qa.schema.json")
                    .read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

GOOD = {"id": "q1", "question": "How many?", "answers": ["10"], "evidence": ["ten times"],
        "source": "a.txt", "answerable": True, "kind": "numeric"}
NONE = {"id": "q2", "question": "Who?", "answers": [], "evidence": [], "source": "",
        "answerable": False, "kind": "unanswerable"}

CASES = [
    GOOD, NONE,
    {**GOOD, "pinned": True, "history": [{"role": "user", "content": "Who is Atmar?"},
                                         {"role": "assistant", "content": "A minister."}]},
    {**GOOD, "history": None}, {**GOOD, "note": "extra fields are ignored"},
    {k: v for k, v in GOOD.items() if k != "kind"},
    {**GOOD, "id": ""}, {**GOOD, "id": "   "}, {**GOOD, "id": 7}, {**GOOD, "question": None},
    {**GOOD, "answers": "10"}, {**GOOD, "answers": ["10", ""]}, {**GOOD, "answers": [10]},
    {**GOOD, "evidence": [" "]}, {**GOOD, "answerable": "yes"}, {**GOOD, "source": 3},
    {**GOOD, "answers": []}, {**GOOD, "evidence": []}, {**GOOD, "source": " "},
    {**NONE, "answers": ["x"]}, {**NONE, "evidence": ["x"]}, {**NONE, "source": "a.txt"},
    {**GOOD, "pinned": "yes"}, {**GOOD, "pinned": None}, {**GOOD, "history": "none"},
    {**GOOD, "history": [{"role": "system", "content": "x"}]},
    {**GOOD, "history": [{"role": "user"}]}, {**GOOD, "history": [{"role": "user", "content": 1}]},
    {**GOOD, "history": ["hello"]},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("line", CASES, ids=range(len(CASES)))
def test_the_loader_agrees_with_the_schema(line, tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    schema_ok = VALIDATOR.is_valid(line)
    try:
        load_qa(path)
        loader_ok = True
    except DatasetError as e:
        loader_ok = False
        assert e.line == 1
    assert loader_ok == schema_ok, (line, [er.message for er in VALIDATOR.iter_errors(line)])


def test_the_shipped_questions_match_the_schema():
    lines = [json.loads(x) for x in DEFAULT_QA.read_text("utf-8").splitlines() if x.strip()]
    bad = {x.get("id"): VALIDATOR.iter_errors(x).__next__().message
           for x in lines if not VALIDATOR.is_valid(x)}
    assert not bad and len(lines) >= 200


def test_the_schema_ships_with_the_eval_package():
    from importlib.resources import files
    assert json.loads(files("eval").joinpath("qa.schema.json").read_text("utf-8")) == SCHEMA
    jsonschema.Draft202012Validator.check_schema(SCHEMA)

"""The answer record is a contract: real answers (extractive, LLM through the real `openai`
client against tests/fake_openai.py, abstention, fallback after server errors) validate against
the shipped JSON Schema, and every field a record carries is declared in it."""
from __future__ import annotations

import json

import jsonschema
import pytest

from fake_openai import FakeOpenAI, Reply
from rag.engine import Engine
from rag.schemas import ANSWER_SCHEMA_VERSION, schema, schema_path

ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"
VALIDATOR = jsonschema.Draft202012Validator(schema("answer"))


def check(record: dict) -> dict:
    record = json.loads(json.dumps(record))        # exactly what --json prints
    errors = sorted(VALIDATOR.iter_errors(record), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    s = schema("answer")
    undeclared = set(record) - set(s["properties"])
    span = set(s["$defs"]["span"]["properties"])
    for key, extra in (("passages", {"score"}), ("citations", {"highlight"})):
        for item in record[key]:
            undeclared |= {f"{key}[].{k}" for k in set(item) - span - extra}
    assert not undeclared, (f"fields {sorted(undeclared)} are not declared in {schema_path()}; "
                            f"add them there (as optional properties) with a description")
    assert record["schema_version"] == ANSWER_SCHEMA_VERSION
    return record


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(models=["tiny"], api_key="sk-test") as srv:
        yield srv


@pytest.fixture
def llm_engine(corpus_settings, embedder, server):
    s = corpus_settings.with_(answerer="llm", openai_base_url=server.base_url,
                              openai_api_key="sk-test", llm_model="tiny", llm_timeout=2.0,
                              llm_retries=1)
    return Engine(s, embedder=embedder)


def test_extractive_answer(engine):
    r = check(engine.ask(ATMAR).to_dict())
    assert not r["abstained"] and r["citations"] and r["answerer"] == "extractive"
    assert all("highlight" in c for c in r["citations"])


def test_extractive_abstention(engine):
    r = check(engine.ask("What is the boiling point of mercury on Mars?").to_dict())
    assert r["abstained"] and r["citations"] == [] and r["sentences"] == []


def test_llm_answer_and_llm_abstention(llm_engine, server):
    server.enqueue(Reply("Atmar travelled to Pakistan 10 times to secure Baradar's release [1]."))
    r = check(llm_engine.ask(ATMAR).to_dict())
    assert r["answerer"] == "llm:tiny" and not r["abstained"] and r["sentences"][0]["citations"]
    server.enqueue(Reply("NO_ANSWER\nThe passages do not say."))
    r = check(llm_engine.ask("When was Atmar born?").to_dict())
    assert r["abstained"] and r["answerer"] == "llm:tiny"


def test_fallback_after_server_errors(llm_engine, server):
    server.always(Reply(status=500))
    try:
        r = check(llm_engine.ask(ATMAR).to_dict())
    finally:
        server.always(Reply())
    assert r["answerer"] == "extractive" and r["notices"][0].startswith("the LLM server failed")


def test_a_broken_record_is_rejected(engine):
    """The schema can fail: a record with a citation's offsets as strings, or without its
    version, does not validate."""
    good = json.loads(json.dumps(engine.ask(ATMAR).to_dict()))
    bad = json.loads(json.dumps(good))
    bad["citations"][0]["start"] = str(bad["citations"][0]["start"])
    assert not VALIDATOR.is_valid(bad)
    del good["schema_version"]
    assert not VALIDATOR.is_valid(good)


def test_the_schema_ships_with_the_package():
    from importlib.resources import files
    assert files("rag.schemas").joinpath("answer.schema.json").is_file()
    jsonschema.Draft202012Validator.check_schema(schema("answer"))

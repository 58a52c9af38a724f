"""The seams: retrievers, answerers and embedders are names in rag/registry.py; the engine,
settings and both CLIs read them from there; filters reach inside each retriever."""
from __future__ import annotations

import argparse

import pytest

from rag import registry
from rag.engine import Engine
from rag.retrieve import BM25, Dense, Hybrid, rrf
from rag.settings import Settings
from rag.where import matches

QUESTION = "Why did Hanif Atmar travel to Pakistan?"


class TitleOnly:
    """A retriever a user might add: chunks whose title shares a word with the question."""
    name = "title"

    def __init__(self, store):
        self.chunks = store.all_chunks()

    def search(self, query, k, *, where=None, timings=None):
        words = {w.lower() for w in query.split() if len(w) > 3}
        hits = [c for c in self.chunks if words & {w.lower() for w in c.title.split()}]
        return [(c, 1.0) for c in hits[:k]]


def test_a_new_retriever_is_one_registry_line(corpus_settings, embedder, monkeypatch):
    monkeypatch.setitem(registry.RETRIEVERS, "title", lambda s, parts: TitleOnly(parts.store))
    with Engine(corpus_settings.with_(retriever="title"), embedder=embedder) as eng:
        passages = eng.retrieve("Afghanistan Taliban news", k=3)
        assert passages and all({"afghanistan", "taliban", "news"} & set(p.chunk.title.lower().split())
                                for p in passages)
        assert isinstance(eng.retriever_for("hybrid"), Hybrid)


def test_unknown_names_list_the_registered_ones(corpus_settings):
    with pytest.raises(ValueError, match="unknown retriever 'rerank'; valid: bm25, dense, hybrid"):
        corpus_settings.with_(retriever="rerank")
    with pytest.raises(ValueError, match="unknown embedder 'bert'; valid: openai, wordllama"):
        corpus_settings.with_(embedder="bert")
    with pytest.raises(ValueError, match="unknown answerer 'gpt'; valid: extractive, llm"):
        corpus_settings.with_(answerer="gpt")


def test_both_clis_offer_exactly_the_registered_names():
    from eval.cli import add_arguments
    from rag.cli import build_parser
    eval_parser = argparse.ArgumentParser()
    add_arguments(eval_parser)
    choices = {a.dest: a.choices for a in eval_parser._actions if a.choices}
    assert set(choices["retriever"]) == set(registry.RETRIEVERS)
    assert set(choices["answerer"]) == set(registry.ANSWERERS)
    ask = build_parser()._subparsers._group_actions[0].choices["ask"]
    ask_choices = {a.dest: a.choices for a in ask._actions if a.choices}
    assert set(ask_choices["retriever"]) == set(registry.RETRIEVERS)
    assert set(ask_choices["embedder"]) == set(registry.EMBEDDERS)


def test_hybrid_fuses_any_retrievers(engine):
    parts = engine.parts
    bm25, dense = BM25(parts.bm25), Dense(parts.store, parts.embedder)
    hybrid = Hybrid([bm25, dense], [1.0, 0.2])
    want = rrf([bm25.search(QUESTION, 30), dense.search(QUESTION, 30)], 5, weights=[1.0, 0.2])
    assert hybrid.search(QUESTION, 5) == want
    same_twice = Hybrid([bm25, bm25], [1.0, 1.0]).search(QUESTION, 5)
    assert [c.id for c, _ in same_twice] == [c.id for c, _ in bm25.search(QUESTION, 5)]


def test_timings_record_each_stage(engine):
    timings: dict[str, float] = {}
    engine.retriever_for("hybrid").search(QUESTION, 5, timings=timings)
    assert set(timings) == {"bm25", "embed", "dense", "fusion", "rerank"}


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_where_filters_inside_every_retriever(engine, mode):
    source = "003_f62552b4376e47fb.txt"
    unfiltered = engine.retrieve(QUESTION, k=5, mode=mode)
    assert any(p.chunk.source != source for p in unfiltered)
    got = engine.retrieve(QUESTION, k=5, mode=mode, where={"source": source})
    assert len(got) == 5 and {p.chunk.source for p in got} == {source}
    none = engine.retrieve(QUESTION, k=5, mode=mode, where={"source": "no-such-file.txt"})
    assert none == []


def test_where_language():
    meta = {"source": "a.txt", "date": "2021-08-15", "article": 2}
    assert matches({"source": "a.txt"}, meta)
    assert matches({"date": {"$gte": "2021-01-01", "$lt": "2022-01-01"}}, meta)
    assert not matches({"date": {"$gt": "2021-08-15"}}, meta)
    assert matches({"$or": [{"source": "b.txt"}, {"article": {"$in": [1, 2]}}]}, meta)
    assert not matches({"$and": [{"source": "a.txt"}, {"article": {"$nin": [2]}}]}, meta)
    assert not matches({"title": "x"}, meta)                 # a missing field never matches
    assert matches({"title": {"$ne": "x"}}, meta)
    with pytest.raises(ValueError, match="unsupported filter operator '\\$regex'"):
        matches({"source": {"$regex": "a"}}, meta)


def test_engine_closes_and_is_a_context_manager(corpus_settings, embedder):
    eng = Engine(corpus_settings, embedder=embedder)
    with eng as same:
        assert same is eng and eng.ask(QUESTION).passages
    assert eng.closed
    with pytest.raises(RuntimeError, match="closed"):
        eng.ask(QUESTION)
    eng.close()                  # twice is harmless


def test_settings_carry_registry_names_only():
    s = Settings.from_env(env={"RAG_RETRIEVER": "bm25"})
    assert s.retriever in registry.RETRIEVERS

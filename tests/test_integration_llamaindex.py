"""rag.integrations.llamaindex through llama-index's own retriever and query-engine API, and the
promise that no core command imports llama-index."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CORPUS

pytest.importorskip("llama_index.core")

ATMAR = "How many times did Hanif Atmar travel to Pakistan to free Baradar?"


def _file(name: str) -> str:
    return open(CORPUS / name, encoding="utf-8").read()


def test_retriever_returns_our_passages_as_nodes(engine):
    from rag.integrations.llamaindex import RagNewsRetriever
    nodes = RagNewsRetriever(engine, k=5).retrieve(ATMAR)
    ours = engine.retrieve(ATMAR, k=5)
    assert [n.node.node_id for n in nodes] == [p.chunk.id for p in ours]
    assert [n.score for n in nodes] == pytest.approx([p.score for p in ours])
    for n in nodes:
        m = n.node.metadata
        assert _file(m["source"])[m["start"]:m["end"]] == n.node.get_content()


def test_retriever_inside_llama_index_query_engine(engine):
    from llama_index.core.llms import MockLLM
    from llama_index.core.postprocessor import SimilarityPostprocessor
    from llama_index.core.query_engine import RetrieverQueryEngine

    from rag.integrations.llamaindex import RagNewsRetriever
    retriever = RagNewsRetriever(engine, k=4, mode="bm25")
    # MockLLM: llama-index's offline stand-in LLM; the synthesis step is not what is tested.
    qe = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = qe.query(ATMAR)
    assert [n.node.node_id for n in response.source_nodes] == \
        [p.chunk.id for p in engine.retrieve(ATMAR, k=4, mode="bm25")]
    # llama-index's own postprocessors work on our scores.
    cutoff = response.source_nodes[1].score
    qe = RetrieverQueryEngine.from_args(
        retriever, llm=MockLLM(),
        node_postprocessors=[SimilarityPostprocessor(similarity_cutoff=cutoff)])
    assert len(qe.query(ATMAR).source_nodes) == 2


def test_query_engine_returns_our_verified_citations(engine):
    from rag.integrations.llamaindex import RagNewsQueryEngine
    response = RagNewsQueryEngine(engine=engine).query(ATMAR)
    assert "ten times" in response.response or "10 times" in response.response
    answer = response.metadata["answer"]
    assert not response.metadata["abstained"] and answer["sentences"]
    assert all(s["supported"] for s in answer["sentences"])
    assert [n.node.metadata["n"] for n in response.source_nodes] == \
        [c["n"] for c in answer["citations"]]
    for n in response.source_nodes:
        m = n.node.metadata
        assert _file(m["source"])[m["start"]:m["end"]] == n.node.get_content()


CORE_PATHS = """
import sys
from rag.cli import main
code = main(sys.argv[1:])
leaked = sorted(m for m in sys.modules if m.split(".")[0] == "llama_index")
print("LEAKED", leaked, file=sys.stderr)
sys.exit(code if not leaked else 99)
"""


@pytest.mark.parametrize("argv", [["ask", ATMAR, "--json"], ["stats"],
                                  ["ask", ATMAR, "--retriever", "dense", "--quiet"]])
def test_core_commands_never_import_llama_index(corpus_settings, argv):
    env = {**os.environ, "RAG_STORE": str(corpus_settings.store)}
    r = subprocess.run([sys.executable, "-c", CORE_PATHS, *argv], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "LEAKED []" in r.stderr

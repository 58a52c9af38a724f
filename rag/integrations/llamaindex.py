"""rag-news for LlamaIndex users: our hybrid index as a llama-index retriever, and a query
engine that answers with our verified citations.

    from rag import Engine, Settings
    from rag.integrations.llamaindex import RagNewsRetriever, RagNewsQueryEngine

    engine = Engine(Settings.from_env())
    nodes = RagNewsRetriever(engine, k=5).retrieve("Who freed Baradar?")   # list[NodeWithScore]
    response = RagNewsQueryEngine(engine=engine).query("Who freed Baradar?")
    response.response, response.source_nodes, response.metadata["answer"]["sentences"]

The retriever plugs into any llama-index pipeline (RetrieverQueryEngine, node postprocessors,
routers). Each node is one chunk: its text is exactly `file_text[start:end]` of its source file,
and its metadata carries source, title, article, start, end and date. The query engine runs our
own answerer (extractive offline, or the configured LLM), so `source_nodes` are the passages
the answer cites and `metadata["answer"]` is the `rag ask --json` record, with each sentence's
citation verdict. Only this module imports llama-index; the core never does.
"""
from __future__ import annotations

from typing import Any, Mapping

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ..types import Passage


def to_node(passage: Passage) -> NodeWithScore:
    c = passage.chunk
    meta = {"source": c.source, "title": c.title, "article": c.article, "start": c.start,
            "end": c.end, "date": c.date or "", "n": passage.n}
    # The title goes to the LLM and the embedder with the text (as our own prompt shows it);
    # offsets and numbering are for the caller, not for the model.
    hidden = ["article", "start", "end", "n"]
    node = TextNode(id_=c.id, text=c.text, metadata=meta, excluded_llm_metadata_keys=hidden,
                    excluded_embed_metadata_keys=hidden)
    return NodeWithScore(node=node, score=float(passage.score))


class RagNewsRetriever(BaseRetriever):
    """Our retrieval (hybrid BM25 + dense by default) behind llama-index's retriever API.
    `mode` is any name in rag.registry.RETRIEVERS; `where` a Chroma-style metadata filter."""

    def __init__(self, engine, k: int | None = None, mode: str | None = None,
                 where: Mapping | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._engine, self._k, self._mode, self._where = engine, k, mode, where

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self._engine.retrieve(query_bundle.query_str, k=self._k, mode=self._mode,
                                         where=self._where)
        return [to_node(p) for p in passages]


class RagNewsQueryEngine(CustomQueryEngine):
    """Answers with our answerer and citation checker. `response.source_nodes` are the cited
    passages, in citation order; `response.metadata["answer"]` is the full answer record."""

    engine: Any
    k: int | None = None

    def custom_query(self, query_str: str) -> Response:
        answer = self.engine.ask(query_str, k=self.k)
        return Response(response=answer.text,
                        source_nodes=[to_node(p) for p in answer.citations],
                        metadata={"answer": answer.to_dict(), "abstained": answer.abstained})

"""The LlamaIndex starter pipeline the issue compares against, with the same WordLlama embedder.

SimpleDirectoryReader -> SentenceSplitter (defaults) -> VectorStoreIndex on ChromaVectorStore,
as the LlamaIndex starter tutorial builds it, except that everything is passed explicitly
(embed_model, transformations): nothing touches LlamaIndex's global Settings, so nothing
defaults to OpenAI and it runs offline.
"""
from __future__ import annotations

import os
from pathlib import Path

COLLECTION = "starter"


def embed_model():
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    from rag.embed import WordLlamaEmbedder

    class WordLlamaEmbedding(BaseEmbedding):
        """Our embedder behind llama-index's embedding interface (batch size: its default)."""
        _inner: WordLlamaEmbedder = PrivateAttr()

        def __init__(self, **kw):
            super().__init__(model_name="wordllama-256", **kw)
            self._inner = WordLlamaEmbedder()

        def _get_text_embeddings(self, texts):
            return self._inner.embed(texts).tolist()

        def _get_text_embedding(self, text):
            return self._inner.embed([text])[0].tolist()

        def _get_query_embedding(self, query):
            return self._get_text_embedding(query)

        async def _aget_query_embedding(self, query):
            return self._get_query_embedding(query)

    return WordLlamaEmbedding()


def _vector_store(store: Path):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore
    client = chromadb.PersistentClient(path=str(store),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection(COLLECTION))


def ingest(corpus: Path, store: Path) -> int:
    """Index every file under `corpus`; returns the number of nodes (chunks)."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    docs = SimpleDirectoryReader(str(corpus)).load_data()
    splitter = SentenceSplitter()
    nodes = splitter.get_nodes_from_documents(docs)
    ctx = StorageContext.from_defaults(vector_store=_vector_store(store))
    VectorStoreIndex(nodes, storage_context=ctx, embed_model=embed_model())
    return len(nodes)


def retriever(store: Path, k: int = 5):
    from llama_index.core import VectorStoreIndex
    index = VectorStoreIndex.from_vector_store(_vector_store(store), embed_model=embed_model())
    return index.as_retriever(similarity_top_k=k)


def passages(nodes) -> list[dict]:
    """Retrieved nodes in the shape eval.metrics scores (source, start, end, text)."""
    out = []
    for n in nodes:
        node = n.node
        start, end = node.start_char_idx, node.end_char_idx
        out.append({"source": node.metadata.get("file_name", ""), "text": node.get_content(),
                    "start": -1 if start is None else start, "end": -1 if end is None else end})
    return out

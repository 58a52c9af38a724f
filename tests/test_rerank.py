"""Sentence re-ranking of the fused candidates: among lookalike chunks (same names, same story),
the one whose sentence answers the question moves up; the engine applies it in hybrid mode."""
from __future__ import annotations

from rag.retrieve import rerank
from rag.types import Chunk


def _chunk(n: int, text: str) -> Chunk:
    return Chunk(f"id{n}", f"f{n}.txt", "Haqqani network", 0, text, 0, len(text))


LOOKALIKE = _chunk(1, "Anis Haqqani met tribal elders in Kabul to discuss the prisoners. "
                      "The talks went on for hours.")
OTHER = _chunk(2, "Officials in Kabul discussed security with tribal elders on Tuesday. "
                  "Nobody was arrested.")
ANSWER = _chunk(3, "Anis Haqqani was released in 2019 in a prisoner exchange. "
                   "He returned to Kabul later.")


def test_the_chunk_that_answers_moves_up(embedder):
    fused = [(LOOKALIKE, 0.03), (OTHER, 0.02), (ANSWER, 0.01)]
    out = [c.id for c, _ in rerank("When was Anis Haqqani released?", fused, 3, embedder,
                                   lambda term: 1.0)]
    assert out.index(ANSWER.id) < out.index(OTHER.id)
    assert out[0] == LOOKALIKE.id       # one vote each way: the fusion's order breaks the tie


def test_keeps_k_and_the_candidates(embedder):
    fused = [(LOOKALIKE, 0.03), (OTHER, 0.02), (ANSWER, 0.01)]
    out = rerank("When was Anis Haqqani released?", fused, 2, embedder, lambda term: 1.0)
    assert len(out) == 2 and {c.id for c, _ in out} <= {c.id for c, _ in fused}


def test_engine_reranks_in_hybrid_mode_and_times_it(engine):
    answer = engine.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert "rerank" in answer.timings and "fusion" in answer.timings
    top = engine.retrieve("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert top[0].chunk.source == "000_c73e7dc4e8ffbfc0.txt"


def test_only_the_top_window_is_reordered(embedder):
    """The engine asks for 30 candidates; a lookalike below the re-rank window must not be
    pulled into the top 5 (it was, when the whole list was re-ordered)."""
    from rag.retrieve import RERANK_DEPTH
    fillers = [(_chunk(10 + i, f"Officials in Kabul met on day {i}. The weather was fine."),
               0.05 - i * 1e-3) for i in range(RERANK_DEPTH)]
    fused = fillers + [(ANSWER, 0.001)]
    out = [c.id for c, _ in rerank("When was Anis Haqqani released?", fused, len(fused),
                                   embedder, lambda term: 1.0)]
    assert len(out) == len(fused) and out[-1] == ANSWER.id
    assert set(out[:RERANK_DEPTH]) == {c.id for c, _ in fillers}

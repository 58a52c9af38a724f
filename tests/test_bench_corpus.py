"""The scale benchmark's distractor generator: seeded, sized, and never a copy of Q&A evidence."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.corpus import EVIDENCE_NGRAM, Generator, _words, build_pool, write_corpus

ROOT = Path(__file__).resolve().parent.parent
CORPUS, QA = ROOT / "data" / "articles", ROOT / "eval" / "data" / "qa.jsonl"


@pytest.fixture(scope="module")
def pool():
    return build_pool(CORPUS, QA)


def _evidence_grams() -> set[tuple[str, ...]]:
    grams = set()
    for line in QA.read_text(encoding="utf-8").splitlines():
        for quote in json.loads(line)["evidence"] if line.strip() else []:
            w = _words(quote)
            grams.update(tuple(w[i:i + EVIDENCE_NGRAM]) for i in range(len(w) - EVIDENCE_NGRAM + 1))
    return grams


def test_same_seed_same_articles_other_seed_other_articles(pool):
    a, b, c = Generator(pool, seed=1), Generator(pool, seed=1), Generator(pool, seed=2)
    assert [a.article(i) for i in range(5)] == [b.article(i) for i in range(5)]
    assert a.article(0) != c.article(0)
    assert a.article(0) != a.article(1)


def test_no_sentence_holding_evidence_is_copied(pool):
    grams = _evidence_grams()
    assert grams, "the Q&A file should have evidence quotes"
    gen = Generator(pool, seed=0, swap=0.0)     # no name swaps: copies would survive verbatim
    for i in range(300):
        leaked = []
        # Per sentence: "... brought about the Taliban. At the time, ..." joins two unrelated
        # sentences into a 5-gram of some quote without copying either.
        for sentence in re.split(r"[.!?]\s+|\n+", gen.article(i)):
            w = _words(sentence)
            leaked += [g for g in zip(*(w[j:] for j in range(EVIDENCE_NGRAM))) if g in grams]
        assert not leaked, f"article {i} repeats evidence words {leaked[:3]}"


def test_pool_excludes_evidence_but_keeps_most_of_the_corpus(pool):
    # An evidence sentence of q001 must not be in the pool; most other sentences are.
    assert not any("travelled to Pakistan ten times" in s for s in pool.sentences)
    assert len(pool.sentences) > 300 and len(pool.names) > 100


def test_written_corpus_hides_the_originals_and_reaches_its_size(tmp_path):
    m = write_corpus(tmp_path / "c", CORPUS, QA, target_chunks=400, seed=3)
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert set(m["originals"]) <= set(names) and len(m["originals"]) == 5
    assert m["estimated_chunks"] >= 400 and m["distractors"] == len(names) - 5 > 0
    for orig in m["originals"]:
        assert (tmp_path / "c" / orig).read_bytes() == (CORPUS / orig).read_bytes()
    again = write_corpus(tmp_path / "c", CORPUS, QA, target_chunks=400, seed=3)
    assert again == m      # reused, not regenerated


def test_bench_at_the_default_size_agrees_with_the_eval_baseline(tmp_path):
    """`rag bench` end to end at 1x (ours only): its hit@5 is the evaluation's, measured the
    same way, and every per-run figure is filled in."""
    from rag.cli import main
    out = tmp_path / "out"
    assert main(["bench", "--sizes", "1", "--no-starter", "--no-server", "--out", str(out)]) == 0
    result = json.loads((out / "bench.json").read_text())
    row = result["sizes"][0]["ours"]
    baseline = json.loads((ROOT / "eval" / "baseline.json").read_text())["metrics"]["hit"]
    assert row["query"]["hit_at_5"] == pytest.approx(baseline, abs=0.011)
    assert row["ingest"]["chunks"] > 100 and row["ingest"]["write_bytes"] > 0
    assert row["ingest"]["store_bytes"] > 0 and row["ingest"]["peak_rss_mb"] > 50
    for stage in ("condense", "bm25", "embed", "dense", "fusion", "answer", "total"):
        assert row["query"]["stages_ms"][stage]["p50"] is not None, stage
    assert "| 1x |" in (out / "bench.md").read_text() and (out / "scale.png").stat().st_size > 0

"""The title field among distractors: BM25 rebuilt in memory with each chunk's title indexed 0, 1
(the default) or 2 times, then the engine's fusion and sentence re-rank; hit@5 on all questions,
the tuning and the held-out half. Run by `bench.quality_signals --title`."""
from __future__ import annotations

from bench.quality_scale import evidence_rank


def title_weights(engine, rows, weights=(0, 1, 2)) -> dict[int, dict[str, float]]:
    """`rows` as bench.quality_signals.study makes them (with "half")."""
    from array import array

    import bm25s

    from rag.bm25 import tokens
    from rag.retrieve import rerank, rrf
    idf, emb, w = engine.parts.bm25.idf, engine.embedder, engine.settings.dense_weight
    ids, docs, title_len = [], [], {}
    for c, known in engine.parts.store.iter_with_terms():
        # The stored terms are the title's then the text's (rag.bm25.document).
        terms = known.split() if known is not None else tokens(f"{c.title}\n{c.text}")
        n = title_len.setdefault(c.title, len(tokens(c.title)))
        ids.append(c.id)
        docs.append((terms[:n], terms[n:]))
    lookup, out = engine.parts.store.table.get_many, {}
    for tw in weights:
        vocab: dict[str, int] = {}
        model = bm25s.BM25()
        model.index(bm25s.tokenization.Tokenized(ids=[
            array("i", [vocab.setdefault(t, len(vocab)) for t in (title * tw + text) or [""]])
            for title, text in docs], vocab=vocab), show_progress=False)
        hits: dict[str, list[bool]] = {"all": [], "tune": [], "held": []}
        for r in rows:
            q = [t for t in tokens(r["q"]) if t in vocab]
            found, scores = model.retrieve([q], k=30, show_progress=False, n_threads=1) \
                if q else ([[]], [[]])
            want = [ids[int(i)] for i, s in zip(found[0], scores[0]) if s > 0]
            chunks = lookup(want)
            bm = [(chunks[i], 1.0) for i in want if i in chunks]
            top = rerank(r["q"], rrf([bm, r["de"][:30]], 10, weights=(1.0, w)), 10, emb, idf)
            for h in ("all", r["half"]):
                hits[h].append(bool(evidence_rank(top[:5], r["spans"])))
        out[tw] = {h: sum(v) / len(v) for h, v in hits.items()}
        print(f"  BM25 with the title indexed {tw}x: hit@5 {out[tw]['all']:.3f}  tuning "
              f"{out[tw]['tune']:.3f}  held out {out[tw]['held']:.3f}", flush=True)
    return out

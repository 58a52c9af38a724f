"""Structural probes of why the evidence loses to distractors, each tried as a fix and measured;
none is the default (README "Scale", "Quality at scale, studied").

usage: .venv/bin/python -m bench.quality_probes STORE [STORE...] [--half even|odd]

`--half even` probes the tuning half (even id numbers), `--half odd` the held-out half
(eval.dataset.half_of, the one definition every tuner and table uses).

- article level: a BM25 index of whole articles (title + text of all its chunks), its rank of
  the evidence's article, and its ranks fused (reciprocal rank) into the engine's chunk lists;
- sentence windows: a BM25 index of two-sentence windows (a chunk scores as its best window),
  its recall of the evidence chunk, and fused in as a third list;
- lexical pre-order: the fused top 100 ordered by each chunk's best-sentence IDF coverage of the
  question, fused with the fusion's order, before the sentence re-rank;
- what the misses' distractors share with the evidence chunk (any 5-word run);
- coherence: mean cosine of consecutive sentence embeddings, evidence chunks against the
  distractor chunks of the re-rank window, and that order added to the re-rank. Distractors
  are mosaics of unrelated stories; real lookalike stories are not, so this measures the
  generator, not a fix to ship.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality_scale import (engines, evidence_rank, load_items,  # noqa: E402
                                 question_rows, study_parser)


def _bm25(docs, **kw):
    import bm25s
    model = bm25s.BM25(**kw)
    model.index([d or [""] for d in docs], show_progress=False)
    return model


def _search(model, q_terms, k):
    q = [t for t in q_terms if t in model.vocab_dict]
    if not q:
        return []
    ids, scores = model.retrieve([q], k=k, show_progress=False, n_threads=1)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]


def probe(engine, rows) -> None:
    import numpy as np
    from rag import text as T
    from rag.bm25 import tokens
    from rag.retrieve import RRF_K, rerank, rrf
    chunks = engine.parts.store.all_chunks()
    idf, emb, w = engine.parts.bm25.idf, engine.embedder, engine.settings.dense_weight
    n = len(rows)

    def hit(tops):
        return sum(1 for t, r in zip(tops, rows) if evidence_rank(t[:5], r["spans"])) / n

    fused = [rrf([r["bm"][:30], r["de"][:30]], 100, weights=(1.0, w)) for r in rows]
    engine_top = [rerank(r["q"], f, 10, emb, idf) for f, r in zip(fused, rows)]
    print(f"{engine.settings.store}: {len(chunks)} chunks, {n} questions; engine hit@5 "
          f"{hit(engine_top):.3f}")

    # Article level.
    groups = defaultdict(list)
    for c in chunks:
        groups[(c.source, c.article)].append(c)
    keys = sorted(groups)
    docs = []
    for key in keys:
        cs, end, parts = sorted(groups[key], key=lambda c: c.start), -1, []
        for c in cs:
            if c.end > end:
                parts.append(c.text[max(0, end - c.start):])
                end = c.end
        docs.append(tokens(cs[0].title + "\n" + " ".join(parts)))
    arts = _bm25(docs)
    gold_art, fused_art = [], {0.5: [], 1.0: []}
    for r, f in zip(rows, fused):
        found = _search(arts, tokens(r["q"]), min(100, len(keys)))
        arank = {keys[i]: rank for rank, (i, _) in enumerate(found, start=1)}
        src = r["spans"][0][0]
        ranks = [arank.get((c.source, c.article)) for c in chunks if c.source == src
                 and evidence_rank([(c, 0)], r["spans"])]
        gold_art.append(min([x for x in ranks if x] or [None], key=lambda x: x or 1e9))
        base = rrf([r["bm"][:100], r["de"][:30]], 130, weights=(1.0, w))
        for wa in fused_art:
            # Each chunk also gets its article's reciprocal rank.
            top = sorted(((c, sc + (wa / (RRF_K + arank[(c.source, c.article)])
                                    if (c.source, c.article) in arank else 0.0))
                          for c, sc in base), key=lambda x: -x[1])[:10]
            fused_art[wa].append(rerank(r["q"], top, 10, emb, idf))
    print(f"  article BM25: evidence article in top 5 / 30: "
          f"{sum(1 for x in gold_art if x and x <= 5) / n:.3f} / "
          f"{sum(1 for x in gold_art if x and x <= 30) / n:.3f}; fused in (weight 0.5 / 1) hit@5 "
          + " / ".join(f"{hit(t):.3f}" for t in fused_art.values()))

    # Sentence windows.
    owner, docs = [], []
    for ci, c in enumerate(chunks):
        spans = T.sentence_spans(c.text)
        for j, (a, b) in enumerate(spans):
            e = spans[j + 1][1] if j + 1 < len(spans) else b
            docs.append(tokens(c.text[a:e]))
            owner.append(ci)
    sents = _bm25(docs, k1=1.2, b=0.75)
    sent_lists = []
    for r in rows:
        seen, lst = set(), []
        for i, s in _search(sents, tokens(r["q"]), min(600, len(docs))):
            if owner[i] not in seen:
                seen.add(owner[i])
                lst.append((chunks[owner[i]], s))
        sent_lists.append(lst)
    recall = sum(1 for lst, r in zip(sent_lists, rows) if evidence_rank(lst[:30], r["spans"])) / n
    with_sent = [rerank(r["q"], rrf([r["bm"][:30], s[:30], r["de"][:30]], 10,
                                    weights=(1.0, 1.0, w)), 10, emb, idf)
                 for r, s in zip(rows, sent_lists)]
    print(f"  sentence-window BM25: evidence chunk in top 30 {recall:.3f}; fused in hit@5 "
          f"{hit(with_sent):.3f}")

    # Lexical pre-order of the fused top 100.
    def coverage(q, c):
        q_terms = set(tokens(q))
        total = sum(idf(t) for t in q_terms) or 1.0
        return max((sum(idf(t) for t in q_terms & set(tokens(c.text[a:b])))
                    for a, b in T.sentence_spans(c.text)), default=0.0) / total

    lexical = []
    for r in rows:
        deep = rrf([r["bm"][:100], r["de"][:100]], 100, weights=(1.0, w))
        by_cov = sorted(deep, key=lambda x: -coverage(r["q"], x[0]))
        lexical.append(rerank(r["q"], rrf([deep, by_cov], 10), 10,
                              emb, idf))
    print(f"  lexical best-sentence pre-order of the fused 100: hit@5 {hit(lexical):.3f}")

    # What the misses' distractors share with the evidence chunk.
    word = re.compile(r"\w+")

    def grams(text):
        w_ = word.findall(text.lower())
        return {tuple(w_[i:i + 5]) for i in range(len(w_) - 4)}

    share = total = 0
    for r, t in zip(rows, engine_top):
        gold = [c for c, _ in r["bm"] if evidence_rank([(c, 0)], r["spans"])]
        if evidence_rank(t[:5], r["spans"]) or not gold:
            continue
        g = grams(gold[0].text)
        for c, _ in t[:5]:
            if c.source.startswith("d"):
                total += 1
                share += bool(grams(c.text) & g)
    print(f"  misses: {share} of {total} distractors in their top 5 share a 5-word run with the "
          f"evidence chunk")

    # Coherence.
    cache: dict[str, float] = {}

    def coherence(c):
        if c.id not in cache:
            s = [c.text[a:b] for a, b in T.sentence_spans(c.text)]
            if len(s) < 2:
                cache[c.id] = 0.0
            else:
                v = np.asarray(emb.embed(s), dtype=np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-9
                cache[c.id] = float(np.mean(np.sum(v[1:] * v[:-1], axis=1)))
        return cache[c.id]

    ev, di, with_coh = [], [], []
    for r, f, t in zip(rows, fused, engine_top):
        for c, _ in f[:10]:
            if evidence_rank([(c, 0)], r["spans"]):
                ev.append(coherence(c))
            elif c.source.startswith("d"):
                di.append(coherence(c))
        by_coh = sorted(f[:10], key=lambda x: -coherence(x[0]))
        with_coh.append(rrf([t, by_coh], 10))
    mean = (lambda v: f"{np.mean(v):.3f}" if v else "-")
    print(f"  coherence: evidence chunks {mean(ev)}, distractor chunks in the window {mean(di)}; "
          f"added to the re-rank hit@5 {hit(with_coh):.3f} (not shipped)")


def main(argv=None) -> int:
    args = study_parser(__doc__).parse_args(argv)
    items, texts = load_items(args.half)
    for engine in engines(args.stores):
        probe(engine, question_rows(engine, items, texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

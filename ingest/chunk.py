"""Articles -> token-bounded `Chunk`s on sentence boundaries, with exact offsets by construction.

Chunks are packed from whole sentences inside runs of contiguous clean blocks, so a chunk may span
adjacent paragraphs of one article but never a removed line (an ad, a repeated caption) and never
two articles; consecutive chunks of a run share whole trailing sentences up to `overlap_tokens`.

Why not llama-index's SentenceSplitter: it works on one contiguous string, and recovers offsets
after the fact with `str.find` on the joined chunk text (leaving them None when that fails, and
finding the first copy of a repeated passage). We need chunks confined to clean runs, offsets that
are exact by construction, and an overlap of whole sentences rather than sub-sentence splits.
"""
from __future__ import annotations

from ingest.clean import is_blank
from ingest.read import SourceDoc
from ingest.split import ParsedArticle, is_heading
from rag import tokens
from rag.text import sentence_spans
from rag.types import Chunk

Span = tuple[int, int]


def chunk_document(doc: SourceDoc, parsed: list[ParsedArticle], chunk_tokens: int,
                   overlap_tokens: int) -> list[Chunk]:
    return [c for art in parsed
            for c in chunk_article(doc.text, art, chunk_tokens, overlap_tokens)]


def chunk_article(doc_text: str, art: ParsedArticle, chunk_tokens: int,
                  overlap_tokens: int) -> list[Chunk]:
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(f"need 0 <= overlap_tokens < chunk_tokens, got {overlap_tokens} and "
                         f"{chunk_tokens}")
    a = art.article
    out = []
    for run in runs(doc_text, art.blocks):
        sents = [piece for block in run for s in sentences(doc_text, block)
                 for piece in _fit(doc_text, s, chunk_tokens)]
        heads = {s for s in sents if s in run and is_heading(doc_text[s[0]:s[1]])}
        for start, end in _pack(doc_text, sents, chunk_tokens, overlap_tokens, heads):
            out.append(Chunk.make(a.source, a.title, a.index, doc_text[start:end], start, end,
                                  a.date))
    return out


def runs(doc_text: str, blocks: tuple[Span, ...]) -> list[list[Span]]:
    """Blocks grouped where only whitespace lies between them: a removed line breaks a run."""
    out: list[list[Span]] = []
    for b in blocks:
        if out and is_blank(doc_text[out[-1][-1][1]:b[0]]):
            out[-1].append(b)
        else:
            out.append([b])
    return out


def sentences(doc_text: str, block: Span) -> list[Span]:
    """Sentence spans of one block, in file offsets: the same splitter the answerers use, so a
    highlighted sentence is always a sentence of its chunk."""
    return sentence_spans(doc_text[block[0]:block[1]], offset=block[0])


def _fit(doc_text: str, span: Span, budget: int) -> list[Span]:
    """A sentence longer than the budget, cut at token boundaries (the last resort)."""
    text = doc_text[span[0]:span[1]]
    enc = tokens.encoding()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= budget:
        return [span]
    _, offsets = enc.decode_with_offsets(ids)
    cuts = [offsets[i] for i in range(budget, len(ids), budget)] + [len(text)]
    out, prev = [], 0
    for cut in cuts:
        piece = _strip(doc_text, span[0] + prev, span[0] + cut)
        while piece[1] > piece[0] and tokens.count(doc_text[piece[0]:piece[1]]) > budget:
            piece = _strip(doc_text, piece[0], piece[1] - 1)   # re-encoding merged across a cut
        if piece[1] > piece[0]:
            out.append(piece)
        prev = piece[1] - span[0] if piece[1] > piece[0] else cut
    return out


def _pack(doc_text: str, sents: list[Span], budget: int, overlap: int,
          heads: set[Span]) -> list[Span]:
    """Greedy packing of sentences into spans of at most `budget` tokens; each next chunk starts
    with the trailing sentences of the previous one that fit in `overlap` tokens. A subheading
    goes with the paragraph it introduces, not at the end of the chunk before it."""
    cost = [tokens.count(doc_text[s:e]) for s, e in sents]
    out: list[Span] = []
    i, n = 0, len(sents)
    while i < n:
        j, total = i, cost[i]
        while j + 1 < n and total + cost[j + 1] + 1 <= budget:   # +1: the space or newline
            j += 1
            total += cost[j] + 1
        while j > i and tokens.count(doc_text[sents[i][0]:sents[j][1]]) > budget:
            j -= 1      # the estimate was short: BPE merged across a join
        if j > i and j < n - 1 and sents[j] in heads:
            j -= 1
        out.append((sents[i][0], sents[j][1]))
        if j == n - 1:
            break
        k, carried = j, 0
        while k > i and carried + cost[k] <= overlap:
            carried += cost[k]
            k -= 1
        # The carried sentences must leave room for the next new one, or chunks would repeat.
        while k < j and carried + cost[j + 1] + (j - k) > budget:
            k += 1
            carried -= cost[k]
        i = k + 1
    return out


def _strip(doc_text: str, start: int, end: int) -> Span:
    piece = doc_text[start:end]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip()) if piece.strip() else start + lead


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

import time

from ingest.clean import is_blank
from ingest.read import IngestError, SourceDoc
from ingest.split import ParsedArticle, is_heading
from rag import tokens
from rag.text import punkt, sentence_spans
from rag.types import Chunk

Span = tuple[int, int]


class Deadline:
    """A per-file time limit, checked between windows of work: chunking is linear in the
    file's size, but a file of unusual text (megabytes of abbreviations) is still slow, and one
    such file must not hold up a whole ingest."""

    def __init__(self, source: str, seconds: float | None):
        self.source, self.seconds = source, seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.at is not None and time.monotonic() > self.at:
            raise IngestError(f"{self.source}: splitting it took over {self.seconds:g} s, the "
                              "per-file limit; split the file into smaller ones or raise "
                              "RAG_MAX_FILE_SECONDS")


NO_DEADLINE = Deadline("", None)


def chunk_document(doc: SourceDoc, parsed: list[ParsedArticle], chunk_tokens: int,
                   overlap_tokens: int, *, max_seconds: float | None = None) -> list[Chunk]:
    """Chunks of every article; `max_seconds` bounds the time spent (IngestError past it)."""
    if max_seconds is not None:     # loading the splitter and tokenizer is not this file's work
        punkt()
        tokens.encoding()
    deadline = Deadline(doc.source, max_seconds)
    return [c for art in parsed
            for c in chunk_article(doc.text, art, chunk_tokens, overlap_tokens, deadline)]


def chunk_article(doc_text: str, art: ParsedArticle, chunk_tokens: int,
                  overlap_tokens: int, deadline: Deadline = NO_DEADLINE) -> list[Chunk]:
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(f"need 0 <= overlap_tokens < chunk_tokens, got {overlap_tokens} and "
                         f"{chunk_tokens}")
    a = art.article
    out = []
    for run in runs(doc_text, art.blocks):
        sents: list[Span] = []
        counts: dict[Span, int] = {}    # token counts _fit already knows: not encoded twice
        for block in run:
            deadline.check()
            for s in sentences(doc_text, block, deadline):
                sents.extend(_fit(doc_text, s, chunk_tokens, deadline, counts))
        blocks = set(run)       # a set: a run of thousands of lines stays linear
        heads = {s for s in sents if s in blocks and is_heading(doc_text[s[0]:s[1]])}
        for start, end in _pack(doc_text, sents, chunk_tokens, overlap_tokens, heads, counts):
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


_SENTENCE_WINDOW = 20_000     # characters of one line given to the sentence splitter at a time


def sentences(doc_text: str, block: Span, deadline: Deadline = NO_DEADLINE) -> list[Span]:
    """Sentence spans of one block, in file offsets: the same splitter the answerers use, so a
    highlighted sentence is always a sentence of its chunk.

    A block of megabytes (one line, no paragraph breaks) is split window by window so the work
    stays linear and in bounded memory: each window's last sentence may run on past it, so it is
    split again at the start of the next; a window without any sentence end is cut at a space."""
    start, end = block
    if end - start <= _SENTENCE_WINDOW:
        return sentence_spans(doc_text[start:end], offset=start)
    out: list[Span] = []
    pos = start
    while pos < end:
        deadline.check()
        stop = min(end, pos + _SENTENCE_WINDOW)
        if stop < end:
            space = doc_text.rfind(" ", pos + _SENTENCE_WINDOW // 2, stop)
            stop = space if space > 0 else stop
        spans = sentence_spans(doc_text[pos:stop], offset=pos)
        if stop < end and len(spans) > 1:
            pos = spans.pop()[0]
        else:
            pos = stop
        out.extend(spans)
    return out


_WINDOW = 1 << 16     # characters encoded at a time: a line of megabytes stays in bounded memory


def _fit(doc_text: str, span: Span, budget: int, deadline: Deadline = NO_DEADLINE,
         counts: dict[Span, int] | None = None) -> list[Span]:
    """A sentence longer than the budget, cut at token boundaries (the last resort).

    Linear in the sentence's length: it is encoded window by window, each piece is re-counted
    once (stepping back a token in the rare case that re-encoding merged across the cut), and
    the next piece starts where the last one ended, so cuts never drift."""
    enc = tokens.encoding()
    end = span[1]
    out: list[Span] = []
    pos, width = span[0], _WINDOW
    while pos < end:
        deadline.check()
        stop = min(end, pos + width)
        text = doc_text[pos:stop]
        ids = enc.encode(text, disallowed_special=())
        if stop == end and len(ids) <= budget:
            piece = _strip(doc_text, pos, end)
            _keep(out, piece)
            if counts is not None and piece == (pos, end):
                counts[piece] = len(ids)
            break
        _, offs = enc.decode_with_offsets(ids)
        offs.append(len(text))
        i = 0
        while i < len(ids) and (stop == end or len(ids) - i > budget):
            j = min(i + budget, len(ids))
            piece = _strip(doc_text, pos + offs[i], pos + offs[j])
            # Counted as stored (stripped: "minister" may take more tokens than " minister").
            while j > i + 1 and tokens.count(doc_text[piece[0]:piece[1]]) > budget:
                j -= 1
                piece = _strip(doc_text, pos + offs[i], pos + offs[j])
            _keep(out, piece)
            i = j
        if stop == end:
            break
        if i == 0:              # not even one piece in this window (huge budget): widen it
            width *= 2
            continue
        pos += offs[i]          # the remainder starts the next window: no cut at its edge
    return out


def _keep(out: list[Span], piece: Span) -> None:
    if piece[1] > piece[0]:
        out.append(piece)


def _pack(doc_text: str, sents: list[Span], budget: int, overlap: int,
          heads: set[Span], counts: dict[Span, int] | None = None) -> list[Span]:
    """Greedy packing of sentences into spans of at most `budget` tokens; each next chunk starts
    with the trailing sentences of the previous one that fit in `overlap` tokens. A subheading
    goes with the paragraph it introduces, not at the end of the chunk before it."""
    known = counts or {}
    cost = [known.get((s, e)) or tokens.count(doc_text[s:e]) for s, e in sents]
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


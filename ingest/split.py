"""SourceDoc -> articles, each with the clean paragraph spans of its body.

A file is cut into sections at "read more" / "More News" lines; each section's first line is its
title when it looks like one, followed by an optional header (date, byline, affiliation). A section
that runs several untitled pieces together is cut further by lexical cohesion (`segment`).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from ingest import clean
from ingest.clean import Line
from ingest.read import SourceDoc
from rag import text as T
from rag.types import Article

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    article: Article
    blocks: tuple[Span, ...]     # clean paragraph spans of the body in doc.text, in order


def parse_articles(doc: SourceDoc) -> list[ParsedArticle]:
    ls = clean.lines(doc.text)
    kinds = clean.classify_all(ls)
    out: list[ParsedArticle] = []
    given = (doc.title, doc.date)
    titled = _md_title if doc.kind == "md" else (lambda text: text)
    for section, teaser in _sections(ls, kinds):
        for title, date, head, body in _section_articles(section, teaser, given, titled):
            start = head.start if head else body[0].start
            art = Article(doc.source, len(out), title, start, body[-1].end, date)
            out.append(ParsedArticle(art, tuple((b.start, b.end) for b in body)))
        given = (None, None)    # page metadata describes the first article only
    return out


def _sections(ls: list[Line], kinds: list[str]):
    """(text lines, ended by a teaser "read more") between END lines."""
    cur: list[Line] = []
    for ln, kind in zip(ls, kinds):
        if kind == clean.TEXT:
            cur.append(ln)
        elif kind in (clean.END, clean.TEASER_END):
            if cur:
                yield cur, kind == clean.TEASER_END
            cur = []
    if cur:
        yield cur, False


def _section_articles(sec: list[Line], teaser: bool, given: tuple[str | None, str | None],
                      titled=lambda text: text):
    """`titled(line)`: the title a line stands for (a Markdown heading's text without its #s)."""
    title, date = given
    head: Line | None = None
    if teaser and len(sec) > 1 and (_same(sec[-1], sec[0]) or is_title(sec[-1].text)):
        sec = sec[:-1]      # a teaser block repeats the title just above its "read more" link
    if title is not None:
        if sec and clean.norm(sec[0].text) == clean.norm(title):
            head, sec = sec[0], sec[1:]
    elif len(sec) > 1 and is_title(titled(sec[0].text)):
        head, title, sec = sec[0], titled(sec[0].text), sec[1:]
    sec, header_date = _skip_header(sec, has_title=head is not None)
    date = date or header_date
    body = _dedupe(sec)
    if not _has_body(body):
        return
    # A "read more" teaser or a page's own metadata already delimits one article.
    pieces = [0] if teaser or given[0] else segment([b.text for b in body])
    for i, (a, b) in enumerate(zip(pieces, pieces[1:] + [len(body)])):
        part = body[a:b]
        if i == 0:
            yield title or lead_title(titled(part[0].text)), date, head, part
        else:
            yield lead_title(titled(part[0].text)), None, None, part


_MD_HEADING = re.compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")


def _md_title(text: str) -> str:
    """"# Ferry capsizes" -> "Ferry capsizes": a Markdown ATX heading's text, other lines as
    they are. The line itself stays in the file's text: offsets are untouched."""
    m = _MD_HEADING.fullmatch(text)
    return m.group(1) if m and m.group(1) else text


def _same(a: Line, b: Line) -> bool:
    return clean.norm(a.text) == clean.norm(b.text)


def is_title(text: str) -> bool:
    words = text.split()
    return (len(words) <= 30 and len(text) <= 250 and text[-1] not in ".,;:"
            and (text[0].isupper() or text[0].isdigit() or text[0] in "\"“‘'")
            and clean.parse_date(text) is None)


# Subheadings and byline-like lines run longer than the captions the answerer skips.
HEADING_WORDS = 15


def is_heading(text: str) -> bool:
    """A short line that does not end a sentence: a subheading or a byline-like line."""
    return T.is_heading(text, max_words=HEADING_WORDS)


def _skip_header(sec: list[Line], has_title: bool) -> tuple[list[Line], str | None]:
    """Date lines and (below a title) a few short byline or affiliation lines."""
    date = None
    i = 0
    while i < min(len(sec) - 1, 5):
        d = clean.parse_date(sec[i].text)
        if d:
            date = date or d
        elif not (has_title and is_heading(sec[i].text) and len(sec[i].text.split()) <= 8):
            break
        i += 1
    return sec[i:], date


def _dedupe(sec: list[Line]) -> list[Line]:
    """Drops a line equal to the one before it (repeated captions, doubled headings) and any
    repeat of an earlier long paragraph (a standfirst printed twice)."""
    out: list[Line] = []
    seen: set[str] = set()
    for ln in sec:
        key = clean.norm(ln.text)
        if (out and key == clean.norm(out[-1].text)) or (len(key) >= 40 and key in seen):
            continue
        seen.add(key)
        out.append(ln)
    return out


def _has_body(body: list[Line]) -> bool:
    """At least one sentence-like paragraph: a list of teaser headlines is not an article."""
    words = sum(len(b.text.split()) for b in body)
    return words >= 10 and any(not is_heading(b.text) for b in body)


def lead_title(text: str, max_words: int = 12) -> str:
    """A title for an untitled piece: its first sentence, cut to about a dozen words."""
    words = T.first_sentence(text).split()
    if len(words) <= max_words:
        return " ".join(words).rstrip(",;:")
    return " ".join(words[:max_words]).rstrip(",;:") + "…"


# --- topic segmentation -------------------------------------------------------------------------
# A compact TextTiling (Hearst 1997) over paragraphs rather than nltk's TextTilingTokenizer: that
# one needs blank-line paragraphs and fixed-size pseudo-sentences, returns text rather than
# offsets, and always cuts somewhere (its cutoff is relative to the text's own scores), which
# would chop every long single article. Here the units are our paragraph lines, each side of a gap
# is a window of stemmed content words (names weighted up, idf-damped within the section so that
# the subject of the whole file says nothing), and a cut needs three things:
#   1. lexical cohesion across the gap is low in absolute terms;
#   2. the paragraph after it opens like a lead: no back-reference ("he", "these", "however") in
#      its first words, and it is not a quotation;
#   3. its first sentence names someone (a multi-word name), and unless the lexical break is
#      strong, someone the current piece has not mentioned.
# Lexical cohesion alone cannot tell a new story from a new section of a long feature on a few
# hundred words; the lead cues make a cut cost evidence from how news stories start. The rules
# favour precision: a wrongly split article loses its title and context, a missed join only loses
# the later piece's own title (chunks are small either way).

_BACKREF = frozenset("""he his him she her hers they their them it its this these those such
however meanwhile but also earlier later despite another other others same both and yet still
further furthermore moreover besides then thus therefore instead nevertheless though although
indeed similarly likewise again so once previously mr mrs ms dr""".split())
_CALENDAR = frozenset(w.lower() for w in T.MONTHS + T.DAYS)

# Cosine across a cut must be low both near the gap and further out: a dip between two sections
# of one story recovers over a wider window, a change of story does not. Below STRONG the lead
# only has to name someone; between STRONG and WEAK it has to name someone new to the piece.
NEAR, FAR = 60, 150           # content words compared on each side of a gap
NEAR_MAX = 0.08
FAR_STRONG, FAR_WEAK = 0.06, 0.11
MIN_PIECE = 3       # paragraphs per piece
LEAD_WORDS = 8      # how far into a paragraph a back-reference counts


def _terms(text: str) -> Counter:
    """Stemmed content words, names (capitalised) counted twice."""
    ws = T.content_words(text, extra_stop=T.SEGMENT_STOP, min_len=3)
    c: Counter = Counter()
    for w, t in zip(ws, T.stem([w.lower() for w in ws])):
        c[t] += 2 if w[0].isupper() else 1
    return c


def gap_sims(tf: list[Counter], window_terms: int) -> list[float]:
    """Cosine between about `window_terms` words either side of each gap between paragraphs."""
    n = len(tf)
    df = Counter(t for c in tf for t in c)
    idf = {t: math.log((n + 1) / d) for t, d in df.items()}
    vecs = [{t: v * idf[t] for t, v in c.items()} for c in tf]
    sizes = [sum(c.values()) for c in tf]
    return [_cos(_window(vecs, sizes, range(g, -1, -1), window_terms),
                 _window(vecs, sizes, range(g + 1, n), window_terms)) for g in range(n - 1)]


def segment(paras: list[str]) -> list[int]:
    """Start indices of the pieces, always starting with 0."""
    n = len(paras)
    if n < 2 * MIN_PIECE:
        return [0]
    tf = [_terms(p) for p in paras]
    near, far = gap_sims(tf, NEAR), gap_sims(tf, FAR)
    starts = [0]
    seen: set[str] = set()      # terms of the current piece
    g = 0
    while g < n - 1:
        seen.update(tf[g])
        if g + 1 - starts[-1] >= MIN_PIECE and _is_break(paras, near, far, g, seen):
            # A story's short closing paragraph can look like a break too: of the breaks close
            # together, the deepest wins.
            best = g
            for h in range(g + 1, min(g + MIN_PIECE, n - 1)):
                if _is_break(paras, near, far, h, seen | set().union(*tf[g + 1: h + 1])) \
                        and near[h] + far[h] < near[best] + far[best]:
                    best = h
            starts.append(best + 1)
            seen = set()
            g = best
        g += 1
    return starts


def _is_break(paras: list[str], near: list[float], far: list[float], g: int,
              seen: set[str]) -> bool:
    if (len(paras) - (g + 1) < MIN_PIECE or near[g] > NEAR_MAX or far[g] > FAR_WEAK
            or is_heading(paras[g]) or is_heading(paras[g + 1])):
        return False
    names = _lead_names(paras[g + 1])
    return bool(names) and (far[g] <= FAR_STRONG or any(t not in seen for t in names))


def _lead_names(para: str) -> set[str] | None:
    """Terms of the multi-word names in a paragraph's first sentence; None if it does not open
    like a lead (a quotation, or a back-reference such as "he" or "however" in its first words)."""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", para)
    if para[0] in "\"“‘'" or any(w.lower() in _BACKREF for w in words[:LEAD_WORDS]):
        return None
    out: set[str] = set()
    for name in T.full_names(T.first_sentence(para)):
        if " " not in name:
            continue               # "al-Qaeda": one word, however hyphenated
        # The same words _terms() counts, so a name's parts compare with the piece's terms.
        words = [w for w in T.content_words(name, extra_stop=T.SEGMENT_STOP, min_len=3)
                 if w.lower() not in _CALENDAR]
        parts = set(T.stem([w.lower() for w in words]))
        if len(parts) >= 2:
            out.update(parts)
    return out


def _window(vecs: list[dict], sizes: list[int], order, window_terms: int) -> dict:
    out: dict = {}
    total = 0
    for i in order:
        for t, x in vecs[i].items():
            out[t] = out.get(t, 0.0) + x
        total += sizes[i]
        if total >= window_terms:
            break
    return out


def _cos(a: dict, b: dict) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(x * b.get(t, 0.0) for t, x in a.items())
    na = math.sqrt(sum(x * x for x in a.values()))
    nb = math.sqrt(sum(x * x for x in b.values()))
    return dot / (na * nb) if na and nb else 0.0

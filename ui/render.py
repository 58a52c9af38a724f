"""HTML for the web app, built from an `Answer`. Every piece of document or answer text passes
through `esc` before it reaches markup: `gr.HTML` is not sanitised, and an article may hold
`<script>` or `<img onerror=...>` that must show as text and run nothing.

The chat bubble gets the answer with each `[n]` as a link to `#src-n` in the sources panel; the
panel lists the cited passages first (each with its supporting sentence in `<mark>`, and the
whole article one click away with that span marked), then the other passages the answerer saw.
"""
from __future__ import annotations

import html
import re

from rag.news import show_date

CITE = re.compile(r"\[(\d+)\]")
ABSTAIN_TEXT = "The indexed articles do not say."
ARTICLE_WINDOW = 40_000   # characters of a long document shown around the span


def esc(text: object) -> str:
    """Escape for HTML, and the Markdown punctuation the chat bubble would otherwise act on."""
    # Quotes stay: this is text, never an attribute value, and the chat shows an entity such
    # as &#x27; literally inside its HTML spans.
    s = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_\[\]{}#|~])", r"\\\1", s)


def esc_html(text: object) -> str:
    return html.escape(str(text), quote=True)


def cite_link(n: int) -> str:
    return f'<a class="rag-cite" href="#src-{n}" title="passage {n}">[{n}]</a>'


def streaming_text(text: str) -> str:
    """Partial answer text as it arrives: escaped, with its `[n]` already links."""
    parts, last = [], 0
    for m in CITE.finditer(text):
        parts += [esc(text[last:m.start()]), cite_link(int(m.group(1)))]
        last = m.end()
    parts.append(esc(text[last:]))
    return "".join(parts) + " ▍"


def answer_markdown(answer) -> str:
    """The final chat bubble: sentences with their citations; an abstention looks different; a
    sentence whose citation did not check out is marked; notices and the answerer are shown."""
    if answer.abstained:
        body = (f'<span class="rag-abstain"><strong>{esc(ABSTAIN_TEXT)}</strong> '
                f'<span class="rag-small">No passage supports an answer; the closest ones are '
                f'in the sources panel.</span></span>')
    elif answer.sentences:
        out = []
        for s in answer.sentences:
            cites = "".join(cite_link(n) for n in s.citations)
            text = f"{esc(s.text)} {cites}".rstrip()
            if not s.supported:
                text = (f'<span class="rag-unsupported" title="This sentence\'s citation did not '
                        f'check out against the passage">⚠️ <del>{text}</del> '
                        f'<em>(not supported by the cited passage)</em></span>')
            out.append(text)
        body = " ".join(out)
        first = answer.sentences[0]
        if first.direct and len(out) > 1:
            # "10 times [1]" stands on its own line, so a reader sees the answer before the quote
            cites = "".join(cite_link(n) for n in first.citations)
            body = f"<strong>{esc(first.text)}</strong> {cites}\n\n" + " ".join(out[1:])
    else:
        body = streaming_text(answer.text)[:-2]
    # Inline tags only: a block-level tag would stop Markdown inside it from being read.
    notes = "".join(f'\n\n<span class="rag-notice">⚠️ {esc(n)}</span>' for n in answer.notices)
    ms = answer.timings.get("total")
    took = f" · {ms:,.0f} ms" if ms is not None else ""
    meta = (f'\n\n<span class="rag-meta">answered by <strong>{esc(answer.answerer)}</strong>'
            f'{took}</span>')
    return body + notes + meta + copy_sources(answer)


def copy_sources(answer) -> str:
    """The cited sources as plain lines, in an empty element's attribute: nothing shows, and
    the copy button (ui.app's PAGE_JS) puts them under the copied answer."""
    lines = []
    for p in answer.citations:
        c = p.chunk
        when = f", {show_date(c.date)}" if c.date else ""
        lines.append(f"[{p.n}] {c.title or c.source} ({c.source}{when})")
    if not lines:
        return ""
    text = "Sources:\n" + "\n".join(lines)
    return f'<span class="rag-copy" data-copy="{esc_html(text).replace(chr(10), "&#10;")}"></span>'


def _mark(text: str, start: int, span: tuple[int, int] | None, anchor: str = "") -> str:
    """`text` (which begins at file offset `start`) escaped, with `span` (file offsets) marked."""
    if not span:
        return esc_html(text)
    a, b = max(span[0] - start, 0), min(span[1] - start, len(text))
    if a >= b:
        return esc_html(text)
    ident = f' id="{anchor}"' if anchor else ""
    return (esc_html(text[:a]) + f"<mark{ident}>" + esc_html(text[a:b]) + "</mark>"
            + esc_html(text[b:]))


def _header(p, n: int) -> str:
    c = p.chunk
    from rag.news import show_date     # "14 January 2025", or "no date": never guessed
    date = f" · {esc_html(show_date(getattr(c, 'date', None)))}"
    return (f'<span class="rag-n">[{n}]</span> <strong>{esc_html(c.title or c.source)}</strong>'
            f'<div class="rag-where">{esc_html(c.source)} · chars {c.start}–{c.end}{date}</div>')


def _article(text: str | None, span: tuple[int, int], n: int) -> str:
    if text is None:
        return '<div class="rag-small">(the article text is not available)</div>'
    a, b = span
    lo, hi = max(0, a - ARTICLE_WINDOW // 2), min(len(text), b + ARTICLE_WINDOW // 2)
    head = "… " if lo else ""
    tail = " …" if hi < len(text) else ""
    body = _mark(text[lo:hi], lo, span, anchor=f"art-{n}-mark")
    return (f'<details class="rag-article" data-n="{n}"><summary>Open the whole article</summary>'
            f'<div class="rag-article-text">{head}{body}{tail}</div></details>')


def sources_html(answer, document_text=None) -> str:
    """The sources panel. `document_text(source) -> str | None` gives a file's text (the store
    keeps the extracted text of HTML files), for the whole-article view."""
    if answer is None:
        return ('<div class="rag-sources-empty">Sources appear here: every <code>[n]</code> in an '
                'answer links to the passage it cites, with the supporting sentence marked.</div>')
    cited = [p for p in answer.citations]
    cited_ns = {p.n for p in cited}
    others = [p for p in answer.passages if p.n not in cited_ns]
    parts = []
    if cited:
        parts.append(f'<div class="rag-h">Cited passages ({len(cited)})</div>')
    for p in cited:
        span = answer.highlights.get(p.n) or (p.chunk.start, p.chunk.end)
        text = document_text(p.chunk.source) if document_text else None
        marked = _mark(p.chunk.text, p.chunk.start, answer.highlights.get(p.n))
        parts.append(f'<div class="rag-src" id="src-{p.n}">{_header(p, p.n)}'
                     f'<div class="rag-passage">{marked}</div>'
                     f'{_article(text, span, p.n)}</div>')
    if others:
        label = ("Passages the answerer looked at" if not cited
                 else f"Other passages shown to the answerer ({len(others)})")
        inner = "".join(f'<div class="rag-src rag-other" id="src-{p.n}">{_header(p, p.n)}'
                        f'<div class="rag-passage">{esc_html(p.chunk.text)}</div></div>'
                        for p in others)
        parts.append(f'<details class="rag-others"{" open" if not cited else ""}>'
                     f'<summary>{label}</summary>{inner}</details>')
    return '<div class="rag-sources">' + "".join(parts) + "</div>"


def searched_for(answer) -> str | None:
    """The standalone question a follow-up was rewritten into, if it was."""
    return answer.rewritten if answer.rewritten and answer.rewritten != answer.question else None


def index_markdown(stats: dict | None, error: str | None = None) -> str:
    if error:
        return f"**Index:** {esc(error)}"
    return (f"**Index:** {stats['documents']} files · {stats['articles']} articles · "
            f"{stats['chunks']} chunks  \nembedder <code>{esc_html(stats['embedder'])}</code>  \n"
            f"store <code>{esc_html(stats['store'])}</code>")


def upload_markdown(summary: dict) -> str:
    lines = [f"**Upload:** {len(summary['added'])} added, {len(summary['unchanged'])} unchanged, "
             f"{len(summary['rejected'])} rejected."]
    lines += [f"- ✓ {esc(n)}" for n in summary["added"]]
    lines += [f"- = {esc(n)} (already indexed)" for n in summary["unchanged"]]
    lines += [f"- ✗ {esc(n)}: {esc(why)}" for n, why in summary["rejected"]]
    return "\n".join(lines)

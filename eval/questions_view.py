"""The per-question part of the eval report: one row per question, each failure expandable to
the passages the answerer was shown, with the gold evidence and the cited sentence highlighted.

Everything that comes from a document, a question or an answer is escaped here (html.escape for
the HTML page, `md_text` for report.md), so a hostile article stays text in both reports.
"""
from __future__ import annotations

import html
import re
from typing import Sequence

e = html.escape
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_text(s: str) -> str:
    """Plain text for a Markdown table cell: HTML-escaped (Markdown passes HTML through) and
    Markdown punctuation backslash-escaped, on one line."""
    s = " ".join(str(s).split())
    return _MD_SPECIAL.sub(r"\\\1", s.replace("&", "&amp;").replace("<", "&lt;"))


def latency_ms(r: dict) -> float | None:
    t = r.get("timings_ms", {})
    return t.get("wall", t.get("total"))


def evidence_rank(r: dict) -> int | None:
    return r.get("scores", {}).get("first_relevant_rank")


def marked(passage: dict, spans: Sequence[Sequence], cite: dict | None) -> str:
    """The passage's text as HTML with <mark class=ev> over the gold evidence and
    <mark class=cite> over the sentence its citation highlights (offsets are file offsets)."""
    text, start, src = passage["text"], passage["start"], passage["source"]
    ranges = [(max(a, start) - start, min(b, passage["end"]) - start, "ev")
              for s, a, b in spans if s == src and a < passage["end"] and b > start]
    if cite and cite.get("highlight"):
        h = cite["highlight"]
        ranges.append((max(h["start"], start) - start, min(h["end"], passage["end"]) - start, "cite"))
    cuts = sorted({0, len(text)} | {x for a, b, _ in ranges for x in (a, b) if 0 <= x <= len(text)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        classes = sorted({c for x, y, c in ranges if x <= a and b <= y})
        piece = e(text[a:b])
        out.append(f"<mark class='{' '.join(classes)}'>{piece}</mark>" if classes else piece)
    return "".join(out)


def _answer_html(ans: dict) -> str:
    if ans.get("abstained"):
        return f"<i>abstained:</i> {e(ans.get('answer', ''))}"
    parts = []
    for s in ans.get("sentences") or [{"text": ans.get("answer", ""), "citations": []}]:
        cites = "".join(f"<sup>[{int(n)}]</sup>" for n in s.get("citations", []))
        flag = "" if s.get("supported", True) else " <span class='unsup'>(unsupported)</span>"
        parts.append(f"{e(s['text'])}{cites}{flag}")
    return " ".join(parts)


def _details(r: dict) -> str:
    ans = r["answer"]
    spans = r.get("spans", [])
    cites = {c["n"]: c for c in ans.get("citations", [])}
    rank = evidence_rank(r)
    rows = []
    for p in ans.get("passages", []):
        tags = []
        if p["n"] in cites:
            tags.append("cited")
        if any(s == p["source"] and a < p["end"] and b > p["start"] for s, a, b in spans):
            tags.append("evidence")
        rows.append(f"<div class='psg'><b>[{int(p['n'])}]</b> {e(p.get('title') or '')} — "
                    f"{e(p['source'])} chars {int(p['start'])}-{int(p['end'])}"
                    f" <small>score {float(p.get('score', 0)):.4f} {' '.join(tags)}</small>"
                    f"<div class='ptext'>{marked(p, spans, cites.get(p['n']))}</div></div>")
    where = (f"gold evidence first appears at rank {rank}" if rank else
             "no passage shown covers the gold evidence" if spans else "unanswerable: no evidence")
    gold_spans = "; ".join(f"{e(s)} chars {int(a)}-{int(b)}" for s, a, b in spans) or "-"
    notes = "".join(f"<li>{e(n)}</li>" for n in ans.get("notices", []))
    return (f"<details><summary>passages shown ({len(rows)}); {where}</summary>"
            f"<p>evidence spans: {gold_spans}"
            + (f" — searched for: {e(ans['rewritten'])}" if ans.get("rewritten") not in
               (None, r["question"]) else "")
            + "</p>" + (f"<ul>{notes}</ul>" if notes else "") + "".join(rows) + "</details>")


def rows_html(records: Sequence[dict]) -> str:
    """The table: filter controls (label, kind, text), then one <tr> per question."""
    labels = sorted({r["label"] for r in records})
    kinds = sorted({r["kind"] for r in records})
    opts = lambda xs: "".join(f"<option>{e(x)}</option>" for x in xs)  # noqa: E731
    head = ("<div class='filters'>label <select id='f-label'><option value=''>all</option>"
            f"{opts(labels)}</select> kind <select id='f-kind'><option value=''>all</option>"
            f"{opts(kinds)}</select> text <input id='f-text' size='30' placeholder='id, words…'> "
            "<span id='f-count'></span></div>"
            "<table id='questions'><thead><tr><th>id</th><th>kind</th><th>question</th>"
            "<th>gold answers</th><th>answer [citations]</th><th>label</th><th>evidence rank</th>"
            "<th>ms</th></tr></thead><tbody>")
    body = []
    for r in records:
        rank, ms = evidence_rank(r), latency_ms(r)
        ans = r["answer"]
        cell_answer = _answer_html(ans) + ("" if r["label"] == "ok" else _details(r))
        gold = "; ".join(e(a) for a in r.get("answers", [])) or "<i>(not in the articles)</i>"
        body.append(
            f"<tr id='q-{e(r['id'])}' data-label='{e(r['label'])}' data-kind='{e(r['kind'])}' "
            f"class='lab-{e(r['label'])}'><td>{e(r['id'])}</td><td>{e(r['kind'])}</td>"
            f"<td>{e(r['question'])}</td><td>{gold}</td><td>{cell_answer}</td>"
            f"<td>{e(r['label'])}</td><td>{'-' if rank is None else int(rank)}</td>"
            f"<td>{'-' if ms is None else f'{ms:.0f}'}</td></tr>")
    return head + "".join(body) + "</tbody></table>"


def rows_md(records: Sequence[dict], only_failures: bool = True) -> str:
    """The same table in Markdown (failures only, by default: report.md stays readable)."""
    head = ["id", "kind", "label", "question", "gold answers", "answer", "evidence rank", "ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in records:
        if only_failures and r["label"] == "ok":
            continue
        ans = r["answer"]
        text = ("(abstained) " if ans.get("abstained") else "") + ans.get("answer", "")
        cites = sorted({n for s in ans.get("sentences", []) for n in s.get("citations", [])})
        rank, ms = evidence_rank(r), latency_ms(r)
        lines.append("| " + " | ".join([
            md_text(r["id"]), md_text(r["kind"]), r["label"], md_text(r["question"]),
            md_text("; ".join(r.get("answers", [])) or "-"),
            md_text(text) + (" " + "".join(f"\\[{n}\\]" for n in cites) if cites else ""),
            "-" if rank is None else str(rank), "-" if ms is None else f"{ms:.0f}"]) + " |")
    return "\n".join(lines)


# Filtering is client-side (one file, no network): hide rows that do not match; label links
# (#label=NAME) set the filter.
SCRIPT = """
(function(){
  var L=document.getElementById('f-label'),K=document.getElementById('f-kind'),
      T=document.getElementById('f-text'),C=document.getElementById('f-count');
  if(!L)return;
  function apply(){
    var n=0,rows=document.querySelectorAll('#questions tbody tr');
    var t=T.value.toLowerCase();
    rows.forEach(function(r){
      var ok=(!L.value||r.dataset.label===L.value)&&(!K.value||r.dataset.kind===K.value)&&
             (!t||r.textContent.toLowerCase().indexOf(t)>=0);
      r.style.display=ok?'':'none'; if(ok)n++;
    });
    C.textContent=n+' of '+rows.length+' questions';
  }
  function fromHash(){
    var m=location.hash.match(/^#label=(.+)$/);
    if(m){L.value=decodeURIComponent(m[1]);apply();
      document.getElementById('questions').scrollIntoView();}
  }
  L.onchange=K.onchange=T.oninput=apply; window.addEventListener('hashchange',fromHash);
  apply(); fromHash();
})();
"""

CSS = ("mark.ev{background:#ffe08a}mark.cite{background:#b6e3ff}mark.cite.ev{background:#9be29b}"
       ".psg{margin:.4em 0;padding:.3em;border-left:3px solid #ccc}.ptext{white-space:pre-wrap;"
       "font-size:90%}.unsup{color:#b00}tr.lab-ok td{color:#444}.filters{margin:.5em 0}"
       "#questions td{vertical-align:top}details summary{cursor:pointer;color:#036}")

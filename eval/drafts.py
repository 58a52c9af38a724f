"""Thumbs-down answers from the web app -> draft Q&A entries for a person to complete.

Each feedback line (ui/service.py writes them) with verdict "down" becomes one Q&A line in the
format of eval/data/qa.jsonl, with `answers` and `evidence` left empty and `"draft": true`. An
answerable entry with no answers does not load (eval/dataset.py rejects it, naming the line), so
an unfinished draft can never be counted by mistake: fill `answers` and `evidence` (or set
`answerable: false` with `source: ""`), pick the `kind`, and drop `draft`/`feedback`.

Ids are `fb-` plus a hash of the question and its history, so running the command again over a
growing feedback file never duplicates a question already drafted into the same output file.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import TextIO


def read_feedback(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no feedback file at {path}; thumbs up/down in the web app "
                         f"(`rag ui`) write it, or name one with --file")
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not JSON ({e.msg}); fix or delete that line") from None
        if not isinstance(rec, dict) or "question" not in rec or "verdict" not in rec:
            raise ValueError(f"{path}:{i}: not a feedback record (needs question and verdict)")
        out.append(rec)
    return out


def draft_id(question: str, history: list[dict]) -> str:
    key = json.dumps([question, [t.get("content") for t in history]], ensure_ascii=False)
    return "fb-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def drafts(records: list[dict]) -> list[dict]:
    """One draft per distinct thumbs-down question (with its history), oldest first."""
    seen, out = set(), []
    for rec in records:
        if rec.get("verdict") != "down":
            continue
        history = [{"role": t["role"], "content": t["content"]} for t in rec.get("history") or []
                   if t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)]
        ident = draft_id(rec["question"], history)
        if ident in seen:
            continue
        seen.add(ident)
        cited = rec.get("citations") or []
        entry = {"id": ident, "question": rec["question"], "answers": [], "evidence": [],
                 "source": cited[0]["source"] if cited else "", "answerable": True,
                 "kind": "draft", "draft": True}
        if history:
            entry["history"] = history
        entry["feedback"] = {"time": rec.get("time"), "answer": rec.get("answer"),
                             "rewritten": rec.get("rewritten"), "abstained": rec.get("abstained"),
                             "answerer": rec.get("answerer"),
                             "cited": [f"{c['source']}:{c['start']}-{c['end']}" for c in cited]}
        out.append(entry)
    return out


def write_drafts(feedback: Path, qa_out: Path | None = None, out: TextIO = sys.stdout) -> int:
    """Write drafts to `qa_out` (appended, skipping ids already there) or to `out`."""
    entries = drafts(read_feedback(feedback))
    if qa_out is None:
        for e in entries:
            out.write(json.dumps(e, ensure_ascii=False) + "\n")
        return len(entries)
    qa_out = Path(qa_out)
    have = set()
    if qa_out.is_file():
        for line in qa_out.read_text(encoding="utf-8").splitlines():
            try:
                have.add(json.loads(line).get("id"))
            except (json.JSONDecodeError, AttributeError):
                continue
    new = [e for e in entries if e["id"] not in have]
    with open(qa_out, "a", encoding="utf-8") as f:
        for e in new:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    return len(new)

"""The hand-written Q&A file: loading with strict validation, evidence location, and lint.

Format: ../shared/docs/eval.md ("The Q&A file"). One JSON object a line; blank lines ignored.
The same rules as a JSON Schema: eval/qa.schema.json (tests/test_qa_schema.py keeps them agreed).

Rules enforced by `load_qa` (the first broken line rejects the whole file, before anything runs;
the `DatasetError` message is "<file>:<line>: <reason>"):

* every non-blank line is a JSON object;
* required: `id` (non-empty str), `question` (non-empty str), `answers` (list of non-empty str),
  `evidence` (list of non-empty str), `source` (str), `answerable` (bool), `kind` (non-empty str);
* optional: `history` (list of {"role": "user"|"assistant", "content": str}), `pinned` (bool),
  `date` (ISO date "YYYY-MM-DD": the answer must rest on the article of that date, for time
  questions), `conflict` (list of source file names whose reports disagree: the answer must show
  the conflict citing each), `refers_to` (for a follow-up: the names, any one of which its
  standalone rewrite must contain: what its pronoun means); any other field is ignored;
* answerable: `answers`, `evidence` and `source` non-empty;
* unanswerable: `answers` empty, `evidence` empty, `source` "";
* ids unique within the file.

`lint` then checks the items against the article texts (quotes found, alias inside evidence).

The tuning and held-out halves (`half_of`, `in_half`, `split_halves`) are defined here, once, by
the number in each id: even numbers (q002, t004) are the tuning half every tuner fits on, odd
numbers (q001, t003) the held-out half every table reports apart. A question keeps its half when
others are added or the file is reordered, which a split by line position would not give.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from eval.normalize import normalize

__all__ = [
    "QAItem",
    "DatasetError",
    "load_qa",
    "locate",
    "evidence_spans",
    "lint",
    "load_texts",
    "HALVES",
    "HALF_FLAGS",
    "half_of",
    "in_half",
    "split_halves",
]


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    source: str
    answerable: bool
    kind: str
    history: tuple[dict, ...] = ()
    pinned: bool = False
    date: str | None = None
    conflict: tuple[str, ...] = ()
    refers_to: tuple[str, ...] = ()     # names a follow-up's standalone form must contain
    line: int = 0


class DatasetError(ValueError):
    """A Q&A file that breaks the format. The message names the file, the line and the reason."""

    def __init__(self, path, line: int, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")


# --------------------------------------------------------------------------- loading
_REQUIRED = ("id", "question", "answers", "evidence", "source", "answerable", "kind")


def _type_name(v) -> str:
    return "null" if v is None else type(v).__name__


def _check_str_list(obj: dict, key: str, fail) -> tuple[str, ...]:
    v = obj[key]
    if not isinstance(v, list):
        fail(f"field '{key}' must be a list of strings, got {_type_name(v)}")
    for i, x in enumerate(v):
        if not isinstance(x, str):
            fail(f"field '{key}'[{i}] must be a string, got {_type_name(x)}")
        if not x.strip():
            fail(f"field '{key}'[{i}] is an empty string")
    return tuple(v)


def _parse_line(obj, fail) -> dict:
    if not isinstance(obj, dict):
        fail(f"expected a JSON object, got {_type_name(obj)}")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        fail("missing required field" + ("s " if len(missing) > 1 else " ") + ", ".join(
            f"'{k}'" for k in missing))

    for key in ("id", "question", "kind"):
        v = obj[key]
        if not isinstance(v, str):
            fail(f"field '{key}' must be a string, got {_type_name(v)}")
        if not v.strip():
            fail(f"field '{key}' is empty")
    if not isinstance(obj["source"], str):
        fail(f"field 'source' must be a string, got {_type_name(obj['source'])}")
    if not isinstance(obj["answerable"], bool):
        fail(f"field 'answerable' must be true or false, got {_type_name(obj['answerable'])}")
    answers = _check_str_list(obj, "answers", fail)
    evidence = _check_str_list(obj, "evidence", fail)

    pinned = obj.get("pinned", False)
    if not isinstance(pinned, bool):
        fail(f"field 'pinned' must be true or false, got {_type_name(pinned)}")

    when = obj.get("date")
    if when is not None:
        import datetime
        try:
            datetime.date.fromisoformat(when if isinstance(when, str) else "")
        except ValueError:
            fail(f"field 'date' must be an ISO date like \"2025-01-14\", got {when!r}")
    conflict = _check_str_list(obj, "conflict", fail) if "conflict" in obj else ()
    refers_to = _check_str_list(obj, "refers_to", fail) if "refers_to" in obj else ()
    if len(conflict) == 1:
        fail("field 'conflict' needs at least two sources (the articles that disagree)")

    history = obj.get("history", [])
    if history is None:
        history = []
    if not isinstance(history, list):
        fail(f"field 'history' must be a list of turns, got {_type_name(history)}")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict):
            fail(f"history[{i}] must be an object with 'role' and 'content', got {_type_name(turn)}")
        if "role" not in turn or "content" not in turn:
            fail(f"history[{i}] needs both 'role' and 'content'")
        if turn["role"] not in ("user", "assistant"):
            fail(f"history[{i}].role must be 'user' or 'assistant', got {turn['role']!r}")
        if not isinstance(turn["content"], str):
            fail(f"history[{i}].content must be a string, got {_type_name(turn['content'])}")
        turns.append({"role": turn["role"], "content": turn["content"]})

    if obj["answerable"]:
        if not answers:
            fail("answerable question with no answers")
        if not evidence:
            fail("answerable question with no evidence")
        if not obj["source"].strip():
            fail("answerable question with an empty source")
    else:
        if answers:
            fail("unanswerable question must have empty answers")
        if evidence:
            fail("unanswerable question must have empty evidence")
        if obj["source"]:
            fail("unanswerable question must have an empty source")

    return dict(
        id=obj["id"],
        question=obj["question"],
        answers=answers,
        evidence=evidence,
        source=obj["source"],
        answerable=obj["answerable"],
        kind=obj["kind"],
        history=tuple(turns),
        pinned=pinned,
        date=when,
        conflict=conflict,
        refers_to=refers_to,
    )


def load_qa(path) -> list[QAItem]:
    """Load and validate a Q&A JSONL file; raise `DatasetError` on the first broken line."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise DatasetError(path, 0, f"not valid UTF-8: {e}") from None
    except OSError as e:
        raise DatasetError(path, 0, f"cannot read file: {e}") from None

    items: list[QAItem] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(lines, start=1):
        if lineno == 1 and raw.startswith("\ufeff"):
            raw = raw[1:]
        if not raw.strip():
            continue

        def fail(reason, _lineno=lineno):
            raise DatasetError(path, _lineno, reason)

        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            fail(f"bad JSON: {e.msg} (column {e.colno})")
        fields = _parse_line(obj, fail)
        if fields["id"] in seen:
            fail(f"duplicate id {fields['id']!r} (first on line {seen[fields['id']]})")
        seen[fields["id"]] = lineno
        items.append(QAItem(**fields, line=lineno))

    if not items:
        raise DatasetError(path, 0, "no questions in file")
    return items


# --------------------------------------------------------------------------- locating quotes
_QUOTE_CANON = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
}


def _canon(text: str) -> tuple[str, list[int]]:
    """Canonical form (curly quotes -> straight, each whitespace run -> one space) and, for every
    canonical character, the offset of the original character it came from. Linear time."""
    out: list[str] = []
    idx: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space:
                out.append(" ")
                idx.append(i)
                in_space = True
            continue
        in_space = False
        out.append(_QUOTE_CANON.get(ch, ch))
        idx.append(i)
    return "".join(out), idx


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Character span (start, end) of the first occurrence of `quote` in `text`, tolerating
    whitespace differences (runs, newlines vs spaces, leading/trailing) and curly vs straight
    quotes; `None` if absent. `text[start:end]` is the original text of the match."""
    q, _ = _canon(quote)
    q = q.strip()
    if not q:
        return None
    t, idx = _canon(text)
    pos = t.find(q)  # CPython's str.find is linear-time (two-way / Crochemore-Perrin for long needles)
    if pos < 0:
        return None
    return idx[pos], idx[pos + len(q) - 1] + 1


class _TextIndex:
    """Canonical forms cached per text, so many quotes in one file canonicalise the file once."""

    def __init__(self):
        self._cache: dict[int, tuple[str, str, list[int]]] = {}

    def locate(self, quote: str, text: str) -> tuple[int, int] | None:
        key = id(text)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not text:
            t, idx = _canon(text)
            hit = (text, t, idx)
            self._cache[key] = hit
        _, t, idx = hit
        q = _canon(quote)[0].strip()
        if not q:
            return None
        pos = t.find(q)
        if pos < 0:
            return None
        return idx[pos], idx[pos + len(q) - 1] + 1


def evidence_spans(item: QAItem, texts: dict[str, str]) -> list[tuple[str, int, int]]:
    """(source, start, end) for every evidence quote of `item`, in order. Unanswerable items give [].
    Raises `DatasetError` (naming the item) if the source is unknown or a quote is not found:
    run `lint` first."""
    if not item.evidence:
        return []
    if item.source not in texts:
        raise DatasetError("<qa>", item.line, f"{item.id}: source file {item.source!r} unknown")
    text = texts[item.source]
    index = _TextIndex()
    spans = []
    for q in item.evidence:
        span = index.locate(q, text)
        if span is None:
            raise DatasetError(
                "<qa>", item.line, f"{item.id}: evidence quote not found in {item.source}: {q[:60]!r}"
            )
        spans.append((item.source, span[0], span[1]))
    return spans


# --------------------------------------------------------------------------- lint
def lint(items: list[QAItem], texts: dict[str, str], strict: bool = False) -> list[str]:
    """Problems with the dataset against the article texts; [] when clean. Each problem names the
    item id and its line. Checks: ids unique; source file known; every evidence quote found in its
    source; for answerable questions, some alias (normalised) appears inside some evidence quote
    (normalised), as whole tokens. `strict=True` requires *every* alias to appear (the authoring
    rule for eval/data/qa.jsonl); the default is eval.md's "at least one"."""
    problems: list[str] = []
    first_line: dict[str, int] = {}
    index = _TextIndex()
    for it in items:
        where = f"{it.id} (line {it.line})"
        if it.id in first_line:
            problems.append(f"{where}: duplicate id (first on line {first_line[it.id]})")
        else:
            first_line[it.id] = it.line

        if it.evidence or it.source:
            if it.source not in texts:
                problems.append(f"{where}: source file unknown: {it.source!r}")
                continue
            text = texts[it.source]
            for q in it.evidence:
                if index.locate(q, text) is None:
                    problems.append(f"{where}: evidence quote not found in {it.source}: {q!r}")

        said = " ".join([t["content"] for t in it.history] + [it.question]).lower()
        for name in it.refers_to:
            if name.lower() not in said:
                problems.append(f"{where}: refers_to name in neither the history nor the "
                                f"question: {name!r}")

        for src in it.conflict:
            if src not in texts:
                problems.append(f"{where}: conflict source file unknown: {src!r}")

        if it.answerable:
            ev_norm = [f" {normalize(q)} " for q in it.evidence]
            found = False
            for a in it.answers:
                na = normalize(a)
                if not na:
                    problems.append(f"{where}: alias {a!r} is empty after normalisation")
                    continue
                if any(f" {na} " in e for e in ev_norm):
                    found = True
                elif strict:
                    problems.append(f"{where}: alias {a!r} does not appear inside the evidence text")
            if not found:
                problems.append(f"{where}: no alias appears inside the evidence text after normalize()")
    return problems


# --------------------------------------------------------------------------- texts
def load_texts(corpus_dir) -> dict[str, str]:
    """{file name: text} for every non-hidden regular file in `corpus_dir`, read exactly as ingest
    reads it (`open(p, encoding="utf-8").read()`), so evidence offsets match chunk offsets."""
    texts: dict[str, str] = {}
    for name in sorted(os.listdir(corpus_dir)):
        p = os.path.join(corpus_dir, name)
        if name.startswith(".") or not os.path.isfile(p):
            continue
        texts[name] = open(p, encoding="utf-8").read()
    return texts


# --------------------------------------------------------------------------- halves
HALVES = ("tune", "held")
# The scripts' `--half even|odd` flags, named after the id numbers each half holds.
HALF_FLAGS = {"even": "tune", "odd": "held"}
_ID_NUMBER = re.compile(r"(\d+)$")


def half_of(item_id: str) -> str:
    """"tune" for an id whose number is even (q002), "held" for an odd one (q001); a ValueError
    naming the id when it does not end in a number (the halves could not be told apart)."""
    m = _ID_NUMBER.search(item_id)
    if not m:
        raise ValueError(f"Q&A id {item_id!r} does not end in a number: the tuning and held-out "
                         "halves are defined by the id's number (even: tuning, odd: held out); "
                         "give it an id like 'q123'")
    return HALVES[int(m.group(1)) % 2]


def _id(item) -> str:
    return item["id"] if isinstance(item, dict) else item.id


def in_half(items, half: str | None) -> list:
    """The items (QAItem, or records/dicts with an "id") of one half: "tune" or "held", or a
    script flag "even" / "odd"; None keeps them all."""
    if half is None:
        return list(items)
    want = HALF_FLAGS.get(half, half)
    if want not in HALVES:
        raise ValueError(f"unknown half {half!r}: give one of "
                         + ", ".join(map(repr, HALVES + tuple(HALF_FLAGS))))
    return [it for it in items if half_of(_id(it)) == want]


def split_halves(items) -> tuple[list, list]:
    """(tuning half, held-out half) of `items`, each in the given order."""
    items = list(items)
    return in_half(items, "tune"), in_half(items, "held")

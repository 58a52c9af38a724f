"""Tests for eval/normalize.py and eval/dataset.py (format: ../shared/docs/eval.md)."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import (
    DatasetError,
    QAItem,
    evidence_spans,
    lint,
    load_qa,
    load_texts,
    locate,
)
from eval.normalize import normalize, squad_normalize, tokens

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "qa"
QA = ROOT / "eval" / "data" / "qa.jsonl"
CORPUS = ROOT / "data" / "articles"


# --------------------------------------------------------------------------- SQuAD v1.1 official
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("The Denver Broncos", "denver broncos"),
        ("Denver Broncos!", "denver broncos"),
        ("  the   Broncos ", "broncos"),
        ("an apple and a pear", "apple and pear"),
        ("Theatre of the Absurd", "theatre of absurd"),  # articles only as whole words
        ("Saint-Pierre", "saintpierre"),
        ("Norman's (France)", "normans france"),
        ("1.5", "15"),  # the official script has no number step
        ("2,600", "2600"),
        ("ten", "ten"),
        ("A", ""),
        ("“curly”", "“curly”"),  # official string.punctuation is ASCII only
    ],
)
def test_squad_normalize_is_official(raw, expected):
    assert squad_normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["The Denver Broncos", "  the   Broncos ", "an apple and a pear", "Saint-Pierre", "Norman's (France)"],
)
def test_normalize_without_numbers_agrees_with_squad_on_ascii(raw):
    assert normalize(raw, numbers=False) == squad_normalize(raw)


def test_normalize_curly_quotes():
    assert normalize("Baradar’s release") == normalize("Baradar's release") == "baradars release"
    assert normalize("“Hello,” she said") == "hello she said"
    assert normalize("The Taliban—who") == "taliban who"
    assert normalize("Wana–Jandola road") == normalize("Wana-Jandola road") == "wanajandola road"


# --------------------------------------------------------------------------- number extension
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ten", "10"),
        ("Ten times", "10 times"),
        ("ten times", normalize("10 times")),
        ("2,600", "2600"),
        ("10,000-strong", "10000 strong"),
        ("21-member jirga", "21 member jirga"),
        ("between 200-300", "between 200 300"),
        ("2,600-kilometer", "2600 kilometer"),
        ("three-day jirga", "3 day jirga"),
        ("$5m", "5 million dollars"),
        ("$5 million", "5 million dollars"),
        ("US$5 million", "5 million dollars"),
        ("5 million dollars", "5 million dollars"),
        ("five million dollars", "5 million dollars"),
        ("£2bn", "2 billion pounds"),
        ("1.5", "1.5"),
        ("1.5 million people.", "1.5 million people"),
        ("4.5bn", "4.5 billion"),
        ("twenty-five", "25"),
        ("twenty five", "25"),
        ("forty-two", "42"),
        ("ninety-nine", "99"),
        ("one hundred and five", "105"),
        ("two hundred thousand", "200000"),
        ("one thousand two hundred", "1200"),
        ("5 thousand", "5000"),
        ("a hundred", "100"),
        ("five six", "5 6"),
        ("rock and roll", "rock and roll"),
        ("first", "1st"),
        ("twenty-first", "21st"),
        ("ten-year-old", "10 yearold"),
        ("5%", "5 percent"),
        ("5 per cent", "5 percent"),
        ("in 2010.", "in 2010"),
        ("often", "often"),  # no number word inside a longer word
        ("hundreds of people", "hundreds of people"),
    ],
)
def test_number_extension(raw, expected):
    assert normalize(raw) == expected


def test_numbers_off():
    assert normalize("ten", numbers=False) == "ten"
    assert normalize("1.5", numbers=False) == "15"


def test_tokens():
    assert tokens("The ten Taliban leaders, in 2021.") == ["10", "taliban", "leaders", "in", "2021"]


# --------------------------------------------------------------------------- loader
def test_load_good_fixture():
    items = load_qa(FIX / "good.jsonl")
    assert [i.id for i in items] == ["a1", "a2", "a3"]
    assert [i.line for i in items] == [2, 4, 5]  # physical line numbers; blank lines skipped
    a1, a2, a3 = items
    assert a1.answers == ("Atmar",) and a1.evidence == ("said Atmar",) and a1.answerable
    assert a1.history == () and a1.pinned is False
    assert a2.pinned is True and a2.kind == "follow-up"
    assert a2.history == ({"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Atmar."})
    assert a3.answerable is False and a3.answers == () and a3.source == ""
    with pytest.raises(Exception):
        a1.id = "x"  # frozen


@pytest.mark.parametrize(
    "fixture, line, reason",
    [
        ("bad_json.jsonl", 3, "bad JSON"),
        ("missing_field.jsonl", 2, "'source'"),
        ("wrong_type_answers.jsonl", 2, "'answers'"),
        ("wrong_type_answerable.jsonl", 1, "'answerable'"),
        ("answerable_no_answers.jsonl", 4, "no answers"),
        ("unanswerable_with_answers.jsonl", 2, "empty answers"),
        ("unanswerable_with_source.jsonl", 1, "empty source"),
        ("bad_history_role.jsonl", 2, "role"),
        ("bad_history_shape.jsonl", 2, "history"),
        ("bad_history_content.jsonl", 2, "content"),
        ("duplicate_ids.jsonl", 3, "duplicate id 'a1'"),
        ("not_object.jsonl", 1, "JSON object"),
    ],
)
def test_loader_rejects_broken_files(fixture, line, reason):
    path = FIX / fixture
    with pytest.raises(DatasetError) as ei:
        load_qa(path)
    err = ei.value
    assert isinstance(err, ValueError)
    assert err.line == line
    msg = str(err)
    assert str(path) in msg  # names the file
    assert f":{line}:" in msg  # names the line
    assert reason in msg  # names the reason


def test_loader_rejects_empty_file(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DatasetError):
        load_qa(p)


# --------------------------------------------------------------------------- locate
TEXT = "Atmar said:  “As part of those efforts,\nI travelled to Pakistan ten times to secure Mullah Baradar’s release.”"


def test_locate_curly_vs_straight_and_whitespace():
    quote = '"As part of those efforts, I travelled to Pakistan ten times to secure Mullah Baradar\'s release'
    span = locate(quote, TEXT)
    assert span is not None
    a, b = span
    got = TEXT[a:b]
    assert got.startswith("“As part") and got.endswith("Baradar’s release")
    assert "\n" in got
    # the original text at those offsets matches the quote once canonicalised
    canon = lambda s: " ".join(s.replace("“", '"').replace("’", "'").split())
    assert canon(got) == canon(quote)


def test_locate_collapsed_whitespace_and_padding():
    text = "one\n\n  two   three four"
    a, b = locate("  two three  ", text)
    assert text[a:b] == "two   three"
    a, b = locate("one two", text)
    assert text[a:b] == "one\n\n  two"


def test_locate_absent_and_empty():
    assert locate("not in there", TEXT) is None
    assert locate("   ", TEXT) is None


def test_locate_straight_quote_in_text_curly_in_quote():
    text = "He said \"no\" and it's final."
    a, b = locate("said “no” and it’s", text)
    assert text[a:b] == "said \"no\" and it's"


def test_locate_is_linear_enough():
    text = ("a " * 200_000) + "needle here"
    t0 = time.perf_counter()
    assert locate("a a a needle", text) is not None
    assert locate("a a b", text) is None
    assert time.perf_counter() - t0 < 2.0


def test_evidence_spans_and_lint_on_small_corpus():
    texts = {"f.txt": TEXT}
    good = QAItem(
        id="x1", question="How many?", answers=("10", "ten"),
        evidence=("I travelled to Pakistan ten times",), source="f.txt",
        answerable=True, kind="numeric", line=1,
    )
    (src, a, b), = evidence_spans(good, texts)
    assert src == "f.txt" and TEXT[a:b] == "I travelled to Pakistan ten times"
    assert lint([good], texts) == []

    bad_quote = QAItem(id="x2", question="?", answers=("ten",), evidence=("flew to Kabul",),
                       source="f.txt", answerable=True, kind="factoid", line=2)
    bad_source = QAItem(id="x3", question="?", answers=("ten",), evidence=("ten",),
                        source="nope.txt", answerable=True, kind="factoid", line=3)
    no_alias = QAItem(id="x4", question="?", answers=("Karzai",), evidence=("ten times",),
                      source="f.txt", answerable=True, kind="factoid", line=4)
    dup = QAItem(id="x1", question="?", answers=("ten",), evidence=("ten times",),
                 source="f.txt", answerable=True, kind="factoid", line=5)
    partial_token = QAItem(id="x6", question="?", answers=("ten",), evidence=("efforts",),
                           source="f.txt", answerable=True, kind="factoid", line=6)
    unans = QAItem(id="x7", question="?", answers=(), evidence=(), source="",
                   answerable=False, kind="unanswerable", line=7)
    probs = lint([good, bad_quote, bad_source, no_alias, dup, partial_token, unans], texts)
    joined = "\n".join(probs)
    assert "x2 (line 2)" in joined and "not found" in joined
    assert "x3 (line 3)" in joined and "unknown" in joined
    assert "x4 (line 4)" in joined and "no alias" in joined
    assert "x1 (line 5)" in joined and "duplicate" in joined
    assert "x6 (line 6)" in joined
    assert "x7" not in joined
    with pytest.raises(DatasetError):
        evidence_spans(bad_quote, texts)
    assert evidence_spans(unans, texts) == []

    # strict mode: every alias must appear
    half = QAItem(id="x8", question="?", answers=("ten", "Karzai"), evidence=("ten times",),
                  source="f.txt", answerable=True, kind="numeric", line=8)
    assert lint([half], texts) == []
    assert any("Karzai" in p for p in lint([half], texts, strict=True))


# --------------------------------------------------------------------------- the real data set
def test_load_texts_reads_corpus():
    texts = load_texts(CORPUS)
    assert "000_c73e7dc4e8ffbfc0.txt" in texts
    assert len(texts) == 5


def test_real_qa_file_loads_and_lints_clean():
    items = load_qa(QA)
    texts = load_texts(CORPUS)
    assert lint(items, texts, strict=True) == []
    q1 = next(i for i in items if i.id == "q001")
    assert q1.pinned and q1.kind == "numeric" and set(q1.answers) == {"10", "ten", "ten times"}
    for it in items:
        for src, a, b in evidence_spans(it, texts):
            assert 0 <= a < b <= len(texts[src])


def test_real_qa_file_composition():
    items = load_qa(QA)
    if len(items) < 110:
        pytest.skip(f"qa.jsonl still being written ({len(items)} questions)")
    kinds = Counter(i.kind for i in items)
    assert kinds["unanswerable"] >= 18
    assert kinds["paraphrase"] >= 15
    assert kinds["multi-hop"] >= 10
    assert kinds["numeric"] >= 12
    assert kinds["follow-up"] >= 10
    assert all(i.history for i in items if i.kind == "follow-up")
    assert all(len(i.evidence) >= 2 for i in items if i.kind == "multi-hop")
    assert 6 <= sum(i.pinned for i in items) <= 8
    assert {i.source for i in items if i.answerable} == set(load_texts(CORPUS))
    qs = [i for i in items if i.id.startswith("q")]
    assert all(i.id == f"q{n:03d}" for n, i in enumerate(qs, start=1))
    # Time and conflict questions (issue 11): their own series and metric (time_ok).
    ts = [i for i in items if i.id.startswith("t")]
    assert all(i.id == f"t{n:03d}" for n, i in enumerate(ts, start=1))
    assert len(ts) >= 15 and all(i.date or i.conflict for i in ts)
    assert len(qs) + len(ts) == len(items)


def test_date_and_conflict_fields_are_validated(tmp_path):
    base = {"id": "t1", "question": "q?", "answers": ["a"], "evidence": ["a"], "source": "x.txt",
            "answerable": True, "kind": "time"}
    for extra, reason in [({"date": "2025-13-01"}, "ISO date"), ({"date": 2025}, "ISO date"),
                          ({"conflict": ["x.txt"]}, "at least two"),
                          ({"conflict": "x.txt"}, "list of strings")]:
        f = tmp_path / "bad.jsonl"
        f.write_text(json.dumps({**base, **extra}) + "\n", encoding="utf-8")
        with pytest.raises(DatasetError, match=reason):
            load_qa(f)
    f = tmp_path / "good.jsonl"
    f.write_text(json.dumps({**base, "date": "2025-01-14", "conflict": ["a.txt", "b.txt"]}) + "\n",
                 encoding="utf-8")
    item = load_qa(f)[0]
    assert item.date == "2025-01-14" and item.conflict == ("a.txt", "b.txt")


def test_time_ok_needs_the_right_date_and_every_conflicting_source():
    from eval.metrics import time_ok

    class Item:
        date, conflict = "2025-01-14", ()
    right = {"abstained": False, "as_of": None, "citations": [{"date": "2025-01-14"}]}
    assert time_ok(right, Item, True) is True
    assert time_ok({**right, "citations": [{"date": "2011-10-25"}]}, Item, True) is False
    assert time_ok(right, Item, False) is False

    class Conflict:
        date, conflict = None, ("a.txt", "b.txt")
    shown = {"abstained": False, "conflicts": [{"claims": [{"source": "a.txt"}, {"source": "b.txt"}]}]}
    assert time_ok(shown, Conflict, True) is True
    assert time_ok({**shown, "conflicts": []}, Conflict, True) is False

    class Plain:
        date, conflict = None, ()
    assert time_ok(right, Plain, True) is None

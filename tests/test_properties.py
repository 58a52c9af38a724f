"""Property-based tests (hypothesis): arbitrary Unicode into the three places text enters from
outside (a question, a model's reply with citations, a Q&A file). Lone surrogates, control
characters, right-to-left marks, bracket soup and megabyte strings: the only exceptions allowed
are the documented ones (ValueError / DatasetError with a message), and every example finishes
within hypothesis' per-example deadline. Example counts are kept small so the file runs in
well under a minute on a laptop."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from eval.dataset import DatasetError, load_qa
from rag.citations import check, parse_citations, split_sentences
from rag.types import Chunk, Passage

# Every code point, surrogates (category Cs) included: hypothesis leaves them out by default.
ANY_CHAR = st.characters(exclude_categories=())
HOSTILE = st.sampled_from([
    "\ud800", "\udfff", "\udcff", "\x00", "\x07", "\x1b[31m", "\u202e", "\u200f", "\u2066",
    "\ufeff", "\ufffd", "[", "]", "［", "】", "[1]", "[0]", "[99999999999999999999]", "[1-100000]",
    "[passage 2]", "NO_ANSWER", "\n\n", ". ", "U.S.", "שלום", "مرحبا", "😀", "\u0301",
])
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.lists(st.one_of(HOSTILE, st.text(ANY_CHAR, max_size=5)), max_size=60).map("".join),
)
# Megabyte strings: a short random piece repeated, so generation stays cheap.
HUGE = st.builds(lambda piece, n: (piece * (1_000_000 // max(1, len(piece)) + 1))[:n],
                 st.one_of(HOSTILE, st.text(ANY_CHAR, min_size=1, max_size=8)),
                 st.integers(500_000, 1_000_000))

FAST = settings(max_examples=150, deadline=timedelta(seconds=5),
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=12, deadline=timedelta(seconds=30))


def passages() -> list[Passage]:
    texts = ["Hanif Atmar said he travelled to Pakistan ten times to free Mullah Baradar.",
             "The U.S. envoy met Taliban officials in Doha on Tuesday [1].", "مرحبا \u202e 2021"]
    return [Passage(i + 1, Chunk.make("f.txt", "T", 0, t, 0, len(t)), 1.0)
            for i, t in enumerate(texts)]


# --- citation parsing ------------------------------------------------------------------------------

@FAST
@given(TEXT)
@example("[1-100000] [2, 3-9999999] ［1］【2】 [passage 3]. Then [0].")
@example("[" * 5000 + "1" + "]" * 5000)
def test_citation_parsing_never_fails_and_keeps_only_shown_numbers(text):
    shown = {1, 2, 3}
    parsed = parse_citations(text, shown)
    assert all(set(s.citations) <= shown for s in parsed.sentences)
    assert not set(parsed.dropped) & shown
    checked = check(text, passages())
    assert all(set(s.citations) <= shown for s in checked.sentences)
    assert isinstance(checked.text, str)


@SLOW
@given(HUGE)
def test_citation_parsing_of_megabyte_replies_finishes(text):
    check(text, passages())
    split_sentences(text)


# --- the Q&A loader -----------------------------------------------------------------------------

JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                          | st.text(ANY_CHAR, max_size=20),
                          lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(ANY_CHAR, max_size=8), inner, max_size=4),
                          max_leaves=12)
QA_OBJECT = st.fixed_dictionaries(
    {"id": TEXT, "question": TEXT, "answers": st.lists(TEXT, max_size=3),
     "evidence": st.lists(TEXT, max_size=3), "source": TEXT, "answerable": st.booleans(),
     "kind": TEXT},
    optional={"history": st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", ""]), "content": TEXT}),
        max_size=3) | JSON_VALUE, "pinned": JSON_VALUE})
LINE = st.one_of(QA_OBJECT.map(json.dumps), JSON_VALUE.map(json.dumps), TEXT)


@FAST
@given(st.lists(LINE, min_size=1, max_size=5), st.sampled_from(["utf-8", "surrogatepass", "raw"]))
def test_the_qa_loader_loads_or_names_the_line(tmp_path_factory, lines, how):
    path = tmp_path_factory.mktemp("qa") / "qa.jsonl"
    text = "\n".join(lines)
    if how == "utf-8":
        data = text.encode("utf-8", "replace")
    elif how == "surrogatepass":        # surrogates written raw: invalid UTF-8 on disk
        data = text.encode("utf-8", "surrogatepass")
    else:                               # arbitrary bytes
        data = text.encode("utf-16-le", "surrogatepass")
    path.write_bytes(data)
    try:
        items = load_qa(path)
    except DatasetError as e:
        assert str(path) in str(e) and e.reason
        return
    assert items and all(i.question.strip() and i.id.strip() for i in items)


@SLOW
@given(HUGE)
def test_the_qa_loader_handles_a_megabyte_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("qa") / "qa.jsonl"
    path.write_bytes(json.dumps({"id": "x", "question": text, "answers": [], "evidence": [],
                                 "source": "", "answerable": False, "kind": "k"}).encode())
    assume(text.strip())
    (item,) = load_qa(path)
    assert item.question == text


# --- query() ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(corpus_settings):
    return corpus_settings.store


@settings(FAST, max_examples=25, deadline=timedelta(seconds=20))
@given(st.one_of(TEXT, HUGE))
@example("\ud800 Atmar")
@example("[1] [2]] [[ NO_ANSWER")
@example("\u202eHow many times did Hanif Atmar travel to Pakistan?")
def test_query_answers_or_refuses_with_a_message(store, question):
    from rag import query
    try:
        answer = query(question, store=store)
    except ValueError as e:
        assert str(e) and ("question" in str(e))
        return
    d = answer.to_dict()
    json.dumps(d, ensure_ascii=False).encode("utf-8")   # printable, loggable, storable
    assert answer.abstained or answer.citations

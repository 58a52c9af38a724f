"""The LLM answerer against an OpenAI-compatible server on 127.0.0.1 (tests/fake_openai.py),
through the real `openai` client: citations, abstention, retries, fallback, cut streams."""
from __future__ import annotations

import re

import pytest

from fake_openai import FakeOpenAI, Reply
from rag.answer import run
from rag.answer_llm import LLMAnswerer
from rag.llm_client import LLMClient
from rag.prompt import SentinelGate
from rag.registry import ANSWERERS, Parts, make_answerer
from rag.settings import Settings, default_corpus
from rag.types import Answer, Chunk, Passage

ANCHORS = ["says he travelled to Pakistan 10 times",           # [1] Atmar's trips
           "He was arrested by Pakistan’s intelligence service",   # [2] Baradar held 2010-2018
           "his country will not recognise the Taliban"]          # [3] Spain


def _passages() -> list[Passage]:
    path = next(default_corpus().glob("000_*.txt"))
    text = path.read_text(encoding="utf-8")
    out = []
    for n, anchor in enumerate(ANCHORS, 1):
        i = text.index(anchor)
        start, end = text.rfind("\n", 0, i) + 1, text.index("\n", i)
        out.append(Passage(n, Chunk.make(path.name, text.split("\n", 1)[0], 0, text[start:end],
                                         start, end), 1.0 / n))
    return out


PASSAGES = _passages()
GOOD = ("Atmar travelled to Pakistan 10 times to secure the release of Baradar [1]. "
        "Baradar was arrested by Pakistan's intelligence service in 2010 and held until 2018 [2].")


@pytest.fixture
def server():
    with FakeOpenAI(models=["tiny", "other"], api_key="sk-test") as srv:
        yield srv


def _settings(server, **kw) -> Settings:
    base = dict(openai_base_url=server.base_url, openai_api_key="sk-test", llm_model="tiny",
                llm_timeout=2.0, llm_retries=2)
    return Settings.from_env(env={}, corpus=default_corpus(), **{**base, **kw})


@pytest.fixture
def fallback(embedder, fresh_settings):
    return ANSWERERS["extractive"](fresh_settings, Parts(embedder=embedder))


def _answerer(settings, fallback) -> LLMAnswerer:
    return LLMAnswerer(settings, fallback, LLMClient(settings))


def _consume(answerer, question="How often did Atmar travel to Pakistan?", **kw):
    items = list(answerer.stream(question, PASSAGES, **kw))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    return "".join(items[:-1]), items[-1]


def test_good_citations_stream_and_verify(server, fallback):
    server.enqueue(Reply(GOOD))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert streamed == GOOD                         # every delta reached the caller
    assert ans.answerer == "llm:tiny" and not ans.abstained and not ans.interrupted
    assert [(s.citations, s.supported) for s in ans.sentences] == [((1,), True), ((2,), True)]
    assert [p.n for p in ans.citations] == [1, 2]
    assert ans.notices == ()


def test_prompt_numbers_passages_with_title_and_source(server, fallback):
    server.enqueue(Reply(GOOD))
    _consume(_answerer(_settings(server), fallback), rewritten="How often did Hanif Atmar travel?")
    system, user = server.chat_requests[-1]["messages"]
    assert "NO_ANSWER" in system["content"] and "[" in system["content"]
    for p in PASSAGES:
        assert f'<passage n="{p.n}" title="{p.chunk.title}" source="{p.chunk.source}">\n' \
            in user["content"]
    assert "Question: How often did Hanif Atmar travel?" in user["content"]   # the rewritten one
    assert server.chat_requests[-1]["stream"] is True


def test_out_of_range_citations_are_dropped_and_reported(server, fallback):
    server.enqueue(Reply("Atmar travelled to Pakistan 10 times [1][7]. He went there [0]."))
    _, ans = _consume(_answerer(_settings(server), fallback))
    assert [s.citations for s in ans.sentences] == [(1,), ()]
    assert "[7]" not in ans.text and "[0]" not in ans.text
    assert any("[7], [0]" in n for n in ans.notices)


def test_no_citations_means_unsupported(server, fallback):
    server.enqueue(Reply("Atmar travelled to Pakistan 10 times. Baradar was freed in 2018."))
    _, ans = _consume(_answerer(_settings(server), fallback))
    assert ans.sentences and not any(s.supported for s in ans.sentences)
    assert any("2 of 2" in n for n in ans.notices)


def test_claim_not_supported_by_its_cited_passage(server, fallback):
    server.enqueue(Reply("Baradar became head of the political office in Moscow [2]. "
                         "Spain will not recognise the Taliban [3]."))
    _, ans = _consume(_answerer(_settings(server), fallback))
    assert [s.supported for s in ans.sentences] == [False, True]


@pytest.mark.parametrize("reply", ["NO_ANSWER\nThe passages do not say when he was born.",
                                   "**NO_ANSWER**\n\nThe passages do not say when he was born.",
                                   "NO_ANSWER: The passages do not say when he was born."])
def test_abstention_is_a_structured_signal(server, fallback, reply):
    server.enqueue(Reply(reply, chunk_chars=3))
    streamed, ans = _consume(_answerer(_settings(server), fallback), "When was Atmar born?")
    assert ans.abstained and ans.sentences == ()
    assert streamed == ans.text == "The passages do not say when he was born."


def test_bare_abstention_gets_words(server, fallback):
    server.enqueue(Reply("NO_ANSWER"))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert ans.abstained and streamed == ans.text == "The indexed articles do not say."


def test_sentinel_gate_passes_ordinary_text_through():
    gate = SentinelGate()
    assert gate.feed("No") == "" and gate.feed(", he") == "No, he" and gate.feed(" did") == " did"
    assert not gate.abstained


def test_slow_reply_past_timeout_is_retried(server, fallback):
    server.enqueue(Reply(delay=1.5), Reply(GOOD))
    _, ans = _consume(_answerer(_settings(server, llm_timeout=0.5), fallback))
    assert ans.answerer == "llm:tiny" and ans.sentences[0].supported
    assert len(server.chat_requests) == 2


def test_timeouts_every_time_fall_back_to_extractive(server, fallback):
    server.always(Reply(delay=1.5))
    _, ans = _consume(_answerer(_settings(server, llm_timeout=0.3, llm_retries=1), fallback))
    assert ans.answerer == "extractive"
    assert "timed out" in ans.notices[0] and "2 attempts" in ans.notices[0]


def test_429_then_success(server, fallback):
    server.enqueue(Reply(status=429), Reply(status=429), Reply(GOOD))
    _, ans = _consume(_answerer(_settings(server), fallback))
    assert ans.answerer == "llm:tiny" and len(server.chat_requests) == 3


def test_500_always_falls_back_with_a_notice(server, fallback):
    server.always(Reply(status=500))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert len(server.chat_requests) == 3           # 1 + llm_retries, then no more
    assert ans.answerer == "extractive" and streamed == ans.text
    assert ans.notices[0].startswith("the LLM server failed: HTTP 500 from the server")


@pytest.mark.parametrize("clean", [False, True])
def test_stream_cut_keeps_what_arrived(server, fallback, clean):
    server.enqueue(Reply(GOOD, cut_after=12, clean_cut=clean))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert streamed == GOOD[:48]                    # 12 chunks of 4 characters
    assert ans.interrupted and ans.answerer == "llm:tiny"
    assert ans.text == streamed and any("cut off" in n for n in ans.notices)
    assert len(server.chat_requests) == 1           # text was shown: no retry


def test_wrong_key_is_reported_once_with_the_fix(server, fallback):
    answerer = _answerer(_settings(server, openai_api_key="sk-wrong"), fallback)
    _, first = _consume(answerer)
    assert first.answerer == "extractive"
    assert first.notices[0].startswith(f"OPENAI_API_KEY was rejected by {server.base_url} (HTTP 401")
    assert server.hits == 1                          # a 401 is not retried
    _, second = _consume(answerer)
    assert "OPENAI_API_KEY" not in second.notices[0] and "earlier" in second.notices[0]
    assert server.hits == 1                          # nor tried again later


def test_unknown_model_lists_the_served_ones(server, fallback):
    _, ans = _consume(_answerer(_settings(server, llm_model="llama9"), fallback))
    assert ans.notices[0].startswith(f"model 'llama9' not found on {server.base_url}: set "
                                     f"RAG_LLM_MODEL (or --model) to one of: other, tiny")


def test_unreachable_server(fallback):
    with FakeOpenAI() as srv:
        url = srv.base_url                           # a port that is free once it stops
    settings = Settings.from_env(env={}, openai_base_url=url, llm_model="x", llm_retries=1)
    _, ans = _consume(_answerer(settings, fallback))
    assert ans.notices[0].startswith(f"could not reach the LLM server at {url}")


def test_model_is_found_when_the_server_serves_one(fallback):
    with FakeOpenAI(models=["only-one"], api_key=None) as srv:
        srv.enqueue(Reply(GOOD))
        settings = Settings.from_env(env={}, openai_base_url=srv.base_url)
        _, ans = _consume(_answerer(settings, fallback))
    assert ans.answerer == "llm:only-one" and not ans.notices


def test_passages_fit_the_context_window_best_first(server, fallback):
    answerer = _answerer(_settings(server), fallback)
    answerer.context_window = 900
    messages, shown, notices = answerer.prompt("q?", PASSAGES * 4)
    assert 0 < len(shown) < 12 and shown[0] is PASSAGES[0]
    assert notices and "context window" in notices[0]


def test_footnote_markers_in_articles_are_not_shown_as_citations(server, fallback):
    c = Chunk.make("a.txt", "T", 0, "Referring to Muslims only.[1] It called for action.", 0, 40)
    messages, _, _ = _answerer(_settings(server), fallback).prompt("q?", [Passage(1, c, 1.0)])
    assert "only.(note 1) It" in messages[1]["content"]


def test_registry_names_and_run(server, embedder):
    with pytest.raises(ValueError, match="valid: extractive, llm"):
        make_answerer("gpt", _settings(server), Parts(embedder=embedder))
    client = LLMClient(_settings(server))
    llm = make_answerer("llm", _settings(server), Parts(embedder=embedder, llm=client))
    assert llm.client is client           # the engine's one client, shared with the condenser
    server.enqueue(Reply(GOOD))
    assert run(llm, "q?", PASSAGES).answerer == "llm:tiny"


def test_openai_embedder_against_the_fake_server(server):
    from rag.embed import OpenAIEmbedder
    emb = OpenAIEmbedder(_settings(server, openai_embed_model="embed-model"))
    v = emb.embed(["Baradar was released", "Baradar was released in 2018", "Spain"])
    assert v.shape == (3, 64)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert not re.search("float", str(server.requests[-1].get("encoding_format", "base64")))


def test_think_block_and_sentinel_after_it(server, fallback):
    server.enqueue(Reply("<think>The passages say nothing of it.</think>\nNO_ANSWER\nNot said."))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert ans.abstained and streamed == ans.text == "Not said."
    server.enqueue(Reply("<think>\nfind it\n</think>\n\n" + GOOD))
    streamed, ans = _consume(_answerer(_settings(server), fallback))
    assert streamed == GOOD and ans.sentences[0].supported


def test_a_passage_too_big_for_the_window_is_cut_not_dropped(server, fallback):
    answerer = _answerer(_settings(server), fallback)
    answerer.context_window = 1400
    big = Chunk.make("big.txt", "Big", 0, "Kabul news item. " * 2000, 0, 34000)
    messages, shown, notices = answerer.prompt("q?", [Passage(1, big, 1.0)])
    assert [p.n for p in shown] == [1] and not notices
    assert 300 < len(messages[1]["content"]) < 8000 and messages[1]["content"].count("…") == 1

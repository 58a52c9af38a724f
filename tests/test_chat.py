"""Conversations: follow-up rewriting (deterministic and by the LLM), Chat history and its token
bound, and the terminal chat loop."""
from __future__ import annotations

import pytest

from fake_openai import FakeOpenAI, Reply
from rag.chat import Chat, repl
from rag.condense import carry_entities, condense, format_history, names, needs_context
from rag.llm_client import LLMClient
from rag.settings import Settings
from rag.types import Answer

ATMAR = [{"role": "user", "content": "How many times did Hanif Atmar travel to Pakistan to free Baradar?"},
         {"role": "assistant", "content": "Atmar travelled to Pakistan 10 times to secure the "
                                          "release of Mullah Abdul Ghani Baradar."}]


# ---- deterministic rewriting ----------------------------------------------------------------

@pytest.mark.parametrize("question, expected", [
    ("Why did he go there?", "Why did Hanif Atmar go to Pakistan?"),
    ("What did his ministry say?", "What did Hanif Atmar's ministry say?"),
    ("And in 2019?", "And in 2019? (times Hanif Atmar travel Pakistan free Baradar)"),
    ("When was Baradar released?", "When was Baradar released?"),          # names its subject
    ("Who founded the Haqqani network?", "Who founded the Haqqani network?"),
])
def test_offline_rewrite_carries_entities(question, expected):
    assert condense(question, ATMAR) == expected


def test_offline_rewrite_uses_the_rewritten_form_of_earlier_follow_ups():
    history = [{"role": "user", "content": "Who is Mullah Abdul Ghani Baradar?"},
               {"role": "assistant", "content": "He is a founder of the Taliban."},
               {"role": "user", "content": "When was he released?",
                "rewritten": "When was Mullah Abdul Ghani Baradar released?"},
               {"role": "assistant", "content": "In 2018."}]
    assert condense("Who arrested him?", history) == "Who arrested Baradar?"


def test_pronoun_falls_back_to_the_answers_entity():
    history = [{"role": "user", "content": "who was freed in 2018?"},
               {"role": "assistant", "content": "Mullah Baradar was freed in 2018."}]
    assert carry_entities("where did he go?", history) == "where did Baradar go?"


def test_names_and_needs_context():
    assert names("The U.S. Treasury listed Khalil-ur-Rahman Haqqani, close to al-Qaeda.") == [
        "U.S. Treasury", "Khalil-ur-Rahman Haqqani", "al-Qaeda"]
    assert needs_context("When was he released?") and needs_context("And in 2019?")
    assert not needs_context("When was Baradar released?")


def test_no_history_no_rewrite():
    assert condense("  When was he released? ", []) == "When was he released?"


# ---- rewriting with the LLM -----------------------------------------------------------------

@pytest.fixture
def server():
    with FakeOpenAI(models=["tiny"], api_key="sk-test") as srv:
        yield srv


def _llm_settings(server, **kw) -> Settings:
    return Settings.from_env(env={}, openai_base_url=server.base_url, openai_api_key="sk-test",
                             llm_model="tiny", **kw)


def test_llm_rewrite(server):
    server.enqueue(Reply("Standalone question: \"Why did Hanif Atmar travel to Pakistan?\"\n"))
    client = LLMClient(_llm_settings(server))
    assert condense("Why did he go there?", ATMAR, llm=client) == \
        "Why did Hanif Atmar travel to Pakistan?"
    prompt = server.chat_requests[-1]["messages"][0]["content"]
    assert "User: How many times did Hanif Atmar travel" in prompt
    assert "Last question: Why did he go there?" in prompt


def test_llm_rewrite_falls_back_to_the_deterministic_one(server):
    server.always(Reply(status=500))
    client = LLMClient(_llm_settings(server, llm_retries=0))
    assert condense("Why did he go there?", ATMAR, llm=client) == "Why did Hanif Atmar go to Pakistan?"


def test_history_in_the_prompt_is_bounded_by_tokens():
    history = []
    for i in range(200):
        history += [{"role": "user", "content": f"Question number {i} about Kabul?"},
                    {"role": "assistant", "content": "A long answer. " * 200}]
    text = format_history(history, budget=400)
    assert "Question number 199" in text and "Question number 0 " not in text
    assert len(text) < 400 * 6


# ---- Chat -----------------------------------------------------------------------------------

class EchoEngine:
    """The Engine's stream seam, answering "about <question>"; records the history it got."""
    answerer = type("A", (), {"name": "echo"})()

    def __init__(self):
        self.histories: list[list[dict]] = []

    def stream(self, question, *, k=None, history=None):
        self.histories.append(list(history or []))
        rewritten = condense(question, history or [])
        yield "about "
        yield Answer(question=question, text=f"about {rewritten} [1]", abstained=False,
                     rewritten=rewritten if rewritten != question else None, answerer="echo")


def test_chat_keeps_history_and_resets():
    eng = EchoEngine()
    chat = Chat(eng)
    chat.ask("How many times did Hanif Atmar travel to Pakistan?")
    ans = chat.ask("Why did he go?")
    assert ans.rewritten == "Why did Hanif Atmar go?"
    assert eng.histories[1][0]["content"] == "How many times did Hanif Atmar travel to Pakistan?"
    assert chat.history[-1] == {"role": "assistant", "content": "about Why did Hanif Atmar go?"}
    assert chat.history[-2]["rewritten"] == "Why did Hanif Atmar go?"
    chat.reset()
    assert chat.history == [] and chat.last is None


def test_chat_history_is_bounded_and_old_turns_summarised():
    chat = Chat(EchoEngine(), max_history_tokens=120)
    chat.ask("What did Hanif Atmar say about Baradar?")
    for i in range(8):
        chat.ask(f"What happened in Kabul in week {i}?")
    long_question = "What did they say " + "and then what " * 300 + "?"
    ans = chat.ask(long_question)
    assert ans.question == long_question.strip()            # the current question is whole
    assert chat.history[0]["role"] == "system" and "Hanif Atmar" in chat.history[0]["content"]
    assert sum(t["role"] != "system" for t in chat.history) >= 2


# ---- against the real engine ----------------------------------------------------------------

def test_chat_offline_with_the_real_engine(engine):
    chat = Chat(engine)
    first = chat.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert first.answerer == "extractive" and not first.abstained
    follow = chat.ask("Why did he go there?")
    assert follow.rewritten == "Why did Hanif Atmar go to Pakistan?"


def test_chat_with_the_llm_rewrites_and_survives_a_cut_stream(server, corpus_settings, embedder):
    from rag.engine import Engine
    eng = Engine(corpus_settings.with_(answerer="llm", openai_base_url=server.base_url,
                                      openai_api_key="sk-test", llm_model="tiny"), embedder=embedder)
    chat = Chat(eng)
    server.enqueue(Reply("Atmar travelled to Pakistan 10 times [1].", cut_after=3))
    first = chat.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    assert first.interrupted and first.text == "Atmar travel"
    server.enqueue(Reply("When was Mullah Abdul Ghani Baradar released?"),     # the rewrite
                   Reply("NO_ANSWER\nThe passages do not say."))
    second = chat.ask("When was he released?")
    assert second.rewritten == "When was Mullah Abdul Ghani Baradar released?"
    assert "Question: When was Mullah Abdul Ghani Baradar released?" in \
        server.chat_requests[-1]["messages"][1]["content"]
    assert second.abstained and second.answerer == "llm:tiny"


def test_repl(engine):
    lines = iter(["How many times did Hanif Atmar travel to Pakistan to free Baradar?",
                  "Why did he go there?", "/sources", "", "x" * 5000, "/what", "/reset",
                  "/sources", "/quit"])
    out: list[str] = []
    code = repl(engine, None, input=lambda prompt: next(lines),
                print=lambda *a, end="\n", flush=False: out.append(" ".join(map(str, a)) + end))
    text = "".join(out)
    assert code == 0
    assert text.startswith("Answering with extractive.")
    assert "(searched for: Why did Hanif Atmar go to Pakistan?)" in text
    assert "Passages shown to the answerer:" in text
    assert "error: the question is 5,000 characters long" in text
    assert "(conversation forgotten)" in text and "(no answer yet)" in text

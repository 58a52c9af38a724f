"""Conversations: `Chat` keeps the history for an Engine, and `repl` is the terminal chat.

Follow-ups are rewritten into standalone questions by the engine (rag/condense.py) from the
history passed in; the rewritten question comes back in `Answer.rewritten`. The history is
bounded by tokens: the oldest exchanges are dropped, leaving one line that names what they were
about, so a pronoun can still find its subject. The current question is never cut.
"""
from __future__ import annotations

from typing import Callable, Iterator

from . import tokens
from .citations import CITE_RE
from .text import names
from .types import Answer
from .when import When

HISTORY_TOKENS = 1500
HELP = "Type a question. /sources shows the passages behind the last answer, /reset forgets " \
       "the conversation, /quit leaves."


class Chat:
    """`when` (rag/when.py): the date range, file and as-of date every turn is asked with."""

    def __init__(self, engine, *, k: int | None = None, max_history_tokens: int = HISTORY_TOKENS,
                 when: When | None = None):
        self.engine, self.k, self.max_history_tokens = engine, k, max_history_tokens
        self.when = when or When()
        self.history: list[dict] = []
        self.last: Answer | None = None

    def stream(self, text: str) -> Iterator[str | Answer]:
        """Text as it arrives, then the Answer; the exchange joins the history at the end."""
        question = text.strip()
        for item in self.engine.stream(question, k=self.k, history=list(self.history),
                                       **self.when.kwargs()):
            if isinstance(item, Answer):
                self._remember(question, item)
            yield item

    def ask(self, text: str) -> Answer:
        final = None
        for item in self.stream(text):
            final = item
        if not isinstance(final, Answer):
            raise RuntimeError("the engine's stream ended without an Answer")
        return final

    def reset(self) -> None:
        self.history.clear()
        self.last = None

    def _remember(self, question: str, answer: Answer) -> None:
        self.last = answer
        said = answer.text if answer.abstained else CITE_RE.sub("", answer.text)
        self.history += [{"role": "user", "content": question,
                          "rewritten": answer.rewritten or question},
                         {"role": "assistant", "content": " ".join(said.split())}]
        self._bound()

    def _bound(self) -> None:
        """Drop the oldest exchanges until the history fits; their names survive in one
        summary line at the top."""
        while self._tokens() > self.max_history_tokens and len(self._turns()) > 2:
            summary = self.history.pop(0) if self.history[0]["role"] == "system" else None
            dropped = [self.history.pop(0), self.history.pop(0)]
            before = names(summary["content"]) if summary else []
            seen = list(dict.fromkeys(before + [n for t in dropped for n in names(
                t.get("rewritten") or t["content"])]))[-12:]
            if seen:
                self.history.insert(0, {"role": "system",
                                        "content": "Earlier turns were about: " + ", ".join(seen)})

    def _turns(self) -> list[dict]:
        return [t for t in self.history if t["role"] != "system"]

    def _tokens(self) -> int:
        return sum(tokens.count(t["content"]) + 4 for t in self.history)


def repl(engine, settings=None, input: Callable[[str], str] = input,
         print: Callable[..., None] = print, when: When | None = None) -> int:
    """The terminal chat behind `rag chat`. Returns the exit code."""
    from .news import filters
    from .render import format_sources, print_answer
    chat = Chat(engine, when=when)
    if chat.when.source:    # an unknown file ends the chat before it starts, not every turn
        filters(source=chat.when.source, known=engine.store.sources)
    limits = f" {chat.when.notice()}" if chat.when.filtering else ""
    print(f"Answering with {engine.answerer.name}.{limits} {HELP}")
    out = _PrintWriter(print)
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            print("")
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            return 0
        if line == "/reset":
            chat.reset()
            print("(conversation forgotten)")
        elif line == "/sources":
            print(format_sources(chat.last, all_passages=True).rstrip() if chat.last
                  else "(no answer yet)")
        elif line.startswith("/"):
            print(HELP)
        else:
            _answer(chat, line, out, print, print_answer)


def _answer(chat: Chat, line: str, out, print, print_answer) -> None:
    """One turn; an error or Ctrl-C ends the turn, never the session."""
    try:
        print_answer(chat.stream(line), out=out, sources=False)
    except KeyboardInterrupt:
        print("\n(stopped)")
    except ValueError as e:                   # the engine's clear messages: empty, too long...
        print(f"error: {e}")
    except Exception as e:                    # noqa: BLE001 - a session outlives a failed turn
        print(f"error: {type(e).__name__}: {e}")


class _PrintWriter:
    """Lets rag.render (which writes to a stream) print through the injected `print`."""

    def __init__(self, print_: Callable[..., None]):
        self._print = print_

    def write(self, s: str) -> None:
        self._print(s, end="", flush=True)

    def flush(self) -> None:
        pass

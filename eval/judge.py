"""Optional LLM-judge tier: correctness and faithfulness, cached on disk, reported apart.

A judge model's verdicts change with the model and the prompt, so they never replace the
deterministic metrics; they sit beside them in their own section. Every verdict is cached under
a hash of (model, prompt version, prompt), so re-running a report costs nothing and gives the
same numbers. A reply that is neither yes nor no is counted as unparsed, never as a "no".
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable, Sequence

PROMPT_VERSION = "1"
CORRECTNESS = """You are grading a question-answering system.
Question: {question}
Reference answers (any one is enough): {answers}
System answer: {answer}
Does the system answer give the same answer as a reference answer? Reply with one word: yes or no."""
FAITHFULNESS = """You are checking an answer against its sources.
Sources:
{passages}
Answer: {answer}
Is everything the answer states supported by the sources? Reply with one word: yes or no."""


class JudgeError(RuntimeError):
    """The judge model could not be reached or refused; the verdict is missing, not "no"."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rag-news" / "judge"


def parse_verdict(reply: str) -> bool | None:
    words = re.findall(r"[a-z]+", reply.lower())
    if words and words[0] in ("yes", "no"):
        return words[0] == "yes"
    return None


def openai_complete(settings, model: str | None = None) -> Callable[[str], str]:
    """A prompt -> reply function over the configured OpenAI-compatible server."""
    model = model or settings.llm_model
    if not settings.llm_configured or not model:
        raise ValueError("the judge needs an LLM: set OPENAI_BASE_URL or OPENAI_API_KEY and "
                         "RAG_LLM_MODEL (or --judge-model)")
    import openai

    from rag.llm_client import openai_client
    client = openai_client(settings)      # the project's one retry policy and timeout

    def complete(prompt: str) -> str:
        try:
            r = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}],
                temperature=0, max_tokens=5)
        except openai.OpenAIError as e:
            raise JudgeError(str(e)) from e
        return r.choices[0].message.content or ""
    complete.model = model          # part of the cache key
    return complete


class Judge:
    def __init__(self, complete: Callable[[str], str], model: str, cache_dir: Path):
        self.complete, self.model, self.cache_dir = complete, model, Path(cache_dir)
        self.calls = self.errors = self.unparsed = 0

    def _key(self, prompt: str) -> str:
        return hashlib.sha256(json.dumps([self.model, PROMPT_VERSION, prompt]).encode()).hexdigest()

    def ask(self, prompt: str) -> bool | None:
        path = self.cache_dir / f"{self._key(prompt)}.json"
        if path.is_file():
            return self._parse(json.loads(path.read_text(encoding="utf-8"))["reply"])
        try:
            self.calls += 1
            reply = self.complete(prompt)
        except JudgeError:
            self.errors += 1         # not cached: the next run tries again
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"model": self.model, "prompt": prompt, "reply": reply}),
                        encoding="utf-8")
        return self._parse(reply)

    def _parse(self, reply: str) -> bool | None:
        verdict = parse_verdict(reply)
        self.unparsed += verdict is None
        return verdict

    def judge(self, record: dict) -> dict:
        """{"correctness", "faithfulness"}: None where it does not apply or could not be had.
        Abstentions are left to the deterministic metrics."""
        a = record["answer"]
        if a["abstained"]:
            return {"correctness": None, "faithfulness": None}
        passages = "\n".join(f"[{p['n']}] {p['text']}" for p in a["passages"])
        correct = (self.ask(CORRECTNESS.format(question=record["question"], answer=a["answer"],
                                               answers="; ".join(record["answers"])))
                   if record["answerable"] else None)
        faithful = self.ask(FAITHFULNESS.format(passages=passages, answer=a["answer"]))
        return {"correctness": correct, "faithfulness": faithful}


def judge_run(records: Sequence[dict], judge: Judge, progress: bool = True) -> dict:
    """Adds record["judge"] to every record; returns the judge section of the summary."""
    from tqdm import tqdm
    for r in tqdm(records, desc="judge", unit="q", disable=not progress):
        r["judge"] = judge.judge(r)
    out: dict = {"model": judge.model, "prompt_version": PROMPT_VERSION,
                 "model_calls": judge.calls, "errors": judge.errors,
                 "unparsed": judge.unparsed}
    for name in ("correctness", "faithfulness"):
        vals = [r["judge"][name] for r in records if r["judge"][name] is not None]
        out[name] = sum(vals) / len(vals) if vals else None
        out[f"n_{name}"] = len(vals)
    return out

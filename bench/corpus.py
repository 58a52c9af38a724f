"""A deterministic, seeded generator of news-like distractor articles.

Distractors are built from the bundled corpus itself, so they are hard: same topics, same names,
same vocabulary. Each article is a title and paragraphs of sentences drawn from the corpus, with
names swapped for other names from the corpus and numbers changed, so the index fills with
near-duplicates of the real stories that say different things.

Evidence is never copied: a sentence that shares any run of EVIDENCE_NGRAM words with a Q&A
evidence quote (or holds a whole short quote) is excluded from the pool, and every generated
article is checked to contain no quote (whitespace- and quote-style-insensitive) before it is
written. So hit@k among distractors still measures finding the real evidence.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

EVIDENCE_NGRAM = 5
_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+[\"”’']?|$)")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*\b")
_NUM = re.compile(r"\d+")
_WORD = re.compile(r"\w+")
TOKENS_PER_WORD = 1.3            # tiktoken cl100k on this corpus, close enough for sizing


def _canon(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.lower().split())


def _words(text: str) -> list[str]:
    return _WORD.findall(_canon(text))


@dataclass(frozen=True)
class Pool:
    sentences: tuple[str, ...]
    titles: tuple[str, ...]
    names: tuple[str, ...]
    quotes: tuple[str, ...]     # canonical evidence quotes, for the final check


def load_quotes(qa_path: Path) -> list[str]:
    quotes = []
    for line in Path(qa_path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            quotes += json.loads(line).get("evidence", [])
    return quotes


def build_pool(corpus: Path, qa_path: Path) -> Pool:
    quotes = load_quotes(qa_path)
    grams: set[tuple[str, ...]] = set()
    short: list[str] = []
    for q in quotes:
        w = _words(q)
        if len(w) < EVIDENCE_NGRAM:
            short.append(" ".join(w))
        grams.update(tuple(w[i:i + EVIDENCE_NGRAM]) for i in range(len(w) - EVIDENCE_NGRAM + 1))

    def holds_evidence(sentence: str) -> bool:
        w = _words(sentence)
        if any(tuple(w[i:i + EVIDENCE_NGRAM]) in grams for i in range(len(w) - EVIDENCE_NGRAM + 1)):
            return True
        padded = f" {' '.join(w)} "
        return any(f" {s} " in padded for s in short if s)

    sentences, titles, names = [], [], set()
    lower: set[str] = set()     # words the corpus also writes in lower case are not names
    for path in sorted(Path(corpus).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        for ln in lines:
            if len(ln.split()) < 25 and not ln.endswith("."):
                if 4 <= len(ln.split()) <= 20 and not holds_evidence(ln):
                    titles.append(ln)
                continue
            for s in (m.group().strip() for m in _SENT.finditer(ln)):
                if len(s.split()) >= 6 and not holds_evidence(s):
                    sentences.append(s)
            names.update(m.group() for m in _NAME.finditer(ln) if len(m.group()) > 3)
            lower.update(w for w in re.findall(r"\b[a-z]+\b", ln))
    names = {n for n in names if " " in n or "-" in n or n.lower() not in lower}
    return Pool(tuple(sentences), tuple(titles), tuple(sorted(names)),
                tuple(_canon(q) for q in quotes))


class Generator:
    def __init__(self, pool: Pool, seed: int = 0, swap: float = 0.5):
        self.pool, self.seed, self.swap = pool, seed, swap
        self._known = frozenset(pool.names)

    def _mutate(self, rng: random.Random, s: str) -> str:
        names = self.pool.names
        known = self._known
        s = _NAME.sub(lambda m: rng.choice(names) if m.group() in known and rng.random() < self.swap
                      else m.group(), s)
        return _NUM.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1) if len(m.group()) > 1
                                                    else 1, 10 ** len(m.group()))), s)

    def article(self, i: int) -> str:
        """Article number `i`: the same text for the same seed, on any machine."""
        rng = random.Random(f"{self.seed}:{i}")
        for attempt in range(20):
            title = self._mutate(rng, rng.choice(self.pool.titles))
            paragraphs = []
            for _ in range(rng.randint(5, 16)):
                paragraphs.append(" ".join(self._mutate(rng, rng.choice(self.pool.sentences))
                                           for _ in range(rng.randint(1, 4))))
            text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
            canon = _canon(text)
            if not any(q in canon for q in self.pool.quotes):
                return text
        raise RuntimeError(f"article {i}: could not avoid the evidence quotes")   # never seen


def estimate_chunks(text: str, chunk_tokens: int = 200, overlap: int = 40) -> float:
    tokens = len(text.split()) * TOKENS_PER_WORD
    return max(1.0, (tokens - overlap) / (chunk_tokens - overlap))


def write_corpus(out: Path, corpus: Path, qa_path: Path, target_chunks: int, *, seed: int = 0,
                 chunk_tokens: int = 200, chunk_overlap: int = 40) -> dict:
    """The bundled files plus distractors until the estimated chunk count reaches
    `target_chunks`. Reuses `out` when it already holds this exact corpus (same seed, size and
    generator source), since building 1000x takes a while."""
    out = Path(out)
    key = hashlib.sha256(f"{seed}:{target_chunks}:{chunk_tokens}:{chunk_overlap}".encode()
                         + Path(__file__).read_bytes()).hexdigest()[:16]
    manifest = out.parent / f"{out.name}.manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m.get("key") == key:
            return m
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()
    total, nbytes, originals = 0.0, 0, []
    for path in sorted(Path(corpus).iterdir()):
        if path.is_file() and not path.name.startswith("."):
            data = path.read_bytes()
            (out / path.name).write_bytes(data)
            total += estimate_chunks(data.decode("utf-8"), chunk_tokens, chunk_overlap) * 1.0
            nbytes += len(data)
            originals.append(path.name)
    gen = Generator(build_pool(corpus, qa_path), seed)
    i = 0
    while total < target_chunks:
        text = gen.article(i)
        name = f"d{i:06d}_{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        total += estimate_chunks(text, chunk_tokens, chunk_overlap)
        nbytes += len(data)
        i += 1
    m = {"key": key, "seed": seed, "target_chunks": target_chunks, "files": i + len(originals),
         "distractors": i, "originals": originals, "bytes": nbytes, "estimated_chunks": int(total)}
    manifest.write_text(json.dumps(m))
    return m


def distractor_names(folder: Path) -> Iterable[str]:
    return (p.name for p in Path(folder).iterdir() if p.name.startswith("d"))

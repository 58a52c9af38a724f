"""An open engine stays correct while another process or thread changes the store: every
answer comes from one published generation (old or new), never a mix, never an error."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

from ingest.pipeline import ingest_paths, remove_sources
from rag.engine import Engine
from rag.store import Store
from tests.conftest import CORPUS, PROJECT

HAQQANI = "Will the Haqqanis take part in peace talks with the United States alone?"
QUESTIONS = [HAQQANI, "What did Hanif Atmar say about Pakistan?",
             "Who heads the UNDP office in Afghanistan?", "Who signed the Mir Ali agreement?",
             "How many Afghan migrants drowned near Rhodes?"]


def _env(store):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(store)
    return env


def test_an_open_engine_survives_a_remove_by_another_process(fresh_settings, embedder, tmp_path):
    """The issue's reproduction: ask, `rag remove` in another process, ask again."""
    corpus = tmp_path / "articles"
    shutil.copytree(CORPUS, corpus)
    ingest_paths([corpus], fresh_settings, progress=False, embedder=embedder)
    eng = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder)
    before = eng.ask(HAQQANI)
    assert any(p.chunk.source == "002_5edc88af400f5deb.txt" for p in before.passages)
    subprocess.run([sys.executable, "-m", "rag.cli", "remove", "002_5edc88af400f5deb.txt"],
                   cwd=PROJECT, env=_env(fresh_settings.store), check=True,
                   stdout=subprocess.DEVNULL)
    for q in QUESTIONS:
        a = eng.ask(q)
        assert all(p.chunk.source != "002_5edc88af400f5deb.txt" for p in a.passages)
    # and the same file re-ingested from yet another process comes back
    subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--quiet"],
                   cwd=PROJECT, env=_env(fresh_settings.store), check=True,
                   stdout=subprocess.DEVNULL)
    assert any(p.chunk.source == "002_5edc88af400f5deb.txt" for p in eng.ask(HAQQANI).passages)


_WRITER = r'''
import json, shutil, sys
from pathlib import Path
from ingest.pipeline import ingest_paths, remove_sources
from rag.settings import Settings
from rag.store import Store
from rag.embed import WordLlamaEmbedder
store, corpus, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
settings, emb = Settings.from_env(env={}, store=store, corpus=corpus), WordLlamaEmbedder()

def record(op):
    s = Store(store, emb.name)
    with open(log, "a") as f:
        f.write(json.dumps({"op": op, "gen": s.data.name, "ids": s.all_ids()}) + "\n")

edited = corpus / "004_e30819fc19684813.txt"
original = edited.read_text(encoding="utf-8")
for round in range(2):
    remove_sources(["002_5edc88af400f5deb.txt"], settings, embedder=emb); record("remove")
    edited.write_text(original.replace("Mir Ali", f"Zebra{round}"), encoding="utf-8")
    ingest_paths([corpus], settings, progress=False, embedder=emb); record("ingest-edit")
    (corpus / "001_e6efb181a4683f8c.txt").rename(corpus.parent / "001_e6efb181a4683f8c.txt")
    ingest_paths([corpus], settings, prune=True, progress=False, embedder=emb); record("prune")
    (corpus.parent / "001_e6efb181a4683f8c.txt").rename(corpus / "001_e6efb181a4683f8c.txt")
    edited.write_text(original, encoding="utf-8")
    ingest_paths([corpus], settings, rebuild=True, progress=False, embedder=emb); record("rebuild")
'''


def test_threads_ask_while_another_process_ingests_edits_removes_and_rebuilds(
        fresh_settings, embedder, tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(CORPUS, corpus)
    ingest_paths([corpus], fresh_settings, progress=False, embedder=embedder)
    log = tmp_path / "generations.jsonl"
    s = Store(fresh_settings.store, embedder.name)
    log.write_text(json.dumps({"op": "initial", "gen": s.data.name, "ids": s.all_ids()}) + "\n")
    del s
    eng = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(fresh_settings.store),
                               str(corpus), str(log)], cwd=PROJECT, env=_env(fresh_settings.store),
                              stderr=subprocess.PIPE, text=True)
    answers, errors = [], []
    deadline = time.monotonic() + 240        # bound: the writer normally ends well before

    def asker(i):
        n = 0
        while writer.poll() is None and time.monotonic() < deadline:
            q = QUESTIONS[(i + n) % len(QUESTIONS)]
            n += 1
            try:
                answers.append((q, [p.chunk.id for p in eng.ask(q).passages]))
            except Exception as e:           # any error is a failure, collected to report
                errors.append(f"{q}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=asker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err[-2000:]
    assert not errors, f"{len(errors)} of {len(errors) + len(answers)} failed: {errors[:3]}"
    gens = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(gens) == 9 and len({g["gen"] for g in gens}) == 9
    id_sets = [set(g["ids"]) for g in gens]
    assert len(answers) >= 20
    mixed = [(q, ids) for q, ids in answers if not any(set(ids) <= s for s in id_sets)]
    assert not mixed, f"{len(mixed)} answers cite passages from no single generation: {mixed[:2]}"
    # after the writer is done, the engine answers from the final generation
    final = eng.ask(QUESTIONS[0])
    assert {p.chunk.id for p in final.passages} <= id_sets[-1]


def test_threads_ask_while_another_thread_removes_and_reingests(fresh_settings, embedder,
                                                                 tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(CORPUS, corpus)
    ingest_paths([corpus], fresh_settings, progress=False, embedder=embedder)
    eng = Engine(fresh_settings.with_(answerer="extractive"), embedder=embedder)
    done, errors, asked = threading.Event(), [], [0]

    def writer():
        try:
            for _ in range(3):
                remove_sources(["002_5edc88af400f5deb.txt"], fresh_settings, embedder=embedder)
                ingest_paths([corpus], fresh_settings, progress=False, embedder=embedder)
        finally:
            done.set()

    def asker(i):
        while not done.is_set():
            try:
                eng.ask(QUESTIONS[(i + asked[0]) % len(QUESTIONS)])
                asked[0] += 1
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=asker, args=(i,))
                                                   for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors[:3]
    assert asked[0] > 0
    # retired generations are deleted once no engine holds them: at most live + one held
    del eng
    import gc
    gc.collect()
    ingest_paths([corpus / "004_e30819fc19684813.txt"], fresh_settings, rebuild=True,
                 progress=False, embedder=embedder)
    assert len(list(fresh_settings.store.glob("g-*"))) == 1

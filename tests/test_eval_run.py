"""The runner end to end against the real Engine (Chroma store built in a tmp dir by conftest),
the report files, the CLI's exit codes, the sweep, and the judge tier against a fake server."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import cli, compare, report
from eval.judge import Judge, judge_run, openai_complete, parse_verdict
from eval.run import LintFailed, prepare, run_eval

FIX = Path(__file__).parent / "fixtures" / "eval"
TINY = FIX / "qa_tiny.jsonl"
CORPUS = Path(__file__).resolve().parent.parent / "data" / "articles"


@pytest.fixture(scope="module")
def tiny_run(engine):
    """The four-question fixture through the shared engine (extractive, hybrid, k=5)."""
    return run_eval(engine.settings, TINY, engine=engine, progress=False)


def file_text(name: str) -> str:
    return open(CORPUS / name, encoding="utf-8").read()


# --------------------------------------------------------------------------- runner
def test_every_question_is_run_and_scored(tiny_run):
    assert [r["id"] for r in tiny_run.records] == ["t1", "t2", "t3", "t4"]
    assert tiny_run.summary["n"] == 4
    cfg = tiny_run.config
    assert (cfg["k"], cfg["retriever"], cfg["answerer"]) == (5, "hybrid", "extractive")
    assert cfg["qa"] == "tests/fixtures/eval/qa_tiny.jsonl"       # portable in a baseline
    for r in tiny_run.records:
        assert r["label"] in report.LABELS
        assert set(r["timings_ms"]) >= {"retrieve", "answer", "total", "wall"}
        for p in r["answer"]["passages"]:      # spans are offsets into the file the metric reads
            assert file_text(p["source"])[p["start"]:p["end"]] == p["text"]


def test_known_answers_on_the_tiny_set(tiny_run):
    by_id = {r["id"]: r for r in tiny_run.records}
    assert by_id["t1"]["correct"] and by_id["t1"]["scores"]["hit"] is True
    assert by_id["t1"]["pinned"] is True
    t4 = by_id["t4"]
    assert t4["answer"]["abstained"] and t4["correct"] and t4["scores"]["hit"] is None
    assert tiny_run.summary["counts"]["hit"] == 3 and tiny_run.summary["counts"]["noans_accuracy"] == 1


def test_evidence_spans_are_independent_of_chunking(tiny_run):
    t1 = next(r for r in tiny_run.records if r["id"] == "t1")
    (src, s, e), = t1["spans"]
    assert "ten times to secure Mullah Baradar" in file_text(src)[s:e]


def test_write_and_reload_a_run(tiny_run, tmp_path):
    out = report.write_run(tiny_run, tmp_path / "run")
    names = {p.name for p in out.iterdir()}
    assert {"summary.json", "questions.jsonl", "report.md", "report.html", "by_kind.png",
            "hit_at_k.png", "latency.png", "abstention.png"} <= names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 4 and summary["config"]["k"] == 5 and "by_kind" in summary
    assert len((out / "questions.jsonl").read_text().splitlines()) == 4
    md = (out / "report.md").read_text()
    assert "hit@5" in md and "**correct**" in md and "![hit@k" in md
    assert "data:image/png;base64," in (out / "report.html").read_text()
    same = compare.compare(compare.load_run(out), compare.from_run(tiny_run))
    assert same["right_to_wrong"] == [] and same["metrics"]["accuracy"]["ci"] == [0.0, 0.0]


# --------------------------------------------------------------------------- lint first
def write_qa(tmp_path, lines) -> Path:
    p = tmp_path / "qa.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return p


BAD_QUOTE = {"id": "b1", "question": "Q?", "answers": ["10"], "evidence": ["not in any article 10"],
             "source": "000_c73e7dc4e8ffbfc0.txt", "answerable": True, "kind": "numeric"}


def test_lint_runs_before_anything(tmp_path):
    with pytest.raises(LintFailed) as e:
        prepare(write_qa(tmp_path, [BAD_QUOTE]), CORPUS)
    assert "b1 (line 1)" in str(e.value)


def test_cli_reports_a_broken_file_with_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    assert cli.main(["--qa", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert f"{bad}:1:" in capsys.readouterr().err
    assert cli.main(["--qa", str(write_qa(tmp_path, [BAD_QUOTE])), "--quiet"]) == 1
    assert "nothing was run" in capsys.readouterr().err


# --------------------------------------------------------------------------- CLI end to end
def test_cli_run_baseline_gate_and_compare(tmp_path, capsys):
    base = tmp_path / "baseline.json"
    common = ["--qa", str(TINY), "--quiet", "--corpus", str(CORPUS)]
    assert cli.main(common + ["--write-baseline", str(base), "--out", str(tmp_path / "a")]) == 0
    data = json.loads(base.read_text())
    assert data["config"]["store"] == "fresh" and len(data["questions"]) == 4
    assert cli.main(common + ["--gate", str(base), "--out", str(tmp_path / "b")]) == 0
    assert "GATE PASSED" in capsys.readouterr().out
    # The pinned t1 now asks what t4 asks (which the system abstains on, see above) while its
    # gold stays: a pinned right -> wrong flip, which alone must fail the gate.
    lines = [json.loads(x) for x in TINY.read_text(encoding="utf-8").splitlines()]
    lines[0]["question"] = lines[3]["question"]
    changed = ["--qa", str(write_qa(tmp_path, lines)), "--quiet", "--corpus", str(CORPUS)]
    assert cli.main(changed + ["--gate", str(base), "--out", str(tmp_path / "c")]) == 1
    out = capsys.readouterr().out
    assert "GATE FAILED" in out and "pinned question t1 flipped to wrong" in out
    assert "config qa_sha256:" in out and "right->wrong (1): t1" in out
    assert cli.main(["--compare", str(tmp_path / "a"), str(tmp_path / "c"), "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert cmp["n_paired"] == 4 and cmp["right_to_wrong"] == ["t1"]


def test_sweep_builds_a_store_per_chunk_size(tmp_path, capsys):
    argv = ["--qa", str(TINY), "--corpus", str(CORPUS), "--quiet", "sweep", "--chunk-tokens",
            "120", "300", "-k", "1", "4", "--modes", "bm25", "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 0
    rows = json.loads((tmp_path / "s" / "sweep.json").read_text())["rows"]
    assert [(r["chunk_tokens"], r["k"]) for r in rows] == [(120, 1), (120, 4), (300, 1), (300, 4)]
    for size in (120, 300):
        k1, k4 = [r for r in rows if r["chunk_tokens"] == size]
        assert k4["hit"] >= k1["hit"] and k4["context_tokens"] > k1["context_tokens"]
    assert (tmp_path / "s" / "sweep.png").is_file()
    assert "| wordllama | 120 | bm25 | - | 1 |" in capsys.readouterr().out


# --------------------------------------------------------------------------- judge
def test_parse_verdict():
    assert parse_verdict("Yes.") is True and parse_verdict(" no, because") is False
    assert parse_verdict("I think so") is None and parse_verdict("") is None


def test_judge_is_cached_and_reported_apart(tiny_run, tmp_path):
    from fake_openai import FakeOpenAI, Reply
    from rag.settings import Settings
    records = json.loads(json.dumps(tiny_run.records))
    with FakeOpenAI(models=["judge"]) as srv:
        s = Settings.from_env(env={}, store=tmp_path, openai_base_url=srv.base_url,
                              openai_api_key="sk-test")
        complete = openai_complete(s, "judge")
        srv.always(Reply("yes"))                  # (always() empties the queue: call it first)
        srv.enqueue(Reply("yes"), Reply("no"), Reply("maybe"))
        first = judge_run(records, Judge(complete, "judge", tmp_path / "cache"), progress=False)
        calls = len(srv.chat_requests)
        again = judge_run(records, Judge(complete, "judge", tmp_path / "cache"), progress=False)
        assert len(srv.chat_requests) == calls          # every verdict came from the cache
    # 3 answered questions: 3 correctness + 3 faithfulness prompts; t4 abstained.
    assert calls == 6 and first["model_calls"] == 6 and again["model_calls"] == 0
    assert first["unparsed"] == 1 and first == {**again, "model_calls": 6}
    assert records[3]["judge"] == {"correctness": None, "faithfulness": None}
    assert first["n_correctness"] + first["n_faithfulness"] == 5
    out = report.write_run(tiny_run, tmp_path / "run", judge=first)
    assert "LLM judge (separate" in (out / "report.md").read_text()


def test_judge_needs_a_configured_llm(tmp_path):
    from rag.settings import Settings
    with pytest.raises(ValueError, match="the judge needs an LLM"):
        openai_complete(Settings.from_env(env={}, store=tmp_path))


def test_judge_without_an_llm_fails_before_the_run(tmp_path, capsys):
    assert cli.main(["--qa", str(TINY), "--judge", "--quiet", "--out", str(tmp_path / "o")]) == 1
    assert "the judge needs an LLM" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

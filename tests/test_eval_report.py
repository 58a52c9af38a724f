"""The evaluation report an evaluator works from: a constructed run (real scoring, real report
writer) with a known failure and a hostile passage; the per-question table, filters, label links,
the comparison section, the threshold in use, and escaping in report.html and report.md."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from eval import compare, report
from eval.dataset import QAItem
from eval.run import Run, record, run_eval, summarize
from rag.types import Answer, Chunk, Passage, Sentence
from tests.conftest import PROJECT

HOSTILE = ("Officials met on Monday. <script>document.title='pwned'</script>"
           "<img src=x onerror=\"document.title='pwned'\"> The talks [ended](javascript:alert(1)) "
           "with no agreement.")
EVIDENCE = "The talks were held in Doha."


def _answer(question: str, text: str, cite: int | None, passages: list[Passage],
            abstained: bool = False) -> dict:
    sentences = () if abstained else (Sentence(text, (cite,) if cite else (), bool(cite)),)
    hl = {cite: (passages[cite - 1].chunk.start, passages[cite - 1].chunk.end)} if cite else {}
    return Answer(question, text, abstained, sentences, tuple(passages), timings={"total": 12.0},
                  answerer="extractive", confidence=0.4, highlights=hl).to_dict()


@pytest.fixture(scope="module")
def constructed() -> Run:
    hostile = Chunk.make("a.txt", "Talks <b>bold</b>", 0, HOSTILE, 0, len(HOSTILE))
    ev = Chunk.make("a.txt", "Talks", 0, EVIDENCE, 200, 200 + len(EVIDENCE))
    ps = [Passage(1, hostile, 0.9), Passage(2, ev, 0.5)]
    fail = QAItem("x1", "Where were the <i>talks</i> held?", ("Doha",), (EVIDENCE,), "a.txt",
                  True, "factoid")
    ok = QAItem("x2", "Where were the talks held, again?", ("Doha",), (EVIDENCE,), "a.txt", True,
                "paraphrase")
    spans = [("a.txt", 200, 200 + len(EVIDENCE))]
    records = [record(fail, _answer(fail.question, HOSTILE, 1, ps), spans, 5, 15.0),
               record(ok, _answer(ok.question, EVIDENCE, 2, ps), spans, 5, 9.0)]
    config = {"qa": "constructed", "k": 5, "retriever": "hybrid", "answerer": "extractive",
              "abstain_threshold": 0.316, "normalisation": "SQuAD"}
    return Run(config, records, summarize(records, config))


class Rows(HTMLParser):
    """The question table's rows as {id: (attributes, [cell text])}, and every <script>."""

    def __init__(self):
        super().__init__()
        self.rows, self.scripts, self.links = {}, 0, []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "a":
            self.links.append(a.get("href"))
        if tag == "tr" and (a.get("id") or "").startswith("q-"):
            self._row = a["id"][2:]
            self.rows[self._row] = (a, [])
        if tag == "td" and self._row:
            self.rows[self._row][1].append("")
            self._cell = True

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row and self._cell:
            self.rows[self._row][1][-1] += data


def test_a_known_failure_appears_with_its_question_gold_and_answer(constructed, tmp_path):
    out = report.write_run(constructed, tmp_path / "run")
    page = (out / "report.html").read_text("utf-8")
    p = Rows()
    p.feed(page)
    attrs, cells = p.rows["x1"]
    assert attrs["data-label"] == "reader_miss" and attrs["data-kind"] == "factoid"
    rid, kind, question, gold, answer, label, rank, ms = cells[:8]
    assert (rid, kind, question, gold, label) == ("x1", "factoid", "Where were the <i>talks</i> held?",
                                                  "Doha", "reader_miss")
    assert answer.startswith(HOSTILE + "[1]")            # the given answer with its citation
    assert "passages shown (2); gold evidence first appears at rank 2" in answer
    assert (rank, ms) == ("2", "15")
    assert p.rows["x2"][0]["data-label"] == "ok"
    # Label counts link to a filter on their rows; flagged ids link to their row.
    assert "#label=reader_miss" in p.links and "#q-x1" in p.links
    # The failure opens to its passages: evidence and cited sentence are marked.
    assert "<mark class='cite'>Officials met on Monday. &lt;script&gt;" in page
    assert f"<mark class='ev'>{EVIDENCE}</mark>" in page


def test_hostile_document_text_stays_text(constructed, tmp_path):
    out = report.write_run(constructed, tmp_path / "run")
    page = (out / "report.html").read_text("utf-8")
    p = Rows()
    p.feed(page)
    assert p.scripts == 1                                 # the page's own filter script only
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
    assert "<i>talks</i>" not in page and "<b>bold</b>" not in page
    assert "default-src 'none'" in page                   # and nothing could load anyway
    md = (out / "report.md").read_text("utf-8")
    assert "<script>" not in md and "&lt;script>" in md
    assert "<i>" not in md and "\\[ended\\](javascript" in md     # no live link either
    assert "| x1 | factoid | reader_miss | Where were the &lt;i>talks&lt;/i> held? | Doha |" in md


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
def test_the_page_in_a_real_browser_runs_no_document_script(constructed, tmp_path):
    out = report.write_run(constructed, tmp_path / "run")
    url = (out / "report.html").as_uri() + "#label=reader_miss"
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "<title>RAG evaluation</title>" in dom and "pwned" not in dom.split("<body")[0]
    assert "1 of 2 questions" in dom                      # the label link filtered the table


def test_a_comparison_shows_the_flips_and_paired_intervals(constructed, tmp_path):
    base = report.write_run(constructed, tmp_path / "a")
    other = compare.load_run(base)
    other["questions"]["x1"] = {**other["questions"]["x1"], "correct": True}
    cmp = compare.compare(other, compare.from_run(constructed))
    out = report.write_run(constructed, tmp_path / "b", comparison=cmp, compared_with="run A")
    page = (out / "report.html").read_text("utf-8")
    assert "Compared with run A" in page and "95% CI" in page
    assert "right -&gt; wrong</td><td>1</td><td><a href='#q-x1'>x1</a>" in page
    assert "Compared with run A" in (out / "report.md").read_text("utf-8")


def test_the_threshold_in_use_is_recorded_and_marked(engine, tmp_path):
    run = run_eval(engine.settings, PROJECT / "tests/fixtures/eval/qa_tiny.jsonl", engine=engine,
                   progress=False)
    t = run.config["abstain_threshold"]
    assert isinstance(t, float) and t == engine.answerer.params.threshold
    assert run.config["dense_weight"] == engine.settings.dense_weight
    out = report.write_run(run, tmp_path / "run")
    assert f"dashed line: the threshold in use, {t:.3f}" in (out / "report.html").read_text("utf-8")
    assert "whole sentences" in (out / "report.md").read_text("utf-8")   # the EM/F1 note


def test_rag_eval_prints_both_report_paths(tmp_path, corpus_settings):
    import os
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["RAG_STORE"] = str(corpus_settings.store)
    r = subprocess.run([sys.executable, "-m", "rag", "eval", "--qa",
                        "tests/fixtures/eval/qa_tiny.jsonl", "--quiet", "--out", tmp_path / "o"],
                       cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert str(tmp_path / "o" / "report.html") in r.stdout
    assert str(tmp_path / "o" / "report.md") in r.stdout
    assert Path(tmp_path / "o" / "report.html").is_file()

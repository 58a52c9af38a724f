"""The web app's parts that need no server: HTML escaping, upload names, login settings, the
feedback file and its Q&A drafts, and that the CLI does not import Gradio for other commands."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag import Answer, Chunk, Passage, Sentence
from tests.conftest import PROJECT

EVIL = "<script>alert(1)</script> & <img src=x onerror=alert(1)>"


def _answer(supported=True, abstained=False, notices=()):
    text = f"Before {EVIL} after."
    c = Chunk.make("a.txt", f"Title {EVIL}", 0, text, 100, 100 + len(text), date="2025-01-14")
    p2 = Passage(2, Chunk.make("b.txt", "B", 0, "Other passage.", 0, 14), 0.1)
    sents = () if abstained else (Sentence(f"Claim {EVIL}", (1,), supported),)
    return Answer(question="q", text="x", abstained=abstained, sentences=sents,
                  passages=(Passage(1, c, 0.5), p2), notices=tuple(notices),
                  timings={"total": 12.0}, answerer="extractive",
                  highlights={1: (107, 107 + len(EVIL))})


def test_document_and_answer_text_are_escaped_in_every_piece_of_html():
    from ui import render
    a = _answer(supported=False, notices=[f"LLM failed {EVIL}"])
    page = render.answer_markdown(a) + render.sources_html(a, lambda s: "x" * 50 + EVIL * 3)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    panel = render.sources_html(a, None)
    # The cited passage first, its sentence marked; the other passage folded away after it.
    assert panel.index('id="src-1"') < panel.index("rag-others") < panel.index('id="src-2"')
    assert "<mark>" + render.esc_html(EVIL) + "</mark>" in panel
    assert "14 January 2025" in panel and "chars 100–" in panel
    assert "b.txt · chars 0–14 · no date" in panel        # undated: said, not guessed
    assert "rag-unsupported" in render.answer_markdown(a)
    assert "rag-notice" in render.answer_markdown(a)
    assert 'href="#src-1"' in render.answer_markdown(a)
    ok = render.answer_markdown(_answer())
    assert "rag-unsupported" not in ok and "extractive" in ok


def test_abstention_looks_different():
    from ui import render
    md = render.answer_markdown(_answer(abstained=True))
    assert "rag-abstain" in md and render.ABSTAIN_TEXT in md and "rag-cite" not in md
    assert "Passages the answerer looked at" in render.sources_html(_answer(abstained=True))


def test_the_whole_article_view_marks_the_span():
    from ui import render
    a = _answer()
    doc = "x" * 107 + EVIL + "y" * 10
    html = render.sources_html(a, lambda s: doc if s == "a.txt" else None)
    assert f'<mark id="art-1-mark">{render.esc_html(EVIL)}</mark>' in html


@pytest.mark.parametrize("name, stored", [
    ("../../etc/passwd.txt", "passwd.txt"), ("..\\..\\win.ini.md", "win.ini.md"),
    ("My Report (2).HTML", "My_Report_2.html"), ("...txt", "upload.txt"),
    ("a/b/c/<script>.md", "script.md")])
def test_upload_names_are_safe(name, stored):
    from ui.uploads import safe_name
    assert safe_name(name) == stored


@pytest.mark.parametrize("name", ["evil.py", "x.pdf", "noext", "a.txt.exe"])
def test_upload_types_we_do_not_read_are_refused(name):
    from ui.uploads import UploadError, safe_name
    with pytest.raises(UploadError, match="not read"):
        safe_name(name)


def test_login_from_the_environment(tmp_path):
    from ui.server import auth_from_env
    assert auth_from_env({}) is None
    assert auth_from_env({"RAG_UI_AUTH": "ann:pa:ss"}) == [("ann", "pa:ss")]
    users = tmp_path / "users"
    users.write_text("# team\nbob:one\n\ncat:two\n")
    assert auth_from_env({"RAG_UI_USERS": str(users)}) == [("bob", "one"), ("cat", "two")]
    with pytest.raises(ValueError, match="user:password"):
        auth_from_env({"RAG_UI_AUTH": "nopassword"})
    with pytest.raises(ValueError, match="cannot read"):
        auth_from_env({"RAG_UI_USERS": str(tmp_path / "missing")})


def test_feedback_lines_become_draft_qa_entries(tmp_path, engine):
    from eval.drafts import drafts, read_feedback, write_drafts
    from ui.service import Service
    svc = Service(engine.settings, data_dir=tmp_path / "app")
    ans = engine.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    svc.record_feedback(ans.to_dict(), "up")
    hist = [{"role": "user", "content": "Who is Atmar?"}, {"role": "assistant", "content": "A."}]
    rec = svc.record_feedback(ans.to_dict(), "down", hist, {"k": 5})
    svc.record_feedback(ans.to_dict(), "down", hist)              # the same question twice
    lines = read_feedback(svc.feedback_path)
    assert [r["verdict"] for r in lines] == ["up", "down", "down"]
    c = rec["citations"][0]
    assert {"source", "start", "end", "text", "highlight"} <= set(c) and rec["time"]
    assert rec["passages"] and all({"start", "end"} <= set(p) for p in rec["passages"])
    out = drafts(lines)
    assert len(out) == 1
    d = out[0]
    assert d["question"] == ans.question and d["answers"] == [] and d["evidence"] == []
    assert d["history"] == hist and d["source"] == c["source"] and d["draft"] is True
    qa = tmp_path / "qa.jsonl"
    assert write_drafts(svc.feedback_path, qa) == 1
    assert write_drafts(svc.feedback_path, qa) == 0                # ids are stable
    # An unfinished draft cannot be evaluated by mistake: the Q&A loader refuses it.
    from eval.dataset import DatasetError, load_qa
    with pytest.raises(DatasetError):
        load_qa(qa)
    with pytest.raises(ValueError, match="verdict"):
        svc.record_feedback(ans.to_dict(), "meh")


def test_rag_feedback_drafts_command(tmp_path, capsys):
    from rag.cli import main
    fb = tmp_path / "fb.jsonl"
    fb.write_text(json.dumps({"question": "Why?", "verdict": "down", "answer": "x",
                              "citations": []}) + "\n")
    assert main(["feedback", "drafts", "--file", str(fb)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["question"] == "Why?" and "1 draft" in err
    assert main(["feedback", "drafts", "--file", str(tmp_path / "none.jsonl")]) != 0
    assert "no feedback file" in capsys.readouterr().err


def test_other_commands_do_not_import_gradio():
    code = ("import sys; from rag.cli import build_parser; build_parser(); "
            "print('gradio' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT)
    assert r.stdout.strip() == "False", r.stderr


def test_a_direct_answer_stands_first_in_bold_before_its_quote(engine):
    from ui import render
    answer = engine.ask("How many times did Hanif Atmar travel to Pakistan to free Baradar?")
    md = render.answer_markdown(answer)
    head, _, rest = md.partition("\n\n")
    assert head.startswith("<strong>10 times</strong>") and 'href="#src-' in head
    assert "travelled to Pakistan 10 times" in rest          # the quote follows, with its citation
    # A quoted sentence alone is not mistaken for a short answer.
    from dataclasses import replace
    quotes = render.answer_markdown(replace(answer, sentences=answer.sentences[1:]))
    assert "<strong>" not in quotes.split("rag-meta")[0]

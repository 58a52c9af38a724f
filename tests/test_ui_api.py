"""The web app for programs: the real Gradio server on 127.0.0.1 driven by gradio_client.

One server for the module (starting Gradio costs seconds); tests that change the index use
files of their own, so the order they run in does not matter."""
from __future__ import annotations

import json
import time

import pytest

from tests.ui_support import ATMAR, XSS_NAME, XSS_QUESTION, build_store, check_answer

gradio_client = pytest.importorskip("gradio_client")
# Gradio's queue statistics call pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword")]


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    from ui.server import start
    root = tmp_path_factory.mktemp("ui-api")
    settings, docs = build_store(root, embedder)
    demo, url, service = start(settings, port=0, embedder=embedder, quiet=True, warm=False)
    yield url, service, docs
    demo.close()


def client(url):
    return gradio_client.Client(url, verbose=False)


def test_ask_endpoint_returns_the_answer_record_with_checked_citations(app, tmp_path):
    url, _, docs = app
    d = client(url).predict(question=ATMAR, api_name="/ask")
    assert not d["abstained"] and d["citations"], d
    assert set(d) >= {"question", "answer", "sentences", "citations", "passages", "notices",
                      "timings_ms", "answerer", "rewritten"}
    assert any("ten times" in c["text"] or "10 times" in c["text"] for c in d["citations"])
    assert all("highlight" in c for c in d["citations"])
    check_answer(d, tmp_path, docs)


def test_ask_endpoint_takes_history_and_k(app):
    url, _, _ = app
    c = client(url)
    history = [{"role": "user", "content": ATMAR},
               {"role": "assistant", "content": [{"type": "text", "text": "Ten times."}]}]
    d = c.predict(question="Why did he go there?", history=history, k=3, api_name="/ask")
    assert "Atmar" in d["rewritten"] and len(d["passages"]) <= 3
    with pytest.raises(Exception, match="empty"):
        c.predict(question="   ", api_name="/ask")


def test_chat_streams_and_follow_ups_use_this_sessions_history(app):
    url, _, _ = app
    a, b = client(url), client(url)
    # Interleaved: each client's follow-up is resolved against its own conversation only.
    a.predict(message=ATMAR, api_name="/chat")
    b.predict(message="Who is Khalil Haqqani?", api_name="/chat")
    msgs_a, sources_a, box, rec_a = a.predict(message="Why did he go there?", api_name="/chat")
    msgs_b, _, _, rec_b = b.predict(message="What is the bounty on his head?", api_name="/chat")
    assert "Atmar" in rec_a["rewritten"] and "Haqqani" not in rec_a["rewritten"]
    assert "Haqqani" in rec_b["rewritten"] and "Atmar" not in rec_b["rewritten"]
    # The page shows what the record says: the rewrite, [n] links, and the cited passages.
    assert box == ""
    texts = [json.dumps(m["content"]) for m in msgs_a]
    assert sum("Searched for" in json.dumps(m.get("metadata") or {}) for m in msgs_a) == 1
    assert len([m for m in msgs_a if m["role"] == "user"]) == 2
    for cite in rec_a["citations"]:
        assert f'href=\\"#src-{cite["n"]}\\"' in texts[-1]
        assert f'id="src-{cite["n"]}"' in sources_a
    assert "<mark" in sources_a
    # A new chat forgets: the same follow-up is no longer resolved to Atmar.
    a.predict(api_name="/new_chat")
    _, _, _, rec = a.predict(message="Why did he go there?", api_name="/chat")
    assert "Atmar" not in rec["rewritten"]


def test_hostile_markup_in_a_document_is_escaped_everywhere(app):
    url, _, _ = app
    msgs, sources, _, rec = client(url).predict(message=XSS_QUESTION, api_name="/chat")
    assert any(c["source"] == XSS_NAME for c in rec["passages"])
    page = sources + json.dumps([m["content"] for m in msgs])
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sources      # shown, as text


def test_upload_then_ask_cites_the_new_file(app, tmp_path):
    url, service, _ = app
    c = client(url)
    doc = tmp_path / "Quokka report (final).md"
    doc.write_text("# Rottnest Island Quokka Census\n\nFriday, 02/07/2025\n\nRangers on Rottnest "
                   "Island counted 12,400 quokkas in the February census, up from 10,100 two "
                   "years earlier. The island's conservation officer, Marta Ellery, credited "
                   "the fox-free habitat and new water stations for the rise.\n", encoding="utf-8")
    summary_md, index_md, *_rest, summary = c.predict(
        [gradio_client.handle_file(str(doc))], api_name="/upload")
    stored = "Quokka_report_final.md"
    assert summary["added"] == [stored] and not summary["rejected"], summary_md
    assert (service.uploads / stored).is_file()
    d = c.predict(question="How many quokkas did the rangers count on Rottnest Island?",
                  api_name="/ask")
    assert not d["abstained"] and d["citations"][0]["source"] == stored
    assert "12,400" in d["answer"]
    check_answer(d, tmp_path, service.uploads, app[2])
    # The same file again: unchanged, nothing re-indexed.
    *_, again = c.predict([gradio_client.handle_file(str(doc))], api_name="/upload")
    assert again["unchanged"] == [stored]


def test_a_bad_upload_is_rejected_with_a_reason_and_the_index_is_unchanged(app, tmp_path):
    url, service, _ = app
    c = client(url)
    before = service.stats()
    files_before = service.sources()
    binary = tmp_path / "notes.txt"
    binary.write_bytes(b"\x00\x01\x02 not text \xff\xfe" * 50)
    empty = tmp_path / "empty.html"
    empty.write_text("   \n", encoding="utf-8")
    md, *_, summary = c.predict([gradio_client.handle_file(str(binary)),
                                 gradio_client.handle_file(str(empty))], api_name="/upload")
    assert [n for n, _ in summary["rejected"]] == ["notes.txt", "empty.html"], summary
    assert all(why for _, why in summary["rejected"]) and "rejected" in md
    assert str(service.uploads) not in md                       # no server paths in messages
    assert service.stats() == before and service.sources() == files_before
    assert not (service.uploads / "notes.txt").exists()
    # A type the app does not read is refused by the server before the handler runs.
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    with pytest.raises(Exception, match="(?i)invalid file type|not read"):
        c.predict([gradio_client.handle_file(str(pdf))], api_name="/upload")
    assert service.stats() == before


def test_remove_while_serving(app, tmp_path):
    url, service, _ = app
    c = client(url)
    doc = tmp_path / "ferry.txt"
    doc.write_text("Island Ferry Strike Ends\n\nThe Kerrera ferry crews ended a nine-day strike "
                   "after the council agreed a 6 percent pay rise, the union said on Tuesday.\n",
                   encoding="utf-8")
    *_, summary = c.predict([gradio_client.handle_file(str(doc))], api_name="/upload")
    assert summary["added"] == ["ferry.txt"]
    q = "How long did the Kerrera ferry strike last?"
    assert c.predict(question=q, api_name="/ask")["citations"][0]["source"] == "ferry.txt"
    md, *_ = c.predict("ferry.txt", api_name="/remove")
    assert "Removed" in md and "ferry.txt" not in service.sources()
    d = c.predict(question=q, api_name="/ask")           # the open engine sees the removal
    assert all(p["source"] != "ferry.txt" for p in d["passages"])
    assert not d["citations"] or d["citations"][0]["source"] != "ferry.txt"
    assert c.predict(question=ATMAR, api_name="/ask")["citations"]


def test_the_readme_api_example_runs_against_the_app(app):
    import re

    from tests.conftest import PROJECT
    url, _, _ = app
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"^```py\n(.*?)^```", readme, re.S | re.M)
                 if "gradio_client" in b)
    scope: dict = {}
    exec(compile(block.replace("http://127.0.0.1:7860", url), "README api block", "exec"), scope)
    assert scope["d"]["citations"] and "highlight" in scope["d"]["citations"][0]
    assert scope["follow"]["rewritten"] != scope["follow"]["question"]


def test_an_upload_being_indexed_does_not_hold_up_other_sessions_questions(app, tmp_path):
    url, service, _ = app
    uploader, asker = client(url), client(url)
    doc = tmp_path / "slow.txt"
    doc.write_text("Harbour Crane Delivered\n\nThe port of Tarbert took delivery of its new "
                   "harbour crane on Thursday after a two-week sea voyage.\n", encoding="utf-8")
    # Hold the app's ingest lock, as a long ingest would: the upload waits inside its handler.
    service._ingest.acquire()
    try:
        job = uploader.submit([gradio_client.handle_file(str(doc))], api_name="/upload")
        deadline = time.monotonic() + 20
        while job.status().code.name not in ("PROCESSING",) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert not job.done()
        d = asker.predict(question=ATMAR, api_name="/ask")     # answered meanwhile
        assert d["citations"] and not job.done()
    finally:
        service._ingest.release()
    *_, summary = job.result(timeout=60)
    assert summary["added"] == ["slow.txt"]


def test_login_when_rag_ui_auth_is_set(app, monkeypatch, embedder):
    from ui.server import start
    _, service, _ = app
    monkeypatch.setenv("RAG_UI_AUTH", "ann:s3cret")
    demo, url, _ = start(service.settings, port=0, embedder=embedder, quiet=True, warm=False,
                         data_dir=service.data_dir)
    try:
        with pytest.raises(Exception):
            client(url).predict(question=ATMAR, api_name="/ask")
        with pytest.raises(Exception):
            gradio_client.Client(url, auth=("ann", "wrong"), verbose=False)
        ok = gradio_client.Client(url, auth=("ann", "s3cret"), verbose=False)
        assert ok.predict(question=ATMAR, api_name="/ask")["citations"]
    finally:
        demo.close()


def test_a_page_load_upload_or_remove_reads_the_file_list_once(app, monkeypatch):
    """The index panel, the file list and the filter's file choices come from one read of the
    file table (the filter's list used to be read again, and the figures a third time)."""
    from rag.filetable import FileTable
    from ui.app import _index_view
    _, service, docs = app
    reads = []
    real = FileTable.all
    monkeypatch.setattr(FileTable, "all", lambda self: reads.append(1) or real(self))
    md, listed, _, names = _index_view(service)
    assert len(reads) == 1
    assert names == [v for _, v in listed.choices] and f"{len(names)} files" in md
    assert {p.name for p in docs.iterdir()} <= set(names) and names == service.sources()

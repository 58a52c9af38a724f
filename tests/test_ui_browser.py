"""The web app in a real browser: Debian's chromium driven by Playwright (no browser download).

What a person sees is asserted: the streamed answer and its [n], the cited passage with its
sentence marked, the whole article opened at that span, an abstention and an unsupported
sentence that look different, and a hostile document that runs nothing. Screenshots land in
test-artifacts/ (gitignored). Without chromium or Playwright the tests are skipped with a
reason (`.ci/run` installs chromium)."""
from __future__ import annotations

import os
import shutil
import time
from urllib.parse import urlparse

import pytest

from tests.conftest import PROJECT
from tests.fake_openai import FakeOpenAI, Reply
from tests.ui_support import ATMAR, XSS_QUESTION, build_store

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage"]
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword")]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:                                    # pragma: no cover - depends on install
    sync_playwright = None


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    if sync_playwright is None:
        pytest.skip("browser tests skipped: the playwright package is not installed "
                    "(pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} "
                    f"(apt-get install chromium, or set CHROMIUM=path)")
    from ui.server import start
    with FakeOpenAI(models=["tiny"], api_key="sk-test") as llm:
        settings, _ = build_store(tmp_path_factory.mktemp("ui-browser"), embedder,
                                  answerer="extractive", openai_base_url=llm.base_url,
                                  openai_api_key="sk-test", llm_model="tiny")
        demo, url, service = start(settings, port=0, embedder=embedder, quiet=True, warm=False)
        try:
            yield url, llm, service
        finally:
            demo.close()


@pytest.fixture(scope="module")
def browser(app):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(app, browser, request):
    url = app[0]
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    seen: dict = {"dialogs": [], "hosts": set()}
    # Any alert/confirm/prompt means a document's markup ran as code.
    pg.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    pg.on("request", lambda r: seen["hosts"].add(urlparse(r.url).hostname))
    pg.goto(url, wait_until="load")
    pg.wait_for_selector("#question textarea", timeout=30_000)
    # Connected and loaded: the load event has filled in the index panel.
    pg.wait_for_function("() => (document.querySelector('#index-state')?.textContent || '')"
                         ".includes('Index')", timeout=30_000)
    pg.seen = seen
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    ctx.close()
    assert seen["dialogs"] == [], f"a script ran: {seen['dialogs']}"
    assert seen["hosts"] <= {"127.0.0.1", "localhost"}, f"the page reached out: {seen['hosts']}"


def ask(page, question: str):
    before = page.locator("#chat .bot").count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => { const b = document.querySelectorAll('#chat .bot');"
        " return b.length > n && b[b.length-1].querySelector('.rag-meta, .rag-error'); }",
        arg=before, timeout=30_000)
    return page.locator("#chat .bot").last


def test_answer_cites_and_one_click_shows_the_marked_sentence_and_the_article(page):
    bot = ask(page, ATMAR)
    assert "times" in bot.inner_text() and "extractive" in bot.inner_text()
    link = bot.locator("a.rag-cite").first
    n = link.inner_text().strip("[]")
    link.click()
    passage = page.locator(f"#src-{n}")
    expect(passage).to_be_in_viewport()
    mark = passage.locator(".rag-passage mark")
    expect(mark).to_have_count(1)
    assert "Pakistan" in mark.inner_text() and mark.inner_text() in bot.inner_text()
    assert ".txt · chars" in passage.locator(".rag-where").inner_text()
    # The whole article, opened at the span: the same sentence, marked and scrolled into view.
    passage.locator("details.rag-article summary").click()
    art = page.locator(f"#art-{n}-mark")
    expect(art).to_be_in_viewport()
    assert art.inner_text() == mark.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "article-open.png"))


def test_thumbs_down_appends_the_answer_to_the_feedback_file(page, app):
    service = app[2]
    bot = ask(page, ATMAR)
    page.get_by_role("button", name="Dislike").last.click()
    import json
    rec, deadline = None, time.monotonic() + 15
    # the click returns before the server has written: wait for a whole line, not the file
    while rec is None and time.monotonic() < deadline:
        text = (service.feedback_path.read_text(encoding="utf-8")
                if service.feedback_path.exists() else "")
        if text.endswith("\n"):
            rec = json.loads(text.splitlines()[-1])
        else:
            time.sleep(0.1)
    assert rec is not None, "no feedback line written within 15 s"
    assert rec["verdict"] == "down" and rec["question"] == ATMAR
    assert rec["citations"] and {"source", "start", "end", "text"} <= set(rec["passages"][0])
    assert rec["answer"].split(" [")[0][:40] in bot.inner_text()


def test_the_answer_streams_into_the_page(page, app):
    llm = app[1]
    page.locator("button[aria-label*='sidebar' i], .sidebar button").first.click()
    page.locator("#set-answerer label", has_text="llm").click()
    llm.enqueue(Reply("Atmar said he travelled to Pakistan ten times to secure the release of "
                      "Mullah Baradar [1]. " * 3, chunk_chars=3))
    page.evaluate("""() => { window.__seen = [];
      new MutationObserver(() => { const b = document.querySelectorAll('#chat .bot');
        if (b.length) window.__seen.push(b[b.length-1].innerText); })
      .observe(document.querySelector('#chat'), {subtree: true, childList: true,
                                                 characterData: true}); }""")
    bot = ask(page, ATMAR)
    seen = page.evaluate("window.__seen")
    partial = {s for s in seen if "▍" in s}
    assert len(partial) >= 2, seen[:5]                 # several partial texts, growing
    assert "llm:tiny" in bot.inner_text() and bot.locator("a.rag-cite").count() >= 1


def test_abstention_and_an_unsupported_sentence_look_different(page, app):
    llm = app[1]
    bot = ask(page, "What is the capital of Peru?")
    abstain = bot.locator(".rag-abstain")
    expect(abstain).to_be_visible()
    assert bot.locator("a.rag-cite").count() == 0
    assert abstain.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
    page.locator("button[aria-label*='sidebar' i], .sidebar button").first.click()
    page.locator("#set-answerer label", has_text="llm").click()
    llm.enqueue(Reply("Atmar said he travelled to Pakistan ten times to secure the release of "
                      "Mullah Baradar [1]. The moon is made of green cheese and owned by "
                      "Baradar [1]."))
    bot = ask(page, ATMAR)
    bad = bot.locator(".rag-unsupported")
    expect(bad).to_have_count(1)
    assert "green cheese" in bad.inner_text() and "ten times" not in bad.inner_text()
    bg = bad.evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "ten times" in bot.inner_text()


def test_a_hostile_document_shows_as_text_and_runs_nothing(page):
    bot = ask(page, XSS_QUESTION)
    assert "9,400" in bot.inner_text()
    panel = page.locator("#sources")
    for d in panel.locator("details").all():
        d.evaluate("e => e.open = true")
    time.sleep(0.5)
    text = panel.inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert panel.locator("script, img").count() == 0
    # The page fixture then asserts that no dialog opened.


def test_empty_screen_offers_questions_from_the_articles_and_the_index_state(page):
    ex = page.locator("#chat button.example")
    expect(ex.first).to_be_visible(timeout=15_000)
    assert "What does the article" in page.locator("#chat").inner_text()
    page.locator("button[aria-label*='sidebar' i], .sidebar button").first.click()
    expect(page.locator("#index-state")).to_contain_text("6 files")
    ex.first.click()
    page.wait_for_selector("#chat .bot .rag-meta", timeout=30_000)


def test_upload_in_the_side_panel_then_ask_a_follow_up_about_it(page, tmp_path):
    doc = tmp_path / "orchard_news.md"
    doc.write_text("# Kent Orchard Opens Cider Museum\n\nThe Brogdale orchard in Kent opened a "
                   "cider museum on Saturday. Its curator, Ines Halvorsen, said the museum "
                   "holds 312 antique cider presses collected since 1952.\n", encoding="utf-8")
    page.locator("button[aria-label*='sidebar' i], .sidebar button").first.click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#upload-summary")).to_contain_text("1 added", timeout=30_000)
    expect(page.locator("#upload-summary")).to_contain_text("orchard_news.md")
    bot = ask(page, "Who is the curator of the Brogdale cider museum?")
    assert "Halvorsen" in bot.inner_text()
    assert "orchard_news.md" in page.locator("#sources .rag-src").first.inner_text()
    bot = ask(page, "How many cider presses does it hold?")
    assert "312" in bot.inner_text()
    expect(page.locator("#chat")).to_contain_text("Searched for")


def test_filters_in_the_side_panel_limit_the_sources_and_say_so(page, tmp_path):
    """A file picked in the panel's filter: the answer says it is filtered and cites only that
    file (the unfiltered answer's top source is another); a bad date is named under the
    fields; the file list follows uploads."""
    page.locator("button[aria-label*='sidebar' i], .sidebar button").first.click()
    state = page.locator("#filter-state")
    expect(state).to_contain_text("No filters", timeout=15_000)
    since = page.locator("#set-since input").first
    since.fill("2024-13-01")
    since.press("Enter")
    expect(state).to_contain_text("'2024-13-01' is not a date; use YYYY-MM-DD")
    bot = ask(page, "What role does Khalil Haqqani have?")
    assert "is not a date" in bot.inner_text()      # refused, not answered unfiltered
    since.fill("")
    since.press("Enter")
    expect(state).to_contain_text("No filters")
    bounty = "001_e6efb181a4683f8c.txt"
    page.locator("#set-source input").click()
    page.get_by_role("option", name=bounty).click()
    expect(state).to_contain_text(f"Active: source {bounty}")
    bot = ask(page, "What role does Khalil Haqqani have?")
    assert f"Filtered: source {bounty}" in bot.inner_text()
    wheres = page.locator("#sources .rag-where").all_text_contents()   # folded ones too
    assert wheres and all(bounty in w for w in wheres), wheres
    # An upload joins the file filter's list.
    doc = tmp_path / "harbour_news.txt"
    doc.write_text("Harbour Dredging Finished\n\nPublished: March 3, 2025\n\nThe port of "
                   "Tromsø finished dredging its northern basin, the harbour master said.\n",
                   encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#upload-summary")).to_contain_text("1 added", timeout=30_000)
    page.locator("#set-source input").click()
    expect(page.get_by_role("option", name="harbour_news.txt")).to_be_visible(timeout=15_000)


def test_the_copy_button_copies_the_answer_as_a_reader_sees_it_with_its_sources(page, app):
    """Gradio's copy button copies a message's raw value: our markup (links, spans, Markdown
    escapes). The clipboard gets the text a reader sees, its [n] markers, and the sources."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _check_copies(page, "navigator.clipboard.readText()")


def test_the_copy_button_without_the_clipboard_api_copies_the_same(browser, app, request):
    """Served over plain http to another machine, a page has no navigator.clipboard (it is for
    secure origins only) and Gradio copies through a hidden textarea and execCommand('copy'):
    the clipboard must get the same plain text and sources, not the markup."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    # As on an insecure origin: no clipboard API before any of the page's code runs; the test
    # keeps a handle on it to read what the fallback put on the clipboard.
    ctx.add_init_script("window.__clipboard = navigator.clipboard;"
                        " delete Navigator.prototype.clipboard;")
    pg = ctx.new_page()
    try:
        pg.goto(app[0], wait_until="load")
        pg.wait_for_selector("#question textarea", timeout=30_000)
        assert pg.evaluate("!('clipboard' in Navigator.prototype) && !!window.__clipboard")
        pg.evaluate("window.__clipboard.writeText('')")     # nothing left from another test
        _check_copies(pg, "window.__clipboard.readText()")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        ctx.close()


def _check_copies(page, read: str) -> None:
    """Copy an answer and the conversation with Gradio's buttons; `read`: the script that
    returns what the clipboard holds."""
    import re
    bot = ask(page, ATMAR)
    shown = bot.inner_text()
    bot.hover()
    chat = page.locator("#chat")
    chat.get_by_role("button", name="Copy message", exact=True).last.click()
    copied = page.evaluate(read)
    assert copied and not re.search(r"[<>\\]|rag-|&[a-z#0-9]+;", copied), copied
    assert re.search(r"times \[\d\]", copied) and "answered by" not in copied
    body, _, sources = copied.partition("\n\nSources:\n")
    assert body.split()[:4] == shown.split()[:4]
    ns = re.findall(r"\[(\d+)\]", body)
    assert ns and all(re.search(rf"^\[{n}\] .+ \(\S+\.txt(, \d+ \w+ \d{{4}})?\)$", sources, re.M)
                      for n in ns), sources
    # ...and "Copy conversation" likewise: the question, then the answer as read.
    chat.get_by_role("button", name="Copy conversation", exact=True).click()
    whole = page.evaluate(read)
    assert ATMAR in whole and body in whole and not re.search(r"[<>\\]|rag-", whole), whole

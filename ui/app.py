"""The Gradio page: chat on the left, the sources panel beside it, settings and documents in a
side panel. Handlers are thin over `ui.service.Service`; all HTML comes from `ui.render`.

Per-session things (history, the answers behind the thumbs, settings) live in `gr.State` and in
the session's own component values, so two people never see each other's chats or settings.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from rag import Answer
from rag.store import StoreError
from rag.when import When

from . import filters, render
from .service import Service

CSS = (Path(__file__).with_name("style.css")).read_text(encoding="utf-8")
# Opening "the whole article" scrolls its marked span into view; clicking [n] flashes the
# passage. Event delegation on the panel, because its HTML is replaced on every answer.
PANEL_JS = """
element.addEventListener('toggle', (e) => {
  const d = e.target;
  if (d.classList && d.classList.contains('rag-article') && d.open) {
    const m = d.querySelector('mark');
    if (m) m.scrollIntoView({block: 'center'});
  }
}, true);
"""
PAGE_JS = r"""
() => {
  // The copy buttons copy a message's markup; the clipboard gets what a reader sees instead:
  // the text with its [n] markers and notices, and the cited sources listed under it.
  const plain = (text) => {
    if (typeof text !== 'string' || !text.includes('class="rag-')) return text;
    const doc = new DOMParser().parseFromString(text, 'text/html');  // inert: nothing runs
    doc.querySelectorAll('.rag-meta').forEach((e) => e.remove());
    doc.querySelectorAll('.rag-copy').forEach((e) => e.replaceWith('\n\n' + e.dataset.copy));
    return doc.body.textContent.replace(/\\([\\`*_\[\]{}#|~])/g, '$1')
      .replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  };
  // Served over plain http to another machine, a page has no clipboard API (secure origins
  // only): Gradio then copies a message's markup through a hidden textarea, and its "Copy
  // conversation" does nothing. Both go through this stand-in instead, which copies the way
  // Gradio's fallback does (execCommand, inside the click that asked for it).
  if (!('clipboard' in navigator)) {
    const viaCommand = async (text) => {
      const box = document.createElement('textarea');
      box.value = text;
      box.style.position = 'fixed';
      box.style.left = '-999999px';
      const had = document.activeElement;     // the question box keeps its focus
      document.body.prepend(box);
      box.select();
      try {
        if (!document.execCommand('copy')) throw new Error('the browser refused to copy');
      } finally {
        box.remove();
        if (had && had.focus) had.focus();
      }
    };
    Object.defineProperty(navigator, 'clipboard', {configurable: true,
                                                   value: {writeText: viaCommand}});
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(plain(text));
  }
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a.rag-cite');
    if (!a) return;
    const el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    e.preventDefault();
    const box = el.closest('details.rag-others');
    if (box) box.open = true;
    el.scrollIntoView({block: 'start', behavior: 'smooth'});
    el.classList.remove('rag-flash'); void el.offsetWidth; el.classList.add('rag-flash');
  }, true);
}
"""


def theme():
    # System fonts: the default theme would fetch fonts from Google's servers.
    sans = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Soft(font=sans, font_mono=mono)


def new_session() -> dict:
    return {"history": [], "messages": [], "answers": {}}


def build_app(service: Service) -> gr.Blocks:
    s = service.settings
    with gr.Blocks(title="rag-news: ask the articles", analytics_enabled=False,
                   fill_height=True) as demo:
        state = gr.State(new_session())
        known = gr.State([])    # the indexed file names, read once per load, upload or remove
        with gr.Sidebar(label="Settings and documents", open=False, position="left"):
            gr.Markdown("### Settings")
            answerer = gr.Radio(service.answerers(), value=service.default_answerer,
                                label="Answerer", elem_id="set-answerer")
            k = gr.Slider(1, 20, value=s.k, step=1, label="Passages given to the answerer (top-k)",
                          elem_id="set-k")
            mode = gr.Radio(service.retrievers(), value=s.retriever, label="Retrieval",
                            elem_id="set-mode")
            flt = filters.build()
            index_md = gr.Markdown(elem_id="index-state")
            gr.Markdown("### Documents")
            files = gr.File(file_count="multiple", file_types=[".txt", ".md", ".html"],
                            label="Add .txt, .md or .html articles", elem_id="upload")
            upload_md = gr.Markdown(elem_id="upload-summary")
            indexed = gr.Dropdown([], label="Indexed files", elem_id="indexed-files",
                                  allow_custom_value=False)
            remove = gr.Button("Remove this file from the index", variant="stop", size="sm")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Ask the articles", elem_id="chat", height="72vh",
                    buttons=["copy", "copy_all"], feedback_options=("Like", "Dislike"),
                    placeholder="**Ask a question about the indexed news articles.** Every "
                                "answer cites the passages it comes from; click a `[n]` to "
                                "see it.")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                     scale=8, submit_btn=True, elem_id="question", autofocus=True)
                    clear = gr.Button("New chat", scale=1, elem_id="new-chat")
            with gr.Column(scale=2, elem_id="sources-col"):
                sources = gr.HTML(render.sources_html(None), elem_id="sources",
                                  js_on_load=PANEL_JS, label="Sources")
        answer_json = gr.JSON(visible=False)

        # Defaults make the filters optional for /chat callers (gradio_client), old and new.
        def respond(message, sess, answerer_, k_, mode_, since=None, until=None, source=None,
                    as_of=None):
            yield from _respond(service, message, sess, answerer_, k_, mode_,
                                (since, until, source, as_of))

        outs = [chatbot, sources, box, state, answer_json]
        ins = [box, state, answerer, k, mode, *flt.inputs]
        box.submit(respond, ins, outs, api_name="chat", concurrency_id="answer")
        def pick(d: gr.SelectData) -> str:
            return d.value["text"]

        def like(sess: dict, d: gr.LikeData) -> None:
            _like(service, sess, d)

        chatbot.example_select(pick, None, box, api_visibility="private") \
            .then(respond, ins, outs, api_visibility="private", concurrency_id="answer")
        clear.click(lambda: ([], render.sources_html(None), "", new_session(), None), None, outs,
                    api_name="new_chat")
        chatbot.clear(lambda: (render.sources_html(None), new_session()), None, [sources, state],
                      api_visibility="private")
        chatbot.like(like, [state], None,
                     api_visibility="private")

        def on_upload(paths, progress=gr.Progress()):
            summary = service.upload(paths, progress=progress)
            return (render.upload_markdown(summary.as_dict()), *_index_view(service), None,
                    summary.as_dict())

        upload_json = gr.JSON(visible=False)
        # The filter's file list comes from the names the index view just read (a State is
        # not part of the API: /upload and /remove return what they returned before).
        view = [index_md, indexed, chatbot, known]
        files.upload(on_upload, [files], [upload_md, *view, files, upload_json],
                     api_name="upload", concurrency_id="ingest", concurrency_limit=1) \
            .then(filters.source_choices, [known, flt.source], [flt.source],
                  api_visibility="private")
        remove.click(lambda name: _remove(service, name), [indexed], [upload_md, *view],
                     api_name="remove", concurrency_id="ingest", concurrency_limit=1) \
            .then(filters.source_choices, [known, flt.source], [flt.source],
                  api_visibility="private")
        demo.load(lambda: _index_view(service), None, view, api_visibility="private") \
            .then(filters.source_choices, [known, flt.source], [flt.source],
                  api_visibility="private") \
            .then(filters.describe, flt.inputs, flt.status, api_visibility="private")

        def ask(question: str, history: list[dict] | None = None, k: int | None = None,
                since: str | None = None, until: str | None = None, source: str | None = None,
                as_of: str | None = None) -> dict:
            """Answer one question (optional history: [{"role", "content"}], optional k;
            optional filters: since/until YYYY-MM-DD publication dates, source an indexed file
            name, as_of the date relative time counts from); returns the answer record of
            `rag ask --json`."""
            return _ask_api(service, question, history, k, (since, until, source, as_of))

        gr.api(ask, api_name="ask", concurrency_id="answer")
    return demo


def _respond(service: Service, message, sess, answerer, k, mode, limits=(None,) * 4):
    """The chat handler: streams the answer into the chat and the sources panel together.
    `limits`: the panel's (since, until, source, as_of) fields."""
    message = (message or "").strip()
    sess = {**sess, "answers": dict(sess["answers"])}
    msgs = list(sess["messages"])
    if not message:
        yield msgs, gr.skip(), "", sess, gr.skip()
        return
    msgs.append({"role": "user", "content": render.esc(message)})
    pending = {"role": "assistant", "content": "…"}
    yield msgs + [pending], render.sources_html(None), "", sess, None
    text, answer = "", None
    try:
        when = filters.parse(*limits)
        chat = service.chat(sess["history"], answerer=answerer, retriever=mode, k=k, when=when)
        for item in chat.stream(message):
            if isinstance(item, Answer):
                answer = item
            else:
                text += item
                yield (msgs + [{"role": "assistant", "content": render.streaming_text(text)}],
                       gr.skip(), "", sess, gr.skip())
    except (ValueError, StoreError) as e:   # the engine's clear messages: empty index, too long…
        msgs.append({"role": "assistant",
                     "content": f'<span class="rag-error">⚠️ {render.esc(e)}</span>'})
        sess["messages"] = msgs
        yield msgs, render.sources_html(None), "", sess, None
        return
    searched = render.searched_for(answer)
    if searched:
        msgs.append({"role": "assistant", "content": render.esc(searched),
                     "metadata": {"title": "Searched for", "status": "done",
                                  "log": "the follow-up, made standalone"}})
    msgs.append({"role": "assistant", "content": render.answer_markdown(answer)})
    record = answer.to_dict()
    sess["answers"][str(len(msgs) - 1)] = {
        "answer": record, "config": {"answerer": answer.answerer, "retriever": mode, "k": k,
                                     "filters": when.describe()},
        "history": sess["history"]}
    sess["history"] = chat.history
    sess["messages"] = msgs
    yield msgs, render.sources_html(answer, service.document_text), "", sess, record


def _like(service: Service, sess: dict, data: gr.LikeData) -> None:
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    item = sess["answers"].get(str(index))
    if item is None:
        return       # a thumb on something that is not an answer (an error, the search box)
    if data.liked in (True, "Like"):
        verdict = "up"
    elif data.liked in (False, "Dislike"):
        verdict = "down"
    else:
        return       # a thumb taken back
    service.record_feedback(item["answer"], verdict, item["history"], item["config"])
    gr.Info("Thanks: feedback saved." if verdict == "up" else
            "Thanks: saved; it can become a test question (`rag feedback drafts`).")


def _index_view(service: Service):
    """The index state, the file list, the empty screen's example questions, and the file
    names (for the filter's list): one read of the file table."""
    try:
        stats, names = service.index_state()
        md = render.index_markdown(stats)
    except (StoreError, ValueError) as e:
        return (render.index_markdown(None, str(e)), gr.Dropdown(choices=[], value=None),
                gr.Chatbot(examples=None), [])
    examples = [{"text": q} for q in service.examples()] or None
    return (md, gr.Dropdown(choices=names, value=None), gr.Chatbot(examples=examples), names)


def _remove(service: Service, name: str | None):
    if not name:
        msg = "Pick a file in the list first."
    else:
        try:
            n = service.remove(name)
            msg = f"Removed **{render.esc(name)}** ({n} chunks) from the index."
        except (StoreError, ValueError) as e:
            msg = f"⚠️ {render.esc(e)}"
    return (msg, *_index_view(service))


def _ask_api(service: Service, question: str, history: list | None = None,
             k: int | None = None, limits=(None,) * 4) -> dict:
    """The `rag ask --json` record for one question (with optional history: a list of
    {"role", "content"} messages); the same answer, citations and offsets the page shows."""
    try:
        when = When.parse(*limits)     # the API's own parameter names in its messages
        return service.ask(question, _plain_history(history), int(k) if k else None,
                           when).to_dict()
    except (ValueError, StoreError) as e:
        raise gr.Error(str(e)) from None


def _plain_history(history) -> list[dict]:
    out = []
    for t in history or []:
        if not isinstance(t, dict) or t.get("role") not in ("user", "assistant"):
            continue
        content = t.get("content")
        if isinstance(content, list):       # Gradio sends [{"type": "text", "text": ...}]
            content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
        if isinstance(content, str) and content.strip():
            out.append({"role": t["role"], "content": content})
    return out

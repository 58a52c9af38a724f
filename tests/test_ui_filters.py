"""The web app's filters (issue 11): the /ask API's named since/until/source/as_of parameters
and the /chat endpoint's filter fields, against a real Gradio server on 127.0.0.1 driven by
gradio_client. The filter must reach the store's search: a filter that removes the otherwise-top
source changes which sources are cited, and a bad date is refused with a message saying why."""
from __future__ import annotations

import pytest

from tests.ui_support import ATMAR, build_store

gradio_client = pytest.importorskip("gradio_client")
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword")]

HAQQANI = "What role does Khalil Haqqani have?"
ARRESTED = "Who was arrested?"
OLD = "000_c73e7dc4e8ffbfc0.txt"      # undated, the top source for both questions unfiltered
BOUNTY = "001_e6efb181a4683f8c.txt"


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    from ui.server import start
    settings, _ = build_store(tmp_path_factory.mktemp("ui-filters"), embedder)
    demo, url, service = start(settings, port=0, embedder=embedder, quiet=True, warm=False)
    yield url, service
    demo.close()


def client(url):
    return gradio_client.Client(url, verbose=False)


def said(message: dict) -> str:
    c = message["content"]
    return c if isinstance(c, str) else " ".join(b.get("text", "") for b in c)


def cited(record: dict) -> set[str]:
    return {c["source"] for c in record["citations"]}


def test_ask_positional_call_without_filters_still_works(app):
    d = client(app[0]).predict(ATMAR, None, 3, api_name="/ask")    # question, history, k
    assert OLD in cited(d) and not any(n.startswith("Filtered") for n in d["notices"])


def test_source_filter_changes_the_cited_sources_and_says_so(app):
    c = client(app[0])
    plain = c.predict(question=HAQQANI, api_name="/ask")
    assert plain["citations"][0]["source"] == OLD
    d = c.predict(question=HAQQANI, source=BOUNTY, api_name="/ask")
    assert not d["abstained"] and cited(d) == {BOUNTY}
    # Pushed down: every passage the answerer saw is from that file, not only the cited ones.
    assert {p["source"] for p in d["passages"]} == {BOUNTY}
    assert f"Filtered: source {BOUNTY}." in d["notices"]


def test_date_filter_drops_undated_articles_inside_the_search(app):
    c = client(app[0])
    # Unfiltered, the undated article is among the passages (the answer may cite one article).
    assert OLD in {p["source"] for p in c.predict(question=ARRESTED, api_name="/ask")["passages"]}
    d = c.predict(question=ARRESTED, since="2024-12-01", until="2025-12-31", api_name="/ask")
    assert not d["abstained"] and OLD not in cited(d)
    assert d["passages"] and all(p["date"] and "2024-12-01" <= p["date"] <= "2025-12-31"
                                 for p in d["passages"])
    assert any(n.startswith("Filtered: since 2024-12-01, until 2025-12-31") for n in d["notices"])


@pytest.mark.parametrize("kwargs, says", [
    ({"since": "2024-13-01"}, "since: '2024-13-01' is not a date; use YYYY-MM-DD"),
    ({"as_of": "yesterday"}, "as of: 'yesterday' is not a date"),
    ({"since": "2025-01-01", "until": "2024-01-01"}, "swap them"),
    ({"source": "nope.txt"}, "no indexed file is named 'nope.txt'"),
])
def test_bad_filters_are_refused_with_a_clear_message(app, kwargs, says):
    with pytest.raises(gradio_client.exceptions.AppError, match=says):
        client(app[0]).predict(question=HAQQANI, api_name="/ask", **kwargs)


def test_chat_endpoint_takes_the_panel_filters(app):
    a = client(app[0])
    msgs, _, _, rec = a.predict(message=HAQQANI, source=BOUNTY, api_name="/chat")
    assert cited(rec) == {BOUNTY}
    assert "Filtered: source" in said(msgs[-1])
    # A bad date in the panel shows as an error in the chat, not a broken page.
    msgs, _, _, rec = a.predict(message=HAQQANI, since="14/01/2025", api_name="/chat")
    assert rec is None and "is not a date; use YYYY-MM-DD" in said(msgs[-1])


def test_the_file_filter_lists_the_indexed_files(app):
    from ui import filters
    _, service = app
    dd = filters.source_choices(service.sources(), keep=BOUNTY)
    values = [v for _, v in dd.choices]
    assert values[0] == "" and OLD in values and BOUNTY in values and dd.value == BOUNTY
    assert filters.source_choices(service.sources(), keep="gone.txt").value == ""


def test_as_of_anchors_relative_time_through_the_api(app):
    d = client(app[0]).predict(question="What happened last year?", as_of="2031-03-01",
                               api_name="/ask")
    assert any("2030-01-01 to 2030-12-31" in n for n in d["notices"])
    assert not any(n.startswith("Filtered") for n in d["notices"])    # as-of limits nothing

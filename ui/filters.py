"""The settings panel's filters: a publication-date range, one file, and the as-of date that
relative time ("last year") counts from. They are parsed by `rag.when.When`, the same code as
`rag ask --since/--until/--source/--as-of`, and reach the engine as its filter arguments, so the
store's search applies them (Chroma `where`, BM25 mask): never a filter after the top k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import gradio as gr

from rag.when import When

ALL_FILES = ("All files", "")


@dataclass
class FilterFields:
    since: gr.DateTime
    until: gr.DateTime
    source: gr.Dropdown
    as_of: gr.DateTime
    status: gr.Markdown

    @property
    def inputs(self) -> list:
        return [self.since, self.until, self.source, self.as_of]


def build() -> FilterFields:
    """The filter fields, laid out in the side panel (call inside it)."""
    gr.Markdown("### Filters")
    # Stacked: the side panel is too narrow for two date fields with their calendars.
    since = gr.DateTime(label="Published since", include_time=False,
                        type="string", elem_id="set-since")
    until = gr.DateTime(label="Published until", include_time=False,
                        type="string", elem_id="set-until")
    # A typed name is allowed (API callers never see the choices); the engine checks it
    # against the index and names close matches.
    source = gr.Dropdown([ALL_FILES], value="", label="Only this file", elem_id="set-source",
                         allow_custom_value=True)
    as_of = gr.DateTime(label="As of (what \"last year\" counts from)",
                        include_time=False, type="string", elem_id="set-as-of")
    status = gr.Markdown(elem_id="filter-state")
    fields = FilterFields(since, until, source, as_of, status)
    for f in fields.inputs:
        f.change(describe, fields.inputs, status, api_visibility="private", queue=False)
    return fields


def parse(since, until, source, as_of) -> When:
    """The panel's values as a When; ValueError with the field's name on a bad date."""
    return When.parse(since, until, source or None, as_of,
                      names={"since": "Published since", "until": "Published until",
                             "as_of": "As of"})


def describe(since, until, source, as_of) -> str:
    """What the filters do now, or what is wrong with them (shown under the fields)."""
    try:
        when = parse(since, until, source, as_of)
    except ValueError as e:
        return f"⚠️ {_md(e)}"
    parts = [_md(when.describe())] if when.filtering else []
    if when.as_of:
        parts.append(f"relative dates count from {when.as_of.isoformat()}")
    return ("Active: " + "; ".join(parts)) if parts else "No filters: every indexed article."


def _md(text: object) -> str:
    # Plain text in gr.Markdown: its punctuation and any markup escaped by backslash (the
    # component shows HTML entities literally, so html.escape would show as "&#x27;").
    return re.sub(r"([\\`*_\[\]{}#|~<>&])", r"\\\1", str(text))


def source_choices(names: list[str], keep: str | None = None) -> gr.Dropdown:
    """The file filter's choices after the index changed; the picked file stays picked while it
    is still indexed."""
    value = keep if keep in names else ""
    return gr.Dropdown(choices=[ALL_FILES, *names], value=value)

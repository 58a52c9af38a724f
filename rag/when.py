"""The time and source limits a user sets on questions: `--since/--until/--source/--as-of` in
`rag ask` and `rag chat`, the web app's filter fields and its /ask API. Parsed, checked and
described here once, so every front end accepts the same input and says the same thing.

The filter itself is built by `rag.news.filters` (a Chroma `where` the store and BM25 apply);
`describe` is the line an answer shows, so a user knows why some passages are missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

EXAMPLE = "2025-01-14"


def parse_day(value, name: str) -> date | None:
    """A date from "YYYY-MM-DD" (or a date), None for nothing; else ValueError naming `name`."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a date; use YYYY-MM-DD, e.g. {EXAMPLE}"
                         ) from None


def check_range(since: date | None, until: date | None, since_name: str = "since",
                until_name: str = "until") -> None:
    """The one check that a date range is not empty (forms, the CLI, and `Engine.ask` itself)."""
    if since and until and since > until:
        raise ValueError(f"{since_name} {since} is after {until_name} {until}: "
                         "no article can be in that range; swap them")


@dataclass(frozen=True)
class When:
    since: date | None = None
    until: date | None = None
    source: str | None = None
    as_of: date | None = None

    @classmethod
    def parse(cls, since=None, until=None, source=None, as_of=None, *,
              names: dict[str, str] | None = None) -> "When":
        """From text (a form, an API call) or dates (argparse). `names` maps a field to what the
        user calls it ("--since" on the command line), for the error message."""
        n = {"since": "since", "until": "until", "as_of": "as of", **(names or {})}
        when = cls(parse_day(since, n["since"]), parse_day(until, n["until"]),
                   (str(source).strip() or None) if source else None,
                   parse_day(as_of, n["as_of"]))
        check_range(when.since, when.until, n["since"], n["until"])
        return when

    def kwargs(self) -> dict:
        """Keyword arguments for `Engine.ask/stream` and `rag.query`: only the ones set, so an
        engine-like object without filters still serves an unfiltered chat."""
        given = {"as_of": self.as_of, "since": self.since, "until": self.until,
                 "source": self.source}
        return {k: v for k, v in given.items() if v is not None}

    @property
    def filtering(self) -> bool:
        return bool(self.since or self.until or self.source)

    def describe(self) -> str:
        """'since 2024-01-01, source 003.txt' ('' when nothing limits the passages)."""
        parts = []
        if self.since:
            parts.append(f"since {self.since.isoformat()}")
        if self.until:
            parts.append(f"until {self.until.isoformat()}")
        if self.source:
            parts.append(f"source {self.source}")
        return ", ".join(parts)

    def notice(self) -> str | None:
        """The line an answer carries while filters are on."""
        if not self.filtering:
            return None
        undated = " (undated articles are left out)" if self.since or self.until else ""
        return f"Filtered: {self.describe()}{undated}."

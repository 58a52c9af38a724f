"""The client for a Chroma server (`chroma run`), for deployments where several app processes
serve one index: `RAG_CHROMA_URL=http://host:port` or `--chroma-url`.

In server mode the server holds the chunks and vectors; the store folder (RAG_STORE) still holds
the small things: which generation is live, the writer lock, the version marker open engines
watch, and the BM25 index, a cache rebuilt from the server's collection whenever its fingerprint
differs (see rag/bm25.py). Collections are named after the generation, so `--rebuild` still
builds beside the live index and switches only when complete.

chromadb's HTTP client waits forever by default (httpx timeout=None); a server that is down or
stops answering must give a clear error within seconds instead, so the server is checked first
with a short timeout and the client's own session gets finite timeouts.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

CONNECT_TIMEOUT = 5.0      # seconds to reach the server
READ_TIMEOUT = 120.0       # seconds for one request (a 1,000-chunk upsert included)
MARKER = "REMOTE"          # in a generation folder: its collections live on this server


class ServerError(ValueError):
    """The Chroma server cannot be used; the message names the URL and the fix."""


def parse_url(url: str) -> tuple[str, int, bool]:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(f"RAG_CHROMA_URL / --chroma-url must look like http://host:port, got "
                          f"{url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError:
        raise ServerError(f"the port in {url!r} is not a number; use http://host:port") from None
    return parts.hostname, port, parts.scheme == "https"


def _fix(url: str) -> str:
    return (f"Start it (`chroma run --path DIR --host 127.0.0.1 --port PORT`, shipped with "
            f"chromadb), point RAG_CHROMA_URL at a running one, or unset RAG_CHROMA_URL to use "
            f"the local store folder. (Server: {url})")


def check_server(url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise ServerError within `timeout` seconds unless a Chroma server answers at `url`."""
    base = url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/api/v2/heartbeat", timeout=timeout) as r:
            body = json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise ServerError(f"the server at {base} refused the Chroma heartbeat (HTTP {e.code}); is "
                          f"it a Chroma 1.x server? {_fix(base)}") from None
    except (OSError, ValueError) as e:      # refused, timed out, unreachable, not JSON
        reason = getattr(e, "reason", e)
        raise ServerError(f"cannot reach the Chroma server at {base}: {reason}. "
                          f"{_fix(base)}") from None
    if not isinstance(body, dict) or not any("heartbeat" in k for k in body):
        raise ServerError(f"{base} answered, but not as a Chroma server does. {_fix(base)}")


def http_client(url: str, settings):
    """A chromadb HttpClient for `url`, with finite timeouts."""
    host, port, ssl = parse_url(url)
    check_server(url)
    import chromadb
    import httpx
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
    except Exception as e:     # the network boundary: any failure becomes one clear message
        raise ServerError(f"could not open the Chroma server at {url}: {type(e).__name__}: {e}. "
                          f"{_fix(url)}") from None
    # chromadb exposes no timeout setting for its HTTP client; its session is an httpx.Client.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:
        session.timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return client

"""An OpenAI-compatible server on 127.0.0.1 for tests: the real `openai` client talks to it.

    with FakeOpenAI(models=["tiny"], api_key="sk-test") as srv:
        srv.enqueue(Reply("Baradar was freed in 2018 [1]."))
        srv.enqueue(Reply(status=429), Reply("ok [1]"))        # rate limited, then fine
        srv.always(Reply(status=500))                          # every request fails
        ... Settings(openai_base_url=srv.base_url, openai_api_key="sk-test", ...)

Replies are scripted in order (`enqueue`); with none queued the `always` reply (default: "OK.")
is used. A reply can sleep before answering, fail with a status, or cut its stream after a few
chunks (abruptly, or cleanly without a finish_reason). Every request body lands in `requests`.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

EMBED_DIM = 64


@dataclass(frozen=True)
class Reply:
    text: str = "OK."
    status: int = 200
    delay: float = 0.0            # seconds before the response starts
    cut_after: int | None = None  # stream only this many chunks, then drop the connection
    clean_cut: bool = False       # with cut_after: end the body properly, but with no finish_reason
    chunk_chars: int = 4          # characters per streamed delta


class FakeOpenAI:
    def __init__(self, models: tuple[str, ...] | list[str] = ("fake-model",),
                 api_key: str | None = "sk-test"):
        self.models, self.api_key = list(models), api_key
        self.requests: list[dict] = []
        self.hits = 0                 # every request, refused ones included
        self._queue: deque[Reply] = deque()
        self._always = Reply()
        self._lock = threading.Lock()
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server = uvicorn.Server(uvicorn.Config(self._app(), host="127.0.0.1", port=self.port,
                                                     log_level="critical", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    # --- scripting ---------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def always(self, reply: Reply) -> None:
        with self._lock:
            self._queue.clear()
            self._always = reply

    def _next(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self._always

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if "messages" in r]

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    # --- the app -----------------------------------------------------------------------------
    def _app(self) -> FastAPI:
        app = FastAPI()

        def refused(request: Request) -> JSONResponse | None:
            self.hits += 1
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if self.api_key is not None and given != self.api_key:
                return _error(401, "Incorrect API key provided.", "invalid_api_key")
            return None

        @app.get("/v1/models")
        async def models(request: Request):
            if denied := refused(request):
                return denied
            return {"object": "list", "data": [{"id": m, "object": "model", "created": 0,
                                                "owned_by": "fake"} for m in self.models]}

        @app.post("/v1/embeddings")
        async def embeddings(request: Request):
            if denied := refused(request):
                return denied
            body = await request.json()
            self.requests.append(body)
            texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
            b64 = body.get("encoding_format", "base64") == "base64"   # the client's default
            data = [{"object": "embedding", "index": i,
                     "embedding": _b64(v) if b64 else v.tolist()}
                    for i, v in enumerate(bag_of_words(texts))]
            return {"object": "list", "data": data, "model": body.get("model", ""),
                    "usage": {"prompt_tokens": 0, "total_tokens": 0}}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            if denied := refused(request):
                return denied
            body = await request.json()
            self.requests.append(body)
            if body.get("model") not in self.models:
                return _error(404, f"The model `{body.get('model')}` does not exist.",
                              "model_not_found")
            reply = self._next()
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.status != 200:
                # Retry-After as OpenAI sends it: the client's own backoff honours it, which
                # keeps retry tests quick.
                return _error(reply.status, f"scripted failure {reply.status}", "server_error",
                              {"retry-after-ms": "20"})
            if body.get("stream"):
                return StreamingResponse(_sse(reply, body["model"]), media_type="text/event-stream")
            return _completion(reply.text, body["model"])

        return app


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                   "param": None, "code": code}}, status_code=status,
                        headers=headers)


def _chunk(model: str, delta: dict, finish: str | None) -> str:
    obj = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(obj)}\n\n"


async def _sse(reply: Reply, model: str):
    pieces = [reply.text[i:i + reply.chunk_chars]
              for i in range(0, len(reply.text), reply.chunk_chars)]
    yield _chunk(model, {"role": "assistant", "content": ""}, None)
    for i, piece in enumerate(pieces):
        if reply.cut_after is not None and i >= reply.cut_after:
            if reply.clean_cut:
                return                       # body ends properly: no finish_reason, no [DONE]
            # Not an OSError (Starlette would take that for a client disconnect and end the body
            # properly): uvicorn closes the connection mid-body, as a crashed server would.
            raise RuntimeError("scripted stream cut")
        yield _chunk(model, {"content": piece}, None)
        await asyncio.sleep(0)
    yield _chunk(model, {}, "stop")
    yield "data: [DONE]\n\n"


def _completion(text: str, model: str) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def bag_of_words(texts: list[str]) -> np.ndarray:
    """Deterministic embeddings where shared words mean similar vectors (not random, so ranking
    in a test means something): each lower-cased word adds to a dimension picked by its hash."""
    out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in re.findall(r"\w+", t.lower()):
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % EMBED_DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def _b64(v: np.ndarray) -> str:
    return base64.b64encode(np.asarray(v, dtype=np.float32).tobytes()).decode("ascii")

"""Start and stop a local `chroma run` server (the CLI ships in the chromadb wheel), for the
benchmark's client/server mode and the integration tests."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chroma_cli() -> str:
    here = Path(sys.executable).with_name("chroma")
    found = str(here) if here.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` command is missing; it ships with chromadb "
                           "(pip install chromadb) in the same environment as this Python")
    return found


@contextlib.contextmanager
def chroma_server(path: Path, port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Run `chroma run` on 127.0.0.1 with its data in `path`; yields the server's URL."""
    port = port or free_port()
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    log = open(Path(path).parent / f"chroma-{port}.log", "wb")
    proc = subprocess.Popen([chroma_cli(), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`chroma run` did not come up on {url}; see {log.name}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

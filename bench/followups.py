"""Follow-up questions: how many are answered right, and for the ones that are not, whether the
rewrite or the answer failed.

usage: .venv/bin/python bench/followups.py [--qa FILE] [--store DIR] [--show]

Every Q&A entry with a `history` is asked through the engine with its history, exactly as
`rag eval` asks it (a fresh store built from the corpus unless --store is given). An entry may
carry `refers_to`: the names (any one suffices) the standalone question must contain for the
pronoun or the elided subject to have been resolved right ("When was he released?" after "Who
is Baradar?": ["Baradar"]; the eval's `rewrite_ok` metric). A wrong answer is then put down to the rewrite when the rewritten
question names none of them, else to retrieval or the answerer (with the eval's failure label:
false_abstention, reader_miss, retrieval_miss...).

Figures are printed for all follow-ups and for the even- and odd-numbered ids apart (the
resolver's rules were tuned on the even ids: eval.dataset.half_of's tuning half, the one
definition every tuner and table uses).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def follow_up_lines(qa: Path) -> list[dict]:
    return [json.loads(x) for x in qa.read_text("utf-8").splitlines()
            if x.strip() and json.loads(x).get("history")]


def run(qa: Path, store: str | None) -> list[dict]:
    from eval.run import eval_settings, run_eval
    from rag.settings import Settings
    lines = follow_up_lines(qa)
    with tempfile.TemporaryDirectory(prefix="followups-") as tmp:
        sub = Path(tmp) / "followups.jsonl"
        sub.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
        settings = eval_settings(Settings.from_env())
        if store:
            settings = settings.with_(store=Path(store))
        with contextlib.redirect_stderr(io.StringIO()):
            result = run_eval(settings, sub, fresh=store is None, progress=False)
    out = []
    for r in result.records:
        rewritten = r["answer"].get("rewritten") or r["question"]
        out.append({"id": r["id"], "question": r["question"], "rewritten": rewritten,
                    "answerable": r["answerable"], "correct": r["correct"], "label": r["label"],
                    "rewrite_ok": r["scores"]["rewrite_ok"],      # eval.metrics.rewrite_ok
                    "confidence": r.get("confidence"),
                    "answer": r["answer"]["answer"][:160]})
    return out


def report(rows: list[dict]) -> dict:
    def part(keep) -> dict:
        sub = [r for r in rows if keep(r) and r["answerable"]]
        wrong = [r for r in sub if not r["correct"]]
        return {"n": len(sub), "correct": sum(r["correct"] for r in sub),
                "accuracy": round(sum(r["correct"] for r in sub) / len(sub), 3) if sub else None,
                "rewrite_right": sum(bool(r["rewrite_ok"]) for r in sub),
                "wrong_rewrites": [r["id"] for r in sub if r["rewrite_ok"] is False],
                "wrong_rewrite": sum(r["rewrite_ok"] is False for r in wrong),
                "right_rewrite_answer_failed": dict(Counter(
                    r["label"] for r in wrong if r["rewrite_ok"] is not False))}
    from eval.dataset import half_of
    return {"all": part(lambda r: True), "even ids": part(lambda r: half_of(r["id"]) == "tune"),
            "odd ids": part(lambda r: half_of(r["id"]) == "held")}


def main(argv=None) -> int:
    from eval.run import DEFAULT_QA
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", type=Path, default=DEFAULT_QA)
    ap.add_argument("--store", help="an existing index instead of a fresh one from the corpus")
    ap.add_argument("--show", action="store_true", help="print every follow-up's rewrite")
    args = ap.parse_args(argv)
    rows = run(args.qa, args.store)
    if args.show:
        for r in rows:
            mark = "ok " if r["correct"] else "BAD"
            ref = {True: "", False: "  [wrong rewrite]", None: ""}[r["rewrite_ok"]]
            print(f"{mark} {r['id']} {r['question']!r} -> {r['rewritten']!r}{ref} "
                  f"({r['label']}, conf {r['confidence'] or 0:.2f}) :: {r['answer'][:90]!r}")
    print(json.dumps(report(rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-question metrics, exactly as ../shared/docs/eval.md defines them, over plain data.

Inputs are an answer dict (`Answer.to_dict()`), a `QAItem` and the evidence spans located in the
article texts. Nothing here knows about chunk ids, stores or the engine: gold is anchored to
character spans, so any re-chunking is scored the same way.

Every score is a number, a bool, or `None` when it is undefined for the question (e.g. evidence
recall of an unanswerable question). Aggregates average only the defined values and report how
many there were, so a missing value is never silently counted as 0.

Two readings the spec leaves open, decided here and stated in every report:
* "alias is a substring" is checked at token boundaries (" 10 " in " in 2010 " is not a match),
  as the dataset lint does; otherwise "10" would be found inside "2010".
* an abstained answer is scored as an empty answer: the structured flag wins over text.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import PurePath
from typing import Iterable, Sequence

from eval.normalize import normalize, tokens

Span = tuple[str, int, int]     # (source file name, start, end) in the file text

RELEVANCE = 0.5                 # share of an evidence span a chunk must cover to be relevant


# --------------------------------------------------------------------------- spans and text
def _same_source(a: str, b: str) -> bool:
    # Chunks may carry a path where the Q&A file names the file; the corpus is flat.
    return a == b or PurePath(a).name == PurePath(b).name


def relevant(passage: dict, span: Span) -> bool:
    """overlap(chunk, span) / len(span) >= 0.5, in the same source file."""
    src, s, t = span
    if t <= s or not _same_source(passage["source"], src):
        return False
    overlap = max(0, min(passage["end"], t) - max(passage["start"], s))
    return overlap / (t - s) >= RELEVANCE


def _aliases(answers: Iterable[str]) -> list[str]:
    # An alias that normalises to "" would be "contained" in everything; lint reports those.
    return [a for a in (normalize(x) for x in answers) if a]


def contains_alias(text: str, aliases: Sequence[str]) -> bool:
    """Some normalised alias occurs in the normalised text, at token boundaries."""
    padded = f" {normalize(text)} "
    return any(f" {a} " in padded for a in _aliases(aliases))


# --------------------------------------------------------------------------- retrieval
def first_relevant_rank(passages: Sequence[dict], spans: Sequence[Span]) -> int | None:
    for rank, p in enumerate(passages, start=1):
        if any(relevant(p, sp) for sp in spans):
            return rank
    return None


def ndcg(passages: Sequence[dict], spans: Sequence[Span], k: int) -> float:
    """Binary relevance; ideal DCG over min(#spans, k) relevant items (not over what was
    retrieved, which is the LlamaIndex bug the spec calls out)."""
    dcg = sum(1 / math.log2(r + 1) for r, p in enumerate(passages[:k], start=1)
              if any(relevant(p, sp) for sp in spans))
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(spans), k) + 1))
    # Two overlapping chunks can both be relevant to one span, pushing DCG past this ideal.
    return min(1.0, dcg / ideal)


def retrieval_scores(passages: Sequence[dict], spans: Sequence[Span], answers: Sequence[str],
                     k: int, count_tokens) -> dict:
    """hit, MRR, evidence recall, nDCG, answer-in-context and context tokens @k.

    Span-based scores are None without evidence spans (unanswerable questions); answer-in-context
    is None without aliases. Context tokens are defined for every question."""
    top = list(passages[:k])
    out: dict = {"context_tokens": sum(count_tokens(p["text"]) for p in top)}
    rank = first_relevant_rank(top, spans) if spans else None
    if spans:
        out["hit"] = rank is not None
        out["mrr"] = 1 / rank if rank else 0.0
        out["evidence_recall"] = sum(any(relevant(p, sp) for p in top) for sp in spans) / len(spans)
        out["ndcg"] = ndcg(top, spans, k)
    else:
        out.update(hit=None, mrr=None, evidence_recall=None, ndcg=None)
    out["first_relevant_rank"] = rank
    out["answer_in_context"] = (any(contains_alias(p["text"], answers) for p in top)
                                if _aliases(answers) else None)
    return out


# --------------------------------------------------------------------------- answers
def f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """SQuAD token F1 on token lists."""
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def token_recall(pred: Sequence[str], gold: Sequence[str]) -> float:
    if not gold:
        return 0.0
    return sum((Counter(pred) & Counter(gold)).values()) / len(gold)


def answer_scores(text: str, answers: Sequence[str]) -> dict:
    """EM, F1, containment, token recall: each the maximum over aliases."""
    if not answers:
        return dict(em=None, f1=None, containment=None, token_recall=None)
    pred = tokens(text)
    golds = [tokens(a) for a in answers]
    return {
        "em": max(normalize(text) == normalize(a) for a in answers),
        "f1": max(f1(pred, g) for g in golds),
        "containment": contains_alias(text, answers),
        "token_recall": max(token_recall(pred, g) for g in golds),
    }


# --------------------------------------------------------------------------- citations
def cited_numbers(answer: dict) -> list[int]:
    """Citation numbers as the sentences give them, each counted once per sentence: [1][1] in one
    sentence is one citation, the same [1] in two sentences is two."""
    nums: list[int] = []
    for s in answer.get("sentences", []):
        nums.extend(dict.fromkeys(s.get("citations", [])))
    return nums


def citation_scores(answer: dict, spans: Sequence[Span], answers: Sequence[str]) -> dict:
    """Validity, precision, recall, supported answer, share of supported sentences."""
    shown = {p["n"]: p for p in answer.get("passages", [])}
    nums = cited_numbers(answer)
    cited = [shown[n] for n in dict.fromkeys(nums) if n in shown]   # distinct, valid
    sentences = answer.get("sentences", [])
    out = {
        "citation_validity": sum(n in shown for n in nums) / len(nums) if nums else None,
        "supported_sentences": (sum(bool(s.get("supported")) for s in sentences) / len(sentences)
                                if sentences else None),
        "citation_precision": None, "citation_recall": None, "supported_answer": None,
    }
    if not answers:      # precision/recall/support are about gold, which unanswerables lack
        return out
    if cited:
        out["citation_precision"] = sum(
            any(relevant(p, sp) for sp in spans) or contains_alias(p["text"], answers)
            for p in cited) / len(cited)
    if spans:
        out["citation_recall"] = sum(any(relevant(p, sp) for p in cited) for sp in spans) / len(spans)
    out["supported_answer"] = any(contains_alias(p["text"], answers) for p in cited)
    return out


# --------------------------------------------------------------------------- abstention, labels
def is_correct(answerable: bool, abstained: bool, containment: bool | None) -> bool:
    """The one verdict used for flips, McNemar, CRAG and pinned questions: an answerable question
    answered (not abstained) with an alias contained; an unanswerable question abstained on."""
    return (not abstained and bool(containment)) if answerable else abstained


def crag(answerable: bool, abstained: bool, containment: bool | None) -> int:
    """+1 correct answer, 0 abstention (either kind of question), -1 any other answer."""
    if abstained:
        return 0
    return 1 if answerable and containment else -1


def failure_label(answerable: bool, abstained: bool, s: dict) -> str:
    """The first that applies, in the spec's order."""
    if answerable and s.get("hit") is False:
        return "retrieval_miss"
    if answerable and abstained:
        return "false_abstention"
    if answerable and not s["containment"] and s.get("answer_in_context"):
        return "reader_miss"
    if (not answerable and not abstained) or (answerable and not s["containment"]):
        return "hallucination"
    if answerable and not s.get("supported_answer"):
        return "bad_citation"
    return "ok"


def score_question(answer: dict, item, spans: Sequence[Span], k: int, count_tokens) -> dict:
    """All per-question scores for one answer dict against one QAItem."""
    abstained = bool(answer["abstained"])
    text = "" if abstained else answer.get("answer", "")
    s = retrieval_scores(answer.get("passages", []), spans, item.answers, k, count_tokens)
    s.update(answer_scores(text, item.answers))
    s.update(citation_scores(answer, spans, item.answers) if not abstained else
             dict.fromkeys(("citation_validity", "supported_sentences", "citation_precision",
                            "citation_recall", "supported_answer")))
    s["noans_accuracy"] = None if item.answerable else abstained
    s["false_abstention"] = abstained if item.answerable else None
    s["crag_score"] = crag(item.answerable, abstained, s["containment"])
    s["accuracy"] = is_correct(item.answerable, abstained, s["containment"])
    s["time_ok"] = time_ok(answer, item, s["containment"])
    s["rewrite_ok"] = rewrite_ok(answer, item)
    s["answer_tokens"] = count_tokens(text)
    s["label"] = failure_label(item.answerable, abstained, s)
    return s


def rewrite_ok(answer: dict, item) -> bool | None:
    """For follow-ups with `refers_to`, None otherwise: the question the system searched with
    (`rewritten`) names one of the entities the follow-up refers to. Apart from the answer, so
    a wrong follow-up answer can be put down to the rewrite or to what came after it."""
    refers = getattr(item, "refers_to", ())
    if not refers:
        return None
    searched = (answer.get("rewritten") or answer.get("question") or "").lower()
    return any(name.lower() in searched for name in refers)


def time_ok(answer: dict, item, containment) -> bool | None:
    """For time and conflict questions (items with `date` or `conflict`), None otherwise: the
    answer is right (containment) and rests on the article of the expected date (an answer
    citation carries it, or the answer's `as_of` is it), and every expected conflicting source
    is shown in the answer's `conflicts`."""
    date, conflict = getattr(item, "date", None), getattr(item, "conflict", ())
    if not date and not conflict:
        return None
    if answer.get("abstained") or not containment:
        return False
    if date and answer.get("as_of") != date and \
            not any(c.get("date") == date for c in answer.get("citations", [])):
        return False
    if conflict:
        shown = {cl["source"] for c in answer.get("conflicts") or [] for cl in c["claims"]}
        if not set(conflict) <= shown:
            return False
    return True


# --------------------------------------------------------------------------- aggregates
# Every summary metric is the mean of a per-question value over the questions where it is
# defined; that is what makes paired bootstrap comparison uniform across metrics.
METRICS = ("hit", "mrr", "evidence_recall", "ndcg", "answer_in_context", "context_tokens",
           "em", "f1", "containment", "token_recall",
           "citation_validity", "citation_precision", "citation_recall", "supported_answer",
           "supported_sentences", "noans_accuracy", "false_abstention", "crag_score", "accuracy",
           "time_ok", "rewrite_ok", "answer_tokens")
RETRIEVAL = METRICS[:6]
LOWER_IS_BETTER = frozenset({"false_abstention"})
NOT_QUALITY = frozenset({"context_tokens", "answer_tokens"})   # costs: reported, never gated


def mean_scores(scores: Sequence[dict], names: Sequence[str] = METRICS) -> tuple[dict, dict]:
    """({metric: mean over defined values or None}, {metric: how many were defined})."""
    means, counts = {}, {}
    for name in names:
        vals = [float(s[name]) for s in scores if s.get(name) is not None]
        means[name] = sum(vals) / len(vals) if vals else None
        counts[name] = len(vals)
    return means, counts


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def latency(timings: Sequence[dict]) -> dict:
    """{stage: {"p50", "p95", "n"}} in ms for every stage any answer reported."""
    stages = sorted({k for t in timings for k in t})
    out = {}
    for st in stages:
        vals = [float(t[st]) for t in timings if t.get(st) is not None]
        out[st] = {"p50": percentile(vals, 50), "p95": percentile(vals, 95), "n": len(vals)}
    return out


def hit_curve(scores: Sequence[dict], k: int) -> list[float | None]:
    """hit@j for j = 1..k from each question's first relevant rank (one run gives the curve)."""
    ranked = [s for s in scores if s.get("hit") is not None]
    if not ranked:
        return [None] * k
    return [sum(1 for s in ranked if s["first_relevant_rank"] and s["first_relevant_rank"] <= j)
            / len(ranked) for j in range(1, k + 1)]


def threshold_curve(rows: Sequence[tuple[bool, bool, float | None]]) -> list[dict]:
    """noans_accuracy and false_abstention if the system also abstained below a confidence
    threshold t. rows: (answerable, abstained, confidence). An answer already abstained on
    stays abstained (there is no answer to restore); one without a confidence is never
    turned into an abstention. Thresholds: every distinct confidence, plus one above all."""
    confs = sorted({c for _, _, c in rows if c is not None})
    if not confs:
        return []
    curve = []
    for t in confs + [confs[-1] + 1e-9]:
        ab = [(a, abst or (c is not None and c < t)) for a, abst, c in rows]
        un = [x for a, x in ab if not a]
        an = [x for a, x in ab if a]
        curve.append({"threshold": t,
                      "noans_accuracy": sum(un) / len(un) if un else None,
                      "false_abstention": sum(an) / len(an) if an else None})
    return curve

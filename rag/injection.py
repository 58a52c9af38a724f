"""Article text is data, never instructions to the model (prompt injection).

Three defences, each at its own layer:
1. The prompt (rag/prompt.py, rag/prompts/) quotes every passage between <passage> tags that
   the passage text cannot close or forge, and the system prompt says that instructions inside
   passages are content, not commands.
2. The NO_ANSWER sentinel is read only at the start of the model's reply; the token is removed
   from passage text before the model sees it, so a document cannot hand it to the model.
3. A model may still obey an injected line. Citation checking then treats sentences addressed
   to the model ("reply only with the word X", "ignore previous instructions") as no evidence:
   an answer that only echoes such a line is never marked supported, and the answer carries a
   notice naming the passage.
"""
from __future__ import annotations

import re

from .text import sentence_spans

SENTINEL_IN_TEXT = re.compile(r"\bNO[_-]ANSWER\b", re.IGNORECASE)
SENTINEL_STAND_IN = "[abstention marker]"

# Wording that addresses a language model rather than reporting news. Kept narrow: news quotes
# people answering, replying and ignoring things all the time ("he declined to answer").
_ADDRESSED = re.compile(r"""
    \b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+)*
        (?:previous|prior|above|earlier|preceding|system|original)\b
  | \b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*
        (?:instructions?|prompts?|rules)\b
  | \b(?:reply|respond|answer|say|write|output|print|return)\b[^.!?\n]{0,30}?
        \b(?:only|just|exactly|solely)\b[^.!?\n]{0,20}?
        \b(?:with\s+)?the\s+(?:word|words|text|phrase|string|token|letters?)\b
  | \b(?:reply|respond|answer)\s+(?:only\s+|just\s+)?with\s+(?:the\s+)?(?:word|text|phrase|string)\b
  | \b(?:you\s+are|act\s+as)\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|chatbot|language\s+model|llm)\b
  | \b(?:system\s+prompt|new\s+instructions|developer\s+mode|jailbreak)\b
  | \bNO[_-]ANSWER\b
""", re.IGNORECASE | re.VERBOSE)


def addressed_to_model(sentence: str) -> bool:
    return bool(_ADDRESSED.search(sentence))


def without_instructions(text: str) -> str:
    """The text with every sentence addressed to the model blanked (same length, so offsets
    hold): what is left is what the article reports."""
    if not _ADDRESSED.search(text):
        return text
    out = list(text)
    for s, e in sentence_spans(text):
        if _ADDRESSED.search(text[s:e]):
            out[s:e] = " " * (e - s)
    return "".join(out)


def quote_for_prompt(text: str) -> str:
    """Passage text as it goes between <passage> tags: angle brackets escaped (the text cannot
    close its tag or open a new one) and the sentinel token replaced."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return SENTINEL_IN_TEXT.sub(SENTINEL_STAND_IN, text)


def quote_attribute(text: str) -> str:
    return quote_for_prompt(text).replace('"', "&quot;").replace("\n", " ")

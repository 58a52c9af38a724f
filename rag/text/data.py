"""The language data the text kit reads, shipped in rag/text/data/ with its licences (see the
README there) and loaded through nltk's and tiktoken's public APIs: nothing is downloaded and
nothing is read from another package's private folders."""
from __future__ import annotations

import functools
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def read_stopwords() -> frozenset[str]:
    return frozenset((DATA / "stopwords_english.txt").read_text(encoding="utf-8").split())


@functools.lru_cache(maxsize=1)
def punkt():
    """NLTK's English Punkt model, from its punkt_tab files (nltk.data.load would only look
    under NLTK_DATA and would try to download)."""
    from nltk.tabdata import PunktDecoder
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    d = DATA / "punkt_english"
    p, dec = PunktParameters(), PunktDecoder()
    with open(d / "collocations.tab", encoding="utf-8") as f:
        p.collocations = set(dec.tab2tups(f))
    with open(d / "sent_starters.txt", encoding="utf-8") as f:
        p.sent_starters = dec.txt2set(f)
    with open(d / "abbrev_types.txt", encoding="utf-8") as f:
        p.abbrev_types = dec.txt2set(f)
    with open(d / "ortho_context.tab", encoding="utf-8") as f:
        p.ortho_context = dec.tab2intdict(f)
    return PunktSentenceTokenizer(p)


def tiktoken_encoding(name: str):
    """A tiktoken encoding from the shipped BPE file. tiktoken looks for it in the folder named
    by TIKTOKEN_CACHE_DIR (its documented cache), under the sha1 of its download URL, and checks
    its sha256; we point that variable at our copy for this one load and put the user's back."""
    import os

    import tiktoken
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(DATA / "tiktoken_cache")
    try:
        return tiktoken.get_encoding(name)
    finally:
        if saved is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved

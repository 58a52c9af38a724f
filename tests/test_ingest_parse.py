"""The parsing half of ingest on the real corpus files: read, clean, split, chunk."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest import clean
from ingest.chunk import chunk_document
from ingest.read import IngestError, discover, read_source
from ingest.split import parse_articles, segment
from rag import tokens
from rag.settings import default_corpus

CORPUS = default_corpus()
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
FILES = {name[:3]: CORPUS / name for name in (
    "000_c73e7dc4e8ffbfc0.txt", "001_e6efb181a4683f8c.txt", "002_5edc88af400f5deb.txt",
    "003_f62552b4376e47fb.txt", "004_e30819fc19684813.txt")}


@pytest.fixture(scope="module")
def docs():
    return {k: read_source(p) for k, p in FILES.items()}


@pytest.fixture(scope="module")
def parsed(docs):
    return {k: parse_articles(d) for k, d in docs.items()}


def chunks_of(docs, parsed, key, size=200, overlap=40):
    return chunk_document(docs[key], parsed[key], size, overlap)


def all_text(chunks):
    return "\n".join(c.text for c in chunks)


# --- offsets, budget, overlap, ids ----------------------------------------------------------------

@pytest.mark.parametrize("size,overlap", [(64, 10), (200, 40), (512, 64)])
def test_every_chunk_round_trips_and_respects_the_budget(docs, parsed, size, overlap):
    for key, path in FILES.items():
        checker_text = open(path, encoding="utf-8").read()   # the citation checker's view
        assert docs[key].text == checker_text
        chunks = chunks_of(docs, parsed, key, size, overlap)
        assert chunks, key
        for c in chunks:
            assert checker_text[c.start:c.end] == c.text
            assert c.text == c.text.strip() and c.text
            assert tokens.count(c.text) <= size, (key, c.start)
            art = parsed[key][c.article].article
            assert art.start <= c.start < c.end <= art.end
            assert c.title == art.title and c.date == art.date and c.source == path.name


def test_chunks_never_span_a_removed_line(docs, parsed):
    for key, doc in docs.items():
        kept = {span for pa in parsed[key] for span in pa.blocks}
        lines = clean.lines(doc.text)
        for c in chunks_of(docs, parsed, key, 512, 64):
            inside = [ln for ln in lines if ln.start < c.end and ln.end > c.start]
            assert all((ln.start, ln.end) in kept for ln in inside), (key, c.text[:80])


def test_consecutive_chunks_overlap_by_whole_sentences(docs, parsed):
    chunks = chunks_of(docs, parsed, "003", 200, 40)
    pairs = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.article == b.article]
    overlapping = [(a, b) for a, b in pairs if b.start < a.end]
    assert len(overlapping) >= len(pairs) // 3
    for a, b in overlapping:
        shared = docs["003"].text[b.start:a.end]
        assert tokens.count(shared) <= 40 + 2
        assert b.end > a.end                       # every chunk brings new text
    no_overlap = chunks_of(docs, parsed, "003", 200, 0)
    assert all(b.start >= a.end for a, b in zip(no_overlap, no_overlap[1:]))


def test_chunk_ids_are_deterministic_and_unique(docs):
    first = [c.id for k, d in docs.items() for c in chunk_document(d, parse_articles(d), 200, 40)]
    again = [c.id for k in FILES for c in chunk_document(
        read_source(FILES[k]), parse_articles(read_source(FILES[k])), 200, 40)]
    assert first == again
    assert len(set(first)) == len(first)


def test_sentence_longer_than_budget_is_cut_at_token_boundaries(tmp_path):
    words = " ".join(f"word{i}" for i in range(400))
    p = tmp_path / "long.txt"
    p.write_text(f"A headline about nothing\n\n{words} ends here. Short tail sentence.\n",
                 encoding="utf-8")
    doc = read_source(p)
    chunks = chunk_document(doc, parse_articles(doc), 64, 10)
    assert len(chunks) >= 400 // 64
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text and tokens.count(c.text) <= 64
    covered = "".join(doc.text[c.start:c.end] for c in chunks)
    assert "word0 " in covered and "word399" in covered


# --- splitting and cleaning on the corpus ---------------------------------------------------------

def test_003_is_ten_articles_with_their_titles(parsed):
    assert [pa.article.title for pa in parsed["003"]] == [
        "Birds of a Feather, in Ideology: What is the relationship between the Islamic Emirate "
        "and Hamas?",
        "Taliban accuse Pakistan of conducting strikes inside Afghanistan",
        "Behind Afghanistan’s Fall, U.S.-Backed Militias Worse Than the Taliban",
        "In Afghanistan, Trump will have to play a balancing game",
        "Stanikzai Calls for Regional Unity Against West",
        "Saudi Embassy resumes operations in Kabul after one-year hiatus",
        "UN supports over 80,000 women-led small businesses in Afghanistan",
        "Afghanistan Journalists Center confirms release of seven Arezo TV employees from prison",
        "Greek authorities say boat capsizing victims and survivors were from Afghanistan. "
        "2 Turks arrested",
        "New Restrictions in Iran Pose Challenge for Afghan Refugees",
    ]
    assert [pa.article.index for pa in parsed["003"]] == list(range(10))
    assert parsed["003"][8].article.date == "2024-12-21"


def test_003_furniture_is_not_indexed(docs, parsed):
    chunks = chunks_of(docs, parsed, "003", 64, 10)
    text = all_text(chunks)
    for junk in ("read more", "Advertisement", "print sharing button", "Edited by",
                 "Photo: Globe Eye News"):
        assert junk.lower() not in text.lower(), junk
    # byline and affiliation lines belong to the header, not the body
    assert not any(c.text.startswith(("Thomas Ruttig", "Aziz Amin", "Associated Press"))
                   for c in chunks)
    assert "Mawlawi Abdul Kabir" in text  # late body text survives
    assert "40,000 Palestinian Christians" in text   # footnotes are content


def test_003_repeated_lines_are_indexed_once(docs, parsed):
    text = all_text(chunks_of(docs, parsed, "003", 512, 0))
    assert text.count("Taliban authorities accuse Pakistan of carrying out airstrikes in Barmal") == 1
    assert text.count("According to Stanikzai, the US and NATO are common enemies") == 1


def test_002_reader_comments_are_not_indexed(docs, parsed):
    assert len(parsed["002"]) == 1
    art = parsed["002"][0].article
    assert art.title == "Haqqanis will not talk Afghan peace alone: Commander"
    assert art.date == "2011-10-25"
    text = all_text(chunks_of(docs, parsed, "002", 64, 10))
    for junk in ("Roflcopter", "Reader Comments", "Jeeyo Jawan", "Facebook Conversations",
                 "More in World", "PHOTO: FILE", "Musketeers", "mother-in-law", "Oct 26, 2011"):
        assert junk not in text, junk
    assert "But last year, the winter lull was less pronounced than expected." in text


def test_004_and_001_single_articles_without_furniture(docs, parsed):
    assert len(parsed["004"]) == 1 and parsed["004"][0].article.date == "2025-01-14"
    text4 = all_text(chunks_of(docs, parsed, "004"))
    assert "More News" not in text4 and "01/14/2025" not in text4
    assert "The sun cannot be hidden with two fingers." in text4
    assert len(parsed["001"]) == 1
    text1 = all_text(chunks_of(docs, parsed, "001"))
    assert "twitter.com" not in text1 and "OpIndia Staff" not in text1
    assert "Khalil Haqqani, Anis Haqqani in-charge of Kabul" in text1   # subheadings are content


def test_000_run_together_pieces_are_split(docs, parsed):
    arts = [pa.article for pa in parsed["000"]]
    assert len(arts) >= 3
    assert arts[0].title == docs["000"].text.split("\n", 1)[0]
    chunks = chunks_of(docs, parsed, "000")

    def article_of(sentence: str) -> int:
        hits = {c.article for c in chunks if sentence in c.text}
        assert len(hits) == 1, sentence
        return hits.pop()

    atmar = article_of("I travelled to Pakistan ten times")
    bennett = article_of("amounts to “crimes against humanity”")
    assert atmar == 0 and bennett != atmar
    assert article_of("Mohammad Reza Bahrami, director general") not in (atmar, bennett)
    # untitled pieces are named from their lead, shortened
    for a in arts[1:]:
        assert 3 <= len(a.title.split()) <= 13
        assert docs["000"].text[a.start:].startswith(a.title.rstrip("…").split(",")[0])


def test_a_subheading_opens_a_chunk_rather_than_closing_one(docs, parsed):
    heading = "The Kurram Agreement and Sectarian Conflicts"
    for size in (64, 200):
        with_heading = [c for c in chunks_of(docs, parsed, "000", size, size // 5)
                        if heading in c.text]
        assert with_heading and not any(c.text.endswith(heading) for c in with_heading)
    small = chunks_of(docs, parsed, "000", 64, 0)
    assert any(c.text.startswith(heading + "\n") for c in small)


def test_run_together_stories_from_other_files_are_cut_where_they_meet(docs, parsed, tmp_path):
    def body(key, i):
        return [docs[key].text[s:e] for s, e in parsed[key][i].blocks]

    pieces = [body("002", 0), body("003", 5), body("004", 0)]
    p = tmp_path / "feed.txt"
    p.write_text("Wire roundup\n" + "\n".join(x for piece in pieces for x in piece) + "\n",
                 encoding="utf-8")
    doc = read_source(p)
    arts = parse_articles(doc)
    assert [len(a.blocks) for a in arts] == [len(x) for x in pieces]
    assert arts[0].article.title == "Wire roundup"
    assert arts[1].article.title.startswith("The Saudi Embassy in Kabul has announced")
    assert arts[2].article.title.startswith("Before returning to power in Afghanistan")


def test_segment_leaves_a_cohesive_article_whole(docs, parsed):
    for key in ("001", "002", "004"):
        blocks = parsed[key][0].blocks
        assert segment([docs[key].text[s:e] for s, e in blocks]) == [0]


# --- lines, dates --------------------------------------------------------------------------------

@pytest.mark.parametrize("line,iso", [
    ("Published: October 25, 2011", "2011-10-25"),
    ("Tuesday, 01/14/2025", "2025-01-14"),
    ("December 21, 2024", "2024-12-21"),
    ("21 December 2024", "2024-12-21"),
    ("Updated: Sept. 3, 2023 at 10:15 am", "2023-09-03"),
    ("2024-03-18", "2024-03-18"),
    ("25/10/2011", "2011-10-25"),
    ("December 21, 2024 and more words after it", None),
    ("Marching orders 2024", None),
    ("February 30, 2024", None),
])
def test_parse_date(line, iso):
    assert clean.parse_date(line) == iso


@pytest.mark.parametrize("line,kind", [
    ("read more", clean.TEASER_END), ("Read More »", clean.TEASER_END),
    ("More News", clean.END), ("More in World", clean.END),
    ("Advertisement", clean.DROP), ("print sharing button", clean.DROP),
    ("Reader Comments (29)", clean.COMMENTS), ("Facebook Conversations", clean.COMMENTS),
    ("https://twitter.com/x/status/1", clean.DROP), ("Sirajuddin Haqqani. PHOTO: FILE", clean.DROP),
    ("OpIndia Staff: Staff reporter at OpIndia", clean.DROP),
    ("More than 2,700 NATO troops have been killed since 2001.", clean.TEXT),
    ("Related to the strikes, the ministry said it would respond.", clean.TEXT),
    ("The Kurram Agreement and Sectarian Conflicts", clean.TEXT),
    ("More on this later.", clean.TEXT), ("Comments were closed by noon.", clean.TEXT),
    ("(Reporting by Jane Doe; Editing by John Roe)", clean.DROP),
    ("Edited by Roxanna Shapour and Kate Clark", clean.DROP),
])
def test_classify_lines(line, kind):
    assert clean.classify(line) == kind


def test_comments_without_a_closing_marker_run_to_the_end(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("Bridge reopens after repairs\n\nThe old bridge reopened on Monday after two "
                 "years of repairs costing 4 million euros, the city said in a statement.\n\n"
                 "Traffic is expected to return to normal by the end of the week.\n\n"
                 "Comments (2)\n\nbob\nAbout time too, the detour was a nightmare.\n", "utf-8")
    doc = read_source(p)
    text = all_text(chunk_document(doc, parse_articles(doc), 200, 20))
    assert "Traffic is expected" in text and "nightmare" not in text


def test_bom_and_crlf_files_keep_the_checker_text(tmp_path):
    p = tmp_path / "bom.txt"
    body = ("A title line\r\n\r\nThe council approved the budget on Tuesday after a long debate "
            "about school funding and road repairs.\r\nIt takes effect in May.\r\n")
    p.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    doc = read_source(p)
    assert doc.text == open(p, encoding="utf-8").read() and doc.text[0] == "\ufeff"
    arts = parse_articles(doc)
    assert arts[0].article.title == "A title line"
    for c in chunk_document(doc, arts, 64, 10):
        assert doc.text[c.start:c.end] == c.text and "\r" not in c.text


# --- bad inputs ----------------------------------------------------------------------------------

def _write(tmp_path, name, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("name,data,words", [
    ("empty.txt", b"", ["empty"]),
    ("blank.txt", b"  \n\t\n\n", ["whitespace"]),
    ("bomonly.txt", b"\xef\xbb\xbf\n \n", ["whitespace"]),
    ("nul.txt", b"abc\x00def" * 10, ["binary", "NUL"]),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + b"x" * 50, ["binary"]),
    ("latin.txt", "Caf\u00e9 society reopens".encode("latin-1"), ["not UTF-8", "0xe9", "iconv"]),
    ("doc.pdf", b"%PDF-1.4 whatever", ["unsupported extension", ".txt", ".html"]),
    ("noext", b"plain words", ["unsupported extension"]),
])
def test_bad_files_raise_ingest_error_naming_the_problem(tmp_path, name, data, words):
    p = _write(tmp_path, name, data)
    with pytest.raises(IngestError) as e:
        read_source(p)
    for w in words:
        assert w in str(e.value)
    assert str(p) in str(e.value)


def test_missing_path_folder_and_size_limit(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        read_source(tmp_path / "nope.txt")
    with pytest.raises(IngestError, match="folder"):
        read_source(tmp_path)
    p = _write(tmp_path, "big.txt", b"Some words here.\n" * 100)
    with pytest.raises(IngestError, match="RAG_MAX_FILE_BYTES") as e:
        read_source(p, max_bytes=1000)
    assert "1,700" in str(e.value) and "1,000" in str(e.value)
    assert read_source(p, max_bytes=1700).text.startswith("Some words")
    assert isinstance(e.value, ValueError)


# --- HTML ----------------------------------------------------------------------------------------

def test_html_page_yields_the_article_body_only():
    doc = read_source(FIXTURES / "news_page.html")
    assert doc.kind == "html"
    assert doc.title == "Flood barriers hold as river peaks in Riverton"
    assert doc.date == "2024-03-18"
    assert "Alder River peaked at 5.2 metres" in doc.text
    assert "primary school will remain closed" in doc.text
    for junk in ("Subscribe", "Sign in", "mortgage", "Reader Comments", "grumpy_neighbour",
                 "Zebra crossings", "cycle lanes", "Privacy policy", "All rights reserved"):
        assert junk not in doc.text, junk
    arts = parse_articles(doc)
    assert len(arts) == 1 and arts[0].article.title == doc.title
    chunks = chunk_document(doc, arts, 64, 10)
    assert chunks and all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert not any("Flood barriers hold" == c.text for c in chunks)


def test_html_without_an_article_is_an_error():
    with pytest.raises(IngestError, match="no article text"):
        read_source(FIXTURES / "nav_only.html")


# --- discover ------------------------------------------------------------------------------------

def test_discover_walks_folders_sorted_and_reports_skips(tmp_path):
    for rel in ("b.txt", "a.md", "notes.pdf", ".hidden.txt", "sub/c.html", "sub/z.txt",
                ".git/config.txt", "sub/image.png"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x", encoding="utf-8")
    files, skipped = discover([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a.md", "b.txt", "sub/c.html", "sub/z.txt"]
    reasons = {p.relative_to(tmp_path).as_posix(): r for p, r in skipped}
    assert set(reasons) == {"notes.pdf", "sub/image.png"}
    assert all("unsupported extension" in r and ".txt" in r for r in reasons.values())
    again, _ = discover([tmp_path, tmp_path / "b.txt"])
    assert again == files                               # deterministic, no duplicates
    with pytest.raises(IngestError, match="no such file"):
        discover([tmp_path / "missing"])


def test_discover_on_the_default_corpus_finds_the_five_files():
    files, skipped = discover([CORPUS])
    assert [f.name for f in files] == [p.name for p in FILES.values()] and skipped == []


def test_a_markdown_articles_title_is_its_heading_text_without_the_hashes(tmp_path, fresh_settings,
                                                                         embedder):
    """"# Ferry capsizes ..." is the title "Ferry capsizes ...", in the parse and in the index; the
    heading line stays in the text, so offsets are those of the file."""
    from ingest.pipeline import ingest_paths
    from rag.store import Store
    path = FIXTURES / "ferry.md"
    [art] = parse_articles(read_source(path))
    assert art.article.title == "Ferry capsizes off Rhodes, 20 rescued"
    assert art.article.date == "2025-01-14"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / path.name).write_bytes(path.read_bytes())
    ingest_paths([docs], fresh_settings, progress=False, embedder=embedder)
    text = path.read_text(encoding="utf-8")
    with Store(fresh_settings.store, embedder.name) as store:
        chunks = list(store.iter_chunks())
    assert chunks and {c.title for c in chunks} == {"Ferry capsizes off Rhodes, 20 rescued"}
    assert all(text[c.start:c.end] == c.text for c in chunks)

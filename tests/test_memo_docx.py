"""The memo as a reviewer opens it in Word: re-opened with python-docx and checked as a reader would.

Built from the static AREC pair (tests/data/static/) so that prompt wording cannot break these tests;
tests/test_companies.py checks the same properties on PKX and a third company.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import StaticPair
from thesisgen import run
from thesisgen.models import FactSet, Memo
from thesisgen.notation import (
    APPENDICES_HEADING,
    KEY_FIGURES_HEADER,
    NOTE_REFERENCE_STYLE,
    NOTE_STYLE,
    VALIDATION_LINE,
    fact_bookmark,
    normalise,
)
from thesisgen.render import ooxml

AS_OF = dt.date(2026, 11, 27)


def render_static(pair: StaticPair, folder: Path) -> Path:
    return run.render(pair.draft, pair.facts, folder, False, None, AS_OF)


@pytest.fixture
def memo_path(static_pair: StaticPair, tmp_path: Path) -> Path:
    return render_static(static_pair, tmp_path / "memo")


def body_blocks(document: Any) -> list[Any]:
    return [c for c in document.element.body if c.tag in (qn("w:p"), qn("w:tbl"))]


def style_of(document: Any, p: Any) -> str:
    style_id = p.find(qn("w:pPr") + "/" + qn("w:pStyle"))
    if style_id is None:
        return "Normal"
    for style in document.styles:
        if style.style_id == style_id.get(qn("w:val")):
            return str(style.name)
    return str(style_id.get(qn("w:val")))


def text_of(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def page_one(document: Any) -> list[Any]:
    """Body blocks before the first paragraph that starts a new page."""
    blocks = []
    for block in body_blocks(document):
        if block.find(qn("w:pPr") + "/" + qn("w:pageBreakBefore")) is not None:
            break
        blocks.append(block)
    return blocks


def test_page_one_is_the_decision_page(memo_path: Path, static_pair: StaticPair) -> None:
    document = docx.Document(str(memo_path))
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    first = page_one(document)
    text = "\n".join(text_of(b) for b in first)
    assert memo.company and memo.company in text
    assert memo.ticker in text and AS_OF.isoformat() in text and memo.stance in text
    headings = [b for b in first if b.tag == qn("w:p") and style_of(document, b) == "Heading 1"]
    assert [text_of(h) for h in headings] == [memo.sections[0].heading]
    for sentence in memo.sections[0].paragraphs[0].sentences:
        assert sentence.text in text
    tables = [b for b in first if b.tag == qn("w:tbl")]
    headers = [tuple(text_of(c) for c in t.iter(qn("w:tc")))[:3] for t in tables]
    assert KEY_FIGURES_HEADER in headers
    key_rows = [
        t for t in tables if tuple(text_of(c) for c in t.iter(qn("w:tc")))[:3] == KEY_FIGURES_HEADER
    ]
    assert len(key_rows[0].findall(qn("w:tr"))) >= 2  # at least one key figure
    lines = [text_of(b) for b in first if VALIDATION_LINE.search(text_of(b))]
    assert len(lines) == 1 and AS_OF.isoformat() in lines[0]
    assert "hand-written" in text  # replayed, hand-written answers: page 1 says so
    assert "Model" not in [text_of(c) for t in tables for c in t.iter(qn("w:tc"))]


def test_every_marker_is_a_link_to_a_fact_bookmark(
    memo_path: Path, static_pair: StaticPair
) -> None:
    document = docx.Document(str(memo_path))
    body = document.element.body
    marks = ooxml.bookmarks(body)
    links = ooxml.internal_links(body)
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    cited = {c for s in memo.sections for p in s.paragraphs for t in p.sentences for c in t.cites}
    fact_links = {anchor for anchor, text in links if text.startswith("[F")}
    assert fact_links == {fact_bookmark(c) for c in cited}
    for anchor, _ in links:
        assert anchor in marks, anchor
    for fid in cited:
        assert marks[fact_bookmark(fid)] == fid  # the bookmark sits on the ID cell of Appendix A
    # Every marker printed in the body is inside a link (none is plain text that only looks like one).
    plain = [
        t.text
        for t in body.iter(qn("w:t"))
        if t.text and t.text.startswith("[F") and t.getparent().getparent().tag != qn("w:hyperlink")
    ]
    assert plain == []


def test_appendix_a_links_to_sources_and_sources_to_the_web(
    memo_path: Path, static_pair: StaticPair
) -> None:
    document = docx.Document(str(memo_path))
    body = document.element.body
    factset = FactSet.model_validate_json(static_pair.facts.read_text())
    anchors = {a for a, _ in ooxml.internal_links(body)}
    marks = ooxml.bookmarks(body)
    for source in factset.sources:
        assert f"source_{source.id}" in marks
    assert {a for a in anchors if a.startswith("source_")} <= set(marks)
    assert any(a.startswith("source_") for a in anchors)
    urls = {url for url, _ in ooxml.external_links(document.part)}
    assert {s.url for s in factset.sources if s.url} <= urls


def _comment_anchors(document: Any) -> dict[str, tuple[str, str]]:
    """Comment id -> (anchored text, style of the paragraph it starts in)."""
    body = document.element.body
    anchors: dict[str, tuple[str, str]] = {}
    for start in body.iter(qn("w:commentRangeStart")):
        cid = start.get(qn("w:id"))
        paragraph = start.getparent()
        texts = []
        node = start.getnext()
        while node is not None and not (
            node.tag == qn("w:commentRangeEnd") and node.get(qn("w:id")) == cid
        ):
            texts.append(text_of(node))
            node = node.getnext()
        anchors[cid] = ("".join(texts).strip(), style_of(document, paragraph))
    return anchors


def test_comments_sit_on_sentences_and_say_what_to_check(
    memo_path: Path, static_pair: StaticPair
) -> None:
    document = docx.Document(str(memo_path))
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    sentences = {t.text for s in memo.sections for p in s.paragraphs for t in p.sentences}
    anchors = _comment_anchors(document)
    comments = {str(c.comment_id): c.text for c in document.comments}
    assert anchors and set(anchors) == set(comments)
    for cid, (anchored, style) in anchors.items():
        assert style not in ("Heading 1", "Heading 2", "Title"), comments[cid]
        assert normalise(anchored).rstrip("0123456789") in sentences, anchored
    # The repair comment names the rejected text and sits on the sentence that replaced it.
    report = run._recorded_repairs(static_pair.folder)
    assert report, "the static AREC draft was repaired once"
    repaired = [cid for cid, text in comments.items() if text.startswith("Repaired")]
    for repair in report:
        section = next(s for s in memo.sections if s.key == repair.section)
        in_section = {t.text for p in section.paragraphs for t in p.sentences}
        for rejected in repair.violations:
            mine = [cid for cid in repaired if rejected.text in comments[cid]]
            assert len(mine) == 1, rejected.text
            assert rejected.token in comments[mine[0]]
            assert normalise(anchors[mine[0]][0]) in in_section
    assert len(repaired) == len({(r.attempt, v.text) for r in report for v in r.violations})
    # A source older than a year at the memo's date is commented once, on its first citation.
    old = [text for text in comments.values() if "days before this memo's date" in text]
    factset = FactSet.model_validate_json(static_pair.facts.read_text())
    stale_sources = {
        s.id for s in factset.sources if s.published and (AS_OF - s.published).days > 365
    }
    assert len(old) == len(stale_sources) > 0


def test_calculated_figures_print_a_numbered_note(memo_path: Path, static_pair: StaticPair) -> None:
    document = docx.Document(str(memo_path))
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    calculations = [
        c for s in memo.sections for p in s.paragraphs for t in p.sentences for c in t.calculations
    ]
    assert calculations, "the static draft has a calculated figure"
    notes = [p.text for p in document.paragraphs if p.style.name == NOTE_STYLE]
    assert len(notes) == len(calculations)
    for number, (note, calculation) in enumerate(zip(notes, calculations, strict=True), 1):
        assert note.startswith(f"{number}. {calculation.figure} \u2248 ")
        assert "[F" in note
    refs = [
        r.text for p in document.paragraphs for r in p.runs if r.style.name == NOTE_REFERENCE_STYLE
    ]
    assert refs == [str(n) for n in range(1, len(calculations) + 1)]


def test_page_furniture_and_headings(memo_path: Path, static_pair: StaticPair) -> None:
    document = docx.Document(str(memo_path))
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    section = document.sections[0]
    header = "".join(p.text for p in section.header.paragraphs)
    assert memo.ticker in header and "Draft for internal review" in header
    assert memo.company and memo.company in header
    footer = section.footer._element
    assert ooxml.fields(footer) == ["PAGE", "NUMPAGES"]
    assert AS_OF.isoformat() in text_of(footer)
    assert "every figure" not in text_of(footer).lower()
    level1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    level2 = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert level1 == [s.heading for s in memo.sections] + [APPENDICES_HEADING]
    assert [t.split(".")[0] for t in level2] == ["A", "B", "C", "D"]


def test_properties_are_fresh(memo_path: Path, static_pair: StaticPair) -> None:
    document = docx.Document(str(memo_path))
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    props = document.core_properties
    assert props.title == memo.title and props.author == "thesisgen"
    assert props.keywords.split(";")[0] == memo.ticker
    assert memo.ticker in props.subject
    created = props.created
    assert created is not None
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs((now - created.replace(tzinfo=None)).total_seconds()) < 600
    with zipfile.ZipFile(memo_path) as package:
        app = package.read("docProps/app.xml").decode()
        core = package.read("docProps/core.xml").decode()
    assert "<Application>thesisgen</Application>" in app
    for stale in ("Macintosh", "Company", "Template", "TotalTime"):
        assert stale not in app, stale
    assert "lastPrinted" not in core and "2013" not in core


def test_appendix_tables_repeat_their_header_and_keep_rows_whole(memo_path: Path) -> None:
    document = docx.Document(str(memo_path))
    appendix = False
    checked = 0
    for block in body_blocks(document):
        if block.tag == qn("w:p") and text_of(block) == APPENDICES_HEADING:
            appendix = True
        if appendix and block.tag == qn("w:tbl"):
            rows = block.findall(qn("w:tr"))
            assert rows[0].find(qn("w:trPr") + "/" + qn("w:tblHeader")) is not None
            for row in rows:
                assert row.find(qn("w:trPr") + "/" + qn("w:cantSplit")) is not None
            checked += 1
    assert checked == 3  # A facts, B sources, D generation record

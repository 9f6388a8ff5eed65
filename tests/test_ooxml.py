"""The raw-XML helpers: what they write survives a save and re-open, in the order Word requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from thesisgen.render import ooxml


def reopen(document: Any, tmp_path: Path, name: str = "doc.docx") -> Any:
    path = tmp_path / name
    document.save(str(path))
    return docx.Document(str(path))


def local(element: Any) -> str:
    return str(element.tag).rpartition("}")[2]


def test_bookmarks_wrap_the_runs_or_the_whole_paragraph(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Revenue ", style="Heading 1")
    middle = [paragraph.add_run("rose "), paragraph.add_run("12%")]
    paragraph.add_run(" in 2024.")
    ooxml.bookmark(paragraph, "growth", middle)
    ooxml.bookmark(paragraph, "whole")
    ooxml.bookmark(document.add_paragraph(), "empty")

    p = paragraph._p
    order = [local(child) for child in p]
    # pPr stays first; the whole-paragraph range opens right after it and closes at the very end.
    assert order == [
        "pPr", "bookmarkStart", "r", "bookmarkStart", "r", "r", "bookmarkEnd", "r", "bookmarkEnd"
    ]  # fmt: skip

    found = ooxml.bookmarks(reopen(document, tmp_path).element.body)
    assert found == {"growth": "rose 12%", "whole": "Revenue rose 12% in 2024.", "empty": ""}


def test_bookmark_ids_are_unique_and_skip_those_already_in_the_part() -> None:
    document = docx.Document()
    existing = parse_xml(
        f'<w:p {nsdecls("w")}><w:bookmarkStart w:id="7" w:name="_GoBack"/>'
        '<w:bookmarkEnd w:id="7"/></w:p>'
    )
    document.element.body.insert(0, existing)
    for number in range(3):
        ooxml.bookmark(document.add_paragraph(f"p{number}"), f"b{number}")
    header = document.sections[0].header.paragraphs[0]
    ooxml.bookmark(header, "in_header")

    ids = [s.get(qn("w:id")) for s in document.element.body.iter(qn("w:bookmarkStart"))]
    assert ids == ["7", "8", "9", "10"]
    # Each part counts on its own: the header's first id is its own first.
    assert [s.get(qn("w:id")) for s in header._p.iter(qn("w:bookmarkStart"))] == ["0"]


@pytest.mark.parametrize(
    "name", ["", "1st", "_GoBack", "two words", "dash-ed", "a" * 41, "tab\t", "ok\n"]
)
def test_bookmark_rejects_a_name_word_would_not_accept(name: str) -> None:
    document = docx.Document()
    with pytest.raises(ValueError, match="not one Word accepts"):
        ooxml.bookmark(document.add_paragraph("x"), name)


def test_bookmark_accepts_letters_digits_underscores_up_to_40() -> None:
    document = docx.Document()
    for name in ("a", "F13", "fact_F13", "Ünternehmen_2", "a" * 40):
        ooxml.bookmark(document.add_paragraph("x"), name)
    assert len(ooxml.bookmarks(document.element.body)) == 5


def test_bookmark_rejects_a_duplicate_name_even_one_from_the_template() -> None:
    document = docx.Document()
    document.element.body.insert(
        0, parse_xml(f'<w:p {nsdecls("w")}><w:bookmarkStart w:id="0" w:name="Intro"/></w:p>')
    )
    with pytest.raises(ValueError, match="already used"):
        ooxml.bookmark(document.add_paragraph("x"), "Intro")
    ooxml.bookmark(document.add_paragraph("y"), "Outro")
    with pytest.raises(ValueError, match="already used"):
        ooxml.bookmark(document.add_paragraph("z"), "Outro")


def test_bookmark_rejects_runs_that_are_not_adjacent_or_not_here() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    first, _, third = (paragraph.add_run(t) for t in "abc")
    other = document.add_paragraph("elsewhere").runs[0]
    with pytest.raises(ValueError, match="contiguous"):
        ooxml.bookmark(paragraph, "gap", [first, third])
    with pytest.raises(ValueError, match="directly inside"):
        ooxml.bookmark(paragraph, "foreign", [other])
    with pytest.raises(ValueError, match="at least one run"):
        ooxml.bookmark(paragraph, "none", [])
    # Order given does not matter; a failed call leaves nothing behind.
    ooxml.bookmark(paragraph, "ab", [paragraph.runs[1], first])
    assert ooxml.bookmarks(paragraph._p) == {"ab": "ab"}


def test_internal_links_carry_anchor_text_style_id_and_tooltip(tmp_path: Path) -> None:
    document = docx.Document()
    target = document.add_paragraph("Fact F13: revenue 12%")
    ooxml.bookmark(target, "fact_F13")
    paragraph = document.add_paragraph("See ")
    link = ooxml.internal_link(paragraph, "fact_F13", "[F13]", style="Intense Emphasis")
    ooxml.internal_link(paragraph, "fact_F14", " [F14] ", tooltip="Fact F14")
    assert local(link) == "hyperlink"

    reopened = reopen(document, tmp_path)
    body = reopened.element.body
    assert ooxml.internal_links(body) == [("fact_F13", "[F13]"), ("fact_F14", " [F14] ")]
    first, second = body.iter(qn("w:hyperlink"))
    # The style's id, not its display name, is what Word looks up.
    assert first.find(f"{qn('w:r')}/{qn('w:rPr')}/{qn('w:rStyle')}").get(qn("w:val")) == (
        "IntenseEmphasis"
    )
    assert first.get(qn("w:history")) == "1"
    assert first.get(qn("w:tooltip")) is None
    assert second.get(qn("w:tooltip")) == "Fact F14"
    assert second.find(f"{qn('w:r')}/{qn('w:rPr')}") is None
    assert second.find(f"{qn('w:r')}/{qn('w:t')}").get(qn("xml:space")) == "preserve"


def test_internal_link_refuses_a_missing_or_paragraph_style() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    with pytest.raises(ValueError, match="not defined"):
        ooxml.internal_link(paragraph, "a", "x", style="No Such Style")
    with pytest.raises(ValueError):
        ooxml.internal_link(paragraph, "a", "x", style="Heading 1")
    assert list(paragraph._p.iter(qn("w:hyperlink"))) == []


def test_external_links_resolve_urls_and_fall_back_to_direct_formatting(tmp_path: Path) -> None:
    document = docx.Document()
    assert "Hyperlink" not in document.styles  # python-docx's default template lacks it
    paragraph = document.add_paragraph("Source: ")
    plain = ooxml.external_link(paragraph, "https://example.com/a?x=1&y=2", "filing")
    props = plain.find(f"{qn('w:r')}/{qn('w:rPr')}")
    assert [local(c) for c in props] == ["color", "u"]
    assert props.find(qn("w:color")).get(qn("w:val")) == ooxml.LINK_COLOR

    styled = document.styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link = ooxml.external_link(paragraph, "https://example.org/", "site")
    assert [local(c) for c in link.find(f"{qn('w:r')}/{qn('w:rPr')}")] == ["rStyle"]
    assert link.find(f".//{qn('w:rStyle')}").get(qn("w:val")) == styled.style_id
    bare = ooxml.external_link(paragraph, "https://example.net/", "bare", style=None)
    assert bare.find(f"{qn('w:r')}/{qn('w:rPr')}") is None

    reopened = reopen(document, tmp_path)
    assert ooxml.external_links(reopened.part) == [
        ("https://example.com/a?x=1&y=2", "filing"),
        ("https://example.org/", "site"),
        ("https://example.net/", "bare"),
    ]
    assert ooxml.internal_links(reopened.element.body) == []

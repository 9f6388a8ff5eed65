"""The raw-XML helpers: what they write survives a save and re-open, in the order Word requires."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt, RGBColor

from thesisgen.render import ooxml

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


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


def add_page_footer(document: Any, placeholder: str = "1") -> None:
    header = document.sections[0].header.paragraphs[0]
    header.add_run("Page ")
    ooxml.field(header, "PAGE", placeholder)
    footer = document.sections[0].footer.paragraphs[0]
    footer.add_run("Page ")
    ooxml.field(footer, "PAGE", placeholder)
    footer.add_run(" of ")
    ooxml.field(footer, " NUMPAGES ", placeholder)


def test_page_fields_in_header_and_footer(tmp_path: Path) -> None:
    document = docx.Document()
    add_page_footer(document)
    footer_p = document.sections[0].footer.paragraphs[0]._p
    kinds = [
        local(run[0]) + ":" + (run[0].get(qn("w:fldCharType")) or run[0].text or "")
        for run in footer_p.iter(qn("w:r"))
    ]
    assert kinds[:6] == [
        "t:Page ",
        "fldChar:begin",
        "instrText: PAGE ",
        "fldChar:separate",
        "t:1",
        "fldChar:end",
    ]
    assert not [c for c in footer_p.iter(qn("w:fldChar")) if c.get(qn("w:dirty")) is not None]

    section = reopen(document, tmp_path).sections[0]
    assert ooxml.fields(section.header.part.element) == ["PAGE"]
    assert ooxml.fields(section.footer.part.element) == ["PAGE", "NUMPAGES"]
    assert section.footer.paragraphs[0].text == "Page 1 of 1"


def test_fields_reader_takes_simple_split_and_nested_fields() -> None:
    begin, sep, end = (
        f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>' for kind in ("begin", "separate", "end")
    )
    p = parse_xml(
        f'<w:p {nsdecls("w")}><w:fldSimple w:instr=" DATE \\@ &quot;d MMMM yyyy&quot; ">'
        "<w:r><w:t>1 May</w:t></w:r></w:fldSimple>"
        f"{begin}<w:r><w:instrText> IF </w:instrText></w:r>"
        f"{begin}<w:r><w:instrText>PAGE</w:instrText></w:r>{sep}<w:r><w:t>1</w:t></w:r>{end}"
        f'<w:r><w:instrText> = 1 "first" "" </w:instrText></w:r>{sep}{end}'
        f"{begin}<w:r><w:instrText> REF fact_F13</w:instrText></w:r>"
        f"<w:r><w:instrText> \\h </w:instrText></w:r>{sep}<w:r><w:t>x</w:t></w:r>{end}</w:p>"
    )
    assert ooxml.fields(p) == [
        'DATE \\@ "d MMMM yyyy"',
        'IF  = 1 "first" ""',
        "PAGE",
        "REF fact_F13 \\h",
    ]


def test_row_flags_sit_in_schema_order_around_an_existing_height(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    header, body, _ = table.rows
    header.height = Pt(18)
    ooxml.repeat_header_row(header)
    ooxml.keep_row_together(header)
    ooxml.repeat_header_row(header)  # twice is still once
    ooxml.keep_row_together(body)

    rows = reopen(document, tmp_path).tables[0].rows
    assert [local(c) for c in rows[0]._tr.trPr] == ["cantSplit", "trHeight", "tblHeader"]
    assert [local(c) for c in rows[1]._tr.trPr] == ["cantSplit"]
    assert rows[2]._tr.trPr is None


def test_row_flag_set_false_by_a_template_becomes_true() -> None:
    document = docx.Document()
    row = document.add_table(rows=1, cols=1).rows[0]
    row._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader {nsdecls("w")} w:val="0"/>'))
    ooxml.repeat_header_row(row)
    flags = list(row._tr.trPr)
    assert len(flags) == 1
    assert flags[0].get(qn("w:val")) is None


def assert_schema_order(props: Any) -> None:
    order = [ooxml.RPR_ORDER.index("w:" + local(c)) for c in props]
    assert order == sorted(order), [local(c) for c in props]


def test_highlight_goes_where_the_schema_puts_it(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    run = paragraph.add_run("12%")
    run.underline = True
    run.bold = True
    run.font.size = Pt(10)
    run.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    run.style = "Strong"
    ooxml.highlight(run)
    assert [local(c) for c in run._r.rPr] == ["rStyle", "b", "color", "sz", "highlight", "u"]
    ooxml.highlight(run, "lightGray")  # changes the value, adds no second element
    bare = paragraph.add_run("plain")
    ooxml.highlight(bare, "green")
    with pytest.raises(ValueError, match="not one of"):
        ooxml.highlight(bare, "FFFF00")

    runs = reopen(document, tmp_path).paragraphs[0].runs
    assert_schema_order(runs[0]._r.rPr)
    assert [h.get(qn("w:val")) for h in runs[0]._r.rPr.iter(qn("w:highlight"))] == ["lightGray"]
    assert runs[1]._r.rPr.find(qn("w:highlight")).get(qn("w:val")) == "green"


def test_highlight_before_vertalign_and_lang() -> None:
    document = docx.Document()
    run = document.add_paragraph().add_run("x")
    run.font.superscript = True
    run._r.rPr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-GB"/>'))
    run.font.name = "Arial"
    ooxml.highlight(run)
    assert [local(c) for c in run._r.rPr] == ["rFonts", "highlight", "vertAlign", "lang"]


def app_xml(document: Any) -> str:
    for part in document.part.package.iter_parts():
        if part.content_type == ooxml.EXTENDED_PROPERTIES:
            return str(part.blob.decode("utf-8"))
    raise AssertionError("no app.xml")


def test_reset_app_properties_leaves_only_application_and_security(tmp_path: Path) -> None:
    document = docx.Document()
    stale = app_xml(document)
    assert "<Company/>" in stale
    assert "Microsoft Macintosh Word" in stale
    ooxml.reset_app_properties(document, application="thesisgen & co")

    xml = app_xml(reopen(document, tmp_path))
    assert "<Application>thesisgen &amp; co</Application>" in xml
    assert "<DocSecurity>0</DocSecurity>" in xml
    for stale_name in ("Company", "Template", "TotalTime", "Pages", "Words", "AppVersion"):
        assert stale_name not in xml
    root = parse_xml(xml.encode("utf-8"))
    assert [local(c) for c in root] == ["Application", "DocSecurity"]


def test_reset_app_properties_without_the_part_does_nothing() -> None:
    core = SimpleNamespace(
        content_type="application/vnd.openxmlformats-package.core-properties+xml"
    )
    package = SimpleNamespace(iter_parts=lambda: iter([core]))
    ooxml.reset_app_properties(SimpleNamespace(part=SimpleNamespace(package=package)))
    assert not hasattr(core, "_blob")


def two_page_document() -> Any:
    """Every helper once, across a page break, so LibreOffice has something to lay out."""
    document = docx.Document()
    ooxml.reset_app_properties(document)
    add_page_footer(document, placeholder="9")
    table = document.add_table(rows=2, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text = "Fact"
    table.cell(1, 0).text = "F13"
    ooxml.repeat_header_row(table.rows[0])
    ooxml.keep_row_together(table.rows[1])
    intro = document.add_paragraph("Revenue rose 12% ")
    ooxml.highlight(intro.runs[0])
    ooxml.internal_link(intro, "appendix", "[see appendix]", style="Strong")
    ooxml.external_link(intro, "https://example.com/", " source")
    intro.add_run().add_break(WD_BREAK.PAGE)
    appendix = document.add_heading("Appendix", level=1)
    ooxml.bookmark(appendix, "appendix")
    return document


@pytest.mark.slow
def test_libreoffice_fills_in_page_numbers(tmp_path: Path) -> None:
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI: .ci/run installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "pages.docx"
    two_page_document().save(str(source))
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = tmp_path / "pages.pdf"
    assert pdf.stat().st_size > 0
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(pdf)
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(pages) == 2
    for number, text in enumerate(pages, start=1):
        # The placeholder was 9: anything else means LibreOffice computed the fields.
        assert f"Page {number} of 2" in text, text
    assert "[see appendix]" in pages[0]
    assert "Appendix" in pages[1]
    # The internal link became a PDF link whose destination is the bookmarked page.
    links = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
    (link,) = [a for a in links if a.get("/Contents") == "[see appendix]"]
    dest = link["/Dest"] if "/Dest" in link else link["/A"]["/D"]
    if not isinstance(dest, list):  # a named destination
        dest = [reader.named_destinations[str(dest)].page]
    assert dest[0] == reader.pages[1].indirect_reference

"""Reading an edited memo.docx back into checkable sections (thesisgen.readback).

Every document here is built by hand with python-docx, following the layout contract in
thesisgen.notation, and edited the way Word edits it (tracked insertions and deletions, hyperlinks,
fields), so the reader is tested against the contract, not against one renderer's output.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from hypothesis import given, settings
from hypothesis import strategies as st

from thesisgen import notation, readback
from thesisgen.errors import InputFileError
from thesisgen.models import Calculation, Fact, FactSet, Memo, Paragraph, Section, Sentence
from thesisgen.readback import EditedMemo, read_memo, slug
from thesisgen.validate import Ledger, check_section

MAX = 10 * 1024 * 1024
HASH = "0123456789abcdef"

# --- building documents the way the renderer and Word write them ---------------------------------


def new_document() -> Any:
    document = docx.Document()
    styles = document.styles
    styles.add_style(notation.CITATION_STYLE, WD_STYLE_TYPE.CHARACTER)
    styles.add_style(notation.NOTE_REFERENCE_STYLE, WD_STYLE_TYPE.CHARACTER).font.superscript = True
    styles.add_style(notation.NOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    document.core_properties.keywords = "arec; investment thesis"
    return document


LINE = f"Gate passed; checked on 2025-03-14, text hash {HASH}."
# What the checked-text hash covers of the page 1 that front_matter writes: all of it, the
# validation line with its hash masked.
FRONT = (
    f"American Resources: magnets at scale Ticker AREC Validation {notation.mask_hash(LINE)} "
    "Every figure below was checked: revenue of $999 million is not read."
)


def front_matter(document: Any, line: str | None = None) -> None:
    document.add_paragraph("American Resources: magnets at scale", style="Title")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Ticker"
    table.cell(0, 1).text = "AREC"
    table.cell(1, 0).text = "Validation"
    table.cell(1, 1).text = line or LINE
    document.add_paragraph("Every figure below was checked: revenue of $999 million is not read.")


def bookmark(paragraph: Any, name: str, bid: int = 0) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bid))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bid))
    paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
    paragraph._p.append(end)


def heading(document: Any, text: str, key: str | None = None) -> Any:
    paragraph = document.add_heading(text, level=1)
    if key is not None:
        bookmark(paragraph, notation.section_bookmark(key))
    return paragraph


def cite(paragraph: Any, *fact_ids: str) -> Any:
    run = paragraph.add_run(" " + notation.cite_marker(fact_ids))
    run.style = notation.CITATION_STYLE
    return run


def note_ref(paragraph: Any, text: str) -> Any:
    run = paragraph.add_run(text)
    run.style = notation.NOTE_REFERENCE_STYLE
    return run


def _run(text: str, tag: str = "w:t", style: str | None = None) -> Any:
    run = OxmlElement("w:r")
    if style is not None:
        props = OxmlElement("w:rPr")
        style_el = OxmlElement("w:rStyle")
        style_el.set(qn("w:val"), style)
        props.append(style_el)
        run.append(props)
    text_el = OxmlElement(tag)
    text_el.set(qn("xml:space"), "preserve")
    text_el.text = text
    run.append(text_el)
    return run


def _tracked(kind: str, *runs: Any) -> Any:
    change = OxmlElement(kind)
    change.set(qn("w:id"), "901")
    change.set(qn("w:author"), "Reviewer")
    change.set(qn("w:date"), "2025-03-15T10:00:00Z")
    for run in runs:
        change.append(run)
    return change


def insert(paragraph: Any, text: str, style: str | None = None) -> None:
    """A tracked insertion, as Word writes it."""
    paragraph._p.append(_tracked("w:ins", _run(text, style=style)))


def delete(paragraph: Any, text: str, style: str | None = None) -> None:
    """A tracked deletion, as Word writes it (w:delText inside w:del)."""
    paragraph._p.append(_tracked("w:del", _run(text, "w:delText", style)))


def delete_run(run: Any) -> None:
    """Turn an existing run into a tracked deletion (what rejecting-by-deleting a marker does)."""
    run_el = run._r
    for t in run_el.findall(qn("w:t")):
        t.tag = qn("w:delText")
    parent = run_el.getparent()
    index = parent.index(run_el)
    parent.remove(run_el)
    parent.insert(index, _tracked("w:del", run_el))


def hyperlink(paragraph: Any, text: str, anchor: str, style: str | None = None) -> None:
    link = OxmlElement("w:hyperlink")
    link.set(qn("w:anchor"), anchor)
    link.append(_run(text, style=style))
    paragraph._p.append(link)


def note(document: Any, number: int, figure: str, formula: str) -> Any:
    text = notation.note_text(number, Calculation(figure=figure, formula=formula))
    return document.add_paragraph(text, style=notation.NOTE_STYLE)


def key_figures(document: Any, rows: list[tuple[str, str, str]]) -> Any:
    table = document.add_table(rows=1, cols=3)
    for cell, title in zip(table.rows[0].cells, notation.KEY_FIGURES_HEADER, strict=True):
        cell.text = title
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    return table


def prose(document: Any, *parts: str | tuple[str, ...]) -> Any:
    """A rendered paragraph: strings are sentence runs, tuples are the markers that follow."""
    paragraph = document.add_paragraph()
    first = True
    for part in parts:
        if isinstance(part, tuple):
            cite(paragraph, *part)
        else:
            paragraph.add_run(part if first else " " + part)
            first = False
    return paragraph


def save(document: Any, tmp_path: Path, name: str = "memo.docx") -> Path:
    path = tmp_path / name
    document.save(str(path))
    return path


def read(document: Any, tmp_path: Path) -> EditedMemo:
    return read_memo(save(document, tmp_path), MAX)


def section(memo: EditedMemo, key: str) -> Section:
    matches = [s for s in memo.sections if s.key == key]
    assert len(matches) == 1, [s.key for s in memo.sections]
    return matches[0]


def sentences(sec: Section) -> list[tuple[str, list[str]]]:
    return [(s.text, s.cites) for p in sec.paragraphs for s in p.sentences]


def basic_memo() -> Any:
    document = new_document()
    front_matter(document)
    heading(document, "Summary", "summary")
    prose(document, "Revenue was $203.9 million in FY2024.", ("F5",), "Margins widened.", ("F6",))
    heading(document, "Risks", "risks")
    prose(document, "China controls about 80% of processing.", ("F1", "F2"))
    heading(document, notation.APPENDICES_HEADING)
    document.add_heading("A. Cited facts", level=2)  # appendix parts are Heading 2
    prose(document, "F5 says revenue was $1 trillion.")
    return document


# --- sections, front matter, validation line -----------------------------------------------------


def test_sections_keys_from_bookmarks_front_matter_and_appendices(tmp_path: Path) -> None:
    memo = read(basic_memo(), tmp_path)
    assert [s.key for s in memo.sections] == ["summary", "risks"]
    assert [s.heading for s in memo.sections] == ["Summary", "Risks"]
    assert sentences(memo.sections[0]) == [
        ("Revenue was $203.9 million in FY2024.", ["F5"]),
        ("Margins widened.", ["F6"]),
    ]
    assert sentences(memo.sections[1]) == [
        ("China controls about 80% of processing.", ["F1", "F2"])
    ]
    assert memo.ticker == "AREC"
    assert memo.title == "American Resources: magnets at scale"
    assert memo.recorded_hash == HASH
    assert memo.recorded_date == dt.date(2025, 3, 14)
    every = " ".join(s.text for sec in memo.sections for p in sec.paragraphs for s in p.sentences)
    assert "$999" not in every and "trillion" not in every


def test_a_heading_1_after_the_appendices_starts_a_section_again(tmp_path: Path) -> None:
    """A reviewer's addendum at the end is checked and hashed; the appendices are not read."""
    document = basic_memo()  # ends with Appendices, a Heading 2 part and a sentence
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "F9"
    table.cell(0, 1).text = "Output was 1 million tonnes."
    (tmp_path / "a").mkdir()
    before = read(document, tmp_path / "a")
    heading(document, "Addendum")
    prose(document, "Revenue will reach $500 million.")
    heading(document, "Appendix E: more", "appendix_e")
    heading(document, notation.APPENDICES_HEADING)
    prose(document, "Not read: $3 billion.")
    (tmp_path / "b").mkdir()
    memo = read(document, tmp_path / "b")
    # Only the last "Appendices" heading starts the appendices: the first is now an ordinary
    # section (a reviewer could type one to hide text), read and checked.
    keys = [s.key for s in memo.sections]
    assert keys == ["summary", "risks", "appendices", "addendum", "appendix_e"]
    assert sentences(section(memo, "addendum")) == [("Revenue will reach $500 million.", [])]
    assert "Not read: $3 billion." not in str(memo.sections)
    assert section(memo, "appendix_e").paragraphs == []
    assert memo.current_hash != before.current_hash
    assert memo.sections[:2] == before.sections


def test_keys_from_headings_when_there_is_no_bookmark(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    prose(document, "Fine.", ("F1",))
    heading(document, "Valuation & catalysts: 2025\u20132026 (new)")
    prose(document, "A reviewer's section is read like the others.", ("F2",))
    heading(document, "Valuation & catalysts: 2025-2026 (new)")  # slugs alike
    heading(document, "\u00c9tude de march\u00e9")
    heading(document, "!!!")
    memo = read(document, tmp_path)
    assert [s.key for s in memo.sections] == [
        "summary",
        "valuation_catalysts_2025_2026_ne",
        "valuation_catalysts_2025_2026_2",
        "etude_de_marche",
        "section",
    ]
    assert sentences(memo.sections[1]) == [
        ("A reviewer's section is read like the others.", ["F2"])
    ]
    assert memo.sections[2].paragraphs == []
    assert memo.title is None and memo.recorded_hash is None and memo.recorded_date is None


def test_slug_rules() -> None:
    assert slug("Risks & mitigants") == "risks_mitigants"
    assert slug("  ") == "section"
    assert len(slug("x" * 80)) == 32
    assert slug("a" * 31 + " b") == "a" * 31  # no trailing underscore after the cut


def test_page_one_is_hashed_in_document_order_the_validation_line_masked(
    tmp_path: Path,
) -> None:
    def build(title: str, line: str) -> Any:
        document = new_document()
        front_matter(document, line)
        document.add_paragraph("   ")  # blank: not in the hash
        para = document.add_paragraph("Boxed:")
        para._p.append(parse_xml(TEXT_BOX))
        heading(document, "Summary", "summary")
        prose(document, "Fine.", ("F1",))
        document.paragraphs[0].runs[0].text = title
        return document

    line = f"Gate passed; checked on 2025-03-14, text hash {HASH.upper()}."
    (tmp_path / "a").mkdir()
    memo = read(build("American Resources: magnets at scale", line), tmp_path / "a")
    assert memo.recorded_hash == HASH  # compared in lower case
    front = f"{FRONT} Boxed: The box says $5 million. [F5]"
    assert memo.current_hash == notation.text_hash(front, [("summary", "Summary", ["Fine. [F1]"])])
    (tmp_path / "b").mkdir()
    impossible = f"checked on 2026-13-45, text hash {HASH}"
    other_line = read(build("American Resources: magnets at scale", impossible), tmp_path / "b")
    assert other_line.current_hash != memo.current_hash  # what the line claims is checked text
    assert other_line.recorded_date is None and other_line.recorded_hash == HASH
    (tmp_path / "c").mkdir()
    retitled = read(build("American Resources: magnets at SCALE", line), tmp_path / "c")
    assert retitled.current_hash != memo.current_hash


def test_an_edited_heading_changes_the_hash(tmp_path: Path) -> None:
    document = basic_memo()
    (tmp_path / "a").mkdir()
    before = read(document, tmp_path / "a").current_hash
    next(p for p in document.paragraphs if p.text == "Risks").runs[0].text = "Risks (minor)"
    (tmp_path / "b").mkdir()
    after = read(document, tmp_path / "b")
    assert after.current_hash != before and after.sections[1].key == "risks"


def test_validation_line_in_a_front_matter_paragraph_and_no_keywords(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph(f"Gate passed; checked on 2025-02-30, text hash {HASH}.")
    document.add_heading("Summary", level=1)
    document.add_paragraph("Text.")
    memo = read(document, tmp_path)
    assert memo.recorded_hash == HASH
    assert memo.recorded_date is None  # not a date: the hash still stands
    assert memo.ticker is None


def test_a_heading_in_a_content_control_starts_a_section(tmp_path: Path) -> None:
    document = new_document()
    para = heading(document, "Summary", "summary")
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    para._p.addprevious(sdt)
    sdt.append(content)
    content.append(para._p)
    prose(document, "Read.", ("F1",))
    memo = read(document, tmp_path)
    assert sentences(section(memo, "summary")) == [("Read.", ["F1"])]


def test_a_style_based_on_heading_1_starts_a_section(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    custom = document.styles.add_style("Reviewer Heading", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Heading 1"]  # inherits outline level 0
    deeper = document.styles.add_style("Reviewer Heading Too", WD_STYLE_TYPE.PARAGRAPH)
    deeper.base_style = custom  # based on Heading 1 through another style
    document.add_paragraph("Outlook", style="Reviewer Heading")
    prose(document, "Read here.", ("F1",))
    document.add_paragraph("Catalysts", style="Reviewer Heading Too")
    memo = read(document, tmp_path)
    assert [s.key for s in memo.sections] == ["summary", "outlook", "catalysts"]


def _outline_level(style: Any, level: str) -> None:
    p_pr = style.element.get_or_add_pPr()
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), level)
    p_pr.append(outline)


def test_an_outline_level_does_not_make_a_heading(tmp_path: Path) -> None:
    """A Normal style given outline level 0 would make every paragraph a heading with no text."""
    document = new_document()
    _outline_level(document.styles["Normal"], "0")
    body_text = document.styles.add_style("Body Outline", WD_STYLE_TYPE.PARAGRAPH)
    _outline_level(body_text, "0")
    heading(document, "Summary", "summary")
    prose(document, "Revenue was $250 million.", ("F5",))
    document.add_paragraph("Sales will reach $300 million.", style="Body Outline")
    memo = read(document, tmp_path)
    assert [s.key for s in memo.sections] == ["summary"]
    assert sentences(memo.sections[0]) == [
        ("Revenue was $250 million.", ["F5"]),
        ("Sales will reach $300 million.", []),
    ]


def test_only_heading_1_and_styles_based_on_it_are_headings(tmp_path: Path) -> None:
    """A lower-case "heading 1" counts; a template's Heading 2 or Title based on Heading 1 does not."""
    document = new_document()
    styles = document.styles
    styles["Heading 2"].base_style = styles["Heading 1"]
    styles["Title"].base_style = styles["Heading 1"]
    styles["Heading 1"].element.name_val = "heading 1"  # as Word itself writes it in styles.xml
    front_matter(document)
    heading(document, "Summary", "summary")
    document.add_heading("A point under the summary costs $7 million.", level=2)
    memo = read(document, tmp_path)
    assert [s.key for s in memo.sections] == ["summary"]
    assert memo.title == "American Resources: magnets at scale"
    assert sentences(memo.sections[0]) == [("A point under the summary costs $7 million.", [])]


# --- markers and sentences -----------------------------------------------------------------------


def test_markers_attach_to_the_sentence_they_follow(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    prose(
        document,
        "Revenue was $203.9 million in FY2024.",
        ("F5", "F6"),
        "Output is expected to double by 2027.",
        ("F9",),
        "Margins widened.",
        ("F6", "F6"),
    )
    para = document.add_paragraph("[F3] The market grows [F3] at 9.5% [F4]. Then more.")
    cite(para, "F1")
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [
        ("Revenue was $203.9 million in FY2024.", ["F5", "F6"]),
        ("Output is expected to double by 2027.", ["F9"]),
        ("Margins widened.", ["F6"]),
        ("The market grows at 9.5%.", ["F3", "F4"]),
        ("Then more.", ["F1"]),
    ]


def test_a_new_uncited_sentence_has_no_cites(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = prose(document, "Revenue was $203.9 million in FY2024.", ("F5",))
    insert(para, " Sales will reach $300 million next year.")
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [
        ("Revenue was $203.9 million in FY2024.", ["F5"]),
        ("Sales will reach $300 million next year.", []),
    ]


def test_a_deleted_marker_removes_the_cite(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Revenue was $203.9 million in FY2024.")
    delete_run(cite(para, "F5"))
    cite(para, "F6")
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [("Revenue was $203.9 million in FY2024.", ["F6"])]


def test_tracked_insertions_count_and_deletions_do_not(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Revenue was ")
    delete(para, "$203.9 million")
    insert(para, "$250 million")
    para.add_run(" in FY2024.")
    cite(para, "F5")
    delete(para, " [F9]", notation.CITATION_STYLE)
    insert(para, " [F6]", notation.CITATION_STYLE)
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [("Revenue was $250 million in FY2024.", ["F5", "F6"])]


def test_hyperlink_runs_and_field_results_are_text_field_codes_are_not(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Revenue was $203.9 million in FY2024. ")
    hyperlink(para, "[F5]", notation.fact_bookmark("F5"), notation.CITATION_STYLE)
    hyperlink(para, " See the filing.", "source_S1")
    # A complex field: code runs are hidden, the result between separate and end is shown.
    p = para._p
    for kind, text in (("begin", None), ("instr", ' REF fact_F9 \\h "x 12%" '), ("separate", None)):
        r = OxmlElement("w:r")
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.text = text
            r.append(instr)
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            r.append(char)
        p.append(r)
    p.append(_run(" [F9]"))
    end = OxmlElement("w:r")
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    end.append(char)
    p.append(end)
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [
        ("Revenue was $203.9 million in FY2024.", ["F5"]),
        ("See the filing.", ["F9"]),
    ]


def test_tabs_breaks_and_hyphens(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph()
    r = para.add_run("A long")
    r._r.append(OxmlElement("w:tab"))
    r._r.append(_run("term")[-1])
    r._r.append(OxmlElement("w:noBreakHyphen"))
    r._r.append(_run("view")[-1])
    r._r.append(OxmlElement("w:softHyphen"))
    r._r.append(OxmlElement("w:br"))
    r._r.append(_run("plan.")[-1])
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [("A long term-view plan.", [])]


def test_deleted_paragraph_mark_joins_the_next_paragraph(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    first = document.add_paragraph("Revenue was $203.9 million")
    props = first._p.get_or_add_pPr()
    rpr = OxmlElement("w:rPr")
    rpr.append(_tracked("w:del"))
    props.append(rpr)
    second = document.add_paragraph(" in FY2024.")
    cite(second, "F5")
    memo = read(document, tmp_path)
    assert [len(p.sentences) for p in memo.sections[0].paragraphs] == [1]
    assert sentences(memo.sections[0]) == [("Revenue was $203.9 million in FY2024.", ["F5"])]
    expected = notation.text_hash(
        "", [("summary", "Summary", ["Revenue was $203.9 million in FY2024. [F5]"])]
    )
    assert memo.current_hash == expected


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
TEXT_BOX = f"""<w:r xmlns:w="{W_NS}"
    xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
    xmlns:v="urn:schemas-microsoft-com:vml">
  <mc:AlternateContent>
    <mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p>
      <w:r><w:t>The box says $5 million.</w:t></w:r><w:r><w:t xml:space="preserve"> [F5]</w:t></w:r>
    </w:p></w:txbxContent></w:drawing></mc:Choice>
    <mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p>
      <w:r><w:t>The box says $5 million.</w:t></w:r><w:r><w:t xml:space="preserve"> [F5]</w:t></w:r>
    </w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>
  </mc:AlternateContent>
</w:r>"""


def test_text_boxes_are_read_once_as_prose_after_their_paragraph(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = prose(document, "Anchor sentence.", ("F1",))
    para._p.append(parse_xml(TEXT_BOX))
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [
        ("Anchor sentence.", ["F1"]),
        ("The box says $5 million.", ["F5"]),
    ]


def test_moves_content_controls_and_smart_tags(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Revenue was")
    p = para._p
    moved_from = OxmlElement("w:moveFrom")
    moved_from.append(_run(" $1 billion"))
    p.append(moved_from)
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    sdt.append(OxmlElement("w:sdtPr"))
    content.append(_run(" $203.9 million"))
    sdt.append(content)
    p.append(sdt)
    tag = OxmlElement("w:smartTag")
    tag.append(_run(" in FY2024."))
    p.append(tag)
    moved_to = OxmlElement("w:moveTo")
    moved_to.append(_run(" [F5]"))
    p.append(moved_to)
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [("Revenue was $203.9 million in FY2024.", ["F5"])]


# --- calculation notes ---------------------------------------------------------------------------

PER_MOTOR = "{F2:$900 million} / {F2:3.85 million}"


def test_note_references_map_to_calculations_and_are_not_text(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    note_ref(para, "1")
    cite(para, "F2")
    para.add_run(" Capex is about 22% of revenue.")
    note_ref(para, "(2,")
    note_ref(para, "9)")  # no such note: adds nothing
    cite(para, "F15", "F5")
    para.add_run(" Plain sentence.")
    note(document, 1, "$234", PER_MOTOR)
    note(document, 2, "22%", "{F15:€45.5 million} / {F5:$203.9 million} * 100")
    memo = read(document, tmp_path)
    got = [s for p in memo.sections[0].paragraphs for s in p.sentences]
    assert [s.text for s in got] == [
        "Contracts average about $234 per motor.",
        "Capex is about 22% of revenue.",
        "Plain sentence.",
    ]
    assert got[0].calculations == [Calculation(figure="$234", formula=PER_MOTOR)]
    assert [c.figure for c in got[1].calculations] == ["22%"]
    assert got[2].calculations == []
    assert len(memo.sections[0].paragraphs) == 1  # the notes are not paragraphs
    assert memo.current_hash == notation.text_hash(
        "",
        [
            (
                "summary",
                "Summary",
                [
                    "Contracts average about $234 per motor. [F2] Capex is about 22% of revenue. "
                    "[F15][F5] Plain sentence.",
                    # the printed notes are part of the checked text
                    notation.note_text(1, got[0].calculations[0]),
                    notation.note_text(2, got[1].calculations[0]),
                ],
            )
        ],
    )


def test_a_note_reference_after_the_markers_belongs_to_the_sentence_before(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    cite(para, "F2")
    note_ref(para, "1")
    para.add_run(" Next sentence.")
    note(document, 1, "$234", PER_MOTOR)
    memo = read(document, tmp_path)
    got = [s for p in memo.sections[0].paragraphs for s in p.sentences]
    assert [len(s.calculations) for s in got] == [1, 0]


def test_a_note_paragraph_that_no_longer_parses_is_prose(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    note_ref(para, "1")
    cite(para, "F2")
    edited = note(document, 1, "$234", PER_MOTOR)
    edited.add_run(" But the reviewer thinks $250 is closer.")
    memo = read(document, tmp_path)
    paragraphs = memo.sections[0].paragraphs
    assert len(paragraphs) == 2
    assert paragraphs[0].sentences[0].calculations == []
    last = paragraphs[1].sentences[-1]
    assert last.text.endswith(
        "$234 \u2248 $900 million \u00f7 3.85 million But the reviewer thinks $250 is closer."
    )
    assert last.cites == ["F2"]


def test_text_typed_in_the_note_reference_style_is_still_text(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    note_ref(para, "1 and $300 per car")
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0])[0][0].endswith("$234 per motor.1 and $300 per car")


def _align(run: Any, value: str) -> None:
    align = OxmlElement("w:vertAlign")
    align.set(qn("w:val"), value)
    run._r.get_or_add_rPr().append(align)


def test_a_note_reference_must_be_superscript_and_only_numbers(tmp_path: Path) -> None:
    """Baseline or subscript text in the note-reference style, or anything but digits, commas,
    spaces and brackets in it, is ordinary text, so it is checked."""
    document = new_document()
    heading(document, "Summary", "summary")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    _align(note_ref(para, "1"), "baseline")
    para.add_run(" Cars cost $300 each.")
    _align(note_ref(para, " 20,000"), "subscript")
    para.add_run(" Then.")
    note_ref(para, "1;2")
    para.add_run(" Now.")
    note_ref(para, "[1]")  # the style's superscript: a reference
    note(document, 1, "$234", PER_MOTOR)
    memo = read(document, tmp_path)
    got = [s for p in memo.sections[0].paragraphs[:1] for s in p.sentences]
    assert [s.text for s in got] == [
        "Contracts average about $234 per motor.1 Cars cost $300 each.",
        "20,000 Then.1;2 Now.",
    ]
    assert [s.calculations for s in got][-1] == [Calculation(figure="$234", formula=PER_MOTOR)]
    assert len(memo.sections[0].paragraphs) == 1  # note 1 is referenced by the last sentence


def test_superscript_comes_from_the_style_chain_unless_the_run_overrides_it(
    tmp_path: Path,
) -> None:
    document = docx.Document()
    styles = document.styles
    raised = styles.add_style("Raised", WD_STYLE_TYPE.CHARACTER)
    raised.font.superscript = True
    reference = styles.add_style(notation.NOTE_REFERENCE_STYLE, WD_STYLE_TYPE.CHARACTER)
    reference.base_style = raised  # superscript through basedOn
    styles.add_style(notation.NOTE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    heading(document, "Summary", "summary")
    para = document.add_paragraph("One is $234 a motor.")
    note_ref(para, "1")
    note(document, 1, "$234", PER_MOTOR)
    (tmp_path / "a").mkdir()
    inherited = read(document, tmp_path / "a").sections[0].paragraphs
    assert [s.text for s in inherited[0].sentences] == ["One is $234 a motor."]
    assert len(inherited) == 1 and len(inherited[0].sentences[0].calculations) == 1

    reference.base_style = None
    reference.font.superscript = False  # a reference style that is not raised: text ...
    para2 = document.add_paragraph("Two is $234 a motor.")
    _align(note_ref(para2, "1"), "superscript")  # ... unless the run raises it
    (tmp_path / "b").mkdir()
    plain = read(document, tmp_path / "b").sections[0].paragraphs
    assert [s.text for p in plain for s in p.sentences] == [
        "One is $234 a motor.1",
        "Two is $234 a motor.",
    ]
    assert [len(p.sentences[0].calculations) for p in plain] == [0, 1]


def _gate(memo: EditedMemo) -> list[tuple[str, int, str, str]]:
    ledger = Ledger.of(FACTS)
    return [
        (v.section, v.paragraph, v.kind, v.token)
        for sec in memo.sections
        for v in check_section(sec, ledger)[0]
    ]


def test_a_second_note_with_a_number_already_seen_is_prose(tmp_path: Path) -> None:
    """A duplicated note is not dropped: it is read as text, so its figures are checked."""

    def build(second: bool) -> Any:
        document = new_document()
        heading(document, "Summary", "summary")
        para = document.add_paragraph("Contracts average about $234 per motor.")
        note_ref(para, "1")
        cite(para, "F2")
        note(document, 1, "$234", PER_MOTOR)
        if second:
            note(document, 1, "$250", PER_MOTOR)
        return document

    (tmp_path / "a").mkdir()
    once = read(build(False), tmp_path / "a")
    (tmp_path / "b").mkdir()
    twice = read(build(True), tmp_path / "b")
    assert _gate(once) == []
    assert len(twice.sections[0].paragraphs) == 2
    assert twice.sections[0].paragraphs[0] == once.sections[0].paragraphs[0]
    assert ("summary", 1, "unsupported_number", "$250") in _gate(twice)
    assert twice.current_hash != once.current_hash


def test_a_note_no_sentence_references_is_still_recomputed(tmp_path: Path) -> None:
    """A note whose reference was deleted is checked after the section's paragraphs."""

    def build(figure: str) -> Any:
        document = new_document()
        heading(document, "Summary", "summary")
        prose(document, "Contracts average about $234 per motor.", ("F2",))  # reference gone
        para = document.add_paragraph("Revenue was $203.9 million.")
        note_ref(para, "2")
        cite(para, "F5")
        note(document, 1, figure, PER_MOTOR)
        note(document, 2, "$203.9 million", "{F5:$203.9 million} * 1")
        return document

    (tmp_path / "a").mkdir()
    wrong = read(build("$250"), tmp_path / "a")
    paragraphs = wrong.sections[0].paragraphs
    assert len(paragraphs) == 3  # the two real paragraphs keep their indices, then the orphan
    assert paragraphs[2].sentences == [
        Sentence(
            text="$250",
            cites=["F2"],
            calculations=[Calculation(figure="$250", formula=PER_MOTOR)],
        )
    ]
    uncalculated = ("summary", 0, "unsupported_number", "$234")  # its note is no longer its own
    assert _gate(wrong) == [uncalculated, ("summary", 2, "bad_calculation", "$250")]
    (tmp_path / "b").mkdir()
    right = read(build("$234"), tmp_path / "b")
    assert len(right.sections[0].paragraphs) == 3 and _gate(right) == [uncalculated]
    # Checked, but not text of its own: the hash covers the printed note only.
    assert right.current_hash == notation.text_hash(
        "",
        [
            (
                "summary",
                "Summary",
                [
                    "Contracts average about $234 per motor. [F2]",
                    "Revenue was $203.9 million. [F5]",
                    notation.note_text(1, Calculation(figure="$234", formula=PER_MOTOR)),
                    "2. $203.9 million \u2248 $203.9 million [F5] \u00d7 1",
                ],
            )
        ],
    )


def test_notes_are_numbered_through_the_memo(tmp_path: Path) -> None:
    """A sentence a reviewer moved to another section keeps its note; the section's own note of
    the same number comes first; the note is then no orphan."""
    document = new_document()
    heading(document, "Summary", "summary")
    note(document, 1, "$234", PER_MOTOR)
    heading(document, "Risks", "risks")
    para = document.add_paragraph("Contracts average about $234 per motor.")
    note_ref(para, "1")
    memo = read(document, tmp_path)
    moved = section(memo, "risks").paragraphs[0].sentences[0]
    assert moved.calculations == [Calculation(figure="$234", formula=PER_MOTOR)]
    assert section(memo, "summary").paragraphs == []  # not an orphan: the moved sentence uses it


# --- tables --------------------------------------------------------------------------------------


def test_key_figures_table_rows_are_a_section_of_their_own(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    prose(document, "Intro.", ("F1",))
    key_figures(
        document,
        [
            ("$203.9 million", "FY2024 revenue", "[F5]"),
            ("80%", "China's share  of processing", "[F1] [F2] [F1]"),
            ("", "", ""),
        ],
    )
    prose(document, "After the table.", ("F2",))
    heading(document, "Risks", "risks")
    memo = read(document, tmp_path)
    assert [s.key for s in memo.sections] == ["summary", notation.KEY_FIGURES_SECTION, "risks"]
    figures = memo.sections[1]
    assert figures.heading == "Key figures"
    assert sentences(figures) == [
        ("$203.9 million: FY2024 revenue", ["F5"]),
        ("80%: China's share of processing", ["F1", "F2"]),
    ]
    assert [len(p.sentences) for p in figures.paragraphs] == [1, 1]
    assert sentences(memo.sections[0]) == [("Intro.", ["F1"]), ("After the table.", ["F2"])]
    assert memo.current_hash == notation.text_hash(
        "",
        [
            ("summary", "Summary", ["Intro. [F1]", "After the table. [F2]"]),
            (
                notation.KEY_FIGURES_SECTION,
                "Key figures",
                [
                    notation.key_figure_text("$203.9 million", "FY2024 revenue", ["F5"]),
                    notation.key_figure_text("80%", "China's share of processing", ["F1", "F2"]),
                ],
            ),
            ("risks", "Risks", []),
        ],
    )


def test_text_in_the_fact_cell_or_an_extra_cell_is_part_of_the_row(tmp_path: Path) -> None:
    """Text typed beside the markers, or in a cell past the third, is checked with the row."""
    document = new_document()
    heading(document, "Summary", "summary")
    table = key_figures(
        document,
        [
            ("$900 million", "POSCO contracts", "[F2] (up 45% in 2026)"),
            ("$203.9 million", "FY2024 revenue", "[F5]"),
            ("3.85 million", "EV motors", "[F2]"),
        ],
    )
    extra = copy.deepcopy(table.rows[3]._tr.findall(qn("w:tc"))[-1])
    table.rows[3]._tr.append(extra)
    table.rows[3].cells[3].text = "or 6 million [F9]"
    memo = read(document, tmp_path)
    rows = section(memo, notation.KEY_FIGURES_SECTION)
    assert sentences(rows) == [
        ("$900 million: POSCO contracts (up 45% in 2026)", ["F2"]),
        ("$203.9 million: FY2024 revenue", ["F5"]),
        ("3.85 million: EV motors or 6 million", ["F2", "F9"]),
    ]
    ledger = Ledger.of(FACTS)
    found = [(v.kind, v.token) for v in check_section(rows, ledger)[0]]
    assert ("unsupported_number", "45%") in found and ("unsupported_number", "6 million") in found
    assert memo.current_hash == notation.text_hash(
        "",
        [
            ("summary", "Summary", []),
            (
                notation.KEY_FIGURES_SECTION,
                "Key figures",
                [
                    "$900 million: POSCO contracts (up 45% in 2026) [F2]",
                    notation.key_figure_text("$203.9 million", "FY2024 revenue", ["F5"]),
                    "3.85 million: EV motors or 6 million [F2][F9]",
                ],
            ),
        ],
    )


def test_a_deleted_key_figures_row_is_gone(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    table = key_figures(document, [("$1", "one", "[F1]"), ("$2", "two", "[F2]")])
    tr_pr = table.rows[1]._tr.get_or_add_trPr()
    tr_pr.append(_tracked("w:del"))
    memo = read(document, tmp_path)
    assert sentences(section(memo, notation.KEY_FIGURES_SECTION)) == [("$2: two", ["F2"])]


def test_other_tables_are_prose_one_paragraph_a_row(tmp_path: Path) -> None:
    document = new_document()
    heading(document, "Summary", "summary")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Metric"
    table.cell(0, 1).text = "Value"
    table.cell(1, 0).text = "Revenue was $203.9 million. [F5]"
    table.cell(1, 1).text = "$250 million"
    inner = table.cell(1, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Nested 12% [F1]"
    memo = read(document, tmp_path)
    assert [[s.text for s in p.sentences] for p in memo.sections[0].paragraphs] == [
        ["Metric Value"],
        ["Revenue was $203.9 million.", "$250 million Nested 12%"],
    ]
    assert sentences(memo.sections[0])[1:] == [
        ("Revenue was $203.9 million.", ["F5"]),
        ("$250 million Nested 12%", ["F1"]),
    ]


def test_a_pasted_row_cites_as_one_sentence(tmp_path: Path) -> None:
    """A row is read like a sentence, so a marker in its last cell cites the figure before it;
    a key-figures table whose header was changed is read the same way."""
    document = new_document()
    heading(document, "Summary", "summary")
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Item", "Value", "Source"), strict=True):
        cell.text = text
    for cell, text in zip(
        table.rows[1].cells, ("POSCO magnet contracts", "$900 million", "[F2]"), strict=True
    ):
        cell.text = text
    renamed = key_figures(document, [("$203.9 million", "FY2024 revenue", "[F5]")])
    renamed.cell(0, 2).text = "Facts"
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0]) == [
        ("Item Value Source", []),
        ("POSCO magnet contracts $900 million", ["F2"]),
        ("Figure What it is Facts", []),
        ("$203.9 million FY2024 revenue", ["F5"]),
    ]
    assert [s.key for s in memo.sections] == ["summary"]
    assert _gate(memo) == []


# --- the hash ------------------------------------------------------------------------------------


def test_current_hash_matches_the_rendered_text_and_changes_with_one_character(
    tmp_path: Path,
) -> None:
    expected = notation.text_hash(
        FRONT,
        [
            (
                "summary",
                "Summary",
                ["Revenue was $203.9 million in FY2024. [F5] Margins widened. [F6]"],
            ),
            ("risks", "Risks", ["China controls about 80% of processing. [F1][F2]"]),
        ],
    )
    (tmp_path / "a").mkdir()
    assert read(basic_memo(), tmp_path / "a").current_hash == expected

    edited = basic_memo()
    for paragraph in edited.paragraphs:
        for run in paragraph.runs:
            run.text = run.text.replace("80%", "81%")
    (tmp_path / "b").mkdir()
    assert read(edited, tmp_path / "b").current_hash != expected


WORDS = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=30
).filter(lambda t: t.strip() != "")
SENTENCES = st.builds(
    lambda text, cites, noted: (text, cites, noted),
    WORDS,
    st.lists(st.sampled_from(["F1", "F2", "F13", "F250"]), max_size=3, unique=True),
    st.booleans(),
)


@settings(max_examples=60)
@given(
    st.lists(
        st.lists(st.lists(SENTENCES, min_size=1, max_size=3), max_size=3), min_size=1, max_size=3
    )
)
def test_rendered_text_reads_back_with_the_renderers_hash(
    sections: list[list[list[tuple[str, list[str], bool]]]],
) -> None:
    """Whatever the sentences say, the memo as rendered hashes alike when read back."""
    document = new_document()
    front_matter(document)
    memo_sections = []
    for k, paragraphs in enumerate(sections):
        key = f"s{k}"
        heading(document, f"Heading {k}", key)
        for sentences_ in paragraphs:
            para = document.add_paragraph()
            for i, (text, cites, noted) in enumerate(sentences_):
                para.add_run(text if i == 0 else " " + text)
                if noted:
                    note_ref(para, str(i + 1))
                if cites:
                    cite(para, *cites)
        memo_sections.append(
            Section(
                key=key,
                heading=f"Heading {k}",
                paragraphs=[
                    Paragraph(sentences=[Sentence(text=t, cites=c) for t, c, _ in sentences_])
                    for sentences_ in paragraphs
                ],
            )
        )
    memo = Memo(ticker="AREC", title="t", stance="neutral", sections=memo_sections)
    with tempfile.TemporaryDirectory() as folder:
        got = read(document, Path(folder))
    assert got.current_hash == notation.memo_hash(memo, FRONT)
    assert [s.key for s in got.sections] == [s.key for s in memo_sections]


def test_comments_do_not_change_the_text_or_the_hash(tmp_path: Path) -> None:
    document = basic_memo()
    target = next(p for p in document.paragraphs if p.text.startswith("Revenue"))
    document.add_comment(target.runs, text="Is $203.9 million right?", author="A", initials="A")
    memo = read(document, tmp_path)
    assert sentences(memo.sections[0])[0] == ("Revenue was $203.9 million in FY2024.", ["F5"])


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
def test_a_memo_saved_again_by_libreoffice_reads_the_same(tmp_path: Path) -> None:
    """Another word processor rewrites runs, styles (it renames "Citation") and tracked changes."""
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI: .ci/run installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    document = new_document()
    front_matter(document)
    heading(document, "Summary", "summary")
    prose(document, "Revenue was $203.9 million in FY2024.", ("F5",), "Margins widened.", ("F6",))
    key_figures(document, [("$900 million", "POSCO contracts", "[F2]")])
    heading(document, "Risks", "risks")
    target = prose(document, "China controls about 80% of processing.")
    note_ref(target, "1")
    cite(target, "F1", "F2")
    insert(target, " Sales will reach $300 million.")
    delete(target, " Deleted $5.")
    note(document, 1, "80%", "{F1:80%} * 1")
    heading(document, notation.APPENDICES_HEADING)
    original = save(document, tmp_path, "in.docx")
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
         "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(tmp_path / "lo"), str(original)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    before = read_memo(original, MAX)
    after = read_memo(tmp_path / "lo" / "in.docx", MAX)
    assert after == before
    risks = section(after, "risks").paragraphs[0].sentences
    assert [s.text for s in risks][-1] == "Sales will reach $300 million."
    assert risks[0].calculations == [Calculation(figure="80%", formula="{F1:80%} * 1")]


# --- bad files -----------------------------------------------------------------------------------


def _bad(path: Path, max_bytes: int = MAX) -> str:
    with pytest.raises(InputFileError) as info:
        read_memo(path, max_bytes)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert str(path) in message
    return message


def test_missing_and_folder(tmp_path: Path) -> None:
    assert "does not exist: check the path" in _bad(tmp_path / "nope.docx")
    assert "is a folder: pass the memo .docx" in _bad(tmp_path)


def test_too_large(tmp_path: Path) -> None:
    path = save(basic_memo(), tmp_path)
    message = _bad(path, max_bytes=1000)
    assert "over the" in message and "limit" in message and "raise the limit" in message


BAD_BYTES: dict[str, Callable[[bytes], bytes]] = {
    "a renamed text file": lambda _: b"Revenue was $5 million.\n",
    "an empty file": lambda _: b"",
    "a truncated docx": lambda good: good[: len(good) // 2],
}


@pytest.mark.parametrize("case", sorted(BAD_BYTES))
def test_not_a_word_document(tmp_path: Path, case: str) -> None:
    good = save(basic_memo(), tmp_path, "good.docx").read_bytes()
    path = tmp_path / "memo.docx"
    path.write_bytes(BAD_BYTES[case](good))
    message = _bad(path)
    assert "not a Word document" in message and "save it from Word" in message


def test_encrypted_or_legacy_doc(tmp_path: Path) -> None:
    path = tmp_path / "memo.docx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600)
    assert "encrypted or a legacy .doc: save it as .docx without a password" in _bad(path)


def test_a_zip_that_is_not_a_word_document(tmp_path: Path) -> None:
    plain = tmp_path / "plain.docx"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "not a Word document" in _bad(plain)
    # A package python-docx opens but whose main part is not a Word document (a workbook).
    good = save(basic_memo(), tmp_path, "good.docx")
    workbook = tmp_path / "book.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(workbook, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"spreadsheetml.sheet.main+xml"
                )
            dst.writestr(info, data)
    assert "not a Word document" in _bad(workbook)


def test_a_zip_bomb_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "memo.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("word/document.xml", b"\0" * (30 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    message = _bad(path, max_bytes=1024 * 1024)
    assert "zip bomb" in message and "pass the .docx that Word saved" in message


def _with_body(tmp_path: Path, name: str, body: bytes, part: str = "word/document.xml") -> Path:
    """The basic memo with ``body`` put in front of its document body's content, the main part
    renamed ``part`` (its content type and relationship follow)."""
    good = save(basic_memo(), tmp_path, "good.docx")
    path = tmp_path / name
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename).replace(b"word/document.xml", part.encode())
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body, 1)
            rename = {
                "word/document.xml": part,
                "word/_rels/document.xml.rels": str(PurePosixPath(part).parent / "_rels")
                + f"/{PurePosixPath(part).name}.rels",
            }
            dst.writestr(rename.get(info.filename, info.filename), data)
    return path


def test_a_tiny_file_with_millions_of_paragraphs_is_refused_at_once(tmp_path: Path) -> None:
    path = _with_body(tmp_path, "memo.docx", b"<w:p/>" * 2_000_000)
    assert path.stat().st_size < 200 * 1024
    started = time.monotonic()
    message = _bad(path)
    assert time.monotonic() - started < 5
    assert "has more than 100,000 paragraphs; a memo has hundreds" in message
    # The main part found by its content type, not its name, is counted all the same.
    renamed = _with_body(tmp_path, "renamed.docx", b"", "word/body.dat")
    assert [s.key for s in read_memo(renamed, MAX).sections] == ["summary", "risks"]
    renamed = _with_body(tmp_path, "renamed.docx", b"<w:p/>" * 2_000_000, "word/body.dat")
    assert "has more than 100,000 paragraphs" in _bad(renamed)


def test_a_document_part_over_64_mb_is_refused(tmp_path: Path) -> None:
    path = _with_body(tmp_path, "memo.docx", b" " * (65 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    message = _bad(path)
    assert "word/document.xml" in message and "64 MB" in message


def _paragraph_starts(path: Path) -> int:
    """Paragraph starts in every part, counted in one piece (no chunks)."""
    with zipfile.ZipFile(path) as package:
        return sum(
            len(re.findall(rb"<(?:[A-Za-z_][\w.-]*:)?p[\s>/]", package.read(name)))
            for name in package.namelist()
        )


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_paragraphs_are_counted_across_chunk_boundaries(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly the limit is read; one more is refused, however the stream is cut."""
    path = _with_body(tmp_path, "memo.docx", b'<w:p/><w:p>\n</w:p><w:p w:rsidR="00A1">x</w:p>')
    count = _paragraph_starts(path)
    assert count > 3
    monkeypatch.setattr(readback, "_CHUNK", chunk)
    monkeypatch.setattr(readback, "MAX_PARAGRAPHS", count)
    read_memo(path, MAX)
    monkeypatch.setattr(readback, "MAX_PARAGRAPHS", count - 1)
    assert f"has more than {count - 1:,} paragraphs" in _bad(path)


def test_malformed_xml_inside_a_package(tmp_path: Path) -> None:
    good = save(basic_memo(), tmp_path, "good.docx")
    broken = tmp_path / "memo.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                data = data[: len(data) // 2]
            dst.writestr(info, data)
    message = _bad(broken)
    assert "save it" in message and ".docx" in message


def test_no_memo_sections(tmp_path: Path) -> None:
    document = new_document()
    front_matter(document)
    heading(document, "appendices")
    heading(document, "Summary", "summary")
    message = _bad(save(document, tmp_path))
    assert "does not look like a thesisgen memo: no section heading before 'Appendices'" in message


# --- end to end: the gate on an edited memo ------------------------------------------------------


FACTS = FactSet(
    ticker="AREC",
    company="American Resources Corporation",
    sources=[{"id": "S1", "title": "t"}],  # type: ignore[list-item]
    facts=[
        Fact(id=i, statement=t, quote=t, source_id="S1")
        for i, t in {
            "F2": "POSCO signed contracts worth nearly $900 million to supply magnets for 3.85 "
            "million EV motors over a decade.",
            "F5": "Revenue was $203.9 million in FY2024.",
            "F9": "Output is expected to double by 2027.",
        }.items()
    ],
)


def test_the_gate_catches_an_edited_figure_and_an_uncited_one(tmp_path: Path) -> None:
    ledger = Ledger.of(FACTS)

    def build(revenue: str, extra: str | None) -> Any:
        document = new_document()
        front_matter(document)
        heading(document, "Summary", "summary")
        para = document.add_paragraph(f"Revenue was {revenue} in FY2024.")
        cite(para, "F5")
        para.add_run(" Contracts average about $234 per motor.")
        note_ref(para, "1")
        cite(para, "F2")
        if extra:
            insert(para, extra)
        note(document, 1, "$234", PER_MOTOR)
        key_figures(document, [("$900 million", "POSCO contracts", "[F2]")])
        heading(document, notation.APPENDICES_HEADING)
        return document

    def gate(document: Any, name: str) -> list[tuple[str, str, str]]:
        (tmp_path / name).mkdir()
        memo = read(document, tmp_path / name)
        found = []
        for sec in memo.sections:
            violations, _ = check_section(sec, ledger)
            found += [(v.section, v.kind, v.token) for v in violations]
        return found

    assert gate(build("$203.9 million", None), "clean") == []
    assert gate(build("$210.5 million", None), "edited") == [
        ("summary", "unsupported_number", "$210.5 million")
    ]
    assert gate(build("$203.9 million", " Output will hit $1 billion."), "uncited") == [
        ("summary", "uncited_number", "$1 billion")
    ]

"""The memo as a Word document an analyst reviews: visible citations, fact appendix, comments.

Built on a styled base document (``templates/memo-base.docx`` or the user's ``--template``). Each
sentence is its own run followed by a run of citation markers in the "Citation" character style,
so a reviewer (or a test) can tell prose from provenance. Anything the reviewer should look at is a
Word comment anchored on the runs concerned.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..errors import InputFileError
from ..models import FactSet, Memo, Repair, Sentence
from ..resources import data_dir
from . import (
    MemoContext,
    attribution,
    calculation_note,
    cite_marker,
    cited_facts,
    first_page_rows,
    review_notes,
)

AUTHOR = "thesisgen"
CITATION_STYLE = "Citation"


def default_template() -> Path:
    return data_dir("templates") / "memo-base.docx"


MAX_TEMPLATE_BYTES = 50 * 1024 * 1024


def check_template(template: Path | None) -> None:
    """Refuse an unusable ``--template`` before any model call, with the same message as later."""
    if template is not None:
        if not template.exists():
            raise InputFileError(f"template {template} does not exist: pass a .docx file")
        if not template.is_file() or template.stat().st_size > MAX_TEMPLATE_BYTES:
            raise InputFileError(
                f"template {template} is not a regular .docx file of at most "
                f"{MAX_TEMPLATE_BYTES // 1024 // 1024} MB: pass a Word .docx file"
            )
        _open_template(template)


def _open_template(template: Path | None) -> Any:
    path = template or default_template()
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for a bad package
        raise InputFileError(
            f"template {path} is not a usable .docx ({type(exc).__name__}): pass a Word .docx file"
        ) from exc
    # Start from the template's styles, not its content.
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _ensure_citation_style(document)
    return document


def _ensure_citation_style(document: Any) -> None:
    styles = document.styles
    if CITATION_STYLE in [s.name for s in styles]:
        return
    style = styles.add_style(CITATION_STYLE, WD_STYLE_TYPE.CHARACTER)
    style.font.size = Pt(8)
    style.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)


def _set_widths(table: Any, widths: Sequence[Any]) -> None:
    """Word honours cell widths, not column widths; set both so LibreOffice agrees."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _add_hyperlink(paragraph: Any, url: str, text: str) -> None:
    """python-docx has no hyperlink API; this is the documented oxml route."""
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    props.append(style)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(underline)
    run.append(props)
    text_el = OxmlElement("w:t")
    text_el.text = text
    text_el.set(qn("xml:space"), "preserve")
    run.append(text_el)
    link.append(run)
    paragraph._p.append(link)


def _first_page(document: Any, memo: Memo, factset: FactSet, context: MemoContext) -> None:
    document.add_heading(memo.title, level=0)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for key, value in first_page_rows(memo, context):
        cells = table.add_row().cells
        cells[0].text = key
        cells[1].text = value
        for run in cells[0].paragraphs[0].runs:
            run.bold = True
    _set_widths(table, (Cm(3.2), Cm(13.4)))
    document.add_paragraph(
        "Every sentence is followed by the IDs of the facts it relies on, such as [F3]. "
        "Appendix A gives each cited fact with its verbatim quote and source; every figure in "
        "the text was checked against the facts its sentence cites."
    )
    for note in review_notes(factset):
        document.add_paragraph(note).runs[0].bold = True
    if not context.report.ok:
        warning = document.add_paragraph()
        run = warning.add_run(
            "This memo did not pass validation: sentences the validator rejected are marked "
            "with comments and must not be relied on."
        )
        run.bold = True
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _repair_note(repairs: list[Repair]) -> str:
    attempts = ", ".join(str(r.attempt) for r in repairs)
    tokens = sorted({v.token for r in repairs for v in r.violations})
    return (
        f"The validator rejected draft attempt(s) {attempts} of this section "
        f"(figures: {', '.join(tokens)}); the text below is the repaired version that passed. "
        "Check that the repair kept the meaning."
    )


def _add_sentence(
    document: Any, paragraph: Any, sentence: Sentence, first: bool, flag: str | None
) -> None:
    run = paragraph.add_run(("" if first else " ") + sentence.text)
    marker = None
    if sentence.cites:
        marker = paragraph.add_run(" " + cite_marker(sentence.cites))
        marker.style = CITATION_STYLE
    if flag:
        document.add_comment(
            [run, marker] if marker is not None else run, text=flag, author=AUTHOR, initials="TG"
        )


def render_docx(
    memo: Memo,
    factset: FactSet,
    context: MemoContext,
    path: Path,
    template: Path | None = None,
) -> None:
    """Write the memo to ``path`` (the caller makes it atomic)."""
    document = _open_template(template)
    _first_page(document, memo, factset, context)
    by_id = factset.by_id()
    flagged = {(v.section, v.paragraph, v.sentence): v.message for v in context.report.violations}
    for section in memo.sections:
        heading = document.add_heading(section.heading, level=1)
        repairs = [r for r in context.report.repairs if r.section == section.key]
        if repairs and heading.runs:
            document.add_comment(
                heading.runs, text=_repair_note(repairs), author=AUTHOR, initials="TG"
            )
        for p, paragraph in enumerate(section.paragraphs):
            para = document.add_paragraph()
            for s, sentence in enumerate(paragraph.sentences):
                flag = flagged.get((section.key, p, s))
                if flag is None and sentence.calculations:
                    flag = " ".join(calculation_note(c) for c in sentence.calculations)
                elif flag is None and not sentence.cites:
                    flag = "No fact cited: this sentence states no figure, but check the claim."
                elif flag is None and any(
                    by_id[c].source_id == "analyst" for c in sentence.cites if c in by_id
                ):
                    flag = "Cites an analyst-supplied fact with no source document."
                _add_sentence(document, para, sentence, s == 0, flag)

    _appendix(document, memo, factset)
    document.core_properties.title = memo.title
    document.core_properties.author = AUTHOR
    document.core_properties.comments = (
        "Generated by thesisgen; figures validated against cited facts."
    )
    document.save(str(path))


def _appendix(document: Any, memo: Memo, factset: FactSet) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("Appendix A: Facts cited", level=1)
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, title in zip(
        table.rows[0].cells, ("ID", "Statement", "Quote (verbatim)", "Source"), strict=True
    ):
        cell.text = title
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for fact in cited_facts(memo, factset):
        cells = table.add_row().cells
        cells[0].text = fact.id
        cells[1].text = fact.statement
        cells[2].text = f"\u201c{fact.quote}\u201d"
        cells[3].text = attribution(fact, factset)
    _set_widths(table, (Cm(1.3), Cm(5.0), Cm(5.8), Cm(4.5)))

    document.add_heading("Appendix B: Sources", level=1)
    for source in factset.sources:
        para = document.add_paragraph(style="List Bullet")
        para.add_run(f"{source.id} ").bold = True
        details = [source.title]
        details += [
            d for d in (source.publisher, source.published and source.published.isoformat()) if d
        ]
        para.add_run(", ".join(details))
        if source.url:
            para.add_run(". ")
            _add_hyperlink(para, source.url, source.url)
        if source.note:
            document.add_paragraph(f"Note: {source.note}", style="List Bullet 2")

    if factset.dropped:
        document.add_heading("Appendix C: Proposed facts dropped in grounding", level=1)
        for dropped in factset.dropped:
            document.add_paragraph(
                f"({dropped.source_id}) {dropped.statement} Reason: {dropped.reason}.",
                style="List Bullet",
            )

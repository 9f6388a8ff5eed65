"""The memo as a Word document an analyst reviews, edits and signs off.

Page 1 is the decision page (title, company, ticker, date, stance, validation line, the bottom
line and its key figures); the sections follow, then the appendices (A cited facts, B sources,
C dropped facts, D the generation record). Each sentence is its own run, then its ``[F#]``
markers as internal links to the fact's bookmark in Appendix A; a calculated figure carries a
superscript note number and its formula is printed at the section's end. Anything the reviewer
should act on is a Word comment on the sentence concerned. The layout is the one
:mod:`thesisgen.readback` reads back: the names it relies on live in :mod:`thesisgen.notation`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tc
from docx.shared import Cm, Inches, Length, Pt, RGBColor
from docx.styles import BabelFish
from docx.table import _Cell, _Row
from docx.text.font import Font
from docx.text.run import Run

from ..errors import InputFileError
from ..models import FactSet, Memo, Sentence
from ..notation import (
    APPENDICES_HEADING,
    CHART_CAPTION_STYLE,
    CITATION_STYLE,
    KEY_FIGURES_HEADER,
    KEY_FIGURES_SECTION,
    NOTE_REFERENCE_STYLE,
    NOTE_STYLE,
    fact_bookmark,
    numbered_notes,
    section_bookmark,
    source_bookmark,
)
from ..resources import data_dir
from . import (
    Comments,
    MemoChart,
    MemoContext,
    appendix_a_intro,
    calculation_notes,
    cited_facts,
    cited_references,
    dropped_text,
    failing_sentences,
    filed_record,
    front_matter,
    generation_record,
    kind_note,
    locator,
    memo_chart,
    quote_header,
    review_comments,
    secondary_note,
    short_sha,
    source_labels,
    source_review_notes,
    validation_line,
)
from .chart import alt_text, draw
from .ooxml import (
    bookmark,
    character_style,
    external_link,
    field,
    highlight,
    internal_link,
    keep_row_together,
    repeat_header_row,
    reset_app_properties,
    style_id,
)

AUTHOR = "thesisgen"
INITIALS = "TG"
MAX_TEMPLATE_BYTES = 50 * 1024 * 1024
_MUTED = RGBColor(0x59, 0x59, 0x59)
_ALERT = RGBColor(0xC0, 0x00, 0x00)


def default_template() -> Path:
    return data_dir("templates") / "memo-base.docx"


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
        # Start from the template's styles, not its content.
        body = document.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
        _ensure_styles(document)
    except Exception as exc:  # python-docx raises several unrelated types for a bad package
        raise InputFileError(
            f"template {path} is not a usable .docx ({type(exc).__name__}): pass a Word .docx file"
        ) from exc
    return document


def _ensure_styles(document: Any) -> None:
    """Our character and paragraph styles, added when the template lacks them."""
    styles = document.styles
    # The names as python-docx's style.name gives them, without a proxy object per style.
    names = {BabelFish.internal2ui(e.name_val) for e in styles.element.style_lst if e.name_val}
    if CITATION_STYLE not in names:
        style = styles.add_style(CITATION_STYLE, WD_STYLE_TYPE.CHARACTER)
        style.font.size = Pt(8)
        style.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    if NOTE_REFERENCE_STYLE not in names:
        style = styles.add_style(NOTE_REFERENCE_STYLE, WD_STYLE_TYPE.CHARACTER)
        style.font.superscript = True
        style.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    if NOTE_STYLE not in names:
        _small_print(styles, NOTE_STYLE, space_after=2)
    for name in ("Heading 1", "Heading 2", "Title", "Table Grid", "List Bullet"):
        if name not in names:
            kind = WD_STYLE_TYPE.TABLE if name == "Table Grid" else WD_STYLE_TYPE.PARAGRAPH
            styles.add_style(name, kind)


# --- small layout helpers ------------------------------------------------------------------------


def _set_widths(table: Any, widths: Sequence[Any]) -> None:
    """Word honours cell widths, not column widths; set both so LibreOffice agrees. A cell with
    no properties yet gets a copy of the ones python-docx writes for its width (made once: its
    setter searches the schema's order of properties for every cell)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for tr in table._tbl.tr_lst:
        for tc, width in zip(tr.tc_lst, widths, strict=True):
            if tc.tcPr is None:
                tc.insert(0, deepcopy(_width_properties(width)))
            else:
                tc.width = width


@cache
def _width_properties(width: Length) -> Any:
    tc = CT_Tc.new()
    tc.width = width
    return tc.tcPr


@cache
def _size_properties(size: float) -> Any:
    run = OxmlElement("w:r")
    Font(run).size = Pt(size)
    return run.rPr


def _paragraph(container: Any, text: str = "", style: str | None = None) -> Any:
    """``container.add_paragraph(text, style)``, the style's id looked up once per document
    (:func:`thesisgen.render.ooxml.style_id`)."""
    paragraph = container.add_paragraph(text)
    if style is not None:
        paragraph._p.style = style_id(paragraph, style, WD_STYLE_TYPE.PARAGRAPH)
    return paragraph


def _heading(document: Any, text: str, level: int) -> Any:
    """``document.add_heading(text, level)``, the style's id looked up once per document."""
    return _paragraph(document, text, "Title" if level == 0 else f"Heading {level}")


def _grid(table: Any) -> None:
    """``table.style = "Table Grid"``, the style's id looked up once per document."""
    table._tbl.tblStyle_val = style_id(table, "Table Grid", WD_STYLE_TYPE.TABLE)


def _table(document: Any, header: Sequence[str]) -> Any:
    """A grid table whose header row repeats on every page and whose rows never split."""
    table = document.add_table(rows=1, cols=len(header))
    _grid(table)
    for cell, title in zip(table.rows[0].cells, header, strict=True):
        _text(cell, title)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    repeat_header_row(table.rows[0])
    keep_row_together(table.rows[0])
    return table


def _rows(table: Any, count: int) -> list[tuple[Any, ...]]:
    """The cells of ``count`` new rows at the table's end, rows kept together, as
    ``table.add_row()`` makes them but for the cell widths, which :func:`_set_widths` sets once
    the table is full. Built here, since python-docx reads the table's grid again for every row
    it adds (3 s for a table of 2,500 facts, 48 s for 25,000)."""
    tbl = table._tbl
    columns = len(tbl.tblGrid.gridCol_lst)
    out = []
    for _ in range(count):
        tr = tbl.add_tr()
        keep_row_together(_Row(tr, table))
        out.append(tuple(_Cell(tr.add_tc(), table) for _ in range(columns)))
    return out


def _text(cell: Any, text: str) -> None:
    """``cell.text = text``, without python-docx's character-by-character pass for text that has
    no tab or line break (the quotes of Appendix A are most of a memo's text)."""
    if "\t" in text or "\n" in text or "\r" in text:
        cell.text = text
        return
    tc = cell._tc
    tc.clear_content()
    run = tc.add_p().add_r()
    if text:
        run.add_t(text)


def _add_run(paragraph: Any, text: str) -> Run:
    """``paragraph.add_run(text)``, without python-docx's character-by-character pass for text
    that has no tab or line break (as :func:`_text` does for cells)."""
    if "\t" in text or "\n" in text or "\r" in text:
        added: Run = paragraph.add_run(text)
        return added
    run = paragraph._p.add_r()
    if text:
        run.add_t(text)
    return Run(run, paragraph)


def _small(paragraph: Any, size: float = 9) -> None:
    """The paragraph's runs in ``size`` points; a run with no properties yet gets a copy of the
    ones python-docx writes for the size (as :func:`_set_widths` does)."""
    for run in paragraph._p.r_lst:
        if run.rPr is None:
            run.insert(0, deepcopy(_size_properties(size)))
        else:
            Font(run).size = Pt(size)


def _markers(paragraph: Any, cites: Sequence[str]) -> None:
    """The sentence's ``[F#]`` markers, each a link to its fact's entry in Appendix A."""
    if not cites:
        return
    paragraph.add_run(" ")
    for fid in cites:
        internal_link(
            paragraph, fact_bookmark(fid), f"[{fid}]", style=CITATION_STYLE,
            tooltip=f"Fact {fid} in Appendix A",
        )  # fmt: skip


def _comment(document: Any, runs: Sequence[Any], notes: Sequence[str]) -> None:
    comment = document.add_comment(list(runs), text=notes[0], author=AUTHOR, initials=INITIALS)
    for note in notes[1:]:
        comment.add_paragraph(note)


# --- page furniture ------------------------------------------------------------------------------


def _furniture(document: Any, memo: Memo, context: MemoContext) -> None:
    section = document.sections[0]
    header = section.header
    header.is_linked_to_previous = False
    head = header.paragraphs[0]
    head.text = ""
    head.add_run(f"{memo.company or memo.ticker} ({memo.ticker})").bold = True
    head.add_run("  \u2022  Draft for internal review")
    _small(head)
    footer = section.footer
    footer.is_linked_to_previous = False
    foot = footer.paragraphs[0]
    foot.text = ""
    foot.add_run(f"As of {context.as_of.isoformat()}  \u2022  Page ")
    field(foot, "PAGE")
    foot.add_run(" of ")
    field(foot, "NUMPAGES")
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in foot.runs:
        run.font.size = Pt(8)


def _properties(document: Any, memo: Memo, context: MemoContext) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    props = document.core_properties
    props.title = memo.title
    props.subject = f"Investment thesis: {memo.company or memo.ticker} ({memo.ticker})"
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.keywords = f"{memo.ticker}; investment thesis; {memo.stance}"
    props.category = "Investment memo (draft)"
    props.comments = f"Generated by thesisgen for {context.as_of.isoformat()}."
    props.created = now
    props.modified = now
    props.revision = 1
    for stale in props._element.findall(qn("cp:lastPrinted")):  # the template's, not ours
        props._element.remove(stale)
    props.content_status = "Draft"
    props.identifier = ""
    props.language = ""
    props.version = ""
    reset_app_properties(document)


# --- the memo ------------------------------------------------------------------------------------


def _decision_page(document: Any, memo: Memo, context: MemoContext, factset: FactSet) -> None:
    front = front_matter(memo, context, factset)
    _heading(document, front.title, 0)
    table = document.add_table(rows=2, cols=len(front.labels))
    _grid(table)
    for cell, label in zip(table.rows[0].cells, front.labels, strict=True):
        _text(cell, label)
        _small(cell.paragraphs[0], 8)
        for run in cell.paragraphs[0].runs:
            run.font.color.rgb = _MUTED
    for cell, value in zip(table.rows[1].cells, front.values, strict=True):
        _text(cell, value)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    _set_widths(table, (Cm(7.0), Cm(2.6), Cm(3.0), Cm(4.0)))
    for text in front.banners:
        run = document.add_paragraph().add_run(text)
        run.bold = True
        run.font.color.rgb = _ALERT
        run.font.size = Pt(9.5)
    check = document.add_paragraph(validation_line(memo, context, front))
    _small(check, 8.5)
    for run in check.runs:
        run.font.color.rgb = _MUTED
    _small(document.add_paragraph(front.notes_line), 8.5)


def _sentence(
    document: Any,
    paragraph: Any,
    sentence: Sentence,
    first: bool,
    notes: Sequence[int],
    comment: Sequence[str],
    failed: bool,
) -> None:
    run = _add_run(paragraph, ("" if first else " ") + sentence.text)
    anchored = [run]
    if failed:
        highlight(run, "yellow")
    if notes:  # one run: the reader takes adjacent reference runs as one number
        ref = paragraph.add_run(",".join(map(str, notes)))
        character_style(ref, NOTE_REFERENCE_STYLE)
        anchored.append(ref)
    _markers(paragraph, sentence.cites)
    if comment:
        _comment(document, anchored, comment)


def _key_figures(document: Any, memo: Memo, index: int, comments: Comments) -> None:
    section = memo.sections[index]
    table = _table(document, KEY_FIGURES_HEADER)
    rows = _rows(table, len(section.paragraphs))
    for p, (paragraph, cells) in enumerate(zip(section.paragraphs, rows, strict=True)):
        sentence = paragraph.sentences[0]
        figure, what = sentence.text.split(": ", 1)
        _text(cells[0], figure)
        for run in cells[0].paragraphs[0].runs:
            run.bold = True
        _text(cells[1], what)
        _markers(cells[2].paragraphs[0], sentence.cites)
        notes = comments.by_sentence.get((section.key, p, 0), [])
        if notes:  # on the row's figure: the row is the sentence the gate checked
            _comment(document, cells[0].paragraphs[0].runs, notes)
    _set_widths(table, (Cm(3.0), Cm(11.6), Cm(2.0)))


def _caption_style(document: Any) -> None:
    """The caption's paragraph style, added only to a memo with a chart (and only when the
    template lacks it), so a memo without one keeps the styles it always had."""
    styles = document.styles
    names = {BabelFish.internal2ui(e.name_val) for e in styles.element.style_lst if e.name_val}
    if CHART_CAPTION_STYLE not in names:
        _small_print(styles, CHART_CAPTION_STYLE, space_after=6)


def _small_print(styles: Any, name: str, space_after: float) -> None:
    """A muted 8.5 pt paragraph style on Normal (calculation notes, the chart's caption). A
    paragraph typed after one is prose again, so the reader checks it."""
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    style.font.size = Pt(8.5)
    style.font.color.rgb = _MUTED
    style.paragraph_format.space_before = Pt(2)
    style.paragraph_format.space_after = Pt(space_after)
    style.next_paragraph_style = styles["Normal"]


def _chart(document: Any, drawn: MemoChart) -> None:
    """The chart as a picture ~6 in wide, its alt text (every plotted value, as filed, with its
    fact ID) in the picture's description, then its caption with the plotted facts' markers."""
    _caption_style(document)
    picture = document.add_paragraph()
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.keep_with_next = True
    shape = picture.add_run().add_picture(io.BytesIO(draw(drawn.chart)), width=Inches(6.0))
    doc_pr = shape._inline.docPr
    doc_pr.set("descr", alt_text(drawn.chart))
    doc_pr.set("title", drawn.chart.title)
    caption = _paragraph(document, drawn.caption, CHART_CAPTION_STYLE)
    _markers(caption, drawn.chart.fact_ids)


def _sections(
    document: Any,
    memo: Memo,
    comments: Comments,
    context: MemoContext,
    drawn: MemoChart | None = None,
) -> None:
    numbers = numbered_notes(memo)
    notes = calculation_notes(memo)
    failed = failing_sentences(context.report)
    for i, section in enumerate(memo.sections):
        if section.key == KEY_FIGURES_SECTION:
            _key_figures(document, memo, i, comments)
            continue
        heading = _heading(document, section.heading, 1)
        bookmark(heading, section_bookmark(section.key))
        if i > 0 and (i == 1 or memo.sections[i - 1].key == KEY_FIGURES_SECTION):
            heading.paragraph_format.page_break_before = True  # page 1 ends with the bottom line
        for p, paragraph in enumerate(section.paragraphs):
            para = document.add_paragraph()
            for s, sentence in enumerate(paragraph.sentences):
                key = (section.key, p, s)
                _sentence(
                    document, para, sentence, s == 0, numbers.get(key, []),
                    comments.by_sentence.get(key, []), key in failed,
                )  # fmt: skip
        for note in notes.get(section.key, []):
            _paragraph(document, note, NOTE_STYLE)
        if drawn is not None and section.key == drawn.section:
            _chart(document, drawn)


def _appendices(document: Any, memo: Memo, factset: FactSet, context: MemoContext) -> None:
    heading = _heading(document, APPENDICES_HEADING, 1)
    heading.paragraph_format.page_break_before = True

    _heading(document, "A. Cited facts", 2)
    cited = cited_facts(memo, factset)
    _small(document.add_paragraph(appendix_a_intro(cited, factset)))
    table = _table(document, ("ID", "Statement", quote_header(cited), "Source"))
    listed = {source.id for source in factset.sources}
    for fact, cells in zip(cited, _rows(table, len(cited)), strict=True):
        _text(cells[0], fact.id)
        bookmark(cells[0].paragraphs[0], fact_bookmark(fact.id))
        _text(cells[1], fact.statement + kind_note(fact))
        if fact.filed is not None:  # an XBRL figure: its record and the filing, not a quote
            _text(cells[2], filed_record(fact.filed))
            external_link(cells[2].add_paragraph(), fact.filed.url, fact.filed.url)
        else:
            _text(cells[2], f"\u201c{fact.quote}\u201d")
        where = cells[3].paragraphs[0]
        if fact.source_id == "analyst":
            where.add_run("analyst-supplied")
        elif fact.source_id in listed:
            internal_link(
                where, source_bookmark(fact.source_id), fact.source_id, style=CITATION_STYLE
            )
        else:
            where.add_run(fact.source_id)
        extra = ", ".join(t for t in (locator(fact), secondary_note(fact)) if t)
        if extra:
            where.add_run(f", {extra}")
        for cell in cells:
            for para in cell.paragraphs:
                _small(para)
    _set_widths(table, (Cm(1.3), Cm(5.4), Cm(7.0), Cm(2.9)))

    _heading(document, "B. Sources", 2)
    table = _table(document, ("ID", "Source", "Date", "sha256"))
    references = cited_references(factset)
    for source, cells in zip(factset.sources, _rows(table, len(factset.sources)), strict=True):
        _text(cells[0], source.id)
        bookmark(cells[0].paragraphs[0], source_bookmark(source.id))
        about = cells[1].paragraphs[0]
        about.add_run(source.title).bold = True
        if source.publisher:
            about.add_run(f". {source.publisher}")
        labels = source_labels(source)
        if labels:
            label = about.add_run(f" [{'; '.join(labels)}]")
            label.italic = True
        if source.url:
            link = cells[1].add_paragraph()
            external_link(link, source.url, source.url)
        if source.note:
            cells[1].add_paragraph(f"Note: {source.note}")
        if source.id in references:
            cells[1].add_paragraph(
                "Its references behind cited facts: " + "; ".join(references[source.id])
            )
        _text(cells[2], source.published.isoformat() if source.published else "undated")
        _text(cells[3], short_sha(source))
        for cell in cells:
            for para in cell.paragraphs:
                _small(para)
    _set_widths(table, (Cm(1.3), Cm(10.8), Cm(2.3), Cm(2.2)))

    _heading(document, "C. Dropped facts and source review notes", 2)
    if not factset.dropped:
        document.add_paragraph(
            "No proposed fact was dropped or replaced: each statement was backed by its evidence."
        )
    for dropped in factset.dropped:
        para = _paragraph(document, style="List Bullet")
        para.add_run(f"{dropped.source_id}: ").bold = True
        para.add_run(f"{dropped.statement} ")
        para.add_run(dropped_text(dropped)).italic = True
        _small(para)
    for note in source_review_notes(factset):
        _small(_paragraph(document, note, "List Bullet"))

    _heading(document, "D. Generation record", 2)
    table = _table(document, ("Item", "Value"))
    record = generation_record(context, factset)
    for (item, value), cells in zip(record, _rows(table, len(record)), strict=True):
        _text(cells[0], item)
        _text(cells[1], value)
        for cell in cells:
            _small(cell.paragraphs[0])
    _set_widths(table, (Cm(4.6), Cm(12.0)))


def render_docx(
    memo: Memo,
    factset: FactSet,
    context: MemoContext,
    path: Path,
    template: Path | None = None,
) -> None:
    """Write the checked memo (see :func:`thesisgen.render.checked_memo`) to ``path``; the caller
    makes the write atomic."""
    document = _open_template(template)
    _furniture(document, memo, context)
    _decision_page(document, memo, context, factset)
    comments = review_comments(memo, factset, context)
    _sections(document, memo, comments, context, memo_chart(memo, factset))
    _appendices(document, memo, factset, context)
    _properties(document, memo, context)
    document.save(str(path))

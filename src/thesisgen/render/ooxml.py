"""WordprocessingML that python-docx 1.2 has no API for: bookmarks, links, fields, row properties.

Everything here edits the lxml tree under python-docx's objects. Word refuses (or "repairs") a file
whose property children are out of schema order, so new children are inserted at their schema
position rather than appended. The readers at the bottom exist so tests, ours and the memo's, can
check a saved document without unzipping it by hand.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.styles import BabelFish

__all__ = [
    "bookmark",
    "bookmarks",
    "character_style",
    "external_link",
    "external_links",
    "field",
    "fields",
    "highlight",
    "internal_link",
    "internal_links",
    "keep_row_together",
    "repeat_header_row",
    "reset_app_properties",
    "style_id",
]

# CT_RPr's child sequence (ECMA-376 Part 1, 17.3.2.28 and 17.3.2.27).
RPR_ORDER = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
    "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
    "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
    "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
    "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
    "w:rPrChange",
)  # fmt: skip
# CT_TrPr's children (17.4.82): the schema allows any order; this is the one Word writes.
TRPR_ORDER = (
    "w:cnfStyle", "w:divId", "w:gridBefore", "w:gridAfter", "w:wBefore", "w:wAfter",
    "w:cantSplit", "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins",
    "w:del", "w:trPrChange",
)  # fmt: skip
# ST_HighlightColor (17.18.40): w:highlight takes only these names, not RGB.
HIGHLIGHT_COLORS = frozenset(
    (
        "black", "blue", "cyan", "green", "magenta", "red", "yellow", "white", "darkBlue",
        "darkCyan", "darkGreen", "darkMagenta", "darkRed", "darkYellow", "darkGray", "lightGray",
        "none",
    )
)  # fmt: skip
# Word's own colour for its built-in Hyperlink style, for documents that lack the style.
LINK_COLOR = "0563C1"
EXTENDED_PROPERTIES = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
_EP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# Word's Insert > Bookmark dialog: a letter first, then letters, digits, underscores; 40 at most.
_BOOKMARK_NAME = re.compile(r"[^\W\d_]\w{0,39}")


# --- writing -------------------------------------------------------------------------------------


@dataclass
class _Bookmarks:
    next_id: int
    names: set[str]


# Keyed by part so a second document (or a header part) starts from its own scan.
_bookmark_state: weakref.WeakKeyDictionary[Any, _Bookmarks] = weakref.WeakKeyDictionary()


def _state_for(part: Any) -> _Bookmarks:
    """Scan once per part: a template may already carry bookmarks (Word's _GoBack, a TOC's)."""
    state = _bookmark_state.get(part)
    if state is None:
        ids = [0]
        names: set[str] = set()
        for start in part.element.iter(qn("w:bookmarkStart")):
            value = start.get(qn("w:id"), "")
            if value.isdigit():
                ids.append(int(value) + 1)
            names.add(start.get(qn("w:name"), ""))
        state = _Bookmarks(max(ids), names)
        _bookmark_state[part] = state
    return state


def bookmark(paragraph: Any, name: str, runs: Sequence[Any] | None = None) -> None:
    """Name a span so internal links (and Word's navigation) can jump to it.

    Names that break Word's rules or repeat would leave links landing nowhere or on the wrong
    span, so they are errors here. Runs must be direct children of the paragraph, so a range never
    starts inside a w:hyperlink and ends outside it.
    """
    if not _BOOKMARK_NAME.fullmatch(name):
        raise ValueError(
            f"bookmark name {name!r} is not one Word accepts: a letter, then letters, digits or underscores, 40 characters at most"
        )
    state = _state_for(paragraph.part)
    if name in state.names:
        raise ValueError(f"bookmark name {name!r} is already used in this part")
    p = paragraph._p
    if runs is None:
        span = [child for child in p if child.tag != qn("w:pPr")]
    else:
        span = _run_span(p, runs)
    bookmark_id = str(state.next_id)
    start = OxmlElement("w:bookmarkStart", {qn("w:id"): bookmark_id, qn("w:name"): name})
    end = OxmlElement("w:bookmarkEnd", {qn("w:id"): bookmark_id})
    if span:
        span[0].addprevious(start)
        span[-1].addnext(end)
    else:
        p.append(start)
        p.append(end)
    state.next_id += 1
    state.names.add(name)


def _run_span(p: Any, runs: Sequence[Any]) -> list[Any]:
    """The w:r elements of `runs` in document order, once known to be adjacent children of `p`."""
    if not runs:
        raise ValueError("bookmark needs at least one run, or runs=None for the whole paragraph")
    siblings = [child for child in p if child.tag == qn("w:r")]
    try:
        positions = sorted(siblings.index(run._r) for run in runs)
    except ValueError:
        raise ValueError("bookmark runs must be runs directly inside this paragraph") from None
    if positions != list(range(positions[0], positions[0] + len(positions))):
        raise ValueError("bookmark runs must be contiguous and each given once")
    return [siblings[i] for i in positions]


def _link_run(text: str, style_id: str | None, direct: bool = False) -> Any:
    run = OxmlElement("w:r")
    if style_id is not None or direct:
        props = OxmlElement("w:rPr")
        if style_id is not None:
            props.append(OxmlElement("w:rStyle", {qn("w:val"): style_id}))
        if direct:
            props.append(OxmlElement("w:color", {qn("w:val"): LINK_COLOR}))
            props.append(OxmlElement("w:u", {qn("w:val"): "single"}))
        run.append(props)
    text_el = OxmlElement("w:t", {qn("xml:space"): "preserve"})
    text_el.text = text
    run.append(text_el)
    return run


def _styles(paragraph: Any) -> Any:
    """Styles live in the main document part even when the paragraph is in a header."""
    return paragraph.part.package.main_document_part.styles


# Each main document part's styles, read in one pass when a style is first asked for: python-docx
# finds a style by name by reading every style of the document, then reads them all again to see
# whether it is the default of its type, and that once a sentence cost more than the rest of the
# render. A name not in the index reads the styles again, so a style added later is still found.
_style_index: weakref.WeakKeyDictionary[Any, _Styles] = weakref.WeakKeyDictionary()


@dataclass
class _Styles:
    by_name: dict[str, Any]  # internal name (as in styles.xml) -> its first w:style, as python-docx
    defaults: dict[WD_STYLE_TYPE, Any]  # type -> its last default w:style, as python-docx

    @classmethod
    def read(cls, main: Any) -> _Styles:
        by_name: dict[str, Any] = {}
        defaults: dict[WD_STYLE_TYPE, Any] = {}
        for element in main.styles.element.style_lst:
            name = element.name_val
            if name is not None:
                by_name.setdefault(name, element)
            if element.default:
                defaults[element.type] = element
        return cls(by_name, defaults)


def style_id(owner: Any, style: str, kind: WD_STYLE_TYPE) -> str | None:
    """The id of the style named ``style`` of type ``kind`` in the document ``owner`` (a paragraph,
    run, table or the document) belongs to, as python-docx's ``get_style_id`` gives it: None for
    the default style of the type."""
    main = owner.part.package.main_document_part
    index = _style_index.get(main)
    internal = BabelFish.ui2internal(style)
    if index is None or internal not in index.by_name:
        index = _style_index[main] = _Styles.read(main)
    element = index.by_name.get(internal)
    if element is None:
        raise ValueError(f"{kind.name.lower()} style {style!r} is not defined in the document")
    if element.type != kind:
        raise ValueError(
            f"style {style!r} is a {element.type.name.lower()} style, not {kind.name.lower()}"
        )
    if element is index.defaults.get(kind):
        return None
    found: str | None = element.styleId
    return found


def _character_style_id(paragraph: Any, style: str) -> str | None:
    """The id Word stores in w:rStyle; a name alone would be ignored, leaving the link unstyled."""
    return style_id(paragraph, style, WD_STYLE_TYPE.CHARACTER)


def character_style(run: Any, style: str) -> None:
    """``run.style = style`` for a character style, with the style's id looked up once per
    document (:func:`_character_style_id`)."""
    run._r.style = _character_style_id(run, style)


def internal_link(
    paragraph: Any, anchor: str, text: str, style: str | None = None, tooltip: str | None = None
) -> Any:
    """A link to a bookmark, with w:history as Word writes it so the link joins visited history."""
    style_id = _character_style_id(paragraph, style) if style is not None else None
    link = OxmlElement("w:hyperlink", {qn("w:anchor"): anchor, qn("w:history"): "1"})
    if tooltip is not None:
        link.set(qn("w:tooltip"), tooltip)
    link.append(_link_run(text, style_id))
    paragraph._p.append(link)
    return link


def external_link(paragraph: Any, url: str, text: str, style: str | None = "Hyperlink") -> Any:
    """A link to a URL. Templates without the style still get a link that looks like one.

    Only a missing style falls back; a style of the wrong type is an error, as in internal_link.
    """
    style_id: str | None = None
    direct = False
    if style is not None:
        if style in _styles(paragraph):
            style_id = _character_style_id(paragraph, style)
        else:
            direct = True
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink", {qn("r:id"): rel_id, qn("w:history"): "1"})
    link.append(_link_run(text, style_id, direct))
    paragraph._p.append(link)
    return link


def field(paragraph: Any, instruction: str, placeholder: str = "1") -> None:
    """A complex field, the form Word itself writes for PAGE and NUMPAGES.

    Not marked dirty: Word and LibreOffice recompute PAGE and NUMPAGES at layout anyway, and a dirty
    field makes Word ask on opening whether to update fields.
    """
    p = paragraph._p

    def add_run(child: Any) -> None:
        run = OxmlElement("w:r")
        run.append(child)
        p.append(run)

    add_run(OxmlElement("w:fldChar", {qn("w:fldCharType"): "begin"}))
    instr = OxmlElement("w:instrText", {qn("xml:space"): "preserve"})
    instr.text = f" {instruction.strip()} "
    add_run(instr)
    add_run(OxmlElement("w:fldChar", {qn("w:fldCharType"): "separate"}))
    shown = OxmlElement("w:t", {qn("xml:space"): "preserve"})
    shown.text = placeholder
    add_run(shown)
    add_run(OxmlElement("w:fldChar", {qn("w:fldCharType"): "end"}))


def _get_or_insert(parent: Any, tag: str, order: Sequence[str]) -> Any:
    """The `tag` child, added if missing before the first sibling the schema puts after it."""
    existing = parent.find(qn(tag))
    if existing is not None:
        return existing
    child = OxmlElement(tag)
    successors = {qn(t) for t in order[order.index(tag) + 1 :]}
    for sibling in parent:
        if sibling.tag in successors:
            sibling.addprevious(child)
            break
    else:
        parent.append(child)
    return child


def _set_row_flag(row: Any, tag: str) -> None:
    flag = _get_or_insert(row._tr.get_or_add_trPr(), tag, TRPR_ORDER)
    # Bare on/off element means true; drop a w:val="0" a template may have left.
    flag.attrib.pop(qn("w:val"), None)


def repeat_header_row(row: Any) -> None:
    """Repeat the row at the top of each page a long table runs onto."""
    _set_row_flag(row, "w:tblHeader")


def keep_row_together(row: Any) -> None:
    """Stop a page break from splitting the row's text across pages."""
    _set_row_flag(row, "w:cantSplit")


def highlight(run: Any, color: str = "yellow") -> None:
    """Marker-pen highlight; Word knows only the ST_HighlightColor names, so others are errors."""
    if color not in HIGHLIGHT_COLORS:
        raise ValueError(f"highlight colour {color!r} is not one of {sorted(HIGHLIGHT_COLORS)}")
    _get_or_insert(run._r.get_or_add_rPr(), "w:highlight", RPR_ORDER).set(qn("w:val"), color)


def reset_app_properties(document: Any, application: str = "thesisgen") -> None:
    """Drop the base template's stale app.xml (author's company, 2013 word counts, "Mac Word").

    File > Properties would show them as the memo's; Word recounts on save, so nothing is lost.
    python-docx loads app.xml as an opaque blob, hence the blob swap.
    """
    xml = (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        f'<Properties xmlns="{_EP_NS}" xmlns:vt="{_VT_NS}">'
        f"<Application>{escape(application)}</Application><DocSecurity>0</DocSecurity>"
        "</Properties>"
    )
    for part in document.part.package.iter_parts():
        if part.content_type == EXTENDED_PROPERTIES:
            if isinstance(part, XmlPart):
                part._element = parse_xml(xml.encode("utf-8"))
            else:
                part._blob = xml.encode("utf-8")
            return


# --- reading -------------------------------------------------------------------------------------


def _text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def bookmarks(part_element: Any) -> dict[str, str]:
    """Bookmark name -> its text, following ranges by id since they may cross paragraphs."""
    open_ids: dict[str, str] = {}
    texts: dict[str, list[str]] = {}
    for el in part_element.iter(qn("w:bookmarkStart"), qn("w:bookmarkEnd"), qn("w:t")):
        if el.tag == qn("w:t"):
            for name in open_ids.values():
                texts[name].append(el.text or "")
        elif el.tag == qn("w:bookmarkStart"):
            name = el.get(qn("w:name"), "")
            open_ids[el.get(qn("w:id"), "")] = name
            texts[name] = []
        else:
            open_ids.pop(el.get(qn("w:id"), ""), None)
    return {name: "".join(parts) for name, parts in texts.items()}


def internal_links(part_element: Any) -> list[tuple[str, str]]:
    """(anchor, text) of each link to a bookmark, in document order."""
    return [
        (link.get(qn("w:anchor")), _text(link))
        for link in part_element.iter(qn("w:hyperlink"))
        if link.get(qn("w:anchor")) is not None
    ]


def external_links(document_part: Any) -> list[tuple[str, str]]:
    """(url, text) of each external link, in document order; the URL lives in the part's rels."""
    rels = document_part.rels
    return [
        (rels[link.get(qn("r:id"))].target_ref, _text(link))
        for link in document_part.element.iter(qn("w:hyperlink"))
        if link.get(qn("r:id")) is not None
    ]


def fields(part_element: Any) -> list[str]:
    """Instructions of simple and complex fields, stripped, in the order the fields begin.

    Complex fields nest (an IF around a PAGE), so instruction text goes to the innermost field
    still collecting its instruction.
    """
    found: list[list[str]] = []
    stack: list[tuple[int, bool]] = []  # (index into found, still reading the instruction)
    tags = (qn("w:fldSimple"), qn("w:fldChar"), qn("w:instrText"))
    for el in part_element.iter(*tags):
        if el.tag == qn("w:fldSimple"):
            found.append([el.get(qn("w:instr"), "")])
        elif el.tag == qn("w:instrText"):
            if stack and stack[-1][1]:
                found[stack[-1][0]].append(el.text or "")
        else:
            kind = el.get(qn("w:fldCharType"))
            if kind == "begin":
                found.append([])
                stack.append((len(found) - 1, True))
            elif kind == "separate" and stack:
                stack[-1] = (stack[-1][0], False)
            elif kind == "end" and stack:
                stack.pop()
    return ["".join(parts).strip() for parts in found]

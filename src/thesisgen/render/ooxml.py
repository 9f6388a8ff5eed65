"""WordprocessingML that python-docx 1.2 has no API for: bookmarks and links.

Everything here edits the lxml tree under python-docx's objects. The readers at the bottom exist so
tests, ours and the memo's, can check a saved document without unzipping it by hand.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

__all__ = [
    "bookmark",
    "bookmarks",
    "external_link",
    "external_links",
    "internal_link",
    "internal_links",
]

# Word's own colour for its built-in Hyperlink style, for documents that lack the style.
LINK_COLOR = "0563C1"
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


def _character_style_id(paragraph: Any, style: str) -> str | None:
    """The id Word stores in w:rStyle; a name alone would be ignored, leaving the link unstyled."""
    styles = _styles(paragraph)
    # `in` rather than indexing: Styles[...] falls back to a deprecated lookup by id.
    if style not in styles:
        raise ValueError(f"character style {style!r} is not defined in the document")
    style_id: str | None = styles.get_style_id(style, WD_STYLE_TYPE.CHARACTER)
    return style_id


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

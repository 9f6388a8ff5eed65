"""Read an edited memo.docx back into sections the gate can check again.

The renderer writes the layout that ``notation`` describes; an analyst then edits the memo in Word,
possibly with tracked changes. This module reads what Word shows with every tracked change
accepted, section by section, and turns each paragraph back into sentences with their cited fact
IDs and calculations, so ``validate.check_section`` can re-apply the gate to the edited text:

- front matter (everything before the first Heading 1) is not checked, but its text is hashed
  (every paragraph in document order, table cells row by row, the validation line left out), and
  the validation line gives the hash and date of the text the gate last checked;
- each Heading 1 (or a paragraph in a style based on Heading 1) starts a section (key from its
  ``section_*`` bookmark, else a slug of its text); after the Heading 1 "Appendices" nothing is
  read until the next Heading 1 (a reviewer's addendum at the end is a section like the others);
- in a section, a "Calculation Note" paragraph that parses is a numbered calculation (the first
  with its number; a repeat is prose), a key-figures table gives one sentence per row (in a section
  of its own), any other table one paragraph per row (its cells' text joined), and everything
  else, including the text of text boxes, is prose;
- citation markers belong to the sentence they follow; note references (superscript runs in the
  "Calculation Reference" style holding only numbers, commas, spaces and brackets) are not text and
  attach the section's numbered notes to their sentence; a note no sentence references is still
  recomputed, as one more paragraph at the section's end;
- a picture has no text, and the chart's caption (a "Chart Caption" paragraph that still reads as
  one, :data:`notation.CHART_CAPTION`) is skipped: it states no figure of its own.

Every problem with the file is an ``InputFileError`` with one line naming the file and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import docx
from docx.enum.style import WD_STYLE_TYPE

from . import notation
from .errors import InputFileError
from .files import OLE_MAGIC
from .models import Calculation, Paragraph, Section, Sentence
from .sentences import segment

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

P, R, T, TBL, TR, TC = (_W + t for t in ("p", "r", "t", "tbl", "tr", "tc"))
SDT, SDT_CONTENT, CUSTOM_XML = _W + "sdt", _W + "sdtContent", _W + "customXml"
DEL, MOVE_FROM, FLD_CHAR = _W + "del", _W + "moveFrom", _W + "fldChar"
TXBX_CONTENT, BOOKMARK_START = _W + "txbxContent", _W + "bookmarkStart"
VAL, NAME = _W + "val", _W + "name"

# Containers whose runs Word shows (tracked insertions and moves included).
_SHOWN = frozenset(
    _W + t
    for t in (
        *("hyperlink", "ins", "moveTo", "smartTag", "customXml", "fldSimple", "sdtContent"),
        *("dir", "bdo"),
    )
)
_SPACE = frozenset(_W + t for t in ("tab", "br", "cr", "ptab"))
_ZIP_BOUND_FACTOR = 20
_ZIP_BOUND_CAP = 500 * 1024 * 1024
# A memo has hundreds of paragraphs and an XML part well under 1 MB; a few kilobytes of zip can
# unpack to millions of empty paragraphs, which would take python-docx minutes and gigabytes.
MAX_PARAGRAPHS = 100_000
_MAX_PART_MB = 64
_CHUNK = 64 * 1024
# A paragraph's start tag, whatever its namespace prefix: <w:p>, <w:p/>, <w:p w:rsidR="...">.
_PARAGRAPH_START = re.compile(rb"<(?:[^\s<>/!?:=\"']+:)?p[\s>/]")
_TAG_NAME_END = re.compile(rb"[\s>/]")
_LONGEST_TAG = 256  # a start tag cut by a chunk boundary longer than this is not a paragraph
KEY_FIGURES_HEADING = "Key figures"

# A note reference as printed: superscript digits, commas, spaces and brackets. Anything else
# typed in the note-reference style is read as text, so it is checked.
_NOTE_NUMBERS = re.compile(r"[0-9,\s\[\]()]*[0-9][0-9,\s\[\]()]*")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[F[1-9][0-9]*\])+\s*")
_MARKER_RUN = re.compile(r"\s*(?:\[F[1-9][0-9]*\]\s*)+")
_FORMULA_FACT = re.compile(r"\{\s*(F[1-9][0-9]*)\s*:")  # a fact's figure in a formula: {F13:...}
_CLOSING = frozenset(".,;:!?)]}%\u201d\u2019")
# Built-in styles that are never a section heading, even when a template bases them on Heading 1.
_OTHER_BUILT_IN = re.compile(r"title|subtitle|heading [2-9]")


@dataclass(frozen=True)
class EditedMemo:
    """An edited memo as read back: its checkable sections and what its first page recorded."""

    sections: list[Section]
    ticker: str | None
    title: str | None
    recorded_hash: str | None
    recorded_date: dt.date | None
    current_hash: str


def read_memo(path: Path, max_bytes: int) -> EditedMemo:
    """Read ``path`` (a memo.docx, possibly edited in Word) into sections the gate can check."""
    _check_package(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for a bad package
        raise InputFileError(
            f"memo {_shown(path)} is not a Word document ({_why(exc)}): "
            "save it from Word as a Word Document (.docx)"
        ) from exc
    try:
        return _Reader(document).read(path)
    except InputFileError:
        raise
    except RecursionError:
        raise InputFileError(
            f"memo {_shown(path)} is nested too deeply to read: "
            "open it in Word and save it again as .docx"
        ) from None
    except Exception as exc:  # a package python-docx opened but whose parts are malformed
        raise InputFileError(
            f"memo {_shown(path)} could not be read ({_why(exc)}): "
            "open it in Word and save it again as a Word Document (.docx)"
        ) from exc


# --- the file before python-docx sees it ---------------------------------------------------------


def _shown(path: Path) -> str:
    return str(path).replace("\r", "\\r").replace("\n", "\\n")


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_package(path: Path, max_bytes: int) -> None:
    """Refuse what is not a reasonably sized, unencrypted Word package, before it is parsed."""
    name = _shown(path)
    if not path.exists():
        raise InputFileError(f"memo {name} does not exist: check the path")
    if path.is_dir():
        raise InputFileError(f"memo {name} is a folder: pass the memo .docx file inside it")
    if not path.is_file():
        raise InputFileError(f"memo {name} is not a regular file: pass the memo .docx file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(
                f"memo {name} is {size / 1024 / 1024:.1f} MB, over the "
                f"{max_bytes / 1024 / 1024:g} MB limit: check that it is the memo, or raise the limit"
            )
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputFileError(
            f"memo {name} cannot be read ({exc.strerror or type(exc).__name__}): check permissions"
        ) from exc
    if head.startswith(OLE_MAGIC):
        raise InputFileError(
            f"memo {name} is encrypted or a legacy .doc: save it as .docx without a password"
        )
    not_word = (
        f"memo {name} is not a Word document (not a .docx package: an empty, renamed or "
        "truncated file?): save it from Word as a Word Document (.docx)"
    )
    if size == 0:
        raise InputFileError(not_word)
    try:
        with zipfile.ZipFile(path) as package:
            entries = package.infolist()
    except Exception as exc:  # BadZipFile, OSError, ValueError, EOFError for broken archives
        raise InputFileError(not_word) from exc
    if any(e.flag_bits & 0x1 for e in entries):
        raise InputFileError(
            f"memo {name} is encrypted or a legacy .doc: save it as .docx without a password"
        )
    bound = min(_ZIP_BOUND_FACTOR * max_bytes, _ZIP_BOUND_CAP)
    unpacked = sum(e.file_size for e in entries)
    if unpacked > bound:
        raise InputFileError(
            f"memo {name} would unpack to {unpacked / 1024 / 1024:.0f} MB, over the "
            f"{bound / 1024 / 1024:g} MB a memo may unpack to (a zip bomb?): "
            "pass the .docx that Word saved"
        )
    if "[Content_Types].xml" not in {e.filename for e in entries}:
        raise InputFileError(
            f"memo {name} is a zip archive but not a Word document: "
            "save it from Word as a Word Document (.docx)"
        )
    _check_parts(path, entries)


def _check_parts(path: Path, entries: list[zipfile.ZipInfo]) -> None:
    """Stream each part once, before python-docx parses it: refuse a part over ``_MAX_PART_MB``
    unpacked (word/document.xml above all), or more than ``MAX_PARAGRAPHS`` paragraphs in all.
    Every part, whatever its name: python-docx parses a part as XML by its content type."""
    name = _shown(path)
    limit = _MAX_PART_MB * 1024 * 1024
    paragraphs = 0
    try:
        with zipfile.ZipFile(path) as package:
            for entry in entries:
                size = entry.file_size
                if size <= limit:
                    with package.open(entry) as part:
                        size, paragraphs = _scan_part(part, limit, paragraphs)
                if size > limit:
                    raise InputFileError(
                        f"memo {name} has a part ({_shown(Path(entry.filename))}) over "
                        f"{_MAX_PART_MB} MB unpacked; a memo's text is well under 1 MB: "
                        "pass the memo.docx thesisgen rendered"
                    )
                if paragraphs > MAX_PARAGRAPHS:
                    raise InputFileError(
                        f"memo {name} has more than {MAX_PARAGRAPHS:,} paragraphs; a memo has "
                        "hundreds: pass the memo.docx thesisgen rendered, not another document"
                    )
    except InputFileError:
        raise
    except Exception as exc:  # a bad CRC, a truncated or unsupported compressed stream
        raise InputFileError(
            f"memo {name} is not a Word document ({_why(exc)}): "
            "save it from Word as a Word Document (.docx)"
        ) from exc


def _scan_part(part: IO[bytes], limit: int, paragraphs: int) -> tuple[int, int]:
    """Read a part in chunks: its size (stopping once past ``limit``) and ``paragraphs`` plus its
    paragraph starts (stopping once past ``MAX_PARAGRAPHS``). A start tag cut by a chunk's end
    is carried into the next chunk, so each is counted once."""
    size = 0
    carry = b""
    while paragraphs <= MAX_PARAGRAPHS:
        chunk = part.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            break
        buffer = carry + chunk
        carry = b""
        cut = buffer.rfind(b"<")
        if (
            cut >= 0
            and len(buffer) - cut <= _LONGEST_TAG
            and _TAG_NAME_END.search(buffer, cut + 1) is None
        ):
            buffer, carry = buffer[:cut], buffer[cut:]
        paragraphs += len(_PARAGRAPH_START.findall(buffer))
    return size, paragraphs


# --- document structure --------------------------------------------------------------------------


def _blocks(container: Any) -> Iterator[Any]:
    """The paragraphs and tables of a body, cell or text box, through content controls."""
    for child in container:
        if child.tag in (P, TBL):
            yield child
        elif child.tag == SDT:
            content = child.find(SDT_CONTENT)
            if content is not None:
                yield from _blocks(content)
        elif child.tag == CUSTOM_XML:
            yield from _blocks(child)


def _children(element: Any, tag: str) -> Iterator[Any]:
    """Children with ``tag``, through content controls and custom XML."""
    for child in element:
        if child.tag == tag:
            yield child
        elif child.tag == SDT:
            content = child.find(SDT_CONTENT)
            if content is not None:
                yield from _children(content, tag)
        elif child.tag == CUSTOM_XML:
            yield from _children(child, tag)


def _rows(table: Any) -> Iterator[Any]:
    """A table's rows as Word shows them: rows deleted as tracked changes are gone."""
    for row in _children(table, TR):
        if row.find(f"{_W}trPr/{DEL}") is None:
            yield row


def _cells(row: Any) -> list[Any]:
    return list(_children(row, TC))


def _mark_deleted(p: Any) -> bool:
    return p.find(f"{_W}pPr/{_W}rPr/{DEL}") is not None


def _text_boxes(p: Any) -> list[Any]:
    """The outermost text boxes anchored in a paragraph, once each (not the VML fallback copy)."""
    boxes = []
    for box in p.iter(TXBX_CONTENT):
        ancestor = box.getparent()
        hidden = False
        while ancestor is not None and ancestor is not p:
            if ancestor.tag in (_MC + "Fallback", DEL, MOVE_FROM, TXBX_CONTENT):
                hidden = True
                break
            ancestor = ancestor.getparent()
        if not hidden:
            boxes.append(box)
    return boxes


@dataclass
class _Accepted:
    """Text collected from runs: raw pieces, note numbers at raw offsets, open fields."""

    pieces: list[str] = field(default_factory=list)
    length: int = 0
    notes: list[tuple[int, int]] = field(default_factory=list)
    reference: str = ""
    fields: list[bool] = field(default_factory=list)  # per open field: showing its result yet?

    def text(self, text: str) -> None:
        self.flush()
        self.pieces.append(text)
        self.length += len(text)

    def flush(self) -> None:
        """End a note reference: numbers are notes; anything else typed in that style is text."""
        reference, self.reference = self.reference, ""
        if not reference:
            return
        if _NOTE_NUMBERS.fullmatch(reference):
            self.notes.extend((self.length, int(n)) for n in re.findall(r"[0-9]+", reference))
        else:
            self.pieces.append(reference)
            self.length += len(reference)


@dataclass
class _Para:
    """One paragraph as Word shows it (paragraphs whose mark was deleted already joined)."""

    style: str  # style ID
    raw: str
    notes: list[tuple[int, int]]  # (offset in raw, note number)
    bookmarks: list[str]
    boxes: list[Any]

    def joined(self, following: _Para) -> _Para:
        """This paragraph run into the next, as Word does when this one's mark is deleted."""
        shift = len(self.raw)
        return _Para(
            style=following.style,
            raw=self.raw + following.raw,
            notes=self.notes + [(at + shift, n) for at, n in following.notes],
            bookmarks=self.bookmarks + following.bookmarks,
            boxes=self.boxes + following.boxes,
        )

    def normalised(self) -> tuple[str, list[tuple[int, int]]]:
        """The text with whitespace collapsed as ``notation.normalise`` does, and each note's
        offset in it."""
        chars: list[str] = []
        where: list[int] = []
        gap = False
        for ch in self.raw:
            where.append(len(chars))
            if ch.isspace():
                gap = bool(chars)
                continue
            if gap:
                chars.append(" ")
                where[-1] = len(chars)
                gap = False
            chars.append(ch)
        where.append(len(chars))
        text = "".join(chars)
        return text, [(min(where[at], len(text)), n) for at, n in self.notes]

    @property
    def text(self) -> str:
        return notation.normalise(self.raw)


def _joined(paragraphs: list[_Para]) -> _Para:
    """Paragraphs (a table row's) as one, separated by spaces; their text boxes already read."""
    raw: list[str] = []
    notes: list[tuple[int, int]] = []
    length = 0
    for para in paragraphs:
        if raw:
            raw.append(" ")
            length += 1
        raw.append(para.raw)
        notes.extend((at + length, n) for at, n in para.notes)
        length += len(para.raw)
    bookmarks = [b for para in paragraphs for b in para.bookmarks]
    return _Para(paragraphs[0].style, "".join(raw), notes, bookmarks, [])


# --- sentences -----------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A sentence before its section's notes are known."""

    start: int  # where its own text begins in the paragraph (after markers it hands back)
    text: str
    cites: list[str]
    notes: list[int] = field(default_factory=list)


def _strip_markers(text: str) -> str:
    """Sentence text without citation markers (and without the space that set them off)."""

    def replace(match: re.Match[str]) -> str:
        before, after = text[: match.start()], text[match.end() :]
        if not before.strip() or not after or after[0] in _CLOSING:
            return ""
        return " "

    return notation.normalise(_MARKER_RUN.sub(replace, text))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _drafts(text: str, notes: list[tuple[int, int]]) -> list[_Draft]:
    """A paragraph's sentences: markers go to the sentence they follow, notes to the sentence
    they sit in (a note at a boundary to the sentence before it)."""
    drafts: list[_Draft] = []
    pending: list[str] = []  # markers before the first sentence stay with it
    for piece in segment(text):
        lead = _LEADING_MARKERS.match(piece.text)
        offset = lead.end() if lead else 0
        handed = notation.markers_in(lead.group()) if lead else []
        if drafts:
            drafts[-1].cites.extend(handed)
        else:
            pending.extend(handed)
        body = piece.text[offset:]
        clean = _strip_markers(body)
        own = notation.markers_in(body)
        if not any(ch.isalnum() for ch in clean):
            # Nothing but markers and punctuation: not a sentence; its markers go back.
            if drafts:
                drafts[-1].cites.extend(own)
            else:
                pending.extend(own)
            continue
        drafts.append(_Draft(piece.start + offset, clean, pending + own))
        pending = []
    for at, number in notes:
        if not drafts:
            break
        owner = drafts[0]
        for draft in drafts:
            if draft.start < at:
                owner = draft
        owner.notes.append(number)
    return drafts


# --- sections ------------------------------------------------------------------------------------


@dataclass
class _SectionDraft:
    key: str
    heading: str
    paragraphs: list[tuple[str, list[_Draft]]] = field(default_factory=list)
    notes: dict[int, Calculation] = field(default_factory=dict)
    key_figures: list[tuple[str, list[_Draft]]] | None = None
    _memo_notes: dict[int, Calculation] = field(default_factory=dict)

    def referenced(self) -> set[int]:
        return {
            n
            for _, drafts in [*self.paragraphs, *(self.key_figures or [])]
            for draft in drafts
            for n in draft.notes
        }

    def sections(
        self, memo_notes: dict[int, Calculation], referenced: set[int]
    ) -> list[tuple[Section, list[str]]]:
        """This section (and its key-figures section), each with its paragraphs as hashed. Note
        numbers run through the memo, so a sentence moved to another section keeps its note
        (``memo_notes``); a note is an orphan only if no sentence anywhere refers to it."""
        self._memo_notes = memo_notes
        main = self._section(self.key, self.heading, self.paragraphs)
        main.paragraphs.extend(self._orphans(referenced))
        out = [(main, self.paragraphs)]
        if self.key_figures is not None:
            section = self._section(
                notation.KEY_FIGURES_SECTION, KEY_FIGURES_HEADING, self.key_figures
            )
            out.append((section, self.key_figures))
        hashed = [(s, [text for text, _ in paragraphs]) for s, paragraphs in out]
        # The printed notes are part of the checked text: editing a formula makes the line stale.
        hashed[0][1].extend(notation.note_text(n, c) for n, c in sorted(self.notes.items()))
        return hashed

    def _section(
        self, key: str, heading: str, paragraphs: list[tuple[str, list[_Draft]]]
    ) -> Section:
        return Section(
            key=key,
            heading=heading,
            paragraphs=[
                Paragraph(sentences=[self._sentence(d) for d in drafts]) for _, drafts in paragraphs
            ],
        )

    def _orphans(self, referenced: set[int]) -> list[Paragraph]:
        """One checked paragraph per note no sentence of the section references, so the gate
        still recomputes it: its figure, citing the facts of its formula. Not hashed (the printed
        note is); after the real paragraphs, whose indices do not move."""
        return [
            Paragraph(
                sentences=[
                    Sentence(
                        text=calculation.figure,
                        cites=_unique(_FORMULA_FACT.findall(calculation.formula)),
                        calculations=[calculation],
                    )
                ]
            )
            for number, calculation in sorted(self.notes.items())
            if number not in referenced
        ]

    def _sentence(self, draft: _Draft) -> Sentence:
        numbers = list(dict.fromkeys(draft.notes))
        return Sentence(
            text=draft.text,
            cites=_unique(draft.cites),
            calculations=[
                note
                for n in numbers
                if (note := self.notes.get(n) or self._memo_notes.get(n)) is not None
            ],
        )


def slug(heading: str) -> str:
    """A section key from a heading a reviewer typed: ``"Risks & mitigants"`` -> ``risks_mitigants``."""
    plain = unicodedata.normalize("NFKD", heading)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    key = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:32].strip("_")
    return key or "section"


class _Reader:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.names: dict[str, str] = {}
        self.based_on: dict[str, str] = {}
        for style in document.styles:
            style_id = style.style_id
            if not style_id:
                continue
            self.names[style_id] = style.name or ""
            parent = style.element.find(f"{_W}basedOn")
            if parent is not None and parent.get(VAL):
                self.based_on[style_id] = parent.get(VAL)
        aligned: dict[str, str] = {}  # a style's own w:vertAlign
        for style in document.styles:
            align = style.element.find(f"{_W}rPr/{_W}vertAlign")
            if style.style_id and align is not None:
                aligned[style.style_id] = align.get(VAL) or ""
        self.superscript = {
            s
            for s in self.names
            if next((aligned[a] for a in (s, *self._ancestors(s)) if a in aligned), None)
            == "superscript"
        }
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default_style = default.style_id if default is not None else ""
        # Heading 1 and a reviewer's styles based on it, never by outline level (a Normal given
        # outline level 0 would make every paragraph a heading, and nothing would be checked), and
        # never a template's Title or Heading 2 that happens to be based on Heading 1.
        self.headings = {
            s
            for s in self.names
            if self._name(s).casefold() == "heading 1"
            or (
                not _OTHER_BUILT_IN.fullmatch(self._name(s).casefold())
                and any(self._name(a).casefold() == "heading 1" for a in self._ancestors(s))
            )
        }

    def _ancestors(self, style_id: str) -> Iterator[str]:
        """The styles ``style_id`` is based on, nearest first (a loop in ``basedOn`` ends it)."""
        seen = {style_id}
        current = self.based_on.get(style_id)
        while current is not None and current not in seen:
            yield current
            seen.add(current)
            current = self.based_on.get(current)

    def _name(self, style_id: str) -> str:
        return self.names.get(style_id, style_id)

    def _is(self, style_id: str, name: str) -> bool:
        return self._name(style_id) == name or style_id == name.replace(" ", "")

    # --- runs and paragraphs ---

    def paragraph(self, p: Any) -> _Para:
        style = p.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(VAL) if style is not None else None
        if not style_id or style_id not in self.names:
            style_id = self.default_style
        accepted = _Accepted()
        self._walk(p, accepted)
        accepted.flush()
        bookmarks = [b.get(NAME) or "" for b in p.iter(BOOKMARK_START)]
        return _Para(style_id, "".join(accepted.pieces), accepted.notes, bookmarks, _text_boxes(p))

    def _walk(self, element: Any, out: _Accepted) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):  # comments and processing instructions
                continue
            if tag == R:
                self._run(child, out)
            elif tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    self._walk(content, out)
            elif tag in _SHOWN:
                self._walk(child, out)
            elif tag.startswith(_M):  # an equation: its m:t text is shown text
                if tag == _M + "t":
                    if all(out.fields):
                        out.text(child.text or "")
                else:
                    self._walk(child, out)
            # w:del, w:moveFrom, w:pPr, bookmarks, comment ranges, alternate content: not shown

    def _run(self, run: Any, out: _Accepted) -> None:
        style = run.find(f"{_W}rPr/{_W}rStyle")
        style_id = (style.get(VAL) or "") if style is not None else ""
        reference = style is not None and self._is(style_id, notation.NOTE_REFERENCE_STYLE)
        if reference:  # a note reference only where it is printed raised
            align = run.find(f"{_W}rPr/{_W}vertAlign")
            if align is not None:
                reference = align.get(VAL) == "superscript"
            else:
                reference = style_id in self.superscript
        for child in run:
            tag = child.tag
            if tag == FLD_CHAR:
                kind = child.get(_W + "fldCharType")
                if kind == "begin":
                    out.fields.append(False)
                elif kind == "separate" and out.fields:
                    out.fields[-1] = True
                elif kind == "end" and out.fields:
                    out.fields.pop()
                continue
            if tag == _W + "ruby":  # a phonetic guide: the base text is shown, the guide above it
                base = child.find(f"{_W}rubyBase")
                if base is not None:
                    self._walk(base, out)
                continue
            if tag == T:
                text = child.text or ""
            elif tag in _SPACE:
                text = " "
            elif tag == _W + "noBreakHyphen":
                text = "-"
            else:  # delText, instrText, softHyphen, note and comment references, drawings
                continue
            if not all(out.fields):  # inside a field's code, before its result
                continue
            if reference:
                out.reference += text
            else:
                out.text(text)

    def items(self, container: Any) -> list[_Para | Any]:
        """Paragraphs (joined across deleted paragraph marks) and tables, in order."""
        items: list[_Para | Any] = []
        carry: _Para | None = None
        for element in _blocks(container):
            if element.tag == TBL:
                if carry is not None:
                    items.append(carry)
                    carry = None
                items.append(element)
                continue
            para = self.paragraph(element)
            if carry is not None:
                para = carry.joined(para)
                carry = None
            if _mark_deleted(element):
                carry = para
            else:
                items.append(para)
        if carry is not None:
            items.append(carry)
        return items

    def checked_paragraphs(self, item: _Para | Any) -> Iterator[_Para]:
        """The paragraphs of an item as the gate checks them: a paragraph, then its text boxes'
        paragraphs; a table (not the key-figures table), one paragraph a row, its cells' text
        joined with spaces, so a marker in one cell cites the figure in the cell before."""
        if isinstance(item, _Para):
            yield item
            for box in item.boxes:
                for inner in self.items(box):
                    yield from self.checked_paragraphs(inner)
            return
        for row in _rows(item):
            inside = [
                p for cell in _cells(row) for i in self.items(cell) for p in self.all_paragraphs(i)
            ]
            if inside:
                yield _joined(inside)

    def all_paragraphs(self, item: _Para | Any) -> Iterator[_Para]:
        """Every paragraph in an item: itself and its text boxes, or a table's cells."""
        if isinstance(item, _Para):
            yield item
            for box in item.boxes:
                for inner in self.items(box):
                    yield from self.all_paragraphs(inner)
            return
        for row in _rows(item):
            for cell in _cells(row):
                for inner in self.items(cell):
                    yield from self.all_paragraphs(inner)

    # --- the document ---

    def read(self, path: Path) -> EditedMemo:
        body = self.document.element.body
        drafts: list[_SectionDraft] = []
        title: str | None = None
        recorded: tuple[str, dt.date | None] | None = None
        front: list[str] = []
        appendices = False  # inside the appendices: not read until the next Heading 1
        before_appendices: int | None = None  # sections before the first "Appendices"
        items = self.items(body) if body is not None else []
        # The appendices start at the last "Appendices" heading: one a reviewer types higher up
        # is an ordinary section, read and checked.
        last = max(
            (
                i
                for i, item in enumerate(items)
                if isinstance(item, _Para)
                and item.style in self.headings
                and item.text.casefold() == notation.APPENDICES_HEADING.casefold()
            ),
            default=-1,
        )
        for i, item in enumerate(items):
            if isinstance(item, _Para):
                if title is None and self._is(item.style, "Title") and item.text:
                    title = item.text
                if item.style in self.headings:
                    heading = item.text
                    appendices = i == last
                    if appendices:
                        if before_appendices is None:
                            before_appendices = len(drafts)
                    else:  # a section, or a reviewer's addendum after the appendices
                        drafts.append(_SectionDraft(self._key(item, drafts), heading))
                    continue
            if appendices:
                continue
            if not drafts:
                recorded = self._front_item(item, front, recorded)
                continue
            self._section_item(drafts[-1], item)
        if not drafts or before_appendices == 0:
            raise InputFileError(
                f"memo {_shown(path)} does not look like a thesisgen memo: no section heading "
                f"before '{notation.APPENDICES_HEADING}': pass the memo.docx thesisgen rendered "
                "(sections start with Heading 1)"
            )
        memo_notes: dict[int, Calculation] = {}
        for d in drafts:
            for number, calculation in d.notes.items():
                memo_notes.setdefault(number, calculation)
        referenced = {n for d in drafts for n in d.referenced()}
        read = [pair for d in drafts for pair in d.sections(memo_notes, referenced)]
        return EditedMemo(
            sections=[section for section, _ in read],
            ticker=self._ticker(title),
            title=title,
            recorded_hash=recorded[0] if recorded else None,
            recorded_date=recorded[1] if recorded else None,
            current_hash=notation.text_hash(
                " ".join(front), [(s.key, s.heading, texts) for s, texts in read]
            ),
        )

    def _ticker(self, title: str | None) -> str | None:
        """The keywords' first word, as the renderer writes it; else the "(TICKER)" of the title
        (Word's Document Inspector clears the properties)."""
        keywords = self.document.core_properties.keywords or ""
        words = [w for w in re.split(r"[\s;,]+", keywords) if w]
        if words:
            return words[0].upper()
        found = re.search(r"\(([A-Z][A-Z0-9]{0,5}(?:[.-][A-Z0-9]{1,3})?)\)", title or "")
        return found.group(1) if found else None

    def _front_item(
        self, item: _Para | Any, front: list[str], recorded: tuple[str, dt.date | None] | None
    ) -> tuple[str, dt.date | None] | None:
        """Page 1 above the first section: its text goes into ``front`` as the renderer hashes it
        (a validation line with its hash masked); the first validation line gives the check."""
        for para in self.all_paragraphs(item):
            text = para.text
            match = notation.VALIDATION_LINE.search(text)
            if text:  # a validation line counts too, its hash masked: its claims are checked text
                front.append(notation.mask_hash(text))
            if match is None:
                continue
            if recorded is None:
                try:
                    date: dt.date | None = dt.date.fromisoformat(match.group("date"))
                except ValueError:  # not a date (2026-13-45): the hash is still compared
                    date = None
                recorded = match.group("hash").lower(), date
        return recorded

    def _key(self, heading: _Para, earlier: list[_SectionDraft]) -> str:
        key = next(
            (
                m.group(1)
                for m in map(notation.SECTION_BOOKMARK.match, heading.bookmarks)
                if m is not None
            ),
            slug(heading.text),
        )
        taken = {d.key for d in earlier}
        base, n = key, 1
        while key in taken:  # a reviewer's heading that slugs to a key already used
            n += 1
            suffix = f"_{n}"
            key = base[: 32 - len(suffix)].rstrip("_") + suffix
        return key

    def _section_item(self, section: _SectionDraft, item: _Para | Any) -> None:
        if isinstance(item, _Para):
            if self._is(item.style, notation.CHART_CAPTION_STYLE) and notation.CHART_CAPTION.match(
                notation.normalise(item.text)
            ):
                return  # the chart's caption: its facts are cited, it states no figure of its own
            if self._is(item.style, notation.NOTE_STYLE):
                parsed = notation.parse_note(item.text)
                # A second note with a number already seen is text, so its figures are checked.
                if parsed is not None and parsed[0] not in section.notes:
                    number, calculation = parsed
                    section.notes[number] = calculation
                    for box in item.boxes:
                        for inner in self.items(box):
                            self._prose(section, inner)
                    return
            self._prose(section, item)
            return
        rows = list(_rows(item))
        header = (
            tuple(notation.normalise(self._cell_text(c)[0]) for c in _cells(rows[0]))
            if rows
            else ()
        )
        if tuple(h.casefold() for h in header) == tuple(
            h.casefold() for h in notation.KEY_FIGURES_HEADER
        ):
            if section.key_figures is None:
                section.key_figures = []
            for row in rows[1:]:
                self._key_figure(section.key_figures, row)
            return
        self._prose(section, item)

    def _prose(self, section: _SectionDraft, item: _Para | Any) -> None:
        for para in self.checked_paragraphs(item):
            text, notes = para.normalised()
            if text:
                section.paragraphs.append((text, _drafts(text, notes)))

    def _cell_text(self, cell: Any) -> tuple[str, list[int]]:
        texts: list[str] = []
        numbers: list[int] = []
        for item in self.items(cell):
            for para in self.all_paragraphs(item):
                text, notes = para.normalised()
                texts.append(text)
                numbers.extend(n for _, n in notes)
        return notation.normalise(" ".join(texts)), numbers

    def _key_figure(self, rows: list[tuple[str, list[_Draft]]], row: Any) -> None:
        cells = [self._cell_text(c) for c in _cells(row)]
        figure = _strip_markers(cells[0][0]) if cells else ""
        what = _strip_markers(cells[1][0]) if len(cells) > 1 else ""
        # Anything else in the row (text beside the markers in the Fact cell, any further cell)
        # belongs to the row's sentence, so it is checked; an untouched row has none.
        extra = notation.normalise(" ".join(_strip_markers(text) for text, _ in cells[2:]))
        if extra:
            what = notation.normalise(f"{what} {extra}")
        if not (figure or what):
            return
        cites = _unique([c for text, _ in cells for c in notation.markers_in(text)])
        draft = _Draft(0, notation.normalise(f"{figure}: {what}"), cites)
        draft.notes = [n for _, numbers in cells for n in numbers]
        rows.append((notation.key_figure_text(figure, what, cites), [draft]))

"""How a memo writes its provenance in text, in one place for the renderers and the reader of an
edited memo: citation markers, calculation notes, the names of bookmarks and styles, the
validation line and the hash of the checked text.

A rendered memo must read back as the memo it was rendered from, so everything the renderer writes
that the reader parses (a marker, a note, the validation line) is written and parsed here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence

from .models import Calculation, Memo, Paragraph, Section, Sentence
from .sentences import segment

# --- citation markers ----------------------------------------------------------------------------

MARKER = re.compile(r"\[(F[1-9][0-9]*)\]")


def cite_marker(cites: Iterable[str]) -> str:
    return "".join(f"[{c}]" for c in cites)


def markers_in(text: str) -> list[str]:
    return MARKER.findall(text)


def paragraph_text(paragraph: Paragraph) -> str:
    """A paragraph as the memo prints it: each sentence followed by its markers."""
    parts = [f"{s.text} {cite_marker(s.cites)}".strip() for s in paragraph.sentences]
    return " ".join(parts)


def printed_sentences(sentence: Sentence) -> list[Sentence]:
    """A sentence as the memo prints it and a reader of the edited .docx splits it: whitespace
    collapsed, any [F#] typed into the text moved to the cites, and one sentence per segment of the
    project's segmenter (each keeping the cites; a calculation goes with the part stating its
    figure), so an untouched memo reads back as the sentences the gate checked."""
    typed = markers_in(sentence.text)
    text = re.sub(r"\s+([.,;:!?)])", r"\1", normalise(MARKER.sub(" ", sentence.text)))
    cites = list(dict.fromkeys([*sentence.cites, *typed]))
    if not text:  # nothing but markers: nothing to print or check
        return []
    parts = [p.text for p in segment(text)] or [text]
    if len(parts) == 1:
        return [sentence.model_copy(update={"text": parts[0], "cites": cites})]
    calculations: list[list[Calculation]] = [[] for _ in parts]
    for calculation in sentence.calculations:
        figure = normalise(calculation.figure).lower()
        at = next((i for i, p in enumerate(parts) if figure in p.lower()), 0)
        calculations[at].append(calculation)
    return [
        Sentence(text=part, cites=cites, calculations=calcs)
        for part, calcs in zip(parts, calculations, strict=True)
    ]


def printed_section(section: Section) -> Section:
    """Every sentence as printed; a paragraph left with no sentence is not printed (a reader of
    the .docx skips blank paragraphs, so it must not count)."""
    paragraphs = [
        Paragraph(sentences=[p for s in paragraph.sentences for p in printed_sentences(s)])
        for paragraph in section.paragraphs
    ]
    return section.model_copy(update={"paragraphs": [p for p in paragraphs if p.sentences]})


# --- calculation notes ---------------------------------------------------------------------------

# In a formula a fact's figure is written {F13:$900 million}; in a printed note, "$900 million [F13]",
# with every operator and parenthesis standing alone between spaces so the note reads back.
_FORMULA_TOKEN = re.compile(r"\s*(?:\{(F[1-9][0-9]*)\s*:\s*([^}]+)\}|([-+*/()])|([^\s{}()*/+]+))")
_WORD_MARKER = re.compile(r"^\[(F[1-9][0-9]*)\]$")
_OPERATOR = re.compile(r"^[-+*/()\u00d7\u00f7]$")
# Printed as a reader writes arithmetic; read back either way.
_PRINTED_OP = {"*": "\u00d7", "/": "\u00f7"}
_FORMULA_OP = {"\u00d7": "*", "\u00f7": "/"}
_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
NOTE_LINE = re.compile(
    r"^(?P<number>[1-9][0-9]*)[.)] (?P<figure>[^=\u2248]+?) [=\u2248] (?P<formula>.+)$"
)


def printed_formula(formula: str) -> str:
    """The formula as a reader checks it by hand: each operand is the figure with its fact ID."""
    words: list[str] = []
    for match in _FORMULA_TOKEN.finditer(formula):
        fact_id, figure, op, other = match.groups()
        if fact_id:
            words.append(f"{figure.strip()} [{fact_id}]")
        else:
            words.append(_PRINTED_OP.get(op, op) if op else other)
    return " ".join(words)


def note_text(number: int, calculation: Calculation) -> str:
    """One printed calculation note, e.g. ``1. $234 ≈ $900 million [F13] ÷ 3.85 million [F14]``:
    "≈" because the figure is the result rounded to the precision the sentence shows."""
    return f"{number}. {calculation.figure} \u2248 {printed_formula(calculation.formula)}"


def parse_note(text: str) -> tuple[int, Calculation] | None:
    """A printed note back to its number and calculation; None when the text is not a note."""
    match = NOTE_LINE.match(normalise(text))
    if match is None:
        return None
    parts: list[str] = []
    operand: list[str] = []
    words = match.group("formula").split(" ")
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ")"
        # A number stands alone (a constant) only where an operator or the end follows it.
        standalone = _OPERATOR.match(word) or (_NUMBER.match(word) and _OPERATOR.match(after))
        marker = _WORD_MARKER.match(word)
        if marker:
            if not operand:
                return None
            parts.append(f"{{{marker.group(1)}:{' '.join(operand)}}}")
            operand = []
        elif not operand and standalone:
            parts.append(_FORMULA_OP.get(word, word))
        else:
            operand.append(word)
    if operand or not any(p.startswith("{") for p in parts):
        return None
    figure = match.group("figure").strip()
    return int(match.group("number")), Calculation(figure=figure, formula=" ".join(parts))


def numbered_notes(memo: Memo) -> dict[tuple[str, int, int], list[int]]:
    """The note numbers of each sentence's calculations, numbered through the memo in order."""
    numbers: dict[tuple[str, int, int], list[int]] = {}
    n = 0
    for section in memo.sections:
        for p, paragraph in enumerate(section.paragraphs):
            for s, sentence in enumerate(paragraph.sentences):
                for _ in sentence.calculations:
                    n += 1
                    numbers.setdefault((section.key, p, s), []).append(n)
    return numbers


# --- names the renderer gives and the reader looks for -------------------------------------------

CITATION_STYLE = "Citation"  # character style of the [F#] markers
NOTE_REFERENCE_STYLE = "Calculation Reference"  # superscript note number after a sentence
NOTE_STYLE = "Calculation Note"  # paragraph style of a printed calculation note
APPENDICES_HEADING = "Appendices"  # the Heading 1 after which nothing is memo text
KEY_FIGURES_HEADER = ("Figure", "What it is", "Fact")
KEY_FIGURES_SECTION = "key_figures"  # the section name violations in the key-figures table carry
CHART_CAPTION_STYLE = "Chart Caption"  # paragraph style of the financials chart's caption
FINANCIALS_SECTION = "financials"  # the outline section the chart belongs to
# The caption under the chart: not memo text (its figures are the cited facts themselves, listed
# in the picture's alt text), so the reader of an edited memo skips it when it still reads so.
CHART_CAPTION = re.compile(r"^Chart: .+ Plotted facts:(?:\s*\[F[1-9][0-9]*\])+$")


def chart_caption(title: str) -> str:
    """The caption's words; its fact markers follow it (:data:`CHART_CAPTION` reads both)."""
    return f"Chart: {title}, as filed in XBRL. Plotted facts:"


def key_figure_text(figure: str, what: str, fact_ids: Iterable[str]) -> str:
    """A key-figures row as one checked sentence (and one paragraph of the checked text)."""
    return normalise(f"{figure}: {what} {cite_marker(fact_ids)}")


def fact_bookmark(fact_id: str) -> str:
    return f"fact_{fact_id}"


def source_bookmark(source_id: str) -> str:
    return f"source_{source_id}"


def section_bookmark(key: str) -> str:
    return f"section_{key}"


SECTION_BOOKMARK = re.compile(r"^section_([a-z][a-z0-9_]{0,31})$")


# --- the validation line and the checked text ----------------------------------------------------

HASH_CHARS = 16
VALIDATION_LINE = re.compile(
    r"checked on (?P<date>\d{4}-\d{2}-\d{2}).*?text hash (?P<hash>[0-9a-fA-F]{"
    + str(HASH_CHARS)
    + r"})"
)


HASH_MASK = "#" * HASH_CHARS


def mask_hash(text: str) -> str:
    """A validation line with its hash masked: the rest of the line (its counts, its outcome, its
    date) is part of the checked text, so editing what the line claims makes the memo stale."""
    return VALIDATION_LINE.sub(
        lambda m: m.group(0)[: m.start("hash") - m.start(0)] + HASH_MASK, text
    )


def normalise(text: str) -> str:
    return " ".join(text.split())


def text_hash(front: str, sections: Sequence[tuple[str, str, Sequence[str]]]) -> str:
    """A hash of everything the memo says before the appendices: page 1 above the first section
    (``front``: its text in document order, the validation line left out), then each section's
    key, heading and paragraphs as printed (whitespace collapsed). The rendered memo and the same
    memo read back hash alike, and any edit to a sentence, a marker, a heading or page 1 changes it."""
    digest = hashlib.sha256(b"front\x1e" + normalise(front).encode() + b"\x1e")
    for key, heading, paragraphs in sections:
        digest.update(key.encode() + b"\x1e" + normalise(heading).encode() + b"\x1e")
        for text in paragraphs:
            digest.update(normalise(text).encode() + b"\x1f")
    return digest.hexdigest()[:HASH_CHARS]


def memo_hash(memo: Memo, front: str) -> str:
    """The hash of a checked memo as printed: ``front`` (see :func:`text_hash`), then its
    sections with their printed calculation notes, each key-figures row as a reader of the .docx
    reads it."""
    numbers = numbered_notes(memo)
    sections = []
    for section in memo.sections:
        if section.key == KEY_FIGURES_SECTION:
            texts = []
            for paragraph in section.paragraphs:
                sentence = paragraph.sentences[0]
                figure, _, what = sentence.text.partition(": ")
                texts.append(key_figure_text(figure, what, sentence.cites))
        else:
            texts = [paragraph_text(p) for p in section.paragraphs]
            texts += [
                note_text(number, calculation)
                for p, paragraph in enumerate(section.paragraphs)
                for s, sentence in enumerate(paragraph.sentences)
                for number, calculation in zip(
                    numbers.get((section.key, p, s), []), sentence.calculations, strict=True
                )
            ]
        sections.append((section.key, section.heading, texts))
    return text_hash(front, sections)


def kinds_text(kinds: Mapping[str, int]) -> str:
    """How every report counts kept facts by kind (models.FactKind): '12 model-written,
    3 verbatim, 0 rules', the three kinds always in this order, then XBRL facts when any."""
    xbrl = kinds.get("xbrl", 0)
    return (
        f"{kinds.get('model', 0)} model-written, {kinds.get('verbatim', 0)} verbatim, "
        f"{kinds.get('rules', 0)} rules" + (f", {xbrl} from XBRL filings" if xbrl else "")
    )

"""Where a quote sits in its source, which references the source cites for it, and which parts
of a source address the model instead of the reader. Pure text functions, no I/O.

Quotes are matched after folding what a faithful copy may still change: runs of whitespace,
curly quote marks, dashes, words hyphenated across a line break, and PDF ligatures. The match is
mapped back to offsets in the original text, so the locator points at the real span.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from .injection import scan
from .models import Locator, Secondary

_FOLDS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u00ad": "",  # soft hyphen
}
_HYPHEN_BREAK = re.compile(r"(?<=[A-Za-z])-[ \t]*\n[ \t]*(?=[a-z])")


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the offset it came from."""
    out: list[str] = []
    origin: list[int] = []
    skip_until = -1
    breaks = {m.start(): m.end() for m in _HYPHEN_BREAK.finditer(text)}
    pending_space = False
    for i, ch in enumerate(text):
        if i < skip_until:
            continue
        if i in breaks:  # "refin-\ning" reads as "refining"
            skip_until = breaks[i]
            continue
        if ch.isspace():
            pending_space = bool(out)
            continue
        if pending_space:
            out.append(" ")
            origin.append(i - 1)
            pending_space = False
        for piece in _FOLDS.get(ch, ch):
            out.append(piece)
            origin.append(i)
    return "".join(out), origin


def normalise(text: str) -> str:
    return fold(text)[0]


# How a quote cut from sentences that are not next to each other joins its parts: one place for
# this notation (evidence.py writes it, locate_quote reads it).
QUOTE_GAP = " \u2026 "


# The sampled index of a folded text (Folded.locate_quotes): a GRAM-character slice of the text
# at every STEP-th offset. A needle of at least GRAM + STEP - 1 characters covers one sampled
# offset wherever it occurs; shorter needles are searched for directly. Slices of 24 characters
# are rare even in a filing's repeated phrasing (16 made the one pass 2x slower at 25,000 quotes).
_GRAM = 24
_STEP = 24
_FEW = 8  # fewer quotes than this are searched for one by one


@dataclass(frozen=True)
class Folded:
    """A source's text folded once, for locating many quotes in it."""

    text: str
    origin: list[int]
    page_starts: tuple[int, ...] = ()

    @classmethod
    def of(cls, text: str, page_starts: Sequence[int] = ()) -> Folded:
        folded, origin = fold(text)
        return cls(folded, origin, tuple(page_starts))

    def _locators(self, needle: str, starts: Sequence[int]) -> list[Locator]:
        found = []
        for at in starts:
            start = self.origin[at]
            end = self.origin[at + len(needle) - 1] + 1
            page = bisect.bisect_right(self.page_starts, start) if self.page_starts else None
            found.append(Locator(start=start, end=end, page=page))
        return found

    def _find(self, needle: str) -> list[int]:
        """Every offset of ``needle`` in the folded text, overlapping ones included."""
        starts = []
        at = self.text.find(needle)
        while at != -1:
            starts.append(at)
            at = self.text.find(needle, at + 1)
        return starts

    def locate_all(self, quote: str) -> list[Locator]:
        needle = normalise(quote)
        if not needle:
            return []
        return self._locators(needle, self._find(needle))

    def locate_quote(self, quote: str) -> list[Locator]:
        """Where every part of a quote (parts joined by :data:`QUOTE_GAP`) sits; empty when any
        part does not occur. A whole quote that occurs as written is located as one part."""
        whole = self.locate_all(quote)
        if whole or QUOTE_GAP not in quote:
            return whole
        found: dict[tuple[int, int], Locator] = {}
        for part in quote.split(QUOTE_GAP):
            located = self.locate_all(part)
            if not located:
                return []
            found.update(((loc.start, loc.end), loc) for loc in located)
        return [found[key] for key in sorted(found)]

    def locate_quotes(self, quotes: Sequence[str]) -> list[list[Locator]]:
        """:meth:`locate_quote` for many quotes, the long ones in one pass over the text.

        Searching the whole text once per quote costs quotes x text (a ledger of 25,000 facts
        from a 10 MB filing); here the text is sampled once (:data:`_GRAM` characters every
        :data:`_STEP`) and each quote is checked only where a slice of it was sampled. A few
        quotes, and any part shorter than a sampled slice can hold (under ``_GRAM + _STEP - 1``
        characters), are still searched for one by one: quicker for a few, and the rare short
        parts of a gapped quote keep that cost small."""
        if len(quotes) < _FEW:
            return [self.locate_quote(quote) for quote in quotes]
        wanted: dict[str, list[int]] = {}
        parts: list[tuple[str, list[str]]] = []
        for quote in quotes:
            whole = normalise(quote)
            pieces = [normalise(p) for p in quote.split(QUOTE_GAP)] if QUOTE_GAP in quote else []
            parts.append((whole, pieces))
            for needle in (whole, *pieces):
                if needle:
                    wanted.setdefault(needle, [])
        self._search(wanted)
        out: list[list[Locator]] = []
        for whole, pieces in parts:
            located = self._locators(whole, wanted[whole]) if whole else []
            if located or not pieces:
                out.append(located)
                continue
            found: dict[tuple[int, int], Locator] = {}
            for piece in pieces:
                each = self._locators(piece, wanted[piece]) if piece else []
                if not each:
                    found = {}
                    break
                found.update(((loc.start, loc.end), loc) for loc in each)
            out.append([found[key] for key in sorted(found)])
        return out

    @cached_property
    def _sampled(self) -> dict[str, list[int]]:
        """Where each sampled slice of the text occurs (at offsets that are multiples of _STEP)."""
        text = self.text
        sampled: dict[str, list[int]] = {}
        for at in range(0, len(text) - _GRAM + 1, _STEP):
            sampled.setdefault(text[at : at + _GRAM], []).append(at)
        return sampled

    def _search(self, wanted: dict[str, list[int]]) -> None:
        """Fill in each needle's offsets (ascending, overlapping ones included)."""
        text = self.text
        long = [n for n in wanted if len(n) >= _GRAM + _STEP - 1]
        for needle in wanted:
            if len(needle) < _GRAM + _STEP - 1:
                wanted[needle] = self._find(needle)
        if not long:
            return
        sampled = self._sampled
        for needle in long:
            starts: set[int] = set()
            for shift in range(_STEP):
                # An occurrence at p has a sampled offset p + o for one o with o = shift (mod
                # _STEP); of the needle's slices at those o, look up the rarest.
                sample, offset = min(
                    (
                        (sampled.get(needle[o : o + _GRAM], ()), o)
                        for o in range(shift, len(needle) - _GRAM + 1, _STEP)
                    ),
                    key=lambda pair: len(pair[0]),
                )
                starts.update(
                    at - offset
                    for at in sample
                    if at >= offset and text.startswith(needle, at - offset)
                )
            wanted[needle] = sorted(starts)


# --- references the source cites -----------------------------------------------------------------

_LIST_HEADING = re.compile(
    r"^#*\s*(references|sources|notes|citations)\s*:?\s*$", re.IGNORECASE | re.MULTILINE
)
_LIST_ITEM = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})[.)])\s+(.+?)\s*$", re.MULTILINE)
_MARKER = re.compile(r"\[(\d{1,3})\]")
# In pages copied from the web the reference title is often glued to the word before its marker:
# "...refining capacityNavigating the Rare Earth Supply Chain Crisis[1]". The glue point is a
# lowercase letter or digit directly followed by an uppercase letter.
_GLUE = re.compile(r"[a-z]{2}(?=[A-Z0-9])")


def references_start(text: str) -> int | None:
    """Where the source's reference list begins (the end of its last 'References' heading that
    is followed by numbered items), or None."""
    headings = list(_LIST_HEADING.finditer(text))
    if headings and _LIST_ITEM.search(text, headings[-1].end()):
        return headings[-1].end()
    return None


def references(text: str) -> dict[str, str]:
    """Numbered references: a 'References' list if there is one, else titles glued before markers."""
    headings = list(_LIST_HEADING.finditer(text))
    if headings:  # the last such heading: reference lists come at the end
        heading = headings[-1]
        items = {
            (m.group(1) or m.group(2)): m.group(3).strip()
            for m in _LIST_ITEM.finditer(text, heading.end())
        }
        if items:
            return items
    found: dict[str, str] = {}
    for marker in _MARKER.finditer(text):
        window_start = max(0, marker.start() - 200)
        window = text[window_start : marker.start()]
        glues = list(_GLUE.finditer(window))
        if glues:
            title = window[glues[-1].end() :].strip()
            if len(title) >= 8:
                found.setdefault(marker.group(1), title)
    return found


_SENTENCE_END = re.compile(r"(?<=[a-z0-9%)\]][.!?])\s|\n|(?<=[a-z0-9%)\]][.!?])$")


def secondary_for(text: str, locator: Locator, refs: dict[str, str]) -> list[Secondary]:
    """References marked inside the quote or later in the same sentence."""
    if not refs:
        return []
    # Searched in the whole text from the quote's end, so that the look-behind sees a full stop
    # that ends the quote itself: then the sentence ends there and the next one's marker is not it.
    limit = min(len(text), locator.end + 300)
    stop = _SENTENCE_END.search(text, locator.end, limit)
    span = text[locator.start : stop.start() if stop else limit]
    seen: dict[str, Secondary] = {}
    for marker in _MARKER.finditer(span):
        ref = marker.group(1)
        if ref in refs:
            seen.setdefault(ref, Secondary(ref=ref, title=refs[ref]))
    return list(seen.values())


# --- text that addresses the model ---------------------------------------------------------------


def injection_spans(text: str) -> list[tuple[int, int]]:
    """Spans of a source that speak to the model ('ignore previous instructions', 'rate it a
    BUY'), sentence by sentence with their neighbours: see :mod:`thesisgen.injection`."""
    return list(scan(text).tainted)


def overlaps(locator: Locator, spans: Sequence[tuple[int, int]]) -> bool:
    return any(locator.start < end and start < locator.end for start, end in spans)

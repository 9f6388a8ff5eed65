"""A source as numbered sentences: what the model points at, and where the program cuts quotes.

The model never copies a quote. The facts prompt shows each source (or chunk) one numbered
sentence per line; a proposed fact names its evidence by sentence number, and the program cuts the
quote from the source at those sentences' exact spans (:meth:`Numbered.quote`). A quote cut this
way cannot be misquoted, and the model spends no output tokens copying text we already hold.

Sentences come from :func:`thesisgen.sentences.segment` and are numbered from 1 across the whole
source, so the same sentence has the same number in every chunk: overlapping chunks and repeated
answers merge on numbers, not on text. Sentences the injection guard taints keep their number but
are withheld from the prompt and cannot be evidence.

Also here: the rules extractor (``--extract rules``), which needs no model: every sentence that
carries a figure or names the company becomes a verbatim fact.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from .grounding import QUOTE_GAP, references_start
from .injection import Scan, scan
from .models import Locator, Source
from .numbers import extract
from .sentences import Sentence, segment

WITHHELD_SENTENCE = "(withheld: this sentence addresses the model, not the reader)"
MIN_WORDS = 3
_WORDS = re.compile(r"[^\W\d_]{2,}")
_TOKENS = re.compile(r"[^\W_]+")  # words and numbers: "Revenue rose 12%." has three


@dataclass(frozen=True)
class Numbered:
    """A source's sentences, numbered from 1, with the ones that address the model marked."""

    source: Source
    sentences: tuple[Sentence, ...]
    tainted: frozenset[int]  # sentence numbers
    references_from: int | None  # first sentence number of the reference list, if any
    injection: Scan

    @classmethod
    def of(cls, source: Source) -> Numbered:
        sentences = tuple(_without_marker(s) for s in segment(source.text))
        found = scan(source.text, sentences)
        spans = found.tainted
        tainted = frozenset(
            n
            for n, s in enumerate(sentences, 1)
            if any(s.start < end and start < s.end for start, end in spans)
        )
        ref_at = references_start(source.text)
        references_from = None
        if ref_at is not None:
            references_from = next(
                (n for n, s in enumerate(sentences, 1) if s.start >= ref_at), None
            )
        return cls(source, sentences, tainted, references_from, found)

    def __len__(self) -> int:
        return len(self.sentences)

    def text_of(self, number: int) -> str:
        return self.sentences[number - 1].text

    def is_claim(self, number: int) -> bool:
        """Whether sentence ``number`` can be evidence: not withheld, not a Markdown heading, and at
        least three words (a list number, a label or a heading states nothing)."""
        text = self.text_of(number)
        return (
            number not in self.tainted
            and not text.lstrip().startswith("#")
            and len(_TOKENS.findall(text)) >= MIN_WORDS
            and not is_title(text)
        )

    def line(self, number: int) -> str:
        """How sentence ``number`` appears in the prompt: one line, its number first; a sentence
        that cannot be evidence is shown without a number, as context."""
        text = " ".join(self.text_of(number).split())
        if number in self.tainted:
            return f"[{number}] {WITHHELD_SENTENCE}"
        return f"[{number}] {text}" if self.is_claim(number) else text

    def quote(self, numbers: Sequence[int]) -> tuple[str, list[Locator]]:
        """The quote the program cuts for evidence ``numbers`` (valid, any order): each run of
        consecutive sentences is one verbatim slice of the source with its locator; runs are joined
        by :data:`QUOTE_GAP`."""
        ordered = sorted(set(numbers))
        runs: list[list[int]] = []
        for n in ordered:
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        text = self.source.text
        parts: list[str] = []
        locators: list[Locator] = []
        for run in runs:
            start = self.sentences[run[0] - 1].start
            end = self.sentences[run[-1] - 1].end
            parts.append(text[start:end])
            locators.append(locator(start, end, self.source.page_starts))
        return QUOTE_GAP.join(parts), locators


# A list item's marker ("- ", "* ", "1. ", "(a) ") is layout, not part of what the item says.
_LIST_MARKER = re.compile(r"(?:[-*+\u2022\u25aa\u25cf]|\(?\d{1,3}[.)]|\([a-z]{1,4}\))[ \t]+(?=\S)")


def _without_marker(sentence: Sentence) -> Sentence:
    marker = _LIST_MARKER.match(sentence.text)
    if marker is None:
        return sentence
    cut = marker.end()
    return Sentence(sentence.start + cut, sentence.end, sentence.text[cut:], sentence.paragraph)


_ENDS_SENTENCE = re.compile(r"[.!?:;\u2026)\]\"'\u201d\u2019]\s*$")
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "vs",
    ]
)


def is_title(text: str) -> bool:
    """A heading written as plain text: no closing punctuation, at most 12 words, and most of
    them capitalised ("A Strategic Response to Supply Chain Fragility")."""
    if _ENDS_SENTENCE.search(text):
        return False
    words = [w for w in _WORDS.findall(text) if w.lower() not in _SMALL_WORDS]
    if not words or len(words) > 12:
        return False
    capitalised: int = sum(1 for w in words if w[0].isupper())
    return capitalised * 10 >= len(words) * 7


def locator(start: int, end: int, page_starts: Sequence[int] = ()) -> Locator:
    page = bisect.bisect_right(page_starts, start) if page_starts else None
    return Locator(start=start, end=end, page=page)


# --- chunks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """Sentences ``first..last`` (1-based, inclusive) of a numbered source: one model call."""

    numbered: Numbered
    index: int  # 1-based
    count: int
    first: int
    last: int

    @property
    def source(self) -> Source:
        return self.numbered.source

    @property
    def target(self) -> str:
        """The call label's target: the source ID, with the chunk number when there are several."""
        return self.source.id if self.count == 1 else f"{self.source.id}.{self.index}"

    @property
    def numbers(self) -> range:
        return range(self.first, self.last + 1)

    @cached_property
    def citable(self) -> tuple[int, ...]:
        """The numbers a fact may name as evidence: the chunk's claims (:meth:`Numbered.is_claim`).
        Read once per chunk: every proposed fact of the chunk is checked against them."""
        return tuple(n for n in self.numbers if self.numbered.is_claim(n))

    def text(self) -> str:
        """The chunk as the prompt shows it: one numbered sentence per line, a blank line between
        paragraphs."""
        lines: list[str] = []
        previous = None
        for n in self.numbers:
            paragraph = self.numbered.sentences[n - 1].paragraph
            if previous is not None and paragraph != previous:
                lines.append("")
            lines.append(self.numbered.line(n))
            previous = paragraph
        return "\n".join(lines)


def chunk(numbered: Numbered, size: int, overlap: int) -> list[Chunk]:
    """Windows of whole sentences of at most ``size`` characters of source text (a longer
    sentence is a window of its own), each starting ``overlap`` characters' worth of sentences
    before the previous one ended, so a fact at a boundary is seen whole at least once."""
    sentences = numbered.sentences
    if not sentences:
        return []
    windows: list[tuple[int, int]] = []
    first = 1
    while True:
        last = first
        while last < len(sentences) and sentences[last].end - sentences[first - 1].start <= size:
            last += 1
        windows.append((first, last))
        if last >= len(sentences):
            break
        # The next window starts with the last sentences of this one that fit in ``overlap``.
        following = last + 1
        while (
            following > first + 1
            and sentences[last - 1].end - sentences[following - 2].start <= overlap
        ):
            following -= 1
        first = following
    return [Chunk(numbered, i, len(windows), a, b) for i, (a, b) in enumerate(windows, 1)]


# --- the rules extractor -------------------------------------------------------------------------

# First match wins; a sentence that matches none is about the company if it names it, else "other".
_TOPIC_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (topic, re.compile(pattern, re.IGNORECASE))
    for topic, pattern in (
        ("valuation", r"\b(share price|stock price|market (?:value|cap\w*)|valuation|multiple|"
         r"price target|enterprise value|p/e|per share)\b"),
        ("financials", r"\b(revenue|sales|net (?:income|loss)|earnings|ebitda|profit|margin|"
         r"cash|debt|capex|capital expenditure|guidance|dividend|operating (?:income|loss))\b"),
        ("contracts", r"\b(contract|order|offtake|customer|supply agreement|purchase agreement)s?\b"),
        ("partnership", r"\b(partner(?:ship)?|joint venture|collaborat\w+|alliance|"
         r"memorandum of understanding|mou)s?\b"),
        ("policy", r"\b(tariff|polic(?:y|ies)|regulat\w+|government|department of|legislation|"
         r"subsid\w+|tax credit|export control|sanction)s?\b"),
        ("market", r"\b(market|demand|supply|cagr|growth|share of|capacity|industry|global)\b"),
        ("risk", r"\b(risk|uncertain\w*|may not|could fail|no assurance|volatil\w+|depend\w*)\b"),
        ("esg", r"\b(emission|carbon|environment\w*|sustainab\w+|recycl\w+|esg)s?\b"),
    )
)  # fmt: skip


def rules_topic(text: str, names_company: bool) -> str:
    for topic, pattern in _TOPIC_RULES:
        if pattern.search(text):
            return topic
    return "company" if names_company else "other"


def company_pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    """Whole-word matches of the company's names (name, ticker, declared aliases)."""
    words = sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)")


def rules_sentences(
    numbered: Numbered,
    names: re.Pattern[str] | None,
    identifiers: Sequence[str],
    max_chars: int,
    numbers: range | None = None,
) -> list[tuple[int, str]]:
    """The sentence numbers (and topics) the rules extractor keeps, in reading order: sentences
    that carry a figure or name the company, are not withheld, are not in the reference list, have
    at least three words and are at most ``max_chars`` long."""
    kept: list[tuple[int, str]] = []
    for n in numbers or range(1, len(numbered) + 1):
        text = numbered.text_of(n)
        if numbered.references_from is not None and n >= numbered.references_from:
            break
        if not numbered.is_claim(n) or len(text) > max_chars:
            continue
        names_company = names is not None and names.search(text) is not None
        if names_company or extract(text, identifiers):
            kept.append((n, rules_topic(text, names_company)))
    return kept

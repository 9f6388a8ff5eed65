"""Split source text into sentences with exact character offsets: the one segmenter of the project.

The injection guard taints sentences (not pages), and later steps number a source's sentences and
cut quotes at their spans, so offsets must be exact: every sentence's ``text`` is
``text[start:end]``, sentences are in order, never overlap, carry no leading or trailing
whitespace, and every non-whitespace character of the text is in exactly one sentence. A heading,
a list item, a table row and a page footer each count as a sentence.

Two passes. First the text is cut into blocks at the line breaks that end a paragraph.
trafilatura's HTML text has one paragraph per line, headings and table rows ("| a | b |") on lines
of their own; PDF and hard-wrapped Markdown also break lines mid-sentence, and those breaks are
kept inside the block. A block ends
- at a blank line, unless a page break cut a sentence (the line before ends mid-phrase, or the
  next starts with a lowercase word);
- around a table row or page footer ("Apple Inc. | 2024 Form 10-K | 23") or a Markdown heading,
  and before a list item ("- ", "1. ", "(a) ", "(2)Financial", "\u2022iMac");
- after a line that ends in sentence-final punctuation or stands alone: one cut well short of the
  width of the lines around it (a heading, a dateline), a title ("Item 7. Management's Discussion
  and Analysis ..."), a parenthetical ("(In millions)"), a table row as pypdf prints it
  ("Services 96,169 85,200 78,129"), or one too long to have been wrapped;
- but not where the next line starts with a lowercase word, nor after a line that ends mid-phrase
  (a comma, "and", "of the", "Mr.").
Then sentencex (Wikimedia's rule-based segmenter) splits each block.

Why sentencex: measured on the seed article (7.5 kB) and Apple's FY2024 10-K as ``read_source``
reads it (228 kB), best of 5, one core:
- sentencex 1.0.32 (Rust, maintained): 0.1 ms and 2.2 ms, exact character offsets. Alone it never
  breaks at a single newline, and a line-start list marker ("(1)", "- ") makes an item that runs
  to the next marker: one 10-K "sentence" held 35,000 characters of tables and prose. The block
  pass fixes that (segment(): 0.4 ms and 13 ms; longest 10-K sentence 1,099 characters). "Inc.",
  "$3.85" and "No. 5" do not end a sentence; "U.S." glued to a word ("non-U.S.", "ActU.S.") did,
  and is rejoined below.
- pysbd 0.3.4 (unmaintained since 2021): 18 ms and 1.5 s; breaks at every newline, so hard-wrapped
  prose falls apart; splits after "Apple Inc." in the 10-K's page footers.
- syntok 1.4.4 (unmaintained since 2022): 6 ms and 0.5 s; offsets must be rebuilt from tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sentencex  # type: ignore[import-untyped]


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence: ``text == source_text[start:end]``; ``paragraph`` counts blocks from 0."""

    start: int
    end: int
    text: str
    paragraph: int


_LINE = re.compile(r"[^\n]*\n?")
# Sentence-final punctuation, then any closing quotes or brackets.
_FINAL = re.compile(r"[.!?:;\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")
# Lines that stand alone: table rows ("| a | b |", a page footer "Apple Inc. | 2024 Form 10-K | 23")
# and Markdown headings.
_ALONE = re.compile(r"^\s*(?:\||#{1,6}\s)|\s\|\s.*\s\|(?:\s|$)")
# Lines that start a list item: "- ", "* ", "+ ", a bullet (the 10-K glues it to the text), "1. ",
# "1) ", "(1)", "(a) " and "(ii)" (glued too: "(2)Financial Statement Schedules", "(ii)provide").
_ITEM = re.compile(
    r"^\s*(?:[-*+]\s|[\u2022\u25aa\u25cf]|\(?\d{1,3}[.)]\s|\(\d{1,3}\)|\([a-z]{1,4}\)\s"
    r"|\((?:[a-z]|[ivx]{1,4})\))"
)
# A line that starts with a lowercase word continues the line before ("iPhone" does not).
_LOWER_START = re.compile(r"\s*[a-z](?![A-Z])")
# A line that ends mid-phrase: a comma, an opening bracket, a short function word, or an
# abbreviation that never ends a sentence.
_CONTINUES = re.compile(
    r"(?:[,&/(\[\u201c]"
    r"|\b(?:a|an|and|as|at|by|for|from|in|into|its|nor|of|on|or|per|than|that|the|their|to|via"
    r"|with)"
    r"|\b(?:Mr|Mrs|Ms|Messrs|Dr|Prof|No|Nos|Fig|Figs|approx|vs|e\.g|i\.e)\.)$"
)
# A table row as pypdf prints it: the line ends in two numeric cells ("$ 391,035  2 % $ 383,285",
# "269  (565) (334)", "36.5 % 36.3 %").
_NUMBER = r"\(?\d+(?:[.,]\d+)*\)?"
_ROW_END = re.compile(_NUMBER + r"(?:\s*[$%\u2013\u2014])*\s+\$?\s*" + _NUMBER + r"\s*%?$")
# A line that is one parenthetical: "(In millions, except per-share amounts)", "(Mark One)".
_PARENTHETICAL = re.compile(r"\([^()]*\)$")
# Words of a title: every word capitalised but for these.
_WORD = re.compile(r"(?<!\S)[^\W\d_]\S*")
_MINOR = frozenset(
    ("a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "on",
     "or", "per", "than", "the", "to", "via", "vs", "with"),
)  # fmt: skip
# Wrapped text is never wider than this, nor narrower than _NARROW (characters).
_WIDEST_WRAP = 200
_NARROW = 60


def _titlelike(line: str) -> bool:
    words = _WORD.findall(line)
    return 0 < len(words) <= 20 and all(
        w[0].isupper() or w.rstrip(".,;:").lower() in _MINOR for w in words
    )


def _ends_paragraph(line: str, following: str, width: int) -> bool:
    """Whether the break between two non-blank lines ends a paragraph, for a line that is neither
    a table row nor a heading; ``width`` is that of the longest line around it (up to blank lines).

    A line cut short of the width, a title, a table row or a parenthetical stands alone; a line
    that fills the width, or that ends mid-phrase, was wrapped."""
    if _LOWER_START.match(following):
        return False
    stripped = line.strip()
    tail = max(0, len(stripped) - 12)
    if _CONTINUES.search(stripped, tail):
        return False
    if _ITEM.match(line) or _FINAL.search(stripped, tail):
        return True
    return (
        len(stripped) > _WIDEST_WRAP
        or width < _NARROW
        or len(stripped) <= 0.6 * width
        or _PARENTHETICAL.match(stripped) is not None
        or _titlelike(stripped)
        or _ROW_END.search(stripped) is not None
    )


def _alone(line: str) -> bool:
    return ("|" in line or "#" in line) and _ALONE.search(line) is not None


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of paragraph-like blocks; a line break inside a block is a soft wrap."""
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text) if m.group()]
    sizes = [len(line.strip()) for _, line in lines]
    # The width of each run of non-blank lines, for every line in it.
    widths = [0] * len(lines)
    run = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or not sizes[i]:
            widths[run:i] = [max(sizes[run:i], default=0)] * (i - run)
            run = i + 1
    filled = [i for i, size in enumerate(sizes) if size]
    alone = {i: _alone(lines[i][1]) for i in filled}

    def ends(i: int, j: int) -> bool:
        """Whether a block ends between non-blank lines i and j (j > i + 1: blank lines between)."""
        line, following = lines[i][1].rstrip("\n"), lines[j][1]
        if alone[i] or alone[j] or _ITEM.match(following):
            return True
        if j > i + 1:  # a blank line ends a paragraph, unless a page break cut a sentence
            ending = line.rstrip()
            return not (
                _LOWER_START.match(following) or _CONTINUES.search(ending, max(0, len(ending) - 12))
            )
        return _ends_paragraph(line, following, widths[i])

    blocks: list[tuple[int, int]] = []
    start = -1
    for k, i in enumerate(filled):
        at, line = lines[i]
        start = at if start < 0 else start
        if k + 1 == len(filled) or ends(i, filled[k + 1]):
            blocks.append((start, at + len(line)))
            start = -1
    return blocks


# sentencex reads "U.S." glued to the word before it ("non\u2013U.S. dollar", "ActU.S. market")
# as a sentence end after "U."; the two halves of such an initialism are put back together.
_INITIAL_END = re.compile(r"\S[A-Z]\.$")
_INITIAL_START = re.compile(r"[A-Z]\.(?:\s|$)")


def _spans(block: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for piece in sentencex.get_sentence_boundaries("en", block):
        raw: str = piece["text"]
        if not raw.strip():
            continue
        start = int(piece["start_index"]) + len(raw) - len(raw.lstrip())
        end = int(piece["start_index"]) + len(raw.rstrip())
        if (
            spans
            and _INITIAL_END.search(block, 0, spans[-1][1])
            and _INITIAL_START.match(block, start)
        ):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def segment(text: str) -> list[Sentence]:
    """The sentences of ``text``, in order, with exact offsets (see the module docstring)."""
    sentences: list[Sentence] = []
    paragraph = 0
    for block_start, block_end in _blocks(text):
        spans = _spans(text[block_start:block_end])
        for start, end in spans:
            a, b = block_start + start, block_start + end
            sentences.append(Sentence(a, b, text[a:b], paragraph))
        paragraph += bool(spans)
    return sentences

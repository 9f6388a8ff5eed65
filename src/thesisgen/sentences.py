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
Then sentencex (Wikimedia's rule-based segmenter) splits each block, and _spans puts back together
what it cuts wrongly: after "approx.", "Ms.", "Figs." before a number, an abbreviation before a
lowercase word, "p.m." before the time zone; a line-start "1." or "Item 7." off its text; ";" off
"14-in."; a table row before "(2)"; a page break. sentencex reads "(1)", "(b)" and "\u2022"
before a capitalised word as list markers and then ends no sentence up to the next one, so it is
shown them as "[1]", "[b]" and "-"; and a sentence in brackets ends at ".)".

Known limits, labelled in tests/data/sentence_cases.yaml: "Inc." before a capitalised word that
is not a usual sentence opener ("BofA Securities, Inc. Pricing was set") ends no sentence, as it
must not in "Alphabet Inc. Class A"; a sentence cut by a page footer comes back as its two parts
around the footer, as spans are contiguous.

Why sentencex: measured on the seed article (7.5 kB) and Apple's FY2024 10-K as ``read_source``
reads it (228 kB), best of 5, one core:
- sentencex 1.0.32 (Rust, maintained): 0.1 ms and 2.2 ms, exact character offsets. Alone it never
  breaks at a single newline, and a line-start list marker ("(1)", "- ") makes an item that runs
  to the next marker: one 10-K "sentence" held 35,000 characters of tables and prose. With the
  passes above, segment() takes 0.5 ms and 15 ms; the longest 10-K sentence has 1,063 characters.
  "Inc.", "$3.85", "9.5%." and "No. 5" do not end a sentence; "U.S." glued to a word
  ("non-U.S.", "ActU.S.") did, and is rejoined.
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
# Titles and abbreviations that never end a sentence (also used to rejoin sentencex's cuts below).
_NEVER_FINAL_WORDS = r"Mr|Mrs|Ms|Messrs|Dr|Prof|approx|vs|e\.g|i\.e"
_CONTINUES = re.compile(
    r"(?:[,&/(\[\u201c]"
    r"|\b(?:a|an|and|as|at|by|for|from|in|into|its|nor|of|on|or|per|than|that|the|their|to|via"
    r"|with)"
    rf"|\b(?:{_NEVER_FINAL_WORDS}|No|Nos|Fig|Figs)\.)$"
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


# Where sentencex ends a sentence that goes on, the two pieces are put back together:
# - the piece before does not end in terminal punctuation: sentencex cuts before a "(2)" it takes
#   for a list marker (inside table rows: "$ 200,583 (2) % $ 205,489") and at a page break;
_TERMINAL = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")
# - the piece after starts with a lowercase word ("bn. in the quarter"; "iPhone" may start a
#   sentence) or with punctuation that belongs to the word before ("14-in.;");
_GOES_ON = re.compile(r"[a-z](?![A-Z])|[,;:%)\]}]")
# - the piece before ends in a title or an abbreviation that never ends a sentence, or in one that
#   comes before a number ("Figs. 4 and 5"), and a number follows;
_NEVER_FINAL = re.compile(rf"\b(?:{_NEVER_FINAL_WORDS}|cf)\.$")
_BEFORE_NUMBER = re.compile(r"\b(?:No|Nos|Fig|Figs|pp?|Vol|Art|Sec)\.$")
# - the piece before is only a label ("1.", "b)", "Item 7.", "Note 5.") and its item goes on on
#   the same line;
_LABEL = re.compile(
    r"(?:\(?(?:\d{1,3}|[A-Za-z]|[ivx]{2,4}|[IVX]{2,4})[.)]"
    r"|(?:Item|ITEM|Part|PART|Note|NOTE|Section|Article|Chapter|Schedule|Exhibit|Appendix|Step)"
    r"\s+[0-9IVX]{1,4}[A-Z]?\.)$"
)
# - a time of day before its zone ("5:00 p.m." and "ET on Thursday.");
_CLOCK = re.compile(r"\b[ap]\.m\.$")
_ZONE = re.compile(r"(?:[A-Z]{1,3}T|UTC|GMT)\b")
# - "U.S." glued to the word before it ("non\u2013U.S. dollar", "ActU.S. market"), which sentencex
#   reads as a sentence end after "U.".
_INITIAL_END = re.compile(r"\S[A-Z]\.$")
_INITIAL_START = re.compile(r"[A-Z]\.(?:\s|$)")
# And where it does not: a sentence in brackets ends at ".)" ("(The plant opens in 2027.) Output").
_BRACKETED_END = re.compile(r"[.!?]\)(?<=[a-z0-9%][.!?]\))\s+(?=[A-Z])")


def _goes_on(block: str, before: tuple[int, int], start: int) -> bool:
    """Whether the sentence at ``before`` goes on into the piece sentencex starts at ``start``."""
    a, b = before
    tail = max(a, b - 12)
    return bool(
        not _TERMINAL.search(block, tail, b)
        or _GOES_ON.match(block, start)
        or _NEVER_FINAL.search(block, tail, b)
        or (_BEFORE_NUMBER.search(block, tail, b) and block[start].isdigit())
        or (_LABEL.fullmatch(block, a, b) and "\n" not in block[b:start])
        or (_CLOCK.search(block, tail, b) and _ZONE.match(block, start))
        or (_INITIAL_END.search(block, tail, b) and _INITIAL_START.match(block, start))
    )


# sentencex takes "(1)", "2)", "(b)", "(ii)" and "\u2022" before a capitalised word for list
# markers, and then never ends a sentence until the next marker: one 10-K "sentence" ran on for
# five sentences after "(2) Article 6(3)". It reads them with square brackets and a hyphen instead
# (the same length, so offsets hold).
_MARKER = re.compile(
    r"\((?:\d{1,3}|[A-Za-z]|[ivx]{2,4}|[IVX]{2,4})\)"
    r"|\)(?<=(?<![\w(,.])\d\))|\)(?<=(?<![\w(,.])\d\d\))"  # "2)", found from its ")": faster
    r"|\u2022"
)
_UNMARKED = str.maketrans("()\u2022", "[]-")


def _unmarked(text: str) -> str:
    return _MARKER.sub(lambda m: m.group().translate(_UNMARKED), text)


def _pieces(block: str, unmarked: str) -> list[tuple[int, int]]:
    """sentencex's sentences of ``block`` (read as ``unmarked``), without outer whitespace, cut at
    ".)" too."""
    pieces: list[tuple[int, int]] = []
    for piece in sentencex.get_sentence_boundaries("en", unmarked):
        raw = block[int(piece["start_index"]) : int(piece["end_index"])]
        if not raw.strip():
            continue
        start = int(piece["start_index"]) + len(raw) - len(raw.lstrip())
        end = int(piece["start_index"]) + len(raw.rstrip())
        for cut in _BRACKETED_END.finditer(block, start, end):
            pieces.append((start, cut.start() + 2))
            start = cut.end()
        pieces.append((start, end))
    return pieces


def _spans(block: str, unmarked: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start, end in _pieces(block, unmarked):
        if spans and _goes_on(block, spans[-1], start):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def segment(text: str) -> list[Sentence]:
    """The sentences of ``text``, in order, with exact offsets (see the module docstring)."""
    sentences: list[Sentence] = []
    paragraph = 0
    unmarked = _unmarked(text)
    for block_start, block_end in _blocks(text):
        spans = _spans(text[block_start:block_end], unmarked[block_start:block_end])
        for start, end in spans:
            a, b = block_start + start, block_start + end
            sentences.append(Sentence(a, b, text[a:b], paragraph))
        paragraph += bool(spans)
    return sentences

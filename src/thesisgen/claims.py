"""What a figure claims, read from the words around it: its claim frame.

A figure can be right and the claim wrong: "nearly $900 million" written "at least $900 million",
a rise written as a fall, a contract written as a result, POSCO's contracts written as
ReElement's. The gate reads a frame for each figure of a sentence and of its cited fact, the same
way, and compares them (:func:`compare`). The words are data (``claims.toml``); the rules are:

- qualifier: the words right before (or after) the figure: approx, below ("nearly"), lower and upper
  bounds, exact (``QUALIFIER_TABLE``: adding or reversing a bound is a violation, dropping an
  approximation or a bound a reviewer comment).
- direction (up, down, flat), modality (planned, achieved): verbs govern the figure that follows
  them, a cue right after a figure ("an 8% drop") that figure; a nearer cue wins. Both sides must
  state one to clash. Where the text gives both ends ("to 46.2% from 44.1%") the values decide.
- negation: a cue before the figure in its clause.
- metric: the metric words of the figure's clause that are its own, nearest first; two frames
  clash when neither's nearest metric is, or is of a family with, one of the other's.
- holder: the nearest name before the figure that owns it ("POSCO's") or does it ("POSCO
  signed"), not governed by a preposition ("in China").

Besides frames: the names in a text (:func:`names_in`), its content stems for unrelated citations,
ratings in prose, and clauses without figures as :class:`Statement` s.

Pure functions. The word lists are read in one pass over a text's tokens (:func:`_scan`), shared
by every reader of the same sentence through a small cache.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from .numbers import TIME_KINDS, Mention

# How many texts the per-text readings (tokens, word-list matches, content words) are kept for:
# the readers of one sentence share them, and sentences never repeat within a memo, so a few are
# enough; a memo's sentences are never all kept (benchmarks/validate_bench.py relies on that).
TEXT_CACHE = 16

_DATA = tomllib.loads(Path(__file__).with_name("claims.toml").read_text(encoding="utf-8"))


# Words, and each mark of punctuation on its own; hyphens and dashes separate words like spaces.
_TOKEN = re.compile(r"\w+(?:['’&]\w+)*|[^\w\s\-\u2013\u2014]")
# A text split at its tokens: separators and tokens in turn. Every character of a text is a
# separator or in a token, so the running sum of the pieces' lengths gives every token's offsets,
# without a match object per token (the gate reads every sentence of a memo this way).
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")


class _Tokens(NamedTuple):
    """A text's tokens: their lowercase forms, where each starts and ends, and whether the offsets
    are the text's own (lowercasing "İ" makes it longer: then a phrase's words are read again from
    the text, as :func:`_key` reads them)."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    aligned: bool


def _split(text: str) -> _Tokens:
    low = text.lower().replace("’", "'")
    pieces = _TOKEN_SPLIT.split(low)
    edges = list(accumulate(map(len, pieces)))
    return _Tokens(pieces[1::2], edges[0:-1:2], edges[1::2], len(low) == len(text))


@lru_cache(maxsize=TEXT_CACHE)
def _tokens(text: str) -> _Tokens:
    """A text's tokens, read once per text."""
    return _split(text)


def _key(phrase: str) -> str:
    """A phrase as its tokens: what a word list's entry and a text's words are compared by. Not
    cached: a phrase must not push a sentence's tokens out of the small cache."""
    return " ".join(_split(phrase).words)


class _Found:
    """A phrase found in a text (the part of ``re.Match`` the readers use) and its words."""

    __slots__ = ("_aligned", "_end", "_start", "_text", "key")

    def __init__(self, text: str, start: int, end: int, key: str, aligned: bool = True) -> None:
        self._text, self._start, self._end, self.key = text, start, end, key
        self._aligned = aligned

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end

    def group(self, _: int = 0) -> str:
        return self._text[self._start : self._end]

    def phrase(self) -> str:
        """``_key(self.group(0))``: the words as written, which are the matched words (``key``)
        wherever the offsets are the text's own and the word lists are ASCII."""
        return self.key if self._aligned and _ASCII else _key(self.group(0))


_LEXICONS: list[_Lexicon] = []


class _Node(NamedTuple):
    """One word of a phrase in the table of every list's phrases: the lists a phrase ending here
    is in, and the words that go on to longer phrases."""

    lists: tuple[int, ...]
    next: dict[str, _Node]


# every word list's phrases in one table of words, first word first; built at import
_TRIE: dict[str, _Node] = {}
_NOT_BEFORE: dict[int, str] = {}  # list -> the characters its phrases must not be followed by
_ASCII = False  # every phrase of every list is ASCII (set with the table)


def _build() -> None:
    table: dict[tuple[str, ...], list[int]] = {}
    for lexicon in _LEXICONS:
        for key in lexicon.keys:
            table.setdefault(key, []).append(lexicon.id)
    _TRIE.clear()
    _NOT_BEFORE.clear()
    _NOT_BEFORE.update({lx.id: lx.not_before for lx in _LEXICONS if lx.not_before})
    for key, lists in table.items():
        level = _TRIE
        for word in key[:-1]:
            node = level.get(word)
            if node is None:
                node = level[word] = _Node((), {})
            level = node.next
        last = level.get(key[-1])
        level[key[-1]] = _Node(tuple(lists), last.next if last else {})
    global _ASCII
    _ASCII = all(word.isascii() for key in table for word in key)


@lru_cache(maxsize=TEXT_CACHE)
def _scan(text: str) -> list[list[_Found]]:
    """Every list's phrases in ``text`` in one pass: for each list, leftmost and longest first,
    without overlaps (as a regular expression of its alternatives would find them)."""
    words, starts, ends, aligned = _tokens(text)
    found: list[list[_Found]] = [[] for _ in _LEXICONS]
    free = [0] * len(_LEXICONS)  # the first token each list may match from
    count = len(words)
    trie = _TRIE
    not_before = _NOT_BEFORE
    for i, word in enumerate(words):
        node = trie.get(word)
        if node is None:
            continue
        lists, follow = node
        if not follow or i + 1 == count or words[i + 1] not in follow:
            # one word, no longer phrase from here (most words): each list's phrase is this word
            for lid in lists:
                if free[lid] > i:
                    continue
                end = ends[i]
                if lid in not_before and text[end : end + 1] in not_before[lid]:
                    continue
                free[lid] = i + 1
                found[lid].append(_Found(text, starts[i], end, word, aligned))
            continue
        phrases: list[tuple[int, tuple[int, ...]]] = [(1, lists)] if lists else []
        n = 1
        while follow and i + n < count:  # longer phrases from here
            node = follow.get(words[i + n])
            if node is None:
                break
            lists, follow = node
            n += 1
            if lists:
                phrases.append((n, lists))
        if not phrases:
            continue
        taken: list[int] = []
        for n, lists in reversed(phrases):  # longest first
            for lid in lists:
                if free[lid] > i or lid in taken:
                    continue
                end = ends[i + n - 1]
                if lid in not_before and text[end : end + 1] in not_before[lid]:
                    continue
                taken.append(lid)
                free[lid] = i + n
                found[lid].append(_Found(text, starts[i], end, " ".join(words[i : i + n]), aligned))
    return found


class _Lexicon:
    """Whole-word, case-insensitive matches of any phrase of a word list, leftmost and longest
    first: a dictionary of token sequences, which is many times faster than a regular expression
    of a few hundred alternatives (the gate reads every sentence of a memo with a dozen lists)."""

    def __init__(self, phrases: Iterable[str], not_before: str = "") -> None:
        self.keys = frozenset(tuple(_key(p).split(" ")) for p in phrases if _key(p))
        self.not_before = not_before
        if _TRIE:
            raise RuntimeError("word lists are defined at import, before the table is built")
        self.id = len(_LEXICONS)
        _LEXICONS.append(self)

    def finditer(self, text: str) -> list[_Found]:
        return _scan(text)[self.id]

    def search(self, text: str) -> _Found | None:
        found = self.finditer(text)
        return found[0] if found else None


def _lookup(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {_key(p): key for key, phrases in table.items() for p in phrases}


# --- the word lists as patterns ------------------------------------------------------------------

_Q = _DATA["qualifier"]
_QUALIFIER_OF = _lookup({k: _Q[k] for k in ("approx", "below", "lower", "upper", "exact")})
_QUALIFIERS = _Lexicon(_QUALIFIER_OF)
_AFTER_OF = _lookup(
    {"lower": _Q["after_lower"], "upper": _Q["after_upper"], "approx": _Q["after_approx"]}
)
_QUALIFIERS_AFTER = _Lexicon(_AFTER_OF)

_DIRECTION_OF = _lookup(_DATA["direction"])
_DIRECTION = _Lexicon(_DIRECTION_OF)
_MODALITY_OF = _lookup(_DATA["modality"])
_MODALITY = _Lexicon(_MODALITY_OF)
_NEGATION = _Lexicon(_DATA["negation"]["cues"])
_NOT_NEGATION = _Lexicon(_DATA["negation"]["not_negation"])
_NEGATION_STEMS = frozenset(w[:5] for cue in _DATA["negation"]["cues"] for w in _key(cue).split())
_BREAK = _Lexicon(_DATA["clause"]["breaks"])
_STATEMENT_BREAK = _Lexicon(_DATA["clause"]["statement_breaks"])
_CONDITIONAL = _Lexicon(_DATA["clause"]["conditional"])
_SCENARIO = _Lexicon(["would", "could", "might"])
_HYPOTHETICAL = _Lexicon(_DATA["clause"]["hypothetical"])
_METRIC_OF = _lookup(_DATA["metric"])
_METRIC = _Lexicon(_METRIC_OF)
_FAMILY: dict[str, frozenset[str]] = {}
for _k, _related in _DATA["metric_family"].items():
    for _r in _related:
        _FAMILY[_k] = _FAMILY.get(_k, frozenset()) | {_r}
        _FAMILY[_r] = _FAMILY.get(_r, frozenset()) | {_k}
_SUBJECT_VERBS = frozenset(_key(w) for w in _DATA["holder"]["subject_verbs"])
_BE_HAVE = frozenset(("is", "was", "are", "were", "has", "have", "had", "having"))
_DOING = _SUBJECT_VERBS - _BE_HAVE
_PREPOSITIONS = frozenset(_key(w) for w in _DATA["holder"]["prepositions"])
_RATING = _Lexicon(_DATA["rating"]["phrases"], not_before="-")
_RATING_CAPS = re.compile(
    r"(?<![\w])(?:" + "|".join(map(re.escape, _DATA["rating"]["capitals"])) + r")(?![\w])"
)
_CAPITALS = tuple(_DATA["rating"]["capitals"])  # a capitals rating holds one of these as written
# the same test with fewer strings: those that hold none of the others ("STRONG BUY" holds "BUY")
_CAPITALS_HELD = tuple(c for c in _CAPITALS if not any(o != c and o in c for o in _CAPITALS))
_OWN_VOICE = _Lexicon(_DATA["rating"]["own_voice"])
_STOP = frozenset(_key(w) for w in _DATA["words"]["stop"])
_NOT_NAMES = frozenset(w.lower().replace(".", "") for w in _DATA["words"]["not_names"]) | frozenset(
    w.lower() for c in _DATA["rating"]["capitals"] for w in c.split()
)
ALLOWED_NAMES: tuple[str, ...] = tuple(_DATA["names"]["allowed"])

_WORD = re.compile(r"[^\W_]+(?:['’.&-][^\W_]+)*", re.UNICODE)
# a text split at its _WORD words: nothing between two words is a word's first character
_WORD_SPLIT = re.compile(f"({_WORD.pattern})", re.UNICODE)
_CONTENT = re.compile(r"[a-z0-9]+")
_CONTENT_WORD = re.compile(r"[a-z0-9]{3,}")  # the runs of _CONTENT longer than two characters
_CAP = r"(?:[A-Z][\w&'’.]*(?:-[A-Z][\w&'’.]*)*[\w.](?:(?<=s)['’](?!\w))?|[A-Z]|[a-z]+[A-Z][\w]*)"
_CONNECT = r"(?:of|and|&|de|du|for|the|van|von|der|la|le)"
# A name runs over capitalised words, but not past a possessive ("Northgate's CET1 ratio").
_NAME = re.compile(rf"(?<![\w'’]){_CAP}(?:(?<!['’]s)(?<!s['’])(?:\s+{_CONNECT})?\s+{_CAP})*")
_CONNECTORS = frozenset(
    ("of", "and", "&", "the", "for", "de", "du", "van", "von", "der", "la", "le")
)
_POSSESSIVE = re.compile(r"['’]s?$")
_CORPORATE = frozenset(
    [
        "inc",
        "inc.",
        "corp",
        "corp.",
        "corporation",
        "co",
        "co.",
        "ltd",
        "ltd.",
        "llc",
        "plc",
        "group",
        "holdings",
        "company",
        "limited",
        "technologies",
        "technology",
        "international",
    ]
)
BACK_REACH = 2  # how far after a figure a cue still speaks of it ("8% a year higher")
VERB_REACH = 12  # how many words a verb may sit from the figure it governs
NEGATION_REACH = 12

Qualifier = str  # "", "approx", "below", "lower", "upper", "exact"


@dataclass(frozen=True, slots=True)
class Frame:
    """What one figure claims besides its value. Empty strings: the text does not say."""

    qualifier: Qualifier = ""
    qualifier_text: str = ""
    direction: str = ""  # "up" | "down"
    direction_text: str = ""
    modality: str = ""  # "planned" | "achieved"
    modality_text: str = ""
    negation_text: str = ""  # the negating word, "" when the figure is not negated
    counted: str = ""  # the metric right after the figure: what it counts ("EV motors")
    moved: str = ""  # "up" | "down" when the text gives both ends ("to 46.2% from 44.1%")
    metrics: frozenset[str] = frozenset()  # every metric named in the figure's clause
    metric: str = ""  # the one nearest to the figure
    metric_text: str = ""
    holder: str = ""


EMPTY = Frame()


# --- reading a text ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Text:
    """A text with its words and clause breaks located, for distances between cues and figures."""

    text: str
    starts: list[int]
    breaks: list[int]
    figures: list[tuple[int, int, int]]  # (start, end, index into the mentions)
    # where the figures start and end, when both run in order (as extract gives them): then the
    # figure before or after a cue is found by bisection
    figure_starts: list[int] | None = None
    figure_ends: list[int] | None = None

    @classmethod
    def of(cls, text: str, mentions: Sequence[Mention]) -> _Text:
        # _WORD.finditer's starts, without a match object each (as tokens are read)
        starts = list(accumulate(map(len, _WORD_SPLIT.split(text))))[0:-1:2]
        breaks = [m.start() for m in _BREAK.finditer(text)]
        figures = [(m.start, m.end, i) for i, m in enumerate(mentions) if m.kind not in TIME_KINDS]
        located = cls(text, starts, breaks, figures)
        figure_starts = [f[0] for f in figures]
        figure_ends = [f[1] for f in figures]
        if figure_starts == sorted(figure_starts) and figure_ends == sorted(figure_ends):
            located.figure_starts, located.figure_ends = figure_starts, figure_ends
        return located

    def words_between(self, a: int, b: int) -> int:
        return bisect_left(self.starts, b) - bisect_left(self.starts, a)

    def clause(self, pos: int) -> int:
        return bisect_right(self.breaks, pos)

    def next_figure(self, end: int) -> tuple[int, int, int] | None:
        """The first figure starting at or after ``end``."""
        if self.figure_starts is not None:
            k = bisect_left(self.figure_starts, end)
            return self.figures[k] if k < len(self.figures) else None
        return next((f for f in self.figures if f[0] >= end), None)

    def previous_figure(self, start: int) -> tuple[int, int, int] | None:
        """The last figure ending at or before ``start``."""
        if self.figure_ends is not None:
            k = bisect_right(self.figure_ends, start)
            return self.figures[k - 1] if k else None
        return next((f for f in reversed(self.figures) if f[1] <= start), None)

    def governed(
        self, start: int, end: int, ahead_only: bool, reach: int
    ) -> tuple[int, int] | None:
        """The figure a cue at [start, end) speaks of, and how far it is (in words): the next figure
        in the clause within ``reach`` words, else (unless ``ahead_only``) the previous one."""
        breaks, starts = self.breaks, self.starts  # clause() and words_between(), inlined
        clause = bisect_right(breaks, start)
        before = self.previous_figure(start)
        before_here = before is not None and bisect_right(breaks, before[1]) == clause
        if (
            not ahead_only
            and before_here
            and bisect_left(starts, start) == bisect_left(starts, before[1])  # type: ignore[index]
        ):
            return before[2], 0  # type: ignore[index]  # right after a figure: "an 8% drop"
        reach_back = min(reach, BACK_REACH)
        after = self.next_figure(end)
        if after is not None and bisect_right(breaks, after[0]) == clause:
            gap = bisect_left(starts, after[0]) - bisect_left(starts, end)
            if gap <= reach:
                return after[2], gap
        if ahead_only:
            return None
        if before_here:
            gap = bisect_left(starts, start) - bisect_left(starts, before[1])  # type: ignore[index]
            if gap <= reach_back:
                return before[2], gap  # type: ignore[index]
        return None

    def nearest(self, start: int, end: int) -> int | None:
        """The figure nearest to a noun in its clause (the following one on a tie)."""
        breaks, starts = self.breaks, self.starts  # clause() and words_between(), inlined
        clause = bisect_right(breaks, start)
        after = self.next_figure(end)
        before = self.previous_figure(start)
        gap_after = (
            bisect_left(starts, after[0]) - bisect_left(starts, end)
            if after is not None and bisect_right(breaks, after[0]) == clause
            else None
        )
        gap_before = (
            bisect_left(starts, start) - bisect_left(starts, before[1])
            if before is not None and bisect_right(breaks, before[1]) == clause
            else None
        )
        if gap_after is not None and (gap_before is None or gap_after <= gap_before):
            return after[2]  # type: ignore[index]
        return before[2] if gap_before is not None else None  # type: ignore[index]


def frames(text: str, mentions: Sequence[Mention], names: Sequence[Name] = ()) -> list[Frame]:
    """A frame for each mention of ``text`` (an empty frame for years, dates and periods)."""
    if not any(m.kind not in TIME_KINDS for m in mentions):
        return [EMPTY] * len(mentions)
    located = _Text.of(text, mentions)
    fields: list[dict[str, object]] = [{} for _ in mentions]
    ending = {m.end(): m for m in _QUALIFIERS.finditer(text)}
    starting = {m.start(): m for m in _QUALIFIERS_AFTER.finditer(text)}
    for _start, _end, i in located.figures:
        _qualifier(text, mentions[i], ending, starting, fields[i])
    _cues(located, _DIRECTION, _DIRECTION_OF, "direction", fields)
    _cues(located, _MODALITY, _MODALITY_OF, "modality", fields)
    not_negation = [m.span() for m in _NOT_NEGATION.finditer(text)]
    for match in _NEGATION.finditer(text):
        if any(a <= match.start() < b for a, b in not_negation):
            continue
        target = located.governed(match.start(), match.end(), True, NEGATION_REACH)
        if target is not None:
            fields[target[0]].setdefault("negation_text", match.group(0))
    named = [(n.start, n.end) for n in names if not n.opener]
    found: list[tuple[int, int, str, str]] = []
    for m in _METRIC.finditer(text):
        where = m.start()
        if named and any(a <= where < b for a, b in named):
            continue  # in a name: "Jobs Act"
        if text[max(0, where - 4) : where].lower() == "per ":
            continue  # "$0.25 per share"
        found.append((where, m.end(), m.group(0), m.phrase()))
    breaks = located.breaks
    clauses = [bisect_right(breaks, f[0]) for f in found]
    nearest_to: dict[int, int | None] = {}  # found metric -> the figure nearest to it

    def near(k: int) -> int | None:
        if k not in nearest_to:
            nearest_to[k] = located.nearest(found[k][0], found[k][1])
        return nearest_to[k]

    for start, end, i in located.figures:
        clause = located.clause(start)
        at = [k for k, c in enumerate(clauses) if c == clause]
        if not at:
            continue
        here = [found[k] for k in at]

        def gap(
            f: tuple[int, int, str, str], start: int = start, end: int = end
        ) -> tuple[int, int]:
            if f[0] >= end:  # after the figure: first on a tie only when "of" or "in" leads to it
                between = located.text[end : f[0]].split()
                return located.words_between(end, f[0]), 0 if set(between) <= {"of", "in"} else 2
            return located.words_between(f[1], start), 1

        # its own metric words: those nearer to it than to any other figure; else the nearest
        # before it ("Deposits ... grew 4% to $38 billion"), never one that is another's
        own = [found[k] for k in at if near(k) == i]
        if not own:
            own = [f for f in here if f[1] <= start][-1:]
            if not own:
                continue
        nearest = min(own, key=gap)
        fields[i]["metrics"] = frozenset(_METRIC_OF[w] for _, _, _, w in own)
        fields[i]["metric"] = _METRIC_OF[nearest[3]]
        fields[i]["metric_text"] = nearest[2].lower()
        if gap(nearest) == (0, 0):
            fields[i]["counted"] = fields[i]["metric"]  # "3.85 million EV motors"
    if names:
        _holders(located, names, fields)
    spans = [(m.start, m.end) for m in mentions]
    if len(set(spans)) < len(spans):  # a range: the two ends of it share one frame
        for i, span in enumerate(spans):
            for j in range(i):
                if spans[j] == span:
                    fields[i] = {**fields[j], **fields[i]}
                    fields[j] = {**fields[i], **fields[j]}
    _moves(text, mentions, fields)
    return [Frame(**f) if f else EMPTY for f in fields]  # type: ignore[arg-type]


_TO = re.compile(r"\bto\s*$", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\s*$", re.IGNORECASE)
_TO_THEN_FROM = re.compile(r"^(?:\s+[^\s;]+){0,10}?\s+from\s*$", re.IGNORECASE)


def _moves(text: str, mentions: Sequence[Mention], fields: list[dict[str, object]]) -> None:
    """Where the text gives both ends of a move, its direction by the values (``moved``):
    "fell to 46.2% from 44.1%" is a rise whatever the verb says."""
    figures = [m for m in mentions if m.kind not in TIME_KINDS]
    for a, b in itertools.pairwise(figures):
        if (a.kind, a.unit) != (b.kind, b.unit):
            continue
        before = text[max(0, a.start - 8) : a.start]
        if (a.start, a.end) == (b.start, b.end) or (
            _FROM.search(before) and text[a.end : b.start].strip().lower() == "to"
        ):
            if not _FROM.search(before):
                continue
            start, end = a, b  # from A to B
        elif _TO.search(before) and _TO_THEN_FROM.match(text[a.end : b.start]):
            start, end = b, a  # to B from A
        else:
            continue
        if start.value == end.value:
            continue
        moved = "up" if end.value > start.value else "down"
        for i, m in enumerate(mentions):
            if m is start or m is end:
                fields[i]["moved"] = moved


def _qualifier(
    text: str,
    mention: Mention,
    ending: Mapping[int, _Found],
    starting: Mapping[int, _Found],
    out: dict[str, object],
) -> None:
    """The qualifier written right before the figure ("nearly", "more than a") or after it."""
    pre = text[: mention.start].rstrip()
    low = pre[-3:].lower()
    if low.endswith((" a", " an")) or low in ("an",):
        pre = pre[: pre.rfind(" ")].rstrip() if " " in pre else ""
    before = ending.get(len(pre))
    if before is not None:
        out["qualifier"] = _QUALIFIER_OF[before.key]
        out["qualifier_text"] = before.group(0)
        return
    rest = text[mention.end :]
    after = starting.get(mention.end + len(rest) - len(rest.lstrip()))
    if after is not None and not after.group(0)[0].isupper():  # "iPhone 16 Plus" is a name
        out["qualifier"] = _AFTER_OF[after.key]
        out["qualifier_text"] = after.group(0)


def _cues(
    located: _Text,
    pattern: _Lexicon,
    meaning: Mapping[str, str],
    slot: str,
    fields: list[dict[str, object]],
) -> None:
    best: dict[int, int] = {}
    for match in pattern.finditer(located.text):
        if match.group(0) == "May":
            continue  # the month
        ahead = match.group(0)[:3].lower() == "to "  # an infinitive speaks of what follows
        target = located.governed(match.start(), match.end(), ahead, VERB_REACH)
        if target is None:
            continue
        at, gap = target
        if at in best and best[at] <= gap:
            continue
        best[at] = gap
        fields[at][slot] = meaning[match.phrase()]
        fields[at][f"{slot}_text"] = match.group(0)


# --- names ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    """A proper name in a text: as written, and the words that identify it (lowercase)."""

    text: str
    start: int
    end: int
    words: tuple[str, ...]
    possessive: bool
    # a capitalised word opening the text, which may be an ordinary word ("Demand rose"): it can
    # be a holder ("China accounts for ...") but is never held to be an unknown name
    opener: bool = False


_THE_COMPANY = re.compile(
    r"(?<![\w])(?:[Tt]he (?:"
    + "|".join(_DATA["holder"]["company_nouns"])
    + r")|Management)(?:['’]s)?(?![\w])"
)
# what a match of _THE_COMPANY holds as written: a text with none of these has no match
_COMPANY_NOUNS = tuple(_DATA["holder"]["company_nouns"])
_COMPANY_CUES = (*(f"he {noun}" for noun in _COMPANY_NOUNS), "Management")


def _may_name_the_company(text: str) -> bool:
    """Does ``text`` hold one of ``_COMPANY_CUES``? (Each "he " is looked at once.)"""
    if "Management" in text:
        return True
    at = text.find("he ")
    while at >= 0:
        if text.startswith(_COMPANY_NOUNS, at + 3):
            return True
        at = text.find("he ", at + 1)
    return False


def names_in(text: str, company: tuple[str, ...] = ()) -> list[Name]:
    """The names of companies, people, places, agencies and products in ``text``.

    A capitalised word that opens the text may be an ordinary word ("Demand rose") unless it is
    in capitals or mixed case ("POSCO", "ReElement"), possessive, or followed by another
    capitalised word: such an opener is marked ``opener``. "The Company", as filings call their
    filer, is the memo's company (its name's words: ``company``).
    """
    out: list[Name] = []
    taken: list[tuple[int, int]] = []
    if company and _may_name_the_company(text):
        for match in _THE_COMPANY.finditer(text):
            possessive = match.group(0)[-1] == "s"
            out.append(Name(match.group(0), match.start(), match.end(), company, possessive))
            taken.append(match.span())
    lead = len(text) - len(text.lstrip())  # where the text's first word starts
    for match in _NAME.finditer(text):
        start = match.start()
        if taken and any(a <= start < b for a, b in taken):
            continue
        parts = match.group(0).split()
        while parts and name_word(parts[0]) in _NOT_NAMES:  # "The Inflation Reduction Act"
            start = text.index(parts[0], start) + len(parts[0])
            parts = parts[1:]
            while parts and parts[0].lower() in _LEADING:
                start = text.index(parts[0], start) + len(parts[0])
                parts = parts[1:]
        while parts and parts[-1].lower() in _TRAILING:
            parts = parts[:-1]
        if not parts:
            continue
        last = parts[-1]
        possessive = len(last) > 2 and _possessive(last)
        if possessive:
            parts[-1] = _unpossessive(last)
        kept: list[str] = []
        for part in parts:
            for w in part.split("-") if "-" in part else (part,):
                if w:
                    word = w.lower()  # name_word(w), with its tests only where they apply
                    if "." in word:
                        word = word.replace(".", "")
                    if "'" in word or "’" in word:
                        word = _unpossessive(word)
                    if (
                        word
                        and word not in _NOT_NAMES
                        and word not in _CONNECTORS
                        and (word.isalpha() or not any(c.isdigit() for c in word))
                    ):
                        kept.append(word)
        if not kept:
            continue
        words = tuple(kept)
        shown = " ".join(parts)
        if shown.endswith(".") and not _INITIALS.search(shown):
            shown = shown[:-1]  # the sentence's full stop, not an abbreviation's
        found = text.find(parts[0], start)
        if found >= 0:
            start = found
        opener = False
        if len(parts) == 1 and not possessive:
            word = parts[0]
            if not (word.isupper() and len(word) > 1) and not any(c.isupper() for c in word[1:]):
                # an ordinary word if it opens the text (or a quote, a bracket, a list)
                opener = start == lead or text[:start].rstrip().endswith(("(", '"', "“", ":"))
        if company and set(words) <= set(company):
            words = company  # "AREC" and "American Resources" are one holder
        out.append(Name(shown, start, match.end(), words, possessive, opener))
    # the names run in order, but "the Company" ones were read first
    return sorted(out, key=lambda n: n.start) if taken else out


_LEADING = frozenset(("of", "and", "&", "the", "for"))  # dropped after a leading non-name
_TRAILING = frozenset(("of", "and", "&", "de", "du", "for", "the"))
_INITIALS = re.compile(r"(?:^|\s)(?:[A-Za-z]\.)+$")


def _possessive(word: str) -> bool:
    """``_POSSESSIVE.search(word)``, by string tests: names are read from every sentence."""
    if "\n" in word:
        return _POSSESSIVE.search(word) is not None
    return word.endswith(("'", "’", "'s", "’s"))


def _unpossessive(word: str) -> str:
    """``_POSSESSIVE.sub("", word)``, by string tests."""
    if "\n" in word:
        return _POSSESSIVE.sub("", word)
    if word.endswith(("'s", "’s")):
        return word[:-2]
    if word.endswith(("'", "’")):
        return word[:-1]
    return word


def company_key(company: str, ticker: str = "") -> tuple[str, ...]:
    """The words that name the memo's company, without a corporate suffix, and its ticker
    ("apple", "aapl" for Apple Inc.): what "the Company" of a filing stands for, and what a
    holder written either way is compared by ("AREC had" and "the company has" agree)."""
    words = [name_word(p) for p in _WORD.findall(company)]
    kept = [w for w in words if w and w not in _CORPORATE and w not in _NOT_NAMES]
    return tuple(dict.fromkeys([*kept, *([name_word(ticker)] if ticker else [])]))


@lru_cache(maxsize=TEXT_CACHE)  # a one-clause sentence's statement and its citations share it
def content_words(text: str) -> frozenset[str]:
    """The stems (first five letters) of a text's words that carry meaning: what a sentence and
    a fact it cites must share at least one of."""
    return frozenset([w[:5] for w in _CONTENT_WORD.findall(text.lower()) if w not in _STOP])


def initialisms(text: str) -> frozenset[str]:
    """The initials of every run of two to five words ("nii" for "net interest income"): an
    acronym a sentence uses is named by a fact that spells it out."""
    words = [w for w in _CONTENT.findall(text.lower()) if not w.isdigit()]
    return frozenset(
        "".join(w[0] for w in words[i : i + n])
        for n in range(2, 6)
        for i in range(len(words) - n + 1)
    )


def _same_holder(a: Name | str, b: Name | str) -> bool:
    wa = set(a.words if isinstance(a, Name) else a.split()) - _CORPORATE
    wb = set(b.words if isinstance(b, Name) else b.split()) - _CORPORATE
    return bool(wa) and bool(wb) and (wa <= wb or wb <= wa)


def holder_of(text: str, names: Sequence[Name], clause_start: int, before: int) -> Name | None:
    """Whose figure (or claim) it is: the nearest name in the clause before it that owns it
    ("POSCO's contracts") or does it ("POSCO signed", "with Tierra Minerals owning"), and is not
    governed by a preposition ("in China")."""
    holder: Name | None = None
    for name in names:
        if name.end > before:
            break
        if name.start < clause_start:
            continue
        if name.possessive or (
            not _governed(text, name.start) and _does(text, name.end, opener=name.opener)
        ):
            holder = name
    return holder


def _governed(text: str, start: int) -> bool:
    """Is the word at ``start`` governed by a preposition ("in China", "to the Company")?"""
    words, starts, _, _ = _tokens(text)
    k = bisect_left(starts, start)
    before = words[max(0, k - 2) : k]
    if before and before[-1] == "the":
        before = before[:-1]
    return bool(before) and before[-1] in _PREPOSITIONS


def _does(text: str, end: int, opener: bool = False) -> bool:
    """Is a verb of having or doing among the two words after ``end`` ("POSCO signed")? An
    opening capitalised word, which may be a common noun, must be followed at once by a verb that
    is not a form of be or have ("China accounts", not "Rate base grew" or "Inventory is")."""
    words, starts, _, _ = _tokens(text)
    k = bisect_left(starts, end)
    if opener:
        return k < len(words) and words[k] in _DOING
    return any(w in _SUBJECT_VERBS for w in words[k : k + 2])


def _holders(located: _Text, names: Sequence[Name], fields: list[dict[str, object]]) -> None:
    for start, _end, i in located.figures:
        clause = located.clause(start)
        clause_start = located.breaks[clause - 1] if clause else 0
        holder = holder_of(located.text, names, clause_start, start)
        if holder is not None:
            fields[i]["holder"] = " ".join(holder.words)


# --- ratings -------------------------------------------------------------------------------------


def rating_in(text: str) -> str | None:
    """A rating or price target stated in the text ("STRONG BUY", "overweight", "price target")."""
    match: re.Match[str] | _Found | None = None
    for capitals in _CAPITALS_HELD:  # none written, no need to search
        if capitals in text:
            match = _RATING_CAPS.search(text)
            break
    if match is None:
        match = _RATING.search(text)
    return match.group(0) if match is not None else None


def own_voice(text: str) -> bool:
    return _OWN_VOICE.search(text) is not None


# --- comparing frames ----------------------------------------------------------------------------

# (sentence qualifier, fact qualifier) -> outcome: "" compatible, "comment" a dropped
# approximation a reviewer should see, "violation" an added, dropped-ceiling or reversed bound.
# Pairs not listed are compatible. README ("What a figure means") prints this table.
QUALIFIER_TABLE: dict[tuple[str, str], str] = {
    ("", "approx"): "comment",
    ("", "below"): "comment",
    ("", "lower"): "comment",
    ("", "upper"): "comment",
    ("approx", "lower"): "comment",
    ("approx", "upper"): "comment",
    ("below", "lower"): "violation",
    ("lower", ""): "violation",
    ("lower", "approx"): "violation",
    ("lower", "below"): "violation",
    ("lower", "upper"): "violation",
    ("lower", "exact"): "violation",
    ("upper", ""): "violation",
    ("upper", "approx"): "violation",
    ("upper", "lower"): "violation",
    ("upper", "exact"): "violation",
    ("exact", "approx"): "violation",
    ("exact", "below"): "violation",
    ("exact", "lower"): "violation",
    ("exact", "upper"): "violation",
}


def related(a: str, b: str) -> bool:
    return a == b or b in _FAMILY.get(a, ())


def metrics_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Can two sets of metric words name the same metric (the same word, or a family)?"""
    if not a or not b:
        return True
    return any(related(x, y) for x in a for y in b)


def metric_agrees(said: Frame, fact: Frame) -> bool:
    """The figure's nearest metric is among the fact's metrics, or the fact's nearest among the
    sentence's: "60,000 tonnes of copper" is not "60,000 tonnes of ore", though both plants
    have a capacity."""
    if not said.metric or not fact.metric:
        return True
    return any(related(said.metric, m) for m in fact.metrics) or any(
        related(fact.metric, m) for m in said.metrics
    )


@dataclass(frozen=True, slots=True)
class Clash:
    """Why a sentence's frame is not the fact's: the slot and the words on each side."""

    slot: str  # qualifier | direction | modality | negation | metric | holder
    said: str
    fact: str
    comment_only: bool = False


def merged(frames: Sequence[Frame]) -> Frame:
    """One fact's frames of the same figure (its statement's and its quote's) as one: each slot as
    the one that says something; a slot the two disagree on is left unsaid."""

    def one(values: Iterable[str]) -> str:
        said = {v for v in values if v}
        return said.pop() if len(said) == 1 else ""

    if len(frames) == 1:
        return frames[0]
    direction = one(f.direction for f in frames)
    modality = one(f.modality for f in frames)
    qualifier = next((f for f in frames if f.qualifier), EMPTY)
    negated = {bool(f.negation_text) for f in frames}
    return Frame(
        qualifier=qualifier.qualifier,
        qualifier_text=qualifier.qualifier_text,
        direction=direction,
        direction_text=next((f.direction_text for f in frames if f.direction == direction), ""),
        modality=modality,
        modality_text=next((f.modality_text for f in frames if f.modality == modality), ""),
        negation_text=next((f.negation_text for f in frames if f.negation_text), "")
        if negated == {True}
        else "",
        counted=next((f.counted for f in frames if f.counted), ""),
        moved=one(f.moved for f in frames),
        # the statement's metrics when it names one (a table row's quote reads loosely)
        metrics=next((f.metrics for f in frames if f.metrics), frozenset()),
        metric=next((f.metric for f in frames if f.metric), ""),
        metric_text=next((f.metric_text for f in frames if f.metric), ""),
        holder=next((f.holder for f in frames if f.holder), ""),
    )


def compare(said: Frame, fact: Frame, qualifiers: bool = True) -> list[Clash]:
    """Every way the sentence's frame contradicts the fact's, most serious first."""
    out: list[Clash] = []
    if bool(said.negation_text) != bool(fact.negation_text):
        out.append(Clash("negation", said.negation_text, fact.negation_text))
    if said.direction and fact.direction and said.direction != fact.direction:
        out.append(Clash("direction", said.direction_text, fact.direction_text))
    elif said.direction in ("up", "down") and said.moved and said.direction != said.moved:
        out.append(Clash("direction", said.direction_text, f"a move {said.moved} by its values"))
    if said.modality and fact.modality and said.modality != fact.modality:
        out.append(Clash("modality", said.modality_text, fact.modality_text))
    if not metric_agrees(said, fact) or (
        said.counted and fact.counted and not related(said.counted, fact.counted)
    ):
        out.append(Clash("metric", said.metric_text, fact.metric_text))
    if said.holder and fact.holder and not _same_holder(said.holder, fact.holder):
        out.append(Clash("holder", said.holder, fact.holder))
    verdict = QUALIFIER_TABLE.get((said.qualifier, fact.qualifier), "") if qualifiers else ""
    if verdict:
        out.append(
            Clash("qualifier", said.qualifier_text, fact.qualifier_text, verdict == "comment")
        )
    return out


def name_word(word: str) -> str:
    """One word of a name as names are compared: lowercase, no dots, no possessive."""
    return _unpossessive(word.lower().replace(".", ""))


def text_words(text: str) -> frozenset[str]:
    """Every word of a text as names are compared (a sentence's names must be among its cited
    facts' words), hyphenated words also by their parts."""
    out: set[str] = set()
    for token in _WORD.findall(text):
        word = name_word(token)
        out.add(word)
        if "-" in word:
            out.update(word.split("-"))
    return frozenset(out)


# --- claims without figures ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One clause of a text read as a claim in words: what it is about (its content stems), whether
    it is negated, which way it says things moved, and who does it (its subject)."""

    start: int
    end: int
    stems: frozenset[str]
    negation_text: str
    directions: frozenset[str]
    direction_text: str
    subject: tuple[str, ...]
    names: frozenset[str]  # every word of every name in the clause
    modalities: frozenset[str] = frozenset()
    modality_text: str = ""
    hypothetical: bool = False  # the clause speaks of a plan or a possibility


def statements(text: str, names: Sequence[Name]) -> list[Statement]:
    """The clauses of ``text`` (split where a frame's clause ends) as statements."""
    return _statements(text, names)


def open_statements(
    text: str,
    names: Sequence[Name],
    figures: Sequence[int],
    negated_facts: bool,
    clashable: frozenset[str] = frozenset(("direction", "modality", "holder")),
    matched: Callable[[frozenset[str]], bool] | None = None,
) -> list[Statement]:
    """The statements of ``text`` a sentence is held to: those of :func:`statements` whose clause
    holds none of the ``figures`` (where they start: their frames are compared) and says something
    that could clash (a negation, a direction, a modality or a subject), or every such clause when
    a cited fact negates (``negated_facts``). A direction, a modality or a subject counts only
    when it is in ``clashable``: the slots some clause of a cited fact fills too (without one on
    the fact's side that slot cannot clash). With ``matched``, only clauses whose content stems
    it accepts (some cited fact's clause speaks of the same thing). The rest are never built."""
    return _statements(text, names, figures, negated_facts, True, clashable, matched)


def _statements(
    text: str,
    names: Sequence[Name],
    figures: Sequence[int] = (),
    negated_facts: bool = True,
    lazy: bool = False,
    clashable: frozenset[str] = frozenset(("direction", "modality", "holder")),
    matched: Callable[[frozenset[str]], bool] | None = None,
) -> list[Statement]:
    if lazy and not _tokens(text).aligned:
        # Lowercasing moved the offsets ("İ"): read every clause, as :func:`statements` does (a
        # misread phrase then fails the same way), and keep those the lazy reading would build.
        return [
            s
            for s in _statements(text, names)
            if not any(s.start <= at < s.end for at in figures)
            and (
                s.negation_text
                or negated_facts
                or (s.directions and "direction" in clashable)
                or (s.modalities and "modality" in clashable)
                or (s.subject and "holder" in clashable)
            )
            and (matched is None or matched(s.stems))
        ]
    not_negation = [m.span() for m in _NOT_NEGATION.finditer(text)]
    negations = [
        m for m in _NEGATION.finditer(text) if not any(a <= m.start() < b for a, b in not_negation)
    ]
    directions = _DIRECTION.finditer(text)
    modals = [m for m in _MODALITY.finditer(text) if m.group(0) != "May"]
    if lazy and not (
        negations
        or negated_facts
        or (directions and "direction" in clashable)
        or (modals and "modality" in clashable)
        or (names and "holder" in clashable)
    ):
        return []  # no clause could say anything that clashes
    cuts = [0, *(m.start() for m in _STATEMENT_BREAK.finditer(text)), len(text)]
    maybe: list[int] | None = None
    out: list[Statement] = []
    for start, end in itertools.pairwise(cuts):
        if end <= start:
            continue
        if lazy and any(start <= at < end for at in figures):
            continue
        negated = [m for m in negations if start <= m.start() < end]
        if lazy and not (negated or negated_facts or clashable):
            continue  # only a negation could clash
        stems = content_words(text[start:end]) - _NEGATION_STEMS
        if matched is not None and not matched(stems):
            continue  # no cited clause speaks of the same thing
        moves = [m for m in directions if start <= m.start() < end]
        modal = [m for m in modals if start <= m.start() < end]
        holds = not lazy or "holder" in clashable or negated or negated_facts
        subject = holder_of(text, names, start, end) if holds else None
        words = subject.words if subject is not None else ()
        if lazy and not (
            negated
            or negated_facts
            or (moves and "direction" in clashable)
            or (modal and "modality" in clashable)
            or words
        ):
            continue  # nothing on either side that could clash
        if subject is None and not holds:
            subject = holder_of(text, names, start, end)
            words = subject.words if subject is not None else ()
        if maybe is None:
            maybe = [
                m.start() for m in (*_HYPOTHETICAL.finditer(text), *_CONDITIONAL.finditer(text))
            ]
        out.append(
            Statement(
                start,
                end,
                stems,
                negated[0].group(0) if negated else "",
                frozenset([_DIRECTION_OF[m.phrase()] for m in moves]),
                ", ".join(dict.fromkeys([m.group(0).lower() for m in moves])),
                words,
                frozenset([w for n in names if start <= n.start < end for w in n.words]),
                frozenset([_MODALITY_OF[m.phrase()] for m in modal]),
                ", ".join([m.group(0).lower() for m in modal]),
                any(start <= at < end for at in maybe),
            )
        )
    return out


def hypothetical(text: str) -> bool:
    """Does the sentence speak of what may, would or is expected to happen? Such a sentence is
    not held to a fact's clause word for word (only its figures' frames are)."""
    return _HYPOTHETICAL.search(text) is not None or _CONDITIONAL.search(text) is not None


def conditional(text: str) -> bool:
    """Does the sentence set out a scenario ("would", "if", "could")? Its figures are not claims
    about the fact's figure, so their qualifiers are not held to the fact's."""
    return _CONDITIONAL.search(text) is not None or _SCENARIO.search(text) is not None


MATCH_STEMS = 2  # content stems a clause of the sentence and one of its fact must share


def best_match(said: Statement, fact: Sequence[Statement]) -> Statement | None:
    """The fact's clause that speaks of the same thing as the sentence's, if any does."""
    scored = [(len(said.stems & f.stems), f) for f in fact]
    if not scored:
        return None
    shared, best = max(scored, key=lambda pair: pair[0])
    if shared < MATCH_STEMS or shared * 2 < len(said.stems):
        return None
    return best


def compare_statements(said: Statement, fact: Statement) -> list[Clash]:
    """How a clause without figures contradicts the fact's clause it matches."""
    out: list[Clash] = []
    moved = said.directions and fact.directions
    if bool(said.negation_text) != bool(fact.negation_text):
        if not (moved and not said.directions & fact.directions):  # "did not fall" for "rose"
            out.append(Clash("negation", said.negation_text, fact.negation_text))
    elif moved and not said.directions & fact.directions:
        out.append(Clash("direction", said.direction_text, fact.direction_text))
    if said.modalities and fact.modalities and not said.modalities & fact.modalities:
        out.append(Clash("modality", said.modality_text, fact.modality_text))
    if (
        said.subject
        and fact.subject
        and not set(said.subject) <= fact.names
        and not set(fact.subject) <= said.names
    ):
        out.append(Clash("holder", " ".join(said.subject), " ".join(fact.subject)))
    return out


# Every word list is defined above: build the one table now, at import, so no thread of a
# concurrent run can scan with a table half built.
_build()

"""Sources to a grounded fact ledger: the model points at evidence, deterministic checks decide.

Each source is shown to the model as numbered sentences (:mod:`thesisgen.evidence`). A proposed
fact is a statement in the model's words, the numbers of one to three evidence sentences, and a
topic. The program cuts the quote from the source at those sentences, so a quote is always
verbatim. A proposed fact is kept when every evidence number is a sentence the model was shown,
no evidence sentence addresses the model (a prompt injection), and its statement states its
evidence: it shares a content word with it and carries no figure the evidence does not back (the
gate's number rule). A statement that misstates its evidence is replaced by the evidence itself,
marked ``verbatim``, unless the evidence is longer than ``max_verbatim_chars``; everything else is
dropped with the reason, never silently kept.

``extract="rules"`` needs no model: every sentence that carries a figure or names the company
becomes a ``rules`` fact, as written. It is also the fallback for a source where the model
proposed nothing usable (``rules_fallback``).

Long sources are read in overlapping chunks of whole sentences; sentence numbers run across the
whole source, so the same fact found in two chunks is merged on its evidence. Kept facts that
state the same measure of the same thing for the same period with values that cannot both be true
(read from their figures' claim frames, :func:`find_conflicts`) are linked as conflicts for the
drafting prompt and the reviewer.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from . import claims
from .config import DEFAULTS
from .errors import AnswerShapeError, BudgetExceededError
from .evidence import Chunk, Numbered, chunk, company_pattern, rules_sentences
from .grounding import normalise, references, secondary_for
from .injection import Scan
from .models import (
    CallRecord,
    Conflict,
    DroppedFact,
    Fact,
    FactKind,
    FactSet,
    Locator,
    Quantity,
    Secondary,
    Source,
)
from .numbers import DEFAULT_IDENTIFIERS, TIME_KINDS, Mention, backs, extract, same_measure
from .progress import Event, OnEvent, Status
from .prompts import Topic, facts_messages, restate_messages, words
from .sources import WITHHELD_NOTE
from .validate import ground_statement

if TYPE_CHECKING:  # the model client is imported where a stage calls it
    from .llm import LLM, CallResult

A = TypeVar("A", bound=BaseModel)
_AFTER_MODEL_FACTS = 2**62  # rules facts follow every model fact (a stable sort keeps their order)


# Size bounds keep a small local model from generating without end (they reach its grammar with
# json_object); OpenAI's strict mode does not accept them, so llm.py strips them there. Evidence
# comes first in the answer: a model that has named its sentence writes the statement from it.
MAX_EVIDENCE = 3
MAX_PROPOSED = 30


class ProposedFact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence: list[int] = Field(max_length=MAX_EVIDENCE)
    statement: str = Field(max_length=240)
    topic: Topic


class Restated(BaseModel):
    """The answer to a restatement call: the evidence, stated again in the model's words."""

    model_config = ConfigDict(extra="forbid")
    statement: str = Field(max_length=240)


class ProposedFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: list[ProposedFact] = Field(
        max_length=MAX_PROPOSED, description="Facts found in the source, in reading order."
    )


@lru_cache(maxsize=64)
def wire_schema(citable: tuple[int, ...], min_facts: int = 1) -> type[BaseModel]:
    """The schema sent to the model: evidence is an enum of the chunk's citable sentence numbers,
    so a constrained decoder cannot point at a sentence that does not exist. Answers are parsed
    with the looser ProposedFacts, so a bad number from a server without constrained decoding
    reaches grounding, which drops the fact with the reason."""
    config = ConfigDict(extra="forbid")
    # More facts than citable sentences is a model repeating itself (small ones loop until the
    # schema's maximum).
    most = max(1, min(MAX_PROPOSED, len(citable)))
    number: Any = Literal[citable]
    fact = create_model(
        "ProposedFact",
        __config__=config,
        evidence=(list[number], Field(min_length=1, max_length=MAX_EVIDENCE)),
        statement=(str, Field(max_length=240)),
        topic=(Topic, ...),
    )
    return create_model(
        "ProposedFacts",
        __config__=config,
        facts=(
            list[fact],
            Field(
                min_length=min(min_facts, most),
                max_length=most,
                description="Facts found in the source, in reading order.",
            ),
        ),
    )


# --- grounding -----------------------------------------------------------------------------------


def source_warnings(source: Source, injection: Scan) -> list[str]:
    """What the reviewer must know about a source's text and metadata."""
    found = []
    if injection.findings:
        count = len(injection.findings)
        found.append(
            f"{source.id} contains text addressed to the model (possible prompt injection: "
            f"{count} sentence{'s' if count > 1 else ''}; {injection.why()}): facts quoting it are dropped"
        )
    if source.note == WITHHELD_NOTE:
        found.append(
            f"{source.id}'s title or metadata addressed the model (possible prompt injection): "
            f"shown as {source.title}"
        )
    return found


@dataclass
class _Candidate:
    """A fact on its way into the ledger: grounded, not yet numbered or merged."""

    source: Source
    numbers: frozenset[int]
    statement: str
    topic: str
    kind: FactKind
    quote: str
    locators: list[Locator]
    figures: frozenset[tuple[str, str | None, Decimal]]
    replaces: list[DroppedFact] = field(default_factory=list)  # statements it stands in for
    seq: int = 0  # when it was found: the ledger numbers facts in this order
    mentions: tuple[Mention, ...] | None = None  # the statement's figures, as read for ``figures``


@dataclass(frozen=True)
class Grounded:
    """The verdict on one proposed fact: kept (``candidate``), dropped (``dropped`` without
    ``evidence``), or misstated: its evidence is sound but its statement is not (``dropped`` with
    ``evidence``), so the evidence is restated or kept as written."""

    candidate: _Candidate | None = None
    dropped: DroppedFact | None = None
    evidence: _Evidence | None = None


@dataclass(frozen=True)
class _Evidence:
    part: Chunk
    numbers: tuple[int, ...]
    quote: str
    locators: tuple[Locator, ...]
    topic: str
    seq: int

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return (self.part.source.id, self.numbers)


def _figures(text: str, identifiers: Sequence[str]) -> frozenset[tuple[str, str | None, Decimal]]:
    return _figures_of(extract(text, identifiers))


def _figures_of(mentions: Sequence[Mention]) -> frozenset[tuple[str, str | None, Decimal]]:
    return frozenset((m.kind, m.unit, m.value) for m in mentions)


def statement_problem(statement: str, quote: str, identifiers: Sequence[str]) -> str | None:
    """Why a statement misstates its evidence, or None. It must say something; at least half of
    its content words must occur in the evidence (a paraphrase keeps the nouns that matter; a
    statement about something else does not); and it must carry no figure the evidence does not
    back (the gate's number rule)."""
    if not statement.strip():
        return "statement is empty"
    said = words(statement)
    stems = {_stem(w) for w in words(quote)}
    shared = [w for w in said if _stem(w) in stems]
    if len(shared) * 2 < len(said):
        return (
            f"statement is not about its evidence (only {len(shared)} of its {len(said)} "
            "content words occur there)"
        )
    return ground_statement(statement, quote, identifiers)


def _stem(word: str) -> str:
    """A crude stem: the first five letters, so "invest" and "investment" match."""
    return word[:5]


def verbatim(quote: str) -> str:
    """A statement that is its evidence: the quote with its line breaks and runs of spaces folded."""
    return " ".join(quote.split())


def ground(
    proposed: ProposedFact, part: Chunk, identifiers: Sequence[str], seq: int = 0
) -> Grounded:
    """Keep, drop, or mark as misstated one proposed fact (module docstring)."""
    numbered = part.numbered
    source = part.source
    statement = " ".join(proposed.statement.split())

    def drop(reason: str, quote: str = "") -> DroppedFact:
        return DroppedFact(statement=statement, source_id=source.id, quote=quote, reason=reason)

    numbers = tuple(sorted(set(proposed.evidence)))
    if not numbers:
        return Grounded(dropped=drop("names no evidence sentence"))
    outside = [n for n in numbers if n not in part.numbers]
    if outside:
        shown = f"{part.target} has sentences {part.first}-{part.last}"
        return Grounded(dropped=drop(f"evidence sentence {outside[0]} was not shown ({shown})"))
    quote, locators = numbered.quote(numbers)
    if any(n in numbered.tainted for n in numbers):
        return Grounded(
            dropped=drop(
                f"evidence comes from text in {source.id} that addresses the model, not the "
                "reader, or sits beside such text (possible prompt injection)",
                quote,
            )
        )
    if any(n not in part.citable for n in numbers):
        return Grounded(dropped=drop("evidence is a heading or a fragment, not a sentence", quote))
    problem = statement_problem(statement, quote, identifiers)
    if problem is not None:
        better = _repoint(statement, part, identifiers)
        if better is None:
            evidence = _Evidence(part, numbers, quote, tuple(locators), proposed.topic, seq)
            return Grounded(dropped=drop(problem, quote), evidence=evidence)
        numbers = (better,)
        quote, locators = numbered.quote(numbers)
    mentions = tuple(extract(statement, identifiers))
    candidate = _Candidate(
        source, frozenset(numbers), statement, proposed.topic, "model", quote, locators,
        _figures_of(mentions), seq=seq, mentions=mentions,
    )  # fmt: skip
    return Grounded(candidate=candidate)


def _repoint(statement: str, part: Chunk, identifiers: Sequence[str]) -> int | None:
    """The one citable sentence of the chunk that the statement does state, when it misstates the
    sentence it names. Small models often write a sentence's fact under its neighbour's number;
    the quote is still cut by the program and passes every check, so nothing is taken on trust.
    None when no sentence, or more than one equally well, states it."""
    said = words(statement)
    if not said:
        return None
    scored = []
    for n in part.citable:
        # statement_problem's tests, with the statement's words read once for the whole chunk
        text = part.numbered.text_of(n)
        stems = {_stem(w) for w in words(text)}
        shared = sum(_stem(w) in stems for w in said)
        if shared * 2 >= len(said) and ground_statement(statement, text, identifiers) is None:
            scored.append((shared, n))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


def _settle(
    evidence: _Evidence,
    misstated: list[DroppedFact],
    restated: str | None,
    identifiers: Sequence[str],
    max_verbatim_chars: int,
    stated: bool = False,
) -> tuple[_Candidate | None, list[DroppedFact]]:
    """The fact that stands for misstated statements on one evidence: the model's restatement if
    it states the evidence, else the evidence as written (if short enough, or if a kept fact
    already states this evidence: the candidate then merges into that fact), else none."""
    source = evidence.part.source
    quote = evidence.quote
    kind: FactKind = "model"
    note = ""
    if restated is not None:
        problem = statement_problem(restated, quote, identifiers)
        if problem is None:
            statement = restated
        else:
            note = f"; restated, still misstated ({problem})"
    if restated is None or note:
        if len(quote) > max_verbatim_chars and not stated:
            over = (
                f"; its evidence ({len(quote):,} characters) is over max_verbatim_chars "
                f"({max_verbatim_chars:,}) to keep as written"
            )
            return None, [
                d.model_copy(update={"reason": d.reason + note + over}) for d in misstated
            ]
        kind, statement = "verbatim", verbatim(quote)
    mentions = tuple(extract(statement, identifiers))
    candidate = _Candidate(
        source, frozenset(evidence.numbers), statement, evidence.topic, kind, quote,
        list(evidence.locators), _figures_of(mentions),
        [d.model_copy(update={"reason": d.reason + note}) for d in misstated], evidence.seq,
        mentions,
    )  # fmt: skip
    return candidate, []


def quantities(text: str, identifiers: Sequence[str]) -> list[Quantity]:
    return _quantities(extract(text, identifiers))


def _quantities(mentions: Sequence[Mention]) -> list[Quantity]:
    out: list[Quantity] = []
    for m in mentions:
        unit = m.unit or m.kind
        if m.kind == "period":
            unit = f"period:{m.unit}"
        out.append(Quantity(text=m.text, value=m.value, unit=unit))
    return out


# --- conflicts -----------------------------------------------------------------------------------

# How far an approximate figure reaches either side of its value: 5%, the rounding an equity
# reviewer allows "about" (tests/data/claim_cases.yaml). "about 80%" covers 76% to 84%, so it and
# "roughly 90%" conflict, and "about $400 million" and "$412 million" do not.
APPROX_SPREAD = Decimal("0.05")

# Stems that say how big, when, where or how sure, not what is measured. With the figures and the
# names, they are left out of the words two facts must share when neither figure has a metric word.
_NOT_MEASURED = claims.content_words(
    "thousand million billion trillion fiscal quarter half year end ended global worldwide world "
    "total overall roughly nearly approximately around almost least estimate estimated estimates "
    "one summary"
)
_BOUNDS = ("lower", "upper")
# Where facts meet: their periods, a figure's kind and unit, and a name word ("" for none).
_Key = tuple[frozenset[tuple[str, str, Decimal]], str, str, str]


class _Figure(NamedTuple):
    """A figure of a fact with its claim frame; a range ("80-90%", "between $1bn and $2bn") is one
    figure from ``mention`` (its low end) to ``top``. ``owned``: the frame's holder is a possessive
    followed by words that are not the figure's metric ("Kestrel's two largest competitors hold
    about 35% of that market"), so the figure is of something the holder has, not its own ("China's
    share of refining at 90%", "China's roughly 80% share" are China's own)."""

    mention: Mention
    frame: claims.Frame
    top: Decimal | None = None
    owned: bool = False
    holder: str = ""  # the frame's holder, unless it is an opening word read as a cue


def _merged(a: claims.Frame, b: claims.Frame) -> claims.Frame:
    """The frame of a range: its two ends' frames, the first's fields first."""
    return replace(a, **{f.name: getattr(a, f.name) or getattr(b, f.name) for f in fields(a)})


@dataclass
class _Read:
    """One fact as :func:`find_conflicts` reads it: its figures, periods and names, read once;
    the claim frames (the costly part) and the topic stems only when another fact could match."""

    fact: Fact
    mentions: list[Mention]
    periods: frozenset[tuple[str, str, Decimal]]
    names: list[claims.Name]
    # The capitalised word the statement opens with, as names_in marks it: a name ("China
    # accounts for ..."), unless the frames read it as a cue ("Production was ...", "Roughly").
    opener: str
    _figures: list[_Figure] | None = None
    _who: list[str] | None = None
    _stems: frozenset[str] | None = None

    @classmethod
    def of(cls, fact: Fact, identifiers: Sequence[str]) -> _Read:
        text = fact.statement
        mentions = extract(text, identifiers)
        periods = frozenset((m.kind, m.unit, m.value) for m in mentions if m.kind in TIME_KINDS)
        if len(periods) == len(mentions):  # no figure: never in a conflict
            return cls(fact, mentions, periods, [], "")
        names = claims.names_in(text)
        opener = next((" ".join(n.words) for n in names if n.opener), "")
        return cls(fact, mentions, periods, names, opener)

    @property
    def measures(self) -> set[tuple[str, str]]:
        return {(m.kind, m.unit) for m in self.mentions if m.kind not in TIME_KINDS}

    @property
    def entities(self) -> list[str]:
        """The names in the statement but an opening word, each as its words."""
        return [" ".join(n.words) for n in self.names if not n.opener]

    def name_keys(self) -> set[str]:
        """Name words to meet other facts on ("" for a statement that may name nobody): two facts
        about the same entity share one."""
        words = {w for n in self.names for w in n.words}
        return {*words, ""} if not self.entities else words

    def figures(self) -> list[_Figure]:
        if self._figures is None:
            frames = claims.frames(self.fact.statement, self.mentions, self.names)
            out: list[_Figure] = []
            for m, f in zip(self.mentions, frames, strict=True):
                if m.kind in TIME_KINDS:
                    continue
                last = out[-1] if out else None
                if (
                    last is not None
                    and last.top is None
                    and (m.start, m.end, m.kind)
                    == (
                        last.mention.start,
                        last.mention.end,
                        last.mention.kind,
                    )
                ):  # the other end of a range
                    out[-1] = _Figure(last.mention, _merged(last.frame, f), m.value)
                    continue
                out.append(_Figure(m, f))
            cue = self.opener and self.opener in {
                w
                for fig in out
                for text in (
                    fig.frame.metric_text,
                    fig.frame.direction_text,
                    fig.frame.modality_text,
                    fig.frame.qualifier_text,
                )
                for w in claims.text_words(text)
            }
            self._figures = [
                fig._replace(
                    owned=self._owned(fig),
                    holder="" if cue and fig.frame.holder == self.opener else fig.frame.holder,
                )
                for fig in out
            ]
            self._who = self.entities if cue or not self.opener else [*self.entities, self.opener]
        return self._figures

    def _owned(self, figure: _Figure) -> bool:
        frame, start = figure.frame, figure.mention.start
        if not frame.holder or not frame.metrics:
            return False
        possessive = [
            n
            for n in self.names
            if n.possessive and n.end <= start and " ".join(n.words) == frame.holder
        ]
        if not possessive:
            return False
        between = claims.content_words(self.fact.statement[possessive[-1].end : start])
        cues = (frame.qualifier_text, frame.direction_text, frame.modality_text)
        between -= claims.content_words(" ".join(cues))
        return bool(between) and not between & claims.content_words(frame.metric_text)

    def who(self) -> list[str]:
        """The names, with the opening word unless the figures' frames read it as a cue."""
        if self._who is None:
            self.figures()
        assert self._who is not None
        return self._who

    def stems(self) -> frozenset[str]:
        """What the statement is about, for figures with no metric word: its content stems
        without the figures, the names and the words of scale, time and hedging."""
        if self._stems is None:
            text = list(self.fact.statement)
            for m in self.mentions:
                text[m.start : m.end] = " " * (m.end - m.start)
            named = {w[:5] for n in self.who() for w in n.split()}
            self._stems = claims.content_words("".join(text)) - named - _NOT_MEASURED
        return self._stems


@lru_cache(maxsize=1 << 16)
def _same_name(a: str, b: str) -> bool:
    """claims' holder rule: the words of one name (corporate suffixes aside) are all in the other's
    ("POSCO" and "POSCO International"; not "MP Materials" and "Albemarle Materials")."""
    return not claims.compare(claims.Frame(holder=a), claims.Frame(holder=b))


@lru_cache(maxsize=4096)
def _metric_keys_agree(a: str, b: str) -> bool:
    if not a or not b:
        return a == b
    return claims.metrics_agree(frozenset((a,)), frozenset((b,)))


def _same_entity(a: _Read, x: _Figure, b: _Read, y: _Figure) -> bool:
    ha, hb = x.holder, y.holder
    if ha and hb:
        return x.owned == y.owned and _same_name(ha, hb)
    if ha or hb:
        holder, owned, mine, other = (ha, x.owned, a, b) if ha else (hb, y.owned, b, a)
        if any(_same_name(holder, n) for n in other.who()):
            return not owned
        if owned or holder != mine.opener:
            return False
        # the holder is only an opening word: judged as the names are, below
    who_a, who_b = a.who(), b.who()
    if any(_same_name(n, m) for n in who_a for m in who_b) or not (who_a or who_b):
        return True
    # A capitalised opening word the other statement also uses, lowercase and naming nobody:
    # "Neodymium demand ..." and "Demand for neodymium ..." (not "Americas net sales ..." and
    # "Total net sales ...").
    opener_only, other = (a, b) if not who_b else (b, a)
    return (
        not other.who()
        and opener_only.who() == [opener_only.opener]
        and opener_only.opener in claims.text_words(other.fact.statement)
    )


def _same_metric(a: _Read, fa: claims.Frame, b: _Read, fb: claims.Frame) -> bool:
    if fa.metrics and fb.metrics:
        return claims.metrics_agree(fa.metrics, fb.metrics)
    if fa.metrics or fb.metrics:
        return False
    shared, smaller = a.stems() & b.stems(), min(len(a.stems()), len(b.stems()))
    return smaller > 0 and len(shared) >= min(2, smaller) and 2 * len(shared) >= smaller


def _reach(figure: _Figure) -> tuple[Decimal | None, Decimal | None]:
    """The values a figure allows, given its qualifier (None: no limit that side)."""
    m, qualifier = figure.mention, figure.frame.qualifier
    low, high = m.value, m.value if figure.top is None else figure.top
    half = m.step / 2
    if qualifier == "approx":
        return low - max(half, APPROX_SPREAD * abs(low)), high + max(
            half, APPROX_SPREAD * abs(high)
        )
    if qualifier == "below":  # "nearly $900 million": a little under
        return low - max(half, APPROX_SPREAD * abs(low)), high + half
    if qualifier == "lower":  # "more than 300%", "at least 300%"
        return low - half, None
    if qualifier == "upper":  # "up to 300%", "less than 300%"
        return None, high + half
    return low - half, high + half


def _compatible(a: _Figure, b: _Figure) -> bool:
    """Could one value make both figures true?"""
    if backs(a.mention, b.mention) or backs(b.mention, a.mention):
        return True
    (lo_a, hi_a), (lo_b, hi_b) = _reach(a), _reach(b)
    lows = [x for x in (lo_a, lo_b) if x is not None]
    highs = [x for x in (hi_a, hi_b) if x is not None]
    return not lows or not highs or max(lows) <= min(highs)


def _comparable(a: _Read, x: _Figure, b: _Read, y: _Figure) -> bool:
    """Do two figures state the same measure of the same thing, as claims of the same sort?"""
    mx, fx, my, fy = x.mention, x.frame, y.mention, y.frame
    if not same_measure(mx, my) or fx.negation_text or fy.negation_text:
        return False
    if fx.modality and fy.modality and fx.modality != fy.modality:
        return False  # a forecast and a result are two claims
    return _same_metric(a, fx, b, fy) and _same_entity(a, x, b, y)


def _agree(x: _Figure, y: _Figure) -> bool:
    return _compatible(x, y) and {x.frame.direction, y.frame.direction} != {"up", "down"}


def _clash(a: _Read, b: _Read) -> Conflict | None:
    """The first pair of figures (in reading order) on which ``a`` and ``b`` conflict: comparable,
    in disagreement, and neither stated by the other fact as well.

    A figure the other fact also states (same kind and unit, agreeing, no opposite direction) is
    in no conflict: the difference is over which figure is which. claims gives a metric word to
    the nearest figure only ("Gross margin was $109.6 billion for Products ... and $180.7 billion
    in total"), and one fact may give this year's and last year's revenue, the other one of them.
    """
    if a.periods != b.periods:
        return None
    figs_a, figs_b = a.figures(), b.figures()
    agree = {
        (i, j): _agree(x, y)
        for i, x in enumerate(figs_a)
        for j, y in enumerate(figs_b)
        if same_measure(x.mention, y.mention)
    }
    stated_a = {i for (i, _), ok in agree.items() if ok}
    stated_b = {j for (_, j), ok in agree.items() if ok}
    for (i, j), ok in agree.items():
        if ok or i in stated_a or j in stated_b:
            continue
        x, y = figs_a[i], figs_b[j]
        if not _comparable(a, x, b, y):
            continue
        opposite = {x.frame.direction, y.frame.direction} == {"up", "down"}
        ids = [a.fact.id, b.fact.id]
        note = _note(ids, (x.mention, x.frame), (y.mention, y.frame), opposite, _compatible(x, y))
        return Conflict(facts=ids, figures=[x.mention.text, y.mention.text], note=note)
    return None


def _note(
    ids: list[str],
    a: tuple[Mention, claims.Frame],
    b: tuple[Mention, claims.Frame],
    opposite: bool,
    compatible: bool,
) -> str:
    (ma, fa), (mb, fb) = a, b
    if opposite:
        said = (
            f"{ids[0]} says {fa.direction_text} {ma.text}, {ids[1]} says {fb.direction_text} "
            f"{mb.text}"
        )
        if compatible:
            return f"{said}: the same change in opposite directions; check which the sources mean before citing either"
        return f"{said}: opposite directions and different figures; check the sources before citing either"
    if fa.qualifier in _BOUNDS or fb.qualifier in _BOUNDS:
        ta = f"{fa.qualifier_text} {ma.text}" if fa.qualifier in _BOUNDS else ma.text
        tb = f"{fb.qualifier_text} {mb.text}" if fb.qualifier in _BOUNDS else mb.text
        return f"{ids[0]} says {ta}, {ids[1]} says {tb}: the figure falls outside the bound; cite both or say which is right"
    return f"{ids[0]} says {ma.text}, {ids[1]} says {mb.text}: cite both or give the range"


class _Members:
    """The facts (ascending) that meet on a key and metric, with the ones dropped (in their
    max_per_fact conflicts) skipped in near-constant time: each position points at the next
    that may be kept, and the pointers are shortened as they are followed."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self._next: list[int] = []

    def add(self, i: int) -> None:
        self._next.append(len(self.items))
        self.items.append(i)

    def drop(self, at: int) -> None:
        self._next[at] = at + 1

    def _kept(self, at: int) -> int:
        """The first position from ``at`` that is not dropped (len(items) if none)."""
        nxt, end = self._next, len(self.items)
        top = at
        while top < end and nxt[top] != top:
            top = nxt[top]
        while at < end and nxt[at] != at:  # shorten the path just followed
            nxt[at], at = top, nxt[at]
        return top

    def after(self, i: int) -> Iterator[int]:
        """The members after fact ``i`` that are not dropped, in order."""
        at = self._kept(bisect_right(self.items, i))
        while at < len(self.items):
            yield self.items[at]
            at = self._kept(at + 1)


def _opener_only(read: _Read) -> bool:
    """The fact's only name is its opening word (the opener rule of :func:`_same_entity`)."""
    return bool(read.opener) and read.who() == [read.opener]


def find_conflicts(
    facts: Sequence[Fact], identifiers: Sequence[str], max_per_fact: int = 3
) -> list[Conflict]:
    """Pairs of facts that state the same measure of the same thing with values that cannot both
    be true, read from their figures' claim frames (claims.py), not from shared wording.

    Two facts conflict on a figure of each when the figures are comparable:

    - the same metric: their frames' metrics agree (``claims.metrics_agree``, families included:
      "sales" is "revenue", a "share of refining" is of "processing capacity"). When neither
      figure has a metric word, the statements share at least half the content stems of the
      shorter one (two at least), leaving out the figures, the names and words of scale, time and
      hedging ("global", "roughly"). A figure with a metric word and one without are not compared;
    - the same entity: when both figures have a holder ("China's share", "POSCO signed"), the
      holders are one name (claims' rule: one's words, corporate suffixes aside, among the
      other's), and neither is a possessive that only owns what holds the figure ("Kestrel's two
      largest competitors hold 35%": words other than the metric and the frame's cues stand
      between the possessive and the figure). When one has a holder, the other statement names
      it. Otherwise the statements name someone in common, or neither names anyone. The word a
      statement opens with (names_in's ``opener``) is a name ("China accounts for ...") unless
      the frames read it as a cue ("Production was ...", "Roughly 90% ..."); when only one
      statement has it, as its only name or holder, and the other uses it lowercase and names
      nobody, it is the same thing ("Neodymium demand ...", "Demand for neodymium ...");
    - the same period: the same years, dates and periods in both statements;
    - the same kind and unit (``numbers.same_measure``), neither negated, and not a forecast
      against a result (both state a modality, and they differ);

    and they disagree: their values cannot both be true, or they move in opposite directions
    (one rose 8%, the other fell 8%: a conflict whose note says so). Values cannot both be true
    when neither backs the other (``numbers.backs``, precision aware: "$0.9 billion" and "$900
    million" agree) and no value lies within both figures' reach:

    - a plain or exact figure reaches half its displayed step either side; a range ("80-90%",
      "between $1bn and $2bn") from its low end to its high end;
    - an approximation ("about", "roughly") also 5% of its value either side, "nearly" that much
      below only;
    - a lower bound ("more than", "at least") everything from its value up, an upper bound ("up
      to", "less than") everything up to its value; read inclusively, since sources write "more
      than 300%" for the figure itself.

    So "about 80%" and "roughly 90%" conflict; "more than 300%" and "300%" or "350%" do not;
    "at least 300%" and "250%" do; "about $400 million" and "$412 million" do not.

    A figure the other fact also states (same kind and unit, agreeing, same direction) is in no
    conflict with it: the difference is over which figure is which (claims gives a metric word to
    the nearest figure only; one fact gives this year's and last year's revenue, the other one of
    them). The first conflicting pair of figures, in reading order, makes the conflict.

    Each fact takes part in at most ``max_per_fact`` conflicts (the first found, pairs in ledger
    order): a pile of near-identical sources would otherwise link every fact to every other.

    Not every pair is compared: facts meet on keys (their periods, a figure's kind and unit, and a
    word of a name the statement is about, "" for a statement about no one, or the opening word
    of a statement whose only name it is, which a statement about no one may use), then on a
    metric of such a figure (or none), and only pairs that meet are compared, in ledger order;
    a fact already in ``max_per_fact`` conflicts is no longer visited. These are exactly the
    pairs the entity rule above can find comparable, so the result is that of comparing every
    pair (tests/test_scale_equivalence.py), in time that grows with the ledger and its
    conflicts, not with its pairs. Each fact's figures, periods and names are read once; its
    claim frames only when it shares a name word with another fact.
    """
    if max_per_fact <= 0:
        return []
    return _find_conflicts(facts, identifiers, max_per_fact)


def _find_conflicts(
    facts: Sequence[Fact], identifiers: Sequence[str], max_per_fact: int
) -> list[Conflict]:
    reads = [_Read.of(f, identifiers) for f in facts]
    # Facts first meet on the words of every name (read without claim frames); only those that
    # meet another are read in full and grouped as below.
    first: dict[_Key, list[int]] = {}
    keys_of: list[set[_Key]] = []
    for i, read in enumerate(reads):
        keys = {
            (read.periods, kind, unit, w) for kind, unit in read.measures for w in read.name_keys()
        }
        for key in keys:
            first.setdefault(key, []).append(i)
        keys_of.append(keys)
    # A fact that shares a key is read in full and meets others on what _same_entity can pair:
    # the words of the names it is about (who(); an opening word the frames read as a cue, as in
    # "Capital expenditures at ...", names nobody), "" when it names nobody, and, between a fact
    # whose only name is its opening word and one that names nobody but uses that word, "~" and
    # the word. Two facts that each name only their (different) opening words no longer meet on
    # "", which put every such fact of a ledger in one ever-growing group.
    shared = [i for i, keys in enumerate(keys_of) if any(len(first[key]) > 1 for key in keys)]
    openers = {reads[i].opener for i in shared if _opener_only(reads[i])}
    groups: dict[_Key, list[int]] = {}
    for i in shared:
        read = reads[i]
        who = read.who()
        if not who:
            words = {"", *("~" + w for w in claims.text_words(read.fact.statement) if w in openers)}
        else:
            words = {w for name in who for w in name.split()}
            if _opener_only(read):
                words.add("~" + read.opener)
        keys_of[i] = {(read.periods, kind, unit, w) for kind, unit in read.measures for w in words}
        for key in keys_of[i]:
            groups.setdefault(key, []).append(i)
    # Within a key, facts meet on a metric of a figure of its kind and unit ("": none).
    buckets: dict[_Key, dict[str, _Members]] = {}
    own: dict[tuple[_Key, int], list[str]] = {}
    for key, group in groups.items():
        if len(group) < 2:
            continue
        by_metric = buckets.setdefault(key, {})
        for i in group:
            metrics = {
                metric
                for fig in reads[i].figures()
                if (fig.mention.kind, fig.mention.unit) == key[1:3]
                for metric in (fig.frame.metrics or ("",))
            }
            own[key, i] = sorted(metrics)
            for metric in metrics:
                if metric not in by_metric:
                    by_metric[metric] = _Members()
                by_metric[metric].add(i)
    places: dict[int, list[tuple[_Members, int]]] = {}  # where each fact is a member
    for by_metric in buckets.values():
        for bucket in by_metric.values():
            for at, i in enumerate(bucket.items):
                places.setdefault(i, []).append((bucket, at))
    conflicts: list[Conflict] = []
    linked = [0] * len(reads)

    def link(i: int) -> None:
        linked[i] += 1
        if linked[i] >= max_per_fact:  # done: never a partner again
            for bucket, at in places.get(i, ()):
                bucket.drop(at)

    for i, read in enumerate(reads):
        if linked[i] >= max_per_fact:
            continue
        later: list[Iterator[int]] = []
        for key in keys_of[i]:
            if key not in buckets:
                continue
            for metric, bucket in buckets[key].items():
                if any(_metric_keys_agree(mine, metric) for mine in own[key, i]):
                    later.append(bucket.after(i))
        # Partners in ledger order, each once, read lazily and without the facts already in
        # max_per_fact conflicts: a fact is usually done after a few, and its groups grow with
        # the ledger.
        previous = -1
        for j in heapq.merge(*later):
            if linked[i] >= max_per_fact:
                break
            if j == previous or linked[j] >= max_per_fact:
                continue
            previous = j
            conflict = _clash(read, reads[j])
            if conflict is not None:
                conflicts.append(conflict)
                link(i)
                link(j)
    return conflicts


# --- the stage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactsResult:
    factset: FactSet
    calls: list[CallRecord]


@dataclass(frozen=True)
class ExtractOptions:
    """How facts are drawn from sources (the settings of the same names)."""

    extract: Literal["model", "rules"] = DEFAULTS.extract
    rules_fallback: bool = DEFAULTS.rules_fallback
    chunk_chars: int = DEFAULTS.chunk_chars
    chunk_overlap: int = DEFAULTS.chunk_overlap
    max_verbatim_chars: int = DEFAULTS.max_verbatim_chars
    max_rules_facts: int = DEFAULTS.max_rules_facts
    max_restatements: int = DEFAULTS.max_restatements
    max_conflicts_per_fact: int = DEFAULTS.max_conflicts_per_fact
    concurrency: int = DEFAULTS.concurrency


def company_names(company: str, ticker: str) -> list[str]:
    """How sources name the company: its name, the name without a corporate suffix, the ticker."""
    names = [company]
    short = company
    while (shorter := _SUFFIX.sub("", short).strip(" ,")) not in (short, ""):
        short = shorter  # "POSCO Holdings Inc." -> "POSCO Holdings" -> "POSCO"
        names.append(short)
    return [*names, ticker]


_SUFFIX = re.compile(
    r"[ ,]+(?:corporation|corp\.?|incorporated|inc\.?|limited|ltd\.?|holdings?|group|company|"
    r"co\.?|plc|ag|se|sa|s\.a\.|n\.v\.|nv|llc|lp)$",
    re.IGNORECASE,
)


def extract_facts(
    llm: LLM,
    company: str,
    ticker: str,
    sources: Sequence[Source],
    identifiers: Sequence[str] = (),
    options: ExtractOptions | None = None,
    on_event: OnEvent | None = None,
    numbered: Sequence[Numbered] | None = None,
    aliases: Sequence[str] = (),
) -> FactsResult:
    """Number each source's sentences (or take ``numbered``, the sources already numbered); ask
    the model for facts chunk by chunk (or take every sentence with a figure or the company's
    name, with ``extract="rules"``); ground, merge and number the facts in the order they were
    found."""
    options = options or ExtractOptions()
    idents = (*DEFAULT_IDENTIFIERS, ticker, *identifiers)
    numbered = list(numbered) if numbered is not None else [Numbered.of(s) for s in sources]
    # Aliases reach the ledger (for the gate) but not the prompts: the sentences the facts stage
    # counts as naming the company are the company's own name and ticker, as when recorded.
    names = company_pattern(company_names(company, ticker))
    warnings = [w for n in numbered for w in source_warnings(n.source, n.injection)]
    calls: list[CallRecord] = []
    candidates: list[_Candidate] = []
    dropped: list[DroppedFact] = []
    if options.extract == "model":
        chunks = [c for n in numbered for c in chunk(n, options.chunk_chars, options.chunk_overlap)]
        results = _propose(llm, company, ticker, chunks, options, names, idents, on_event)
        misstated: dict[tuple[str, tuple[int, ...]], tuple[_Evidence, list[DroppedFact]]] = {}
        seq = 0
        for part, result in zip(chunks, results, strict=True):
            if result is None:  # nothing citable: no call was made
                continue
            calls.append(_call_record(result.target, 1, result.result))
            for proposed in result.result.parsed.facts:
                seq += 1
                verdict = ground(proposed, part, idents, seq)
                if verdict.candidate is not None:
                    candidates.append(verdict.candidate)
                elif verdict.evidence is not None and verdict.dropped is not None:
                    misstated.setdefault(verdict.evidence.key, (verdict.evidence, []))[1].append(
                        verdict.dropped
                    )
                elif verdict.dropped is not None:
                    dropped.append(verdict.dropped)
        settled, restate_calls, more = _restate(
            llm, company, ticker, misstated, candidates, idents, options
        )
        calls += restate_calls
        for candidate, lost in settled:
            if candidate is not None:
                candidates.append(candidate)
            dropped += lost
        if more:
            warnings.append(
                f"{more} misstated fact(s) were kept as written without asking the model to "
                f"restate them: the run reached max_restatements ({options.max_restatements})"
            )
    with_facts = {c.source.id for c in candidates}
    for source in numbered:
        from_model = source.source.id in with_facts
        if options.extract == "model" and (from_model or not options.rules_fallback):
            continue
        rules, more = _rules(source, names, idents, options)
        candidates += rules
        if options.extract == "model" and rules:
            warnings.append(
                f"{source.source.id}: the model proposed no usable fact, so every sentence with "
                f"a figure or the company's name is kept as written ({len(rules)} rules facts)"
            )
        if more:
            warnings.append(
                f"{source.source.id}: {len(rules) + more} sentences qualify as rules facts; kept "
                f"the first {len(rules)} (raise max_rules_facts to keep more)"
            )
    kept, merged_away = _merge(sorted(candidates, key=lambda c: c.seq))
    ids = {id(c): f"F{number}" for number, c in enumerate(kept, 1)}
    for candidate, into in [*merged_away, *((c, c) for c in kept)]:
        dropped += [d.model_copy(update={"kept_as": ids[id(into)]}) for d in candidate.replaces]
    # Overlapping chunks and a model that repeats itself propose the same thing more than once.
    dropped = list({(d.source_id, d.statement, d.reason, d.kept_as): d for d in dropped}.values())
    refs = {n.source.id: references(n.source.text) for n in numbered}
    facts = [
        Fact(
            id=ids[id(c)],
            statement=c.statement,
            source_id=c.source.id,
            quote=c.quote,
            quantities=_quantities(
                c.mentions if c.mentions is not None else extract(c.statement, idents)
            ),
            topic=c.topic,
            locators=c.locators,
            secondary=_secondary(c, refs[c.source.id]),
            kind=c.kind,
        )
        for c in kept
    ]
    factset = FactSet(
        ticker=ticker,
        company=company,
        aliases=list(aliases),
        sources=[s.info() for s in sources],
        facts=facts,
        dropped=dropped,
        conflicts=find_conflicts(facts, idents, options.max_conflicts_per_fact),
        warnings=warnings,
    )
    return FactsResult(factset, calls)


@dataclass(frozen=True)
class _Answer(Generic[A]):
    target: str
    result: CallResult[A]


def _restate(
    llm: LLM,
    company: str,
    ticker: str,
    misstated: dict[tuple[str, tuple[int, ...]], tuple[_Evidence, list[DroppedFact]]],
    kept: Sequence[_Candidate],
    identifiers: Sequence[str],
    options: ExtractOptions,
) -> tuple[list[tuple[_Candidate | None, list[DroppedFact]]], list[CallRecord], int]:
    """Settle the misstated facts: for each distinct evidence not already stated by a kept fact,
    one call shows the model only the evidence sentences and asks for a statement (at most
    ``max_restatements`` calls a run); a restatement that still misstates, or none, leaves the
    evidence as written."""
    from .llm import map_concurrently
    from .recording import CallLabel

    stated = {(c.source.id, tuple(sorted(c.numbers))) for c in kept if c.kind == "model"}
    asks = [key for key in misstated if key not in stated][: options.max_restatements]
    more = sum(1 for key in misstated if key not in stated) - len(asks)

    def work(key: tuple[str, tuple[int, ...]]) -> _Answer[Restated] | None:
        evidence = misstated[key][0]
        span = "+".join(map(str, evidence.numbers))
        target = f"{evidence.part.source.id}.s{span}"
        messages = restate_messages(company, ticker, evidence.part.source, evidence.quote)
        try:
            result = llm.call(messages, Restated, CallLabel(ticker, "facts", target, 2))
        except (AnswerShapeError, BudgetExceededError):
            # The evidence is kept as written instead; a spent budget stops only restatements
            # (the run's other calls are done by now).
            return None
        return _Answer(target, result)

    answers = dict(zip(asks, map_concurrently(work, asks, options.concurrency), strict=True))
    settled = []
    calls = []
    for key, (evidence, statements) in misstated.items():
        answer = answers.get(key)
        restated = None
        if answer is not None:
            calls.append(_call_record(answer.target, 2, answer.result))
            restated = " ".join(answer.result.parsed.statement.split())
        settled.append(
            _settle(
                evidence,
                statements,
                restated,
                identifiers,
                options.max_verbatim_chars,
                stated=key in stated,
            )
        )
    return settled, calls, more


def _propose(
    llm: LLM,
    company: str,
    ticker: str,
    chunks: Sequence[Chunk],
    options: ExtractOptions,
    names: re.Pattern[str] | None,
    identifiers: Sequence[str],
    on_event: OnEvent | None,
) -> list[_Answer[ProposedFacts] | None]:
    """One model call per chunk, concurrently (none for a chunk with nothing citable).

    The schema asks for at least as many facts as the chunk has sentences that the rules
    extractor would keep (up to MAX_PROPOSED): small models otherwise stop after one or two."""
    from .llm import map_concurrently
    from .recording import CallLabel

    def work(part: Chunk) -> _Answer[ProposedFacts] | None:
        if on_event is not None:
            on_event(
                Event(part.source.id, Status.EXTRACTING)
                if part.count == 1
                else Event(part.source.id, Status.CHUNK, part.index, part.count)
            )
        result = None
        if part.citable:
            label = CallLabel(ticker, "facts", part.target, 1)
            messages = facts_messages(
                company, ticker, part.source, part.text(), part.index, part.count
            )
            wanted = len(
                rules_sentences(
                    part.numbered, names, identifiers, options.max_verbatim_chars, part.numbers
                )
            )
            schema = wire_schema(part.citable, max(1, wanted))
            result = _Answer(part.target, llm.call(messages, ProposedFacts, label, schema))
        if on_event is not None and part.index == part.count:
            proposed = len(result.result.parsed.facts) if result is not None else 0
            on_event(Event(part.source.id, Status.PROPOSED, proposed))
        return result

    return map_concurrently(work, chunks, options.concurrency)


def _call_record(target: str, attempt: int, result: CallResult[Any]) -> CallRecord:
    return CallRecord(
        stage="facts",
        target=target,
        attempt=attempt,
        request_key=result.request_key,
        usage=result.usage,
        outcome="ok",
        cached=result.cached,
        wire_format=result.wire_format,
        reasks=result.reasks,
    )


def _rules(
    numbered: Numbered,
    names: re.Pattern[str] | None,
    identifiers: Sequence[str],
    options: ExtractOptions,
) -> tuple[list[_Candidate], int]:
    """The rules facts of one source (at most max_rules_facts) and how many more qualified."""
    chosen = rules_sentences(numbered, names, identifiers, options.max_verbatim_chars)
    out = []
    for number, topic in chosen[: options.max_rules_facts]:
        quote, locators = numbered.quote([number])
        statement = verbatim(quote)
        mentions = tuple(extract(statement, identifiers))
        out.append(
            _Candidate(
                numbered.source, frozenset([number]), statement, topic, "rules", quote, locators,
                _figures_of(mentions), seq=_AFTER_MODEL_FACTS, mentions=mentions,
            )
        )  # fmt: skip
    return out, max(0, len(chosen) - options.max_rules_facts)


def _merge(
    candidates: Sequence[_Candidate],
) -> tuple[list[_Candidate], list[tuple[_Candidate, _Candidate]]]:
    """The ledger's facts, each once, and the candidates merged into another (with that one).

    Two candidates are one fact when they come from the same source and name the same evidence
    sentences, or one's evidence holds the other's and they state the same figures (overlapping
    chunks, or the model repeating itself); the first found is kept. A model-written statement
    takes the place of a verbatim one on the same evidence, and a verbatim fallback is not added
    where a fact on the same evidence is already kept.

    Kept facts are indexed by (source, evidence) and by (source, figures, evidence sentence), so
    a candidate is compared only with facts it could repeat (nested evidence shares a sentence),
    and each statement is normalised once: linear in the candidates, where comparing each with
    every kept fact was quadratic (30 s for 2,500 proposals from one source).
    """
    kept: list[_Candidate] = []
    merged: list[tuple[_Candidate, int]] = []  # (candidate, position in kept of the fact it is)
    by_evidence: dict[tuple[str, frozenset[int]], list[int]] = {}
    by_figures: dict[tuple[str, frozenset[tuple[str, str | None, Decimal]], int], list[int]] = {}
    keys: dict[int, str] = {}

    def key(candidate: _Candidate) -> str:
        found = keys.get(id(candidate))
        if found is None:
            found = keys[id(candidate)] = _key(candidate)
        return found

    def index(at: int, candidate: _Candidate, add: bool) -> None:
        if not candidate.figures:
            return
        for n in candidate.numbers:
            slot = by_figures.setdefault((candidate.source.id, candidate.figures, n), [])
            if add:
                slot.append(at)
                slot.sort()
            else:
                slot.remove(at)

    for new in candidates:
        source = new.source.id
        near = set(by_evidence.get((source, new.numbers), ()))
        if new.figures:
            for n in new.numbers:
                near.update(by_figures.get((source, new.figures, n), ()))
        at = next((i for i in sorted(near) if _same_fact(kept[i], new, key)), None)
        if at is None:
            by_evidence.setdefault((source, new.numbers), []).append(len(kept))
            index(len(kept), new, add=True)
            kept.append(new)
            continue
        same = kept[at]
        if same.kind != "model" and new.kind == "model" and same.numbers == new.numbers:
            index(at, same, add=False)
            index(at, new, add=True)
            kept[at] = new
            merged.append((same, at))
        else:
            merged.append((new, at))
    # A fact replaced later carries the candidates merged into it over to its replacement.
    return kept, [(candidate, kept[at]) for candidate, at in merged]


def _same_fact(
    old: _Candidate, new: _Candidate, key: Callable[[_Candidate], str] | None = None
) -> bool:
    """One fact twice: same source, and the same statement on the same evidence, or the same
    (non-empty) figures on evidence one of which holds the other. A verbatim or rules fact is its
    evidence, so any fact on the same evidence repeats it; two model statements without figures
    on one sentence may be two facts ("X is a subsidiary of Y", "X brings Z"). ``key`` is the
    normalised statement (:func:`_key`, memoised by the caller)."""
    key = key or _key
    if old.source.id != new.source.id:
        return False
    if old.numbers == new.numbers and (
        old.kind != "model" or new.kind != "model" or key(old) == key(new)
    ):
        return True
    nested = old.numbers <= new.numbers or new.numbers <= old.numbers
    return nested and bool(old.figures) and old.figures == new.figures


def _key(candidate: _Candidate) -> str:
    return normalise(candidate.statement).casefold()


def _secondary(candidate: _Candidate, refs: dict[str, str]) -> list[Secondary]:
    seen: dict[str, Secondary] = {}
    for loc in candidate.locators:
        for sec in secondary_for(candidate.source.text, loc, refs):
            seen.setdefault(sec.ref, sec)
    return list(seen.values())

"""Sources to a grounded fact ledger: the model proposes facts, deterministic checks decide.

A proposed fact is kept only if its quote occurs in its source (after folding whitespace, quote
marks, dashes, line-break hyphens and ligatures; see :mod:`thesisgen.grounding`), the quote does not
come from text that addresses the model (a prompt injection), and every figure of its statement is
backed by that quote. Everything else is dropped with the reason, never silently kept.

Long sources are read in overlapping chunks so no fact is lost at a boundary; the same fact found
in two chunks is merged and keeps both locators. Kept facts that state the same measure with
different values are linked as conflicts for the drafting prompt and the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .grounding import Folded, normalise, overlaps, references, secondary_for
from .injection import Scan, scan
from .llm import LLM, CallResult, map_concurrently
from .models import (
    CallRecord,
    Conflict,
    DroppedFact,
    Fact,
    FactSet,
    Locator,
    Quantity,
    Secondary,
    Source,
)
from .numbers import DEFAULT_IDENTIFIERS, TIME_KINDS, Mention, backs, extract
from .prompts import Topic, facts_messages
from .recording import CallLabel
from .sources import MAX_SOURCE_BYTES, WITHHELD_NOTE, read_source
from .validate import ground_statement

DEFAULT_CHUNK_CHARS = 12_000
DEFAULT_CHUNK_OVERLAP = 1_000


# Size bounds keep a small local model from generating without end (they reach its grammar with
# json_object); OpenAI's strict mode does not accept them, so llm.py strips them there.
class ProposedFact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statement: str = Field(max_length=240)
    quote: str = Field(max_length=300)
    topic: Topic


class ProposedFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: list[ProposedFact] = Field(
        max_length=30, description="Facts found in the source, in reading order."
    )


# --- chunks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    source: Source
    index: int  # 1-based
    count: int
    text: str

    @property
    def target(self) -> str:
        """The call label's target: the source ID, with the chunk number when there are several."""
        return self.source.id if self.count == 1 else f"{self.source.id}.{self.index}"


def chunk(
    source: Source, size: int = DEFAULT_CHUNK_CHARS, overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[Chunk]:
    """Overlapping windows that end at a paragraph or sentence break where one is near."""
    text = source.text
    if len(text) <= size:
        return [Chunk(source, 1, 1, text)]
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            window = text[start + size // 2 : end]
            cut = max(window.rfind("\n\n"), window.rfind(". "))
            if cut != -1:
                end = start + size // 2 + cut + 1
        pieces.append(text[start:end])
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return [Chunk(source, i, len(pieces), piece) for i, piece in enumerate(pieces, 1)]


# --- grounding -----------------------------------------------------------------------------------


@dataclass
class _SourceIndex:
    folded: Folded
    refs: dict[str, str]
    injection: Scan

    @property
    def injected(self) -> tuple[tuple[int, int], ...]:
        return self.injection.tainted

    @classmethod
    def of(cls, source: Source) -> _SourceIndex:
        return cls(
            Folded.of(source.text, source.page_starts),
            references(source.text),
            scan(source.text),
        )

    def warnings(self, source: Source) -> list[str]:
        """What the reviewer must know about this source's text and metadata."""
        found = []
        if self.injection.findings:
            count = len(self.injection.findings)
            found.append(
                f"{source.id} contains text addressed to the model (possible prompt injection: "
                f"{count} sentence{'s' if count > 1 else ''}; {self.injection.why()}): facts quoting it are dropped"
            )
        if source.note == WITHHELD_NOTE:
            found.append(
                f"{source.id}'s title or metadata addressed the model (possible prompt injection): "
                f"shown as {source.title}"
            )
        return found


def ground(
    proposed: ProposedFact, source: Source, index: _SourceIndex, identifiers: Sequence[str]
) -> tuple[str | None, list[Locator]]:
    """Why a proposed fact must be dropped (or None), and where its quote sits."""
    if not normalise(proposed.quote):
        return "quote is empty", []
    locators = index.folded.locate_all(proposed.quote)
    if not locators:
        return f"quote does not occur in {source.id}", []
    if any(overlaps(loc, index.injected) for loc in locators):
        return (
            f"quote comes from text in {source.id} that addresses the model, not the reader, "
            "or sits beside such text (possible prompt injection)",
            locators,
        )
    return ground_statement(proposed.statement, proposed.quote, identifiers), locators


def quantities(text: str, identifiers: Sequence[str]) -> list[Quantity]:
    out: list[Quantity] = []
    for m in extract(text, identifiers):
        unit = m.unit or m.kind
        if m.kind == "period":
            unit = f"period:{m.unit}"
        out.append(Quantity(text=m.text, value=m.value, unit=unit))
    return out


# --- conflicts -----------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "was",
        "were",
        "has",
        "have",
        "its",
        "their",
        "about",
        "roughly",
        "nearly",
        "over",
        "more",
        "than",
        "less",
        "some",
        "says",
        "said",
        "say",
        "source",
        "article",
        "summary",
        "according",
        "which",
        "will",
        "would",
        "could",
        "global",
        "world",
        "world's",
        # Scale and period words say how big and when, not what is measured: "net income was $31.2
        # million in fiscal 2024" and "capex was $18.7 million in fiscal 2024" are not one measure.
        "thousand",
        "million",
        "billion",
        "trillion",
        "fiscal",
        "year",
        "years",
        "quarter",
        "half",
        "end",
    ]
)


def _words(text: str) -> frozenset[str]:
    lowered = text.lower().replace("\u2019", "'").replace("'s ", " ")
    return frozenset(w for w in _WORD.findall(lowered) if w not in _STOP)


def find_conflicts(
    facts: Sequence[Fact], identifiers: Sequence[str], max_per_fact: int = 3
) -> list[Conflict]:
    """Pairs of facts about the same thing (similar wording, same period) with different values.

    Each fact takes part in at most ``max_per_fact`` conflicts (the first found, in ledger order):
    a pile of near-identical sources would otherwise link every fact to every other.
    """
    mentions = {f.id: extract(f.statement, identifiers) for f in facts}
    figures: dict[str, list[Mention]] = {
        fid: [m for m in found if m.kind not in TIME_KINDS] for fid, found in mentions.items()
    }
    periods = {
        fid: {(m.kind, m.unit, m.value) for m in found if m.kind in TIME_KINDS}
        for fid, found in mentions.items()
    }
    words = {f.id: _words(f.statement) for f in facts}
    conflicts: list[Conflict] = []
    linked: dict[str, int] = {}
    for a, b in combinations(facts, 2):
        if linked.get(a.id, 0) >= max_per_fact or linked.get(b.id, 0) >= max_per_fact:
            continue
        if periods[a.id] != periods[b.id]:
            continue
        # Overlap coefficient: short restatements of a longer fact still count as the same topic.
        shared = words[a.id] & words[b.id]
        smaller = min(len(words[a.id]), len(words[b.id]))
        if len(shared) < 2 or not smaller or len(shared) / smaller < 0.5:
            continue
        for ma in figures[a.id]:
            clash = next(
                (
                    mb
                    for mb in figures[b.id]
                    if mb.kind == ma.kind
                    and mb.unit == ma.unit
                    and not backs(ma, mb)
                    and not backs(mb, ma)
                ),
                None,
            )
            if clash is not None:
                conflicts.append(
                    Conflict(
                        facts=[a.id, b.id],
                        figures=[ma.text, clash.text],
                        note=f"{a.id} says {ma.text}, {b.id} says {clash.text}: cite both or give the range",
                    )
                )
                linked[a.id] = linked.get(a.id, 0) + 1
                linked[b.id] = linked.get(b.id, 0) + 1
                break
    return conflicts


# --- the stage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactsResult:
    factset: FactSet
    calls: list[CallRecord]


@dataclass
class _Candidate:
    proposed: ProposedFact
    source: Source
    locators: list[Locator] = field(default_factory=list)


def extract_facts(
    llm: LLM,
    company: str,
    ticker: str,
    sources: Sequence[Source],
    identifiers: Sequence[str] = (),
    concurrency: int = 4,
    on_event: Callable[[str, str, bool | None], None] | None = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    max_conflicts_per_fact: int = 3,
) -> FactsResult:
    """One model call per chunk of each source, concurrently; then ground, merge and number the
    facts in source order."""
    idents = (*DEFAULT_IDENTIFIERS, ticker, *identifiers)
    chunks = [c for s in sources for c in chunk(s, chunk_chars, chunk_overlap)]

    def work(part: Chunk) -> CallResult[ProposedFacts]:
        if on_event is not None:
            on_event(
                part.source.id,
                "extracting" if part.count == 1 else f"chunk {part.index}/{part.count}",
                None,
            )
        label = CallLabel(ticker, "facts", part.target, 1)
        messages = facts_messages(company, ticker, part.source, part.text, part.index, part.count)
        result = llm.call(messages, ProposedFacts, label)
        if on_event is not None and part.index == part.count:
            on_event(part.source.id, f"{len(result.parsed.facts)} facts proposed", True)
        return result

    results = map_concurrently(work, chunks, concurrency)

    indexes = {s.id: _SourceIndex.of(s) for s in sources}
    kept: list[_Candidate] = []
    dropped: list[DroppedFact] = []
    calls: list[CallRecord] = []
    warnings = [w for s in sources for w in indexes[s.id].warnings(s)]
    for part, result in zip(chunks, results, strict=True):
        calls.append(
            CallRecord(
                stage="facts",
                target=part.target,
                attempt=1,
                request_key=result.request_key,
                usage=result.usage,
                outcome="ok",
                cached=result.cached,
                wire_format=result.wire_format,
                reasks=result.reasks,
            )
        )
        index = indexes[part.source.id]
        for proposed in result.parsed.facts:
            reason, locators = ground(proposed, part.source, index, idents)
            if reason is not None:
                dropped.append(
                    DroppedFact(
                        statement=proposed.statement,
                        source_id=part.source.id,
                        quote=proposed.quote,
                        reason=reason,
                    )
                )
                continue
            _merge(kept, _Candidate(proposed, part.source, locators))
    facts = [
        Fact(
            id=f"F{number}",
            statement=c.proposed.statement,
            source_id=c.source.id,
            quote=c.proposed.quote,
            quantities=quantities(c.proposed.statement, idents),
            topic=c.proposed.topic,
            locators=c.locators,
            secondary=_secondary(c, indexes[c.source.id]),
        )
        for number, c in enumerate(kept, 1)
    ]
    factset = FactSet(
        ticker=ticker,
        company=company,
        sources=[s.info() for s in sources],
        facts=facts,
        dropped=dropped,
        conflicts=find_conflicts(facts, idents, max_conflicts_per_fact),
        warnings=warnings,
    )
    return FactsResult(factset, calls)


def _merge(kept: list[_Candidate], new: _Candidate) -> None:
    """The same fact found twice (overlapping chunks, or repeated in a source) is kept once, with
    every place it was found."""
    quote = normalise(new.proposed.quote)
    for old in kept:
        if old.source.id != new.source.id:
            continue
        other = normalise(old.proposed.quote)
        if quote in other or other in quote:
            for loc in new.locators:
                if loc not in old.locators:
                    old.locators.append(loc)
            old.locators.sort(key=lambda loc: loc.start)
            return
    kept.append(new)


def _secondary(candidate: _Candidate, index: _SourceIndex) -> list[Secondary]:
    seen: dict[str, Secondary] = {}
    for loc in candidate.locators:
        for sec in secondary_for(candidate.source.text, loc, index.refs):
            seen.setdefault(sec.ref, sec)
    return list(seen.values())


def reground(
    factset: FactSet, files: dict[str, Path], max_bytes: int = MAX_SOURCE_BYTES
) -> tuple[FactSet, list[str], list[str]]:
    """Check an edited ledger against the source files that can be found: every quote must still
    occur in its source. Returns the ledger with fresh locators, problems, and notes to show.

    A source that cannot be found is also named in the ledger's warnings, which the memo shows,
    so a quote that was not re-checked is never presented as verified."""
    problems: list[str] = []
    notes: list[str] = []
    unchecked: list[str] = []
    sources: dict[str, tuple[Source, _SourceIndex]] = {}
    for info in factset.sources:
        path = files.get(info.id)
        if path is None:
            unchecked.append(
                f"source {info.id} ({info.path or 'no path'}) not found: its quotes are not re-checked"
            )
            notes.append(f"note: {unchecked[-1]}")
            continue
        source = read_source(path, info.id, max_bytes=max_bytes)
        if info.sha256 and source.sha256 != info.sha256:
            notes.append(
                f"note: source {info.id} changed since the facts were extracted: re-checking its quotes"
            )
        sources[info.id] = (source, _SourceIndex.of(source))
    facts = []
    for fact in factset.facts:
        if fact.source_id in sources:
            source, index = sources[fact.source_id]
            locators = index.folded.locate_all(fact.quote)
            if not locators:
                problems.append(f"{fact.id}'s quote does not occur in {source.id} ({source.path})")
            elif any(overlaps(loc, index.injected) for loc in locators):
                problems.append(
                    f"{fact.id} quotes text in {source.id} that addresses the model (possible prompt injection)"
                )
            fact = fact.model_copy(update={"locators": locators})
        facts.append(fact)
    warnings = list(dict.fromkeys([*factset.warnings, *unchecked]))
    return factset.model_copy(update={"facts": facts, "warnings": warnings}), problems, notes


def check_factset(factset: FactSet, identifiers: Sequence[str] = ()) -> list[str]:
    """Problems in a facts file an analyst edited: duplicate IDs, unknown sources, ungrounded figures."""
    idents = (*DEFAULT_IDENTIFIERS, factset.ticker, *identifiers)
    problems: list[str] = []
    seen: set[str] = set()
    source_ids = {s.id for s in factset.sources}
    for fact in factset.facts:
        if fact.id in seen:
            problems.append(f"{fact.id} is used twice")
        seen.add(fact.id)
        if fact.source_id != "analyst" and fact.source_id not in source_ids:
            problems.append(f"{fact.id} names source {fact.source_id}, which is not in 'sources'")
        reason = ground_statement(fact.statement, fact.quote, idents)
        if reason is not None:
            problems.append(f"{fact.id}: {reason}")
    return problems

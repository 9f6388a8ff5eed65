"""Sources to a grounded fact ledger: the model proposes facts, deterministic checks decide.

A proposed fact is kept only if its quote occurs in its source (after folding whitespace, quote marks
and dashes) and every figure of its statement is backed by that quote. Everything else is dropped
with the reason, never silently kept, and the reason travels to ``facts.json`` and the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from .llm import LLM, CallResult
from .models import CallRecord, DroppedFact, Fact, FactSet, Quantity, Source
from .numbers import DEFAULT_IDENTIFIERS, extract
from .prompts import Topic, facts_messages
from .recording import CallLabel
from .validate import ground_statement

# --- what the model answers ----------------------------------------------------------------------


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


# --- grounding -----------------------------------------------------------------------------------

_FOLDS = str.maketrans(
    {
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
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold the differences a faithful copy may still have: spacing, quote marks, dashes."""
    return _SPACE.sub(" ", text.translate(_FOLDS)).strip()


def ground(proposed: ProposedFact, source: Source, identifiers: Sequence[str]) -> str | None:
    """Why a proposed fact must be dropped, or None when it is grounded."""
    quote = normalise(proposed.quote)
    if not quote:
        return "quote is empty"
    if quote not in normalise(source.text):
        return f"quote does not occur in {source.id}"
    return ground_statement(proposed.statement, proposed.quote, identifiers)


def quantities(text: str, identifiers: Sequence[str]) -> list[Quantity]:
    out: list[Quantity] = []
    for m in extract(text, identifiers):
        unit = m.unit or m.kind
        if m.kind == "period":
            unit = f"period:{m.unit}"
        out.append(Quantity(text=m.text, value=m.value, unit=unit))
    return out


# --- the stage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactsResult:
    factset: FactSet
    calls: list[CallRecord]


def _propose(llm: LLM, company: str, ticker: str, source: Source) -> CallResult[ProposedFacts]:
    label = CallLabel(ticker, "facts", source.id, 1)
    return llm.call(facts_messages(company, ticker, source), ProposedFacts, label)


def extract_facts(
    llm: LLM,
    company: str,
    ticker: str,
    sources: Sequence[Source],
    identifiers: Sequence[str] = (),
    concurrency: int = 4,
    on_event: Callable[[str, str, bool | None], None] | None = None,
) -> FactsResult:
    """One model call per source, concurrently; then ground and number the facts in source order."""
    idents = (*DEFAULT_IDENTIFIERS, ticker, *identifiers)

    def work(source: Source) -> CallResult[ProposedFacts]:
        if on_event is not None:
            on_event(source.id, "extracting", None)
        result = _propose(llm, company, ticker, source)
        if on_event is not None:
            on_event(source.id, f"{len(result.parsed.facts)} facts proposed", True)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(work, sources))

    facts: list[Fact] = []
    dropped: list[DroppedFact] = []
    calls: list[CallRecord] = []
    for source, result in zip(sources, results, strict=True):
        calls.append(
            CallRecord(
                stage="facts",
                target=source.id,
                attempt=1,
                request_key=result.request_key,
                usage=result.usage,
                outcome="ok",
                cached=result.cached,
                wire_format=result.wire_format,
                reasks=result.reasks,
            )
        )
        for proposed in result.parsed.facts:
            reason = ground(proposed, source, idents)
            if reason is not None:
                dropped.append(
                    DroppedFact(
                        statement=proposed.statement,
                        source_id=source.id,
                        quote=proposed.quote,
                        reason=reason,
                    )
                )
                continue
            facts.append(
                Fact(
                    id=f"F{len(facts) + 1}",
                    statement=proposed.statement,
                    source_id=source.id,
                    quote=proposed.quote,
                    quantities=quantities(proposed.statement, idents),
                    topic=proposed.topic,
                )
            )
    factset = FactSet(
        ticker=ticker,
        company=company,
        sources=[s.info() for s in sources],
        facts=facts,
        dropped=dropped,
    )
    return FactsResult(factset, calls)


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

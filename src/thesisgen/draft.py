"""Facts to a memo, one section per model call, each through the validator gate with repairs.

A section's answer is checked at once; if the validator rejects it, the violations go back to the
model as a follow-up message and it tries again, up to ``max_repairs`` times. The loop is a tenacity
``Retrying`` that retries only :class:`SectionRejected`, so transport errors (retried below, in the
SDK) can never consume a repair attempt or reach the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from .config import DEFAULTS
from .llm import LLM, CallResult, assistant_echo, map_concurrently
from .models import (
    Calculation,
    CallRecord,
    FactSet,
    Memo,
    Paragraph,
    Repair,
    Section,
    Sentence,
    Stance,
    Violation,
)
from .notation import printed_section
from .progress import Event, OnEvent, Status, no_event
from .prompts import Outline, OutlineSection, repair_message, section_messages, select_facts
from .recording import CallLabel
from .validate import GateOptions, Ledger, check_section

# --- what the model answers ----------------------------------------------------------------------


# Bounds as in facts.ProposedFacts: generous for a real model, a stop for a runaway small one.
MAX_PARAGRAPHS, MAX_SENTENCES, MAX_CITES, MAX_CALCULATIONS = 3, 6, 6, 2
MAX_TEXT = 400


class DraftCalculation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    figure: str = Field(min_length=1, max_length=40)
    formula: str = Field(min_length=1, max_length=200)


class DraftSentence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    cites: list[str] = Field(max_length=MAX_CITES)
    calculations: list[DraftCalculation] = Field(max_length=MAX_CALCULATIONS)


class DraftParagraph(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sentences: list[DraftSentence] = Field(max_length=MAX_SENTENCES)


class SectionDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paragraphs: list[DraftParagraph] = Field(max_length=MAX_PARAGRAPHS)


class ThesisDraft(SectionDraft):
    stance: Stance


@lru_cache(maxsize=16)
def wire_schema(fact_ids: tuple[str, ...], with_stance: bool) -> type[BaseModel]:
    """The schema sent to the model: cites are an enum of the fact IDs, so a constrained decoder
    cannot cite a fact that does not exist. Answers are still parsed with the looser SectionDraft,
    so that an unknown ID from a server without constrained decoding reaches the validator (and the
    repair loop) instead of failing the call."""
    # With no facts there is nothing to cite: the list must stay empty.
    cite: Any = Literal[fact_ids] if fact_ids else Annotated[str, StringConstraints(max_length=0)]
    config = ConfigDict(extra="forbid")
    sentence = create_model(
        "DraftSentence",
        __config__=config,
        text=(str, Field(min_length=1, max_length=MAX_TEXT)),
        cites=(list[cite], Field(max_length=MAX_CITES if fact_ids else 0)),
        calculations=(list[DraftCalculation], Field(max_length=MAX_CALCULATIONS)),
    )
    paragraph = create_model(
        "DraftParagraph",
        __config__=config,
        sentences=(list[sentence], Field(max_length=MAX_SENTENCES)),
    )
    fields: dict[str, Any] = {"paragraphs": (list[paragraph], Field(max_length=MAX_PARAGRAPHS))}
    if with_stance:
        fields["stance"] = (Stance, ...)
    return create_model(
        "ThesisDraft" if with_stance else "SectionDraft", __config__=config, **fields
    )


# --- the loop ------------------------------------------------------------------------------------


class SectionRejected(Exception):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(f"{len(violations)} violation(s)")
        self.violations = violations


@dataclass
class SectionResult:
    section: Section
    stance: Stance | None
    passed: bool
    violations: list[Violation]
    repairs: list[Repair] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    fact_ids: list[str] = field(default_factory=list)  # the facts its prompt carried


def _to_section(outline: OutlineSection, draft: SectionDraft) -> Section:
    """The model's answer as a memo section; blank sentences and calculations (whitespace only,
    which a schema cannot rule out) are dropped rather than allowed to break the contract."""
    paragraphs = []
    for paragraph in draft.paragraphs:
        sentences = [
            Sentence(
                text=s.text.strip(),
                cites=s.cites,
                calculations=[
                    Calculation(figure=c.figure.strip(), formula=c.formula.strip())
                    for c in s.calculations
                    if c.figure.strip() and c.formula.strip()
                ],
            )
            for s in paragraph.sentences
            if s.text.strip()
        ]
        if sentences:
            paragraphs.append(Paragraph(sentences=sentences))
    section = Section(key=outline.key, heading=outline.heading, paragraphs=paragraphs)
    return printed_section(section)


def draft_section(
    llm: LLM,
    factset: FactSet,
    outline: OutlineSection,
    ledger: Ledger,
    max_repairs: int = DEFAULTS.max_repairs,
    on_event: OnEvent = no_event,
    max_facts: int = DEFAULTS.max_facts_per_section,
) -> SectionResult:
    """One section through the gate. Its prompt carries at most ``max_facts`` facts (see
    :func:`thesisgen.prompts.select_facts`), and the schema's cite enum is exactly those."""
    schema: type[SectionDraft] = ThesisDraft if outline.stance else SectionDraft
    facts = select_facts(factset, outline, max_facts)
    sent = wire_schema(tuple(f.id for f in facts), outline.stance)
    messages = section_messages(factset, outline, facts)
    result = SectionResult(
        section=Section(key=outline.key, heading=outline.heading, paragraphs=[]),
        stance=None,
        passed=False,
        violations=[],
        fact_ids=[f.id for f in facts],
    )
    last: CallResult[SectionDraft] | None = None
    retrying = Retrying(
        stop=stop_after_attempt(1 + max_repairs),
        retry=retry_if_exception_type(SectionRejected),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if last is not None:
                    messages = [
                        *messages,
                        assistant_echo(last),
                        repair_message(outline, result.violations),
                    ]
                label = CallLabel(factset.ticker, "draft", outline.key, number)
                on_event(
                    Event(outline.key, Status.DRAFTING)
                    if number == 1
                    else Event(outline.key, Status.REPAIR, number - 1)
                )
                last = llm.call(messages, schema, label, wire_schema=sent)
                section = _to_section(outline, last.parsed)
                violations, _ = check_section(section, ledger)
                result.section = section
                result.stance = last.parsed.stance if isinstance(last.parsed, ThesisDraft) else None
                result.violations = violations
                result.calls.append(
                    CallRecord(
                        stage="draft",
                        target=outline.key,
                        attempt=number,
                        request_key=last.request_key,
                        usage=last.usage,
                        outcome="rejected" if violations else "ok",
                        cached=last.cached,
                        wire_format=last.wire_format,
                        reasks=last.reasks,
                    )
                )
                if violations:
                    result.repairs.append(
                        Repair(section=outline.key, attempt=number, violations=violations)
                    )
                    raise SectionRejected(violations)
    except SectionRejected:
        on_event(Event(outline.key, Status.FAILED, len(result.calls)))
        return result
    result.passed = True
    on_event(Event(outline.key, Status.PASSED, len(result.repairs)))
    return result


@dataclass
class DraftResult:
    memo: Memo
    sections: list[SectionResult]
    ledger: Ledger  # the facts as the gate read them, for what reads the memo after

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.sections)

    @property
    def calls(self) -> list[CallRecord]:
        return [c for s in self.sections for c in s.calls]

    @property
    def repairs(self) -> list[Repair]:
        return [r for s in self.sections for r in s.repairs]

    @property
    def violations(self) -> list[Violation]:
        return [v for s in self.sections for v in s.violations]

    @property
    def section_facts(self) -> dict[str, list[str]]:
        """Each section's key and the IDs of the facts its prompt carried."""
        return {s.section.key: s.fact_ids for s in self.sections}


def memo_title(company: str, ticker: str) -> str:
    return f"{company} ({ticker}): investment thesis"


def draft_memo(
    llm: LLM,
    factset: FactSet,
    outline: Outline,
    identifiers: Sequence[str] = (),
    concurrency: int = DEFAULTS.concurrency,
    max_repairs: int = DEFAULTS.max_repairs,
    on_event: OnEvent = no_event,
    max_facts: int = DEFAULTS.max_facts_per_section,
    gate: GateOptions | None = None,
) -> DraftResult:
    """Draft every outline section concurrently; the memo keeps the outline's order.

    Each worker runs one section's whole loop (draft, then repairs), so a repair starts as soon as
    its rejection is known while the other workers take the sections still waiting. The memo's
    stance is the stance section's; "not rated" when no section set one. ``gate`` is what the
    gate takes besides the facts (the rounding tolerance, the memo's names).
    """
    ledger = Ledger.of(factset, identifiers, options=gate)

    def work(section: OutlineSection) -> SectionResult:
        return draft_section(llm, factset, section, ledger, max_repairs, on_event, max_facts)

    results = map_concurrently(work, outline.sections, concurrency)
    stance: Stance = next((r.stance for r in results if r.stance is not None), "not rated")
    memo = Memo(
        ticker=factset.ticker,
        company=factset.company,
        title=memo_title(factset.company, factset.ticker),
        stance=stance,
        sections=[r.section for r in results],
    )
    return DraftResult(memo, results, ledger)

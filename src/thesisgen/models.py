"""The contracts between pipeline stages, read and written as JSON (see DESIGN.md).

Every model rejects unknown keys, so a typo in a hand-edited ``facts.json`` is an error that names the
key instead of a silently ignored field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)

FACT_ID = r"^F[1-9][0-9]*$"
SOURCE_ID = r"^(S[1-9][0-9]*|analyst)$"


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


JsonDecimal = Annotated[Decimal, PlainSerializer(_json_number, return_type=float, when_used="json")]


class Contract(BaseModel):
    """Base for every on-disk contract: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


# --- sources -------------------------------------------------------------------------------------


class SourceInfo(Contract):
    """What the memo says about a source: enough to cite it and to find it again."""

    id: str = Field(pattern=SOURCE_ID)
    title: str
    publisher: str | None = None
    published: dt.date | None = None
    author: str | None = None
    url: str | None = None
    path: str | None = None
    sha256: str | None = None
    note: str | None = None


class Source(SourceInfo):
    """A source with its text, as the facts stage reads it."""

    text: str
    page_starts: list[int] = Field(default_factory=list)  # PDF: where each page begins in text

    def info(self) -> SourceInfo:
        return SourceInfo.model_validate(self.model_dump(exclude={"text", "page_starts"}))


# --- facts ---------------------------------------------------------------------------------------


class Quantity(Contract):
    """One figure a fact carries, normalised (value in base units: dollars, percent, years)."""

    text: str
    value: JsonDecimal
    unit: str


class Locator(Contract):
    """Where a quote sits in its source's text: character offsets, and the page for PDFs."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    page: int | None = Field(default=None, ge=1)


class Secondary(Contract):
    """A source the source itself cites for this fact (its numbered reference)."""

    ref: str
    title: str


class Filed(Contract):
    """A figure as the company filed it in XBRL (SEC EDGAR company facts): the structured evidence
    of a financial fact, in place of a text quote.

    Its locator in the company-facts file is (taxonomy, concept, unit, accession, start, end):
    ``facts[taxonomy][concept]["units"][unit]`` holds an entry with that ``accn``, ``start`` and
    ``end`` whose ``val`` is ``value``. The fiscal period is read from ``start`` and ``end``, never
    from the entry's ``fy``/``fp`` (they name the filing's year, not the figure's).
    """

    measure: str  # which of the standard set it is: "revenue", "net_income", ... (xbrl.MEASURES)
    taxonomy: str  # us-gaap, ifrs-full, dei
    concept: str
    label: str  # the filer's label of the concept, as in companyfacts
    unit: str  # USD, USD/shares, shares, ...
    start: dt.date | None = None  # None: a balance at ``end`` (an instant)
    end: dt.date
    value: JsonDecimal  # as filed, in the unit's base (dollars, not millions)
    form: str  # 10-K, 10-Q, 10-K/A, 20-F, ...
    filed: dt.date
    accession: str = Field(pattern=r"^\d{10}-\d{2}-\d{6}$")
    period: str  # what the dates make it: "FY2024", "quarter ended 2025-03-29", ...
    url: str  # the filing's index page on EDGAR


# Who wrote a fact's statement: the model ("model"), nobody because the model's statement
# misstated its evidence and the evidence stands in for it ("verbatim"), the rules extractor,
# which keeps sentences as written ("rules"), or the program from an XBRL record ("xbrl"). A
# text fact's quote is always cut from the source; an xbrl fact's quote is its ``filed`` record
# written out (``xbrl.quote_of``), and re-checked against the company-facts file.
FactKind = Literal["model", "verbatim", "rules", "xbrl"]
FACT_KINDS: tuple[str, ...] = get_args(FactKind)


class Fact(Contract):
    id: str = Field(pattern=FACT_ID)
    statement: str = Field(min_length=1)
    source_id: str = Field(pattern=SOURCE_ID)
    quote: str = Field(min_length=1)
    quantities: list[Quantity] = Field(default_factory=list)
    topic: str | None = None
    locators: list[Locator] = Field(default_factory=list)
    secondary: list[Secondary] = Field(default_factory=list)
    kind: FactKind = "model"
    filed: Filed | None = None  # kind "xbrl": the record the fact states

    @model_serializer(mode="wrap")
    def _text_facts_without_filed(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A fact from text has no record: its JSON stays as it was before XBRL facts."""
        data = handler(self)
        if self.filed is None and isinstance(data, dict):
            data.pop("filed", None)
        return data


class Conflict(Contract):
    """Kept facts that state the same measure with different values (e.g. 80% and 90%)."""

    facts: list[str]
    figures: list[str]
    note: str


class DroppedFact(Contract):
    """A fact the model proposed that failed grounding, kept visible with the reason."""

    statement: str
    source_id: str
    quote: str
    reason: str
    # The verbatim fact kept in this statement's place (its evidence, as written), if any.
    kept_as: str | None = Field(default=None, pattern=FACT_ID)


class FactSet(Contract):
    ticker: str
    company: str
    # other names of the company (a subsidiary, a brand): a memo may name them without a cited
    # fact doing so, but a figure's holder must still be the one its fact names
    aliases: list[str] = Field(default_factory=list)
    sources: list[SourceInfo]
    facts: list[Fact]
    dropped: list[DroppedFact] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def by_id(self) -> dict[str, Fact]:
        return {fact.id: fact for fact in self.facts}

    def kinds(self) -> dict[str, int]:
        """How many kept facts are of each kind (model-written, verbatim, rules)."""
        counts = {kind: sum(1 for f in self.facts if f.kind == kind) for kind in FACT_KINDS}
        return {kind: n for kind, n in counts.items() if n or kind != "xbrl"}  # xbrl: when any

    @property
    def lost(self) -> list[DroppedFact]:
        """The proposed facts that were dropped outright (not kept verbatim instead)."""
        return [d for d in self.dropped if d.kept_as is None]

    def sources_by_id(self) -> dict[str, SourceInfo]:
        """The sources by ID: build it once where many facts look up their source."""
        return {s.id: s for s in reversed(self.sources)}  # the first of a repeated ID wins


# --- drafts --------------------------------------------------------------------------------------

# "not rated": the facts are too thin to support a view (also the memo's stance when no section
# sets one).
Stance = Literal["constructive", "neutral", "cautious", "not rated"]
STANCES: tuple[str, ...] = get_args(Stance)


class Calculation(Contract):
    """A figure the sentence computes from facts, with the formula the validator recomputes.

    ``formula`` is arithmetic (+ - * / and parentheses) over numbers and fact figures written as
    ``{F13:$900 million}``: the fact ID and the figure as that fact states it.
    """

    figure: str = Field(min_length=1)
    formula: str = Field(min_length=1)


class Sentence(Contract):
    text: str = Field(min_length=1)
    cites: list[str] = Field(default_factory=list)
    calculations: list[Calculation] = Field(default_factory=list)


class Paragraph(Contract):
    sentences: list[Sentence]


class Section(Contract):
    key: str
    heading: str
    paragraphs: list[Paragraph]


class Memo(Contract):
    ticker: str
    company: str | None = None
    title: str
    stance: Stance
    sections: list[Section]


# --- validation ----------------------------------------------------------------------------------

ViolationKind = Literal[
    "uncited_number",
    "unknown_citation",
    "unsupported_number",
    "period_mismatch",
    "unit_mismatch",
    "bad_calculation",
    # what a figure means (claims.py): the sentence's claim frame against the cited fact's
    "qualifier_mismatch",
    "direction_mismatch",
    "modality_mismatch",
    "negation_mismatch",
    "metric_mismatch",
    "holder_mismatch",
    "unknown_name",
    "unrelated_citation",
    "over_rounded",
    "unattributed_rating",
    # the optional model check (--verify gate): the model found the sentence contradicted
    "model_contradicted",
]

# Findings a reviewer should look at that do not fail the gate: a dropped approximation ("nearly"
# left out), a bound left out, and the optional model check's verdicts when it is not a gate.
CommentKind = Literal[
    "qualifier_dropped",
    "model_contradicted",
    "model_unverified",
]


class Violation(Contract):
    section: str
    paragraph: int
    sentence: int
    kind: ViolationKind
    token: str
    message: str
    fact_figures: list[str] = Field(default_factory=list)
    text: str = ""  # the sentence as written, so a reader of report.json sees what was rejected


class Comment(Contract):
    """A finding for the reviewer, placed like a violation, that does not fail the gate."""

    section: str
    paragraph: int
    sentence: int
    kind: CommentKind
    token: str
    message: str
    text: str = ""


class Repair(Contract):
    """One rejected attempt of a section, kept so the reviewer sees what the gate caught."""

    section: str
    attempt: int
    violations: list[Violation]


# Report.warnings that start with this are the optional model check's (--verify: sentences left
# unchecked, answers that were unusable), not the sources'; report.md lists them apart.
MODEL_CHECK_WARNING = "model check: "


class Report(Contract):
    """``report.json``: what the gate checked and what it found."""

    ok: bool
    sentences: int
    figures_checked: int
    facts_cited: int
    violations: list[Violation]
    repairs: list[Repair] = Field(default_factory=list)
    dropped_facts: list[DroppedFact] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # kept facts by kind: {"model": n, "verbatim": n, "rules": n} (see FactKind)
    fact_kinds: dict[str, int] = Field(default_factory=dict)
    # reviewer comments: they do not fail the gate but are shown in Word and report.md
    comments: list[Comment] = Field(default_factory=list)


# --- provenance ----------------------------------------------------------------------------------


class Usage(Contract):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class CallRecord(Contract):
    """One model call as the manifest lists it."""

    stage: Literal["facts", "draft", "verify"]
    target: str
    attempt: int
    request_key: str
    usage: Usage
    # verify: "ok" when the model found the sentence supported, "rejected" when it did not
    outcome: Literal["ok", "rejected"]
    cached: bool = False
    wire_format: str | None = None
    reasks: int = 0


class ManifestSource(Contract):
    id: str
    path: str | None
    sha256: str | None


RunStatus = Literal[
    "writing",
    "complete",
    "flagged",  # --allow-flagged: the memo was written although the gate failed
    "gate_failed",
    "service_failed",
    "budget_exceeded",
    "interrupted",
]


class Manifest(Contract):
    """``manifest.json``: how a run went. Its ``status`` says whether the folder holds a complete
    set (``complete``) or what stopped the run; only a complete set needs ``--force`` to replace."""

    status: RunStatus = "complete"
    error: str | None = None  # the one-line reason when the status is not complete
    thesisgen_version: str
    created_at: dt.datetime
    ticker: str
    as_of: dt.date | None = None  # the memo's date (and the point in time of SEC filings)
    mode: Literal["live", "record", "replay", "none"]  # none: rules extraction, no model
    model: str
    base_url: str | None
    # Where replayed answers came from ("hand-written", "captured"); empty for a live run.
    provenance: list[str] = Field(default_factory=list)
    parameters: dict[str, float | int | str]
    prompt_templates_sha256: str
    sources: list[ManifestSource]
    structured_output: str | None = None
    calls: list[CallRecord]
    model_calls: int = 0  # calls that reached a live model, also those that then failed
    cache_hits: int = 0
    # Tokens of every answer the run received (replayed, cached or live), also of calls that then
    # failed or whose answer was dropped (so it can be more than the sum over ``calls``).
    usage: Usage
    usage_by_stage: dict[str, Usage] = Field(default_factory=dict)
    spent: Usage = Field(default_factory=Usage)  # live calls only (not replayed, not cached)
    cost_usd: float | None = None
    facts_from: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    # section key -> the IDs of the facts its prompt carried (see prompts.select_facts)
    section_facts: dict[str, list[str]] = Field(default_factory=dict)
    # `thesisgen batch`: the engine that answered (None: `thesisgen draft`), the batches whose
    # answers this memo used, and cost_usd at that engine's prices (batch_price_factor of live)
    engine: str | None = None
    batch_ids: list[str] = Field(default_factory=list)


# --- batch runs (`thesisgen batch`) ----------------------------------------------------------------

BatchEngine = Literal["openai-batch", "jsonl", "live"]
MemoOutcome = Literal["pending", "passed", "flagged", "gate_failed", "service_failed", "failed"]


class UniverseTicker(Contract):
    """One memo of a batch run, as its universe line asked for it."""

    ticker: str
    as_of: dt.date | None = None
    sources: list[str] = Field(default_factory=list)
    company: str | None = None
    line: int = 0
    # what the memo's requests are made of (its sources, outline, XBRL facts), when first read:
    # a resume refuses changed inputs, whose requests would differ and be paid for again
    inputs_sha256: str | None = None


class Submission(Contract):
    """One request file of a round, and what became of it. ``status`` is ours until the provider
    has the batch (prepared, uploaded), then the provider's (validating ... completed, failed,
    expired, cancelled), then ``collected`` once its answers are in ``answers.jsonl``."""

    round: int
    part: int
    requests_file: str  # relative to the batch folder
    lines: int
    status: str = "prepared"
    input_file_id: str | None = None
    batch_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    submitted_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    answered: int = 0  # lines with a usable answer
    retried: int = 0  # lines that failed in a way that may pass, asked again in a later round
    failed: int = 0  # lines whose failure stands (their memo fails for service reasons)
    note: str | None = None  # the provider's errors, an expiry, a cancel


class TickerOutcome(Contract):
    """How one memo of a batch run ended (``pending`` until it has)."""

    ticker: str
    status: MemoOutcome = "pending"
    message: str | None = None
    folder: str
    calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None  # at the engine's prices
    live_cost_usd: float | None = None  # the same tokens at live prices


class BatchState(Contract):
    """``<batch folder>/batch/state.json``: everything a later ``--resume`` needs to go on without
    submitting anything twice (answers themselves are in ``answers.jsonl``, one per line)."""

    format: Literal["thesisgen-batch/1"] = "thesisgen-batch/1"
    run_id: str
    created_at: dt.datetime
    engine: BatchEngine
    mode: Literal["live", "record", "replay"]
    universe: list[UniverseTicker]
    # the command's setting flags and options, so a resume runs with the same ones
    flags: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    # the settings that shape a request, as resolved at the start: a resume refuses others
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    submissions: list[Submission] = Field(default_factory=list)
    attempts: dict[str, int] = Field(default_factory=dict)  # request ref -> times submitted
    tickers: dict[str, TickerOutcome] = Field(default_factory=dict)


class BatchAnswer(Contract):
    """One line of ``answers.jsonl``: the answer the ``occurrence``-th request with ``key`` of
    ``ticker``'s run gets, a completion (200) or a failure that stands."""

    ticker: str
    key: str
    occurrence: int
    custom_id: str
    round: int
    status_code: int
    body: dict[str, Any]

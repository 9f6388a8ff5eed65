"""Wire the stages for one command: sources -> facts -> drafts -> validation -> render -> files.

Each entry point (:func:`draft`, :func:`facts`, :func:`validate`, :func:`render`) does the I/O for
one CLI command and calls the pure stages; the CLI only parses arguments and prints. A run goes
through one small function per stage: plan (settings, model, inputs and output folder checked
before the first model call), inputs, extract, draft, write. The outputs of a run are written as
one set (see :mod:`thesisgen.outputs`), whose manifest records how the run ended.

The stages' modules are imported where a stage runs, so `thesisgen validate` never loads the model
client, the prompt templates or python-docx.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .config import Settings, public_url, resolve
from .errors import (
    BudgetExceededError,
    CancelledError,
    GateFailedError,
    InputFileError,
    ModelServiceError,
    RecordingError,
    ThesisgenError,
    UsageError,
)
from .files import dump_model, is_word_file, load_model
from .models import (
    CallRecord,
    FactSet,
    Manifest,
    ManifestSource,
    Memo,
    Report,
    RunStatus,
    Source,
)
from .outputs import (
    CHART_FILE,
    DRAFT_OUTPUTS,
    FACTS_OUTPUTS,
    MEMO_EXTRAS,
    RENDER_OUTPUTS,
    OutputSet,
)
from .progress import Progress
from .resources import Bundle, bundled_tickers, check_ticker, load_bundle

if TYPE_CHECKING:
    import httpx2

    from . import budget
    from .draft import DraftResult
    from .edgar_inputs import FromEdgar
    from .evidence import Numbered
    from .facts import ExtractOptions
    from .llm import LLMSettings, RetryPolicy
    from .prompts import Outline
    from .readback import EditedMemo
    from .recording import Mode
    from .validate import GateOptions
    from .verify import Verification

MB = 1024 * 1024


@dataclass
class DraftRequest:
    """One draft (or facts) run as the CLI asked for it. ``flags`` holds the settings given on the
    command line, by setting name (see :class:`thesisgen.config.Settings`); the rest come from the
    environment, the config file or the defaults."""

    ticker: str
    out: Path | None = None
    facts_file: Path | None = None
    sources: Sequence[Path] = ()
    company: str | None = None
    offline: bool = False
    record: bool = False
    recordings: Path | None = None
    force: bool = False
    config: Path | None = None
    template: Path | None = None
    outline: Path | None = None  # else the bundle's outline.yaml, else templates/outline.yaml
    yes: bool = False  # go past --max-calls and --max-prompt-tokens
    flags: Mapping[str, Any] = field(default_factory=dict)
    retry: RetryPolicy | None = None  # replaces the configured retry policy (tests: no waiting)
    # the memo's date, sources' age, and the point in time of EDGAR filings [default: the
    # bundle's as-of, else today]
    as_of: dt.date | None = None
    allow_flagged: bool = False  # write the memo, flagged, even when the gate fails
    engine: EngineContext | None = None  # `thesisgen batch`: how this memo's calls are answered


@dataclass(frozen=True)
class EngineContext:
    """How `thesisgen batch` answers one memo's model calls: ``network`` is the transport under
    the record/cache layers (it holds a request for the round's batch, or bounds live calls across
    the universe); ``fan_out`` the calls of one stage in flight at once (None: the concurrency
    setting); ``price_factor`` what its tokens cost against live prices; ``batch_ids`` the
    batches that have answered this memo so far."""

    name: str
    network: httpx2.BaseTransport | None
    price_factor: float = 1.0
    fan_out: int | None = None
    batch_ids: Callable[[], list[str]] = list


@dataclass(frozen=True)
class DraftOutcome:
    folder: Path
    report: Report
    manifest: Manifest
    factset: FactSet | None = None
    message: str = ""  # why the gate failed, when it did


@dataclass(frozen=True)
class _Plan:
    """A run as checked before any work: its settings, how it calls the model, whose it is."""

    request: DraftRequest
    ticker: str
    bundle: Bundle | None
    settings: Settings
    llm_settings: LLMSettings
    announcement: str | None  # said when replaying because no model is configured
    identifiers: list[str]
    aliases: list[str]
    facts_only: bool  # `thesisgen facts`: the run stops at the ledger
    as_of: dt.date
    edgar: _EdgarPlan | None  # None: the run reads nothing from SEC EDGAR

    @property
    def verify_sentences(self) -> int:
        return _verify_sentences(self.settings, self.facts_only)


@dataclass(frozen=True)
class _EdgarPlan:
    """How a run reads SEC EDGAR: live (with the User-Agent), recorded into ``recordings``, or
    replayed from it; ``store`` is the document store, also the cache of live fetches."""

    mode: Literal["live", "record", "replay"]
    user_agent: str | None
    recordings: Path | None
    store: Path


@dataclass(frozen=True)
class _Inputs:
    """What a run starts from: an analyst's ledger, or sources (numbered once: segmenting and
    scanning a 10-K takes about half a second, and the estimate and the facts stage both read
    them), and the memo's outline."""

    factset: FactSet | None
    company: str
    numbered: list[Numbered]
    outline: Outline
    edgar: FromEdgar | None = None


@dataclass(frozen=True)
class _Drafted:
    """The draft stage's result: the sections as the model last wrote them, the memo as the gate
    checks it (key figures added), and the model check of it, if asked for."""

    result: DraftResult
    memo: Memo
    verification: Verification | None


def _mb(megabytes: float) -> int:
    return int(megabytes * MB)


def _bundle_or_none(ticker: str) -> Bundle | None:
    return load_bundle(ticker) if ticker in bundled_tickers() else None


def _llm_settings(
    request: DraftRequest, ticker: str, bundle: Bundle | None, settings: Settings, facts_only: bool
) -> tuple[LLMSettings, str | None]:
    """Mode, model and limits for this run, and a line to announce when replaying by default."""
    from .llm import Budget, LLMSettings, RetryPolicy

    if request.offline and request.record:
        raise UsageError("--offline and --record exclude each other: drop one")
    if facts_only and settings.extract == "rules" and request.facts_file is None:
        if request.record:
            raise UsageError("--extract rules calls no model, so there is nothing to record")
        return LLMSettings(mode="none", model="none"), None
    announcement = None
    recordings: Path | None
    if request.record:
        # A batch engine's memo asks its batch, not a server of its own (jsonl needs none).
        if not settings.live_configured and request.engine is None:
            raise UsageError("--record needs a live model: set OPENAI_API_KEY or pass --base-url")
        mode: Mode = "record"
        recordings = request.recordings or Path("recordings") / ticker
    elif request.offline or not (settings.live_configured or request.engine):
        mode = "replay"
        recordings = request.recordings or (bundle.recordings_dir if bundle else None)
        if recordings is None or not recordings.is_dir():
            where = f"in {request.recordings}" if request.recordings else f"bundled for {ticker}"
            raise UsageError(
                f"no recorded responses {where}, so it cannot run offline: set OPENAI_API_KEY or "
                "OPENAI_BASE_URL (or --base-url) to call a live model"
            )
        if not request.offline:
            announcement = (
                f"No OPENAI_API_KEY or OPENAI_BASE_URL set: replaying the recorded responses for "
                f"{ticker} from {recordings} (no network)."
            )
    else:
        mode = "live"
        recordings = None
    # A batch engine's memos are answered from the batch folder's answers.jsonl on a resume (its
    # cache), and every answer there was paid for once: the answer cache would hide that spend.
    cache = settings.cache and mode == "live" and not (request.engine and request.engine.fan_out)
    given_model = request.flags.get("model") is not None
    limits = Budget() if request.yes else Budget(settings.max_calls, settings.max_prompt_tokens)
    llm_settings = LLMSettings(
        mode=mode,
        model="" if mode == "replay" and not given_model else settings.model,
        base_url=settings.base_url if mode != "replay" else None,
        api_key=settings.api_key or None,
        temperature=settings.temperature,
        seed=settings.seed,
        timeout_s=settings.timeout,
        max_tokens=settings.max_tokens,
        structured_output=settings.structured_output,
        retry=request.retry or RetryPolicy.of(settings),
        recordings_dir=recordings,
        cache_dir=settings.resolved_cache_dir() if cache else None,
        budget=limits,
    )
    return llm_settings, announcement


def _edgar_plan(
    request: DraftRequest,
    ticker: str,
    bundle: Bundle | None,
    settings: Settings,
    llm_settings: LLMSettings,
) -> _EdgarPlan | None:
    """Whether and how the run reads SEC EDGAR. It follows the model: a live run fetches live
    and a recorded run records (both need the User-Agent the SEC requires), a replayed run
    replays the EDGAR session recorded beside the model's answers, so both come from the same
    day. Without a User-Agent, an EDGAR recording in the recordings folder stands in."""
    from .recording import recorded_stages

    if settings.edgar == "off" or request.facts_file is not None:
        return None
    needed = bundle is None and not request.sources  # the filings are all the run would have
    recordings = llm_settings.recordings_dir if llm_settings.mode == "replay" else None
    recordings = recordings or request.recordings or (bundle.recordings_dir if bundle else None)
    recorded = recordings is not None and "edgar" in recorded_stages(recordings)
    if not recorded and llm_settings.mode == "record" and bundle is not None:
        # Recording a bundle's answers elsewhere (--recordings) without a User-Agent: its EDGAR
        # session is replayed, and copied beside the new answers (see _run).
        recordings = bundle.recordings_dir
        recorded = "edgar" in recorded_stages(recordings)
    # auto: a bundle reads EDGAR only when its session was recorded with it (AAPL, not AREC)
    wanted = settings.edgar == "on" or needed or (bundle is not None and recorded)
    if not wanted:
        return None
    store = settings.resolved_cache_dir() / "edgar"
    agent = settings.edgar_user_agent
    if llm_settings.mode == "live" and agent:
        return _EdgarPlan("live", agent, None, store)
    if llm_settings.mode == "record" and agent:
        return _EdgarPlan("record", agent, llm_settings.recordings_dir, store)
    if llm_settings.mode == "none" and agent and not (request.offline or request.recordings):
        return _EdgarPlan("live", agent, None, store)
    if recorded:
        return _EdgarPlan("replay", None, recordings, store)
    if llm_settings.mode == "replay":
        raise UsageError(
            f"{ticker} has no EDGAR recording in {recordings or Path('recordings') / ticker} "
            "to replay: set a model (OPENAI_API_KEY or --base-url) and "
            'THESISGEN_EDGAR_USER_AGENT="Your Name you@example.com" to fetch its SEC filings '
            "live, or pass the company's documents with --source"
        )
    raise UsageError(
        f"reading {ticker}'s filings from SEC EDGAR needs a User-Agent naming you, as the SEC "
        'requires: set THESISGEN_EDGAR_USER_AGENT="Your Name you@example.com" (or '
        "edgar_user_agent in thesisgen.toml), or pass the company's documents with --source"
    )


def _from_edgar(plan: _Plan, first_source: int, progress: Progress, name: str | None) -> FromEdgar:
    """The filings and financial facts EDGAR holds for the plan's ticker, as of its date."""
    from .edgar import EdgarClient, EdgarSettings
    from .edgar_inputs import gather

    edgar = plan.edgar
    assert edgar is not None
    settings = plan.settings
    recordings = edgar.recordings
    if edgar.mode == "record":  # moved into the recordings folder with the model's, by _run
        recordings = Path(tempfile.mkdtemp(prefix="thesisgen-edgar-"))
    client = EdgarClient(
        EdgarSettings(
            mode=edgar.mode,
            user_agent=edgar.user_agent,
            rate=settings.edgar_rate,
            store_dir=edgar.store,
            recordings_dir=recordings,
            max_age_hours=settings.edgar_max_age_hours,
            retry=plan.llm_settings.retry,
            ticker=plan.ticker,
        )
    )
    progress.note(
        f"Reading {plan.ticker}'s SEC filings as of {plan.as_of.isoformat()} "
        + ("(replayed from " + str(edgar.recordings) + ")" if edgar.mode == "replay" else "(live)")
    )
    try:
        found = gather(
            client,
            plan.ticker,
            plan.as_of,
            store=edgar.store,
            first_source=first_source,
            eightk_days=settings.edgar_8k_days,
            max_filings=settings.edgar_max_filings,
            max_source_bytes=_mb(settings.max_source_mb),
            note=progress.note,
            name=name,
        )
    except BaseException:
        if edgar.mode == "record" and recordings is not None:  # nothing of it is kept
            shutil.rmtree(recordings, ignore_errors=True)
        raise
    finally:
        client.close()
    return replace(found, recorded=recordings if edgar.mode == "record" else None)


def _starting_point(
    plan: _Plan, progress: Progress
) -> tuple[FactSet | None, str, list[Source], FromEdgar | None]:
    """An analyst's ledger (checked and re-grounded), or sources: the bundle's or the --source
    files, then (when the run reads EDGAR) the company's filings after them."""
    from .sources import load_sources

    request, bundle, settings = plan.request, plan.bundle, plan.settings
    if request.facts_file is not None:
        factset = _load_ledger(
            request.facts_file,
            plan.ticker,
            _folders(request.facts_file, bundle, settings, request.sources),
            plan.identifiers,
            settings,
            progress,
        )
        check_point_in_time(factset, plan.as_of)
        return _with_aliases(factset, plan.aliases), factset.company, [], None
    paths = list(request.sources)
    if not paths and bundle is not None and bundle.sources_dir.is_dir():
        paths = [bundle.sources_dir]
    sources = (
        load_sources(paths, warn=progress.note, max_bytes=_mb(settings.max_source_mb))
        if paths
        else []
    )
    if not sources and plan.edgar is None:
        raise UsageError(
            f"nothing to read for {plan.ticker}: its bundle holds no documents besides its EDGAR "
            "session, which --edgar off leaves out; pass documents with --source, or drop "
            "--edgar off"
        )
    name = request.company or (bundle.company if bundle else None)  # else EDGAR's
    edgar = _from_edgar(plan, len(sources) + 1, progress, name) if plan.edgar else None
    company = name or (edgar.company if edgar else plan.ticker)
    return None, company, [*sources, *(edgar.sources if edgar else [])], edgar


def _folders(
    facts_file: Path | None,
    bundle: Bundle | None,
    settings: Settings,
    sources: Sequence[Path] = (),
) -> list[Path]:
    """Where a facts file's sources may be: beside it, in the bundle, among the --source paths,
    in the EDGAR store (filing sections and XBRL company facts)."""
    folders = [facts_file.parent] if facts_file else []
    if bundle is not None:
        folders.append(bundle.sources_dir)
    folders.append(settings.resolved_cache_dir() / "edgar")
    return folders + [p if p.is_dir() else p.parent for p in sources]


def _aliases(bundle: Bundle | None, settings: Settings) -> list[str]:
    """The company's other names: the bundle's and the config file's."""
    return list(dict.fromkeys([*(bundle.aliases if bundle else []), *settings.aliases]))


def _with_aliases(factset: FactSet, aliases: Sequence[str]) -> FactSet:
    merged = list(dict.fromkeys([*factset.aliases, *aliases]))
    return factset if merged == factset.aliases else factset.model_copy(update={"aliases": merged})


def _load_ledger(
    path: Path,
    ticker: str | None,
    folders: Sequence[Path],
    identifiers: Sequence[str],
    settings: Settings,
    progress: Progress | None,
) -> FactSet:
    """A facts file, checked and re-grounded: every quote must still occur in its source."""
    factset = load_model(path, FactSet, "facts file", _mb(settings.max_json_mb))
    if ticker is not None and factset.ticker.upper() != ticker:
        raise UsageError(
            f"facts file {path} is for {factset.ticker}, not {ticker}: pass the matching --ticker"
        )
    return _ground_ledger(factset, path, folders, identifiers, settings, progress)


def _ground_ledger(
    factset: FactSet,
    path: Path,
    folders: Sequence[Path],
    identifiers: Sequence[str],
    settings: Settings,
    progress: Progress | None,
) -> FactSet:
    """A loaded ledger checked and re-grounded against the source files in ``folders``."""
    from .recheck import check_factset, reground

    problems = check_factset(factset, identifiers)
    if not problems:
        files = _source_files(factset, folders)
        factset, problems, notes = reground(factset, files, _mb(settings.max_source_mb))
        for note in notes:
            if progress is not None:
                progress.note(note)
    if problems:
        raise InputFileError(
            f"facts file {path}: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + ("" if problems[0].endswith(": remove one") else ": fix or remove that fact")
        )
    return factset


def _source_files(factset: FactSet, folders: Sequence[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for info in factset.sources:
        if not info.path:
            continue
        if Path(info.path).name != info.path or info.path in (".", ".."):
            raise InputFileError(
                f"facts file: source {info.id}'s path '{info.path}' is not a file name; the "
                "ledger names its sources by file name, found beside it: fix the 'path'"
            )
        for folder in folders:
            candidate = folder / info.path
            if candidate.is_file():
                found[info.id] = candidate
                break
    return found


def extract_options(settings: Settings) -> ExtractOptions:
    from .facts import ExtractOptions

    return ExtractOptions(
        extract=settings.extract,
        rules_fallback=settings.rules_fallback,
        chunk_chars=settings.chunk_chars,
        chunk_overlap=settings.chunk_overlap,
        max_verbatim_chars=settings.max_verbatim_chars,
        max_rules_facts=settings.max_rules_facts,
        max_restatements=settings.max_restatements,
        max_conflicts_per_fact=settings.max_conflicts_per_fact,
        concurrency=settings.concurrency,
    )


def gate_options(settings: Settings) -> GateOptions:
    """What the gate takes from the settings: how far a figure may round its fact."""
    from .validate import GateOptions

    return GateOptions(rounding_tolerance=Decimal(str(settings.rounding_tolerance)))


def kept_summary(factset: FactSet) -> str:
    """'kept 40 grounded facts (25 model-written, 10 verbatim, 5 rules), dropped 12'."""
    from .notation import kinds_text

    replaced = len(factset.dropped) - len(factset.lost)
    return (
        f"kept {len(factset.facts)} grounded facts ({kinds_text(factset.kinds())}), "
        f"dropped {len(factset.lost)}"
        + (
            f" ({replaced} more proposed statements misstated their evidence: another fact stands "
            "in for each)"
            if replaced
            else ""
        )
    )


def _estimate(plan: _Plan, inputs: _Inputs) -> budget.Estimate:
    """The whole run's calls and prompt tokens, from its sources (or ledger) and settings."""
    from . import budget
    from .evidence import chunk

    settings = plan.settings
    chunks = [
        len(c.text())
        for n in (inputs.numbered if settings.extract == "model" else [])
        for c in chunk(n, settings.chunk_chars, settings.chunk_overlap)
        if c.citable
    ]
    return budget.estimate(
        chunks,
        len(inputs.factset.facts) if inputs.factset is not None else None,
        0 if plan.facts_only else len(inputs.outline.sections),
        settings.max_repairs,
        plan.llm_settings.reasks,
        settings.model,
        settings.prices,
        settings.max_facts_per_section,
        settings.max_restatements,
        plan.verify_sentences,
    )


def _verify_sentences(settings: Settings, facts_only: bool = False) -> int:
    """The most sentences the model check reads in this run (0: it does not run)."""
    return 0 if settings.verify == "off" or facts_only else settings.max_verify_sentences


def _check_verify_recordings(
    settings: Settings, llm_settings: LLMSettings, ticker: str, facts_only: bool
) -> None:
    """Replaying with --verify needs recordings of the verify stage: say so before any work,
    rather than at the first sentence, after the drafting has been replayed."""
    from .recording import recorded_stages

    folder = llm_settings.recordings_dir
    if not _verify_sentences(settings, facts_only) or llm_settings.mode != "replay" or not folder:
        return
    if "verify" not in recorded_stages(folder):
        raise RecordingError(
            f"--verify {settings.verify} asks the model to check each sentence, but {folder} "
            "holds no recording of the verify stage, so it cannot run offline: drop --verify "
            "(it is off by default), set OPENAI_API_KEY or OPENAI_BASE_URL to call a live model, "
            f"or record the checks with `thesisgen record --ticker {ticker} --verify "
            f"{settings.verify}`"
        )


@contextlib.contextmanager
def _recordings_set(
    llm_settings: LLMSettings, out: OutputSet
) -> Iterator[tuple[LLMSettings, OutputSet | None]]:
    """For --record: a set of our own for the recordings folder (or the output set itself when the
    two folders are one), whose staging folder the recording transport writes into."""
    from .recording import is_recording, recording_files

    folder = llm_settings.recordings_dir
    if llm_settings.mode != "record" or folder is None:
        yield llm_settings, None
        return
    foreign = [p for p in recording_files(folder) if not is_recording(p)]
    if foreign:
        raise UsageError(
            f"{foreign[0]} is not a thesisgen recording and --record would replace it: move it "
            "away or choose another --recordings folder"
        )
    if folder.resolve() == out.folder.resolve():
        yield replace(llm_settings, recordings_dir=out.staging / "recordings"), out
        return
    with OutputSet(folder, (), force=True, what="--recordings") as recordings:
        yield replace(llm_settings, recordings_dir=recordings.staging / "recordings"), recordings


def _commit_recordings(recordings: OutputSet, staged: Path, progress: Progress) -> None:
    """Move the new recordings into their folder. Only recordings are ever replaced."""
    from .recording import is_recording

    names = sorted(p.name for p in staged.glob("*.json")) if staged.is_dir() else []
    for name in names:
        target = recordings.folder / name
        if target.exists() and not is_recording(target):
            raise UsageError(
                f"{target} exists and is not a thesisgen recording: move it away or choose "
                "another --recordings folder (nothing was replaced)"
            )
    for name in names:
        (staged / name).replace(recordings.staging / name)
    recordings.commit(names, None)
    progress.note(f"Recorded {len(names)} call(s) to {recordings.folder}")


# --- draft and facts: one function per stage ------------------------------------------------------


def draft(request: DraftRequest, progress: Progress) -> DraftOutcome:
    """`thesisgen draft` and `record`: extract (or load) the ledger, draft, validate, write."""
    plan = plan_draft(request)
    outcome = draft_planned(plan, read_inputs(plan, progress), progress)
    if not outcome.report.ok:
        raise GateFailedError(outcome.message)
    return outcome


def plan_draft(request: DraftRequest) -> _Plan:
    """A draft run checked before any work (`thesisgen batch` plans every memo first)."""
    return _plan(request, facts_only=False)


def read_inputs(plan: _Plan, progress: Progress) -> _Inputs:
    """A planned run's ledger or sources and outline; a run alone checks its budget here, a
    batch run checks the whole universe's (:func:`estimate_of`) before it submits anything."""
    return _inputs(plan, progress)


def estimate_of(plan: _Plan, inputs: _Inputs) -> budget.Estimate:
    return _estimate(plan, inputs)


def inputs_digest(inputs: _Inputs) -> str:
    """One hash over what a run's requests are made of: its sources, outline and XBRL facts (a
    batch run's resume refuses changed inputs, whose requests would be paid for again)."""
    import hashlib

    digest = hashlib.sha256()
    for numbered in inputs.numbered:
        digest.update(f"{numbered.source.id}:{numbered.source.sha256}\n".encode())
    digest.update(repr(inputs.outline).encode())
    for fact in inputs.edgar.financials if inputs.edgar else []:
        digest.update(fact.model_dump_json().encode())
    return digest.hexdigest()


# What `thesisgen batch` holds of a planned memo between its planning and its stages.
Plan = _Plan
Inputs = _Inputs


def draft_planned(plan: _Plan, inputs: _Inputs, progress: Progress) -> DraftOutcome:
    """Draft, validate and write a planned run; the outcome's ``message`` says why the gate
    failed when it did (the caller decides whether that is an error)."""
    outcome, job = _run(plan, inputs, progress, lambda job: _draft_stages(job, inputs))
    return replace(outcome, message=job.gate_message) if not outcome.report.ok else outcome


def facts(request: DraftRequest, progress: Progress) -> DraftOutcome:
    """`thesisgen facts`: extract and ground the ledger from sources, write it and stop. An empty
    ledger is not an error here: the outcome's report says ok=False and the CLI exits 1."""
    if request.facts_file is not None:
        raise UsageError("`thesisgen facts` extracts a ledger from sources: drop --facts")
    plan = _plan(request, facts_only=True)
    inputs = _inputs(plan, progress)
    outcome, _ = _run(plan, inputs, progress, lambda job: job.write_ledger(job.extract(inputs)))
    return outcome


def _draft_stages(job: _DraftJob, inputs: _Inputs) -> DraftOutcome:
    factset = inputs.factset if inputs.factset is not None else job.extract(inputs)
    if not factset.facts:
        return job.no_facts(factset)
    return job.write_draft(factset, job.draft(factset, inputs.outline))


def _plan(request: DraftRequest, facts_only: bool) -> _Plan:
    """Everything that can be checked before reading a source: the ticker or its documents, the
    settings, the model or its recordings, the template."""
    ticker = check_ticker(request.ticker)
    bundle = _bundle_or_none(ticker)
    settings = resolve(request.flags, config_path=request.config).settings
    as_of = request.as_of or (bundle.as_of if bundle else None) or dt.date.today()
    no_input = bundle is None and request.facts_file is None and not request.sources
    no_model = facts_only and settings.extract == "rules"  # rules and XBRL need no model
    fetches = settings.live_configured or (no_model and settings.edgar_user_agent)
    if no_input and not (fetches or request.recordings or request.record):
        known = ", ".join(bundled_tickers()) or "none"
        raise UsageError(
            f"no bundle for ticker {ticker} (bundled: {known}): to draft from its SEC filings, "
            'set a model (OPENAI_API_KEY or --base-url) and THESISGEN_EDGAR_USER_AGENT="Your '
            'Name you@example.com"; or pass its documents with --source PATH'
        )
    if no_input and settings.edgar == "off":
        known = ", ".join(bundled_tickers()) or "none"
        raise UsageError(
            f"no bundle for ticker {ticker} (bundled: {known}) and --edgar off: pass its "
            "documents with --source PATH, a facts file with --facts FACTS.json, or drop "
            "--edgar off to read its SEC filings"
        )
    llm_settings, announcement = _llm_settings(request, ticker, bundle, settings, facts_only)
    edgar = _edgar_plan(request, ticker, bundle, settings, llm_settings)
    if edgar is not None:  # refuse a taken --out before fetching from EDGAR
        names = FACTS_OUTPUTS if facts_only else DRAFT_OUTPUTS
        OutputSet(_out_folder(request, ticker), names, request.force).precheck()
    _check_verify_recordings(settings, llm_settings, ticker, facts_only)
    from .render.docx import check_template  # python-docx only where a .docx is written or read

    check_template(request.template)
    return _Plan(
        request=request,
        ticker=ticker,
        bundle=bundle,
        settings=settings,
        llm_settings=llm_settings,
        announcement=announcement,
        identifiers=[*(bundle.identifiers if bundle else []), *settings.identifiers],
        aliases=_aliases(bundle, settings),
        facts_only=facts_only,
        as_of=as_of,
        edgar=edgar,
    )


def _inputs(plan: _Plan, progress: Progress) -> _Inputs:
    """The ledger or sources and the outline; for a live run, the estimate, checked against the
    budget before the first call."""
    from .evidence import Numbered
    from .prompts import load_outline

    factset, company, sources, edgar = _starting_point(plan, progress)
    bundle = plan.bundle
    outline = load_outline(plan.request.outline or (bundle.outline_file if bundle else None))
    inputs = _Inputs(factset, company, [Numbered.of(s) for s in sources], outline, edgar)
    if plan.llm_settings.mode != "replay" and plan.request.engine is None:
        from . import budget

        estimate = _estimate(plan, inputs)
        progress.note(estimate.describe())
        if not plan.request.yes:
            budget.check(estimate, plan.settings.max_calls, plan.settings.max_prompt_tokens)
    return inputs


def _out_folder(request: DraftRequest, ticker: str) -> Path:
    out_folder = request.out or Path("out") / ticker
    source_folders = [p for p in request.sources if p.is_dir()]
    if any(out_folder.resolve() == p.resolve() for p in source_folders):
        raise UsageError(
            f"--out {out_folder} is also a --source folder: the memo would be read back as a "
            "source next time; choose another --out"
        )
    return out_folder


def _run(
    plan: _Plan,
    inputs: _Inputs,
    progress: Progress,
    stages: Callable[[_DraftJob], DraftOutcome],
) -> tuple[DraftOutcome, _DraftJob]:
    """Run ``stages`` inside the run's output set (and its recordings' set, for --record); a
    failure, an interrupt or a spent budget is written down in the set's manifest."""
    names = FACTS_OUTPUTS if plan.facts_only else DRAFT_OUTPUTS + MEMO_EXTRAS
    out_folder = _out_folder(plan.request, plan.ticker)
    with (
        OutputSet(out_folder, names, plan.request.force) as out,
        _recordings_set(plan.llm_settings, out) as (llm_settings, recordings),
    ):
        if out.replacing:
            progress.note(f"Replacing the unfinished run in {out.folder} (status {out.replacing}).")
        if plan.announcement:
            progress.note(plan.announcement)
        edgar = inputs.edgar
        if edgar is not None and edgar.recorded is not None and llm_settings.recordings_dir:
            llm_settings.recordings_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(edgar.recorded.glob("edgar-*.json")):  # maybe another filesystem
                shutil.move(path, llm_settings.recordings_dir / path.name)
            shutil.rmtree(edgar.recorded, ignore_errors=True)
        copied = plan.edgar
        if (
            llm_settings.mode == "record"
            and copied is not None
            and copied.mode == "replay"
            and copied.recordings is not None
            and llm_settings.recordings_dir is not None
        ):  # the EDGAR session this run replayed belongs with its answers: a replay reads both
            llm_settings.recordings_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(copied.recordings.glob("edgar-*.json")):
                shutil.copyfile(path, llm_settings.recordings_dir / path.name)
        job = _DraftJob(plan, inputs.company, llm_settings, out, progress)
        try:
            outcome = stages(job)
        except KeyboardInterrupt:
            job.llm.cancel()
            job.fail("interrupted", "interrupted by the user (Ctrl-C)")
            raise CancelledError("interrupted: no memo was written" + job.kept_note()) from None
        except CancelledError as exc:
            job.fail("interrupted", str(exc))
            raise
        except (ModelServiceError, BudgetExceededError) as exc:
            job.llm.cancel()
            status: RunStatus = (
                "budget_exceeded" if isinstance(exc, BudgetExceededError) else "service_failed"
            )
            job.fail(status, str(exc))
            raise exc.amended(job.kept_note()) from None
        finally:
            job.llm.close()
            progress.close()
        if recordings is not None and llm_settings.recordings_dir is not None:
            _commit_recordings(recordings, llm_settings.recordings_dir, progress)
        return outcome, job


class _DraftJob:
    """One draft run's state: the client, the calls made so far, and how to write its set."""

    def __init__(
        self,
        plan: _Plan,
        company: str,
        llm_settings: LLMSettings,
        out: OutputSet,
        progress: Progress,
    ) -> None:
        from .llm import LLM

        self.request = plan.request
        self.ticker = plan.ticker
        self.company = company
        self.settings = plan.settings
        self.llm_settings = llm_settings  # the plan's, writing into the recordings' staging
        self.identifiers = plan.identifiers
        self.aliases = plan.aliases
        self.facts_only = plan.facts_only
        self.as_of = plan.as_of
        self.out = out
        self.progress = progress
        self.engine = plan.request.engine
        self.llm = LLM(llm_settings, network=self.engine.network if self.engine else None)
        # Replayed answers arrive without waiting: calls in flight together would only take turns
        # at the interpreter, so a replay makes them one at a time (the outputs are the same).
        # A batch engine asks a stage's calls all at once: they are answered together anyway.
        self.concurrency = 1 if llm_settings.mode == "replay" else plan.settings.concurrency
        if self.engine is not None and self.engine.fan_out and llm_settings.mode != "replay":
            self.concurrency = self.engine.fan_out
        self.calls: list[CallRecord] = []
        self.factset: FactSet | None = None
        self.section_facts: dict[str, list[str]] = {}
        self.gate_message = ""
        self._kept_complete = False

    # --- the stages -------------------------------------------------------------------------------

    def extract(self, inputs: _Inputs) -> FactSet:
        """The ledger from the sources: facts proposed, grounded, merged; conflicts found."""
        from .facts import extract_facts

        sources = [n.source for n in inputs.numbered]
        if not sources:  # EDGAR's financial facts only: nothing for the model to read
            factset = FactSet(ticker=self.ticker, company=self.company, aliases=self.aliases,
                              sources=[], facts=[])  # fmt: skip
            return self._with_financials(factset, inputs.edgar)
        self.progress.stage(
            f"Extracting facts from {len(sources)} source(s)",
            [(s.id, f"facts {s.id}") for s in sources],
        )
        result = extract_facts(
            self.llm,
            self.company,
            self.ticker,
            sources,
            self.identifiers,
            replace(extract_options(self.settings), concurrency=self.concurrency),
            on_event=self.progress.event,
            numbered=inputs.numbered,
            aliases=self.aliases,
        )
        self.calls += result.calls
        factset = self._with_financials(result.factset, inputs.edgar)
        self.progress.note(f"  {kept_summary(factset)}")
        return factset

    def _with_financials(self, factset: FactSet, edgar: FromEdgar | None) -> FactSet:
        """The ledger with EDGAR's XBRL facts after the extracted ones (numbered on from them),
        citing the company-facts source, and EDGAR's notes among its warnings."""
        if edgar is not None:
            first = len(factset.facts) + 1
            financials = [
                fact.model_copy(update={"id": f"F{first + n}"})
                for n, fact in enumerate(edgar.financials)
            ]
            factset = factset.model_copy(
                update={
                    "sources": [
                        *factset.sources,
                        *([edgar.xbrl_source] if edgar.xbrl_source else []),
                    ],
                    "facts": [*factset.facts, *financials],
                    "warnings": [*factset.warnings, *edgar.notes],
                }
            )
        self.factset = factset
        return factset

    def draft(self, factset: FactSet, outline: Outline) -> _Drafted:
        """Each section drafted and repaired through the gate, then (--verify) the model check."""
        from . import budget
        from .draft import draft_memo
        from .render import checked_memo, key_figures

        self.factset = factset
        settings = self.settings
        if self.llm_settings.mode != "replay" and not self.request.yes:
            # The ledger's real size is known now: check the drafting budget before spending it.
            plan = budget.estimate(
                [], len(factset.facts), len(outline.sections), settings.max_repairs,
                self.llm_settings.reasks, settings.model, settings.prices,
                settings.max_facts_per_section, verify_sentences=_verify_sentences(settings),
            )  # fmt: skip
            spent = plan.after(self.llm.live_calls, self.llm.spent.prompt_tokens)
            budget.check(spent, settings.max_calls, settings.max_prompt_tokens)
        self.progress.stage(
            f"Drafting {len(outline.sections)} sections",
            [(s.key, f"draft {s.key}") for s in outline.sections],
        )
        gate = gate_options(settings)
        result = draft_memo(
            self.llm,
            factset,
            outline,
            self.identifiers,
            self.concurrency,
            settings.max_repairs,
            on_event=self.progress.event,
            max_facts=settings.max_facts_per_section,
            gate=gate,
        )
        self.calls += result.calls
        self.section_facts = result.section_facts
        memo = checked_memo(result.memo, key_figures(result.memo, result.ledger))
        verification = self._verify(memo, factset) if _verify_sentences(settings) else None
        return _Drafted(result, memo, verification)

    def _verify(self, memo: Memo, factset: FactSet) -> Verification:
        """The model check of the final draft (--verify): once, after the repairs, so that the
        sentences it reads, and so its requests, are the same in every run of the same draft."""
        from .verify import EVENT_KEY, checks, verify_memo

        settings = self.settings
        todo = checks(memo, factset)
        asked = min(len(todo), settings.max_verify_sentences)
        self.progress.stage(
            f"Checking {asked} sentence(s) against their cited facts (--verify {settings.verify})",
            [(EVENT_KEY, "model check")],
        )
        verification = verify_memo(
            self.llm, factset, todo, settings.verify, settings.max_verify_sentences,
            self.concurrency, on_event=self.progress.event,
        )  # fmt: skip
        self.calls += verification.calls
        for warning in verification.warnings:
            self.progress.note(f"  warning: {warning}")
        return verification

    # --- the sets a run writes ----------------------------------------------------------------

    def _manifest(self, status: RunStatus, error: str | None = None) -> Manifest:
        calls = self.calls
        live = self.llm_settings.mode != "replay"
        factset = self.factset
        from . import __version__
        from .cost import cost_usd
        from .prompts import templates_sha256

        return Manifest(
            status=status,
            error=error,
            thesisgen_version=__version__,
            created_at=dt.datetime.now(dt.UTC),
            ticker=self.ticker,
            as_of=self.as_of,
            mode=self.llm_settings.mode,
            model=self.llm.model,
            base_url=public_url(self.llm_settings.base_url) if live else None,
            provenance=list(self.llm.replay.provenance) if self.llm.replay else [],
            parameters={
                "temperature": self.llm_settings.temperature,
                "seed": self.llm_settings.seed,
                "max_repairs": self.settings.max_repairs,
                "concurrency": self.settings.concurrency,
                "timeout_s": self.llm_settings.timeout_s,
                "max_facts_per_section": self.settings.max_facts_per_section,
                **({"max_tokens": self.settings.max_tokens} if self.settings.max_tokens else {}),
                **(
                    {
                        "verify": self.settings.verify,
                        "max_verify_sentences": self.settings.max_verify_sentences,
                    }
                    if _verify_sentences(self.settings, self.facts_only)
                    else {}
                ),
            },
            prompt_templates_sha256=templates_sha256(),
            sources=[
                ManifestSource(id=s.id, path=s.path, sha256=s.sha256)
                for s in (factset.sources if factset else [])
            ],
            structured_output=self.llm.wire_format,
            calls=calls,
            model_calls=self.llm.live_calls,
            cache_hits=sum(1 for c in calls if c.cached),
            # The client's counts, not the sum of `calls`: they include the answers of calls that
            # failed and of a stage that did not finish, so a failed run records its spend too.
            usage=self.llm.usage,
            usage_by_stage=dict(self.llm.usage_by_stage),
            spent=self.llm.spent,
            cost_usd=self._cost(cost_usd(self.llm.model, self.llm.spent, self.settings.prices))
            if live
            else None,
            facts_from=str(self.request.facts_file) if self.request.facts_file else None,
            section_facts=self.section_facts,
            engine=self.engine.name if self.engine else None,
            batch_ids=self.engine.batch_ids() if self.engine else [],
        )

    def _cost(self, live_cost: float | None) -> float | None:
        """At the engine's prices: a batch engine's tokens cost a share of the live ones."""
        if live_cost is None or self.engine is None:
            return live_cost
        return live_cost * self.engine.price_factor

    def _commit(self, files: dict[str, bytes], manifest: Manifest) -> None:
        for name, data in files.items():
            manifest.outputs[name] = self.out.stage(name, data)
        if "memo.docx" in self.out.names and (self.out.staging / "memo.docx").is_file():
            manifest.outputs["memo.docx"] = self.out.hash_staged("memo.docx")
        names = list(manifest.outputs)
        self.out.commit(names, dump_model(manifest))

    def fail(self, status: RunStatus, error: str) -> None:
        """Write what a stopped run has (its ledger, if extraction finished, and a manifest with
        its status and spend), unless that would displace a complete set already in --out."""
        if self.out.holds_complete_set():
            self._kept_complete = True
            return
        files = {"facts.json": dump_model(self.factset)} if self.factset is not None else {}
        self._commit(files, self._manifest(status, error))

    def kept_note(self) -> str:
        if self._kept_complete:
            return f" (the complete memo already in {self.out.folder} was left as it was)"
        return f" (spend and status in {self.out.folder / 'manifest.json'})"

    def write_ledger(self, factset: FactSet) -> DraftOutcome:
        """`thesisgen facts`: the ledger is the set."""
        manifest = self._manifest("complete")
        self._commit({"facts.json": dump_model(factset)}, manifest)
        return DraftOutcome(self.out.folder, _ledger_report(factset), manifest, factset)

    def no_facts(self, factset: FactSet) -> DraftOutcome:
        """No fact survived grounding: nothing to cite, so no memo; the ledger says why."""
        self.factset = factset
        report = _ledger_report(factset)
        self.gate_message = (
            f"no proposed fact survived grounding ({len(factset.dropped)} dropped, reasons "
            f"in {self.out.folder / 'facts.json'}): the memo would have nothing to cite; try a "
            "stronger model or check the sources (no memo was written)"
        )
        manifest = self._manifest("gate_failed", self.gate_message)
        if not self.out.holds_complete_set():
            self._commit(
                {"facts.json": dump_model(factset), "report.json": dump_model(report)}, manifest
            )
        return DraftOutcome(self.out.folder, report, manifest, factset)

    def write_draft(self, factset: FactSet, drafted: _Drafted) -> DraftOutcome:
        """The memo validated once more (with the model check's findings), then the set: the
        memo and the draft only if the gate passed or --allow-flagged."""
        from .render import MemoContext
        from .render.markdown import render_markdown, render_report
        from .validate import validate_memo

        result, memo, verification = drafted.result, drafted.memo, drafted.verification
        gate = gate_options(self.settings)
        report = validate_memo(memo, factset, self.identifiers, gate, result.ledger).model_copy(
            update={"repairs": result.repairs}
        )
        if verification is not None:
            from .verify import with_verification  # only a --verify run checked the sentences

            report = with_verification(report, verification, memo)
        write_memo = report.ok or self.request.allow_flagged
        files: dict[str, bytes] = {
            "facts.json": dump_model(factset),
            "report.json": dump_model(report),
            "report.md": render_report(report, write_memo).encode("utf-8"),
        }
        status: RunStatus = "complete"
        if not report.ok:
            failed = sorted({v.section for v in report.violations})
            where = f"see {self.out.folder / 'report.md'}"
            checked = sum(1 for v in report.violations if v.kind == "model_contradicted")
            self.gate_message = (
                f"the memo did not pass the gate: {len(report.violations)} violation(s) remain in "
                f"{', '.join(failed)} after {self.settings.max_repairs} repair(s)"
                + (
                    f" ({checked} of them the model check's, --verify gate: it reads the final "
                    "draft, so a sentence it finds contradicted is not sent back for repair)"
                    if checked
                    else ""
                )
                + f"; {where}"
                + (
                    " (the memo was written with those sentences flagged)"
                    if write_memo
                    else " (no memo was written; --allow-flagged writes it, flagged)"
                )
            )
            status = "flagged" if write_memo else "gate_failed"
        manifest = self._manifest(status, self.gate_message or None)
        if write_memo:
            from .render.docx import render_docx

            context = MemoContext(
                as_of=self.as_of,
                report=report,
                model=self.llm.model,
                mode=self.llm_settings.mode,
                provenance=", ".join(manifest.provenance),
                manifest=manifest,
                flagged=not report.ok,
            )
            files["draft.json"] = dump_model(result.memo)
            files["memo.md"] = render_markdown(memo, factset, context).encode("utf-8")
            files.update(_chart_file(memo, factset))
            render_docx(
                memo, factset, context, self.out.staged_path("memo.docx"), self.request.template
            )
        elif self.out.holds_complete_set():
            self._kept_complete = True
            self.gate_message = (
                self.gate_message.replace(f"; see {self.out.folder / 'report.md'}", "")
                + self.kept_note()
            )
            return DraftOutcome(self.out.folder, report, manifest)
        self._commit(files, manifest)
        return DraftOutcome(self.out.folder, report, manifest)


def _chart_file(memo: Memo, factset: FactSet) -> dict[str, bytes]:
    """chart.png, the picture memo.md links, when the memo has a chart (the DOCX embeds the same
    bytes: drawing is deterministic and cached)."""
    from .render import memo_chart
    from .render.chart import draw

    drawn = memo_chart(memo, factset)
    return {CHART_FILE: draw(drawn.chart)} if drawn is not None else {}


def _ledger_report(factset: FactSet) -> Report:
    """The report of a run that stopped at the ledger: nothing drafted, what was dropped and why;
    ok when a fact was kept."""
    return Report(
        ok=bool(factset.facts),
        sentences=0,
        figures_checked=0,
        facts_cited=0,
        violations=[],
        dropped_facts=factset.dropped,
        conflicts=factset.conflicts,
        warnings=factset.warnings,
        fact_kinds=factset.kinds(),
    )


# --- validate and render -------------------------------------------------------------------------


def _pair(
    draft_path: Path, facts_path: Path, config: Path | None, progress: Progress | None
) -> tuple[Memo, FactSet, list[str], GateOptions]:
    """A draft and its ledger, size-capped, the ledger re-grounded against the sources beside it,
    and the gate's options from the settings."""
    settings = resolve({}, config_path=config).settings
    memo = load_model(draft_path, Memo, "draft", _mb(settings.max_json_mb))
    ticker = check_ticker(memo.ticker)
    bundle = _bundle_or_none(ticker)
    identifiers = [*(bundle.identifiers if bundle else []), *settings.identifiers]
    aliases = _aliases(bundle, settings)
    folders = _folders(facts_path, bundle, settings)
    factset = _with_aliases(
        _load_ledger(facts_path, None, folders, identifiers, settings, progress), aliases
    )
    if memo.ticker.upper() != factset.ticker.upper():
        raise UsageError(
            f"draft {draft_path} is for {memo.ticker} but facts {facts_path} are for "
            f"{factset.ticker}: pass the matching facts file"
        )
    return memo, factset, identifiers, gate_options(settings)


def check_point_in_time(factset: FactSet, as_of: dt.date) -> None:
    """A memo dated ``as_of`` cites nothing filed later: an XBRL fact filed, or an SEC filing
    published, after that date would be look-ahead (exit 2)."""
    from .filings import DATA, WWW

    late = [
        f"{f.id} (filed {f.filed.filed.isoformat()})"
        for f in factset.facts
        if f.filed is not None and f.filed.filed > as_of
    ]
    late += [
        f"source {s.id} (filed {s.published.isoformat()})"
        for s in factset.sources
        if s.published and s.published > as_of and (s.url or "").startswith((f"{WWW}/", f"{DATA}/"))
    ]
    if late:
        raise UsageError(
            f"the ledger holds what was filed after the memo date {as_of.isoformat()}: "
            f"{', '.join(late[:3])}"
            + (f" and {len(late) - 3} more" if len(late) > 3 else "")
            + "; pass a later --as-of, or draft again as of that date"
        )


def _memo_date(as_of: dt.date | None, folder: Path, factset: FactSet) -> dt.date:
    """The date a memo is checked or rendered as of: the one given, else the date its run
    recorded, else its bundle's, else today."""
    if as_of is not None:
        return as_of
    manifest = _recorded_manifest(folder)
    if manifest is not None and manifest.as_of is not None:
        return manifest.as_of
    bundle = _bundle_or_none(check_ticker(factset.ticker))
    return (bundle.as_of if bundle else None) or dt.date.today()


@dataclass(frozen=True)
class Checked:
    """What `thesisgen validate` found: the gate's report and, for an edited .docx whose page-1
    validation line does not match its text, why that line no longer holds."""

    report: Report
    stale: dict[str, str] | None = None


def validate(
    path: Path,
    facts_path: Path,
    config: Path | None = None,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
) -> Checked:
    """Check a draft.json, or a memo.docx as a reviewer left it, against the ledger, as of the
    memo's date (:func:`_memo_date`): nothing filed later may be cited, and sources older than a
    year then are noted on stderr, as the memo comments them."""
    from .render import old_sources
    from .validate import validate_memo

    if is_word_file(path):
        checked, factset = _validate_docx(path, facts_path, config, progress)
    else:
        memo, factset, identifiers, gate = _pair(path, facts_path, config, progress)
        checked = Checked(validate_memo(memo, factset, identifiers, gate))
    date = _memo_date(as_of, path.parent, factset)
    check_point_in_time(factset, date)
    if progress is not None:
        for note in old_sources(factset, date).values():
            progress.note(note)
    return checked


def _validate_docx(
    path: Path, facts_path: Path, config: Path | None, progress: Progress | None
) -> tuple[Checked, FactSet]:
    from . import readback  # python-docx is imported only for a .docx
    from .validate import validate_sections

    settings = resolve({}, config_path=config).settings
    # The ledger's ticker picks the bundle (identifiers, sources) before it is re-grounded.
    loaded = load_model(facts_path, FactSet, "facts file", _mb(settings.max_json_mb))
    edited = readback.read_memo(path, _mb(settings.max_source_mb))
    ticker = check_ticker(loaded.ticker)
    if edited.ticker is not None and edited.ticker.upper() != ticker:
        raise UsageError(
            f"memo {path} is for {edited.ticker} but facts {facts_path} are for {ticker}: "
            "pass the matching facts file"
        )
    bundle = _bundle_or_none(ticker)
    identifiers = [*(bundle.identifiers if bundle else []), *settings.identifiers]
    aliases = _aliases(bundle, settings)
    folders = _folders(facts_path, bundle, settings)
    factset = _with_aliases(
        _ground_ledger(loaded, facts_path, folders, identifiers, settings, progress), aliases
    )
    report = validate_sections(edited.sections, factset, identifiers, gate_options(settings))
    return Checked(report, _staleness(edited)), factset


def _staleness(edited: EditedMemo) -> dict[str, str] | None:
    """Does the page-1 validation line still describe this text?"""
    if edited.recorded_hash is None:
        return {
            "reason": "no_validation_line",
            "message": "the memo has no validation line on page 1, so it carries no record of a "
            "check; this run's result is the only one that applies",
            "current_hash": edited.current_hash,
        }
    if edited.recorded_hash != edited.current_hash:
        when = edited.recorded_date.isoformat() if edited.recorded_date else "an unknown date"
        return {
            "reason": "edited",
            "message": f"the text was edited after the check on page 1 ({when}, text hash "
            f"{edited.recorded_hash}); that line no longer applies: this run's result does",
            "recorded_hash": edited.recorded_hash,
            "recorded_date": edited.recorded_date.isoformat() if edited.recorded_date else "",
            "current_hash": edited.current_hash,
        }
    return None


def render(
    draft_path: Path,
    facts_path: Path,
    out: Path | None,
    force: bool,
    template: Path | None,
    as_of: dt.date | None,
    config: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """The memo re-rendered from a draft and its re-grounded ledger, dated ``as_of`` (default:
    the date its run recorded, else today)."""
    from .render import MemoContext, checked_memo, key_figures
    from .render.docx import check_template, render_docx
    from .render.markdown import render_markdown
    from .validate import Ledger, validate_memo

    draft, factset, identifiers, gate = _pair(draft_path, facts_path, config, progress)
    check_template(template)
    ledger = Ledger.of(factset, identifiers, gate)
    memo = checked_memo(draft, key_figures(draft, ledger))
    report = validate_memo(memo, factset, identifiers, gate, ledger)
    if not report.ok:
        first = report.violations[0]
        raise GateFailedError(
            f"{draft_path} has {len(report.violations)} violation(s), first in {first.section} "
            f"paragraph {first.paragraph} sentence {first.sentence}: {first.message}; "
            "run `thesisgen validate` for all of them (no memo was written)"
        )
    manifest = _recorded_manifest(draft_path.parent)
    if manifest is not None:
        report = report.model_copy(update={"repairs": _recorded_repairs(draft_path.parent)})
    date = _memo_date(as_of, draft_path.parent, factset)
    check_point_in_time(factset, date)
    context = MemoContext(
        as_of=date,
        report=report,
        model=manifest.model if manifest else "unknown",
        mode=manifest.mode if manifest else "unknown",
        provenance=", ".join(manifest.provenance) if manifest else "",
        manifest=manifest,
    )
    with OutputSet(out or draft_path.parent, RENDER_OUTPUTS + MEMO_EXTRAS, force) as folder:
        render_docx(memo, factset, context, folder.staged_path("memo.docx"), template)
        folder.stage("memo.md", render_markdown(memo, factset, context).encode())
        extras = _chart_file(memo, factset)
        for name, data in extras.items():
            folder.stage(name, data)
        folder.commit([*RENDER_OUTPUTS, *extras], None, drop=MEMO_EXTRAS)
        return folder.folder / "memo.docx"


def _recorded_manifest(folder: Path) -> Manifest | None:
    """The manifest of the run that wrote the draft, when it is beside it."""
    path = folder / "manifest.json"
    if path.is_file():
        try:
            return load_model(path, Manifest, "manifest", 10 * MB)
        except ThesisgenError:
            pass
    return None


def _recorded_repairs(folder: Path) -> list[Any]:
    path = folder / "report.json"
    if path.is_file():
        try:
            return list(load_model(path, Report, "report", 10 * MB).repairs)
        except ThesisgenError:
            pass
    return []

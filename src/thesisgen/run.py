"""Wire the stages for one command: sources -> facts -> drafts -> validation -> render -> files.

Each function here does the I/O for one CLI command and calls the pure stages; the CLI only parses
arguments and prints. Output folders are checked before any model call, so a refused overwrite costs
nothing, and every file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import __version__
from .config import Resolved, StructuredOutput, public_url, resolve
from .cost import cost_usd
from .draft import DraftResult, draft_memo
from .errors import GateFailedError, InputFileError, UsageError
from .facts import check_factset, extract_facts, reground
from .files import OutputDir, dump_model, load_model, sha256_bytes, write_atomic, write_bytes_atomic
from .llm import LLM, LLMSettings, Mode, RetryPolicy
from .models import CallRecord, FactSet, Manifest, ManifestSource, Memo, Report, Source, Usage
from .progress import Progress
from .prompts import load_outline, templates_sha256
from .render import MemoContext
from .render.docx import render_docx
from .render.markdown import render_markdown
from .resources import Bundle, bundled_tickers, check_ticker, load_bundle
from .sources import load_sources
from .validate import validate_memo

DRAFT_OUTPUTS = ("memo.docx", "memo.md", "draft.json", "facts.json", "report.json", "manifest.json")
FACTS_OUTPUTS = ("facts.json", "manifest.json")
RENDER_OUTPUTS = ("memo.docx", "memo.md")


@dataclass
class DraftRequest:
    """One draft run as the CLI asked for it; settings left None come from env, config or defaults."""

    ticker: str
    out: Path | None = None
    facts_file: Path | None = None
    sources: Sequence[Path] = ()
    company: str | None = None
    offline: bool = False
    record: bool = False
    recordings: Path | None = None
    force: bool = False
    model: str | None = None
    base_url: str | None = None
    concurrency: int | None = None
    max_repairs: int | None = None
    timeout: float | None = None
    max_tokens: int | None = None
    structured_output: StructuredOutput | None = None
    no_cache: bool = False
    config: Path | None = None
    template: Path | None = None
    facts_only: bool = False  # `thesisgen facts`: stop after the ledger
    today: dt.date = field(default_factory=dt.date.today)


@dataclass(frozen=True)
class DraftOutcome:
    folder: Path
    report: Report
    manifest: Manifest
    factset: FactSet | None = None


def _bundle_or_none(ticker: str) -> Bundle | None:
    return load_bundle(ticker) if ticker in bundled_tickers() else None


def _settings(
    request: DraftRequest, ticker: str, bundle: Bundle | None
) -> tuple[LLMSettings, Resolved, str | None]:
    """Mode, model and limits for this run, and a line to announce when replaying by default."""
    resolved = resolve(
        {
            "model": request.model,
            "base_url": request.base_url,
            "concurrency": request.concurrency,
            "max_repairs": request.max_repairs,
            "timeout": request.timeout,
            "max_tokens": request.max_tokens,
            "structured_output": request.structured_output,
            "cache": False if request.no_cache else None,
        },
        config_path=request.config,
    )
    if request.offline and request.record:
        raise UsageError("--offline and --record exclude each other: drop one")
    announcement = None
    recordings: Path | None
    if request.record:
        if not resolved.live_configured:
            raise UsageError("--record needs a live model: set OPENAI_API_KEY or pass --base-url")
        mode: Mode = "record"
        recordings = request.recordings or Path("recordings") / ticker
    elif request.offline or not resolved.live_configured:
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
    cache = resolved["cache"] and mode == "live"
    settings = LLMSettings(
        mode=mode,
        model="" if mode == "replay" and request.model is None else str(resolved["model"]),
        base_url=resolved["base_url"] if mode != "replay" else None,
        api_key=resolved["api_key"] or None,
        temperature=float(resolved["temperature"]),
        seed=int(resolved["seed"]),
        timeout_s=float(resolved["timeout"]),
        max_tokens=resolved["max_tokens"],
        structured_output=resolved["structured_output"],
        retry=RetryPolicy(
            attempts=int(resolved["retry_attempts"]),
            initial_wait_s=float(resolved["retry_initial_wait"]),
            max_wait_s=float(resolved["retry_max_wait"]),
            total_s=float(resolved["retry_total"]),
        ),
        recordings_dir=recordings,
        cache_dir=resolved.cache_dir() if cache else None,
    )
    return settings, resolved, announcement


def _inputs(
    request: DraftRequest,
    ticker: str,
    bundle: Bundle | None,
    identifiers: Sequence[str],
    progress: Progress,
) -> tuple[FactSet | None, str, list[Source]]:
    """What the run starts from: an analyst's ledger (checked and re-grounded), or sources."""
    if request.facts_file is not None:
        factset = load_model(request.facts_file, FactSet, "facts file")
        if factset.ticker.upper() != ticker:
            raise UsageError(
                f"facts file {request.facts_file} is for {factset.ticker}, not {ticker}: "
                "pass the matching --ticker"
            )
        problems = check_factset(factset, identifiers)
        if not problems:
            factset, problems, notes = reground(factset, _source_files(factset, request, bundle))
            for note in notes:
                progress.note(note)
        if problems:
            raise InputFileError(
                f"facts file {request.facts_file}: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                + ": fix or remove that fact"
            )
        return factset, factset.company, []
    paths = list(request.sources)
    if not paths and bundle is not None:
        paths = [bundle.sources_dir]
    company = request.company or (bundle.company if bundle else ticker)
    return None, company, load_sources(paths, warn=progress.note)


def draft(request: DraftRequest, progress: Progress) -> DraftOutcome:
    ticker = check_ticker(request.ticker)
    for name, value, low in (
        ("--concurrency", request.concurrency, 1),
        ("--max-repairs", request.max_repairs, 0),
    ):
        if value is not None and value < low:
            raise UsageError(f"{name} must be at least {low}, not {value}")
    if request.template is not None and not request.template.is_file():
        raise InputFileError(f"template {request.template} does not exist: pass a .docx file")
    if request.facts_only and request.facts_file is not None:
        raise UsageError("`thesisgen facts` extracts a ledger from sources: drop --facts")
    names = FACTS_OUTPUTS if request.facts_only else DRAFT_OUTPUTS
    out = OutputDir(request.out or Path("out") / ticker, names, request.force)
    bundle = _bundle_or_none(ticker)
    if bundle is None and request.facts_file is None and not request.sources:
        known = ", ".join(bundled_tickers()) or "none"
        raise UsageError(
            f"no bundle for ticker {ticker} (bundled: {known}): pass its documents with "
            "--source PATH, or a facts file with --facts FACTS.json"
        )
    settings, resolved, announcement = _settings(request, ticker, bundle)
    identifiers = [*(bundle.identifiers if bundle else []), *resolved.identifiers]
    concurrency = int(resolved["concurrency"])
    max_repairs = int(resolved["max_repairs"])

    factset, company, sources = _inputs(request, ticker, bundle, identifiers, progress)

    recording_tmp: Path | None = None
    if settings.mode == "record" and settings.recordings_dir is not None:
        final = settings.recordings_dir
        recording_tmp = final.with_name(final.name + ".partial")
        shutil.rmtree(recording_tmp, ignore_errors=True)
        settings = replace(settings, recordings_dir=recording_tmp)
    if announcement:
        progress.note(announcement)
    outline = load_outline()

    llm = LLM(settings)
    calls: list[CallRecord] = []
    try:
        if factset is None:
            progress.stage(
                f"Extracting facts from {len(sources)} source(s)",
                [(s.id, f"facts {s.id}") for s in sources],
            )
            facts_result = extract_facts(
                llm,
                company,
                ticker,
                sources,
                identifiers,
                concurrency,
                on_event=progress.event,
                chunk_chars=int(resolved["chunk_chars"]),
                chunk_overlap=int(resolved["chunk_overlap"]),
            )
            factset = facts_result.factset
            calls += facts_result.calls
            progress.note(
                f"  kept {len(factset.facts)} grounded facts, dropped {len(factset.dropped)}"
            )
            if request.facts_only or not factset.facts:
                ledger_manifest = _manifest(
                    request, ticker, settings, llm, resolved, factset, calls, 0, 0
                )
                if request.facts_only:
                    _write_ledger(out, factset, ledger_manifest, None)
                    report = _ledger_report(factset, ok=bool(factset.facts))
                    return DraftOutcome(out.folder, report, ledger_manifest, factset)
                _write_ledger(out, factset, ledger_manifest, _ledger_report(factset, ok=False))
                raise GateFailedError(
                    f"no proposed fact survived grounding ({len(factset.dropped)} dropped, reasons "
                    f"in {out.path('facts.json')}): the memo would have nothing to cite; try a "
                    "stronger model or check the sources (no memo was written)"
                )
        progress.stage(
            f"Drafting {len(outline.sections)} sections",
            [(s.key, f"draft {s.key}") for s in outline.sections],
        )
        result = draft_memo(
            llm, factset, outline, identifiers, concurrency, max_repairs, on_event=progress.event
        )
    finally:
        llm.close()
        progress.close()
    calls += result.calls

    report = _report(result, factset, identifiers)
    manifest = _manifest(
        request, ticker, settings, llm, resolved, factset, calls, max_repairs, concurrency
    )
    out.prepare()
    outputs: dict[str, bytes] = {
        "facts.json": dump_model(factset),
        "report.json": dump_model(report),
    }
    if result.passed:
        context = MemoContext(
            model=llm.model,
            mode=_mode_label(settings.mode, llm),
            generated=request.today,
            report=report,
        )
        outputs["draft.json"] = dump_model(result.memo)
        outputs["memo.md"] = render_markdown(result.memo, factset, context).encode("utf-8")
        docx_path = out.path("memo.docx")
        write_atomic(
            docx_path, lambda tmp: render_docx(result.memo, factset, context, tmp, request.template)
        )
        manifest.outputs["memo.docx"] = sha256_bytes(docx_path.read_bytes())
    for name, data in outputs.items():
        write_bytes_atomic(out.path(name), data)
        manifest.outputs[name] = sha256_bytes(data)
    write_bytes_atomic(out.path("manifest.json"), dump_model(manifest))

    if recording_tmp is not None:
        final = recording_tmp.with_name(recording_tmp.name.removesuffix(".partial"))
        shutil.rmtree(final, ignore_errors=True)
        recording_tmp.rename(final)
        progress.note(f"Recorded {len(calls)} call(s) to {final}")

    if not result.passed:
        failed = [s.section.key for s in result.sections if not s.passed]
        raise GateFailedError(
            f"the memo did not pass the gate: {len(report.violations)} violation(s) remain in "
            f"{', '.join(failed)} after {max_repairs} repair(s); see {out.path('report.json')}"
            " (no memo was written)"
        )
    return DraftOutcome(out.folder, report, manifest)


def _ledger_report(factset: FactSet, ok: bool) -> Report:
    """The report of a run that stopped at the ledger: nothing drafted, what was dropped and why."""
    return Report(
        ok=ok,
        sentences=0,
        figures_checked=0,
        facts_cited=0,
        violations=[],
        dropped_facts=factset.dropped,
        conflicts=factset.conflicts,
        warnings=factset.warnings,
    )


def _write_ledger(
    out: OutputDir, factset: FactSet, manifest: Manifest, report: Report | None
) -> None:
    """facts.json (and report.json when given), then the manifest with their hashes."""
    out.prepare()
    outputs = {"facts.json": dump_model(factset)}
    if report is not None:
        outputs["report.json"] = dump_model(report)
    for name, data in outputs.items():
        write_bytes_atomic(out.path(name), data)
        manifest.outputs[name] = sha256_bytes(data)
    write_bytes_atomic(out.path("manifest.json"), dump_model(manifest))


def _source_files(
    factset: FactSet, request: DraftRequest, bundle: Bundle | None
) -> dict[str, Path]:
    """The files behind a facts file's sources, where they can be found: beside the facts file,
    in the bundle, or among the --source paths."""
    assert request.facts_file is not None
    folders = [request.facts_file.parent]
    if bundle is not None:
        folders.append(bundle.sources_dir)
    folders += [p if p.is_dir() else p.parent for p in request.sources]
    found: dict[str, Path] = {}
    for info in factset.sources:
        if not info.path:
            continue
        for folder in folders:
            candidate = folder / info.path
            if candidate.is_file():
                found[info.id] = candidate
                break
    return found


def _manifest(
    request: DraftRequest,
    ticker: str,
    settings: LLMSettings,
    llm: LLM,
    resolved: Resolved,
    factset: FactSet,
    calls: list[CallRecord],
    max_repairs: int,
    concurrency: int,
) -> Manifest:
    by_stage: dict[str, Usage] = {}
    for call in calls:
        by_stage[call.stage] = by_stage.get(call.stage, Usage()) + call.usage
    spent = sum((c.usage for c in calls if not c.cached), Usage())
    live = settings.mode != "replay"
    return Manifest(
        thesisgen_version=__version__,
        created_at=dt.datetime.now(dt.UTC),
        ticker=ticker,
        mode=settings.mode,
        model=llm.model,
        base_url=public_url(settings.base_url) if live else None,
        parameters={
            "temperature": settings.temperature,
            "seed": settings.seed,
            "max_repairs": max_repairs,
            "concurrency": concurrency,
            "timeout_s": settings.timeout_s,
            **({"max_tokens": settings.max_tokens} if settings.max_tokens else {}),
        },
        prompt_templates_sha256=templates_sha256(),
        sources=[ManifestSource(id=s.id, path=s.path, sha256=s.sha256) for s in factset.sources],
        structured_output=llm.wire_format,
        calls=calls,
        model_calls=sum(1 for c in calls if live and not c.cached),
        cache_hits=sum(1 for c in calls if c.cached),
        usage=sum((c.usage for c in calls), Usage()),
        usage_by_stage=by_stage,
        cost_usd=cost_usd(llm.model, spent, resolved.prices) if live else None,
        facts_from=str(request.facts_file) if request.facts_file else None,
    )


def _mode_label(mode: str, llm: LLM) -> str:
    if mode == "replay" and llm.replay is not None:
        return f"replayed recordings ({', '.join(llm.replay.provenance)})"
    return {"live": "live", "record": "live, recorded"}.get(mode, mode)


def _report(result: DraftResult, factset: FactSet, identifiers: Sequence[str]) -> Report:
    report = validate_memo(result.memo, factset, identifiers)
    return report.model_copy(update={"repairs": result.repairs})


# --- validate and render -------------------------------------------------------------------------


def load_pair(draft_path: Path, facts_path: Path) -> tuple[Memo, FactSet]:
    memo = load_model(draft_path, Memo, "draft")
    factset = load_model(facts_path, FactSet, "facts file")
    if memo.ticker.upper() != factset.ticker.upper():
        raise UsageError(
            f"draft {draft_path} is for {memo.ticker} but facts {facts_path} are for "
            f"{factset.ticker}: pass the matching facts file"
        )
    return memo, factset


def validate(draft_path: Path, facts_path: Path) -> Report:
    memo, factset = load_pair(draft_path, facts_path)
    bundle = _bundle_or_none(memo.ticker.upper())
    return validate_memo(memo, factset, bundle.identifiers if bundle else ())


def render(
    draft_path: Path,
    facts_path: Path,
    out: Path | None,
    force: bool,
    template: Path | None,
    today: dt.date,
) -> Path:
    memo, factset = load_pair(draft_path, facts_path)
    folder = OutputDir(out or draft_path.parent, RENDER_OUTPUTS, force)
    if template is not None and not template.is_file():
        raise InputFileError(f"template {template} does not exist: pass a .docx file")
    bundle = _bundle_or_none(memo.ticker.upper())
    report = validate_memo(memo, factset, bundle.identifiers if bundle else ())
    if not report.ok:
        first = report.violations[0]
        raise GateFailedError(
            f"{draft_path} has {len(report.violations)} violation(s), first in {first.section} "
            f"paragraph {first.paragraph} sentence {first.sentence}: {first.message}; "
            "run `thesisgen validate` for all of them (no memo was written)"
        )
    model, mode = _recorded_model(draft_path.parent)
    context = MemoContext(model=model, mode=mode, generated=today, report=report)
    folder.prepare()
    docx_path = folder.path("memo.docx")
    write_atomic(docx_path, lambda tmp: render_docx(memo, factset, context, tmp, template))
    write_bytes_atomic(folder.path("memo.md"), render_markdown(memo, factset, context).encode())
    return docx_path


def _recorded_model(folder: Path) -> tuple[str, str]:
    """The model and mode from a manifest beside the draft, when there is one."""
    path = folder / "manifest.json"
    if path.is_file():
        try:
            manifest = load_model(path, Manifest, "manifest")
            return manifest.model, f"{manifest.mode}, re-rendered"
        except InputFileError:
            pass
    return "unknown", "re-rendered from draft.json"

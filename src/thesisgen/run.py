"""Wire the stages for one command: sources -> facts -> drafts -> validation -> render -> files.

Each function here does the I/O for one CLI command and calls the pure stages; the CLI only parses
arguments and prints. Output folders are checked before any model call, so a refused overwrite costs
nothing, and every file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .config import choose, public_url
from .draft import DraftResult, draft_memo
from .errors import GateFailedError, InputFileError, UsageError
from .facts import check_factset, extract_facts
from .files import OutputDir, dump_model, load_model, sha256_bytes, write_atomic, write_bytes_atomic
from .llm import LLM
from .models import CallRecord, FactSet, Manifest, ManifestSource, Memo, Report, Usage
from .prompts import load_outline, templates_sha256
from .render import MemoContext
from .render.docx import render_docx
from .render.markdown import render_markdown
from .resources import Bundle, bundled_tickers, check_ticker, load_bundle
from .sources import load_sources
from .validate import validate_memo

DRAFT_OUTPUTS = ("memo.docx", "memo.md", "draft.json", "facts.json", "report.json", "manifest.json")
RENDER_OUTPUTS = ("memo.docx", "memo.md")

Echo = Callable[[str], None]


@dataclass
class DraftRequest:
    ticker: str
    out: Path | None = None
    facts_file: Path | None = None
    sources: Sequence[Path] = ()
    company: str | None = None
    offline: bool = False
    force: bool = False
    model: str | None = None
    base_url: str | None = None
    concurrency: int = 4
    max_repairs: int = 2
    template: Path | None = None
    record_to: Path | None = None
    today: dt.date = field(default_factory=dt.date.today)


@dataclass(frozen=True)
class DraftOutcome:
    folder: Path
    report: Report
    manifest: Manifest


def _bundle_or_none(ticker: str) -> Bundle | None:
    return load_bundle(ticker) if ticker in bundled_tickers() else None


def draft(request: DraftRequest, echo: Echo) -> DraftOutcome:
    ticker = check_ticker(request.ticker)
    if request.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {request.concurrency}")
    if request.max_repairs < 0:
        raise UsageError(f"--max-repairs must be 0 or more, not {request.max_repairs}")
    if request.template is not None and not request.template.is_file():
        raise InputFileError(f"template {request.template} does not exist: pass a .docx file")
    out = OutputDir(request.out or Path("out") / ticker, DRAFT_OUTPUTS, request.force)
    bundle = _bundle_or_none(ticker)

    factset: FactSet | None = None
    if request.facts_file is not None:
        factset = load_model(request.facts_file, FactSet, "facts file")
        if factset.ticker.upper() != ticker:
            raise UsageError(
                f"facts file {request.facts_file} is for {factset.ticker}, not {ticker}: "
                "pass the matching --ticker"
            )
        problems = check_factset(factset, bundle.identifiers if bundle else ())
        if problems:
            raise InputFileError(
                f"facts file {request.facts_file}: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                + ": fix or remove that fact"
            )
        company = factset.company
    else:
        if bundle is None and not request.sources:
            known = ", ".join(bundled_tickers()) or "none"
            raise UsageError(
                f"no bundle for ticker {ticker} (bundled: {known}): pass its documents with "
                "--source PATH, or a facts file with --facts FACTS.json"
            )
        company = request.company or (bundle.company if bundle else ticker)
    sources = []
    if factset is None:
        paths = list(request.sources)
        if not paths and bundle is not None:
            paths = [bundle.sources_dir]
        sources = load_sources(paths)

    choice = choose(
        ticker=ticker,
        offline=request.offline,
        record_to=request.record_to,
        model=request.model,
        base_url=request.base_url,
        recordings_dir=bundle.recordings_dir if bundle else None,
    )
    if choice.announcement:
        echo(choice.announcement)
    recording_tmp: Path | None = None
    settings = choice.settings
    if request.record_to is not None:
        recording_tmp = request.record_to.with_name(request.record_to.name + ".partial")
        shutil.rmtree(recording_tmp, ignore_errors=True)
        settings = type(settings)(**{**settings.__dict__, "recordings_dir": recording_tmp})
    identifiers = bundle.identifiers if bundle else []
    outline = load_outline()

    llm = LLM(settings)
    calls: list[CallRecord] = []
    try:
        if factset is None:
            echo(f"Extracting facts from {len(sources)} source(s)…")
            facts_result = extract_facts(
                llm,
                company,
                ticker,
                sources,
                identifiers,
                request.concurrency,
                on_done=lambda s: echo(f"  facts: {s.id} {s.title[:60]} done"),
            )
            factset = facts_result.factset
            calls += facts_result.calls
            echo(f"  kept {len(factset.facts)} grounded facts, dropped {len(factset.dropped)}")
        echo(f"Drafting {len(outline.sections)} sections…")
        result = draft_memo(
            llm,
            factset,
            outline,
            identifiers,
            request.concurrency,
            request.max_repairs,
            on_done=lambda r: echo(
                f"  draft: {r.section.key} {'passed' if r.passed else 'FAILED'}"
                f" after {len(r.calls)} attempt(s)"
            ),
        )
    finally:
        llm.close()
    calls += result.calls

    report = _report(result, factset, identifiers)
    manifest = Manifest(
        thesisgen_version=__version__,
        created_at=dt.datetime.now(dt.UTC),
        ticker=ticker,
        mode=settings.mode,
        model=llm.model,
        base_url=public_url(settings.base_url) if settings.mode != "replay" else None,
        parameters={
            "temperature": settings.temperature,
            "seed": settings.seed,
            "max_repairs": request.max_repairs,
            "concurrency": request.concurrency,
        },
        prompt_templates_sha256=templates_sha256(),
        sources=[ManifestSource(id=s.id, path=s.path, sha256=s.sha256) for s in factset.sources],
        calls=calls,
        usage=sum((c.usage for c in calls), Usage()),
        facts_from=str(request.facts_file) if request.facts_file else None,
    )

    out.prepare()
    outputs: dict[str, bytes] = {
        "facts.json": dump_model(factset),
        "report.json": dump_model(report),
    }
    if result.passed:
        context = MemoContext(
            model=f"{llm.model}",
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

    if recording_tmp is not None and request.record_to is not None:
        shutil.rmtree(request.record_to, ignore_errors=True)
        recording_tmp.rename(request.record_to)
        echo(f"Recorded {len(calls)} call(s) to {request.record_to}")

    if not result.passed:
        failed = [s.section.key for s in result.sections if not s.passed]
        raise GateFailedError(
            f"the memo did not pass the gate: {len(report.violations)} violation(s) remain in "
            f"{', '.join(failed)} after {request.max_repairs} repair(s); see {out.path('report.json')}"
            " (no memo was written)"
        )
    return DraftOutcome(out.folder, report, manifest)


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

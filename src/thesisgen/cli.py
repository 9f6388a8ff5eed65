"""The command line: parse arguments, call one function of :mod:`thesisgen.run`, print the outcome.

Typer (on click) gives typed options, ``--help`` generated from the signatures and usage errors
with exit code 2, which is our exit code for bad input. Errors of ours become one line on stderr and
their exit code; only a bug shows a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from . import __version__, run
from .config import StructuredOutput, describe, resolve
from .errors import ThesisgenError
from .models import FactSet
from .progress import make_progress

app = typer.Typer(
    name="thesisgen",
    help="Draft investment-thesis memos in which every figure traces to a cited, quoted source.\n\n"
    "Exit codes: 0 done, 1 the memo did not pass the validator gate, 2 bad input or usage, "
    "3 the model service failed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

T = TypeVar("T")


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ThesisgenError as exc:
        typer.echo(f"thesisgen: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("thesisgen: interrupted; no memo was written", err=True)
        raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"thesisgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Draft investment-thesis memos in which every figure traces to a cited, quoted source."""


Ticker = Annotated[str, typer.Option("--ticker", "-t", help="Company ticker, e.g. AREC.")]
Out = Annotated[
    Path | None, typer.Option("--out", "-o", help="Output folder [default: ./out/TICKER].")
]
Force = Annotated[bool, typer.Option("--force", help="Replace existing output files.")]
Template = Annotated[
    Path | None, typer.Option("--template", help="Base .docx whose styles the memo uses.")
]
Sources = Annotated[
    list[Path] | None, typer.Option("--source", "-s", help="Source file or folder (repeatable).")
]
Model = Annotated[
    str | None,
    typer.Option("--model", help="Model name [env THESISGEN_MODEL, config, default gpt-4o-mini]."),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible API base URL [env OPENAI_BASE_URL, config]."
    ),
]
Concurrency = Annotated[
    int | None, typer.Option("--concurrency", help="Model calls in flight at once [default 4].")
]
Timeout = Annotated[
    float | None, typer.Option("--timeout", help="Seconds to wait for one answer [default 600].")
]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", help="Cap on each answer's tokens [default: none].")
]
Structured = Annotated[
    StructuredOutput | None,
    typer.Option(
        "--structured-output",
        help="json_schema, json_object (with schema), prompt, or auto: detect once per run [default].",
    ),
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Call the model even for a request answered before.")
]
Config = Annotated[
    Path | None,
    typer.Option("--config", help="Config file [default: ./thesisgen.toml or ./pyproject.toml]."),
]
Recordings = Annotated[
    Path | None,
    typer.Option(
        "--recordings", help="Recordings folder to replay from, or to write with --record."
    ),
]


@app.command("draft")
def draft_command(
    ticker: Ticker,
    out: Out = None,
    facts: Annotated[
        Path | None, typer.Option("--facts", help="Start from this facts.json instead of sources.")
    ] = None,
    source: Sources = None,
    company: Annotated[
        str | None, typer.Option("--company", help="Company name, for tickers without a bundle.")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay recorded responses; never call the network.")
    ] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="Call the live model and save every exchange [to ./recordings/TICKER]."
        ),
    ] = False,
    recordings: Recordings = None,
    force: Force = False,
    model: Model = None,
    base_url: BaseUrl = None,
    concurrency: Concurrency = None,
    max_repairs: Annotated[
        int | None, typer.Option("--max-repairs", help="Repairs per rejected section [default 2].")
    ] = None,
    timeout: Timeout = None,
    max_tokens: MaxTokens = None,
    structured_output: Structured = None,
    no_cache: NoCache = False,
    config: Config = None,
    template: Template = None,
) -> None:
    """Extract facts, draft the memo section by section, validate every figure, write the DOCX."""
    request = run.DraftRequest(
        ticker=ticker,
        out=out,
        facts_file=facts,
        sources=source or [],
        company=company,
        offline=offline,
        record=record,
        recordings=recordings,
        force=force,
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        max_repairs=max_repairs,
        timeout=timeout,
        max_tokens=max_tokens,
        structured_output=structured_output,
        no_cache=no_cache,
        config=config,
        template=template,
    )
    outcome = _guard(lambda: run.draft(request, make_progress(sys.stderr)))
    _print_outcome(outcome)


@app.command("record")
def record_command(
    ticker: Ticker,
    recordings: Recordings = None,
    out: Out = None,
    source: Sources = None,
    force: Force = False,
    model: Model = None,
    base_url: BaseUrl = None,
    concurrency: Concurrency = None,
    timeout: Timeout = None,
    max_tokens: MaxTokens = None,
    structured_output: Structured = None,
    config: Config = None,
) -> None:
    """Re-capture a ticker's recordings from any live server (same as draft --record)."""
    request = run.DraftRequest(
        ticker=ticker,
        out=out,
        sources=source or [],
        record=True,
        recordings=recordings,
        force=force,
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        timeout=timeout,
        max_tokens=max_tokens,
        structured_output=structured_output,
        config=config,
    )
    outcome = _guard(lambda: run.draft(request, make_progress(sys.stderr)))
    _print_outcome(outcome)


@app.command("facts")
def facts_command(
    ticker: Ticker,
    source: Sources = None,
    company: Annotated[
        str | None, typer.Option("--company", help="Company name, for tickers without a bundle.")
    ] = None,
    out: Out = None,
    force: Force = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay recorded responses; never call the network.")
    ] = False,
    recordings: Recordings = None,
    model: Model = None,
    base_url: BaseUrl = None,
    concurrency: Concurrency = None,
    timeout: Timeout = None,
    max_tokens: MaxTokens = None,
    structured_output: Structured = None,
    no_cache: NoCache = False,
    config: Config = None,
) -> None:
    """Extract and ground facts from sources; write facts.json and print them as a table."""
    request = run.DraftRequest(
        ticker=ticker,
        out=out,
        sources=source or [],
        company=company,
        offline=offline,
        recordings=recordings,
        force=force,
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        timeout=timeout,
        max_tokens=max_tokens,
        structured_output=structured_output,
        no_cache=no_cache,
        config=config,
        facts_only=True,
    )
    outcome = _guard(lambda: run.draft(request, make_progress(sys.stderr)))
    assert outcome.factset is not None
    _print_facts(outcome.factset)
    typer.echo(
        f"Wrote {outcome.folder / 'facts.json'}: {len(outcome.factset.facts)} facts kept, "
        f"{len(outcome.factset.dropped)} dropped, {len(outcome.factset.conflicts)} conflict(s)."
    )
    if not outcome.factset.facts:
        raise typer.Exit(1)


def _print_facts(factset: FactSet) -> None:
    table = Table("ID", "Statement", "Figures", "Source", box=box.SIMPLE, show_lines=False)
    for fact in factset.facts:
        pages = sorted({loc.page for loc in fact.locators if loc.page})
        where = fact.source_id + (f" p.{','.join(map(str, pages))}" if pages else "")
        where += "".join(f" [{s.ref}]" for s in fact.secondary)
        table.add_row(fact.id, fact.statement, ", ".join(q.text for q in fact.quantities), where)
    Console(width=max(100, Console().width)).print(table)
    for dropped in factset.dropped:
        typer.echo(f"dropped ({dropped.source_id}): {dropped.statement} -- {dropped.reason}")
    for conflict in factset.conflicts:
        typer.echo(f"conflict: {conflict.note}")
    for warning in factset.warnings:
        typer.echo(f"warning: {warning}")


@app.command("config")
def config_command(
    model: Model = None,
    base_url: BaseUrl = None,
    config: Config = None,
) -> None:
    """Show the effective settings and where each comes from (the API key is masked)."""
    resolved = _guard(lambda: resolve({"model": model, "base_url": base_url}, config_path=config))
    rows = describe(resolved)
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        typer.echo(f"{key:<{width}}  {value}  ({source})")


def _print_outcome(outcome: run.DraftOutcome) -> None:
    manifest = outcome.manifest
    report = outcome.report
    stages = ", ".join(
        f"{stage} {u.prompt_tokens + u.completion_tokens:,}"
        for stage, u in manifest.usage_by_stage.items()
    )
    if manifest.mode == "replay":
        calls = f"{len(manifest.calls)} call(s) replayed, none to a model"
        cost = "no cost"
    else:
        calls = f"{manifest.model_calls} call(s) to the model, {manifest.cache_hits} from cache"
        cost = "cost unknown" if manifest.cost_usd is None else f"cost ${manifest.cost_usd:.4f}"
    tokens = manifest.usage.prompt_tokens + manifest.usage.completion_tokens
    typer.echo(
        f"Wrote {outcome.folder / 'memo.docx'}: {report.figures_checked} figures checked, "
        f"{len(report.repairs)} repair(s); {calls}; {tokens:,} tokens ({stages}); {cost}."
    )


@app.command("validate")
def validate_command(
    draft: Annotated[Path, typer.Argument(help="draft.json to check.")],
    facts: Annotated[Path, typer.Option("--facts", help="facts.json the draft cites.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check every figure of a draft against the facts it cites. Exit 0 clean, 1 violations."""
    report = _guard(lambda: run.validate(draft, facts))
    if as_json:
        payload = {
            "ok": report.ok,
            "violations": [
                v.model_dump(
                    include={"section", "paragraph", "sentence", "kind", "token", "message"}
                )
                for v in report.violations
            ],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        for v in report.violations:
            typer.echo(f"{v.section} ¶{v.paragraph} s{v.sentence} {v.kind}: {v.message}")
        typer.echo(
            f"{'OK' if report.ok else 'FAILED'}: {report.figures_checked} figures in "
            f"{report.sentences} sentences, {len(report.violations)} violation(s)."
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("render")
def render_command(
    draft: Annotated[Path, typer.Argument(help="draft.json to render.")],
    facts: Annotated[Path, typer.Option("--facts", help="facts.json the draft cites.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder [default: the draft's folder]."),
    ] = None,
    force: Force = False,
    template: Template = None,
) -> None:
    """Render a validated draft as memo.docx and memo.md (refuses a draft that fails the gate)."""
    path = _guard(lambda: run.render(draft, facts, out, force, template, dt.date.today()))
    typer.echo(f"Wrote {path}")


def main() -> None:
    sys.exit(app())

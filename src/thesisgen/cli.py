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

from . import __version__, run
from .errors import ThesisgenError

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


def _echo(message: str) -> None:
    typer.echo(message, err=True)


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
Model = Annotated[
    str | None,
    typer.Option("--model", help="Model name [env THESISGEN_MODEL; default gpt-4o-mini]."),
]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible API base URL [env OPENAI_BASE_URL]."),
]
Template = Annotated[
    Path | None, typer.Option("--template", help="Base .docx whose styles the memo uses.")
]


@app.command("draft")
def draft_command(
    ticker: Ticker,
    out: Out = None,
    facts: Annotated[
        Path | None, typer.Option("--facts", help="Start from this facts.json instead of sources.")
    ] = None,
    source: Annotated[
        list[Path] | None,
        typer.Option("--source", "-s", help="Source file or folder (repeatable)."),
    ] = None,
    company: Annotated[
        str | None, typer.Option("--company", help="Company name, for tickers without a bundle.")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Replay recorded responses; never call the network.")
    ] = False,
    force: Force = False,
    model: Model = None,
    base_url: BaseUrl = None,
    concurrency: Annotated[int, typer.Option(help="Model calls in flight at once.")] = 4,
    max_repairs: Annotated[
        int, typer.Option(help="Repair attempts per section after a rejected draft.")
    ] = 2,
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
        force=force,
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        max_repairs=max_repairs,
        template=template,
    )
    outcome = _guard(lambda: run.draft(request, _echo))
    _print_outcome(outcome)


@app.command("record")
def record_command(
    ticker: Ticker,
    recordings: Annotated[
        Path, typer.Option("--recordings", help="Folder to (re)write the recordings into.")
    ],
    out: Out = None,
    source: Annotated[
        list[Path] | None, typer.Option("--source", "-s", help="Source file or folder.")
    ] = None,
    force: Force = False,
    model: Model = None,
    base_url: BaseUrl = None,
    concurrency: Annotated[int, typer.Option(help="Model calls in flight at once.")] = 4,
) -> None:
    """Run a live draft and save every model exchange for offline replay (keys are scrubbed)."""
    request = run.DraftRequest(
        ticker=ticker,
        out=out,
        sources=source or [],
        force=force,
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        record_to=recordings,
    )
    outcome = _guard(lambda: run.draft(request, _echo))
    _print_outcome(outcome)


def _print_outcome(outcome: run.DraftOutcome) -> None:
    usage = outcome.manifest.usage
    report = outcome.report
    typer.echo(
        f"Wrote {outcome.folder / 'memo.docx'}: {report.figures_checked} figures checked, "
        f"{len(report.repairs)} repair(s), {len(outcome.manifest.calls)} model call(s), "
        f"{usage.prompt_tokens + usage.completion_tokens} tokens."
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

"""The command line: parse arguments, call one function of :mod:`thesisgen.run`, print the outcome.

Typer (on click) gives typed options, ``--help`` generated from the signatures and usage errors
with exit code 2, which is our exit code for bad input. Errors of ours become one line on stderr and
their exit code; only a bug shows a traceback.

The stages (:mod:`thesisgen.run` and what it calls), rich and the model client are imported inside
the command that needs them, so ``--help``, ``config`` and ``validate`` start fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import inspect
import json
import os
import signal
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .config import FIELDS, describe, flag_help, flag_name, resolve
from .errors import ThesisgenError
from .secrets import RedactingStream, one_line

if TYPE_CHECKING:
    from . import run
    from .models import FactSet
    from .progress import Progress

app = typer.Typer(
    name="thesisgen",
    help="Draft investment-thesis memos in which every figure traces to a cited, quoted source.\n\n"
    "Exit codes: 0 done, 1 the memo did not pass the validator gate, 2 bad input or usage, "
    "3 the model service failed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "[default: ...]" must not be read as markup
)

T = TypeVar("T")


def _error(message: str) -> None:
    """One line on stderr: control characters escaped, secrets masked by the stream."""
    typer.echo(f"thesisgen: error: {one_line(message)}", err=True)


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ThesisgenError as exc:
        _error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _error("interrupted: no memo was written")
        raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"thesisgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Draft investment-thesis memos in which every figure traces to a cited, quoted source."""


def _date(value: dt.datetime | None) -> dt.date:
    """The memo's date: today when not given, else a plausible one (:func:`universe.as_of_problem`)."""
    if value is None:
        return dt.date.today()
    from .universe import as_of_problem

    problem = as_of_problem(value.date())
    if problem is not None:
        raise typer.BadParameter(problem, param_hint="'--as-of'")
    return value.date()


Force = Annotated[bool, typer.Option("--force", help="Replace a complete earlier output set.")]
Template = Annotated[
    Path | None,
    typer.Option("--template", metavar="BASE.docx", help="Base .docx whose styles the memo uses."),
]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Config file [default: ./thesisgen.toml or ./pyproject.toml].",
    ),
]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        metavar="YYYY-MM-DD",
        help="The memo's date: the reference for sources' age, and the point in time of SEC "
        "filings (nothing filed later is read or cited) [default: validate and render: the "
        "date the memo's run recorded; else the bundle's date, else today].",
    ),
]

# The options of the commands that run stages (draft, record, facts), each once, by the field of
# run.DraftRequest it fills, with its default; each command names the ones it takes.
REQUEST_OPTIONS: dict[str, tuple[Any, Any]] = {
    "ticker": (
        Annotated[
            str,
            typer.Option("--ticker", "-t", metavar="TICKER", help="Company ticker, e.g. AREC."),
        ],
        inspect.Parameter.empty,
    ),
    "out": (
        Annotated[
            Path | None,
            typer.Option(
                "--out", "-o", metavar="DIR", help="Output folder [default: ./out/TICKER]."
            ),
        ],
        None,
    ),
    "facts_file": (
        Annotated[
            Path | None,
            typer.Option(
                "--facts",
                metavar="FACTS.json",
                help="Start from this facts.json instead of sources.",
            ),
        ],
        None,
    ),
    "sources": (
        Annotated[
            list[Path] | None,
            typer.Option(
                "--source", "-s", metavar="PATH", help="Source file or folder (repeatable)."
            ),
        ],
        None,
    ),
    "company": (
        Annotated[
            str | None,
            typer.Option(
                "--company", metavar="NAME", help="Company name, for tickers without a bundle."
            ),
        ],
        None,
    ),
    "offline": (
        Annotated[
            bool,
            typer.Option("--offline", help="Replay recorded responses; never call the network."),
        ],
        False,
    ),
    "record": (
        Annotated[
            bool,
            typer.Option(
                "--record",
                help="Call the live model and save every exchange [to ./recordings/TICKER].",
            ),
        ],
        False,
    ),
    "recordings": (
        Annotated[
            Path | None,
            typer.Option(
                "--recordings",
                metavar="DIR",
                help="Recordings folder to replay from, or to write with --record.",
            ),
        ],
        None,
    ),
    "force": (Force, False),
    "yes": (
        Annotated[
            bool, typer.Option("--yes", "-y", help="Go past --max-calls and --max-prompt-tokens.")
        ],
        False,
    ),
    "config": (Config, None),
    "template": (Template, None),
    "as_of": (AsOf, None),
    "allow_flagged": (
        Annotated[
            bool,
            typer.Option(
                "--allow-flagged",
                help="Write the memo even if the gate fails, failing sentences highlighted "
                "(exit 1).",
            ),
        ],
        False,
    ),
    "outline": (
        Annotated[
            Path | None,
            typer.Option(
                "--outline",
                metavar="OUTLINE.yaml",
                help="Outline YAML of the memo's sections [default: the bundle's, else the "
                "built-in one].",
            ),
        ],
        None,
    ),
}

# Every setting that has a flag (see config.Settings) is an option of every command that calls a
# model; the values arrive as text and are checked, with the rest of the settings, by one model.
SETTING_FLAGS = tuple(key for key in FIELDS if flag_name(key))
F = TypeVar("F", bound=Callable[..., Any])
_KW = inspect.Parameter.KEYWORD_ONLY


@functools.cache
def _setting_parameters() -> tuple[inspect.Parameter, ...]:
    """One option per setting flag, given as text (None: not given) or as a switch; built once,
    shared by the commands that take them."""
    parameters = []
    for key in SETTING_FLAGS:
        name = flag_name(key)
        assert name is not None
        kind: Any = bool if FIELDS[key].annotation is bool else str | None
        default: Any = False if kind is bool else None
        option = typer.Option(name, help=flag_help(key), show_default=False, metavar=_metavar(key))
        parameters.append(
            inspect.Parameter(
                f"setting_{key}", _KW, default=default, annotation=Annotated[kind, option]
            )
        )
    return tuple(parameters)


def _pop_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The setting flags of a call, by setting name, taken out of ``kwargs``."""
    flags: dict[str, Any] = {}
    for key in SETTING_FLAGS:
        value = kwargs.pop(f"setting_{key}")
        if isinstance(value, bool):  # a switch such as --no-cache turns its setting off
            flags[key] = False if value else None
        else:
            flags[key] = value
    return flags


def _with_parameters(
    func: Callable[..., Any], parameters: list[inspect.Parameter], call: Callable[..., Any]
) -> Any:
    """``call`` under ``func``'s name and help, with ``parameters`` as the options typer sees."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        return call(**kwargs)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def with_settings(func: F) -> F:
    """Give a command one option per setting flag; it receives them as ``flags`` (by setting name,
    None where not given), ready for :func:`thesisgen.config.resolve`."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(func).parameters.values()
        if p.name != "flags"
    ]

    def call(**kwargs: Any) -> Any:
        flags = _pop_flags(kwargs)
        return func(**kwargs, flags=flags)

    return typing.cast(F, _with_parameters(func, [*own, *_setting_parameters()], call))


def request_command(
    *names: str, **fixed: Any
) -> Callable[[Callable[[run.DraftRequest], None]], Callable[..., None]]:
    """A command that runs stages: the options ``names`` (see REQUEST_OPTIONS) and every setting
    flag, gathered into one :class:`thesisgen.run.DraftRequest` with ``fixed`` (e.g. record=True)."""
    parameters = [
        inspect.Parameter(
            name, _KW, default=REQUEST_OPTIONS[name][1], annotation=REQUEST_OPTIONS[name][0]
        )
        for name in names
    ]

    def decorate(func: Callable[[run.DraftRequest], None]) -> Callable[..., None]:
        def call(**kwargs: Any) -> None:
            from . import run

            flags = _pop_flags(kwargs)
            if "sources" in kwargs:
                kwargs["sources"] = kwargs["sources"] or []
            if kwargs.get("as_of") is not None:  # else the bundle's date, or today
                kwargs["as_of"] = _date(kwargs["as_of"])
            func(run.DraftRequest(**kwargs, **fixed, flags=flags))

        return typing.cast(
            Callable[..., None], _with_parameters(func, [*parameters, *_setting_parameters()], call)
        )

    return decorate


def _metavar(key: str) -> str:
    """How --help shows a setting's value: N, NUMBER, TEXT, or the choices of a Literal."""
    annotation = FIELDS[key].annotation
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        return "|".join(str(c) for c in choices)
    text = str(annotation)
    return "N" if "int" in text else "NUMBER" if "float" in text else "TEXT"


def _run(stage: Callable[[run.DraftRequest, Progress], T], request: run.DraftRequest) -> T:
    from .progress import make_progress

    return _guard(lambda: stage(request, make_progress(sys.stderr)))


@app.command("draft")
@request_command(
    "ticker", "out", "facts_file", "sources", "company", "offline", "record", "recordings",
    "force", "yes", "config", "template", "as_of", "allow_flagged", "outline",
)  # fmt: skip
def draft_command(request: run.DraftRequest) -> None:
    """Extract facts, draft the memo section by section, validate every figure, write the DOCX."""
    from . import run

    _print_outcome(_run(run.draft, request))


@app.command("record")
@request_command(
    "ticker", "recordings", "out", "sources", "force", "yes", "config", "outline", "as_of",
    record=True,
)  # fmt: skip
def record_command(request: run.DraftRequest) -> None:
    """Re-capture a ticker's recordings from any live server (same as draft --record)."""
    from . import run

    _print_outcome(_run(run.draft, request))


@app.command("facts")
@request_command(
    "ticker", "sources", "company", "out", "force", "offline", "record", "recordings", "yes",
    "config", "as_of",
)  # fmt: skip
def facts_command(request: run.DraftRequest) -> None:
    """Extract and ground facts from sources; write facts.json and print them as a table."""
    from . import run

    outcome = _run(run.facts, request)
    assert outcome.factset is not None
    _print_facts(outcome.factset)
    typer.echo(
        f"Wrote {outcome.folder / 'facts.json'}: {run.kept_summary(outcome.factset)}, "
        f"{len(outcome.factset.conflicts)} conflict(s)."
    )
    if not outcome.factset.facts:
        raise typer.Exit(1)


def _print_facts(factset: FactSet) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table("ID", "Kind", "Statement", "Figures", "Source", box=box.SIMPLE, show_lines=False)
    for fact in factset.facts:
        pages = sorted({loc.page for loc in fact.locators if loc.page})
        where = fact.source_id + (f" p.{','.join(map(str, pages))}" if pages else "")
        where += "".join(f" [{s.ref}]" for s in fact.secondary)
        table.add_row(
            fact.id, fact.kind, fact.statement, ", ".join(q.text for q in fact.quantities), where
        )
    Console(width=max(100, Console().width)).print(table)
    for dropped in factset.dropped:
        instead = f" ({dropped.kept_as} stands in its place)" if dropped.kept_as else ""
        typer.echo(
            f"dropped ({dropped.source_id}): {dropped.statement} -- {dropped.reason}{instead}"
        )
    for conflict in factset.conflicts:
        typer.echo(f"conflict: {conflict.note}")
    for warning in factset.warnings:
        typer.echo(f"warning: {warning}")


@app.command("batch")
@with_settings
def batch_command(
    flags: dict[str, Any],
    tickers: Annotated[
        str | None,
        typer.Option(
            "--tickers", metavar="A,B,C", help="Tickers of the universe, comma-separated."
        ),
    ] = None,
    universe: Annotated[
        Path | None,
        typer.Option(
            "--universe",
            metavar="FILE",
            help="Universe file: a ticker a line, optionally its as-of date and sources (text), "
            "or CSV with columns ticker, as_of, sources, company.",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", metavar="DIR", help="Go on with the batch run in DIR."),
    ] = None,
    status: Annotated[
        Path | None,
        typer.Option("--status", metavar="DIR", help="Show where the batch run in DIR stands."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="New or empty folder of the run [default: ./out/batch-YYYYMMDD-HHMMSS].",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="openai-batch|jsonl|live",
            help="openai-batch: OpenAI's Batch API (half price, within 24 h); jsonl: request "
            "files for `vllm run_batch` or any runner of the format; live: calls as they come "
            "[default: openai-batch; with no model configured, the recordings replayed].",
        ),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            max=7 * 86_400,
            help="Poll submitted batches this long before exiting [default: exit once "
            "submitted; --resume goes on].",
        ),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            metavar="FILE",
            help="With --resume of a jsonl run: the output file of your batch runner.",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Replay each memo's recorded responses; no network."),
    ] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Save each memo's exchanges, as draft --record does [to ./recordings/TICKER].",
        ),
    ] = False,
    recordings: Annotated[
        Path | None,
        typer.Option(
            "--recordings",
            metavar="DIR",
            help="Recordings of the memos, DIR/TICKER each: replayed offline, written by --record.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Go past --max-calls and --max-prompt-tokens."),
    ] = False,
    config: Config = None,
    template: Template = None,
    as_of: AsOf = None,
    allow_flagged: Annotated[
        bool,
        typer.Option("--allow-flagged", help="Write memos the gate fails, flagged (exit 1)."),
    ] = False,
) -> None:
    """Draft many memos at once, stage by stage across the universe, through a batch engine."""
    from . import batch

    if engine is not None and engine not in ("openai-batch", "jsonl", "live"):
        _error(f"--engine {engine} is not an engine: use openai-batch, jsonl or live")
        raise typer.Exit(2)
    request = batch.BatchRequest(
        tickers=tickers,
        universe=universe,
        resume=resume,
        status=status,
        out=out,
        engine=engine,  # type: ignore[arg-type]
        wait=wait,
        answers=answers,
        offline=offline,
        record=record,
        recordings=recordings,
        yes=yes,
        config=config,
        template=template,
        allow_flagged=allow_flagged,
        as_of=_date(as_of) if as_of is not None else None,
        flags=flags,
    )
    outcome = _guard(lambda: batch.batch(request, sys.stderr))
    for line in outcome.lines:
        typer.echo(line)
    if outcome.finished and outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


@app.command("config")
@with_settings
def config_command(flags: dict[str, Any], config: Config = None) -> None:
    """Show the effective settings and where each comes from (the API key is masked)."""
    resolved = _guard(lambda: resolve(flags, config_path=config))
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
    comments = f", {len(report.comments)} comment(s) for the reviewer" if report.comments else ""
    typer.echo(
        f"Wrote {outcome.folder / 'memo.docx'}: {report.figures_checked} figures checked, "
        f"{len(report.repairs)} repair(s){comments}; {calls}; {tokens:,} tokens ({stages}); {cost}."
    )


_PLACED = {"section", "paragraph", "sentence", "kind", "token", "message"}


def validate_json(checked: run.Checked) -> str:
    """`validate --json`: ok and the violations (DESIGN.md's contract), then the findings that do
    not fail the gate under ``comments`` and a stale validation line under ``stale``; each of
    those two keys is absent when there is nothing to say."""
    report = checked.report
    payload: dict[str, Any] = {
        "ok": report.ok,
        "violations": [v.model_dump(include=_PLACED) for v in report.violations],
    }
    if report.comments:
        payload["comments"] = [c.model_dump(include=_PLACED) for c in report.comments]
    if checked.stale is not None:
        payload["stale"] = checked.stale
    return json.dumps(payload, indent=2, ensure_ascii=False)


def validate_lines(checked: run.Checked) -> list[str]:
    """`validate` for a person: each violation, then each comment (not a failure), then the
    verdict."""
    report = checked.report
    lines = [
        f"{v.section} ¶{v.paragraph} s{v.sentence} {v.kind}: {v.message}" for v in report.violations
    ]
    lines += [
        f"{c.section} ¶{c.paragraph} s{c.sentence} comment {c.kind}: {c.message}"
        for c in report.comments
    ]
    if checked.stale is not None:
        lines.append(f"STALE: {checked.stale['message']}")
    comments = f", {len(report.comments)} comment(s)" if report.comments else ""
    lines.append(
        f"{'OK' if report.ok else 'FAILED'}: {report.figures_checked} figures in "
        f"{report.sentences} sentences, {len(report.violations)} violation(s){comments}."
    )
    return lines


@app.command("validate")
def validate_command(
    draft: Annotated[
        Path,
        typer.Argument(
            metavar="DRAFT.json|MEMO.docx",
            help="draft.json, or memo.docx as a reviewer edited it in Word.",
        ),
    ],
    facts: Annotated[
        Path, typer.Option("--facts", metavar="FACTS.json", help="facts.json the memo cites.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    config: Config = None,
    as_of: AsOf = None,
) -> None:
    """Check every figure of a draft or an edited memo against the facts it cites. Exit 0 clean,
    1 violations."""
    from . import run
    from .progress import make_progress

    checked = _guard(
        lambda: run.validate(
            draft, facts, config, make_progress(sys.stderr), _date(as_of) if as_of else None
        )
    )
    output = validate_json(checked) if as_json else "\n".join(validate_lines(checked))
    typer.echo(output)
    if not checked.report.ok:
        raise typer.Exit(1)


@app.command("render")
def render_command(
    draft: Annotated[Path, typer.Argument(metavar="DRAFT.json", help="draft.json to render.")],
    facts: Annotated[
        Path, typer.Option("--facts", metavar="FACTS.json", help="facts.json the draft cites.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Output folder [default: the draft's folder]."
        ),
    ] = None,
    force: Force = False,
    template: Template = None,
    config: Config = None,
    as_of: AsOf = None,
) -> None:
    """Render a validated draft as memo.docx and memo.md (refuses a draft that fails the gate)."""
    from . import run
    from .progress import make_progress

    path = _guard(
        lambda: run.render(
            draft,
            facts,
            out,
            force,
            template,
            _date(as_of) if as_of else None,
            config,
            make_progress(sys.stderr),
        )
    )
    typer.echo(f"Wrote {path}")


GC_THRESHOLD = 10_000  # allocations between two passes of the youngest generation (Python: 700)


def tune_collector() -> None:
    """The collector as the thesisgen process runs it. A command imports its stack and builds its
    ledger once, and keeps them to the end: the cyclic collector's passes over those objects find
    nothing to free, and at the default threshold (a pass per 700 allocations) they cost an
    offline draft about a tenth of its time and find_conflicts a third of its time at 25,000
    facts. benchmarks/scale_bench.py measures the stages under the same setting."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the CLI. Everything it prints passes through the secret filter; a usage mistake is one
    line and exit 2; after an interrupt or a service failure the process exits without waiting for
    model calls still in flight on other threads."""
    sys.stdout = RedactingStream(sys.stdout)
    sys.stderr = RedactingStream(sys.stderr)
    tune_collector()
    # thesisgen uses no pydantic plugin, and looking for one reads the metadata of every installed
    # package when the first model is built (~15 ms); PYDANTIC_DISABLE_PLUGINS= turns them back on.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # `kill` (SIGTERM) ends a run the way Ctrl-C does: calls abandoned, the set marked.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        _error("interrupted: no memo was written")
        code = 130
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise  # a bug: show the traceback
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message(), err=True)
        else:  # a click usage error (unknown option, missing --ticker, bad value)
            ctx = getattr(exc, "ctx", None)
            where = getattr(ctx, "command_path", "thesisgen")
            message = exc.format_message().replace("Value error, ", "").rstrip(". ")
            _error(f"{message}: see `{where} --help`")
        code = int(exc.exit_code)
    code = code if isinstance(code, int) else 0
    sys.stdout.flush()
    sys.stderr.flush()
    # The process ends here: the interpreter's last collections would walk every object still
    # alive (0.2 s after a draft) to free what the exit frees anyway; atexit handlers still run.
    gc.freeze()
    if code in (3, 130):
        os._exit(code)
    sys.exit(code)

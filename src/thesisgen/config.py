"""Settings: one typed model that flags, environment, a config file and defaults all fill.

Every setting is one field of :class:`Settings`, with its range, its help text and whether it is
also a command-line flag. Precedence: flags > environment > config file > defaults. The environment
variable of a setting is ``THESISGEN_<NAME>`` (``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` for the key
and the server, as the SDK names them). The config file is ``thesisgen.toml`` in the working folder,
the ``[tool.thesisgen]`` table of ``pyproject.toml`` there, or the file given with ``--config``.

All values are validated together, before any work, and a bad one is a one-line error naming the
value, where it came from and the allowed range. ``thesisgen config`` shows every effective value and
its origin; the API key, and any password in the base URL, are never shown (see :mod:`.secrets`).
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)

from . import secrets
from .errors import UsageError

StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]
VerifyMode = Literal["off", "comment", "gate"]  # the model check (verify.py)


def _base_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/v1"
        )
    return value.strip()


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if any(ch in value for ch in "\r\n\t"):
        raise ValueError("must be one line")
    return value.strip()


def _user_agent(value: str | None) -> str | None:
    """The SEC asks for a name and a contact e-mail; a User-Agent without one is refused there."""
    if value is None:
        return None
    value = _not_blank(value)
    if "@" not in value or " " not in value:
        raise ValueError(
            'must name you and give a contact e-mail, e.g. "Jane Doe jane@example.com"'
        )
    return value


Finite = Annotated[float, Field(allow_inf_nan=False)]


def setting(default: Any, doc: str, flag: bool | str = False, **limits: Any) -> Any:
    """One field of :class:`Settings`: its default (a type such as ``list`` for an empty one),
    its docs (the help of its flag and the README's table), whether it is a flag (True:
    ``--max-calls`` for max_calls; a string names the flag, e.g. ``--no-cache``) and its range
    (ge, le, gt)."""
    extra: dict[str, JsonValue] | None = {"flag": "" if flag is True else flag} if flag else None
    if isinstance(default, type):
        return Field(default_factory=default, description=doc, json_schema_extra=extra, **limits)
    return Field(default, description=doc, json_schema_extra=extra, **limits)


class Settings(BaseModel):
    """Every setting of a run, with its range and docs. A new setting is one field here; then
    ``python scripts/readme_reference.py --write`` regenerates the README's table."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # fmt: off
    model: Annotated[str, AfterValidator(_not_blank)] = setting(
        "gpt-4o-mini", "Model name.", True)
    base_url: Annotated[str | None, AfterValidator(_base_url)] = setting(
        None, "OpenAI-compatible API base URL (http:// or https://, with a host).", True)
    api_key: str | None = Field(
        None, repr=False, description="The API key; never printed, logged or written.")
    concurrency: int = setting(
        4, "Model calls in flight at once (a replay makes them one at a time).", True, ge=1, le=64)
    max_repairs: int = setting(
        2, "Repairs per section the validator rejects.", True, ge=0, le=10)
    timeout: Finite = setting(
        600.0, "Seconds to wait for one answer (local CPU models are slow).", True,
        gt=0, le=86_400)
    max_tokens: int | None = setting(
        None, "Cap on each answer's tokens.", True, ge=16, le=1_000_000)
    structured_output: StructuredOutput = setting(
        "auto", "json_schema, json_object (with schema), prompt, or auto: detect once per run.",
        True)
    cache: bool = setting(
        True, "Answer a request asked before from the cache (--no-cache: call the model even "
        "so).", "--no-cache")
    cache_dir: str | None = setting(
        None, "The answer cache's folder [none: $XDG_CACHE_HOME/thesisgen or "
        "~/.cache/thesisgen].")
    temperature: Finite = setting(0.0, "Sampling temperature.", ge=0, le=2)
    seed: int = setting(7, "Sampling seed, for servers that take one.")
    retry_attempts: int = setting(
        5, "Tries per call for 429, 5xx, timeouts and lost connections.", ge=1, le=20)
    retry_initial_wait: Finite = setting(
        1.0, "Seconds before the first retry; the wait doubles after every failed try "
        "(Retry-After honoured).", ge=0, le=600)
    retry_max_wait: Finite = setting(
        30.0, "Seconds at most between two tries.", ge=0, le=3600)
    retry_total: Finite = setting(
        180.0, "Seconds of retrying per call at most.", gt=0, le=86_400)
    extract: Literal["model", "rules"] = setting(
        "model", "How facts are drawn: model (it points at source sentences; the program cuts "
        "the quotes) or rules (no model: every sentence with a figure or the company's name, "
        "as written).", True)
    rules_fallback: bool = setting(
        True, "With extract model, a source where the model proposed no usable fact gets rules "
        "facts instead, with a warning (--no-rules-fallback: it does not).",
        "--no-rules-fallback")
    max_verbatim_chars: int = setting(
        400, "Longest evidence kept as written when the model's statement misstates it (longer: "
        "the fact is dropped, with the reason); also the longest sentence the rules take.",
        True, ge=0, le=100_000)
    max_restatements: int = setting(
        100, "Calls at most per run that ask the model to restate a fact it misstated; past it, "
        "the evidence is kept as written (with a warning).", True, ge=0, le=100_000)
    max_rules_facts: int = setting(
        300, "Rules facts at most per source; past it, the first ones are kept (with a "
        "warning).", True, ge=1, le=100_000)
    chunk_chars: int = setting(
        12_000, "Source characters per facts call (whole sentences); small local models do "
        "better with 2000.", True, ge=1_000, le=1_000_000)
    chunk_overlap: int = setting(
        500, "Characters of sentences two facts calls of a source share, under half of "
        "chunk_chars.", True, ge=0, le=100_000)
    max_calls: int = setting(
        200, "Stop before a run that needs more model calls (see --yes).", True,
        ge=1, le=1_000_000)
    max_prompt_tokens: int = setting(
        2_000_000, "Stop before a run that sends more prompt tokens (see --yes).", True,
        ge=1_000, le=10_000_000_000)
    max_source_mb: Finite = setting(20.0, "Size of one source file, in MB.", gt=0, le=2_000)
    max_json_mb: Finite = setting(
        10.0, "Size of a facts.json or draft.json we read, in MB.", gt=0, le=2_000)
    max_conflicts_per_fact: int = setting(
        3, "Conflicts one fact may take part in.", ge=0, le=100)
    rounding_tolerance: Finite = setting(
        0.05, "How far the gate (draft, validate, render) lets a figure round its fact, "
        "relative to the fact's value (0.05: \"$204 million\" for $203.9 million, never "
        "\"$1 billion\" for $900 million); facts are grounded in their evidence, and conflicts "
        "found, at 0.05.", gt=0, le=0.5)
    max_facts_per_section: int = setting(
        40, "Facts at most in one section's prompt, chosen by topic and relevance.", True,
        ge=1, le=500)
    verify: VerifyMode = setting(
        "off", "Ask the model whether each sentence's cited facts support it: off, comment (its "
        "doubts become comments) or gate (a contradiction fails the gate).", True)
    max_verify_sentences: int = setting(
        200, "Sentences at most the model check reads; the rest are left unchecked, with a "
        "warning.", True, ge=1, le=100_000)
    identifiers: list[str] = setting(
        list, "Names with digits that are not figures (config file only).")
    aliases: list[str] = setting(
        list, "Other names of the company (a subsidiary, a brand) a memo may use without a "
        "cited fact naming them, added to the bundle's (config file only).")
    prices: dict[str, tuple[Finite, Finite]] = setting(
        dict, "Model name -> [USD per 1M input tokens, USD per 1M output tokens], over the "
        "built-in table (config file only).")
    edgar: Literal["auto", "on", "off"] = setting(
        "auto", "SEC EDGAR filings and XBRL financials: auto (for a ticker with no bundle, or a "
        "bundle that recorded them), on (also for a bundled ticker; fails when neither a live "
        "fetch nor a recording is possible), off.", True)
    edgar_user_agent: Annotated[str | None, AfterValidator(_user_agent)] = setting(
        None, "Who fetches from SEC EDGAR, as the SEC requires: a name and a contact e-mail, "
        "e.g. \"Jane Doe Research jane@example.com\" (needed for a live fetch).")
    edgar_rate: Finite = setting(
        10.0, "EDGAR requests per second at most (the SEC's limit is 10).", gt=0, le=10)
    edgar_8k_days: int = setting(
        90, "8-K press releases (exhibit 99.1) filed this many days before the memo date, at "
        "most, are read.", True, ge=0, le=3_650)
    edgar_max_filings: int = setting(
        8, "Filing documents at most a run reads from EDGAR (the annual report, then the "
        "newest quarterly reports and press releases).", True, ge=1, le=100)
    edgar_max_age_hours: Finite = setting(
        24.0, "Hours the cached ticker list, filing index and XBRL facts are used before they "
        "are fetched again (filings themselves never change and are kept).", ge=0, le=8_760)
    max_tickers: int = setting(
        500, "Tickers at most in one `thesisgen batch` universe (--tickers or --universe).", True,
        ge=1, le=50_000)
    batch_price_factor: Finite = setting(
        0.5, "What a batch engine's tokens cost, as a share of the live prices in the price "
        "table (OpenAI's Batch API: half).", True, gt=0, le=1)
    batch_max_requests: int = setting(
        50_000, "Requests at most in one submitted batch (OpenAI's limit: 50,000 lines and "
        "200 MB); a larger round is split into several batches.", True, ge=1, le=50_000)
    batch_line_attempts: int = setting(
        3, "Times a batch request is submitted at most when its line fails for a reason that "
        "may pass (an expired or failed batch, a 429 or 5xx line); then its memo fails.", True,
        ge=1, le=20)
    batch_poll_initial: Finite = setting(
        10.0, "Seconds before the first poll of a submitted batch (--wait); the wait doubles "
        "after every poll.", True, gt=0, le=3_600)
    batch_poll_max: Finite = setting(
        300.0, "Seconds at most between two polls of a submitted batch.", True, gt=0, le=86_400)
    # fmt: on

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap >= self.chunk_chars // 2:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be under half of chunk_chars "
                f"({self.chunk_chars})"
            )
        return self

    @property
    def live_configured(self) -> bool:
        return bool(self.api_key or self.base_url)

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "thesisgen"


FIELDS = Settings.model_fields
# The one place a default is read from (facts.py, draft.py, --help); built without validating, so
# that `--help` does not build the validator (defer_build), which `resolve` builds when it runs.
DEFAULTS = Settings.model_construct()
ENV_ALIASES = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}
# Settings a config file may hold but the environment may not (structured values).
_FILE_ONLY = ("identifiers", "aliases", "prices")


def env_name(key: str) -> str:
    return ENV_ALIASES.get(key, f"THESISGEN_{key.upper()}")


def flag_name(key: str) -> str | None:
    """The command-line option of a setting, or None for settings only a file or env can set."""
    extra = FIELDS[key].json_schema_extra
    if not isinstance(extra, dict) or "flag" not in extra:
        return None
    return str(extra["flag"]) or "--" + key.replace("_", "-")


def default_text(key: str) -> str:
    """A setting's default as --help and the README show it."""
    default = getattr(DEFAULTS, key)
    if key == "api_key" or default is None:
        return "none"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"{default:,}" if isinstance(default, int) else str(default)


def range_text(key: str) -> str:
    """A setting's range, from its field's limits ('1-64', 'over 0, at most 86,400'), or the
    choices of a Literal."""
    annotation = FIELDS[key].annotation
    if typing.get_origin(annotation) is Literal:
        return ", ".join(str(c) for c in typing.get_args(annotation))
    low: Any = None
    high: Any = None
    exclusive = False
    for item in FIELDS[key].metadata:
        if getattr(item, "le", None) is not None:
            high = item.le
        for name in ("ge", "gt"):
            if getattr(item, name, None) is not None:
                low, exclusive = getattr(item, name), name == "gt"
    if low is None or high is None:
        return ""
    low_text, high_text = (f"{v:,}" if isinstance(v, int) else str(v) for v in (low, high))
    return f"over {low_text}, at most {high_text}" if exclusive else f"{low_text}-{high_text}"


def flag_help(key: str) -> str:
    doc = FIELDS[key].description or ""
    return f"{doc} [env {env_name(key)}; default {default_text(key)}]"


@dataclass(frozen=True)
class Resolved:
    """The effective settings and, for each, where it came from."""

    settings: Settings
    sources: dict[str, str]
    config_file: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self.settings, key)

    @property
    def live_configured(self) -> bool:
        return self.settings.live_configured


def masked(secret: str | None) -> str:
    if not secret:
        return "(not set)"
    return f"{secret[:3]}…{secret[-2:]}" if len(secret) > 12 else "***"


def public_url(url: str | None) -> str | None:
    """A base URL without any user:password part or query, fit for a manifest or a message."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


MAX_CONFIG_BYTES = 1024 * 1024


def _read_file(path: Path, table: str | None) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise UsageError(f"config file {path} is over 1 MB: is it the right file?")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} cannot be read ({exc}): fix or remove it") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML ({exc}): fix it") from exc
    if table is not None:
        data = data.get("tool", {}).get(table, {})
    if not isinstance(data, dict):
        raise UsageError(f"config file {path}: [tool.{table}] must be a table: fix it")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise UsageError(
            f"config file {path} has a bad setting (unknown key '{unknown[0]}'): fix it; "
            f"known settings: {', '.join(FIELDS)}"
        )
    return data


def find_config(explicit: Path | None, cwd: Path) -> tuple[Path | None, str | None]:
    """The config file to use and the table in it (None for a whole thesisgen.toml)."""
    if explicit is not None:
        if explicit.is_dir():
            raise UsageError(f"config file {explicit} is a folder: pass the .toml file in it")
        if not explicit.is_file():
            raise UsageError(f"config file {explicit} does not exist: check --config")
        return explicit, ("thesisgen" if explicit.name == "pyproject.toml" else None)
    own = cwd / "thesisgen.toml"
    if own.is_file():
        return own, None
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            has_table = "thesisgen" in tomllib.loads(pyproject.read_text("utf-8")).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            has_table = False
        if has_table:
            return pyproject, "thesisgen"
    return None, None


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_path: Path | None = None,
) -> Resolved:
    """Flags (None means not given) over environment over config file over defaults, validated."""
    env = os.environ if env is None else env
    path, table = find_config(config_path, cwd or Path.cwd())
    from_file = _read_file(path, table) if path else {}
    file_label = f"{path} [tool.thesisgen]" if table else str(path)
    unknown = sorted(set(flags) - set(FIELDS))
    if unknown:
        raise AssertionError(f"not settings: {unknown}")  # a bug in the caller, not user input
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in FIELDS:
        if flags.get(key) is not None:
            values[key], sources[key] = flags[key], "flag"
        elif key not in _FILE_ONLY and env.get(env_name(key)):
            values[key], sources[key] = env[env_name(key)], f"env {env_name(key)}"
        elif key in from_file:
            values[key], sources[key] = from_file[key], file_label
        else:
            sources[key] = "default"
    for key in ("api_key", "base_url"):
        if values.get(key):
            secrets.register_from(key, str(values[key]))
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise UsageError(_describe_setting_error(exc, values, sources)) from None
    return Resolved(settings=settings, sources=sources, config_file=path)


def _describe_setting_error(
    exc: ValidationError, values: Mapping[str, Any], sources: Mapping[str, str]
) -> str:
    err = exc.errors()[0]
    key = str(err["loc"][0]) if err["loc"] else ""
    if key not in FIELDS:  # a check across settings (chunk sizes)
        return f"settings do not fit together: {err['msg'].removeprefix('Value error, ')}"
    origin = sources.get(key, "default")
    where = {
        "flag": flag_name(key) or key,
        "default": f"default {key}",
    }.get(origin, f"{key} ({origin})")
    shown = "***" if key == "api_key" else secrets.redact(repr(values.get(key)))
    message = err["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{where} = {shown} is not allowed: {message}{more}: fix it and run again"


def describe(resolved: Resolved) -> list[tuple[str, str, str]]:
    """Rows for ``thesisgen config``: key, value (secrets masked), source."""
    rows = []
    settings = resolved.settings
    for key in FIELDS:
        value = getattr(settings, key)
        if key == "api_key":
            shown = masked(value)
        elif key == "base_url":
            shown = secrets.redact(value) if value else "(not set)"
        elif key in _FILE_ONLY:
            continue
        else:
            shown = "(not set)" if value is None else str(value)
        rows.append((key, shown, resolved.sources[key]))
    rows.append(("cache folder", str(settings.resolved_cache_dir()), "derived"))
    if settings.identifiers:
        rows.append(("identifiers", ", ".join(settings.identifiers), str(resolved.config_file)))
    if settings.aliases:
        rows.append(("aliases", ", ".join(settings.aliases), str(resolved.config_file)))
    for model, (inp, out) in settings.prices.items():
        rows.append((f"price {model}", f"${inp}/M in, ${out}/M out", str(resolved.config_file)))
    return rows

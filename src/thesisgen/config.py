"""Settings from flags, environment, a config file and defaults, in that order of precedence.

The config file is ``thesisgen.toml`` in the working folder, or the ``[tool.thesisgen]`` table of
``pyproject.toml`` there, or the file given with ``--config``. ``thesisgen config`` shows every
effective value and where it came from. The API key is read here and handed only to the SDK; it is
never printed, logged or written (``masked`` shows it safely).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError

from .errors import UsageError
from .files import describe_validation_error
from .models import Contract

DEFAULT_MODEL = "gpt-4o-mini"
StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]


class FileSettings(Contract):
    """What a config file may set. Unknown keys are errors that name the key."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=64)
    max_repairs: int | None = Field(default=None, ge=0, le=10)
    timeout: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, ge=64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None
    structured_output: StructuredOutput | None = None
    cache: bool | None = None
    cache_dir: str | None = None
    retry_attempts: int | None = Field(default=None, ge=1, le=20)
    retry_initial_wait: float | None = Field(default=None, ge=0)
    retry_max_wait: float | None = Field(default=None, ge=0)
    retry_total: float | None = Field(default=None, gt=0)
    chunk_chars: int | None = Field(default=None, ge=2_000)
    chunk_overlap: int | None = Field(default=None, ge=0)
    identifiers: list[str] = Field(default_factory=list)
    # model name -> [USD per 1M input tokens, USD per 1M output tokens]
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)


DEFAULTS: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "base_url": None,
    "api_key": None,
    "concurrency": 4,
    "max_repairs": 2,
    "timeout": 600.0,  # local CPU models can take minutes per answer
    "max_tokens": None,
    "temperature": 0.0,
    "seed": 7,
    "structured_output": "auto",
    "cache": True,
    "cache_dir": None,
    "retry_attempts": 5,
    "retry_initial_wait": 1.0,
    "retry_max_wait": 30.0,
    "retry_total": 180.0,
    "chunk_chars": 12_000,
    "chunk_overlap": 1_000,
}
ENV: dict[str, str] = {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "model": "THESISGEN_MODEL",
    "cache_dir": "THESISGEN_CACHE_DIR",
}


@dataclass(frozen=True)
class Resolved:
    """Effective settings and, for each, where it came from."""

    values: dict[str, Any]
    sources: dict[str, str]
    identifiers: tuple[str, ...] = ()
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    config_file: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def live_configured(self) -> bool:
        return bool(self.values["api_key"] or self.values["base_url"])

    def cache_dir(self) -> Path:
        configured = self.values["cache_dir"]
        if configured:
            return Path(configured).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "thesisgen"


def masked(secret: str | None) -> str:
    if not secret:
        return "(not set)"
    return f"{secret[:3]}…{secret[-2:]}" if len(secret) > 12 else "***"


def public_url(url: str | None) -> str | None:
    """A base URL without any user:password part, fit for a manifest."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _read_file(path: Path, table: str | None) -> FileSettings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} cannot be read ({exc}): fix or remove it") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML ({exc}): fix it") from exc
    if table is not None:
        data = data.get("tool", {}).get(table, {})
    try:
        return FileSettings.model_validate(data)
    except ValidationError as exc:
        raise UsageError(
            f"config file {path} has a bad setting ({describe_validation_error(exc)}): fix it"
        ) from exc


def find_config(explicit: Path | None, cwd: Path) -> tuple[Path | None, str | None]:
    """The config file to use and the table in it (None for a whole thesisgen.toml)."""
    if explicit is not None:
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
    """Flags (None means not given) over environment over config file over defaults."""
    env = os.environ if env is None else env
    path, table = find_config(config_path, cwd or Path.cwd())
    file_settings = _read_file(path, table) if path else FileSettings()
    file_label = f"{path} [tool.thesisgen]" if table else str(path)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        if flags.get(key) is not None:
            values[key], sources[key] = flags[key], "flag"
        elif key in ENV and env.get(ENV[key]):
            values[key], sources[key] = env[ENV[key]], f"env {ENV[key]}"
        elif getattr(file_settings, key) is not None:
            values[key], sources[key] = getattr(file_settings, key), file_label
        else:
            values[key], sources[key] = default, "default"
    return Resolved(
        values=values,
        sources=sources,
        identifiers=tuple(file_settings.identifiers),
        prices=dict(file_settings.prices),
        config_file=path,
    )


def describe(resolved: Resolved) -> list[tuple[str, str, str]]:
    """Rows for ``thesisgen config``: key, value (secrets masked), source."""
    rows = []
    for key in DEFAULTS:
        value = resolved.values[key]
        shown = (
            masked(value) if key == "api_key" else ("(not set)" if value is None else str(value))
        )
        rows.append((key, shown, resolved.sources[key]))
    rows.append(("cache folder", str(resolved.cache_dir()), "derived"))
    if resolved.identifiers:
        rows.append(("identifiers", ", ".join(resolved.identifiers), str(resolved.config_file)))
    for model, (inp, out) in resolved.prices.items():
        rows.append((f"price {model}", f"${inp}/M in, ${out}/M out", str(resolved.config_file)))
    return rows

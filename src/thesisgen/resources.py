"""Where the bundled prompts, templates and company bundles live, installed or in a checkout.

A wheel carries them under ``thesisgen/_data/`` (see pyproject); an editable install or a plain
checkout reads the top-level folders, so a prompt edit shows up without reinstalling.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from .errors import UsageError
from .models import Contract

DataDir = Literal["prompts", "templates", "fixtures"]

_PACKAGE = Path(__file__).resolve().parent
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{0,5}(?:[.-][A-Z0-9]{1,3})?$")


def data_dir(name: DataDir) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise UsageError(
        f"thesisgen's {name}/ folder is missing from this install: reinstall thesisgen"
    )


def tree_sha256(folder: Path, pattern: str = "*") -> str:
    """One hash over a folder's files (names and bytes), so a changed prompt changes the manifest."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def check_ticker(raw: str) -> str:
    """A ticker is a short symbol, never a path: '../x', '' and 'A B' are refused here."""
    ticker = raw.strip().upper()
    if not TICKER_PATTERN.match(ticker):
        raise UsageError(
            f"'{raw[:40]}{'…' if len(raw) > 40 else ''}' is not a ticker: use 1-6 letters or "
            "digits starting with a letter, "
            "optionally with a class suffix (e.g. AREC, BRK.B)"
        )
    return ticker


class Bundle(Contract):
    """``fixtures/<TICKER>/bundle.json``: the company a bundle is about."""

    ticker: str
    company: str
    exchange: str | None = None
    description: str | None = None
    identifiers: list[str] = Field(default_factory=list)
    # other names of the company a memo may use freely (a subsidiary, a brand): see validate
    aliases: list[str] = Field(default_factory=list)
    # the memo date a run of this bundle takes when --as-of is not given (an EDGAR bundle's
    # recording was made on one day: a later date would not see later filings anyway)
    as_of: dt.date | None = None

    @property
    def root(self) -> Path:
        return data_dir("fixtures") / self.ticker

    @property
    def sources_dir(self) -> Path:
        return self.root / "sources"

    @property
    def recordings_dir(self) -> Path:
        return self.root / "recordings"

    @property
    def outline_file(self) -> Path | None:
        """The bundle's own outline (``fixtures/<TICKER>/outline.yaml``), when it has one."""
        path = self.root / "outline.yaml"
        return path if path.is_file() else None


def bundled_tickers() -> list[str]:
    root = data_dir("fixtures")
    return sorted(p.parent.name for p in root.glob("*/bundle.json"))


def load_bundle(ticker: str) -> Bundle:
    path = data_dir("fixtures") / ticker / "bundle.json"
    if not path.is_file():
        known = ", ".join(bundled_tickers()) or "none"
        raise UsageError(
            f"no bundle for ticker {ticker} (bundled: {known}): pass its documents with --source "
            "PATH, or start from a facts file with --facts FACTS.json"
        )
    try:
        bundle = Bundle.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise UsageError(f"bundle file {path} is unusable ({exc}): reinstall thesisgen") from exc
    if bundle.ticker != ticker:
        raise UsageError(f"bundle {path} is for {bundle.ticker}, not {ticker}: fix its 'ticker'")
    return bundle

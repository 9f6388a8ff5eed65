"""Which model to call and how: flags over environment over defaults.

With no API key and no base URL, a bundled ticker replays its recordings: a new user sees the whole
pipeline work offline. The key is read here and handed only to the SDK; it is never printed, logged
or written (``masked`` shows it safely).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import UsageError
from .llm import LLMSettings, Mode

DEFAULT_MODEL = "gpt-4o-mini"


def masked(secret: str | None) -> str:
    if not secret:
        return "(not set)"
    return f"{secret[:3]}…{secret[-2:]}" if len(secret) > 8 else "***"


def public_url(url: str | None) -> str | None:
    """A base URL without any user:password part, fit for a manifest."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class Choice:
    settings: LLMSettings
    announcement: str | None


def choose(
    *,
    ticker: str,
    offline: bool,
    record_to: Path | None,
    model: str | None,
    base_url: str | None,
    recordings_dir: Path | None,
) -> Choice:
    api_key = os.environ.get("OPENAI_API_KEY") or None
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    model = model or os.environ.get("THESISGEN_MODEL") or None
    live_configured = bool(api_key or base_url)
    if offline and record_to is not None:
        raise UsageError("--offline and recording exclude each other: drop one")
    if record_to is not None:
        if not live_configured:
            raise UsageError("recording needs a live model: set OPENAI_API_KEY or pass --base-url")
        mode: Mode = "record"
    elif offline or not live_configured:
        mode = "replay"
    else:
        mode = "live"

    if mode == "replay":
        if recordings_dir is None or not recordings_dir.is_dir():
            raise UsageError(
                f"no recorded responses for {ticker}, so it cannot run offline: set OPENAI_API_KEY "
                "or OPENAI_BASE_URL to call a live model"
            )
        note = None
        if not offline:
            note = (
                f"No OPENAI_API_KEY or OPENAI_BASE_URL set: replaying the recorded responses bundled "
                f"for {ticker} (no network)."
            )
        settings = LLMSettings(mode="replay", model=model or "", recordings_dir=recordings_dir)
        return Choice(settings, note)

    settings = LLMSettings(
        mode=mode,
        model=model or DEFAULT_MODEL,
        base_url=base_url,
        api_key=api_key or "no-key",
        recordings_dir=record_to,
    )
    return Choice(settings, None)

"""Secrets never reach the terminal, an error line, a recording, a manifest or the memo.

One place knows what a secret looks like: the API key and any user or password in the base URL
(registered when settings are read), bearer tokens and key-like values a server may echo back in an
error body, and URL user-info. :func:`redact` masks them in any text; the CLI routes everything it
prints through :class:`RedactingStream`, so no code path can forget to call it.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
_known: set[str] = set()
_lock = threading.Lock()

_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)([^\s\"',;]{6,})")
_KEYED = re.compile(
    r"(?i)\b(authorization|proxy-authorization|api[-_]?key|x-api-key|access[-_]?token|secret)"
    r"([\"']?\s*[:=]\s*[\"']?)(?!bearer\b|basic\b)([^\s\"',;]{6,})"
)
_SK = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
# Credentials in a URL's query string (?api-key=..., &token=..., ?code=...).
_QUERY = re.compile(
    r"([?&;][\w.-]*(?:key|token|secret|auth|code|sig|signature|password|passwd|pwd|credential)"
    r"[\w.-]*=)([^&#\s\"',;]+)",
    re.IGNORECASE,
)


def register(secret: str | None) -> None:
    """Remember a value that must never be shown (short values would mask ordinary words)."""
    if secret and len(secret) >= 6:
        with _lock:
            _known.add(secret)


def register_from(key: str, value: str) -> None:
    """Register the secret parts of a setting: the key itself, or a URL's user and password."""
    if key == "api_key":
        register(value)
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        return
    for part in (parts.username, parts.password):
        if part:
            register(part)
            register(unquote(part))
    for _name, query_value in parse_qsl(parts.query, keep_blank_values=False):
        register(query_value)  # a key passed as ?api-key=... is as secret as the header
    if parts.username is not None:
        # The HTTP client sends URL user-info as "Authorization: Basic base64(user:password)";
        # a server that echoes that value would otherwise reveal the password.
        for user, password in (
            (parts.username, parts.password or ""),
            (unquote(parts.username), unquote(parts.password or "")),
        ):
            register(base64.b64encode(f"{user}:{password}".encode()).decode())


def redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _BEARER.sub(rf"\1\2{MASK}", text)
    text = _KEYED.sub(rf"\1\2{MASK}", text)
    text = _QUERY.sub(rf"\1{MASK}", text)
    return _SK.sub(f"sk-{MASK}", text)


def one_line(text: str) -> str:
    """A message as one terminal line: control characters (a newline in a ticker) are shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class RedactingStream:
    """A text stream that redacts every write before passing it on (stdout and stderr of the CLI)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

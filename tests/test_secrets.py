"""Canary keys: the API key and a password in the base URL never reach a file or a terminal line.

Each test runs the CLI as a user would (a subprocess, ``OPENAI_API_KEY`` set to a canary key, a
second canary as the password in ``--base-url``), then greps every byte the run could have written:
the output folders, the recordings, the model-answer cache, the working folder (and the XML inside
every zip, such as memo.docx), and stdout and stderr. The grep counts what it read, so a test cannot
pass by looking at nothing.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from conftest import AREC, Completed, run_cli
from stub_openai import Reply, Running, authored_script, serve

USER = "analyst"
RETRY_FAST = "retry_attempts = 2\nretry_initial_wait = 0.01\nretry_max_wait = 0.02\n"


@dataclass(frozen=True)
class Canaries:
    key: str  # OPENAI_API_KEY
    password: str  # the password in --base-url; has characters a URL must quote

    @property
    def forms(self) -> list[str]:
        """Each canary as it is, and as a URL (quoted in every usual way) would carry it."""
        forms = set()
        for secret in (self.key, self.password):
            forms |= {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
        return sorted(forms)

    @property
    def basic(self) -> str:
        """The credential the HTTP client derives from the URL's user-info (Basic auth)."""
        return base64.b64encode(f"{USER}:{self.password}".encode()).decode()

    def url(self, base_url: str) -> str:
        """``base_url`` with user-info: the password quoted as a URL requires."""
        scheme, rest = base_url.split("://", 1)
        return f"{scheme}://{USER}:{quote(self.password, safe='')}@{rest}"


@pytest.fixture
def canaries() -> Canaries:
    return Canaries(
        key="sk-canary-" + secrets.token_hex(16),
        password="pw-canary-" + secrets.token_hex(12) + "!$/",
    )


@dataclass
class Grep:
    files: int = 0  # files read (zip members count too)
    zips: int = 0


def _blobs(path: Path) -> Iterable[tuple[str, bytes]]:
    data = path.read_bytes()
    yield str(path), data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield f"{path}!{member}", archive.read(member)


def grep_tree(roots: Iterable[Path], needles: Iterable[str], grep: Grep) -> list[str]:
    """Every file under ``roots`` (and every member of a zip among them): where a needle occurs."""
    encoded = [(n, n.encode()) for n in needles]
    hits = []
    seen: set[Path] = set()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink() or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            for name, data in _blobs(path):
                grep.files += 1
                grep.zips += "!" in name
                hits += [f"{needle!r} in {name}" for needle, raw in encoded if raw in data]
    return hits


def grep_output(results: Iterable[Completed], needles: Iterable[str]) -> list[str]:
    hits = []
    for i, result in enumerate(results):
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            for number, line in enumerate(text.splitlines(), 1):
                hits += [f"{n!r} in run {i} {stream} line {number}" for n in needles if n in line]
    return hits


def _count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


# --- 1. thesisgen config ------------------------------------------------------------------------


def test_config_shows_neither_canary(tmp_path: Path, canaries: Canaries) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesisgen.toml").write_text(RETRY_FAST)
    url = canaries.url("http://127.0.0.1:8080/v1")
    result = run_cli(
        "config", "--base-url", url, cwd=work, OPENAI_API_KEY=canaries.key,
        THESISGEN_CACHE_DIR=str(work / "cache"),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "api_key" in result.stdout and "127.0.0.1:8080" in result.stdout
    assert not grep_output([result], canaries.forms)
    grep = Grep()
    assert not grep_tree([work], canaries.forms, grep)
    assert grep.files > 0


# --- 2. a hostile server that echoes the credentials back ---------------------------------------


def echoing(
    requests: list[dict[str, Any]], canaries: Canaries, userinfo: bool, bare: bool = False
) -> Any:
    """Every request gets HTTP 500 and an error body quoting the request's Authorization header
    and each canary the run was given, plain and URL-quoted (``bare``: also the header's
    credential alone)."""

    def script(label: str, body: dict[str, Any]) -> Reply:
        request = next(r for r in reversed(requests) if r["body"] is body)
        headers = {k.lower(): v for k, v in request["headers"].items()}
        auth = headers.get("authorization", "")
        # Short, so that thesisgen's 200-character cap on a server message cuts none of it.
        message = f"you sent Authorization: {auth}; key {canaries.key} is bad"
        if userinfo:
            message += f"; password {canaries.password} (URL {quote(canaries.password, safe='')})"
        if bare:
            message = f"credential {auth.split()[-1]} rejected; {message}"
        return Reply(500, {"error": {"message": message, "type": "server_error"}})

    return script


def _hostile_draft(
    tmp_path: Path, canaries: Canaries, userinfo: bool, bare: bool = False
) -> tuple[Completed, Path, list[dict[str, Any]]]:
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesisgen.toml").write_text(RETRY_FAST)
    requests: list[dict[str, Any]] = []
    holder: dict[str, Running] = {}

    def script(label: str, body: dict[str, Any]) -> Reply:
        return echoing(holder["server"].requests, canaries, userinfo, bare)(label, body)

    with serve(script) as server:
        holder["server"] = server
        url = canaries.url(server.base_url) if userinfo else server.base_url
        result = run_cli(
            "draft", "--ticker", "AREC", "--base-url", url, "--model", "handwritten-fixture",
            "--out", work / "out", cwd=work, OPENAI_API_KEY=canaries.key,
            THESISGEN_CACHE_DIR=str(work / "cache"),
        )  # fmt: skip
        requests = list(server.requests)
    return result, work, requests


@pytest.mark.enable_socket
@pytest.mark.parametrize("userinfo", [True, False], ids=["basic-from-userinfo", "bearer-key"])
def test_hostile_server_echo_is_never_shown_or_written(
    tmp_path: Path, canaries: Canaries, userinfo: bool
) -> None:
    result, work, requests = _hostile_draft(tmp_path, canaries, userinfo)
    assert result.code == 3, result.stderr
    assert "HTTP 500" in result.stderr and "Traceback" not in result.stderr
    assert len(requests) >= 2, "the retry policy should have tried twice"
    # The secret really travelled, so the server really echoed it.
    sent = {k.lower(): v for k, v in requests[0]["headers"].items()}.get("authorization")
    assert sent == (f"Basic {canaries.basic}" if userinfo else f"Bearer {canaries.key}")

    # The echo reached the error line whole, masked.
    scheme = "Basic" if userinfo else "Bearer"
    assert f"you sent Authorization: {scheme} ***; key *** is bad" in result.stderr
    if userinfo:
        assert "; password *** (URL ***)" in result.stderr
    assert not grep_output([result], canaries.forms)
    grep = Grep()
    assert not grep_tree([work], canaries.forms, grep)
    manifest = json.loads((work / "out" / "manifest.json").read_text())
    assert manifest["status"] == "service_failed" and "HTTP 500" in manifest["error"]
    assert grep.files >= 2  # thesisgen.toml and the manifest at least


@pytest.mark.enable_socket
def test_hostile_server_echo_of_the_bare_basic_credential_is_masked(
    tmp_path: Path, canaries: Canaries
) -> None:
    result, work, _ = _hostile_draft(tmp_path, canaries, userinfo=True, bare=True)
    assert result.code == 3, result.stderr
    assert "credential " in result.stderr
    needles = [*canaries.forms, canaries.basic]
    grep = Grep()
    hits = grep_output([result], needles) + grep_tree([work], needles, grep)
    assert grep.files >= 2
    assert not hits, hits


# --- 3. a successful live run: recorded, cached, rendered ---------------------------------------


@pytest.mark.slow
@pytest.mark.enable_socket
def test_successful_recorded_and_cached_runs_hold_no_canary(
    tmp_path: Path, canaries: Canaries
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outs = [tmp_path / "out-record", tmp_path / "out-cached"]
    recordings = tmp_path / "recordings"
    cache = tmp_path / "cache"
    env = {"OPENAI_API_KEY": canaries.key, "THESISGEN_CACHE_DIR": str(cache)}
    with serve(authored_script(AREC / "authored")) as server:
        url = canaries.url(server.base_url)
        live = ["draft", "--ticker", "AREC", "--base-url", url, "--model", "handwritten-fixture"]
        recorded = run_cli(
            *live, "--out", outs[0], "--record", "--recordings", recordings, cwd=work, **env
        )
        cached = run_cli(*live, "--out", outs[1], cwd=work, **env)
        assert server.requests, "the stub was never asked"
    for result in (recorded, cached):
        assert result.code == 0, result.stderr
    assert "Recorded 10 call(s)" in recorded.stderr

    assert not grep_output([recorded, cached], canaries.forms)
    grep = Grep()
    hits = grep_tree([*outs, recordings, cache, work], canaries.forms, grep)
    assert not hits, hits
    # The grep read every kind of file a run writes, including the XML inside both memos.
    assert all((out / "memo.docx").is_file() for out in outs)
    assert _count(recordings) >= 10 and _count(cache) >= 1
    assert grep.zips >= 2 * 5, grep
    assert grep.files >= 2 * 6 + 10 + 1 + grep.zips


def test_query_string_credentials_are_masked_and_registered() -> None:
    from thesisgen import secrets

    key = "qs-canary-" + "7" * 12
    secrets.register_from("base_url", f"http://127.0.0.1:9/v1?api-key={key}&deployment=x")
    for text in (
        f"could not reach http://127.0.0.1:9/v1?api-key={key}",
        f"GET /v1?token={key}&x=1",
        f"the server said: key {key} is bad",  # the bare value, registered from the URL
        f"https://h/v1?code={key}",
    ):
        shown = secrets.redact(text)
        assert key not in shown and "***" in shown, shown
    assert secrets.redact("?deployment=prod&region=eu") == "?deployment=prod&region=eu"


def test_config_shows_no_query_string_key(tmp_path: Path) -> None:
    key = "qs-canary-" + "8" * 12
    result = run_cli("config", "--base-url", f"http://127.0.0.1:9/v1?key={key}", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert key not in result.stdout + result.stderr

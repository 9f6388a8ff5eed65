"""Shared fixtures. No test reaches beyond 127.0.0.1 (pytest-socket enforces it, see pyproject)."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI and local runs use "default"; HYPOTHESIS_PROFILE=thorough digs deeper before a release.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("thorough", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
AREC = ROOT / "fixtures" / "AREC"
PKX = ROOT / "fixtures" / "PKX"
# A third, fictional company with no bundle: the tests' own sources and hand-written answers.
THIRD = ROOT / "tests" / "data" / "third"
THIRD_TICKER = "KSTL"
THIRD_COMPANY = "Kestrel Pumps Inc."
LIVE_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "THESISGEN_MODEL",
    "THESISGEN_CACHE_DIR",
    "THESISGEN_EDGAR_USER_AGENT",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The user's environment without model settings, with a fresh model-answer cache."""
    env = {k: v for k, v in os.environ.items() if k not in LIVE_ENV}
    env["THESISGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="thesisgen-cache-")
    env.update(extra)
    return env


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


def run_script(*args: str | Path, cwd: Path = ROOT, timeout: float = 300) -> str:
    """A project script (a benchmark's smoke run) in a clean environment; exit 0 or the test
    fails with its stderr. Returns what it printed."""
    proc = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def match_snapshot(path: Path, text: str, what: str, test_file: str, limit: int = 6000) -> None:
    """``text`` equals the reviewed copy at ``path``; ``UPDATE_SNAPSHOTS=1`` rewrites it instead.
    A difference fails with the diff and the command that accepts it after review."""
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"no snapshot {path}: create it with UPDATE_SNAPSHOTS=1 and review it")
    golden = path.read_text(encoding="utf-8")
    if text != golden:
        lines = difflib.unified_diff(
            golden.splitlines(keepends=True), text.splitlines(keepends=True), "snapshot", "now", n=1
        )
        diff = "".join(lines)[:limit]
        pytest.fail(f"{what} changed; review, then UPDATE_SNAPSHOTS=1 pytest {test_file}\n{diff}")


def run_cli(*args: str | Path, cwd: Path, **env: str) -> Completed:
    """Run the installed CLI as a user would: a separate process, no key unless given."""
    proc = subprocess.run(
        [sys.executable, "-m", "thesisgen", *map(str, args)],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "recordings: replays the bundled recordings (fixtures/*/recordings/) on purpose, so it fails "
        "when a prompt's wording changes until they are re-recorded; every other test gets its "
        "draft from the static pair or the authored answers served by the stub",
    )


@pytest.fixture(autouse=True)
def _no_live_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in LIVE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THESISGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def arec_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Completed]]:
    """One offline AREC draft, from an unrelated folder, replaying the bundle's recordings: only
    for the tests of the replay itself (marked ``recordings``); the others use arec_authored."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    out = tmp_path_factory.mktemp("arec") / "out"
    result = run_cli("draft", "--ticker", "AREC", "--out", out, cwd=elsewhere)
    yield out, result


# The model name the authored runs give; the recordings were made under it too.
AUTHORED_MODEL = "handwritten-fixture"


@dataclass(frozen=True)
class Served:
    """A CLI run against our stub, and what the stub was sent (each request's label and body)."""

    result: Completed
    requests: list[dict[str, Any]]


def run_authored(ticker: str, *args: str | Path, cwd: Path, **env: str) -> Served:
    """`thesisgen ARGS` live against our stub on 127.0.0.1 serving the bundle's hand-written answers
    (fixtures/<TICKER>/authored/, what its recordings were made from). The stub picks each answer by
    the call's label, never by the prompt, so unlike a replay this run does not break when a
    prompt's wording changes. The calling test needs ``@pytest.mark.enable_socket``."""
    from stub_openai import authored_script, serve

    with serve(authored_script(ROOT / "fixtures" / ticker / "authored")) as server:
        live = ("--base-url", server.base_url, "--model", AUTHORED_MODEL)
        result = run_cli(*args, *live, cwd=cwd, **env)
        return Served(result, list(server.requests))


@dataclass(frozen=True)
class AuthoredRun:
    """A bundle drafted live against the stub serving its authored answers (see run_authored)."""

    out: Path
    result: Completed
    requests: list[dict[str, Any]]


def _authored_draft(
    tmp_path_factory: pytest.TempPathFactory, ticker: str, *extra: str
) -> AuthoredRun:
    work = tmp_path_factory.mktemp(f"{ticker.lower()}-authored")
    out = work / "out"
    served = run_authored(ticker, "draft", "--ticker", ticker, "--out", out, *extra, cwd=work)
    assert served.result.code == 0, served.result.stderr
    return AuthoredRun(out, served.result, served.requests)


@pytest.fixture(scope="session")
def arec_authored(tmp_path_factory: pytest.TempPathFactory) -> AuthoredRun:
    """One AREC draft from the authored answers, shared by the tests of what a draft run does
    (gate, repair, manifest, ledger): the same answers as arec_offline, without its recordings.
    Tests that use it need ``@pytest.mark.enable_socket``; none may change its folder."""
    return _authored_draft(tmp_path_factory, "AREC")


@pytest.fixture(scope="session")
def pkx_authored(tmp_path_factory: pytest.TempPathFactory) -> AuthoredRun:
    """One PKX draft from the authored answers, dated as the fixtures are (2026-11-27), shared by
    the tests that need a second bundled memo. Tests that use it need
    ``@pytest.mark.enable_socket``; none may change its folder."""
    return _authored_draft(tmp_path_factory, "PKX", "--as-of", "2026-11-27")


STATIC = ROOT / "tests" / "data" / "static"


@dataclass(frozen=True)
class StaticPair:
    """A fresh copy of tests/data/static/: a validated AREC draft, its facts, manifest and sources."""

    folder: Path
    draft: Path
    facts: Path


@pytest.fixture
def static_pair(tmp_path_factory: pytest.TempPathFactory) -> StaticPair:
    """The static draft/facts pair in a folder of its own, for tests that only validate or render."""
    import shutil

    folder = tmp_path_factory.mktemp("static")
    shutil.copytree(STATIC, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    return StaticPair(folder, folder / "draft.json", folder / "facts.json")


@pytest.fixture(scope="session")
def third_company_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third company drafted from its own sources (``tests/data/third/sources``) against our
    stub server, which serves its hand-written answers (``tests/data/third/authored``): the
    output folder of `thesisgen draft --ticker KSTL --source ... --company ... --base-url STUB`.

    Tests that use it need ``@pytest.mark.enable_socket`` (the stub listens on 127.0.0.1).
    """
    from stub_openai import authored_script, serve

    work = tmp_path_factory.mktemp("third")
    out = work / "out"
    with serve(authored_script(THIRD / "authored")) as server:
        result = run_cli(
            "draft", "--ticker", THIRD_TICKER, "--source", THIRD / "sources",
            "--company", THIRD_COMPANY, "--base-url", server.base_url,
            "--model", "handwritten-fixture", "--out", out, cwd=work,
        )  # fmt: skip
    assert result.code == 0, result.stderr
    return out


# --- real SEC EDGAR responses ---------------------------------------------------------------------

REAL_EDGAR = Path(__file__).parent / "data" / "edgar" / "real"


def real_edgar(name: str) -> Path:
    """A real EDGAR response (``shared/edgar``, kept gzipped in tests/data/edgar/real), unpacked
    once per session to a temporary file with its own name (the HTML reader goes by suffix)."""
    target = Path(_REAL_EDGAR_DIR) / name
    if not target.is_file():
        import gzip

        target.write_bytes(gzip.decompress((REAL_EDGAR / f"{name}.gz").read_bytes()))
    return target


_REAL_EDGAR_DIR = tempfile.mkdtemp(prefix="thesisgen-edgar-real-")


def libreoffice_pdf(document: Path, folder: Path) -> Path:
    """``document`` laid out by LibreOffice headless, as a PDF in ``folder`` (a profile of its
    own there). Skips without LibreOffice, except in CI, which installs it."""
    import shutil

    import pytest

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI: .ci/run installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{folder}/lo-profile",
         "--convert-to", "pdf", "--outdir", str(folder), str(document)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return folder / f"{document.stem}.pdf"


AAPL_RECORDINGS = ROOT / "fixtures" / "AAPL" / "recordings"


def recorded_companyfacts(recordings: Path = AAPL_RECORDINGS) -> dict[str, Any]:
    """The company facts as the AAPL recording holds them (the body EDGAR answered)."""
    import json

    path = next(recordings.glob("edgar-*companyfacts*.json"))
    body = json.loads(path.read_text(encoding="utf-8"))["response"]["body"]
    data: dict[str, Any] = json.loads(body) if isinstance(body, str) else body
    return data


def companyfacts_entries(companyfacts: dict[str, Any], filed: Any) -> list[dict[str, Any]]:
    """The company-facts entries at a filed record's locator (taxonomy, concept, unit,
    accession, start, end), found independently of the code under test."""
    entries = companyfacts["facts"][filed.taxonomy][filed.concept]["units"][filed.unit]
    return [
        e
        for e in entries
        if e["accn"] == filed.accession
        and e["end"] == filed.end.isoformat()
        and e.get("start") == (filed.start.isoformat() if filed.start else None)
    ]

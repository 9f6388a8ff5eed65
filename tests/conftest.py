"""Shared fixtures. No test reaches beyond 127.0.0.1 (pytest-socket enforces it, see pyproject)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
LIVE_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "THESISGEN_MODEL", "THESISGEN_CACHE_DIR")


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


@pytest.fixture(autouse=True)
def _no_live_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in LIVE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("THESISGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def arec_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Completed]]:
    """One offline AREC draft, from an unrelated folder, shared by the end-to-end tests."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    out = tmp_path_factory.mktemp("arec") / "out"
    result = run_cli("draft", "--ticker", "AREC", "--out", out, cwd=elsewhere)
    yield out, result


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

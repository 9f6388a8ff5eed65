"""Each command imports only what it uses: `--help`, `config` and `validate` on a draft.json load
neither the model client nor the DOCX, template or retry libraries, nor rich (a plain stream is
not a terminal). What that saves in time is measured by benchmarks/startup_bench.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, clean_env, run_script

STATIC = ROOT / "tests" / "data" / "static"
HEAVY = ("openai", "httpx2", "docx", "jinja2", "tenacity", "rich", "matplotlib")

# Runs the CLI in this process as `python -m thesisgen ARGS` would, then prints which of the heavy
# top-level packages got imported.
PROBE = """
import json, sys
from thesisgen import cli
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["thesisgen", *args]
try:
    cli.main()
except SystemExit:
    pass
print("LOADED", json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
"""


def _loaded(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED "))
    return list(json.loads(line.removeprefix("LOADED ")))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("draft", "--help"),
        ("config",),
        ("validate", str(STATIC / "draft.json"), "--facts", str(STATIC / "facts.json")),
        ("validate", str(STATIC / "draft.json"), "--facts", str(STATIC / "facts.json"), "--json"),
    ],
    ids=["help", "draft-help", "config", "validate", "validate-json"],
)
def test_light_commands_import_no_heavy_library(args: tuple[str, ...]) -> None:
    assert _loaded(*args) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe works: rendering a memo does load python-docx."""
    assert "docx" in _loaded(
        "render", str(STATIC / "draft.json"), "--facts", str(STATIC / "facts.json"),
        "--out", "/nonexistent/folder/x", "--as-of", "2026-11-27",
    )  # fmt: skip


def test_startup_benchmark_runs() -> None:
    """The smoke run CI does: every case starts and ends with exit 0; targets are not judged."""
    out = run_script("benchmarks/startup_bench.py", "--runs", "1", "--no-target", timeout=600)
    for case in ("offline AREC draft", "validate static pair", "--help", "peak RSS"):
        assert case in out

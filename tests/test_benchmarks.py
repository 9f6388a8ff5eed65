"""The benchmark scripts still run (tiny sizes); their numbers are for the README, not asserted."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, STATIC, AuthoredRun, clean_env, run_script


def _run(*args: str, cwd: Path = ROOT) -> str:
    return run_script(*args, cwd=cwd)


@pytest.mark.enable_socket
def test_validate_benchmark_runs_on_real_memos(pkx_authored: AuthoredRun, tmp_path: Path) -> None:
    """Real memo sentences, given as --pair: the AREC static draft and the PKX draft made from its
    authored answers, whole sections replicated past --sentences; both memos pass the gate, so no
    violations; with --no-target the smoke test never fails on speed. (The default, which replays
    PKX's recordings itself, is the test below.)"""
    pairs = {"AREC": STATIC, "PKX": pkx_authored.out}
    args: list[str] = []
    for ticker, folder in pairs.items():
        (tmp_path / ticker).mkdir()
        for name in ("draft.json", "facts.json"):
            shutil.copyfile(folder / name, tmp_path / ticker / name)
        args += ["--pair", f"{ticker}/draft.json", f"{ticker}/facts.json"]
    bench = str(ROOT / "benchmarks" / "validate_bench.py")
    out = _run(bench, "--sentences", "200", "--no-target", *args, cwd=tmp_path)
    assert "memo: AREC" in out and "memo: PKX" in out
    assert " 0 violations" in out and "mean sentence length" in out and "5 runs" in out
    assert "sentences/s, wall-clock: median " in out and "sentences/s, CPU:" in out
    assert "OK" in out or "BELOW TARGET (not enforced: --no-target)" in out


def test_validate_benchmark_fails_below_its_target() -> None:
    """Without --no-target the exit status follows the verdict: 1 below the target, 0 at it."""
    proc = subprocess.run(
        [sys.executable, "benchmarks/validate_bench.py", "--sentences", "80", "--runs", "1"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    below = "BELOW TARGET" in proc.stdout
    assert below or ": OK" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == (1 if below else 0), proc.stdout + proc.stderr


@pytest.mark.recordings
def test_validate_benchmark_by_default_replays_the_pkx_recordings() -> None:
    """By default the benchmark takes the AREC static draft and replays PKX's recordings."""
    out = _run("benchmarks/validate_bench.py", "--sentences", "200", "--no-target")
    assert "memo: AREC (tests/data/static)" in out and "memo: PKX (replayed offline)" in out
    assert "sentences/s" in out and "mean sentence length" in out and " 0 violations" in out


def test_validate_benchmark_synthetic_runs() -> None:
    out = _run("benchmarks/validate_bench.py", "--synthetic", "--sentences", "200", "--runs", "1")
    assert "validated 200 sentences" in out and "sentences/s" in out
    assert "not judged against the target" in out


def test_latency_benchmark_runs() -> None:
    out = _run("benchmarks/latency_bench.py", "--latency", "0.05")
    assert "7-section draft" in out and "tokens per AREC memo" in out


def test_batch_benchmark_claim_holds() -> None:
    """Universes of 2 and 4 renamed copies through the openai-batch engine on the stub: one
    upload and one batch per round, the same rounds at both sizes, more requests at 4. The rows
    are read back here, not only the script's own verdict."""
    out = _run("benchmarks/batch_bench.py", "--smoke")
    row = r"^ +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +\d+ +[\d.]+ +[\d.]+ +[\d.]+$"
    rows = [tuple(map(int, m)) for m in re.findall(row, out, re.MULTILINE)]
    assert [r[0] for r in rows] == [2, 4], out
    for tickers, passed, _requests, rounds, uploads, creations in rows:
        assert passed == tickers and uploads == creations == rounds, out
    assert rows[0][3] == rows[1][3] and rows[0][2] < rows[1][2], out
    assert "verdict: CLAIM HOLDS" in out and "polls (not counted)" in out


def test_interrupt_benchmark_runs() -> None:
    out = _run("benchmarks/interrupt_bench.py", "--runs", "1")
    assert "Ctrl-C to exit" in out and "exit 130 and a clean --out in every run" in out


def test_scale_benchmark_runs() -> None:
    """Small sizes only, never failing on speed: every step measured and its exponent fitted."""
    out = _run("benchmarks/scale_bench.py", "--no-target")
    for step in ("merge", "conflicts", "validate", "render"):
        # the summary row: a median (min-max) at 25 and at 250, then the two exponents
        row = rf"^{step} +(\d+\.\d{{3}} \(\d+\.\d{{3}}-\d+\.\d{{3}}\) +){{2}}-?\d+\.\d\d; -?\d+\.\d\d$"
        assert re.search(row, out, re.MULTILINE), out
    assert "--no-target: smoke run" in out

"""The benchmark scripts still run (tiny sizes); their numbers are for the README, not asserted."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, clean_env


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_validate_benchmark_runs() -> None:
    assert "sentences/s" in _run("benchmarks/validate_bench.py", "--sentences", "500")


def test_latency_benchmark_runs() -> None:
    out = _run("benchmarks/latency_bench.py", "--latency", "0.05")
    assert "7-section draft" in out and "tokens per AREC memo" in out


def test_interrupt_benchmark_runs() -> None:
    out = _run("benchmarks/interrupt_bench.py", "--runs", "1")
    assert "Ctrl-C to exit" in out and "exit 130 and a clean --out in every run" in out

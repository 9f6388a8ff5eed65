"""The benchmark scripts still run (tiny sizes); their numbers are for the README, not asserted."""

from __future__ import annotations

import re
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
    """Real memo sentences by default: the AREC static draft and a PKX draft replayed offline,
    whole sections replicated past --sentences; both memos pass the gate, so no violations."""
    out = _run("benchmarks/validate_bench.py", "--sentences", "200")
    assert "memo: AREC" in out and "memo: PKX" in out
    assert "sentences/s" in out and "mean sentence length" in out and " 0 violations" in out
    assert "OK" in out or "BELOW TARGET" in out


def test_validate_benchmark_synthetic_runs() -> None:
    out = _run("benchmarks/validate_bench.py", "--synthetic", "--sentences", "200")
    assert "validated 200 sentences" in out and "sentences/s" in out


def test_latency_benchmark_runs() -> None:
    out = _run("benchmarks/latency_bench.py", "--latency", "0.05")
    assert "7-section draft" in out and "tokens per AREC memo" in out


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

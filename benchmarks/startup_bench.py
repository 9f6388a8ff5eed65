"""How much a command costs over the bare import of its own stack, and the offline draft's memory.

    python benchmarks/startup_bench.py [--runs 7] [--no-target]

Whole processes, as a user starts them (``python -m thesisgen ...``), each timed against the floor,
``python -c "import openai, docx, jinja2, pydantic, tenacity"``: the floor and the command run
alternately, so a load that comes and goes on a shared machine hits both alike. One warm-up run of
each fills the bytecode cache first
(PYTHONDONTWRITEBYTECODE is dropped from the children's environment). For each it prints the median and the min-max of the wall
time and the ratio of the medians.

- the offline AREC draft (``draft --ticker AREC --offline --as-of 2026-11-27 --out TMP --force``,
  no OPENAI_* variables, a throw-away answer cache): at most 1.5x the floor, and its peak resident
  memory (``ru_maxrss`` of the child, from ``os.wait4``) under 100 MiB;
- ``validate`` on the static pair (tests/data/static/draft.json and facts.json): at most 0.5x;
- ``--help``: at most 0.5x.

It exits 1 when a target is missed; ``--no-target`` only prints (the smoke test in CI runs it).
The figures are wall-clock on whatever machine runs it: on a loaded one, compare the min columns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "tests" / "data" / "static"
FLOOR = ("-c", "import openai, docx, jinja2, pydantic, tenacity")
LIVE_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "THESISGEN_MODEL", "THESISGEN_CACHE_DIR")
MIB = 1024 * 1024
MAX_DRAFT_MIB = 100


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    target: float  # the most the median may cost, as a multiple of the floor's median


@dataclass(frozen=True)
class Timing:
    seconds: float  # wall-clock
    cpu: float  # user + system seconds of the child
    max_rss: int  # bytes


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LIVE_ENV}
    env["THESISGEN_CACHE_DIR"] = str(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a warm bytecode cache, as after an install
    return env


def _time(args: Sequence[str], env: dict[str, str], cwd: Path) -> Timing:
    """One whole process: wall time and its own peak RSS (not its siblings')."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    errors = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{errors.decode()}")
    cpu = usage.ru_utime + usage.ru_stime
    return Timing(elapsed, cpu, usage.ru_maxrss * 1024)  # Linux reports KiB


def _spread(values: Sequence[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=7, help="runs of each (at least 5 when judging the targets)"
    )
    parser.add_argument("--no-target", action="store_true", help="print only; never fail")
    parser.add_argument(
        "--by",
        choices=("wall", "cpu"),
        default="wall",
        help="judge the targets by wall-clock (default) or CPU seconds (steadier on a busy machine)",
    )
    args = parser.parse_args(argv)
    runs = args.runs if args.no_target else max(args.runs, 5)  # a smoke run may be short
    work = Path(tempfile.mkdtemp(prefix="thesisgen-startup-"))
    env = _env(work / "cache")
    cases = [
        Case(
            "offline AREC draft",
            ("-m", "thesisgen", "draft", "--ticker", "AREC", "--offline",
             "--as-of", "2026-11-27", "--out", str(work / "out"), "--force"),
            1.5,
        ),
        Case(
            "validate static pair",
            ("-m", "thesisgen", "validate", str(STATIC / "draft.json"),
             "--facts", str(STATIC / "facts.json")),
            0.5,
        ),
        Case("--help", ("-m", "thesisgen", "--help"), 0.5),
    ]  # fmt: skip
    floor: list[Timing] = []
    results: dict[str, list[Timing]] = {c.name: [] for c in cases}
    for case in cases:  # warm-up: the bytecode cache, the page cache
        _time(case.args, env, work)
    _time(FLOOR, env, work)
    for _ in range(runs):
        for case in cases:
            floor.append(_time(FLOOR, env, work))
            results[case.name].append(_time(case.args, env, work))
    wall_floor = statistics.median(t.seconds for t in floor)
    cpu_floor = statistics.median(t.cpu for t in floor)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {runs} runs each, alternated; "
          f"targets judged by {args.by} time")  # fmt: skip
    print("floor (import openai, docx, jinja2, pydantic, tenacity):")
    print(f"  wall {_spread([t.seconds for t in floor])}")
    print(f"  cpu  {_spread([t.cpu for t in floor])}")
    missed = []
    for case in cases:
        wall = [t.seconds for t in results[case.name]]
        cpu = [t.cpu for t in results[case.name]]
        wall_ratio = statistics.median(wall) / wall_floor
        cpu_ratio = statistics.median(cpu) / cpu_floor
        ratio = wall_ratio if args.by == "wall" else cpu_ratio
        verdict = "OK" if ratio <= case.target else "MISSED"
        if ratio > case.target:
            missed.append(case.name)
        print(f"{case.name}: {ratio:.2f}x floor by {args.by} (target <= {case.target}x: {verdict})")
        print(f"  wall {_spread(wall)} = {wall_ratio:.2f}x floor")
        print(f"  cpu  {_spread(cpu)} = {cpu_ratio:.2f}x floor")
    peak = max(t.max_rss for t in results[cases[0].name]) / MIB
    rss_verdict = "OK" if peak < MAX_DRAFT_MIB else "MISSED"
    if peak >= MAX_DRAFT_MIB:
        missed.append("draft memory")
    print(
        f"offline AREC draft peak RSS: {peak:.1f} MiB (target < {MAX_DRAFT_MIB} MiB: {rss_verdict})"
    )
    if missed and not args.no_target:
        print(f"missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

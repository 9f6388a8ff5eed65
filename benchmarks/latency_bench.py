"""Concurrency: how long the 7-section AREC draft takes when every model call takes 1.0 s.

    python benchmarks/latency_bench.py [--latency 1.0] [--concurrency 4]

Serves the hand-written AREC answers from our stub server (tests/stub_openai.py) on 127.0.0.1 with
a fixed delay per call, and times (a) drafting the seven sections from the AREC facts, including
the market section's repair, and (b) the whole run, fact extraction included. Target for (a):
at most 2.5x one call's latency (run one call at a time, it is 8 calls, so 8x). Also prints the
tokens per memo (estimated: the AREC answers are hand-written).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stub_openai import authored_script, latency, serve  # noqa: E402
from thesisgen import run  # noqa: E402
from thesisgen.progress import PlainProgress  # noqa: E402


def timed(request: run.DraftRequest) -> tuple[float, run.DraftOutcome]:
    start = time.perf_counter()
    outcome = run.draft(request, PlainProgress(io.StringIO()))
    return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(
            latency(authored_script(ROOT / "fixtures" / "AREC" / "authored"), args.latency)
        ) as server,
    ):
        common = {
            "ticker": "AREC",
            "flags": {
                "base_url": server.base_url,
                "model": "handwritten-fixture",
                "concurrency": args.concurrency,
                "cache": False,
                "structured_output": "json_schema",
            },
        }
        full_s, full = timed(run.DraftRequest(out=Path(tmp) / "full", **common))  # type: ignore[arg-type]
        drafting_s, drafted = timed(
            run.DraftRequest(
                out=Path(tmp) / "draft", facts_file=full.folder / "facts.json", **common
            )  # type: ignore[arg-type]
        )
    sections = len(drafted.manifest.calls)
    ratio = drafting_s / args.latency
    print(
        f"7-section draft: {sections} calls of {args.latency:.1f} s in {drafting_s:.2f} s = "
        f"{ratio:.2f}x one call (target <= 2.5x; one at a time: {sections}x) "
        f"{'OK' if ratio <= 2.5 else 'ABOVE TARGET'}"
    )
    print(
        f"whole run with fact extraction: {len(full.manifest.calls)} calls in {full_s:.2f} s = "
        f"{full_s / args.latency:.2f}x one call"
    )
    usage = full.manifest.usage
    print(
        f"tokens per AREC memo: {usage.prompt_tokens + usage.completion_tokens:,} "
        f"({usage.prompt_tokens:,} prompt, {usage.completion_tokens:,} completion; estimated, "
        "hand-written answers)"
    )


if __name__ == "__main__":
    main()

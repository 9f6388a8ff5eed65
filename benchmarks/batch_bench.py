"""Batch round-trips: file uploads and batch creations of `thesisgen batch` against universe size.

    python benchmarks/batch_bench.py [--tickers 5,10,25,50] [--smoke]

The claim (issue: "the number of file uploads and batch creations grows with the number of
stages and repair rounds, not with tickers times sections"): a universe goes out one round at a
time, each round ONE uploaded request file and ONE batch for every memo's requests of that stage.
For each size N the bench builds a universe of N renamed copies of the bundles that have sources
(AREC copies AR001.., PKX copies PK001.., alternating; AAPL reads only EDGAR, so it cannot be
copied under another ticker), serves the hand-written answers of the base bundle from our stub
server (tests/stub_openai.py: real HTTP, the Files and Batches API), and runs `batch.batch` with
the ``openai-batch`` engine in-process. It counts the stub's ``files.create`` and
``batches.create`` calls (polls, ``batches.retrieve``, are shown but not counted: the provider
decides how long a batch takes) and checks: uploads == batch creations == rounds at every N, the
same rounds at every N, requests growing with N, every memo passed, and the batch cost half the
live cost (``batch_price_factor``). Exit 1 when any of it fails. It also prints what the same
universe would cost drafted memo by memo through the live endpoint: one HTTP request per call.
Costs are at the built-in price of gpt-4o-mini on estimated tokens (hand-written answers: four
characters a token).

Measured on the 2-core build machine (shared with other work, so wall time is indicative only),
``python benchmarks/batch_bench.py``, exit 0:

    tickers passed requests rounds uploads batches polls (not counted)   batch $    live $  wall s
          5      5       48      3       3       3                   6    0.0108    0.0216     1.9
         10     10       95      3       3       3                   6    0.0201    0.0403     2.3
         25     25      238      3       3       3                   6    0.0511    0.1022     8.7
         50     50      475      3       3       3                   6    0.1007    0.2013    16.6

    verdict: CLAIM HOLDS: uploads == batch creations == rounds (3) at every size from 5 to 50
    tickers, while requests grow 48 -> 475; batch cost = 0.5 x live cost

The three rounds are fact extraction, section drafts and the one repair round (an AREC copy's
market section). Memo by memo through the live endpoint the 50-ticker universe is 475 HTTP
requests (one per call); as one batch per round it is 3 uploads and 3 batch creations, plus
polls (6 here: the stub finishes a batch after one in-progress poll).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stub_openai import Reply, Script, authored_script, serve  # noqa: E402
from thesisgen import batch  # noqa: E402
from thesisgen.cost import cost_usd  # noqa: E402
from thesisgen.models import Manifest  # noqa: E402

BASES = ("AREC", "PKX")  # the bundles with sources of their own, copied in turn
PREFIX = {"AREC": "AR", "PKX": "PK"}
AS_OF = "2026-11-27"
MODEL = "gpt-4o-mini"  # priced by the built-in table
MAX_TICKERS = 500  # max_tickers' default: a bigger universe is refused by the batch command
PRICE_FACTOR = 0.5  # batch_price_factor's default


@dataclass(frozen=True)
class Row:
    tickers: int
    passed: int
    requests: int
    rounds: int
    uploads: int
    creations: int
    polls: int
    batch_cost: float
    live_cost: float
    wall_s: float


def copies(n: int) -> dict[str, str]:
    """``n`` tickers, alternating AREC and PKX copies (AR001, PK001, AR002, ...) -> base ticker."""
    names: dict[str, str] = {}
    for i in range(n):
        base = BASES[i % len(BASES)]
        names[f"{PREFIX[base]}{i // len(BASES) + 1:03d}"] = base
    return names


def bundle(base: str) -> dict[str, Any]:
    path = ROOT / "fixtures" / base / "bundle.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_config(folder: Path) -> Path:
    """The base bundles' names as aliases: a copy has no bundle of its own, and the hand-written
    answers name the company as the base bundle does ("AREC", "ReElement", "POSCO International");
    without them the gate rejects those sentences and asks for repairs nobody wrote. One config
    serves the whole universe (aliases are not per ticker), so each copy also knows the other
    base's names; the 2-ticker universe makes the same requests as AREC and PKX themselves."""
    names: list[str] = []
    for base in BASES:
        names += [base, *bundle(base)["aliases"]]
    path = folder / "thesisgen.toml"
    path.write_text(f"aliases = {json.dumps(names)}\n", encoding="utf-8")
    return path


def write_universe(folder: Path, names: dict[str, str]) -> Path:
    """Each copy's sources in a folder of its own, and the CSV universe naming them."""
    path = folder / "universe.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ticker", "as_of", "sources", "company"])
        for ticker, base in names.items():
            shutil.copytree(ROOT / "fixtures" / base / "sources", folder / "sources" / ticker)
            writer.writerow([ticker, AS_OF, f"sources/{ticker}", bundle(base)["company"]])
    return path


def copy_script(names: dict[str, str]) -> Script:
    """Answer ``TICKER/stage/target/attempt`` as the base bundle's authored answers answer it."""
    scripts = {base: authored_script(ROOT / "fixtures" / base / "authored") for base in BASES}

    def script(label: str, body: dict[str, Any]) -> Reply:
        ticker, rest = label.split("/", 1)
        base = names[ticker]
        return scripts[base](f"{base}/{rest}", body)

    return script


def live_cost(folder: Path) -> float:
    """What a memo's tokens cost at live prices, from its manifest's spend and the price table
    (not from the run's own live_cost_usd, so that the batch price is checked, not assumed)."""
    manifest = Manifest.model_validate_json((folder / "manifest.json").read_bytes())
    return cost_usd(manifest.model, manifest.spent) or 0.0


def measure(n: int, verbose: bool) -> Row:
    names = copies(n)
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        folder = Path(tmp)
        universe = write_universe(folder, names)
        with serve(copy_script(names)) as server:
            flags = {
                "model": MODEL,
                "structured_output": "json_schema",
                "cache": False,
                "base_url": server.base_url,
            }
            request = batch.BatchRequest(
                universe=universe,
                out=folder / "out",
                engine="openai-batch",
                wait=600,
                flags=flags,
                sleep=lambda s: None,
                yes=True,
                config=write_config(folder),
            )
            stream = sys.stderr if verbose else io.StringIO()
            start = time.perf_counter()
            outcome = batch.batch(request, stream)
            wall = time.perf_counter() - start
            state = outcome.state
            tickers = state.tickers.values()
            return Row(
                tickers=n,
                passed=sum(t.status == "passed" for t in tickers),
                requests=sum(s.lines for s in state.submissions),
                rounds=len({s.round for s in state.submissions}),
                uploads=server.count("files.create"),
                creations=server.count("batches.create"),
                polls=server.count("batches.retrieve"),
                batch_cost=sum(t.cost_usd or 0.0 for t in tickers),
                live_cost=sum(live_cost(Path(t.folder)) for t in tickers),
                wall_s=wall,
            )


HEADER = (
    f"{'tickers':>7} {'passed':>6} {'requests':>8} {'rounds':>6} {'uploads':>7} "
    f"{'batches':>7} {'polls (not counted)':>19} {'batch $':>9} {'live $':>9} {'wall s':>7}"
)


def row_line(row: Row) -> str:
    return (
        f"{row.tickers:>7} {row.passed:>6} {row.requests:>8} {row.rounds:>6} {row.uploads:>7} "
        f"{row.creations:>7} {row.polls:>19} {row.batch_cost:>9.4f} {row.live_cost:>9.4f} "
        f"{row.wall_s:>7.1f}"
    )


def problems(rows: Sequence[Row]) -> list[str]:
    """Every way the measured rows break the claim (none: it holds)."""
    found: list[str] = []
    for row in rows:
        if not row.uploads == row.creations == row.rounds:
            found.append(
                f"N={row.tickers}: {row.uploads} uploads, {row.creations} batch creations, "
                f"{row.rounds} rounds (should all be equal)"
            )
        if row.passed != row.tickers:
            found.append(f"N={row.tickers}: {row.passed} of {row.tickers} memos passed")
        if row.live_cost <= 0 or not math.isclose(row.batch_cost, PRICE_FACTOR * row.live_cost):
            found.append(
                f"N={row.tickers}: batch cost ${row.batch_cost:.6f} is not {PRICE_FACTOR} x "
                f"live cost ${row.live_cost:.6f}"
            )
    if len({row.rounds for row in rows}) > 1:
        found.append(f"rounds differ across sizes: {[row.rounds for row in rows]}")
    ordered = sorted(rows, key=lambda row: row.tickers)
    for small, big in itertools.pairwise(ordered):
        if big.requests <= small.requests:
            found.append(
                f"requests do not grow with tickers: {small.requests} at N={small.tickers}, "
                f"{big.requests} at N={big.tickers}"
            )
    return found


def sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes separated by commas, e.g. 5,10: got {text!r}"
        ) from None
    if not values or any(not 1 <= v <= MAX_TICKERS for v in values):
        raise argparse.ArgumentTypeError(
            f"sizes must be 1 to {MAX_TICKERS} (max_tickers): got {text!r}"
        )
    return sorted(set(values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tickers", type=sizes, default=[5, 10, 25, 50], help="universe sizes (default 5,10,25,50)"
    )
    parser.add_argument("--smoke", action="store_true", help="sizes 2 and 4 only (the test's run)")
    parser.add_argument("--verbose", action="store_true", help="show the batch runs' progress")
    args = parser.parse_args()
    ns: list[int] = [2, 4] if args.smoke else args.tickers
    print(
        f"thesisgen batch, engine openai-batch, stub server; model {MODEL}; "
        f"copies of {' and '.join(BASES)} alternating"
    )
    print(HEADER)
    rows: list[Row] = []
    for n in ns:
        row = measure(n, args.verbose)
        rows.append(row)
        print(row_line(row), flush=True)
    print()
    print("the same universes drafted memo by memo through the live endpoint (no batch):")
    for row in rows:
        print(
            f"  N={row.tickers}: {row.requests} HTTP requests (one per call, = live calls), "
            f"${row.live_cost:.4f}; batch: {row.uploads} uploads + {row.creations} batch "
            f"creations (+ {row.polls} polls), ${row.batch_cost:.4f}"
        )
    found = problems(rows)
    print()
    if found:
        print("verdict: CLAIM FAILS")
        for line in found:
            print(f"  {line}")
        return 1
    print(
        f"verdict: CLAIM HOLDS: uploads == batch creations == rounds ({rows[0].rounds}) at every "
        f"size from {rows[0].tickers} to {rows[-1].tickers} tickers, while requests grow "
        f"{rows[0].requests} -> {rows[-1].requests}; batch cost = {PRICE_FACTOR} x live cost"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

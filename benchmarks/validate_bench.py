"""How fast the gate validates: sentences per second on one core.

    python benchmarks/validate_bench.py [--sentences 50000]

Builds a large draft from the AREC fact ledger (tests/data/static/facts.json, or --facts) out of
sentences that restate cited figures, some with wrong figures, uncited figures or no figures at
all, the mix of a real memo, then times validate_memo over it. Target: at least 20,000 sentences/s on one core of the 2-core build machine.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from thesisgen.models import FactSet, Memo, Paragraph, Section, Sentence
from thesisgen.validate import validate_memo

ROOT = Path(__file__).resolve().parents[1]
STATIC_FACTS = ROOT / "tests" / "data" / "static" / "facts.json"
TEMPLATES = [
    ("China controls roughly 80% of processing and refining.", ["F2"]),
    ("Contracts worth nearly $900 million cover magnets for 3.85 million EV motors.", ["F13"]),
    ("The U.S. market is forecast to grow 9.5% a year from 2025 to 2032.", ["F11"]),
    ("Neodymium and dysprosium demand may rise by more than 300% by 2030.", ["F10"]),
    ("The summary quotes the contracts as $900M.", ["F23"]),
    ("The market is forecast to grow about 9.8% a year.", ["F11"]),
    ("Contracts are worth $0.9 billion, or about $234 per motor.", ["F13"]),
    ("The sources give no capital cost, timeline or site for the complex.", ["F20"]),
    ("Scaling will need significant capital and successful execution.", ["F18"]),
    ("Demand could rise eighty percent by the second quarter of 2031.", []),
]


def build(factset: FactSet, count: int, seed: int = 7) -> Memo:
    rng = random.Random(seed)
    sentences = [
        Sentence(text=t, cites=c) for t, c in (rng.choice(TEMPLATES) for _ in range(count))
    ]
    paragraphs = [Paragraph(sentences=sentences[i : i + 5]) for i in range(0, count, 5)]
    sections = [
        Section(key=f"s{i}", heading=f"Section {i}", paragraphs=paragraphs[i : i + 20])
        for i in range(0, len(paragraphs), 20)
    ]
    return Memo(ticker="AREC", title="bench", stance="neutral", sections=sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=50_000)
    parser.add_argument(
        "--facts",
        type=Path,
        default=STATIC_FACTS,
        help="facts.json (default: the AREC ledger in tests/data/static)",
    )
    args = parser.parse_args()
    factset = FactSet.model_validate(json.loads(args.facts.read_text()))
    memo = build(factset, args.sentences)
    validate_memo(memo, factset)  # warm-up: regex compilation, caches
    start = time.perf_counter()
    report = validate_memo(memo, factset)
    elapsed = time.perf_counter() - start
    rate = report.sentences / elapsed
    print(
        f"validated {report.sentences} sentences ({report.figures_checked} figures, "
        f"{len(report.violations)} violations) in {elapsed:.2f} s: {rate:,.0f} sentences/s "
        f"(target >= 20,000) {'OK' if rate >= 20_000 else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    main()

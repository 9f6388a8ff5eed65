"""How long find_conflicts takes on large synthetic fact ledgers.

    python benchmarks/conflicts_bench.py [--facts 2500 5000] [--seed 7] [--repeat 3]

Two ledgers of each size, made of short statements with one figure and one period each:

- spread: facts about 300 companies, countries and projects, as a ledger built from many sources
  on an industry would be;
- one company: every fact names the same company, the worst case for grouping by name.

Prints the time for find_conflicts and, of it, the time to read every fact once (figures, names
and claim frames: the floor any grouping leaves), in CPU seconds of this process (steadier than
wall time on a shared machine), each the best of --repeat runs. Target: 5,000 facts well under a
second.
"""

from __future__ import annotations

import argparse
import random
import time

from thesisgen import claims
from thesisgen.facts import find_conflicts
from thesisgen.models import Fact
from thesisgen.numbers import extract

TEMPLATES = [
    "{e} reported revenue of {q}${v} million in {p}.",
    "{e}'s net income was {q}${v} million in {p}.",
    "Capital expenditure at {e} reached {q}${v} million in {p}.",
    "{e} accounts for {q}{v}% of global rare-earth refining capacity in {p}.",
    "{e}'s share of rare earth processing was {q}{v}% in {p}.",
    "{e} production rose {q}{v}% in {p}.",
    "Output at {e} fell {q}{v}% in {p}.",
    "Demand for {e} magnets is projected to grow {q}{v}% by {p}.",
    "{e} employs {q}{v} people as of {p}.",
    "{e} shipped {q}{v} tonnes of concentrate in {p}.",
    "{e} will open {q}{v} magnet plants by {p}.",
]
QUALIFIERS = ["", "", "", "about ", "roughly ", "more than ", "nearly ", "up to "]
SYLLABLES = ["nor", "vex", "tal", "ben", "kor", "ami", "zen", "lor", "quin", "dar", "sol", "mer"]
PERIODS = [str(y) for y in range(2015, 2031)] + [
    f"Q{q} {y}" for q in range(1, 5) for y in range(2020, 2026)
]


def ledger(count: int, entities: list[str], seed: int) -> list[Fact]:
    rng = random.Random(seed)
    facts = []
    for i in range(count):
        template = rng.choice(TEMPLATES)
        value = rng.randint(5, 95) if "%" in template else rng.randint(20, 9000)
        statement = template.format(
            e=rng.choice(entities), q=rng.choice(QUALIFIERS), v=value, p=rng.choice(PERIODS)
        )
        facts.append(Fact(id=f"F{i + 1}", statement=statement, quote=statement, source_id="S1"))
    return facts


def spread_entities(seed: int) -> list[str]:
    rng = random.Random(seed)
    made = {
        (rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize()
        + rng.choice(["", " Mining", " Metals", " Energy"])
        for _ in range(300)
    }
    return ["China", "Indonesia", "Australia", "POSCO", "ReElement", "Lynas", *sorted(made)]


def read_all(facts: list[Fact]) -> None:
    for fact in facts:
        mentions = extract(fact.statement, ())
        claims.frames(fact.statement, mentions, claims.names_in(fact.statement))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[2500, 5000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, entities in (("spread", spread_entities(args.seed)), ("one company", ["POSCO"])):
        for count in args.facts:
            facts = ledger(count, entities, args.seed)
            took = reading = float("inf")
            for _ in range(args.repeat):
                start = time.process_time()
                conflicts = find_conflicts(facts, ())
                took = min(took, time.process_time() - start)
                start = time.process_time()
                read_all(facts)
                reading = min(reading, time.process_time() - start)
            print(
                f"find_conflicts, {name}, {count:,} facts: {took:.2f} s, {len(conflicts)} "
                f"conflicts (reading every fact once: {reading:.2f} s)"
            )


if __name__ == "__main__":
    main()

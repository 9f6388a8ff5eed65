"""How four steps grow with the work: extract-merge, conflicts, validate and render.

    python benchmarks/scale_bench.py [--sizes 25 250 2500 25000] [--runs 5] [--steps merge ...]
    python benchmarks/scale_bench.py --no-target     # CI smoke run: small sizes, never fails on speed

Every input is one synthetic filing about one company (the hard case: every fact from one source,
every fact about the same company): sentences written as a 10-K writes them (segment revenue,
margins, capital spending, headcount, guidance, each with figures and a period), about 150
characters long, with figure-free sentences between them. Per size n:

- merge: the facts stage from the model's answers to the ledger (``facts.extract_facts`` with
  the model calls replaced by prepared answers, so no prompt is built; conflicts off): grounding
  each proposal in its chunk, keeping misstated ones as written, merging, numbering. n proposals
  over a source long enough to need them (the real 12,000-character chunks with their overlap, at most 30 proposals a chunk, so
  2,500 proposals need a source of about 1 MB, as a filing does). The proposals are what a model
  writes: a paraphrase of each sentence with a figure, repeats (the same statement again, the
  same fact on the sentence and its neighbour), and a few that misstate their figure (dropped,
  and kept as written);
- conflicts: ``facts.find_conflicts`` over n facts of the filing's kind (statements with figures
  and periods, all about the company and its segments);
- validate: ``validate.validate_memo`` over a memo of n sentences, each citing one of those facts
  and restating its figure;
- render: ``render.docx.render_docx`` for that memo (n sentences, n facts in Appendix A).

The process runs Python's garbage collector as the thesisgen command does
(``cli.tune_collector``). Each run takes fresh inputs (the seed changes per run), so no cache keyed by text helps a later
run. Times are CPU seconds of this process (steadier than wall time on a shared machine), median
and min-max over --runs runs; a size whose first run takes over --slow seconds gets fewer runs (as
many as fit in --budget seconds, at least one), and a size predicted to take over --limit seconds
a run (from the growth between the two sizes before it) is skipped; both are said in the output.
The growth exponent is the least-squares slope of log(median time) against log(n) over the sizes
run; the slope between the two largest sizes is printed beside it.

Targets (exit 1 when one is missed): every fitted exponent at most 1.15; 2,500 proposals merged in
under 1 s; the DOCX for 2,500 facts rendered in under 1.5 s (medians). ``--no-target`` runs sizes
25 and 250 only, with 2 runs, and never fails on speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thesisgen import facts
from thesisgen.cli import tune_collector
from thesisgen.config import DEFAULTS
from thesisgen.evidence import Chunk, Numbered, chunk
from thesisgen.facts import (
    MAX_PROPOSED,
    ExtractOptions,
    ProposedFact,
    ProposedFacts,
    extract_facts,
    find_conflicts,
)
from thesisgen.llm import CallResult
from thesisgen.models import (
    Fact,
    FactSet,
    Locator,
    Memo,
    Paragraph,
    Report,
    Section,
    Sentence,
    Source,
    Usage,
)
from thesisgen.render import MemoContext
from thesisgen.render.docx import render_docx
from thesisgen.validate import validate_memo

COMPANY = "Kestrel Materials Inc."
TICKER = "KSTM"
STEPS = ("merge", "conflicts", "validate", "render")
MAX_EXPONENT = 1.15
MERGE_TARGET = (2500, 1.0)
RENDER_TARGET = (2500, 1.5)
SYLLABLES = ["nor", "vex", "tal", "ben", "kor", "ami", "zen", "lor", "quin", "dar", "sol", "mer"]

# (sentence as the filing writes it, the model's statement of it). Fields: {s} segment or project,
# {a} {b} amounts, {p} {q} percentages, {y} {z} periods, {n} a count.
PAIRS = [
    (
        "Net sales of the {s} segment were ${a} million in {y}, compared with ${b} million in {z}, "
        "reflecting higher volumes and pricing.",
        "{s} segment net sales were ${a} million in {y}, against ${b} million in {z}.",
    ),
    (
        "Gross margin for the {s} business was {p}% in {y}, up from {q}% in {z}, as input costs "
        "declined.",
        "The {s} business gross margin was {p}% in {y}, up from {q}% in {z}.",
    ),
    (
        "Capital expenditures at the {s} facility totaled ${a} million in {y}, primarily for "
        "expansion of separation capacity.",
        "Capital expenditures at the {s} facility totaled ${a} million in {y}.",
    ),
    (
        "At the end of {y}, the Company had approximately {n} full-time employees, of whom "
        "{p}% worked at the {s} site.",
        "The Company had approximately {n} full-time employees at the end of {y}.",
    ),
    (
        "The {s} plant produced {n} tonnes of separated oxide in {y}, an increase of {p}% over "
        "the prior year.",
        "The {s} plant produced {n} tonnes of separated oxide in {y}, up {p}%.",
    ),
    (
        "We expect to invest approximately ${a} million in the {s} project through {y}, subject "
        "to permitting and financing.",
        "The Company expects to invest about ${a} million in the {s} project through {y}.",
    ),
    (
        "Operating income of the {s} segment decreased {p}% to ${a} million in {y} due to lower "
        "realized prices.",
        "{s} segment operating income fell {p}% to ${a} million in {y}.",
    ),
    (
        "Long-term debt attributable to the {s} expansion was ${a} million at the end of {y}, "
        "bearing interest at {p}% per annum.",
        "Long-term debt for the {s} expansion was ${a} million at the end of {y}.",
    ),
]
FILLER = [
    "Our operations are subject to extensive environmental, health and safety regulation in each "
    "jurisdiction where we operate.",
    "The markets for our products are highly competitive, and some competitors have greater "
    "financial resources than we do.",
    "We depend on a limited number of suppliers for certain reagents used in the separation "
    "process.",
    "Management reviews the performance of each segment on the basis of operating income and "
    "cash flow.",
]
PERIODS = [f"fiscal {y}" for y in range(2016, 2027)] + [
    f"the {w} quarter of {y}" for w in ("first", "second", "third", "fourth") for y in (2024, 2025)
]


def _segments(rng: random.Random, count: int) -> list[str]:
    names = {
        (rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize()
        for _ in range(count)
    }
    return sorted(names)


@dataclass(frozen=True)
class Line:
    """One sentence of the filing and the statement a model writes for it (None: no figure)."""

    text: str
    statement: str | None


def _line(rng: random.Random, segments: Sequence[str]) -> Line:
    if rng.random() < 0.2:
        return Line(rng.choice(FILLER), None)
    text, statement = rng.choice(PAIRS)
    y, z = rng.sample(PERIODS, 2)
    a = rng.randint(12, 4800)
    values = {
        "s": rng.choice(segments), "a": a, "b": rng.randint(12, 4800), "p": rng.randint(2, 60),
        "q": rng.randint(2, 60), "y": y, "z": z, "n": f"{rng.randint(120, 19000):,}",
    }  # fmt: skip
    return Line(text.format(**values), statement.format(**values))


def filing(lines: int, seed: int) -> list[Line]:
    rng = random.Random(seed)
    segments = _segments(rng, 40)
    return [_line(rng, segments) for _ in range(lines)]


def source_of(lines: Sequence[Line]) -> Source:
    """The filing as one source: paragraphs of five sentences."""
    paragraphs = [" ".join(line.text for line in lines[i : i + 5]) for i in range(0, len(lines), 5)]
    return Source(id="S1", title=f"{COMPANY} annual report", text="\n\n".join(paragraphs) + "\n")


# --- merge ---------------------------------------------------------------------------------------


def _statement_of(numbered: Numbered, number: int, by_text: dict[str, str | None]) -> str | None:
    return by_text.get(" ".join(numbered.text_of(number).split()))


def proposals(
    numbered: Numbered, lines: Sequence[Line], seed: int, limit: int
) -> dict[str, ProposedFacts]:
    """What the model answers for each chunk: at most 30 facts, in reading order, about 1 in 12 a
    repeat, 1 in 16 on the sentence and its neighbour, 1 in 40 misstating its figure."""
    rng = random.Random(seed)
    by_text = {" ".join(line.text.split()): line.statement for line in lines}
    answers: dict[str, ProposedFacts] = {}
    total = 0
    for part in chunk(numbered, DEFAULTS.chunk_chars, DEFAULTS.chunk_overlap):
        facts: list[ProposedFact] = []
        for n in part.citable:
            statement = _statement_of(numbered, n, by_text)
            if statement is None or len(facts) >= MAX_PROPOSED or total >= limit:
                continue
            roll = rng.random()
            evidence = [n]
            if roll < 1 / 40:
                statement = (
                    statement.replace("$", "$9", 1) if "$" in statement else "99% " + statement
                )
            elif roll < 1 / 40 + 1 / 16 and n + 1 in part.citable:
                evidence = [n, n + 1]
            facts.append(ProposedFact(evidence=evidence, statement=statement, topic="financials"))
            total += 1
            if roll > 1 - 1 / 12 and len(facts) < MAX_PROPOSED and total < limit:
                facts.append(ProposedFact(evidence=[n], statement=statement, topic="financials"))
                total += 1
        answers[part.target] = ProposedFacts(facts=facts)
    return answers


def _answered(answers: dict[str, ProposedFacts]) -> Callable[..., list[Any]]:
    """A stand-in for the facts stage's model calls: each chunk's prepared answer, no prompt."""

    def propose(llm: Any, company: str, ticker: str, chunks: Sequence[Chunk], *_: Any) -> list[Any]:
        return [
            facts._Answer(
                part.target,
                CallResult(
                    parsed=answers.get(part.target, ProposedFacts(facts=[])),
                    raw_content="",
                    usage=Usage(),
                    request_key=part.target,
                    cached=True,
                    wire_format="json_schema",
                ),
            )
            for part in chunks
        ]

    return propose


def merge_input(n: int, seed: int) -> Callable[[], int]:
    """n proposals from one source, ready to ground and merge; the call returns the facts kept."""
    lines = filing(max(40, n * 3), seed)  # at most 30 proposals per chunk of about 80 sentences
    source = source_of(lines)
    numbered = Numbered.of(source)
    answers = proposals(numbered, lines, seed, n)
    got = sum(len(a.facts) for a in answers.values())
    if got < n:
        raise SystemExit(f"the filing yields {got} proposals, fewer than {n}: make it longer")
    options = ExtractOptions(max_conflicts_per_fact=0, concurrency=1, max_restatements=0)
    llm: Any = None  # never called: the answers are given

    def run() -> int:
        with _patched(facts, "_propose", _answered(answers)):
            result = extract_facts(
                llm, COMPANY, TICKER, [source], numbered=[numbered], options=options
            )
        return len(result.factset.facts)

    return run


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


# --- conflicts, validate, render -----------------------------------------------------------------


def ledger(n: int, seed: int) -> FactSet:
    """n facts of one filing: each a model statement with its sentence as the quote."""
    lines = [line for line in filing(int(n * 1.4) + 10, seed) if line.statement]
    source = source_of(lines)
    facts = []
    at = 0
    for i, line in enumerate(lines[:n], 1):
        at = source.text.index(line.text, at)
        facts.append(
            Fact(
                id=f"F{i}", statement=line.statement or "", source_id="S1", quote=line.text,
                topic="financials",
                locators=[Locator(start=at, end=at + len(line.text))],
            )
        )  # fmt: skip
    return FactSet(ticker=TICKER, company=COMPANY, sources=[source.info()], facts=facts)


def memo_of(factset: FactSet) -> Memo:
    """A memo whose sentences each cite one fact and restate its figures (its statement)."""
    sentences = [Sentence(text=f.statement, cites=[f.id]) for f in factset.facts]
    paragraphs = [Paragraph(sentences=sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    sections = [
        Section(key=f"s{i}", heading=f"Section {i // 25 + 1}", paragraphs=paragraphs[i : i + 25])
        for i in range(0, len(paragraphs), 25)
    ]
    return Memo(ticker=TICKER, company=COMPANY, title="Scale", stance="neutral", sections=sections)


def conflicts_input(n: int, seed: int) -> Callable[[], int]:
    facts = ledger(n, seed).facts
    return lambda: len(find_conflicts(facts, ()))


def validate_input(n: int, seed: int) -> Callable[[], int]:
    factset = ledger(n, seed)
    memo = memo_of(factset)
    return lambda: len(validate_memo(memo, factset).violations)


def render_input(n: int, seed: int, folder: Path) -> Callable[[], int]:
    factset = ledger(n, seed)
    memo = memo_of(factset)
    report = Report(
        ok=True, sentences=n, figures_checked=n, facts_cited=n, violations=[],
        fact_kinds=factset.kinds(),
    )  # fmt: skip
    context = MemoContext(as_of=dt.date(2026, 11, 27), report=report, model="bench", mode="unknown")
    path = folder / f"memo-{n}-{seed}.docx"

    def run() -> int:
        render_docx(memo, factset, context, path)
        return path.stat().st_size

    return run


# --- timing --------------------------------------------------------------------------------------


@dataclass
class Row:
    step: str
    size: int
    times: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def slope(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(size)."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(t, 1e-6)) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def prepare(step: str, n: int, seed: int, folder: Path) -> Callable[[], int]:
    """The inputs of one run, built before the clock starts."""
    if step == "merge":
        return merge_input(n, seed)
    if step == "conflicts":
        return conflicts_input(n, seed)
    if step == "validate":
        return validate_input(n, seed)
    return render_input(n, seed, folder)


def measure(step: str, sizes: Sequence[int], args: argparse.Namespace, folder: Path) -> list[Row]:
    rows: list[Row] = []
    for n in sizes:
        done = [(r.size, r.median) for r in rows]
        if len(done) >= 1:
            grow = slope(done[-2:]) if len(done) >= 2 else 1.0
            predicted = done[-1][1] * (n / done[-1][0]) ** max(1.0, grow or 1.0)
            if predicted > args.limit:
                rows.append(Row(step, n, [], f"skipped: predicted {predicted:,.0f} s a run"))
                print(f"{step:9} {n:>6,}: skipped (predicted {predicted:,.0f} s a run)", flush=True)
                continue
        times: list[float] = []
        note = ""
        runs = args.runs
        for run in range(runs):
            seed = args.seed + 1000 * run
            work = prepare(step, n, seed, folder)
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
            if run == 0 and times[0] > args.slow and runs > 1:
                runs = max(1, min(runs, int(args.budget // times[0])))
                if runs < args.runs:
                    note = f"{runs} run(s): the first took {times[0]:.1f} s"
                    if runs == 1:
                        break
            if len(times) >= runs:
                break
        row = Row(step, n, times, note)
        rows.append(row)
        print(
            f"{step:9} {n:>6,}: {row.median:8.3f} s ({min(times):.3f}-{max(times):.3f}, "
            f"{len(times)} runs){'  ' + note if note else ''}",
            flush=True,
        )
    return rows


def main() -> int:
    tune_collector()  # the garbage collector as the thesisgen process runs it (see its docstring)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 250, 2500, 25000])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slow", type=float, default=10.0, help="seconds: fewer runs above this")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="seconds for a slow size's runs"
    )
    parser.add_argument("--limit", type=float, default=300.0, help="skip a size predicted slower")
    parser.add_argument("--no-target", action="store_true", help="smoke run: small, never fails")
    args = parser.parse_args()
    if args.no_target:
        args.sizes = [n for n in args.sizes if n <= 250] or [25, 250]
        args.runs = min(args.runs, 2)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for step in args.steps:
            rows += measure(step, args.sizes, args, Path(tmp))
    print()
    print(f"{'step':9} " + " ".join(f"{n:>26,}" for n in args.sizes) + "  exponent (fit; top two)")
    missed: list[str] = []
    for step in args.steps:
        mine = [r for r in rows if r.step == step]
        cells = [
            f"{r.median:.3f} ({min(r.times):.3f}-{max(r.times):.3f})" if r.times else "skipped"
            for r in mine
        ]
        points = [(r.size, r.median) for r in mine if r.times]
        fit, top = slope(points), slope(points[-2:])
        shown = f"{fit:.2f}; {top:.2f}" if fit is not None and top is not None else "n/a"
        print(f"{step:9} " + " ".join(f"{c:>26}" for c in cells) + f"  {shown}")
        if fit is not None and fit > MAX_EXPONENT:
            missed.append(f"{step}: exponent {fit:.2f} > {MAX_EXPONENT}")
        if any(not r.times for r in mine):
            missed.append(f"{step}: a size was skipped as too slow")
        for name, (size, limit) in (("merge", MERGE_TARGET), ("render", RENDER_TARGET)):
            hit = [r for r in mine if step == name and r.size == size and r.times]
            if hit and hit[0].median >= limit:
                missed.append(f"{step}: {size:,} took {hit[0].median:.2f} s (target < {limit} s)")
    if args.no_target:
        print("\n--no-target: smoke run, targets not checked")
        return 0
    if missed:
        print("\nMISSED: " + "; ".join(missed))
        return 1
    print(f"\nOK: every exponent <= {MAX_EXPONENT}; merge and render targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

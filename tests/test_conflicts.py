"""Conflicts between facts, judged by what their figures claim (claims.py frames), not by shared
words: reworded pairs still link, near misses do not."""

from __future__ import annotations

import json
import random
from itertools import combinations
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_authored, run_script
from thesisgen import facts as facts_module
from thesisgen.facts import _clash, _Read, find_conflicts
from thesisgen.models import Conflict, Fact, FactSet
from thesisgen.numbers import DEFAULT_IDENTIFIERS


def _fact(fid: str, statement: str) -> Fact:
    return Fact(id=fid, statement=statement, quote=statement, source_id="S1")


def _pair(a: str, b: str) -> list[Conflict]:
    return find_conflicts([_fact("F1", a), _fact("F2", b)], ())


PKX_80 = "China accounts for about 80% of global rare-earth processing and refining capacity."
PKX_90 = "One estimate puts China's share of rare-earth refining at roughly 90%."

# (what the pair shows, fact 1, fact 2, the figures that conflict)
LINKED = [
    ("the PKX pair", PKX_80, PKX_90, ["80%", "90%"]),
    (
        "'worldwide' for 'global'",
        "China accounts for about 80% of worldwide rare-earth processing and refining capacity.",
        PKX_90,
        ["80%", "90%"],
    ),
    (
        "'rare earth' without its hyphen",
        "China accounts for about 80% of global rare earth processing and refining capacity.",
        "One estimate puts China's share of rare earth refining at roughly 90%.",
        ["80%", "90%"],
    ),
    (
        "word order",
        "About 80% of global rare-earth refining capacity sits in China.",
        "China holds roughly 90% of rare-earth refining capacity.",
        ["80%", "90%"],
    ),
    (
        "active and passive",
        "China controls about 80% of rare-earth processing capacity.",
        "Roughly 90% of rare-earth processing capacity is controlled by China.",
        ["80%", "90%"],
    ),
    (
        "'share of refining' and 'of processing and refining capacity'",
        "China's share of rare-earth refining is roughly 90%.",
        "China accounts for 80% of rare-earth processing and refining capacity.",
        ["90%", "80%"],
    ),
    (
        "'sales' and 'revenue'",
        "Apple's sales were $391 billion in fiscal 2024.",
        "Apple reported revenue of $383 billion in fiscal 2024.",
        ["$391 billion", "$383 billion"],
    ),
    (
        "'turnover' and 'net sales', a name and its longer form",
        "Lynas's turnover was A$464 million in FY2024.",
        "Lynas Rare Earths posted net sales of A$510 million in FY2024.",
        ["A$464 million", "A$510 million"],
    ),
    (
        "'capital expenditure' and 'capex', a bound it exceeds",
        "Capex will be up to $200 million in 2025.",
        "Capital spending is expected to reach $260 million in 2025.",
        ["$200 million", "$260 million"],
    ),
    (
        "'about' and a figure more than 5% away",
        "Harbor Lane reported net income of $120 million for fiscal 2024.",
        "Harbor Lane's net income was about $100 million in fiscal 2024.",
        ["$120 million", "$100 million"],
    ),
    (
        "a lower bound and a figure below it",
        "Demand for neodymium is projected to rise by at least 300% by 2030.",
        "Neodymium demand is projected to rise 250% by 2030.",
        ["300%", "250%"],
    ),
    (
        "the same change in opposite directions",
        "Apple's revenue rose 8% in 2024.",
        "Revenue at Apple fell 8% in 2024.",
        ["8%", "8%"],
    ),
    (
        "'output' and 'production', opposite directions",
        "MP Materials' output increased 12% in 2023.",
        "Production at MP Materials declined 12% in 2023.",
        ["12%", "12%"],
    ),
    (
        "'output' and 'production', reworded",
        "Indonesia's nickel output was 1.8 million tonnes in 2023.",
        "Nickel production in Indonesia reached 2.0 million tonnes in 2023.",
        ["1.8 million", "2.0 million"],
    ),
    (
        "units for the same holder",
        "POSCO will supply magnets for 3.85 million EV motors.",
        "POSCO will supply permanent magnets for 5 million EV motors.",
        ["3.85 million", "5 million"],
    ),
    (
        "'%' and 'per cent', no one named",
        "The gross margin was 46.2% in fiscal 2024.",
        "Gross margin came in at 44 per cent for fiscal 2024.",
        ["46.2%", "44 per cent"],
    ),
    (
        "'global' and 'worldwide' opening the sentence",
        "Global demand for magnets rose 8% in 2024.",
        "Worldwide demand for magnets rose 5% in 2024.",
        ["8%", "5%"],
    ),
    (
        "'Global' opening one sentence: not a name",
        "Global demand for magnets rose 8% in 2024.",
        "Demand for magnets rose 5% in 2024.",
        ["8%", "5%"],
    ),
    (
        "a possessive right before the figure",
        "China's roughly 80% share of rare-earth refining is the largest.",
        "China accounts for about 90% of rare-earth refining capacity.",
        ["80%", "90%"],
    ),
    (
        "a figure outside a range",
        "China holds between 80% and 90% of rare-earth refining capacity.",
        "China's share of rare-earth refining is 95%.",
        ["between 80% and 90%", "95%"],
    ),
    (
        "no metric word: the same content, reworded",
        "China makes about 90% of the world's rare-earth magnets.",
        "China makes 70% of rare earth magnets.",
        ["90%", "70%"],
    ),
]

# (what the pair shows, fact 1, fact 2)
NOT_LINKED = [
    (
        "different metric",
        "Apple's revenue was $391 billion in fiscal 2024.",
        "Apple's net income was $94 billion in fiscal 2024.",
    ),
    (
        "different period",
        "China accounts for about 80% of global rare-earth refining capacity in 2023.",
        "China accounts for roughly 90% of global rare-earth refining capacity in 2024.",
    ),
    (
        "different entity, each opening its sentence",
        "China accounts for about 80% of global rare-earth refining capacity.",
        "Indonesia accounts for roughly 40% of global rare-earth refining capacity.",
    ),
    (
        "different entity, possessives",
        "China's share of rare-earth refining is about 80%.",
        "Indonesia's share of rare-earth refining is about 5%.",
    ),
    (
        "different entities sharing a word",
        "MP Materials' revenue was $253 million in 2023.",
        "Energy Materials' revenue was $96 million in 2023.",
    ),
    (
        "a name and what it owns: the holder's competitors",
        "By the council's estimate Kestrel holds about 7% of that market.",
        "Kestrel's two largest competitors together hold about 35% of that market.",
    ),
    (
        "a segment opening one sentence, the total the other",
        "Americas net sales were $167,045 million in 2024, up 3% from $162,560 million in 2023.",
        "Total net sales were $391,035 million in 2024, up 2% from $383,285 million in 2023.",
    ),
    (
        "one fact gives both years, the other one of them",
        "Total net sales were $391,035 million in 2024, up 2% from $383,285 million in 2023.",
        "Total net sales grew 2% to $391,035 million in 2024 from $383,285 million in 2023.",
    ),
    (
        "the other fact states the figure, its metric word on another figure",
        "Gross margin in 2024 was $109,633 million for Products, $71,050 million for Services and "
        "$180,683 million in total.",
        "Total gross margin was $180.7 billion in 2024.",
    ),
    (
        "different holders of one kind of figure",
        "POSCO's contracts with ReElement are worth $900 million.",
        "ReElement's contracts with POSCO are worth $300 million.",
    ),
    (
        "a lower bound and the figure itself",
        "Demand for neodymium is projected to rise by more than 300% by 2030.",
        "The plan targets a 300% rise in neodymium demand by 2030.",
    ),
    (
        "a lower bound and a figure above it",
        "Demand for neodymium is projected to rise by more than 300% by 2030.",
        "Neodymium demand is projected to rise 350% by 2030.",
    ),
    (
        "an upper bound and a figure below it",
        "Capex will be up to $200 million in 2025.",
        "Capex is expected to be $180 million in 2025.",
    ),
    (
        "an approximation and a figure within its reach",
        "China controls about 80% of rare-earth processing capacity.",
        "China controls 82% of rare-earth processing capacity.",
    ),
    (
        "a figure inside a range",
        "China holds 80-90% of rare-earth refining capacity.",
        "China's share of rare-earth refining is about 85%.",
    ),
    (
        "'about' and a figure within 5%",
        "Northgate's net income fell 11% to $412 million in 2024.",
        "Northgate's net income fell 11% to about $400 million in 2024.",
    ),
    (
        "the same value written differently",
        "POSCO has contracts worth $0.9 billion.",
        "POSCO has contracts worth $900 million.",
    ),
    (
        "'nearly' and the round figure",
        "POSCO has contracts worth nearly $900 million with carmakers.",
        "The summary describes the project as backed by $900M of EV magnet contracts.",
    ),
    (
        "a forecast and a result",
        "Apple expects revenue of $12 million in 2025.",
        "Apple reported revenue of $9 million in 2025.",
    ),
    (
        "different currencies",
        "Revenue was $10 million in 2024.",
        "Revenue was €12 million in 2024.",
    ),
    (
        "a negated figure",
        "China does not control 90% of rare-earth refining.",
        "China controls about 80% of rare-earth refining.",
    ),
    (
        "no metric word: different things counted",
        "POSCO will open 3 magnet plants in 2026.",
        "POSCO will open 5 recycling lines in 2026.",
    ),
    (
        "a metric word on one side only",
        "Revenue was $10 million in 2024.",
        "The company paid $12 million for the site in 2024.",
    ),
]


@pytest.mark.parametrize(("what", "a", "b", "figures"), LINKED, ids=[row[0] for row in LINKED])
def test_reworded_pairs_still_conflict(what: str, a: str, b: str, figures: list[str]) -> None:
    conflicts = _pair(a, b)
    assert [(c.facts, c.figures) for c in conflicts] == [(["F1", "F2"], figures)], what
    # Either order: the rule is symmetric.
    swapped = _pair(b, a)
    assert [(c.facts, c.figures) for c in swapped] == [(["F1", "F2"], figures[::-1])], what


@pytest.mark.parametrize(("what", "a", "b"), NOT_LINKED, ids=[row[0] for row in NOT_LINKED])
def test_near_misses_do_not_conflict(what: str, a: str, b: str) -> None:
    assert _pair(a, b) == [], what
    assert _pair(b, a) == [], what


def test_tables_are_big_enough() -> None:
    assert len(LINKED) >= 12 and len(NOT_LINKED) >= 12


def test_the_note_says_what_to_do() -> None:
    (plain,) = _pair(PKX_80, PKX_90)
    assert plain.note == "F1 says 80%, F2 says 90%: cite both or give the range"
    (bound,) = _pair(
        "Demand for neodymium is projected to rise by at least 300% by 2030.",
        "Neodymium demand is projected to rise 250% by 2030.",
    )
    assert bound.note.startswith("F1 says by at least 300%, F2 says 250%: ")
    assert "bound" in bound.note
    (turned,) = _pair("Apple's revenue rose 8% in 2024.", "Revenue at Apple fell 8% in 2024.")
    assert turned.note.startswith("F1 says rose 8%, F2 says fell 8%: ")
    assert "opposite directions" in turned.note


BUNDLED_CONFLICTS = {
    "PKX": [
        (["F6", "F10"], ["80%", "90%"], "F6 says 80%, F10 says 90%: cite both or give the range")
    ],
    "AREC": [],
}


@pytest.mark.enable_socket
@pytest.mark.parametrize("ticker", sorted(BUNDLED_CONFLICTS))
def test_bundled_runs_keep_their_conflicts(ticker: str, tmp_path: Path) -> None:
    """`thesisgen facts` on the bundles' authored answers (served by our stub, not replayed, so a
    prompt change leaves this alone): PKX links China's 80% and 90%, AREC links nothing (its
    "more than 300%" and "300%", "nearly $900 million" and "$900M" agree)."""
    facts_run = ("facts", "--ticker", ticker, "--out", tmp_path / "out")
    result = run_authored(ticker, *facts_run, cwd=tmp_path).result
    assert result.code == 0, result.stderr
    factset = FactSet.model_validate_json((tmp_path / "out" / "facts.json").read_text())
    found = [(c.facts, c.figures, c.note) for c in factset.conflicts]
    assert found == BUNDLED_CONFLICTS[ticker]


def test_third_company_ledger_has_no_conflicts() -> None:
    """The third company's authored facts state many measures of one year, and a market share of
    Kestrel's next to its competitors': none is a conflict (test_third_company checks the run)."""
    authored = ROOT / "tests" / "data" / "third" / "authored"
    statements = [
        fact["statement"]
        for name in ("facts-S1-1.json", "facts-S2-1.json")
        for fact in json.loads((authored / name).read_text())["facts"]
    ]
    ledger = [_fact(f"F{i}", s) for i, s in enumerate(statements, 1)]
    assert len(ledger) == 19
    assert find_conflicts(ledger, (*DEFAULT_IDENTIFIERS, "KSTL")) == []


def _claim_table_pairs() -> list[tuple[str, str, str, str]]:
    """(case id, ticker, the cited fact, the sentence) for every single-citation case the claim
    table labels ok: a faithful restatement of its fact, worded differently."""
    data = yaml.safe_load((ROOT / "tests" / "data" / "claim_cases.yaml").read_text("utf-8"))
    out = []
    for group in data["groups"]:
        facts = {k: v if isinstance(v, str) else v["statement"] for k, v in group["facts"].items()}
        ticker = group.get("company", {}).get("ticker", "AREC")
        for case in group["cases"]:
            if case["expect"] == "ok" and len(case["cites"]) == 1:
                out.append((case["id"], ticker, facts[case["cites"][0]], case["text"]))
    return out


def test_claim_table_restatements_do_not_conflict_with_their_facts() -> None:
    """A sentence the claim table's reviewer accepts as stating its fact (rounded, reworded, both
    years or one, a segment's figure next to the total) is a second fact that agrees."""
    pairs = _claim_table_pairs()
    assert len(pairs) > 100
    flagged = [
        (case, conflicts[0].figures)
        for case, ticker, fact, sentence in pairs
        if (conflicts := find_conflicts([_fact("F1", fact), _fact("F2", sentence)], (ticker,)))
    ]
    assert flagged == []


def test_each_fact_takes_part_in_at_most_max_per_fact_conflicts() -> None:
    values = [60, 65, 70, 75, 80, 85]
    ledger = [
        _fact(f"F{i}", f"China controls {v}% of rare-earth processing capacity.")
        for i, v in enumerate(values, 1)
    ]
    conflicts = find_conflicts(ledger, (), max_per_fact=2)
    # In ledger order; F1, F2 and F3 reach the cap among themselves, so F4 meets only F5 and F6.
    assert [c.facts for c in conflicts] == [
        ["F1", "F2"],
        ["F1", "F3"],
        ["F2", "F3"],
        ["F4", "F5"],
        ["F4", "F6"],
        ["F5", "F6"],
    ]
    assert find_conflicts(ledger, (), max_per_fact=0) == []


# --- scale: facts meet on keys, not all pairs -----------------------------------------------------

ENTITIES = ["China", "Indonesia", "Australia", "POSCO", "ReElement", "Lynas", "MP Materials"]
TEMPLATES = [
    "{e} reported revenue of {q}${v} million in {p}.",
    "{e}'s net income was {q}${v} million in {p}.",
    "Capital expenditure at {e} reached {q}${v} million in {p}.",
    "{e} accounts for {q}{v}% of global rare-earth refining capacity in {p}.",
    "{e}'s share of rare earth processing was {q}{v}% in {p}.",
    "{e} production rose {q}{v}% in {p}.",
    "Output at {e} fell {q}{v}% in {p}.",
    "{e} employs {q}{v} people as of {p}.",
    "{e} will open {q}{v} magnet plants by {p}.",
    "Demand for magnets is projected to grow {q}{v}% by {p}.",
]
QUALIFIERS = ["", "", "about ", "roughly ", "more than ", "nearly ", "up to ", "at least "]


def synthetic(count: int, seed: int = 3) -> list[Fact]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        statement = rng.choice(TEMPLATES).format(
            e=rng.choice(ENTITIES),
            q=rng.choice(QUALIFIERS),
            v=rng.choice([5, 8, 10, 12, 40, 80, 90, 250, 300]),
            p=rng.choice(["2023", "2024", "fiscal 2024", "Q2 2025"]),
        )
        out.append(_fact(f"F{i + 1}", statement))
    return out


def _all_pairs(ledger: list[Fact], max_per_fact: int = 3) -> list[Conflict]:
    """The rule applied to every pair, in ledger order: what the keys must not change."""
    reads = [_Read.of(f, ()) for f in ledger]
    linked = [0] * len(reads)
    out = []
    for (i, a), (j, b) in combinations(enumerate(reads), 2):
        if linked[i] >= max_per_fact or linked[j] >= max_per_fact:
            continue
        conflict = _clash(a, b)
        if conflict is not None:
            out.append(conflict)
            linked[i] += 1
            linked[j] += 1
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keys_find_every_conflict_all_pairs_would(seed: int) -> None:
    ledger = synthetic(160, seed)
    found = find_conflicts(ledger, ())
    assert found, "the synthetic ledger has conflicts"
    assert found == _all_pairs(ledger)
    assert find_conflicts(ledger, ()) == found, "deterministic"


def test_far_fewer_pairs_than_all(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = facts_module._clash

    def counting(a: _Read, b: _Read) -> Conflict | None:
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(facts_module, "_clash", counting)
    ledger = synthetic(1000)
    find_conflicts(ledger, ())
    assert calls < 1000 * 999 / 2 / 20, calls


def test_conflicts_benchmark_runs() -> None:
    out = run_script("benchmarks/conflicts_bench.py", "--facts", "200", "--repeat", "1")
    assert "find_conflicts" in out

"""Table-driven gate cases kept as data (tests/data/validator_cases.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from thesisgen.models import Calculation, Fact, FactSet, Sentence
from thesisgen.validate import Ledger, check_sentence

DATA = yaml.safe_load((Path(__file__).parent / "data" / "validator_cases.yaml").read_text())
LEDGER = Ledger.of(
    FactSet(
        ticker="AREC",
        company="American Resources Corporation",
        sources=[{"id": "S1", "title": "t"}],  # type: ignore[list-item]
        facts=[Fact(id=i, statement=t, quote=t, source_id="S1") for i, t in DATA["facts"].items()],
    )
)


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["text"][:60] for c in DATA["cases"]])
def test_case(case: dict[str, Any]) -> None:
    calculations = [Calculation(**c) for c in case.get("calc", [])]
    sentence = Sentence(text=case["text"], cites=case["cites"], calculations=calculations)
    found, _ = check_sentence(sentence, LEDGER)
    findings = [f for f in found if not f.comment]  # reviewer comments do not fail the gate
    if case["expect"] == "ok":
        assert findings == [], [f.message for f in findings]
    else:
        assert findings, "expected a violation"
        assert (findings[0].kind, findings[0].token) == (case["expect"], case["token"]), findings[
            0
        ].message


def test_table_covers_both_outcomes() -> None:
    ok = sum(c["expect"] == "ok" for c in DATA["cases"])
    assert len(DATA["cases"]) >= 150
    assert ok >= 40 and len(DATA["cases"]) - ok >= 40

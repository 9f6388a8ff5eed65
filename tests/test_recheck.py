"""An edited facts file is checked before any work: each problem named once, in one line."""

from __future__ import annotations

from conftest import STATIC
from thesisgen.models import FactSet
from thesisgen.recheck import check_factset


def _static() -> FactSet:
    return FactSet.model_validate_json((STATIC / "facts.json").read_text(encoding="utf-8"))


def test_the_static_ledger_has_no_problem() -> None:
    assert check_factset(_static()) == []


def test_a_repeated_fact_id_an_unknown_source_and_a_repeated_source_are_named() -> None:
    factset = _static()
    first, second = factset.facts[0], factset.facts[1]
    edited = factset.model_copy(
        update={
            "facts": [
                first,
                second.model_copy(update={"id": first.id}),
                *factset.facts[2:-1],
                factset.facts[-1].model_copy(update={"source_id": "S99"}),
            ],
            "sources": [*factset.sources, factset.sources[0]],
        }
    )
    problems = check_factset(edited)
    assert f"source {factset.sources[0].id} is listed twice in 'sources': remove one" in problems
    assert f"{first.id} is used twice" in problems
    assert f"{factset.facts[-1].id} names source S99, which is not in 'sources'" in problems
    assert len(problems) == 3, problems

"""Formulas of calculated figures: values from the cited facts, and units through the arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from thesisgen.calc import CalcError, UnitError, describe, dims_of, evaluate, unit_problem
from thesisgen.numbers import Mention, extract

FIGURES: dict[str, list[Mention]] = {
    fid: extract(text)
    for fid, text in {
        "F1": "China controls about 80% of capacity.",
        "F2": "Contracts worth nearly $900 million cover 3.85 million EV motors.",
        "F5": "Revenue was $203.9 million.",
        "F15": "Capex is planned at €45.5 million.",
        "F26": "The company employs 350 people.",
        "F41": "The euro ended the year at 1.08 dollars per euro.",
        "F42": "An exchange rate of 1,350 won per dollar.",
        "F43": "The reference rate was USD/EUR 1.08.",
        "F44": "The euro bought $1.08 per euro.",
    }.items()
}


def _said(text: str) -> Mention:
    (mention,) = extract(text)
    return mention


@pytest.mark.parametrize(
    ("text", "dims"),
    [
        ("$900 million", (("USD", 1),)),
        ("€45.5m", (("EUR", 1),)),
        ("1.08 dollars per euro", (("EUR", -1), ("USD", 1))),
        ("$1.08 per euro", (("EUR", -1), ("USD", 1))),
        ("USD/EUR 1.08", (("EUR", -1), ("USD", 1))),
        ("an exchange rate of 1,350 won per dollar", (("KRW", 1), ("USD", -1))),
        ("1,350 won to the dollar", (("KRW", 1), ("USD", -1))),
        ("$0.30 per dollar", ()),  # a ratio of one currency has none
        ("$4 per pound", (("USD", 1),)),  # a pound of copper, not sterling
        ("80%", ()),
        ("2.5x", ()),
        ("3.85 million", ()),
    ],
)
def test_dimensions_of_a_figure(text: str, dims: tuple[tuple[str, int], ...]) -> None:
    (mention,) = extract(text)
    assert dims_of(mention) == dims


@pytest.mark.parametrize(
    ("formula", "value", "dims"),
    [
        ("{F2:$900 million} / {F2:3.85 million}", "233.766", (("USD", 1),)),
        ("{F2:$900 million} * {F1:80%} / 100", "720000000", (("USD", 1),)),
        ("{F15:€45.5 million} * {F41:1.08 dollars per euro}", "49140000", (("USD", 1),)),
        ("{F15:€45.5 million} * {F41:$1.08}", "49140000", (("USD", 1),)),  # the fact says per euro
        ("{F15:€45.5 million} * {F43:USD/EUR 1.08}", "49140000", (("USD", 1),)),
        ("{F15:€45.5 million} * {F44:$1.08 per euro}", "49140000", (("USD", 1),)),
        ("{F5:$203.9 million} * {F42:1,350 won per dollar}", "275265000000", (("KRW", 1),)),
        ("{F15:€45.5 million} / {F5:$203.9 million} * 100", "22.315", (("EUR", 1), ("USD", -1))),
        ("{F5:$203.9 million} / {F5:$203.9 million}", "1", ()),
        ("-{F5:$203.9 million} + {F2:$900 million}", "696100000", (("USD", 1),)),
        ("({F2:$900 million} / {F26:350}) * {F26:350}", "900000000", (("USD", 1),)),
    ],
)
def test_units_follow_the_arithmetic(
    formula: str, value: str, dims: tuple[tuple[str, int], ...]
) -> None:
    result = evaluate(formula, FIGURES)
    assert abs(result.value - Decimal(value)) < Decimal("0.001")
    assert result.dims == dims


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("{F15:€45.5 million} + {F5:$203.9 million}", "adds USD to EUR"),
        ("{F5:$203.9 million} - {F15:€45.5 million}", "subtracts EUR from USD"),
        ("{F5:$203.9 million} + {F26:350}", "adds a figure with no currency to USD"),
        ("{F1:80%} - {F5:$203.9 million}", "subtracts USD from a figure with no currency"),
        ("{F5:$203.9 million} + 1", "adds a figure with no currency to USD"),
    ],
)
def test_adding_or_subtracting_different_units_is_refused(formula: str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        evaluate(formula, FIGURES)


def test_a_unit_error_is_a_calc_error() -> None:
    assert issubclass(UnitError, CalcError)


@pytest.mark.parametrize(
    ("dims", "said", "problem"),
    [
        ((("USD", 1),), "$234", None),
        ((("EUR", -1), ("USD", 1)), "$1.08 per euro", None),
        ((), "22%", None),
        ((), "4.5x", None),
        (
            (("EUR", 1), ("USD", -1)),
            "22%",
            "divides EUR by USD: convert with a cited exchange rate",
        ),
        ((("USD", 1), ("EUR", -1)), "4.5x", "divides USD by EUR"),
        ((("USD", 1),), "€234", "gives USD, but '€234' is in EUR"),
        ((), "$234", "gives a figure with no currency, but '$234' is in USD"),
        ((("USD", 1),), "720 million", "gives USD, but '720 million' is a count with no currency"),
        ((("EUR", 2), ("USD", -1)), "$42 million", "gives EUR×EUR per USD"),
    ],
)
def test_the_result_must_have_the_figures_units(
    dims: tuple[tuple[str, int], ...], said: str, problem: str | None
) -> None:
    got = unit_problem(dims, _said(said))
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


def test_describe() -> None:
    assert describe(()) == "no currency"
    assert describe((("USD", 1),)) == "USD"
    assert describe((("EUR", -1), ("USD", 1))) == "USD per EUR"


def test_operands_match_within_the_tolerance() -> None:
    assert evaluate("{F2:$0.9 billion}", FIGURES).value == 900_000_000
    with pytest.raises(CalcError, match="F2 does not state"):
        evaluate("{F2:$1 billion}", FIGURES)  # rounds $900 million by 11%
    assert evaluate("{F2:$1 billion}", FIGURES, tolerance=Decimal("0.12")).value == 900_000_000

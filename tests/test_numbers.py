"""The figure extractor: table-driven cases and hypothesis properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thesisgen.numbers import backs, extract

CASES: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("about 80% of capacity", [("percent", "80", "")]),
    ("eighty percent", [("percent", "80", "")]),
    ("nearly $900 million", [("currency", "900000000", "USD")]),
    ("$900M", [("currency", "900000000", "USD")]),
    ("US$1.2bn", [("currency", "1200000000", "USD")]),
    ("€45.5 million", [("currency", "45500000", "EUR")]),
    ("KRW 5 trillion", [("currency", "5000000000000", "KRW")]),
    ("900 million dollars", [("currency", "900000000", "USD")]),
    ("($12.3M)", [("currency", "-12300000", "USD")]),
    ("$1–2bn", [("currency", "1000000000", "USD"), ("currency", "2000000000", "USD")]),
    ("3.85 million motors", [("count", "3850000", "")]),
    ("10,655 tonnes", [("count", "10655", "")]),
    ("(12.3)", [("count", "-12.3", "")]),
    ("−5%", [("percent", "-5", "")]),
    ("1.5 percentage points", [("pp", "1.5", "")]),
    ("25 bps", [("bp", "25", "")]),
    ("2.5x book", [("multiple", "2.5", "")]),
    ("to double", [("multiple", "2", "")]),
    ("halved", [("multiple", "0.5", "")]),
    ("by 2030", [("year", "2030", "")]),
    ("2025–2032", [("year", "2025", ""), ("year", "2032", "")]),
    ("2025-32", [("year", "2025", ""), ("year", "2032", "")]),
    ("September 24, 2025", [("date", "20250924", "")]),
    ("2025-09-24", [("date", "20250924", "")]),
    ("Q2 2025", [("period", "2025", "Q2")]),
    ("2Q25", [("period", "2025", "Q2")]),
    ("FY2024 and FY24", [("period", "2024", "FY"), ("period", "2024", "FY")]),
    ("fiscal 2024", [("period", "2024", "FY")]),
    ("Form 10-K, 8-K, S&P 500, Section 45X", []),
    ("COVID-19 and Nd2Fe14B and 5G", []),
    ("see [3] and [F12]", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_extract(text: str, expected: list[tuple[str, str, str]]) -> None:
    got = [(m.kind, m.value, m.unit) for m in extract(text)]
    assert got == [(k, Decimal(v), u) for k, v, u in expected]


def test_precision_follows_what_the_sentence_shows() -> None:
    fact = extract("$203.9 million")[0]
    assert backs(fact, extract("$204 million")[0])
    assert backs(fact, extract("$0.2 billion")[0])
    assert not backs(fact, extract("$240 million")[0])
    assert not backs(fact, extract("$203.95 million")[0])
    assert backs(extract("$900 million")[0], extract("$0.9 billion")[0])


_SCALES = [
    ("", 1),
    (" thousand", 10**3),
    (" million", 10**6),
    ("M", 10**6),
    (" billion", 10**9),
    ("bn", 10**9),
]


@given(
    units=st.integers(min_value=0, max_value=999_999),
    decimals=st.integers(min_value=0, max_value=3),
    scale=st.sampled_from(_SCALES),
    prefix=st.sampled_from(["$", "US$", "€", "£"]),
    grouping=st.booleans(),
)
def test_formatted_currency_parses_back(
    units: int, decimals: int, scale: tuple[str, int], prefix: str, grouping: bool
) -> None:
    value = Decimal(units).scaleb(-decimals)
    shown = f"{value:,.{decimals}f}" if grouping else f"{value:.{decimals}f}"
    mentions = extract(f"Sales were {prefix}{shown}{scale[0]} last year.")
    assert len(mentions) == 1
    assert mentions[0].value == value * scale[1]
    assert mentions[0].kind == "currency"


@given(
    value=st.decimals(
        min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False
    ),
    word=st.sampled_from(["%", " percent", " per cent"]),
)
def test_formatted_percent_parses_back(value: Decimal, word: str) -> None:
    mentions = extract(f"Growth was {value}{word}.")
    assert [(m.kind, m.value) for m in mentions] == [("percent", value)]


@settings(max_examples=500)
@given(st.text())
def test_any_unicode_never_raises(text: str) -> None:
    for mention in extract(text):
        assert 0 <= mention.start <= mention.end <= len(text)

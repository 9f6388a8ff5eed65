"""The figure extractor: table-driven cases and hypothesis properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from thesisgen.numbers import (
    ROUNDING_TOLERANCE,
    Mention,
    backing,
    backs,
    extract,
    percent_text,
    rewrite,
    rounds_to,
)

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
    ("$(12.3) million", [("currency", "-12300000", "USD")]),
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
    # glued scale suffixes after a currency; a lowercase m is millions only there
    ("US$203.9m", [("currency", "203900000", "USD")]),
    ("$1.2bn", [("currency", "1200000000", "USD")]),
    ("€45.5m", [("currency", "45500000", "EUR")]),
    ("A$3bn", [("currency", "3000000000", "AUD")]),
    ("C$2.5m", [("currency", "2500000", "CAD")]),
    ("HK$12.5bn", [("currency", "12500000000", "HKD")]),
    ("S$900k", [("currency", "900000", "SGD")]),
    ("NZ$4.1m", [("currency", "4100000", "NZD")]),
    ("£1.2bn", [("currency", "1200000000", "GBP")]),
    ("$1-2m", [("currency", "1000000", "USD"), ("currency", "2000000", "USD")]),
    ("between €1m and €2m", [("currency", "1000000", "EUR"), ("currency", "2000000", "EUR")]),
    ("HKD 3.2bn and SGD 900k", [("currency", "3200000000", "HKD"), ("currency", "900000", "SGD")]),
    ("NZD 12 million or INR 500", [("currency", "12000000", "NZD"), ("currency", "500", "INR")]),
    ("3.85 billion INR", [("currency", "3850000000", "INR")]),
    ("a 5m run", []),  # metres, not millions
    ("between 1m and 2m", []),
    ("$5 more", [("currency", "5", "USD")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_extract(text: str, expected: list[tuple[str, str, str]]) -> None:
    got = [(m.kind, m.value, m.unit) for m in extract(text)]
    assert got == [(k, Decimal(v), u) for k, v, u in expected]


@pytest.mark.parametrize(
    ("text", "value", "unit", "per", "shown"),
    [
        ("at 1.08 dollars per euro", "1.08", "USD", "EUR", "1.08 dollars per euro"),
        ("at $1.08 per euro", "1.08", "USD", "EUR", "$1.08 per euro"),
        ("at USD/EUR 1.08", "1.08", "USD", "EUR", "USD/EUR 1.08"),
        ("an exchange rate of 1,350 won per dollar", "1350", "KRW", "USD", "1,350 won per dollar"),
        ("1,350 won to the US dollar", "1350", "KRW", "USD", "1,350 won to the US dollar"),
        ("EUR 0.93 per USD", "0.93", "EUR", "USD", "EUR 0.93 per USD"),
        ("$234 per motor", "234", "USD", "", "$234"),
        ("$4 per pound of copper", "4", "USD", "", "$4"),
    ],
)
def test_exchange_rates_carry_the_currency_they_are_per(
    text: str, value: str, unit: str, per: str, shown: str
) -> None:
    (mention,) = extract(text)
    assert (mention.kind, mention.value, mention.unit, mention.per) == (
        "currency",
        Decimal(value),
        unit,
        per,
    )
    assert mention.text == shown


def test_a_rate_the_sentence_states_must_be_the_facts_rate() -> None:
    rate = _one("1.08 dollars per euro")
    assert backs(rate, _one("$1.08 per euro"))
    assert backs(rate, _one("USD/EUR 1.08"))
    assert backs(rate, _one("$1.08"))  # the sentence states less than the fact
    assert not backs(_one("$1.08"), _one("$1.08 per euro"))
    assert not backs(_one("1,350 won per dollar"), _one("1,350 won per euro"))


def test_precision_follows_what_the_sentence_shows() -> None:
    fact = extract("$203.9 million")[0]
    assert backs(fact, extract("$204 million")[0])
    assert backs(fact, extract("$0.2 billion")[0])
    assert not backs(fact, extract("$240 million")[0])
    assert not backs(fact, extract("$203.95 million")[0])
    assert backs(extract("$900 million")[0], extract("$0.9 billion")[0])


def _one(text: str) -> Mention:
    mentions = extract(text)
    assert len(mentions) == 1, mentions
    return mentions[0]


@pytest.mark.parametrize(
    ("fact", "said", "rounds", "backed"),
    [
        ("$203.9 million", "$204 million", True, True),
        ("$900 million", "$0.9 billion", True, True),
        ("$900 million", "$1 billion", True, False),  # 11% over
        ("9.5%", "10%", True, False),  # 5.3% over
        ("9.5%", "9.5%", True, True),
        ("1.5 percentage points", "150 bps", True, True),
        ("1.5 percentage points", "2 pp", True, False),
        ("25 bps", "0.3 pp", True, False),  # the pp/bp conversion has the same limit
        ("25 bps", "0.25 percentage points", True, True),
        ("3.85 million", "4 million", True, True),  # 3.9%
        ("$(12.3) million", "$(12) million", True, True),  # 2.4%, negative
        ("$(12.3) million", "$(0.01) billion", True, False),
        ("0%", "0%", True, True),
        ("doubled", "doubled", True, True),
        ("2024", "2024", True, True),  # exact kinds: untouched
        ("September 24, 2025", "2025", True, True),
    ],
)
def test_rounding_has_a_limit(fact: str, said: str, rounds: bool, backed: bool) -> None:
    f, s = _one(fact), _one(said)
    assert rounds_to(f, s) is rounds
    assert backs(f, s) is backed


# figures of every kind, some backing others: the gate's batch reading must agree with backs
_BATCH = (
    "$203.9 million, $204 million, $0.9 billion, $900 million, $1 billion, $1.08 per euro, $1.08, "
    "USD/EUR 1.08, 9.5%, 10%, 0%, 1.5 percentage points, 150 bps, 2 pp, 25 bps, 0.3 pp, "
    "3.85 million, 4 million, $(12.3) million, $(12) million, doubled, 2.5x, 2024, FY2024, Q2 2025, "
    "September 24, 2025, June 30, 2025, 2025 and 1,350 won per dollar"
)


@pytest.mark.parametrize("tolerance", [ROUNDING_TOLERANCE, Decimal("0.12"), Decimal(0)])
def test_backing_is_backs_for_each_figure(tolerance: Decimal) -> None:
    figures = extract(_BATCH)
    assert {m.kind for m in figures} >= {"currency", "percent", "pp", "bp", "count", "year"}
    for said in figures:
        expected = tuple(backs(m, said, tolerance=tolerance) for m in figures)
        assert backing(figures, said, tolerance=tolerance) == expected
    assert backing((), figures[0]) == ()


def test_the_limit_is_a_keyword_and_defaults_to_five_percent() -> None:
    assert Decimal("0.05") == ROUNDING_TOLERANCE
    fact, said = _one("$900 million"), _one("$1 billion")
    assert not backs(fact, said)
    assert backs(fact, said, tolerance=Decimal("0.12"))
    assert not backs(_one("$203.9 million"), _one("$204 million"), tolerance=Decimal("0.0001"))


def test_rewrite_keeps_the_notation_at_the_coarsest_precision_that_backs() -> None:
    assert rewrite(_one("$1 billion"), Decimal(900_000_000)) == "$0.9 billion"
    assert rewrite(_one("US$1bn"), Decimal(900_000_000)) == "US$0.9bn"
    assert rewrite(_one("10%"), Decimal("9.5")) == "9.5%"
    assert rewrite(_one("$(0.01) billion"), Decimal(-12_300_000)) == "$(0.012) billion"
    assert rewrite(_one("11,000"), Decimal(10_655)) == "10,655"
    assert rewrite(_one("11 thousand"), Decimal(10_655)) == "11 thousand"
    assert rewrite(_one("one billion dollars"), Decimal(900_000_000)) is None  # words: no rewrite
    assert percent_text(Decimal("0.111")) == "11%"
    assert percent_text(Decimal("0.0526"), Decimal("0.05")) == "5.3%"
    assert percent_text(Decimal("0.05")) == "5%"


@given(
    units=st.integers(min_value=1, max_value=999_999),
    decimals=st.integers(min_value=0, max_value=3),
    shown=st.integers(min_value=0, max_value=3),
    scale=st.sampled_from([("", 1), (" million", 10**6), ("bn", 10**9), ("%", 1)]),
)
def test_a_backed_figure_is_within_the_limit_and_its_rewrite_backs(
    units: int, decimals: int, shown: int, scale: tuple[str, int]
) -> None:
    """Whatever precision a sentence rounds a fact to: backed means within 5%, and when the
    rounding goes further the suggested rewrite backs the fact."""
    prefix = "" if scale[0] == "%" else "$"
    value = Decimal(units).scaleb(-decimals)
    fact = _one(f"{prefix}{value}{scale[0]}")
    rounded = value.quantize(Decimal(1).scaleb(-min(shown, decimals)))
    if rounded == 0:
        return
    said = _one(f"{prefix}{rounded}{scale[0]}")
    assert rounds_to(fact, said)
    error = abs(said.value - fact.value)
    assert backs(fact, said) is (error <= ROUNDING_TOLERANCE * abs(fact.value))
    if not backs(fact, said):
        better = rewrite(said, fact.value)
        assert better is not None
        assert backs(fact, _one(better)), better


_SCALES = [
    ("", 1),
    (" thousand", 10**3),
    (" million", 10**6),
    ("M", 10**6),
    ("m", 10**6),  # after a currency amount
    ("k", 10**3),
    (" billion", 10**9),
    ("bn", 10**9),
]


@given(
    units=st.integers(min_value=0, max_value=999_999),
    decimals=st.integers(min_value=0, max_value=3),
    scale=st.sampled_from(_SCALES),
    prefix=st.sampled_from(["$", "US$", "€", "£", "A$", "C$", "HK$", "S$", "NZ$"]),
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


@given(st.text())
def test_any_unicode_never_raises(text: str) -> None:
    for mention in extract(text):
        assert 0 <= mention.start <= mention.end <= len(text)


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _words(n: int) -> str:
    """English words for 0 <= n < 10**12, as a writer would spell them (our own, for the property)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + _words(rest))
    for scale, name in ((10**9, "billion"), (10**6, "million"), (10**3, "thousand")):
        if n >= scale:
            rest = n % scale
            return _words(n // scale) + " " + name + ("" if rest == 0 else " " + _words(rest))
    raise AssertionError(n)


@given(
    n=st.integers(min_value=0, max_value=999_999_999_999),
    unit=st.sampled_from(["percent", "dollars", "euros"]),
)
def test_number_words_with_a_unit_parse_back(n: int, unit: str) -> None:
    mentions = extract(f"The figure was {_words(n)} {unit} last year.")
    assert len(mentions) == 1, mentions
    assert mentions[0].value == n


@given(
    value=st.decimals(min_value=0, max_value=500, places=1, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(
        [
            ("pp", " pp"),
            ("pp", " percentage points"),
            ("bp", " bps"),
            ("bp", " basis points"),
            ("multiple", "x"),
            ("multiple", "×"),
            ("multiple", " times"),
        ]
    ),
)
def test_points_and_multiples_parse_back(value: Decimal, unit: tuple[str, str]) -> None:
    mentions = extract(f"It moved {value}{unit[1]} in the year.")
    assert [(m.kind, m.value) for m in mentions] == [(unit[0], value)]


@given(
    value=st.decimals(
        min_value=Decimal("0.1"), max_value=99999, places=1, allow_nan=False, allow_infinity=False
    ),
    style=st.sampled_from(["({v})", "-{v}", "\u2212{v}", "$({v})", "-${v}"]),
)
def test_negatives_parse_back(value: Decimal, style: str) -> None:
    mentions = extract(f"The result was {style.format(v=value)} overall.")
    assert len(mentions) == 1
    assert mentions[0].value == -value
    assert mentions[0].kind == ("currency" if "$" in style else "count")


@given(
    year=st.integers(min_value=1990, max_value=2099),
    quarter=st.integers(min_value=1, max_value=4),
    style=st.sampled_from(
        [
            "Q{q} {y}",
            "{q}Q{yy}",
            "Q{q} FY{y}",
            "FY{y}",
            "FY{yy}",
            "fiscal {y}",
            "H{h} {y}",
            "{h}H{yy}",
        ]
    ),
)
def test_periods_parse_back(year: int, quarter: int, style: str) -> None:
    half = 1 + (quarter > 2)
    text = style.format(q=quarter, y=year, yy=f"{year % 100:02d}", h=half)
    mentions = extract(f"Results for {text} were reported.")
    assert len(mentions) == 1, (text, mentions)
    mention = mentions[0]
    assert mention.kind == "period"
    if "{yy}" in style:
        assert mention.value == 2000 + year % 100
    else:
        assert mention.value == year
    expected_unit = (
        {"Q": f"Q{quarter}", "F": "FY", "f": "FY", "H": f"H{half}"}[text[0]]
        if not text[0].isdigit()
        else text[1] + text[0]
    )
    if style == "Q{q} FY{y}":
        expected_unit = f"Q{quarter}FY"
    assert mention.unit == expected_unit


@given(
    low=st.integers(min_value=1, max_value=500),
    span=st.integers(min_value=1, max_value=500),
    dash=st.sampled_from(["-", "\u2013", "\u2014", " to "]),
    scale=st.sampled_from(_SCALES),
)
def test_currency_ranges_parse_back(low: int, span: int, dash: str, scale: tuple[str, int]) -> None:
    mentions = extract(f"Costs of ${low}{dash}{low + span}{scale[0]} are expected.")
    assert [m.value for m in mentions] == [low * scale[1], (low + span) * scale[1]]


@given(
    year=st.integers(min_value=1990, max_value=2090),
    length=st.integers(min_value=1, max_value=9),
    dash=st.sampled_from(["-", "\u2013", " to ", " through "]),
)
def test_year_spans_parse_back(year: int, length: int, dash: str) -> None:
    mentions = extract(f"Growth from {year}{dash}{year + length} is forecast.")
    assert [(m.kind, m.value) for m in mentions] == [("year", year), ("year", year + length)]


_PIECES = st.sampled_from(
    [
        "$",
        "US$",
        "HK$",
        "S$",
        "NZ$",
        "A$",
        "€",
        "(",
        ")",
        "-",
        "\u2013",
        "\u2212",
        ".",
        ",",
        "%",
        " ",
        "  ",
        "x",
        "bn",
        "M",
        "m",
        "k",
        "million",
        "percent",
        "pp",
        "bps",
        "between",
        "and",
        "to",
        "Q2",
        "FY",
        "fiscal",
        "September",
        "24",
        "2025",
        "25",
        "1,234.5",
        "0.5",
        "a",
        "third",
        "of",
        "half",
        "by",
        "eighty",
        "sixteen",
        "ten",
        "hundred",
        "two",
        "doubled",
        "mid-",
        "first",
        "quarter",
        "USD",
        "USD/EUR ",
        "s$",
        "hk$",
        "a$",
        "\u017f",  # long s: case-insensitively an s, so text that is not ASCII takes the other pre-scan
        "\u212a",  # Kelvin sign: a k
        " per euro",
        " to the dollar",
        "KRW",
        "HKD",
        "INR",
        "won",
        "dollars",
        "times",
        "Form 10-K",
        "COVID-19",
        "[3]",
        "AREC",
        "Nd2",
        "A3",
        "é",
        "\u2009",
        "655",
    ]
)


# Whole figures: each notation, each way it can begin (tests/data has more in context).
_FIGURES = [
    "between 1 and 2 billion", "between $1bn and $2bn", "Between 20% and 30%", "between 2020 and 2024",
    "September 24, 2025", "Sept. 24 2025", "24 September 2025", "2025-09-24", "June 30",
    "Q2 2025", "Q2 FY2025", "2Q25", "H1 2025", "1H25", "FY2024", "FY '24", "fiscal 2024",
    "Fiscal Year 2024", "the second quarter of 2025", "first half 2025", "Dec. 2025",
    "mid-2025", "late-2026", "Pre-2020", "post-2020", "end-2024", "early-2025",
    "$900 million", "US$1-2bn", "KRW 5 trillion", "($12.3M)", "-$5", "HK$12.5bn", "S$900k",
    "€45.5m", "£3", "¥100", "₩1,000", "C$2", "A$3bn", "NZ$4", "USD/EUR 1.08", "$1.08 per euro",
    "(USD 5)", "-EUR 3", "RMB5",
    "20-30%", "-5%", ".5%", "1.5 pp", "25 bps", "3 basis points", "2 percentage points",
    "2.5x", ".5x", "3×", "3 times",
    "doubled", "Tripling", "quadruple", "halves",
    "a third of", "two thirds of", "half of", "a quarter of", "by half", "by a third",
    "By two tenths",
    "eighty percent", "three hundred percent", "nine hundred million dollars", "a hundred million",
    "twenty-one", "One billion euros", "five times", "sixteen percent",
    "2025-2032", "2025-32", "2025 to 2032", "2025 through 2032",
    "900 million dollars", "5 trillion won", "1.08 dollars per euro", ".5 USD",
    "2030", "1999",
    "3.85 million", "3.85M", "10,655", "(12.3)", "1-2 million", "-4", ".25",
]  # fmt: skip


def _plain_scan(text: str) -> set[tuple[int, int]]:
    """What the combined regex finds trying every position, identifiers masked as extract masks
    them: the figures extract must find."""
    from thesisgen import numbers as n

    folded = text.translate(n._FOLD)
    spans = [m.span() for m in n._identifier_pattern(n.DEFAULT_IDENTIFIERS).finditer(folded)]
    scan = n._mask(folded, spans)
    return {m.span() for m in n._PATTERN.finditer(scan) if n._READERS[m.lastgroup](m)}


def test_the_prescan_finds_every_notation() -> None:
    """extract() tries the regex only where the pre-scan built from the notations' words and
    marks says a figure can begin: each figure, in any case and after a word, a bracket or a
    sign, must be found as trying everywhere finds it (a notation whose words or marks miss a
    way it begins fails here)."""
    missed = []
    for figure in _FIGURES:
        for text in (figure, figure.upper(), f"x {figure}.", f"({figure})", f"-{figure}"):
            found = {(m.start, m.end) for m in extract(text)}
            if found != _plain_scan(text):
                missed.append(text)
    assert not missed


@given(st.lists(st.one_of(_PIECES, st.sampled_from(_FIGURES)), max_size=14).map("".join))
def test_the_prescan_finds_what_the_plain_pattern_scan_finds(text: str) -> None:
    """The same for any text made of pieces and figures."""
    assert {(m.start, m.end) for m in extract(text)} == _plain_scan(text)


_NAMES = [
    "Form 10-K/A",
    "Form 10",
    "form 10-k",
    "10-K",
    "S&P 500",
    "AREC",
    "a",
    "Third Point",
    "K-1",
    "k-1 plan",
    "1-2",
    "[x]",
    "\u017fection 9",  # a name that does not begin with ASCII: the plain alternation is kept
]


@given(
    text=st.lists(
        st.sampled_from([*_NAMES, " ", "/", "-", "x", "1", "[3]", "\u212a", "\u017f"]), max_size=8
    ).map("".join),
    names=st.lists(st.sampled_from(_NAMES), max_size=8),
)
# Where grouping could go wrong: a shorter name tried before a longer one it begins ("K-1" before
# "k-1 plan"), or in a group of its own that comes first ("Form 10" before "form 10-k").
@example(text="K-1 plan", names=["K-1", "k-1 plan"])
@example(text="form 10-k", names=["Form 10-K/A", "Form 10", "form 10-k"])
def test_the_identifier_regex_matches_as_the_plain_alternation(text: str, names: list[str]) -> None:
    """The identifier regex is grouped for speed; it must mask exactly what one alternation of
    the names, longest first, masks."""
    import re

    from thesisgen import numbers as n

    words = "|".join(map(re.escape, sorted(set(names), key=len, reverse=True)))
    plain = re.compile(
        n._REFERENCE_MARKER.pattern
        + (r"|(?<![A-Za-z0-9])(?i:" + words + r")(?![A-Za-z0-9])" if names else "")
    )
    spans = [m.span() for m in n._identifier_pattern(tuple(names)).finditer(text)]
    assert spans == [m.span() for m in plain.finditer(text)]


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        (
            "The load factor rose 1.2 percentage points in 2024 to 86.4%.",
            ["1.2 percentage points", "2024", "86.4%"],
        ),
        (
            "Northwind carried 41 million passengers in 2024 to 48.2 million.",
            ["41 million", "2024", "48.2 million"],
        ),
        ("Its capital is strong (13.1% CET1 ratio at the end of 2024).", ["13.1%", "2024"]),
        ("The market grows from 2025 to 2032.", ["2025 to 2032", "2025 to 2032"]),
    ],
)
def test_a_year_is_not_the_low_end_of_a_range(text: str, figures: list[str]) -> None:
    """Found by an adversarial review: "in 2024 to 86.4%" read as a range of percents from 2024,
    and "(13.1% CET1" as an accounting negative."""
    assert [m.text for m in extract(text)] == figures

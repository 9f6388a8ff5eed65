"""Find the figures in a piece of prose and normalise them, so the validator can compare like with like.

Pure functions only. A figure becomes a :class:`Mention`: its kind (currency, percent, year, ...), its
unit (currency code, period type), its value in base units and the *step* it is displayed at
("$203.9 million" has step 0.1 million). The step is what makes equality precision-aware: a sentence's
figure is backed by a fact's figure when the fact's value rounds to the sentence's value at the
sentence's step, and that rounding moves the value by at most a tolerance (5% of the fact's value,
:data:`ROUNDING_TOLERANCE`), so a coarse step cannot stretch a figure (see :func:`backs`).

What counts as a figure: digits in any common notation; number words that state a quantity (with a
unit such as "percent" or "dollars", a scale word such as "million", or a value of twenty or more:
"two companies" is not a figure, "eighty percent" is); fractions of something ("a third of");
multiplier words (double, triple, halve) and multiples (2.5x, three times); years, dates, quarters,
halves and fiscal periods. Identifiers that contain digits (Form 10-K, S&P 500) are not figures.

Each notation is one entry of :data:`NOTATIONS`: its regex, the reader that turns a match into
figures, and the words or marks a figure of it can begin with. The one regex :func:`extract` runs,
the pre-scan that tells it where to try that regex and the choice of reader are all built from
the table.

To add a notation: write its regex from the building blocks below (``_NUM``, ``_SCALE``, ``_SYM``,
...; its group names unique in the table), a ``_read_...`` function from its match to a list of
``_Figure``, and put one ``Notation(name, regex, reader, words=..., marks=...)`` in ``NOTATIONS``
before any notation it must win over (at one position the first that matches wins). ``words``:
how it can begin where a word begins, lowercase (``r"\\d"`` for a number, ``"q[1-4]"``);
``marks``: a sign, bracket or symbol it can begin with (see :class:`Notation`). Then add its
figures to ``_FIGURES`` and its cases to ``CASES`` in tests/test_numbers.py: the pre-scan tests
fail if ``words`` or ``marks`` miss a way the regex can begin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

Kind = Literal["currency", "percent", "pp", "bp", "multiple", "count", "year", "date", "period"]
TIME_KINDS: tuple[Kind, ...] = ("year", "date", "period")
# How far a figure may round its fact, relative to the fact's value: "$204 million" may stand for
# $203.9 million, "$1 billion" may not stand for $900 million (11%). The one default of the project;
# the gate takes the rounding_tolerance setting.
ROUNDING_TOLERANCE = Decimal("0.05")


def _load_identifiers() -> tuple[str, ...]:
    text = Path(__file__).with_name("identifiers.txt").read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


# Identifiers that contain digits but are not figures, kept as data in identifiers.txt.
DEFAULT_IDENTIFIERS: tuple[str, ...] = _load_identifiers()


@dataclass(frozen=True, slots=True)
class Mention:
    """One figure as written in prose.

    ``value`` is in base units (dollars, percent, a count, a year). For a date it is the integer
    YYYYMMDD (YYYY is 0 when the text gives no year); for a period it is the year the period belongs
    to, and ``unit`` names the period (FY, Q2, H1, M09). ``step`` is the displayed precision in the
    same units; exact kinds (years, dates, periods) have step 0. ``per`` is the currency an amount
    is per, for an exchange rate: "1.08 dollars per euro", "$1.08 per euro" and "USD/EUR 1.08" are
    1.08 with unit USD, per EUR.
    """

    text: str
    start: int
    end: int
    kind: Kind
    value: Decimal
    step: Decimal
    unit: str = ""
    per: str = ""


_SCALES: dict[str, Decimal] = {
    "thousand": Decimal(10**3),
    "k": Decimal(10**3),
    "million": Decimal(10**6),
    "mn": Decimal(10**6),
    "mm": Decimal(10**6),
    "m": Decimal(10**6),  # after a currency amount only (see _CSCALE)
    "billion": Decimal(10**9),
    "bn": Decimal(10**9),
    "b": Decimal(10**9),
    "trillion": Decimal(10**12),
    "tn": Decimal(10**12),
    "t": Decimal(10**12),
}
_SYMBOLS: dict[str, str] = {
    "us$": "USD",
    "$": "USD",
    "c$": "CAD",
    "a$": "AUD",
    "hk$": "HKD",
    "s$": "SGD",
    "nz$": "NZD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₩": "KRW",
}
_CODES = (
    "USD", "EUR", "GBP", "JPY", "KRW", "CNY", "RMB", "CAD", "AUD", "CHF", "HKD", "SGD", "NZD", "INR",
)  # fmt: skip
_CURRENCY_WORDS: dict[str, str] = {
    "dollar": "USD",
    "dollars": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "won": "KRW",
    "yen": "JPY",
    "yuan": "CNY",
    "pounds": "GBP",
}
# The currency an exchange rate is per: "per euro", "to the dollar". Not "per pound" (a weight).
_PER_WORDS: dict[str, str] = {
    "euro": "EUR",
    "yen": "JPY",
    "won": "KRW",
    "yuan": "CNY",
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MULTIPLIER_WORDS: dict[str, Decimal] = {
    "doubl": Decimal(2),
    "tripl": Decimal(3),
    "quadrupl": Decimal(4),
    "halv": Decimal("0.5"),
}
_WORD_VALUES: dict[str, int] = {
    w: i
    for i, w in enumerate(
        [
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
    )
} | {
    w: 10 * i
    for i, w in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_WORD_SCALES: dict[str, int] = {
    "hundred": 100,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_FRACTIONS: dict[str, Decimal] = {
    "half": Decimal(50),
    "third": Decimal(100) / 3,
    "quarter": Decimal(25),
    "fifth": Decimal(20),
    "tenth": Decimal(10),
}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}

# Characters folded before scanning. Each maps to exactly one character, so offsets in the folded
# text are offsets in the original.
_FOLD = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2009": "\u00a0",  # thin space: a thousands separator
        "\u202f": "\u00a0",  # narrow no-break space
        "\uff05": "%",
        "\u2019": "'",
    }
)

_NUM = r"(?:\d{1,3}(?:[,\u00a0]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SCALE = r"(?:thousand|million|billion|trillion|mn|bn|tn|MM|mm|[kKMBT])(?![A-Za-z])"
# After a currency amount a lowercase m is millions too ("US$203.9m", "€45.5m"); after a bare
# count it is not a scale ("5m" may be metres).
_CSCALE = r"(?:thousand|million|billion|trillion|mn|bn|tn|MM|mm|[kKMBTm])(?![A-Za-z])"
_SYM_PREFIXES = ("US", "HK", "NZ", "C", "A", "S")  # before a $: US$, HK$, ...
_SYM = r"(?:(?<!\w)(?:" + "|".join(_SYM_PREFIXES) + r")\$|\$|€|£|¥|₩)"
_CODE = "(?:" + "|".join(_CODES) + ")"
_CURWORD = r"(?:dollars?|euros?|won|yen|yuan|pounds)"
# An exchange rate's second currency, after the amount: "$1.08 per euro", "1,350 won to the dollar".
_PER = r"\s(?:per|to\sthe)\s(?P<{name}>(?:U\.?S\.?\s)?dollar|euro|yen|won|yuan|{code})\b"
_PCT_UNIT = (
    r"(?:%|percentage points?\b|pp(?:ts?)?\b|ppts?\b|percent\b|per cent\b|pct\b"
    r"|basis points?\b|bps\b|bp\b)"
)
_DASH = r"\s?(?:-|to)\s?"
_MONTH_NAMES = (
    "Jan(?:uary)?", "Feb(?:ruary)?", "Mar(?:ch)?", "Apr(?:il)?", "May", "June?", "July?",
    "Aug(?:ust)?", "Sept?(?:ember)?", "Oct(?:ober)?", "Nov(?:ember)?", "Dec(?:ember)?",
)  # fmt: skip
_MONTH = "(?:" + "|".join(_MONTH_NAMES) + ")"
_W_ANY = "(?:" + "|".join(sorted([*_WORD_VALUES, *_WORD_SCALES], key=len, reverse=True)) + ")"
_FRACTION = "half|thirds?|quarters?|fifths?|tenths?"
# A figure must not continue a word ("COVID-19", "A3", "Nd2Fe14B") or a decimal.
_LEFT = r"(?<![\w.])(?<!\w-)"

# "in 2024 to 86.4%": a year is never the low end of a range of percents or counts
_NOT_YEAR_TO = r"(?!(?:19|20)\d\d\s(?:to|-)\s?\d)"

# How figures begin, for the pre-scan (see Notation.words and Notation.marks).
_NUMBER_STARTS = (r"\d",)
_MINUS, _BRACKET, _DECIMAL_POINT = "-", r"\(", r"\.(?=\d)"
_MONTH_WORDS = tuple(name.lower() + r"\.?\s" for name in _MONTH_NAMES)


def _to_decimal(raw: str) -> Decimal:
    return Decimal(raw.replace(",", "").replace("\u00a0", ""))


def _step_of(raw: str) -> Decimal:
    """The displayed precision of a written number: 203.9 -> 0.1, 900 -> 1."""
    cleaned = raw.replace(",", "").replace("\u00a0", "")
    if "." in cleaned:
        return Decimal(1).scaleb(-len(cleaned.split(".", 1)[1]))
    return Decimal(1)


def _scale(word: str | None) -> Decimal:
    return _SCALES[word.lower()] if word else Decimal(1)


def _year(two_or_four: str) -> int:
    year = int(two_or_four)
    return year if len(two_or_four) == 4 else 2000 + year


def _words_value(text: str) -> tuple[int, int] | None:
    """Value of a number-word phrase and its step (the last scale word): 'nine hundred million'."""
    total = current = 0
    last_scale = 1
    tokens = re.split(r"\s+|-|\sand\s", text.lower())
    for token in tokens:
        if not token or token == "and":
            continue
        if token in _WORD_VALUES:
            current += _WORD_VALUES[token]
            last_scale = 1
        elif token == "hundred":
            current = max(current, 1) * 100
            last_scale = 1
        elif token in _WORD_SCALES:
            total += max(current, 1) * _WORD_SCALES[token]
            current = 0
            last_scale = _WORD_SCALES[token]
        else:
            return None
    return total + current, last_scale


def _code(code: str) -> str:
    return "CNY" if code == "RMB" else code


def _per(word: str | None) -> str:
    """The currency code of an exchange rate's "per ..." word, or "" for none."""
    if not word:
        return ""
    lowered = word.lower()
    if lowered.endswith("dollar"):
        return "USD"
    return _PER_WORDS.get(lowered) or _code(word.upper())


def _unit_kind(word: str) -> Kind:
    word = word.lower()
    if word.startswith(("percentage", "pp")):
        return "pp"
    if word.startswith("b"):
        return "bp"
    return "percent"


class _Figure(NamedTuple):
    """What a reader makes of a match; extract adds where it stands to make a Mention."""

    kind: Kind
    value: Decimal
    step: Decimal
    unit: str = ""
    per: str = ""


_EXACT = Decimal(0)  # the step of a year, date or period


def _amounts(
    kind: Kind, numbers: Iterable[tuple[str, str | None]], unit: str = ""
) -> list[_Figure]:
    """Written numbers, each with its scale word, as figures in base units."""
    return [
        _Figure(kind, _to_decimal(n) * _scale(sc), _step_of(n) * _scale(sc), unit)
        for n, sc in numbers
    ]


# --- the notations: one reader per regex; NOTATIONS below pairs them ----------------------------
# A reader takes the match of its notation's regex (only its own groups are set) and returns its
# figures; it may raise ValueError, KeyError or InvalidOperation for a match that is no figure.


def _read_between(g: re.Match[str]) -> list[_Figure]:
    sym = g["bsym"] or g["bsym2"]
    numbers = [(g["bn1"], g["bsc1"] or g["bsc2"]), (g["bn2"], g["bsc2"] or g["bsc1"])]
    if sym or g["bcur"]:
        if sym:
            unit = _SYMBOLS[sym.lower()]
        else:
            word = g["bcur"].lower()
            unit = _CURRENCY_WORDS.get(word, word.upper())
        return _amounts("currency", numbers, unit)
    if g["bunit"] or g["bp1"]:
        kind = _unit_kind(g["bunit"] or "%")
        return [_Figure(kind, _to_decimal(n), _step_of(n)) for n, _ in numbers]
    if not (g["bsc1"] or g["bsc2"]) and all(re.fullmatch(r"(?:19|20)\d{2}", n) for n, _ in numbers):
        return [_Figure("year", Decimal(n), _EXACT) for n, _ in numbers]
    return _amounts("count", numbers)


def _read_date(g: re.Match[str]) -> list[_Figure]:
    if g["mon"]:
        month, day = _MONTHS[g["mon"].lower()], int(g["day"])
        year = int(g["dy"]) if g["dy"] else 0
    elif g["mon2"]:
        month, day, year = _MONTHS[g["mon2"].lower()], int(g["day2"]), int(g["dy2"])
    else:
        year, month, day = int(g["iy"]), int(g["im"]), int(g["id"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return []
    return [_Figure("date", Decimal(year * 10000 + month * 100 + day), _EXACT)]


def _read_period(g: re.Match[str]) -> list[_Figure]:
    if g["q"]:
        unit = g["q"].upper() + ("FY" if g["qfy"] else "")
        return [_Figure("period", Decimal(_year(g["qy"])), _EXACT, unit)]
    if g["q2"]:
        return [_Figure("period", Decimal(_year(g["q2y"])), _EXACT, f"{g['q2k']}{g['q2']}")]
    if g["ord"]:
        number = _ORDINALS[g["ord"]]
        part = "Q" if g["part"] == "quarter" else "H"
        if part == "H" and number > 2:
            return []
        return [_Figure("period", Decimal(int(g["oy"])), _EXACT, f"{part}{number}")]
    if g["mon3"]:
        month = _MONTHS[g["mon3"].lower()]
        return [_Figure("period", Decimal(int(g["my"])), _EXACT, f"M{month:02d}")]
    return [_Figure("period", Decimal(_year(g["fy"] or g["fy2"])), _EXACT, "FY")]


def _read_prefixed_year(g: re.Match[str]) -> list[_Figure]:
    return [_Figure("year", Decimal(int(g["py"])), _EXACT)]


def _read_currency(g: re.Match[str]) -> list[_Figure]:
    if g["pair"]:  # USD/EUR 1.08: dollars per euro
        unit, per = _code(g["pair"]), _code(g["pair2"])
    else:
        sym = g["sym"].strip().lower()
        unit, per = _code(_SYMBOLS.get(sym, sym.upper())), _per(g["cper"])
    negative = bool(g["cneg"] or g["cparen"])
    scale2 = _scale(g["cscale2"]) if g["cscale2"] else None
    scale1 = _scale(g["cscale"]) if g["cscale"] else (scale2 or Decimal(1))
    values = [(g["cnum"], scale1)]
    if g["cnum2"]:
        values.append((g["cnum2"], scale2 or scale1))
    sign = -1 if negative else 1
    return [
        _Figure("currency", sign * _to_decimal(num) * scale, _step_of(num) * scale, unit, per)
        for num, scale in values
    ]


def _read_percent(g: re.Match[str]) -> list[_Figure]:
    kind = _unit_kind(g["punit"])
    sign = -1 if g["pneg"] else 1
    out = [_Figure(kind, sign * _to_decimal(g["pnum"]), _step_of(g["pnum"]))]
    if g["pnum2"]:
        second = g["pnum2"]
        out.append(_Figure(kind, _to_decimal(second), _step_of(second.lstrip("-"))))
    return out


def _read_multiple(g: re.Match[str]) -> list[_Figure]:
    return [_Figure("multiple", _to_decimal(g["mnum"]), _step_of(g["mnum"]))]


def _read_multiplier_word(g: re.Match[str]) -> list[_Figure]:
    return [_Figure("multiple", _MULTIPLIER_WORDS[g["mw"].lower()], _EXACT)]


def _read_fraction(g: re.Match[str]) -> list[_Figure]:
    counter = g["fn"] or g["fn2"]
    count = {"a": 1, "one": 1, "two": 2, "three": 3, None: 1}[counter and counter.lower()]
    word = (g["fw"] or g["fw2"]).lower().rstrip("s")
    return [_Figure("percent", _FRACTIONS[word] * count, Decimal(1))]


def _read_number_words(g: re.Match[str]) -> list[_Figure]:
    parsed = _words_value(g["wtext"])
    if parsed is None:
        return []
    value, step = Decimal(parsed[0]), Decimal(parsed[1])
    unit_word = (g["wunit"] or "").lower()
    if not unit_word:
        # Small number words without a unit ("two companies") are prose, not figures.
        if value < 20 and step == 1:
            return []
        return [_Figure("count", value, step)]
    if unit_word == "times":
        return [_Figure("multiple", value, step)]
    if unit_word in _CURRENCY_WORDS:
        return [_Figure("currency", value, step, _CURRENCY_WORDS[unit_word])]
    return [_Figure(_unit_kind(unit_word), value, step)]


def _read_year_span(g: re.Match[str]) -> list[_Figure]:
    y1, y2raw = int(g["y1"]), g["y2"]
    y2 = int(y2raw) if len(y2raw) == 4 else (y1 // 100) * 100 + int(y2raw)
    if y2 <= y1:
        return []
    return [_Figure("year", Decimal(y1), _EXACT), _Figure("year", Decimal(y2), _EXACT)]


def _read_currency_word(g: re.Match[str]) -> list[_Figure]:
    word = g["wcur"].lower()
    unit = _code(_CURRENCY_WORDS.get(word, word.upper()))
    scale = _scale(g["wscale"])
    amount, shown = _to_decimal(g["wnum"]) * scale, _step_of(g["wnum"]) * scale
    return [_Figure("currency", amount, shown, unit, _per(g["wper"]))]


def _read_year(g: re.Match[str]) -> list[_Figure]:
    return [_Figure("year", Decimal(int(g["yy"])), _EXACT)]


def _read_count(g: re.Match[str]) -> list[_Figure]:
    # "(12.3)" is an accounting negative; "(12.3 tonnes" only opens a bracket
    negative = bool(g["nneg"]) and (g["nneg"] != "(" or g[0].endswith(")"))
    scale = _scale(g["nscale"])
    sign = -1 if negative else 1
    out = [_Figure("count", sign * _to_decimal(g["nnum"]) * scale, _step_of(g["nnum"]) * scale)]
    if g["nnum2"]:
        out += _amounts("count", [(g["nnum2"], g["nscale"])])
    return out


@dataclass(frozen=True, slots=True)
class Notation:
    """One way of writing figures.

    ``pattern`` is its regex (its group names unique in the table; the whole is wrapped in a group
    called ``name``); ``read`` turns a match into figures. ``words`` and ``marks`` say where a
    figure of it can begin, for the pre-scan that decides where the regex is tried: ``words`` are
    lowercase regexes matched case-insensitively where a word begins (``\\d`` for a number; each
    a word or a sequence, no top-level ``|``), ``marks`` regexes for a single character that is not
    a letter or digit (a sign, a bracket, a symbol), with any lookahead after it.
    """

    name: str
    pattern: str
    read: Callable[[re.Match[str]], list[_Figure]]
    words: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()


# Every notation, in the order they are tried: at one position the first that matches wins.
NOTATIONS: tuple[Notation, ...] = (
    Notation(
        # between 1 and 2 billion / between $1bn and $2bn / between 20% and 30%
        "btw",
        rf"\b[Bb]etween\s(?P<bsym>{_SYM})?(?P<bn1>{_NUM})"
        rf"(?:\s?(?P<bsc1>(?(bsym){_CSCALE}|{_SCALE})))?"
        rf"(?P<bp1>\s?%)?\sand\s(?P<bsym2>{_SYM})?(?P<bn2>{_NUM})"
        rf"(?:\s?(?P<bsc2>(?(bsym){_CSCALE}|(?(bsym2){_CSCALE}|{_SCALE}))))?"
        rf"(?:\s?(?P<bunit>{_PCT_UNIT}))?(?:\s(?P<bcur>{_CURWORD}|{_CODE})\b)?(?![\w])",
        _read_between,
        words=(r"between\s",),
    ),
    Notation(
        # dates: September 24, 2025 / Sept. 24 2025 / 24 September 2025 / 2025-09-24 / June 30
        "date",
        rf"\b(?P<mon>{_MONTH})\.?\s(?P<day>\d{{1,2}})(?:,?\s(?P<dy>\d{{4}}))?(?![\w,.]?\d)"
        rf"|\b(?P<day2>\d{{1,2}})\s(?P<mon2>{_MONTH})\.?,?\s(?P<dy2>\d{{4}})\b"
        r"|\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b",
        _read_date,
        words=(*_MONTH_WORDS, *_NUMBER_STARTS),
    ),
    Notation(
        # periods: Q2 2025, Q2 FY2025, 2Q25, H1 2025, 1H25, FY2024, FY24, fiscal (year) 2024,
        # the second quarter of 2025, the first half of 2025, September 2025
        "period",
        r"\b(?P<q>Q[1-4]|H[12])\s?(?P<qfy>FY\s?)?'?(?P<qy>\d{4}|\d{2})\b"
        r"|\b(?P<q2>[1-4])(?P<q2k>[QH])\s?'?(?P<q2y>\d{4}|\d{2})\b"
        r"|\bFY\s?'?(?P<fy>\d{4}|\d{2})\b"
        r"|\b[Ff]iscal\s(?:[Yy]ear\s)?(?P<fy2>\d{4})\b"
        r"|\b(?P<ord>first|second|third|fourth)\s(?P<part>quarter|half)\s(?:of\s)?(?P<oy>\d{4})\b"
        rf"|\b(?P<mon3>{_MONTH})\.?\s(?P<my>\d{{4}})\b",
        _read_period,
        words=(
            r"q[1-4]",
            r"h[12]",
            "fy",
            r"fiscal\s",
            *(rf"{ordinal}\s(?:quarter|half)\s" for ordinal in _ORDINALS),
            *_MONTH_WORDS,
            *_NUMBER_STARTS,
        ),
    ),
    Notation(
        # years after a prefix: mid-2025, late-2026
        "pyear",
        r"\b(?i:mid|early|late|pre|post|end)-(?P<py>(?:19|20)\d{2})\b",
        _read_prefixed_year,
        words=("mid-", "early-", "late-", "pre-", "post-", "end-"),
    ),
    Notation(
        # currency by symbol or code in front: $900 million, US$1-2bn, KRW 5 trillion, ($12.3M),
        # HK$12.5bn, S$900k, €45.5m; and exchange rates: USD/EUR 1.08, $1.08 per euro
        "cur",
        rf"(?P<cneg>-|\()?(?P<sym>{_SYM}|\b(?P<pair>{_CODE})/(?P<pair2>{_CODE})\s?"
        rf"|\b{_CODE}\s?)(?P<cparen>\()?(?P<cnum>{_NUM})\)?(?:\s?(?P<cscale>{_CSCALE}))?"
        rf"(?:{_DASH}(?:{_SYM})?(?P<cnum2>{_NUM})(?:\s?(?P<cscale2>{_CSCALE}))?)?\)?"
        rf"(?:{_PER.format(name='cper', code=_CODE)})?",
        _read_currency,
        words=(
            *(prefix.lower() + r"\$" for prefix in _SYM_PREFIXES),
            *(code.lower() + "(?![a-z])" for code in _CODES),
        ),
        marks=(_MINUS, _BRACKET, "[$€£¥₩]"),
    ),
    Notation(
        # percent, percentage points, basis points (and ranges of them): 20-30%, 1.5 pp, 25 bps
        "pct",
        rf"{_LEFT}(?P<pneg>-)?{_NOT_YEAR_TO}(?P<pnum>{_NUM})(?:\s?%)?"
        rf"(?:{_DASH}(?P<pnum2>-?{_NUM}))?\s?(?P<punit>{_PCT_UNIT})",
        _read_percent,
        words=_NUMBER_STARTS,
        marks=(_MINUS, _DECIMAL_POINT),
    ),
    Notation(
        # multiples: 2.5x, 3×, 3 times
        "mult",
        rf"{_LEFT}(?P<mnum>{_NUM})\s?(?:x|×|\stimes\b)(?![\w])",
        _read_multiple,
        words=_NUMBER_STARTS,
        marks=(_DECIMAL_POINT,),
    ),
    Notation(
        # multiplier words: doubled, tripling, halves
        "mword",
        rf"\b(?i:(?P<mw>{'|'.join(_MULTIPLIER_WORDS)})(?:e|ed|es|ing))\b",
        _read_multiplier_word,
        words=tuple(_MULTIPLIER_WORDS),
    ),
    Notation(
        # fractions of something: a third of, two thirds of, half of, a quarter of; by half
        "frac",
        rf"\b(?i:(?P<fn>a|one|two|three)\s)?(?i:(?P<fw>{_FRACTION}))\sof\b"
        rf"|\b[Bb]y\s(?i:(?P<fn2>a|one|two|three)\s)?(?i:(?P<fw2>{_FRACTION}))\b",
        _read_fraction,
        words=(
            *(rf"{counter}\s(?:{_FRACTION})" for counter in ("a", "one", "two", "three")),
            *(rf"{fraction}\s" for fraction in _FRACTION.split("|")),
            r"by\s",
        ),
    ),
    Notation(
        # number words: eighty percent, three hundred percent, nine hundred million dollars
        "words",
        rf"\b(?i:(?P<wa>a\s)?(?P<wtext>{_W_ANY}(?:(?:\s|-|\sand\s){_W_ANY})*))(?![\w-])"
        rf"(?:\s(?P<wunit>(?i:{_PCT_UNIT}|{_CURWORD}\b|times\b)))?",
        _read_number_words,
        words=(rf"a\s{_W_ANY}", *(rf"{word}\b" for word in [*_WORD_VALUES, *_WORD_SCALES])),
    ),
    Notation(
        # year spans: 2025-2032, 2025-32, 2025 to 2032, 2025 through 2032
        "yspan",
        rf"{_LEFT}(?P<y1>(?:19|20)\d{{2}})\s?(?:-|to|through)\s?"
        rf"(?P<y2>(?:19|20)\d{{2}}|\d{{2}})(?![\w%]|[.,]\d|\s?{_SCALE})",
        _read_year_span,
        words=_NUMBER_STARTS,
    ),
    Notation(
        # amounts with a currency word or code after: 900 million dollars, 5 trillion won,
        # 1.08 dollars per euro
        "curw",
        rf"{_LEFT}(?P<wnum>{_NUM})(?:\s?(?P<wscale>{_SCALE}))?\s"
        rf"(?P<wcur>{_CURWORD}|{_CODE})\b(?:{_PER.format(name='wper', code=_CODE)})?",
        _read_currency_word,
        words=_NUMBER_STARTS,
        marks=(_DECIMAL_POINT,),
    ),
    Notation(
        # years on their own
        "year",
        rf"{_LEFT}(?P<yy>(?:19|20)\d{{2}})(?![\w%,.]\d|[\w%])",
        _read_year,
        words=_NUMBER_STARTS,
    ),
    Notation(
        # plain and scaled counts (and ranges): 3.85 million, 3.85M, 10,655, (12.3), 1-2 million
        "cnt",
        rf"(?P<nneg>{_LEFT}-|\((?!{_NUM}\s?%))?{_LEFT}{_NOT_YEAR_TO}(?P<nnum>{_NUM})"
        rf"(?:{_DASH}(?P<nnum2>{_NUM}))?(?:\s?(?P<nscale>{_SCALE}))?\)?(?![\w])",
        _read_count,
        words=_NUMBER_STARTS,
        marks=(_MINUS, _BRACKET, _DECIMAL_POINT),
    ),
)

# Built from the table: the one regex (each notation a named group, so a match's lastgroup names
# its reader), and the pre-scan for where a figure can begin.
_PATTERN = re.compile("|".join(f"(?P<{n.name}>{n.pattern})" for n in NOTATIONS))
_READERS: dict[str | None, Callable[[re.Match[str]], list[_Figure]]] = {
    n.name: n.read for n in NOTATIONS
}


def _by_first_letter(pieces: Iterable[str]) -> str:
    """An alternation of regex pieces grouped by their first letter ("a(?:pr|ug)|b(?:y|etween)"),
    so a regex tries about 26 branches where a word begins, not every piece (the pre-scan runs
    at every word). A piece that does not begin with a letter stays whole, in front."""
    groups: dict[str, list[str]] = {}
    whole: list[str] = []
    for piece in dict.fromkeys(pieces):
        if piece[0].isalpha():
            groups.setdefault(piece[0], []).append(piece[1:])
        else:
            whole.append(piece)
    return "|".join(
        [*whole, *(first + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())]
    )


_WORDS = _by_first_letter(w for n in NOTATIONS for w in n.words)
_MARKS = "|".join(dict.fromkeys(m for n in NOTATIONS for m in n.marks))
# After a character that is not a word character: is it a mark, and does a word begin after it?
# A regex that begins with a character class lets the engine skip to those characters quickly.
_AFTER_NON_WORD = (
    rf"[^\w](?:(?P<mark>(?<={_MARKS}))(?P<after>(?={_WORDS}))?|(?P<word>(?={_WORDS})))"
)
# On ASCII text the pre-scan runs on the text lowercased, which is exactly case-insensitive there
# and twice as fast; other text takes the case-insensitive regex.
_PRESCAN = re.compile(_AFTER_NON_WORD)


@lru_cache(maxsize=1)
def _prescan_any_case() -> re.Pattern[str]:
    """The pre-scan for text that is not ASCII, compiled when first needed: a case-insensitive
    regex takes several times as long to compile (17 ms), and most text is ASCII."""
    return re.compile(_AFTER_NON_WORD, re.I)


def _starts(scan: str) -> Iterator[int]:
    """Every place in ``scan`` where a figure can begin, in order: a mark, or a word that begins
    like a figure of some notation. More places than figures; the regex decides."""
    if scan.isascii():
        prescan, text = _PRESCAN, scan.lower()
    else:
        prescan, text = _prescan_any_case(), scan
    # After a space put in front, so a word at the start follows a non-word character too: the
    # character each match consumes is at found.start() - 1 in scan, the word after it at start().
    for found in prescan.finditer(" " + text):
        kind = found.lastgroup
        if kind != "word":  # a mark
            yield found.start() - 1
        if kind != "mark":  # a word after the character
            yield found.start()


_DIGIT = re.compile(r"\d")
_REFERENCE_MARKER = re.compile(r"\[(?:F|S)?\d+(?:\s*[,;-]\s*(?:F|S)?\d+)*\]")


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


@lru_cache(maxsize=64)
def _identifier_pattern(identifiers: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for reference markers and identifiers, whole words only ("8-K" is not in "18-K")."""
    names = sorted({i.strip() for i in identifiers if i.strip()}, key=len, reverse=True)
    alternatives = [_REFERENCE_MARKER.pattern]
    if not names:
        return re.compile(alternatives[0])
    if not all(name[0].isascii() for name in names):
        words = "|".join(map(re.escape, names))
        alternatives.append(r"(?<![A-Za-z0-9])(?i:" + words + r")(?![A-Za-z0-9])")
        return re.compile("|".join(alternatives))
    # The same matches three times as fast: names grouped by first character (each ASCII
    # character is a case-insensitive class of its own; longest first within a group, as above),
    # and a character class in front that rules out most places at once.
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name[0].lower(), []).append(name)
    words = "|".join(
        re.escape(first) + "(?:" + "|".join(re.escape(n[1:]) for n in group) + ")"
        for first, group in groups.items()
    )
    alternatives.append(r"(?<![A-Za-z0-9])(?i:" + words + r")(?![A-Za-z0-9])")
    first = r"(?i:(?=[\[" + "".join(map(re.escape, groups)) + "]))"
    return re.compile(first + "(?:" + "|".join(alternatives) + ")")


def extract(text: str, identifiers: Sequence[str] = DEFAULT_IDENTIFIERS) -> list[Mention]:
    """Every figure in ``text``, in order. Never raises on any input string.

    Equivalent to ``_PATTERN.finditer`` over the text with identifiers masked, but it tries the
    big pattern only where a figure can begin (:func:`_starts`), which is several times faster:
    the validator runs this on every sentence and every fact.
    """
    folded = text if text.isascii() else text.translate(_FOLD)
    scan = folded
    if _DIGIT.search(folded) is not None:  # identifiers without a digit cannot hide a figure
        spans = [m.span() for m in _identifier_pattern(tuple(identifiers)).finditer(folded)]
        if spans:
            scan = _mask(folded, spans)
    mentions: list[Mention] = []
    pos = 0
    for start in _starts(scan):
        if start < pos:
            continue
        match = _PATTERN.match(scan, start)
        if match is None:
            continue
        pos = end = match.end()
        try:
            figures = _READERS[match.lastgroup](match)
        except (InvalidOperation, ValueError, KeyError, OverflowError):
            # A pattern matched something that does not parse as a figure (e.g. month 13): skip it.
            continue
        raw = text[start:end].strip()
        mentions.extend(Mention(raw, start, end, *figure) for figure in figures)
    return mentions


def _backs_time(fact: Mention, said: Mention) -> bool:
    fact_year = fact.value // 10000 if fact.kind == "date" else fact.value
    if said.kind == "year":
        return fact_year == said.value and fact_year != 0
    if said.kind == "period":
        if fact.kind == "period":
            return fact.unit == said.unit and fact.value == said.value
        if fact.kind == "date" and said.unit.startswith("M"):
            return fact_year == said.value and (fact.value // 100) % 100 == int(said.unit[1:])
        return False
    if said.kind == "date" and fact.kind == "date":
        if said.value < 10000:  # "June 30" with no year: month and day must agree
            return fact.value % 10000 == said.value
        return fact.value == said.value
    return False


def value_in_unit_of(fact: Mention, said: Mention) -> Decimal | None:
    """The fact's value in the sentence's unit (percentage points and basis points convert), or
    None when the two are not the same measure."""
    if {fact.kind, said.kind} == {"pp", "bp"}:
        # The one unit conversion analysts do in their heads: 1 percentage point = 100 bp.
        return fact.value * 100 if said.kind == "bp" else fact.value / 100
    if fact.kind != said.kind or fact.unit != said.unit or (said.per and fact.per != said.per):
        return None
    return fact.value


def rounds_to(fact: Mention, said: Mention) -> bool:
    """The rounding half of :func:`backs`: same measure, and the fact's value rounded to the
    sentence's displayed step is the sentence's value (no limit on how far that rounding goes)."""
    if said.kind in TIME_KINDS:
        return fact.kind in TIME_KINDS and _backs_time(fact, said)
    value = value_in_unit_of(fact, said)
    if value is None:
        return False
    if said.step == 0:
        return value == said.value
    return abs(value - said.value) * 2 <= rounding_step(said)


def rounding_step(said: Mention) -> Decimal:
    """The step a sentence's figure may round its fact to: its displayed step, and for a whole
    number its trailing zeros too ("about $400 million" may round $412 million; the rounding
    limit keeps it within ROUNDING_TOLERANCE of the fact)."""
    if said.step == 0:
        return said.step
    units = said.value / said.step
    if units != units.to_integral_value() or units == 0:
        return said.step
    digits = str(abs(int(units)))
    return said.step.scaleb(len(digits) - len(digits.rstrip("0")))


def rounding_error(fact: Mention, said: Mention) -> Decimal:
    """How far the sentence's value is from the fact's, relative to the fact's: |said - fact| /
    |fact|. Zero for exact kinds; infinite when the fact is zero and the sentence is not."""
    if said.kind in TIME_KINDS:
        return Decimal(0)
    value = value_in_unit_of(fact, said)
    if value is None:
        return Decimal("Infinity")
    if value == 0:
        return Decimal(0) if said.value == 0 else Decimal("Infinity")
    return abs(said.value - value) / abs(value)


def backs(fact: Mention, said: Mention, *, tolerance: Decimal = ROUNDING_TOLERANCE) -> bool:
    """Does the fact's figure back the figure a sentence says?

    Same kind and unit; the fact's value rounded to the sentence's displayed step equals the
    sentence's value; and the sentence's value is within ``tolerance`` of the fact's, relative to
    the fact's (so "$1 billion" does not back "$900 million", though it rounds to it). For time: a
    date backs its year (and month); a period backs its year.
    """
    if not rounds_to(fact, said):
        return False
    if said.kind in TIME_KINDS or said.step == 0:
        return True
    value = value_in_unit_of(fact, said)
    return value is not None and abs(value - said.value) <= tolerance * abs(value)


_CONVERTIBLE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(TIME_KINDS, TIME_KINDS),  # a date backs its year, a period its year
    "pp": ("pp", "bp"),
    "bp": ("pp", "bp"),
}


def backing(
    facts: Sequence[Mention], said: Mention, *, tolerance: Decimal = ROUNDING_TOLERANCE
) -> tuple[bool, ...]:
    """``backs(fact, said)`` for each of ``facts``, with what depends only on ``said`` (the kinds
    that can back it, its rounding step) worked out once: the gate asks this of every figure of
    every cited fact for every figure of a sentence."""
    kinds = _CONVERTIBLE.get(said.kind, (said.kind,))
    if said.kind in TIME_KINDS:
        return tuple([m.kind in kinds and _backs_time(m, said) for m in facts])
    flags: list[bool] = []
    value, step = said.value, said.step
    reach: Decimal | None = None  # rounding_step(said), once a fact figure is comparable
    for m in facts:
        fact = value_in_unit_of(m, said) if m.kind in kinds else None
        if fact is None:
            flags.append(False)
        elif step == 0:
            flags.append(fact == value)
        else:
            if reach is None:
                reach = rounding_step(said)
            off = abs(fact - value)
            flags.append(off * 2 <= reach and off <= tolerance * abs(fact))
    return tuple(flags)


def same_measure(fact: Mention, said: Mention) -> bool:
    """Same kind and unit (and, when the sentence states an exchange rate, the same rate): the
    pair is comparable even when the values differ."""
    return (
        fact.kind == said.kind and fact.unit == said.unit and (not said.per or fact.per == said.per)
    )


_NUMBER_IN_TEXT = re.compile(_NUM)


def rewrite(said: Mention, value: Decimal, tolerance: Decimal = ROUNDING_TOLERANCE) -> str | None:
    """The sentence's figure in its own notation (symbol, scale word) restated for ``value`` (in
    the figure's unit) at the coarsest precision that is within ``tolerance`` of it: "$1 billion"
    for $900 million gives "$0.9 billion". None for a figure written in words, a range, or zero."""
    numbers = list(_NUMBER_IN_TEXT.finditer(said.text))
    if len(numbers) != 1 or value == 0:
        return None
    token = numbers[0]
    written = _to_decimal(token.group())
    if written == 0 or said.value == 0:
        return None
    scale = said.value / written
    target = value / scale
    for places in range(7):
        shown = target.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if abs(shown * scale - value) <= tolerance * abs(value):
            grouped = "," in token.group() or "\u00a0" in token.group()
            number = f"{shown:,f}" if grouped else f"{shown:f}"
            return said.text[: token.start()] + number + said.text[token.end() :]
    return None


def percent_text(ratio: Decimal, above: Decimal = Decimal(0)) -> str:
    """A ratio as a percent, to as few decimals as show it is over ``above``: 0.111 -> "11%",
    0.0526 over 0.05 -> "5.3%"."""
    percent = ratio * 100
    shown = percent
    for places in range(4):
        shown = percent.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if shown > above * 100:
            break
    return f"{shown.normalize():f}%"

"""Find the figures in a piece of prose and normalise them, so the validator can compare like with like.

Pure functions only. A figure becomes a :class:`Mention`: its kind (currency, percent, year, ...), its
unit (currency code, period type), its value in base units and the *step* it is displayed at
("$203.9 million" has step 0.1 million). The step is what makes equality precision-aware: a sentence's
figure is backed by a fact's figure when the fact's value rounds to the sentence's value at the
sentence's step (see :func:`backs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

Kind = Literal["currency", "percent", "pp", "bp", "multiple", "count", "year", "date", "period"]

# Identifiers that contain digits but are not figures. Kept as data so a user can extend it
# (``identifiers`` in a bundle, or the ``allowlist`` argument); matched case-insensitively.
DEFAULT_IDENTIFIERS: tuple[str, ...] = (
    "Form 10-K",
    "Form 10-Q",
    "Form 8-K",
    "Form 20-F",
    "Form 6-K",
    "Form S-1",
    "Form S-3",
    "10-K",
    "10-Q",
    "8-K",
    "20-F",
    "6-K",
    "S&P 500",
    "Russell 2000",
    "Russell 3000",
    "Section 45X",
    "Section 48C",
    "Section 232",
    "Section 301",
    "Rule 144",
    "Regulation S-K",
    "COVID-19",
    "Scope 1",
    "Scope 2",
    "Scope 3",
)


@dataclass(frozen=True, slots=True)
class Mention:
    """One figure as written in prose.

    ``value`` is in base units (dollars, percent points of a percentage, a count, a year); for a date it
    is the integer YYYYMMDD, for a period the year it belongs to. ``step`` is the displayed precision in
    the same units; exact kinds (years, dates, periods) have step 0.
    """

    text: str
    start: int
    end: int
    kind: Kind
    value: Decimal
    step: Decimal
    unit: str = ""

    def describe(self) -> str:
        return self.text


_SCALES: dict[str, Decimal] = {
    "thousand": Decimal(10**3),
    "k": Decimal(10**3),
    "million": Decimal(10**6),
    "mn": Decimal(10**6),
    "mm": Decimal(10**6),
    "m": Decimal(10**6),
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
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₩": "KRW",
}
_CODES = ("USD", "EUR", "GBP", "JPY", "KRW", "CNY", "RMB", "CAD", "AUD", "CHF")
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
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
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
        ]
    )
    for m in names
}
_MULTIPLIER_WORDS: dict[str, Decimal] = {
    "doubl": Decimal(2),
    "tripl": Decimal(3),
    "quadrupl": Decimal(4),
    "halv": Decimal("0.5"),
}

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
    }
)

_NUM = r"(?:\d{1,3}(?:[,\u00a0]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SCALE = r"(?:thousand|million|billion|trillion|mn|bn|tn|MM|mm|[kKMBT])(?![A-Za-z])"
_SYM = r"(?:US\$|C\$|A\$|\$|€|£|¥|₩)"
_CODE = "(?:" + "|".join(_CODES) + ")"
_CURWORD = r"(?:dollars?|euros?|won|yen|yuan|pounds)"
_DASH = r"\s?(?:-|to)\s?"
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# A figure must not continue a word ("COVID-19", "A3", "Nd2Fe14B") or a decimal.
_LEFT = r"(?<![\w.])(?<!\w-)"

_PATTERN = re.compile(
    "|".join(
        [
            # dates: September 24, 2025 / Sept. 24 2025 / 2025-09-24
            rf"(?P<date>\b(?P<mon>{_MONTH})\.?\s(?P<day>\d{{1,2}}),?\s(?P<dy>\d{{4}})\b"
            r"|\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b)",
            # periods: Q2 2025, Q2 FY2025, 2Q25, H1 2025, FY2024, FY24, fiscal 2024, fiscal year 2024
            r"(?P<period>\b(?P<q>Q[1-4]|H[12])\s?(?P<qfy>FY\s?)?'?(?P<qy>\d{4}|\d{2})\b"
            r"|\b(?P<q2>[1-4])Q\s?'?(?P<q2y>\d{4}|\d{2})\b"
            r"|\bFY\s?'?(?P<fy>\d{4}|\d{2})\b"
            r"|\b[Ff]iscal\s(?:[Yy]ear\s)?(?P<fy2>\d{4})\b)",
            # currency by symbol or code in front: $900 million, US$1-2bn, KRW 5 trillion, ($12.3M)
            rf"(?P<cur>(?P<cneg>-|\()?(?P<sym>{_SYM}|\b{_CODE}\s?)"
            rf"(?P<cnum>{_NUM})(?:\s?(?P<cscale>{_SCALE}))?"
            rf"(?:{_DASH}(?:{_SYM})?(?P<cnum2>{_NUM})(?:\s?(?P<cscale2>{_SCALE}))?)?\)?)",
            # percent, percentage points, basis points (and ranges of them): 20-30%, 1.5 pp, 25 bps
            rf"(?P<pct>{_LEFT}(?P<pneg>-)?(?P<pnum>{_NUM})(?:\s?%)?"
            rf"(?:{_DASH}(?P<pnum2>-?{_NUM}))?\s?"
            r"(?P<punit>%|percentage points?|pp(?:ts?)?\b|ppts?\b|percent\b|per cent\b"
            r"|basis points?|bps\b|bp\b))",
            # multiples: 2.5x, 3×
            rf"(?P<mult>{_LEFT}(?P<mnum>{_NUM})\s?(?:x|×)(?![\w]))",
            # multiplier words
            r"(?P<mword>\b(?P<mw>doubl|tripl|quadrupl|halv)(?:e|ed|es|ing)\b)",
            # year spans: 2025-2032, 2025-32, 2025 to 2032, between 2025 and 2032
            rf"(?P<yspan>{_LEFT}(?P<y1>(?:19|20)\d{{2}})\s?(?:-|to|through)\s?"
            r"(?P<y2>(?:19|20)\d{2}|\d{2})(?![\w%]))",
            # amounts with a currency word or code after: 900 million dollars, 5 trillion won
            rf"(?P<curw>{_LEFT}(?P<wnum>{_NUM})(?:\s?(?P<wscale>{_SCALE}))?\s"
            rf"(?P<wcur>{_CURWORD}|{_CODE})\b)",
            # years on their own
            rf"(?P<year>{_LEFT}(?P<yy>(?:19|20)\d{{2}})(?![\w%,.]\d|[\w%]))",
            # plain and scaled counts (and ranges): 3.85 million, 3.85M, 10,655, (12.3), 1-2 million
            rf"(?P<cnt>(?P<nneg>{_LEFT}-|\()?{_LEFT}(?P<nnum>{_NUM})"
            rf"(?:{_DASH}(?P<nnum2>{_NUM}))?(?:\s?(?P<nscale>{_SCALE}))?\)?(?![\w]))",
        ]
    )
)

_REFERENCE_MARKER = re.compile(r"\[(?:F|S)?\d+(?:\s*[,;-]\s*(?:F|S)?\d+)*\]")


def _to_decimal(raw: str) -> Decimal:
    return Decimal(raw.replace(",", "").replace("\u00a0", ""))


def _step_of(raw: str) -> Decimal:
    """The displayed precision of a written number: 203.9 -> 0.1, 900 -> 1."""
    cleaned = raw.replace(",", "").replace("\u00a0", "")
    if "." in cleaned:
        return Decimal(1).scaleb(-len(cleaned.split(".", 1)[1]))
    return Decimal(1)


def _scale(word: str | None) -> Decimal:
    if not word:
        return Decimal(1)
    # "M" and "MM" mean million; "m" alone is accepted as million in amounts too.
    return _SCALES[word.lower()]


def _year(two_or_four: str) -> int:
    year = int(two_or_four)
    return year if len(two_or_four) == 4 else 2000 + year


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _identifier_spans(text: str, identifiers: Sequence[str]) -> Iterator[tuple[int, int]]:
    for match in _REFERENCE_MARKER.finditer(text):
        yield match.span()
    lowered = text.lower()
    for ident in identifiers:
        needle = ident.lower()
        if not needle:
            continue
        pos = lowered.find(needle)
        while pos != -1:
            end = pos + len(needle)
            # whole words only: "8-K" must not eat the "8" of "18-K"
            before_ok = pos == 0 or not lowered[pos - 1].isalnum()
            after_ok = end == len(lowered) or not lowered[end].isalnum()
            if before_ok and after_ok:
                yield pos, end
            pos = lowered.find(needle, pos + 1)


def extract(text: str, identifiers: Sequence[str] = DEFAULT_IDENTIFIERS) -> list[Mention]:
    """Every figure in ``text``, in order. Never raises on any input string."""
    folded = text.translate(_FOLD)
    scan = _mask(folded, _identifier_spans(folded, identifiers))
    mentions: list[Mention] = []
    for match in _PATTERN.finditer(scan):
        try:
            mentions.extend(_mentions_of(match, text))
        except (InvalidOperation, ValueError, KeyError):
            # A pattern matched something that does not parse as a figure (e.g. month 13): skip it.
            continue
    return mentions


def _mentions_of(m: re.Match[str], original: str) -> list[Mention]:
    start, end = m.span()
    raw = original[start:end].strip()
    # Strip the leading/trailing characters the pattern only used as context.
    g = m.groupdict()

    def make(kind: Kind, value: Decimal, step: Decimal, unit: str = "") -> Mention:
        return Mention(raw, start, end, kind, value, step, unit)

    if g["date"]:
        if g["mon"]:
            month = _MONTHS[g["mon"].lower().rstrip(".")]
            day, year = int(g["day"]), int(g["dy"])
        else:
            year, month, day = int(g["iy"]), int(g["im"]), int(g["id"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return []
        return [make("date", Decimal(year * 10000 + month * 100 + day), Decimal(0))]
    if g["period"]:
        if g["q"]:
            unit = g["q"].upper() + ("FY" if g["qfy"] else "")
            return [make("period", Decimal(_year(g["qy"])), Decimal(0), unit)]
        if g["q2"]:
            return [make("period", Decimal(_year(g["q2y"])), Decimal(0), f"Q{g['q2']}")]
        return [make("period", Decimal(_year(g["fy"] or g["fy2"])), Decimal(0), "FY")]
    if g["cur"]:
        sym = g["sym"].strip().lower()
        unit = _SYMBOLS.get(sym, sym.upper())
        if unit == "RMB":
            unit = "CNY"
        negative = bool(g["cneg"])
        scale2 = _scale(g["cscale2"]) if g["cscale2"] else None
        scale1 = _scale(g["cscale"]) if g["cscale"] else (scale2 or Decimal(1))
        values = [(g["cnum"], scale1)]
        if g["cnum2"]:
            values.append((g["cnum2"], scale2 or scale1))
        return [
            make(
                "currency",
                (-1 if negative else 1) * _to_decimal(num) * scale,
                _step_of(num) * scale,
                unit,
            )
            for num, scale in values
        ]
    if g["pct"]:
        word = g["punit"].lower()
        if word.startswith("percentage") or word.startswith("pp"):
            kind: Kind = "pp"
        elif word.startswith("b"):
            kind = "bp"
        else:
            kind = "percent"
        sign = -1 if g["pneg"] else 1
        out = [make(kind, sign * _to_decimal(g["pnum"]), _step_of(g["pnum"]))]
        if g["pnum2"]:
            second = g["pnum2"]
            out.append(make(kind, _to_decimal(second), _step_of(second.lstrip("-"))))
        return out
    if g["mult"]:
        return [make("multiple", _to_decimal(g["mnum"]), _step_of(g["mnum"]))]
    if g["mword"]:
        word = g["mw"].lower()
        return [make("multiple", _MULTIPLIER_WORDS[word], Decimal(0))]
    if g["yspan"]:
        y1 = int(g["y1"])
        y2raw = g["y2"]
        y2 = int(y2raw) if len(y2raw) == 4 else (y1 // 100) * 100 + int(y2raw)
        if y2 <= y1:
            return []
        return [make("year", Decimal(y1), Decimal(0)), make("year", Decimal(y2), Decimal(0))]
    if g["curw"]:
        word = g["wcur"].lower()
        unit = _CURRENCY_WORDS.get(word, word.upper())
        scale = _scale(g["wscale"])
        return [make("currency", _to_decimal(g["wnum"]) * scale, _step_of(g["wnum"]) * scale, unit)]
    if g["year"]:
        return [make("year", Decimal(int(g["yy"])), Decimal(0))]
    if g["cnt"]:
        negative = bool(g["nneg"]) and (g["nneg"] != "(" or raw.endswith(")"))
        scale = _scale(g["nscale"])
        out = [
            make(
                "count",
                (-1 if negative else 1) * _to_decimal(g["nnum"]) * scale,
                _step_of(g["nnum"]) * scale,
            )
        ]
        if g["nnum2"]:
            out.append(make("count", _to_decimal(g["nnum2"]) * scale, _step_of(g["nnum2"]) * scale))
        return out
    return []


def backs(fact: Mention, said: Mention) -> bool:
    """Does the fact's figure back the figure a sentence says?

    Same kind and unit, and the fact's value rounded to the sentence's displayed step equals the
    sentence's value. A date backs the year it falls in.
    """
    if said.kind == "year" and fact.kind == "date":
        return fact.value // 10000 == said.value
    if said.kind == "year" and fact.kind == "period":
        return fact.value == said.value
    if fact.kind != said.kind or fact.unit != said.unit:
        return False
    if said.step == 0:
        return fact.value == said.value
    return abs(fact.value - said.value) * 2 <= said.step


def same_measure(fact: Mention, said: Mention) -> bool:
    """Same kind and unit: the pair is comparable even when the values differ."""
    return fact.kind == said.kind and fact.unit == said.unit

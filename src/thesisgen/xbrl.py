"""Financial facts from SEC EDGAR's XBRL company facts, without a model: grounded by construction.

One table (:data:`MEASURES`) names the standard set and, per measure, the concepts that may carry
it in order of preference. :func:`financial_facts` turns a company-facts JSON into ledger facts as
of a date: only entries filed on or before it, from periodic reports, the latest filing winning
for each period. Periods come from the entries' start and end dates, never from ``fy``/``fp``
(those name the filing's year). Each fact's quote is its record written out (:func:`quote_of`),
and :func:`check_fact` re-checks it against the file, as a text quote is re-checked against its
source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .filings import ARCHIVES
from .models import Fact, Filed

Candidate = tuple[str, str, str]  # (taxonomy, concept, unit); unit "*": any currency as filed
ANY = "*"
PER_SHARE = "*/shares"


@dataclass(frozen=True)
class Measure:
    """One figure of the standard set and the concepts that may carry it, best first."""

    key: str
    noun: str  # as statements name it
    instant: bool  # a balance at a date rather than a flow over a period
    candidates: tuple[Candidate, ...]
    year_to_date: bool = False  # a cash-flow measure: 10-Qs give it from the fiscal year's start
    cover: bool = False  # read once, from the latest report's cover page


_FLOW = ("USD", ANY)  # us-gaap in dollars; ifrs-full in its reporting currency as filed

MEASURES: tuple[Measure, ...] = (
    Measure(
        "revenue",
        "revenue",
        False,
        (
            ("us-gaap", "Revenues", "USD"),
            ("us-gaap", "RevenueFromContractWithCustomerExcludingAssessedTax", "USD"),
            ("us-gaap", "RevenueFromContractWithCustomerIncludingAssessedTax", "USD"),
            ("us-gaap", "SalesRevenueNet", "USD"),
            ("ifrs-full", "Revenue", ANY),
        ),
    ),
    Measure(
        "gross_profit",
        "gross profit",
        False,
        (("us-gaap", "GrossProfit", "USD"), ("ifrs-full", "GrossProfit", ANY)),
    ),
    Measure(
        "operating_income",
        "operating income",
        False,
        (
            ("us-gaap", "OperatingIncomeLoss", "USD"),
            ("ifrs-full", "ProfitLossFromOperatingActivities", ANY),
        ),
    ),
    Measure(
        "net_income",
        "net income",
        False,
        (
            ("us-gaap", "NetIncomeLoss", "USD"),
            ("us-gaap", "ProfitLoss", "USD"),
            ("us-gaap", "NetIncomeLossAvailableToCommonStockholdersBasic", "USD"),
            ("ifrs-full", "ProfitLossAttributableToOwnersOfParent", ANY),
            ("ifrs-full", "ProfitLoss", ANY),
        ),
    ),
    Measure(
        "eps_diluted",
        "diluted earnings per share",
        False,
        (
            ("us-gaap", "EarningsPerShareDiluted", "USD/shares"),
            ("us-gaap", "EarningsPerShareBasicAndDiluted", "USD/shares"),
            ("ifrs-full", "DilutedEarningsLossPerShare", PER_SHARE),
        ),
    ),
    Measure(
        "cash",
        "cash and cash equivalents",
        True,
        (
            ("us-gaap", "CashAndCashEquivalentsAtCarryingValue", "USD"),
            ("us-gaap", "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents", "USD"),
            ("us-gaap", "Cash", "USD"),
            ("ifrs-full", "CashAndCashEquivalents", ANY),
        ),
    ),
    # No us-gaap concept is "total debt" for most filers: LongTermDebt is term debt with its
    # current part, but without commercial paper. The statement names what the concept holds
    # (NOUNS), never more; a total would be a calculation over facts the ledger does not hold.
    Measure(
        "total_debt",
        "long-term debt including current maturities",
        True,
        (
            ("us-gaap", "LongTermDebt", "USD"),
            ("us-gaap", "LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities", "USD"),
            ("ifrs-full", "Borrowings", ANY),
        ),
    ),
    Measure(
        "shares_outstanding",
        "shares outstanding",
        True,
        (
            ("dei", "EntityCommonStockSharesOutstanding", "shares"),
            ("us-gaap", "CommonStockSharesOutstanding", "shares"),
        ),
        cover=True,
    ),
    Measure(
        "operating_cash_flow",
        "operating cash flow",
        False,
        (
            ("us-gaap", "NetCashProvidedByUsedInOperatingActivities", "USD"),
            ("us-gaap", "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations", "USD"),
            ("ifrs-full", "CashFlowsFromUsedInOperatingActivities", ANY),
        ),
        year_to_date=True,
    ),
    Measure(
        "capex",
        "capital expenditure",
        False,
        (
            ("us-gaap", "PaymentsToAcquirePropertyPlantAndEquipment", "USD"),
            ("us-gaap", "PaymentsToAcquireProductiveAssets", "USD"),
            (
                "ifrs-full",
                "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
                ANY,
            ),
        ),
        year_to_date=True,
    ),
)

ANNUAL_FORMS = ("10-K", "20-F", "40-F", "10-KT")
PERIODIC_FORMS = (*ANNUAL_FORMS, "10-Q")
ANNUAL_DAYS = (350, 380)
QUARTER_DAYS = (80, 100)
MAX_ENTRIES = 100_000  # entries of one concept and unit read at most
YEARS = 3
_MONTHS = {3: "three", 6: "six", 9: "nine", 12: "twelve"}


class CompanyFactsError(ValueError):
    """The company-facts JSON is not of the shape EDGAR serves: the caller names the file."""


@dataclass(frozen=True)
class _Entry:
    taxonomy: str
    concept: str
    label: str
    unit: str
    start: dt.date | None
    end: dt.date
    value: Decimal
    form: str
    filed: dt.date
    accession: str

    @property
    def days(self) -> int | None:
        return None if self.start is None else (self.end - self.start).days + 1

    @property
    def base_form(self) -> str:
        return self.form.removesuffix("/A")


def fiscal_year(start: dt.date, end: dt.date) -> int:
    """The fiscal year a period belongs to, from its dates only: the end date's year, except that
    a 52/53-week year ending in the first week of January belongs to the year before."""
    del start  # the end decides; the start is part of the signature so callers pass the period
    return end.year - 1 if end.month == 1 and end.day <= 7 else end.year


def _within(days: int | None, bounds: tuple[int, int]) -> bool:
    return days is not None and bounds[0] <= days <= bounds[1]


def _long(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _period(start: dt.date | None, end: dt.date, annual: bool) -> tuple[str, str]:
    """(Filed.period, the words statement and quote both use) for a period."""
    if start is None:
        if annual:
            fy = fiscal_year(end, end)
            return f"end of FY{fy}", f"at the end of fiscal {fy} ({_long(end)})"
        return f"{end.isoformat()}", f"as of {_long(end)}"
    days = (end - start).days + 1
    if annual and _within(days, ANNUAL_DAYS):
        fy = fiscal_year(start, end)
        return f"FY{fy}", f"for fiscal {fy} (the year ended {_long(end)})"
    months = round(days / 30.44)
    words = _MONTHS.get(months, f"{months}-month")
    if months == 3:
        return f"quarter ended {end.isoformat()}", f"for the three months ended {_long(end)}"
    return f"{words} months ended {end.isoformat()}", f"for the {words} months ended {_long(end)}"


def _digits(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _currency(unit: str) -> str:
    return unit.split("/")[0]


def _money(value: Decimal, unit: str) -> str:
    """The figure as a statement writes it: "$391,035 million", "$6.08", "EUR 1,234 million"."""
    if unit == "shares":
        return f"{_digits(value)}"
    code = _currency(unit)
    sign, magnitude = ("-" if value < 0 else ""), abs(value)
    prefix = "$" if code == "USD" else f"{code} "
    if unit.endswith("/shares") or magnitude < 1_000_000:
        return f"{sign}{prefix}{_digits(magnitude)}"
    return f"{sign}{prefix}{_digits(magnitude / 1_000_000)} million"


def _as_filed(value: Decimal, unit: str) -> str:
    """The figure in full, as the record holds it: "USD 391,035,000,000", "USD 6.08 per share"."""
    if unit == "shares":
        return f"{_digits(value)} shares"
    code = _currency(unit)
    per = " per share" if unit.endswith("/shares") else ""
    sign = "-" if value < 0 else ""
    return f"{sign}{code} {_digits(abs(value))}{per}"


def _annual_period(filed: Filed) -> bool:
    return filed.period.startswith(("FY", "end of FY"))


def quote_of(filed: Filed) -> str:
    """The record written out, the quote of an xbrl fact: concept, label, value as filed, period,
    form and filing date. Accession and CIK stay out of it (they would read as figures)."""
    _, words = _period(filed.start, filed.end, _annual_period(filed))
    dates = (
        f"from {filed.start.isoformat()} to {filed.end.isoformat()}"
        if filed.start
        else f"at {filed.end.isoformat()}"
    )
    return (
        f"{filed.taxonomy}:{filed.concept} ({filed.label}): {_as_filed(filed.value, filed.unit)} "
        f"{words}, {dates}; form {filed.form} filed {filed.filed.isoformat()}"
    )


# Where a fallback concept holds something else than the measure's first concept, what it holds.
NOUNS: dict[tuple[str, str], str] = {
    ("ifrs-full", "Borrowings"): "borrowings",
    ("us-gaap", "LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities"): (
        "long-term debt and lease obligations including current maturities"
    ),
    ("us-gaap", "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents"): (
        "cash, cash equivalents and restricted cash"
    ),
}


def _statement(company: str, measure: Measure, filed: Filed) -> str:
    _, words = _period(filed.start, filed.end, _annual_period(filed))
    figure = _money(filed.value, filed.unit)
    if measure.cover:
        return f"{company} had {figure} shares outstanding {words}."
    noun = NOUNS.get((filed.taxonomy, filed.concept), measure.noun)
    return f"{company} reported {noun} of {figure} {words}."


# --- reading the company-facts file -----------------------------------------------------------


def _facts_of(companyfacts: Mapping[str, Any]) -> Mapping[str, Any]:
    facts = companyfacts.get("facts") if isinstance(companyfacts, Mapping) else None
    if not isinstance(facts, Mapping):
        raise CompanyFactsError("the company-facts file has no 'facts' object")
    return facts


def _units(facts: Mapping[str, Any], taxonomy: str, concept: str) -> tuple[str, Mapping[str, Any]]:
    entry = (
        facts.get(taxonomy, {}).get(concept) if isinstance(facts.get(taxonomy), Mapping) else None
    )
    if not isinstance(entry, Mapping):
        return "", {}
    units = entry.get("units")
    if not isinstance(units, Mapping):
        raise CompanyFactsError(f"{taxonomy}:{concept} has no 'units' object")
    return str(entry.get("label") or concept), units


def _unit_matches(want: str, unit: str) -> bool:
    if want == ANY:
        return len(unit) == 3 and unit.isalpha() and unit.isupper()
    if want == PER_SHARE:
        code, _, per = unit.partition("/")
        return per == "shares" and len(code) == 3 and code.isalpha()
    return unit == want


def _date(raw: object, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise CompanyFactsError(f"{what}: {raw!r} is not a date") from None


def _entries(facts: Mapping[str, Any], candidate: Candidate) -> Iterable[tuple[str, list[_Entry]]]:
    """Each matching unit's entries of one candidate concept, in the file's order of units."""
    taxonomy, concept, want = candidate
    label, units = _units(facts, taxonomy, concept)
    for unit, rows in units.items():
        if not _unit_matches(want, unit):
            continue
        if not isinstance(rows, list):
            raise CompanyFactsError(f"{taxonomy}:{concept} {unit} is not a list")
        what = f"{taxonomy}:{concept} {unit}"
        entries = []
        for row in rows[:MAX_ENTRIES]:
            if not isinstance(row, Mapping) or "end" not in row or "val" not in row:
                raise CompanyFactsError(f"{what}: an entry lacks 'end' or 'val'")
            try:
                value = Decimal(str(row["val"]))
            except InvalidOperation:
                raise CompanyFactsError(f"{what}: {row['val']!r} is not a number") from None
            entries.append(
                _Entry(
                    taxonomy=taxonomy,
                    concept=concept,
                    label=label,
                    unit=unit,
                    start=_date(row["start"], what) if row.get("start") else None,
                    end=_date(row["end"], what),
                    value=value,
                    form=str(row.get("form", "")),
                    filed=_date(row.get("filed"), what),
                    accession=str(row.get("accn", "")),
                )
            )
        yield unit, entries


def _latest(
    entries: Iterable[_Entry], as_of: dt.date
) -> dict[tuple[dt.date | None, dt.date], _Entry]:
    """Per period, the entry of the latest periodic filing on or before ``as_of``: an amendment
    or a later report supersedes the original, and a value repeated across filings is one."""
    best: dict[tuple[dt.date | None, dt.date], _Entry] = {}
    for e in entries:
        if e.filed > as_of or e.base_form not in PERIODIC_FORMS:
            continue
        key = (e.start, e.end)
        held = best.get(key)
        if held is None or (e.filed, e.accession) > (held.filed, held.accession):
            best[key] = e
    return best


@dataclass
class _Frame:
    """The periods a memo as of a date reports: three fiscal years and the latest quarter."""

    years: list[tuple[int, dt.date]]  # (fiscal year, end date), newest first
    year_start: dt.date | None  # the day after the latest fiscal year's end
    quarter_end: dt.date | None


def _frame(pool: list[_Entry], as_of: dt.date) -> _Frame | None:
    known = [e for e in pool if e.filed <= as_of and e.base_form in PERIODIC_FORMS]
    annual_reports = [e for e in known if e.base_form in ANNUAL_FORMS]
    if not annual_reports:
        return None
    latest = max(annual_reports, key=lambda e: (e.filed, e.accession))
    own = [e for e in annual_reports if e.accession == latest.accession]
    annual_end = max(
        (e.end for e in own if _within(e.days, ANNUAL_DAYS)), default=max(e.end for e in own)
    )
    ends: dict[int, dt.date] = {}
    for e in annual_reports:
        if _within(e.days, ANNUAL_DAYS) and e.end <= annual_end and e.start is not None:
            fy = fiscal_year(e.start, e.end)
            ends[fy] = max(ends.get(fy, e.end), e.end)
    years = sorted(ends.items(), reverse=True)[:YEARS]
    quarterly = [
        e for e in known if e.base_form == "10-Q" and e.filed > latest.filed and e.end > annual_end
    ]
    quarter_end = None
    if quarterly:
        report = max(quarterly, key=lambda e: (e.filed, e.accession)).accession
        ends_q = [
            e.end for e in quarterly if e.accession == report and _within(e.days, QUARTER_DAYS)
        ]
        quarter_end = max(ends_q, default=None)
    return _Frame(years, annual_end + dt.timedelta(days=1), quarter_end)


_Known = dict[Candidate, list[list[_Entry]]]  # per candidate, the latest entries per unit


@dataclass(frozen=True)
class _Slot:
    """One period a measure is wanted for: its name in notes and the entries that fill it."""

    what: str
    end: dt.date | None  # None: the latest balance (the cover page's shares)
    days: tuple[int, int] | None  # None: an instant
    start: dt.date | None = None  # a year-to-date value: from the fiscal year's first day

    def fits(self, e: _Entry) -> bool:
        if self.end is not None and e.end != self.end:
            return False
        if self.days is None:
            return e.start is None
        if self.start is not None:
            return e.start == self.start
        return _within(e.days, self.days)


def _slots(measure: Measure, frame: _Frame) -> list[_Slot]:
    if measure.cover:
        return [_Slot("the latest cover page", None, None)]
    days = None if measure.instant else ANNUAL_DAYS
    slots = [_Slot(f"fiscal {fy}", end, days) for fy, end in frame.years]
    q = frame.quarter_end
    if q is not None:
        what = f"the quarter ended {q.isoformat()}"
        if measure.instant:
            slots.append(_Slot(what, q, None))
        elif measure.year_to_date:
            slots.append(_Slot(what, q, (1, 380), frame.year_start))
        else:
            slots.append(_Slot(what, q, QUARTER_DAYS))
    return slots


def _read(facts: Mapping[str, Any], as_of: dt.date) -> _Known:
    """Every candidate concept read once: per unit, the entries that stand as of ``as_of``."""
    known: _Known = {}
    for measure in MEASURES:
        for candidate in measure.candidates:
            known[candidate] = [
                list(_latest(entries, as_of).values()) for _, entries in _entries(facts, candidate)
            ]
    return known


def _pick(known: _Known, measure: Measure, fits: Callable[[_Entry], bool]) -> _Entry | None:
    """The first candidate (and unit) with a value for the period ``fits`` accepts."""
    for candidate in measure.candidates:
        for entries in known[candidate]:
            chosen = [e for e in entries if fits(e)]
            if chosen:
                return max(chosen, key=lambda e: (e.end, e.days or 0, e.filed))
    return None


def financial_facts(
    companyfacts: Mapping[str, Any],
    as_of: dt.date,
    *,
    cik: int,
    company: str,
    source_id: str,
    first_id: int,
) -> tuple[list[Fact], list[str]]:
    """The standard set as of ``as_of``: facts F<first_id>... and notes on what is absent."""
    facts = _facts_of(companyfacts)
    if not any(isinstance(facts.get(t), Mapping) and facts[t] for t in ("us-gaap", "ifrs-full")):
        return [], [
            f"{company} files no us-gaap or ifrs-full XBRL financial statements (a fund or an "
            "issuer without XBRL financials): no financial facts from EDGAR"
        ]
    known = _read(facts, as_of)
    frame = _frame([e for units in known.values() for es in units for e in es], as_of)
    if frame is None or not frame.years:
        return [], [
            f"{company} has no XBRL figures from a 10-K, 20-F or 40-F filed on or before "
            f"{as_of.isoformat()}: no financial facts from EDGAR"
        ]
    found: list[tuple[Measure, _Entry]] = []
    notes: list[str] = []
    for measure in MEASURES:
        missing = []
        for slot in _slots(measure, frame):
            entry = _pick(known, measure, slot.fits)
            if entry is None:
                missing.append(slot.what)
            else:
                found.append((measure, entry))
        if missing:
            notes.append(f"{company} reports no {measure.noun} in XBRL for {', '.join(missing)}")
    out = []
    for n, (measure, e) in enumerate(found):
        annual = measure.cover is False and any(e.end == end for _, end in frame.years)
        period, _ = _period(e.start, e.end, annual)
        filed = Filed(
            measure=measure.key,
            taxonomy=e.taxonomy,
            concept=e.concept,
            label=e.label,
            unit=e.unit,
            start=e.start,
            end=e.end,
            value=e.value,
            form=e.form,
            filed=e.filed,
            accession=e.accession,
            period=period,
            url=f"{ARCHIVES}/{int(cik)}/{e.accession.replace('-', '')}/{e.accession}-index.htm",
        )
        out.append(
            Fact(
                id=f"F{first_id + n}",
                statement=_statement(company, measure, filed),
                source_id=source_id,
                quote=quote_of(filed),
                topic="financials",
                kind="xbrl",
                filed=filed,
            )
        )
    return out, notes


def check_fact(
    fact: Fact, companyfacts: Mapping[str, Any], *, where: str = "the company facts"
) -> str | None:
    """Why an xbrl fact no longer matches the company-facts file (named ``where``) at its
    locator, or its quote is not its record written out; None when it matches."""
    filed = fact.filed
    if filed is None:
        return f"{fact.id} is of kind xbrl but has no 'filed' record"
    record = (
        f"{filed.taxonomy}:{filed.concept}, "
        f"{filed.start.isoformat() + '..' if filed.start else ''}{filed.end.isoformat()}, "
        f"accession {filed.accession}"
    )
    if fact.quote != quote_of(filed):
        return f"{fact.id}'s quote is not its XBRL record ({record}) written out"
    expected, _ = _period(filed.start, filed.end, _annual_period(filed))
    if filed.period != expected:
        return f"{fact.id}'s period '{filed.period}' does not agree with its dates ({record})"
    measure = next((m for m in MEASURES if m.key == filed.measure), None)
    if measure is None or not any(
        (t, c) == (filed.taxonomy, filed.concept) and _unit_matches(u, filed.unit)
        for t, c, u in measure.candidates
    ):
        return f"{fact.id}'s concept ({record}) is not one that states {filed.measure}"
    _, units = _units(_facts_of(companyfacts), filed.taxonomy, filed.concept)
    rows = units.get(filed.unit)
    for row in rows[:MAX_ENTRIES] if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        if (
            row.get("accn") == filed.accession
            and str(row.get("end")) == filed.end.isoformat()
            and (row.get("start") or None) == (filed.start.isoformat() if filed.start else None)
        ):
            try:
                same = Decimal(str(row.get("val"))) == filed.value
            except InvalidOperation:
                same = False
            if (
                same
                and row.get("form") == filed.form
                and row.get("filed") == filed.filed.isoformat()
            ):
                return None
    return f"{fact.id}'s XBRL record ({record}) is not in {where} as stated"

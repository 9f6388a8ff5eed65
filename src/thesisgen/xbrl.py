"""Financial facts from SEC EDGAR's XBRL company facts, without a model: grounded by construction.

One table (:data:`MEASURES`) names the standard set and, per measure, the concepts that may carry
it in order of preference. :func:`financial_facts` turns a company-facts JSON into ledger facts as
of a date: only entries filed on or before it, from periodic reports, the latest filing winning
for each period. Periods come from the entries' start and end dates, never from ``fy``/``fp``
(those name the filing's year). Each fact's quote is its record written out (:func:`quote_of`),
and :func:`check_fact` re-checks it against the file, as a text quote is re-checked against its
source: it rebuilds the fact from the entry at its locator with the same function that built it
(:func:`_fact`), so statement, quote, label, period and link cannot drift from the record.

Fiscal years (:func:`fiscal_year`): a period a fiscal year long (:data:`ANNUAL_DAYS`) is named by
the calendar year in which it ends, except that a 52/53-week year ending in the first days of
January belongs to the year before. Companies whose year ends in late January or February (many
retailers) name their years differently (a year ending 2025-02-01 is often their "fiscal 2024";
here it is FY2025), so every statement also gives the period's end date, and a reader can always
tell which year is meant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .filings import ANNUAL_FORMS, index_url, iso_date
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


def annual_length(start: dt.date | None, end: dt.date) -> bool:
    """Whether a period from ``start`` to ``end`` (both days counted) is a fiscal year long: 52
    or 53 weeks, or a calendar year. An instant (no start) is not."""
    return start is not None and _within((end - start).days + 1, ANNUAL_DAYS)


def _long(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _period(start: dt.date | None, end: dt.date, year_end: bool) -> tuple[str, str]:
    """(Filed.period, the words statement and quote both use) for a period. A duration is named
    by its dates alone; an instant is "the end of fiscal YYYY" when ``year_end`` (its date ends a
    fiscal year: the builder knows it from the filings, :func:`check_fact` checks it in the file)."""
    if start is None:
        if year_end:
            fy = fiscal_year(end, end)
            return f"end of FY{fy}", f"at the end of fiscal {fy} ({_long(end)})"
        return f"{end.isoformat()}", f"as of {_long(end)}"
    days = (end - start).days + 1
    if _within(days, ANNUAL_DAYS):
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


YEAR_END = "end of FY"  # how Filed.period names a balance at a fiscal year's end


def _claims_year_end(filed: Filed) -> bool:
    """Whether the record names its balance a fiscal year-end one (only an instant can be)."""
    return filed.start is None and filed.period.startswith(YEAR_END)


def quote_of(filed: Filed) -> str:
    """The record written out, the quote of an xbrl fact: concept, label, value as filed, period,
    form and filing date. Accession and CIK stay out of it (they would read as figures)."""
    _, words = _period(filed.start, filed.end, _claims_year_end(filed))
    dates = (
        f"from {filed.start.isoformat()} to {filed.end.isoformat()}"
        if filed.start
        else f"at {filed.end.isoformat()}"
    )
    return (
        f"{filed.taxonomy}:{filed.concept} ({filed.label}): {_as_filed(filed.value, filed.unit)} "
        f"{words}, {dates}; form {filed.form} filed {filed.filed.isoformat()}"
    )


# Where a fallback concept holds something else than the measure's noun, what it holds: a
# statement names what the concept holds, never more (tests/test_xbrl.py lists the candidates
# that hold the measure itself; any other candidate needs an entry here).
NOUNS: dict[tuple[str, str], str] = {
    ("ifrs-full", "Borrowings"): "borrowings",
    ("us-gaap", "LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities"): (
        "long-term debt and lease obligations including current maturities"
    ),
    ("us-gaap", "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents"): (
        "cash, cash equivalents and restricted cash"
    ),
    ("us-gaap", "Cash"): "cash",
    ("us-gaap", "ProfitLoss"): "net income including noncontrolling interests",
    ("us-gaap", "NetIncomeLossAvailableToCommonStockholdersBasic"): (
        "net income available to common stockholders"
    ),
    ("ifrs-full", "ProfitLoss"): "profit including non-controlling interests",
    ("ifrs-full", "ProfitLossAttributableToOwnersOfParent"): (
        "profit attributable to owners of the parent"
    ),
    ("us-gaap", "EarningsPerShareBasicAndDiluted"): "basic and diluted earnings per share",
    ("us-gaap", "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations"): (
        "operating cash flow from continuing operations"
    ),
    ("us-gaap", "PaymentsToAcquireProductiveAssets"): "payments for productive assets",
}


def _statement(company: str, measure: Measure, filed: Filed, words: str) -> str:
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
    return iso_date(raw, what, CompanyFactsError)


def _cik(companyfacts: Mapping[str, Any]) -> int:
    try:
        return int(companyfacts["cik"])
    except (KeyError, TypeError, ValueError):
        raise CompanyFactsError("the company-facts file has no numeric 'cik'") from None


ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}")  # as models.Filed requires


def _parse(taxonomy: str, concept: str, label: str, unit: str, rows: object) -> list[_Entry]:
    """One concept's entries in one unit, as the file holds them (at most MAX_ENTRIES)."""
    what = f"{taxonomy}:{concept} {unit}"
    if not isinstance(rows, list):
        raise CompanyFactsError(f"{what} is not a list")
    entries = []
    for row in rows[:MAX_ENTRIES]:
        if not isinstance(row, Mapping) or "end" not in row or "val" not in row:
            raise CompanyFactsError(f"{what}: an entry lacks 'end' or 'val'")
        try:
            value = Decimal(str(row["val"]))
        except InvalidOperation:
            raise CompanyFactsError(f"{what}: {row['val']!r} is not a number") from None
        if not value.is_finite():
            raise CompanyFactsError(f"{what}: {row['val']!r} is not a finite number")
        accession = str(row.get("accn", ""))
        if not ACCESSION.fullmatch(accession):
            raise CompanyFactsError(f"{what}: {accession!r} is not an accession number")
        entry = _Entry(
            taxonomy=taxonomy,
            concept=concept,
            label=label,
            unit=unit,
            start=_date(row["start"], what) if row.get("start") else None,
            end=_date(row["end"], what),
            value=value,
            form=str(row.get("form", "")),
            filed=_date(row.get("filed"), what),
            accession=accession,
        )
        if entry.start is not None and entry.start > entry.end:
            raise CompanyFactsError(f"{what}: a period starts ({entry.start}) after it ends")
        entries.append(entry)
    return entries


def _entries(facts: Mapping[str, Any], candidate: Candidate) -> Iterable[tuple[str, list[_Entry]]]:
    """Each matching unit's entries of one candidate concept, in the file's order of units."""
    taxonomy, concept, want = candidate
    label, units = _units(facts, taxonomy, concept)
    for unit, rows in units.items():
        if _unit_matches(want, unit):
            yield unit, _parse(taxonomy, concept, label, unit, rows)


def _latest(
    entries: Iterable[_Entry], as_of: dt.date, notes: list[str]
) -> dict[tuple[dt.date | None, dt.date], _Entry]:
    """Per period, the entry of the latest periodic filing on or before ``as_of``: an amendment
    or a later report supersedes the original, and a value repeated across filings is one. A
    filing that states two values for one period is ambiguous: that period is left out, and
    ``notes`` says so (never one value picked)."""
    best: dict[tuple[dt.date | None, dt.date], _Entry] = {}
    ambiguous: set[tuple[dt.date | None, dt.date]] = set()
    for e in entries:
        if e.filed > as_of or e.base_form not in PERIODIC_FORMS:
            continue
        key = (e.start, e.end)
        held = best.get(key)
        if held is None or (e.filed, e.accession) > (held.filed, held.accession):
            best[key] = e
            ambiguous.discard(key)
        elif (e.filed, e.accession) == (held.filed, held.accession) and e.value != held.value:
            ambiguous.add(key)
    for key in sorted(ambiguous, key=lambda k: k[1]):
        e = best.pop(key)
        notes.append(
            f"{e.taxonomy}:{e.concept} ({e.unit}) ending {e.end.isoformat()} has two different "
            f"values in the filing {e.accession}: left out"
        )
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
    # The latest annual report sets the fiscal year's end, but only one that reports a year: a
    # Part III 10-K/A whose only entry is the cover's share count must not move it.
    reporting = [
        e for e in annual_reports if e.form in ANNUAL_FORMS or annual_length(e.start, e.end)
    ]
    if not reporting:
        return None
    latest = max(reporting, key=lambda e: (e.filed, e.accession))
    own = [e for e in reporting if e.accession == latest.accession]
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


def _read(facts: Mapping[str, Any], as_of: dt.date, notes: list[str]) -> _Known:
    """Every candidate concept read once: per unit, the entries that stand as of ``as_of``."""
    known: _Known = {}
    for measure in MEASURES:
        for candidate in measure.candidates:
            known[candidate] = [
                list(_latest(entries, as_of, notes).values())
                for _, entries in _entries(facts, candidate)
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
    ambiguous: list[str] = []
    known = _read(facts, as_of, ambiguous)
    frame = _frame([e for units in known.values() for es in units for e in es], as_of)
    if frame is None or not frame.years:
        return [], [
            f"{company} has no XBRL figures from a 10-K, 20-F or 40-F filed on or before "
            f"{as_of.isoformat()}: no financial facts from EDGAR"
        ]
    found: list[tuple[Measure, _Entry]] = []
    notes: list[str] = list(ambiguous)
    taxonomies = {t for t, _, _ in (c for m in MEASURES for c in m.candidates)}
    filed_in = {t for t in taxonomies if isinstance(facts.get(t), Mapping) and facts[t]}
    for measure in MEASURES:
        missing = []
        for slot in _slots(measure, frame):
            entry = _pick(known, measure, slot.fits)
            if entry is None:
                missing.append(slot.what)
            else:
                found.append((measure, entry))
        if missing:
            # the concepts looked for, in the taxonomies the company files (all when none)
            named = [f"{t}:{c}" for t, c, _ in measure.candidates if t in filed_in]
            read = ", ".join(named or (f"{t}:{c}" for t, c, _ in measure.candidates))
            notes.append(
                f"{company} reports no single XBRL concept for {measure.noun} (we read {read}) "
                f"for {', '.join(missing)}"
            )
    year_ends = {end for _, end in frame.years}
    out = [
        _fact(
            measure,
            e,
            year_end=e.end in year_ends,
            cik=cik,
            company=company,
            fact_id=f"F{first_id + n}",
            source_id=source_id,
        )
        for n, (measure, e) in enumerate(found)
    ]
    return out, notes


def _fact(
    measure: Measure,
    e: _Entry,
    *,
    year_end: bool,
    cik: int,
    company: str,
    fact_id: str,
    source_id: str,
) -> Fact:
    """The one place an entry becomes a fact: its record (label, period, link), statement and
    quote. ``year_end``: an instant's date ends a fiscal year (never said of the cover's shares)."""
    period, words = _period(e.start, e.end, year_end and not measure.cover)
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
        url=index_url(cik, e.accession),
    )
    return Fact(
        id=fact_id,
        statement=_statement(company, measure, filed, words),
        source_id=source_id,
        quote=quote_of(filed),
        topic="financials",
        kind="xbrl",
        filed=filed,
    )


def _ends_a_fiscal_year(facts: Mapping[str, Any], end: dt.date) -> bool:
    """Whether an annual report in the file gives a fiscal-year-long period ending on ``end``
    (read among the flow measures' concepts, which every annual report carries)."""
    day = end.isoformat()
    for measure in MEASURES:
        if measure.instant:
            continue
        for taxonomy, concept, want in measure.candidates:
            _, units = _units(facts, taxonomy, concept)
            for unit, rows in units.items():
                if not _unit_matches(want, unit) or not isinstance(rows, list):
                    continue
                for row in rows[:MAX_ENTRIES]:
                    if (
                        not isinstance(row, Mapping)
                        or row.get("end") != day
                        or not row.get("start")
                    ):
                        continue
                    form = str(row.get("form", "")).removesuffix("/A")
                    start = _date(row["start"], f"{taxonomy}:{concept} {unit}")
                    if form in ANNUAL_FORMS and annual_length(start, end):
                        return True
    return False


def check_fact(
    fact: Fact,
    companyfacts: Mapping[str, Any],
    *,
    company: str,
    where: str = "the company facts",
) -> str | None:
    """Why an xbrl fact no longer matches the company-facts file (named ``where``), in one line;
    None when it matches. The fact is rebuilt from the entry at its locator as
    :func:`financial_facts` builds it (``company`` names the company as its statements do), and
    its record, statement and quote must equal the rebuilt ones: an edited value, label, link,
    period or statement is caught, not only an edited figure. Its ID, topic and source are the
    ledger's."""
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
    measure = next((m for m in MEASURES if m.key == filed.measure), None)
    if measure is None or not any(
        (t, c) == (filed.taxonomy, filed.concept) and _unit_matches(u, filed.unit)
        for t, c, u in measure.candidates
    ):
        return f"{fact.id}'s concept ({record}) is not one that states {filed.measure}"
    year_end = _claims_year_end(filed) and not measure.cover
    expected, _ = _period(filed.start, filed.end, year_end)
    if filed.period != expected:
        return f"{fact.id}'s period '{filed.period}' does not agree with its dates ({record})"
    facts = _facts_of(companyfacts)
    if year_end and not _ends_a_fiscal_year(facts, filed.end):
        return (
            f"{fact.id}'s period '{filed.period}' names a fiscal year-end, but no annual period "
            f"in {where} ends on {filed.end.isoformat()} ({record})"
        )
    label, units = _units(facts, filed.taxonomy, filed.concept)
    rows = units.get(filed.unit)
    at = [
        e
        for e in (_parse(filed.taxonomy, filed.concept, label, filed.unit, rows) if rows else [])
        if (e.accession, e.start, e.end) == (filed.accession, filed.start, filed.end)
    ]
    entry = next(
        (e for e in at if (e.value, e.form, e.filed) == (filed.value, filed.form, filed.filed)),
        None,
    )
    if entry is None:
        return f"{fact.id}'s XBRL record ({record}) is not in {where} as stated"
    rebuilt = _fact(
        measure,
        entry,
        year_end=year_end,
        cik=_cik(companyfacts),
        company=company,
        fact_id=fact.id,
        source_id=fact.source_id,
    )
    assert rebuilt.filed is not None
    for name in Filed.model_fields:
        ours, theirs = getattr(filed, name), getattr(rebuilt.filed, name)
        if ours != theirs:
            return (
                f"{fact.id}'s {name} {str(ours)!r} is not {str(theirs)!r}, as {where} gives "
                f"it for its record ({record})"
            )
    if fact.statement != rebuilt.statement:
        return (
            f"{fact.id}'s statement is not its XBRL record ({record}) stated: it should read "
            f"{rebuilt.statement!r}"
        )
    if fact.quote != rebuilt.quote:  # equal records give equal quotes; kept as a guard
        return f"{fact.id}'s quote is not its XBRL record ({record}) written out"
    return None

"""Financial facts from XBRL company facts: Apple's real file (shared/edgar, read directly) and
small hand-written files (tests/data/edgar/, labelled) for the rules Apple's file cannot show."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from conftest import ROOT, real_edgar
from thesisgen.models import Calculation, Fact, FactSet, Sentence, SourceInfo
from thesisgen.numbers import DEFAULT_IDENTIFIERS, extract
from thesisgen.validate import Ledger, check_sentence, ground_statement
from thesisgen.xbrl import MEASURES, check_fact, financial_facts, fiscal_year, quote_of

AAPL = real_edgar("CIK0000320193.companyfacts.json")
DATA = ROOT / "tests" / "data" / "edgar"
AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def apple() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(AAPL.read_text(encoding="utf-8"))
    return data


def _facts(cf: dict[str, Any], as_of: dt.date = AS_OF, **kw: Any) -> tuple[list[Fact], list[str]]:
    args: dict[str, Any] = {"cik": 320193, "company": "Apple Inc.", "source_id": "S1"}
    args.update(kw)
    return financial_facts(cf, as_of, first_id=args.pop("first_id", 1), **args)


def _hand(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    assert "HAND-WRITTEN" in data["_comment"]
    return data


def _one(facts: list[Fact], measure: str, period: str) -> Fact:
    found = [
        f for f in facts if f.filed and f.filed.measure == measure and f.filed.period == period
    ]
    assert len(found) == 1, [(f.filed.measure, f.filed.period) for f in facts if f.filed]
    return found[0]


def _entry_at(cf: dict[str, Any], fact: Fact) -> dict[str, Any]:
    """The company-facts entry at the fact's locator, found independently of xbrl.py."""
    f = fact.filed
    assert f is not None
    rows = cf["facts"][f.taxonomy][f.concept]["units"][f.unit]
    start = f.start.isoformat() if f.start else None
    hits = [
        r
        for r in rows
        if r["accn"] == f.accession and r["end"] == f.end.isoformat() and r.get("start") == start
    ]
    assert len(hits) == 1, (fact.id, hits)
    return hits[0]


# --- Apple's real company facts -------------------------------------------------------------------


def test_apple_revenue_for_three_fiscal_years_and_the_latest_quarter(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    fy24 = _one(facts, "revenue", "FY2024")
    assert fy24.filed is not None
    assert fy24.filed.value == Decimal(391035000000)
    assert (fy24.filed.start, fy24.filed.end) == (dt.date(2023, 10, 1), dt.date(2024, 9, 28))
    assert fy24.statement == (
        "Apple Inc. reported revenue of $391,035 million for fiscal 2024 "
        "(the year ended September 28, 2024)."
    )
    fy23, fy22 = _one(facts, "revenue", "FY2023"), _one(facts, "revenue", "FY2022")
    assert fy23.filed and fy23.filed.end == dt.date(2023, 9, 30)
    assert fy22.filed and fy22.filed.end == dt.date(2022, 9, 24)
    quarter = _one(facts, "revenue", "quarter ended 2025-03-29")
    assert quarter.filed and quarter.filed.start == dt.date(2024, 12, 29)
    assert not [f for f in facts if f.filed and f.filed.period == "FY2025"]
    assert [f.id for f in facts] == [f"F{n}" for n in range(1, len(facts) + 1)]


def test_every_apple_fact_equals_the_entry_at_its_locator(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    assert len(facts) >= 30
    for fact in facts:
        f = fact.filed
        assert f is not None and fact.kind == "xbrl" and fact.topic == "financials"
        entry = _entry_at(apple, fact)
        assert Decimal(str(entry["val"])) == f.value
        assert (entry["form"], entry["filed"]) == (f.form, f.filed.isoformat())
        assert fact.quote == quote_of(f)
        assert check_fact(fact, apple, company="Apple Inc.") is None
        assert ground_statement(fact.statement, fact.quote, DEFAULT_IDENTIFIERS) is None
        assert f.url == (
            "https://www.sec.gov/Archives/edgar/data/320193/"
            f"{f.accession.replace('-', '')}/{f.accession}-index.htm"
        )
        assert f.accession not in fact.quote and "320193" not in fact.quote


def test_cash_flows_of_the_quarter_are_year_to_date_and_labelled_so(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    ocf = _one(facts, "operating_cash_flow", "six months ended 2025-03-29")
    assert ocf.filed and ocf.filed.start == dt.date(2024, 9, 29)
    assert "for the six months ended March 29, 2025" in ocf.statement
    cash = _one(facts, "cash", "2025-03-29")
    assert cash.filed and cash.filed.start is None
    shares = [f for f in facts if f.filed and f.filed.measure == "shares_outstanding"]
    assert len(shares) == 1 and shares[0].filed and shares[0].filed.taxonomy == "dei"
    assert shares[0].filed.end == dt.date(2025, 4, 18)


@pytest.mark.parametrize(
    "as_of", [dt.date(2019, 1, 1), dt.date(2021, 8, 15), dt.date(2024, 11, 1), AS_OF]
)
def test_nothing_filed_after_as_of_and_labels_agree_with_dates(
    apple: dict[str, Any], as_of: dt.date
) -> None:
    facts, _ = _facts(apple, as_of)
    assert facts
    for fact in facts:
        f = fact.filed
        assert f is not None and f.filed <= as_of
        if f.period.startswith("FY"):
            assert f.start is not None and 350 <= (f.end - f.start).days + 1 <= 380
            assert f.period == f"FY{f.end.year}"  # Apple's years end in late September
            assert f"fiscal {f.end.year}" in fact.statement
    years = {f.filed.period for f in facts if f.filed and f.filed.period.startswith("FY")}
    assert len(years) == 3


def test_as_of_the_end_of_2025_fiscal_2025_appears(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple, dt.date(2025, 12, 31))
    fy25 = _one(facts, "revenue", "FY2025")
    assert fy25.filed and fy25.filed.end == dt.date(2025, 9, 27)
    assert fy25.filed.accession == "0000320193-25-000079"
    assert not [f for f in facts if f.filed and f.filed.period == "FY2022"]


def test_fiscal_year_from_the_dates() -> None:
    assert fiscal_year(dt.date(2023, 10, 1), dt.date(2024, 9, 28)) == 2024
    assert fiscal_year(dt.date(2023, 1, 2), dt.date(2024, 1, 3)) == 2023  # a 53-week year
    assert fiscal_year(dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == 2024


def test_measures_use_the_agreed_concepts() -> None:
    keys = [m.key for m in MEASURES]
    assert len(keys) == len(set(keys)) == 10
    revenue = next(m for m in MEASURES if m.key == "revenue")
    assert revenue.candidates[0] == ("us-gaap", "Revenues", "USD")
    assert revenue.candidates[-1][:2] == ("ifrs-full", "Revenue")


# --- the gate reads these facts as a memo cites them --------------------------------------------


@pytest.fixture(scope="module")
def ledger(apple: dict[str, Any]) -> tuple[Ledger, dict[tuple[str, str], Fact]]:
    facts, _ = _facts(apple)
    factset = FactSet(
        ticker="AAPL",
        company="Apple Inc.",
        sources=[SourceInfo(id="S1", title="Apple Inc. XBRL company facts (SEC EDGAR)")],
        facts=facts,
    )
    by = {(f.filed.measure, f.filed.period): f for f in facts if f.filed}
    return Ledger.of(factset), by


def _check(
    ledger: Ledger, text: str, cites: list[str], calc: list[Calculation] | None = None
) -> list[str]:
    found, _ = check_sentence(Sentence(text=text, cites=cites, calculations=calc or []), ledger)
    return [f.message for f in found if not f.comment]


GOOD = [
    ("Apple's revenue was $391.0 billion in fiscal 2024.", [("revenue", "FY2024")]),
    ("Net income was $93.7 billion in fiscal 2024.", [("net_income", "FY2024")]),
    ("Apple's diluted EPS was $6.08 in fiscal 2024.", [("eps_diluted", "FY2024")]),
    (
        "Cash and cash equivalents were $29.9 billion at the end of fiscal 2024.",
        [("cash", "end of FY2024")],
    ),
    (
        "Revenue was $95.4 billion in the three months ended March 29, 2025.",
        [("revenue", "quarter ended 2025-03-29")],
    ),
]
BAD = [
    ("Apple's revenue was $381.0 billion in fiscal 2024.", [("revenue", "FY2024")]),
    ("Apple's revenue was $391.0 billion in fiscal 2023.", [("revenue", "FY2024")]),
    ("Net income was $96.7 billion in fiscal 2024.", [("net_income", "FY2024")]),
    ("Apple's diluted EPS was $6.18 in fiscal 2024.", [("eps_diluted", "FY2024")]),
]


@pytest.mark.parametrize("text,keys", GOOD, ids=[t for t, _ in GOOD])
def test_memo_sentences_citing_xbrl_facts_pass(
    ledger: tuple[Ledger, dict[tuple[str, str], Fact]], text: str, keys: list[tuple[str, str]]
) -> None:
    led, by = ledger
    assert _check(led, text, [by[k].id for k in keys]) == []


@pytest.mark.parametrize("text,keys", BAD, ids=[t for t, _ in BAD])
def test_a_wrong_figure_or_year_fails(
    ledger: tuple[Ledger, dict[tuple[str, str], Fact]], text: str, keys: list[tuple[str, str]]
) -> None:
    led, by = ledger
    assert _check(led, text, [by[k].id for k in keys])


def test_growth_and_margin_calculations_over_xbrl_facts(
    ledger: tuple[Ledger, dict[tuple[str, str], Fact]],
) -> None:
    led, by = ledger
    r24, r23 = by[("revenue", "FY2024")], by[("revenue", "FY2023")]
    gp24 = by[("gross_profit", "FY2024")]
    growth = Calculation(
        figure="2.0%",
        formula=f"({{{r24.id}:$391,035 million}} - {{{r23.id}:$383,285 million}}) / "
        f"{{{r23.id}:$383,285 million}} * 100",
    )
    text = "Revenue grew 2.0% in fiscal 2024."
    assert _check(led, text, [r24.id, r23.id], [growth]) == []
    wrong = growth.model_copy(update={"figure": "3.0%"})
    assert _check(led, "Revenue grew 3.0% in fiscal 2024.", [r24.id, r23.id], [wrong])
    margin = Calculation(
        figure="46.2%",
        formula=f"{{{gp24.id}:$180,683 million}} / {{{r24.id}:$391,035 million}} * 100",
    )
    text = "Gross margin was 46.2% in fiscal 2024."
    assert _check(led, text, [gp24.id, r24.id], [margin]) == []


# --- hand-written company facts -----------------------------------------------------------------


def _small(as_of: dt.date = AS_OF) -> tuple[list[Fact], list[str]]:
    return financial_facts(
        _hand("small.companyfacts.json"),
        as_of,
        cik=1,
        company="Small Corp",
        source_id="S2",
        first_id=7,
    )


def test_an_amendment_supersedes_the_original() -> None:
    facts, _ = _small()
    ni = _one(facts, "net_income", "FY2023")
    assert ni.filed and ni.filed.value == Decimal(65000000) and ni.filed.form == "10-K/A"
    before, _ = _small(dt.date(2024, 3, 1))  # the amendment was filed 2024-06-01
    original = _one(before, "net_income", "FY2023")
    assert original.filed and original.filed.value == Decimal(70000000)


def test_a_value_repeated_in_three_filings_is_one_fact_and_the_fallback_is_used() -> None:
    facts, _ = _small()
    fy23 = [
        f for f in facts if f.filed and f.filed.measure == "revenue" and f.filed.period == "FY2023"
    ]
    assert len(fy23) == 1 and fy23[0].filed
    assert fy23[0].filed.concept == "RevenueFromContractWithCustomerExcludingAssessedTax"
    assert fy23[0].id.startswith("F") and int(fy23[0].id[1:]) >= 7


def test_an_absent_measure_is_absent_and_noted() -> None:
    facts, notes = _small()
    measures = {f.filed.measure for f in facts if f.filed}
    assert "total_debt" not in measures and "gross_profit" not in measures
    debt = [n for n in notes if "long-term debt" in n]
    assert debt == [
        "Small Corp reports no single XBRL concept for long-term debt including current "
        "maturities (we read us-gaap:LongTermDebt, "
        "us-gaap:LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities) for fiscal "
        "2023, fiscal 2022, fiscal 2021, the quarter ended 2025-03-31"
    ]
    loss = _one(facts, "net_income", "quarter ended 2025-03-31")
    assert "-$2.5 million" in loss.statement
    assert ground_statement(loss.statement, loss.quote, DEFAULT_IDENTIFIERS) is None


def test_a_fund_gives_no_facts_and_a_note() -> None:
    facts, notes = financial_facts(
        _hand("fund.companyfacts.json"),
        AS_OF,
        cik=3,
        company="Some Fund Trust",
        source_id="S1",
        first_id=1,
    )
    assert facts == [] and len(notes) == 1 and "no us-gaap or ifrs-full" in notes[0]


def test_an_ifrs_filer_in_euros() -> None:
    cf = _hand("ifrs.companyfacts.json")
    facts, _ = financial_facts(
        cf, AS_OF, cik=2, company="Euro Holding N.V.", source_id="S1", first_id=1
    )
    revenue = _one(facts, "revenue", "FY2024")
    assert revenue.filed and revenue.filed.unit == "EUR"
    assert "EUR 6,100 million" in revenue.statement
    said = extract(revenue.statement)[0]
    assert (said.unit, said.value) == ("EUR", Decimal(6100000000))
    eps = _one(facts, "eps_diluted", "FY2024")
    assert eps.filed and eps.filed.unit == "EUR/shares" and "EUR 1.23" in eps.statement
    assert {f.filed.period for f in facts if f.filed} == {"FY2022", "FY2023", "FY2024"}
    for fact in facts:
        assert check_fact(fact, cf, company="Euro Holding N.V.") is None


def test_check_fact_catches_an_edited_value_and_an_edited_file(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    fact = facts[0]
    assert fact.filed is not None
    edited = fact.model_copy(update={"filed": fact.filed.model_copy(update={"value": Decimal(1)})})
    assert "quote is not its XBRL record" in (check_fact(edited, apple, company="Apple Inc.") or "")
    edited = edited.model_copy(update={"quote": quote_of(edited.filed)})  # type: ignore[arg-type]
    assert "is not in the company facts as stated" in (
        check_fact(edited, apple, company="Apple Inc.") or ""
    )
    relabelled = fact.model_copy(
        update={"filed": fact.filed.model_copy(update={"period": "FY2023"})}
    )
    assert "does not agree with its dates" in (
        check_fact(relabelled, apple, company="Apple Inc.") or ""
    )
    remeasured = fact.model_copy(
        update={"filed": fact.filed.model_copy(update={"measure": "net_income"})}
    )
    assert "is not one that states net_income" in (
        check_fact(remeasured, apple, company="Apple Inc.") or ""
    )
    changed = json.loads(json.dumps(apple))
    _entry_at(changed, fact)["val"] = 1
    assert "is not in the company facts" in (check_fact(fact, changed, company="Apple Inc.") or "")


def test_a_malformed_file_is_a_clear_error() -> None:
    from thesisgen.xbrl import CompanyFactsError

    with pytest.raises(CompanyFactsError, match="no 'facts'"):
        financial_facts({}, AS_OF, cik=1, company="X", source_id="S1", first_id=1)
    good = {"end": "2024-12-31", "val": 1, "accn": "0000000001-25-000001", "filed": "2025-02-01"}
    for change, message in [
        ({"end": "x"}, "not a date"),
        ({"val": float("nan")}, "not a finite number"),
        ({"accn": "../../etc/passwd"}, "not an accession number"),
        ({"start": "2025-06-01"}, "starts .* after it ends"),
    ]:
        row = {**good, **change}
        bad = {"facts": {"us-gaap": {"Revenues": {"label": "R", "units": {"USD": [row]}}}}}
        with pytest.raises(CompanyFactsError, match=message):
            financial_facts(bad, AS_OF, cik=1, company="X", source_id="S1", first_id=1)


def test_the_hand_written_data_is_labelled() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "hand-written" in readme.lower()
    for path in DATA.glob("*.json"):
        assert "HAND-WRITTEN" in json.loads(path.read_text(encoding="utf-8"))["_comment"], path


def test_apple_facts_survive_a_round_trip_through_facts_json(apple: dict[str, Any]) -> None:
    from thesisgen.recheck import check_factset

    facts, _ = _facts(apple)
    factset = FactSet(
        ticker="AAPL",
        company="Apple Inc.",
        sources=[SourceInfo(id="S1", title="Apple Inc. XBRL company facts")],
        facts=facts,
    )
    again = FactSet.model_validate_json(factset.model_dump_json())
    assert again.facts == facts  # EPS 6.08 comes back as the same Decimal
    assert check_factset(again) == []
    assert all(check_fact(fact, apple, company="Apple Inc.") is None for fact in again.facts)


# --- re-grounding checks a fact's meaning, not only its value -----------------------------------


def _refused(fact: Fact, cf: dict[str, Any], company: str = "Apple Inc.") -> str:
    """check_fact's reason, after checking the edit left the record written out as its quote (so
    only the meaning check can catch it)."""
    assert fact.filed is not None and fact.quote == quote_of(fact.filed)
    reason = check_fact(fact, cf, company=company)
    assert reason is not None and "\n" not in reason and reason.startswith(f"{fact.id}'s ")
    return reason


def test_a_statement_edited_to_total_debt_is_refused(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    debt = _one(facts, "total_debt", "end of FY2024")
    assert "long-term debt including current maturities" in debt.statement
    edited = debt.model_copy(
        update={
            "statement": debt.statement.replace(
                "long-term debt including current maturities", "total debt"
            )
        }
    )
    assert "statement" in _refused(edited, apple)


def test_an_edited_label_is_refused(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    fact = _one(facts, "net_income", "FY2024")
    assert fact.filed is not None
    filed = fact.filed.model_copy(update={"label": "Net Income Including Everything"})
    edited = fact.model_copy(update={"filed": filed, "quote": quote_of(filed)})
    assert "label" in _refused(edited, apple)


def test_an_edited_link_is_refused(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    fact = _one(facts, "revenue", "FY2024")
    assert fact.filed is not None
    filed = fact.filed.model_copy(update={"url": "https://example.com/apple-10-k.htm"})
    edited = fact.model_copy(update={"filed": filed})
    assert "url" in _refused(edited, apple)


def test_a_quarter_end_balance_relabelled_a_fiscal_year_end_is_refused(
    apple: dict[str, Any],
) -> None:
    facts, _ = _facts(apple)
    cash = _one(facts, "cash", "2025-03-29")
    assert cash.filed is not None and cash.filed.form == "10-Q"
    filed = cash.filed.model_copy(update={"period": "end of FY2025"})
    statement = cash.statement.replace(
        "as of March 29, 2025", "at the end of fiscal 2025 (March 29, 2025)"
    )
    assert statement != cash.statement
    edited = cash.model_copy(
        update={"filed": filed, "quote": quote_of(filed), "statement": statement}
    )
    assert "fiscal year-end" in _refused(edited, apple)
    # the same label on a balance at a real fiscal year's end passes
    year_end = _one(facts, "cash", "end of FY2024")
    assert check_fact(year_end, apple, company="Apple Inc.") is None


def test_the_company_named_in_statements_is_checked(apple: dict[str, Any]) -> None:
    facts, _ = _facts(apple)
    fact = _one(facts, "revenue", "FY2024")
    assert check_fact(fact, apple, company="Apple Inc.") is None
    assert "statement" in _refused(fact, apple, company="Pear Inc.")


# --- a cover-only amendment ---------------------------------------------------------------------


def test_a_cover_only_amendment_does_not_move_the_fiscal_year_end() -> None:
    cf = _hand("amended.companyfacts.json")
    facts, notes = financial_facts(
        cf, AS_OF, cik=4, company="Amended Corp", source_id="S1", first_id=1
    )
    quarter = _one(facts, "revenue", "quarter ended 2025-03-31")
    assert quarter.filed and quarter.filed.value == Decimal(31000000)
    assert _one(facts, "cash", "2025-03-31").filed
    assert {f.filed.period for f in facts if f.filed and f.filed.measure == "revenue"} == {
        "FY2022",
        "FY2023",
        "FY2024",
        "quarter ended 2025-03-31",
    }
    shares = [f for f in facts if f.filed and f.filed.measure == "shares_outstanding"]
    assert len(shares) == 1 and shares[0].filed and shares[0].filed.form == "10-K/A"
    assert not any("quarter" in n for n in notes if "revenue" in n)
    for fact in facts:
        assert check_fact(fact, cf, company="Amended Corp") is None


# --- fallback concepts say what they hold -------------------------------------------------------

# The candidates that hold their measure itself, stated with the measure's noun; any other
# candidate must have its own noun in NOUNS (a new fallback concept needs one or the other).
HOLD_THE_MEASURE = {
    ("us-gaap", "Revenues"),
    ("us-gaap", "RevenueFromContractWithCustomerExcludingAssessedTax"),
    ("us-gaap", "RevenueFromContractWithCustomerIncludingAssessedTax"),
    ("us-gaap", "SalesRevenueNet"),
    ("ifrs-full", "Revenue"),
    ("us-gaap", "GrossProfit"),
    ("ifrs-full", "GrossProfit"),
    ("us-gaap", "OperatingIncomeLoss"),
    ("ifrs-full", "ProfitLossFromOperatingActivities"),
    ("us-gaap", "NetIncomeLoss"),
    ("us-gaap", "EarningsPerShareDiluted"),
    ("ifrs-full", "DilutedEarningsLossPerShare"),
    ("us-gaap", "CashAndCashEquivalentsAtCarryingValue"),
    ("ifrs-full", "CashAndCashEquivalents"),
    ("us-gaap", "LongTermDebt"),
    ("dei", "EntityCommonStockSharesOutstanding"),
    ("us-gaap", "CommonStockSharesOutstanding"),
    ("us-gaap", "NetCashProvidedByUsedInOperatingActivities"),
    ("ifrs-full", "CashFlowsFromUsedInOperatingActivities"),
    ("us-gaap", "PaymentsToAcquirePropertyPlantAndEquipment"),
    ("ifrs-full", "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities"),
}


def test_every_fallback_that_holds_something_else_has_its_own_noun() -> None:
    from thesisgen.xbrl import NOUNS

    candidates = {(t, c) for m in MEASURES for t, c, _ in m.candidates}
    unnamed = sorted(candidates - HOLD_THE_MEASURE - set(NOUNS))
    assert unnamed == [], f"state what these concepts hold in xbrl.NOUNS: {unnamed}"
    assert set(NOUNS) <= candidates, sorted(set(NOUNS) - candidates)  # no stale entry
    assert not set(NOUNS) & HOLD_THE_MEASURE
    assert NOUNS[("us-gaap", "ProfitLoss")] == "net income including noncontrolling interests"
    assert NOUNS[("ifrs-full", "ProfitLossAttributableToOwnersOfParent")] == (
        "profit attributable to owners of the parent"
    )


def test_a_fallback_concept_is_stated_as_what_it_holds() -> None:
    def year(y: int, val: int) -> dict[str, Any]:
        return {
            "start": f"{y}-01-01", "end": f"{y}-12-31", "val": val, "accn": "0000000005-25-000001",
            "form": "10-K", "filed": "2025-02-20",
        }  # fmt: skip

    cf = {  # built here: net income only as us-gaap ProfitLoss (with minority interests)
        "cik": 5,
        "facts": {
            "us-gaap": {
                "ProfitLoss": {
                    "label": "Net Income (Loss), Including Portion Attributable to NCI",
                    "units": {"USD": [year(y, 7_000_000 + y) for y in (2022, 2023, 2024)]},
                }
            }
        },
    }
    facts, _ = financial_facts(cf, AS_OF, cik=5, company="Minor Co", source_id="S1", first_id=1)
    assert len(facts) == 3
    for fact in facts:
        assert "reported net income including noncontrolling interests of" in fact.statement
        assert check_fact(fact, cf, company="Minor Co") is None


def test_two_values_in_one_filing_for_one_period_are_left_out_with_a_note(
    apple: dict[str, Any],
) -> None:
    changed = json.loads(json.dumps(apple))
    rows = changed["facts"]["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"]
    entries = rows["units"]["USD"]
    fy2024 = next(
        e for e in entries if e["end"] == "2024-09-28" and e.get("start") == "2023-10-01"
        and e["accn"] == "0000320193-24-000123"
    )  # fmt: skip
    entries.append({**fy2024, "val": fy2024["val"] + 1})
    facts, notes = _facts(changed)
    revenue = {f.filed.period for f in facts if f.filed and f.filed.measure == "revenue"}
    assert "FY2024" not in revenue and "FY2023" in revenue
    assert any("two different values in the filing 0000320193-24-000123" in n for n in notes)
    untouched, _ = _facts(apple)
    assert "FY2024" in {
        f.filed.period for f in untouched if f.filed and f.filed.measure == "revenue"
    }

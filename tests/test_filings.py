"""Which EDGAR filings a point-in-time memo reads: Apple's real filing index and 10-K (shared/edgar,
read directly) and hand-written folder listings (tests/data/edgar/indexes.json, labelled)."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, real_edgar
from thesisgen.errors import UsageError
from thesisgen.filings import (
    Filing,
    FilingIndexError,
    SelectionError,
    exhibit_99_1,
    filings_of,
    first_filed,
    pages_needed,
    sections,
    select,
)
from thesisgen.sources import read_source

SUBMISSIONS = real_edgar("CIK0000320193.submissions.json")
TEN_K = real_edgar("aapl-20240928.htm")
DATA = ROOT / "tests" / "data" / "edgar"


@pytest.fixture(scope="module")
def submissions() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SUBMISSIONS.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def apple(submissions: dict[str, Any]) -> list[Filing]:
    return filings_of(submissions)


def _select(filings: list[Filing], as_of: dt.date, **kw: Any) -> Any:
    args: dict[str, Any] = {"eightk_days": 90, "max_filings": 8, "ticker": "AAPL"}
    args.update(kw)
    return select(filings, as_of, **args)


def _filing(
    accession: str, form: str, filed: str, report: str | None = None, items: str = ""
) -> Filing:
    return Filing(
        accession=accession,
        form=form,
        filed=dt.date.fromisoformat(filed),
        report_date=dt.date.fromisoformat(report) if report else None,
        primary_document="doc.htm",
        description=form,
        items=tuple(i for i in items.split(",") if i),
    )


# --- the filing index ---------------------------------------------------------------------------


def test_apple_as_of_mid_2025_reads_the_fy2024_10k_and_two_10qs(apple: list[Filing]) -> None:
    sel = _select(apple, dt.date(2025, 6, 30))
    assert sel.annual.accession == "0000320193-24-000123"
    assert sel.annual.primary_document == "aapl-20240928.htm"
    assert sel.annual.report_date == dt.date(2024, 9, 28)
    assert [f.accession for f in sel.quarterly] == ["0000320193-25-000057", "0000320193-25-000008"]
    assert sel.current, "Apple's results 8-K of 2025-05-01 is within 90 days"
    for filing in sel.current:
        assert filing.form == "8-K" and {"2.02", "7.01", "8.01"} & set(filing.items)
        assert dt.date(2025, 4, 1) <= filing.filed <= dt.date(2025, 6, 30)
    assert sel.notes == []
    assert sel.filings[0] == sel.annual


def test_apple_as_of_the_end_of_2025_reads_the_fy2025_10k(apple: list[Filing]) -> None:
    sel = _select(apple, dt.date(2025, 12, 31))
    assert sel.annual.accession == "0000320193-25-000079"
    assert sel.annual.primary_document == "aapl-20250927.htm"
    assert sel.quarterly == []


def _as_of_dates() -> list[dt.date]:
    return [dt.date(2016, 1, 1) + dt.timedelta(days=37 * n) for n in range(100)]


def test_nothing_filed_after_as_of_is_ever_selected(apple: list[Filing]) -> None:
    dates = _as_of_dates()
    assert dates[-1] > dt.date(2026, 1, 1)
    for as_of in dates:
        sel = _select(apple, as_of, eightk_days=60)
        chosen = sel.filings
        assert all(f.filed <= as_of for f in chosen), as_of
        annuals = [f for f in apple if f.form == "10-K" and f.filed <= as_of]
        assert sel.annual == max(annuals, key=lambda f: f.filed), as_of
        assert all(f.filed > sel.annual.filed for f in sel.quarterly)
        assert all(as_of - f.filed <= dt.timedelta(days=60) for f in sel.current)
        assert len(chosen) <= 8


def test_max_filings_keeps_the_annual_then_the_newest_and_notes_the_rest(
    apple: list[Filing],
) -> None:
    sel = _select(apple, dt.date(2025, 6, 30), max_filings=2)
    assert [f.accession for f in sel.filings] == ["0000320193-24-000123", "0000320193-25-000057"]
    assert any("0000320193-25-000008" in n and "10-Q" in n for n in sel.notes)
    assert any("8-K" in n and "edgar_max_filings=2" in n for n in sel.notes)


def test_urls_of_a_filing(apple: list[Filing]) -> None:
    filing = _select(apple, dt.date(2025, 6, 30)).annual
    folder = "https://www.sec.gov/Archives/edgar/data/320193/000032019324000123/"
    assert filing.folder_url(320193) == folder
    assert filing.document_url(320193) == folder + "aapl-20240928.htm"
    assert filing.document_url(320193, "ex99.htm") == folder + "ex99.htm"
    assert filing.index_url(320193) == folder + "0000320193-24-000123-index.htm"


def test_as_of_before_the_first_filing_names_it(
    apple: list[Filing], submissions: dict[str, Any]
) -> None:
    first = first_filed(submissions)
    assert first == dt.date(1994, 1, 26)  # from the older page's range
    with pytest.raises(SelectionError) as caught:
        _select(apple, dt.date(1990, 1, 1), first_filed=first)
    assert str(caught.value) == (
        "AAPL's first filing on EDGAR is 1994-01-26; choose a later --as-of"
    )
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_no_annual_report_yet_or_ever() -> None:
    later = [
        _filing("0000000009-26-000001", "10-K", "2026-03-01", "2025-12-31"),
        _filing("0000000009-25-000004", "10-Q", "2025-05-10", "2025-03-31"),
        _filing("0000000009-25-000001", "S-1", "2025-01-10"),
    ]
    with pytest.raises(SelectionError) as caught:
        _select(later, dt.date(2025, 6, 30), ticker="XYZ")
    assert str(caught.value) == (
        "XYZ has filed no 10-K, 20-F or 40-F on or before 2025-06-30 (its first is 10-K filed "
        "2026-03-01): pass its documents with --source"
    )
    with pytest.raises(SelectionError, match="XYZ has filed no 10-K, 20-F or 40-F at all: pass"):
        _select(later[1:], dt.date(2025, 6, 30), ticker="XYZ")


def test_the_annual_is_the_original_and_a_later_amendment_is_noted() -> None:
    filings = [
        _filing("0000000009-25-000007", "10-K/A", "2025-04-01", "2024-12-31"),
        _filing("0000000009-25-000002", "10-K", "2025-02-20", "2024-12-31"),
        _filing("0000000009-24-000002", "20-F", "2024-02-20", "2023-12-31"),
    ]
    sel = _select(filings, dt.date(2025, 6, 30))
    assert sel.annual.accession == "0000000009-25-000002"
    assert len(sel.notes) == 1 and "10-K/A 0000000009-25-000007" in sel.notes[0]
    assert _select(filings, dt.date(2025, 3, 1)).notes == []  # not yet filed then
    assert _select(filings, dt.date(2024, 6, 1)).annual.form == "20-F"


def test_8ks_without_news_items_are_not_read() -> None:
    filings = [
        _filing("0000000009-25-000009", "8-K", "2025-06-01", items="5.02"),
        _filing("0000000009-25-000008", "8-K", "2025-05-01", items="2.02,9.01"),
        _filing("0000000009-25-000003", "8-K", "2025-01-01", items="8.01"),
        _filing("0000000009-25-000002", "10-K", "2025-02-20", "2024-12-31"),
    ]
    sel = _select(filings, dt.date(2025, 6, 30))
    assert [f.accession for f in sel.current] == ["0000000009-25-000008"]


def test_a_malformed_index_is_a_clear_error(submissions: dict[str, Any]) -> None:
    with pytest.raises(FilingIndexError, match=r"no filings\.recent"):
        filings_of({"cik": "1"})
    recent = dict(submissions["filings"]["recent"])
    recent["form"] = recent["form"][:-1]
    with pytest.raises(FilingIndexError, match="column form does not have"):
        filings_of({"filings": {"recent": recent}})
    del recent["filingDate"]
    with pytest.raises(FilingIndexError, match="lacks the columns"):
        filings_of({"filings": {"recent": recent}})


def test_pages_needed(submissions: dict[str, Any]) -> None:
    assert pages_needed(submissions, dt.date(2025, 6, 30)) == []
    assert pages_needed(submissions, dt.date(2012, 6, 30)) == ["CIK0000320193-submissions-001.json"]
    assert pages_needed(submissions, dt.date(1990, 1, 1)) == ["CIK0000320193-submissions-001.json"]


def test_older_pages_are_merged_newest_first(submissions: dict[str, Any]) -> None:
    recent = submissions["filings"]["recent"]
    older = {k: v[-3:] for k, v in recent.items()}  # overlaps the recent page: no duplicates
    merged = filings_of(submissions, [older])
    assert len(merged) == len(filings_of(submissions))
    assert merged == sorted(merged, key=lambda f: (f.filed, f.accession), reverse=True)


# --- exhibit 99.1 -------------------------------------------------------------------------------


def test_exhibit_99_1_from_hand_written_listings() -> None:
    indexes = json.loads((DATA / "indexes.json").read_text(encoding="utf-8"))
    assert "HAND-WRITTEN" in indexes["_comment"]
    assert exhibit_99_1(indexes["with_991"]) == "d123456dex991.htm"
    assert exhibit_99_1(indexes["dashed"]) == "EX-99.1.HTM"
    assert exhibit_99_1(indexes["only_992"]) == "ex99_2.htm"
    assert exhibit_99_1(indexes["none"]) is None
    with pytest.raises(FilingIndexError):
        exhibit_99_1({"directory": {}})


@pytest.mark.parametrize(
    "name",
    [
        "ex99-1.htm",
        "ex991.htm",
        "aapl-20250501xex99.1.htm",
        "Ex99.1.txt",
        "d912345dex991.html",
        "a8-kex991q3202409282024.htm",
        "exhibit99-1.htm",
    ],
)
def test_exhibit_99_1_name_forms(name: str) -> None:
    listing = {"directory": {"item": [{"name": "ex10-1.htm"}, {"name": name}]}}
    assert exhibit_99_1(listing) == name


# --- sections of a filing -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_k_text() -> str:
    return read_source(TEN_K, "S1").text


def test_the_10k_sections_skip_the_table_of_contents(ten_k_text: str) -> None:
    parts = dict(sections(ten_k_text, "10-K"))
    assert list(parts) == [
        "Item 1. Business",
        "Item 1A. Risk Factors",
        "Item 7. Management's Discussion and Analysis",
    ]
    assert parts["Item 1. Business"].startswith("Company Background\nThe Company designs")
    mdna = parts["Item 7. Management's Discussion and Analysis"]
    assert "fiscal year 2024" in mdna and "391,035" in mdna
    assert "Item 7A" not in mdna and "Risk Factors" not in parts["Item 1. Business"][:200]


def test_a_subset_with_items_1_and_7_only(ten_k_text: str, tmp_path: Path) -> None:
    full = dict(sections(ten_k_text, "10-K"))
    lines = ["Item 1.    Business", *full["Item 1. Business"].splitlines()[:40]]
    lines += ["Item 7.    Management’s Discussion and Analysis of Financial Condition"]
    lines += full["Item 7. Management's Discussion and Analysis"].splitlines()[:40]
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in lines)
    page = tmp_path / "subset.htm"
    page.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    parts = dict(sections(read_source(page, "S1").text, "10-K"))
    assert list(parts) == ["Item 1. Business", "Item 7. Management's Discussion and Analysis"]
    assert parts["Item 1. Business"].startswith("Company Background")


TEN_Q = """PART I — FINANCIAL INFORMATION
Item 1.    Financial Statements
Item 2.    Management's Discussion and Analysis  | 13
Item 3.    Quantitative and Qualitative Disclosures About Market Risk
PART II — OTHER INFORMATION
Item 1A.    Risk Factors
Item 2.    Unregistered Sales of Equity Securities
PART I — FINANCIAL INFORMATION
Item 1.    Financial Statements
Net sales rose in the quarter.
Item 2.    Management's Discussion and Analysis of Financial Condition and Results of Operations
Quarterly revenue grew because of services.
More discussion.
Item 3.    Quantitative and Qualitative Disclosures About Market Risk
Nothing new.
PART II — OTHER INFORMATION
Item 1.    Legal Proceedings
None.
Item 1A.    Risk Factors
There have been no material changes to the risk factors.
Item 2.    Unregistered Sales of Equity Securities and Use of Proceeds
The company repurchased shares.
"""


def test_10q_sections_and_an_8k_exhibit_as_one_part() -> None:
    parts = dict(sections(TEN_Q, "10-Q"))
    assert parts == {
        "Part I, Item 2. Management's Discussion and Analysis": (
            "Quarterly revenue grew because of services.\nMore discussion."
        ),
        "Part II, Item 1A. Risk Factors": "There have been no material changes to the risk factors.",
    }
    assert sections("Apple reports results.", "8-K") == [("8-K text", "Apple reports results.")]
    assert sections("no items here", "10-K") == []

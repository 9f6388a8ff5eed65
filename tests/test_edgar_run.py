"""A run that reads SEC EDGAR: the AAPL bundle's recorded session replayed through the client
(`thesisgen facts --extract rules` needs no model), and the bad inputs a user meets, on the CLI
and over real HTTP to our EDGAR stub."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from stub_edgar import rate_limit_page, serve

from conftest import AAPL_RECORDINGS, companyfacts_entries, recorded_companyfacts, run_cli
from thesisgen.edgar import EdgarClient, EdgarSettings
from thesisgen.edgar_inputs import gather
from thesisgen.errors import EdgarServiceError, UsageError
from thesisgen.models import FactSet
from thesisgen.retry import RetryPolicy
from thesisgen.xbrl import fiscal_year

RECORDINGS = AAPL_RECORDINGS
UA = "Jane Doe Research jane@example.com"


def _facts(tmp_path: Path, *args: str) -> tuple[FactSet, str]:
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--out", tmp_path / "out", *args,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    text = (tmp_path / "out" / "facts.json").read_text(encoding="utf-8")
    return FactSet.model_validate_json(text), done.stderr


@pytest.fixture(scope="module")
def aapl(tmp_path_factory: pytest.TempPathFactory) -> tuple[FactSet, str]:
    return _facts(tmp_path_factory.mktemp("aapl"))


def _entry(cf: dict[str, Any], fact: Any) -> dict[str, Any]:
    found = companyfacts_entries(cf, fact.filed)
    assert found, f"{fact.id}: no entry at its locator"
    return found[0]


def test_each_financial_fact_is_the_companyfacts_record_at_its_locator(
    aapl: tuple[FactSet, str],
) -> None:
    factset, _ = aapl
    cf = recorded_companyfacts()
    xbrl = [f for f in factset.facts if f.kind == "xbrl"]
    assert len(xbrl) >= 30  # ten measures, three years and a quarter
    for fact in xbrl:
        assert fact.filed is not None
        entry = _entry(cf, fact)
        assert Decimal(str(entry["val"])) == fact.filed.value, fact.id
        assert entry["form"] == fact.filed.form and entry["filed"] == fact.filed.filed.isoformat()
        assert fact.filed.url.startswith("https://www.sec.gov/Archives/edgar/data/320193/")
    revenue = {
        f.filed.period: f.filed.value for f in xbrl if f.filed and f.filed.measure == "revenue"
    }
    assert revenue["FY2024"] == Decimal(391_035_000_000)
    assert {"FY2022", "FY2023", "FY2024"} <= set(revenue)


def test_no_fact_filed_after_the_as_of_date_and_labels_agree_with_dates(
    aapl: tuple[FactSet, str],
) -> None:
    factset, _ = aapl
    xbrl = [f.filed for f in factset.facts if f.filed is not None]
    assert xbrl
    for filed in xbrl:
        assert filed.filed <= dt.date(2025, 6, 30)
        if filed.period.startswith("FY") and filed.start is not None:
            assert filed.period == f"FY{fiscal_year(filed.start, filed.end)}"
            assert filed.period == f"FY{filed.end.year}"  # Apple's year ends in late September


def test_the_10k_sections_are_sources_that_link_to_the_filing(aapl: tuple[FactSet, str]) -> None:
    factset, stderr = aapl
    filing = [s for s in factset.sources if s.url and s.url.endswith("aapl-20240928.htm")]
    assert [s.title.split(": ")[-1] for s in filing] == [
        "Item 1. Business",
        "Item 7. Management's Discussion and Analysis",
    ]
    assert all(s.published == dt.date(2024, 11, 1) for s in filing)
    rules = [f for f in factset.facts if f.kind == "rules"]
    assert rules and {f.source_id for f in rules} == {s.id for s in filing}
    # what the recording does not hold is said, never silently dropped
    assert any("10-Q filed 2025-05-02" in w for w in factset.warnings)
    assert "10-Q filed 2025-05-02" in stderr


def test_a_later_as_of_selects_the_fy2025_10k_and_its_figures(tmp_path: Path) -> None:
    factset, stderr = _facts(tmp_path, "--as-of", "2025-12-31")
    assert "10-K filed 2025-10-31 (aapl-20250927.htm) skipped" in stderr  # not in the recording
    periods = {f.filed.period for f in factset.facts if f.filed and f.filed.measure == "revenue"}
    assert "FY2025" in periods and "FY2022" not in periods


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "1993-06-30"], "AAPL's first filing on EDGAR is 1994-01-26"),
        (["--as-of", "2010-06-30"], "choose an --as-of from 2015-10-28 on"),
        (
            ["--as-of", (dt.date.today() + dt.timedelta(days=30)).isoformat()],
            "is in the future",
        ),
    ],
)
def test_as_of_dates_edgar_cannot_answer(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--out", tmp_path, *args, cwd=tmp_path
    )
    assert done.code == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()[-1]) < 300 and "Traceback" not in done.stderr
    assert not (tmp_path / "facts.json").exists()


def test_a_ticker_not_in_the_secs_list(tmp_path: Path) -> None:
    done = run_cli(
        "facts", "--ticker", "ZZZQ", "--extract", "rules", "--recordings", RECORDINGS,
        "--out", tmp_path / "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 2, done.stderr
    assert "ZZZQ is not in the SEC's list" in done.stderr and "Traceback" not in done.stderr


def test_edgar_on_for_a_bundle_with_neither_recording_nor_user_agent(tmp_path: Path) -> None:
    done = run_cli("draft", "--ticker", "AREC", "--edgar", "on", "--out", tmp_path, cwd=tmp_path)
    assert done.code == 2
    assert "AREC has no EDGAR recording" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_live_fetch_without_a_user_agent_stops_before_any_call(tmp_path: Path) -> None:
    # a live model is configured (nothing listens there: a call would fail with exit 3)
    done = run_cli(
        "draft", "--ticker", "MSFT", "--base-url", "http://127.0.0.1:9/v1", "--out", tmp_path,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 2, done.stderr
    assert "THESISGEN_EDGAR_USER_AGENT" in done.stderr
    assert not any(tmp_path.iterdir())


def test_a_malformed_edgar_answer_is_a_service_error_not_a_traceback(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    shutil.copytree(RECORDINGS, recordings)
    path = next(recordings.glob("edgar-*submissions*.json"))
    record = json.loads(path.read_text(encoding="utf-8"))
    body = json.loads(record["response"]["body"])
    body["filings"]["recent"]["accessionNumber"][0] = "x"
    record["response"]["body"] = json.dumps(body)
    path.write_text(json.dumps(record), encoding="utf-8")
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--recordings", recordings,
        "--out", tmp_path / "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 3, done.stderr
    assert "is not as EDGAR serves it" in done.stderr and "Traceback" not in done.stderr


def test_a_bundle_without_an_edgar_recording_stays_offline_with_a_user_agent(
    tmp_path: Path,
) -> None:
    done = run_cli(
        "facts", "--ticker", "PKX", "--extract", "rules", "--out", tmp_path / "out", cwd=tmp_path,
        THESISGEN_EDGAR_USER_AGENT=UA,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert "SEC filings" not in done.stderr


# --- over HTTP to the EDGAR stub: companies EDGAR answers differently --------------------------

TICKERS = {"0": {"cik_str": 1234567, "ticker": "NEWCO", "title": "Newco Holdings Inc."}}
CIK_PATH = "/submissions/CIK0001234567.json"
FACTS_PATH = "/api/xbrl/companyfacts/CIK0001234567.json"
ACCESSION = "0001234567-25-000010"
DOC_PATH = "/Archives/edgar/data/1234567/000123456725000010/newco-10k.htm"
# Headings as filing agents write them (a bold span in a div, as in Apple's inline XBRL 10-K).
TEN_K_HTML = (
    "".join(
        f'<div><span style="font-weight:700">{heading}</span></div><div><span>{body}</span></div>'
        for heading, body in [
            (
                "Item 1.&#160;&#160;Business",
                "Newco Holdings makes industrial valves for 12 countries.",
            ),
            ("Item 1A.&#160;&#160;Risk Factors", "Newco depends on one supplier for its castings."),
            (
                "Item 7.&#160;&#160;Management&#8217;s Discussion and Analysis",
                "Revenue was $40 million.",
            ),
            ("Item 7A.&#160;&#160;Quantitative and Qualitative Disclosures", "None."),
        ]
    )
    .join(["<html><body>", "</body></html>"])
    .encode()
)


def _index(forms: list[tuple[str, str, str]]) -> bytes:
    """A hand-written filing index (EDGAR's submissions shape) with ``(form, filed, doc)`` rows."""
    recent = {
        "accessionNumber": [f"0001234567-25-{n:06d}" for n in range(10, 10 + len(forms))],
        "filingDate": [filed for _, filed, _ in forms],
        "reportDate": ["2024-12-31" for _ in forms],
        "form": [form for form, _, _ in forms],
        "primaryDocument": [doc for _, _, doc in forms],
        "primaryDocDescription": [form for form, _, _ in forms],
        "items": ["" for _ in forms],
    }
    return json.dumps(
        {
            "cik": "1234567",
            "name": "Newco Holdings Inc.",
            "filings": {"recent": recent, "files": []},
        }
    ).encode()


def _gather(tmp_path: Path, routes: dict[str, Any], faults: Any = None, **kw: Any) -> Any:
    routes = {"/files/company_tickers.json": json.dumps(TICKERS).encode(), **routes}
    notes: list[str] = []
    with serve(routes, faults) as stub:
        settings = EdgarSettings(
            mode="live",
            user_agent=UA,
            rate=10.0,
            store_dir=tmp_path / "store",
            recordings_dir=None,
            max_age_hours=24.0,
            retry=RetryPolicy(attempts=3, sleep=lambda s: None),
            ticker="NEWCO",
        )
        with EdgarClient(settings, transport=stub.transport()) as client:
            found = gather(
                client, "NEWCO", dt.date(2025, 6, 30), store=tmp_path / "store", first_source=1,
                eightk_days=90, max_filings=8, max_source_bytes=10_000_000, note=notes.append,
                **kw,
            )  # fmt: skip
    return found, notes


def test_an_older_index_page_is_read_and_the_ledger_keeps_its_company_name(
    tmp_path: Path,
) -> None:
    recent = json.loads(_index([("8-K", "2025-05-01", "x.htm")]))
    recent["filings"]["files"] = [
        {"name": "CIK0001234567-submissions-001.json", "filingFrom": "2010-01-01"}
    ]
    older = json.loads(_index([("10-K", "2025-03-01", "newco-10k.htm")]))["filings"]["recent"]
    routes = {
        CIK_PATH: json.dumps(recent).encode(),
        "/submissions/CIK0001234567-submissions-001.json": json.dumps(older).encode(),
        DOC_PATH: TEN_K_HTML,
    }
    found, _ = _gather(tmp_path, routes, name="Newco (as the analyst names it)")
    assert found.company == "Newco (as the analyst names it)"
    assert found.sources and all(s.url.endswith("newco-10k.htm") for s in found.sources)


def test_a_company_with_no_10k_yet(tmp_path: Path) -> None:
    routes = {CIK_PATH: _index([("S-1", "2025-03-01", "s1.htm"), ("8-K", "2025-05-01", "x.htm")])}
    with pytest.raises(UsageError, match="has filed no 10-K, 20-F or 40-F") as caught:
        _gather(tmp_path, routes)
    assert caught.value.exit_code == 2


def test_an_issuer_without_xbrl_gets_filing_text_and_a_note(tmp_path: Path) -> None:
    routes = {CIK_PATH: _index([("10-K", "2025-03-01", "newco-10k.htm")]), DOC_PATH: TEN_K_HTML}
    found, notes = _gather(tmp_path, routes)  # the companyfacts path answers 404
    assert found.financials == [] and found.xbrl_source is None
    assert any("no XBRL financial data" in n for n in notes)
    assert [s.title.split(": ")[-1] for s in found.sources] == [
        "Item 1. Business",
        "Item 1A. Risk Factors",
        "Item 7. Management's Discussion and Analysis",
    ]
    assert all(s.url and s.url.endswith("newco-10k.htm") for s in found.sources)


def test_a_filing_whose_document_is_missing_is_named_and_skipped(tmp_path: Path) -> None:
    routes = {CIK_PATH: _index([("10-K", "2025-03-01", "newco-10k.htm")])}
    found, notes = _gather(tmp_path, routes)
    assert found.sources == []
    assert any("10-K filed 2025-03-01 (newco-10k.htm) skipped" in n for n in notes)


def test_edgar_throttling_is_a_service_error_after_the_retries(tmp_path: Path) -> None:
    routes = {CIK_PATH: _index([("10-K", "2025-03-01", "newco-10k.htm")]), DOC_PATH: TEN_K_HTML}
    with pytest.raises(EdgarServiceError, match="throttling") as caught:
        _gather(tmp_path, routes, {"*": [rate_limit_page()] * 10})
    assert caught.value.exit_code == 3


def test_financial_facts_name_the_company_as_the_ledger_does(tmp_path: Path) -> None:
    """--company (or a bundle's name) is the ledger's company: the XBRL statements use it, so
    re-grounding, which rebuilds each statement with the ledger's company, accepts them."""
    from thesisgen.recheck import reground

    cache = tmp_path / "cache"
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--company", "Apple Computer Inc.",
        "--out", tmp_path / "out", cwd=tmp_path, THESISGEN_CACHE_DIR=str(cache),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    factset = FactSet.model_validate_json((tmp_path / "out" / "facts.json").read_text())
    assert factset.company == "Apple Computer Inc."
    xbrl = [f for f in factset.facts if f.kind == "xbrl"]
    assert xbrl and all(f.statement.startswith("Apple Computer Inc. ") for f in xbrl)
    files = {s.id: cache / "edgar" / s.path for s in factset.sources if s.path}
    assert all(path.is_file() for path in files.values())
    _, problems, _ = reground(factset, files)
    assert problems == []


def test_offline_replays_edgar_even_with_a_user_agent(tmp_path: Path) -> None:
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--offline", "--out", tmp_path / "out",
        cwd=tmp_path, THESISGEN_EDGAR_USER_AGENT=UA,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert "(replayed from" in done.stderr and "(live)" not in done.stderr


def test_edgar_off_for_a_bundle_that_is_only_an_edgar_session(tmp_path: Path) -> None:
    done = run_cli(
        "draft", "--ticker", "AAPL", "--edgar", "off", "--out", tmp_path / "o", cwd=tmp_path
    )
    assert done.code == 2 and "nothing to read for AAPL" in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_a_replay_without_the_company_facts_is_refused(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    shutil.copytree(RECORDINGS, recordings)
    next(recordings.glob("edgar-*companyfacts*.json")).unlink()
    done = run_cli(
        "facts", "--ticker", "AAPL", "--extract", "rules", "--recordings", recordings,
        "--out", tmp_path / "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 2 and "holds no company facts" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()

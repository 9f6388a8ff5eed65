"""The EDGAR client over real HTTP to our stub on 127.0.0.1: ticker lookup, cache, record and
replay, retries and throttling, the rate limiter, and the User-Agent rule."""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import httpx2
import pytest
from stub_edgar import Fault, forbidden, rate_limit_page, serve, server_error, too_many

from thesisgen.edgar import (
    TICKERS_URL,
    EdgarClient,
    EdgarSettings,
    Fetched,
    Missing,
    RateLimiter,
    accession_digits,
)
from thesisgen.errors import EdgarServiceError, RecordingError, UsageError
from thesisgen.recording import load_recordings, recording_files
from thesisgen.retry import RetryPolicy

UA = "Jane Doe Research jane@example.com"
TICKERS = {
    "0": {"cik_str": 789019, "ticker": "MSFT", "title": "MICROSOFT CORP"},
    "1": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."},
    "2": {"cik_str": 1318605, "ticker": "TSLA", "title": "Tesla, Inc."},
}
SUBMISSIONS = {"cik": "0000320193", "name": "Apple Inc.", "filings": {"recent": {"form": ["10-K"]}}}
FACTS = {"cik": 320193, "entityName": "Apple Inc.", "facts": {}}
DOC = b"<html><body><p>Apple designs smartphones.</p></body></html>"
ACCESSION = "0000320193-24-000123"
DOC_PATH = "/Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm"
ROUTES: dict[str, Path | bytes] = {
    "/files/company_tickers.json": json.dumps(TICKERS).encode(),
    "/submissions/CIK0000320193.json": json.dumps(SUBMISSIONS).encode(),
    "/api/xbrl/companyfacts/CIK0000320193.json": json.dumps(FACTS).encode(),
    DOC_PATH: DOC,
}


def _settings(tmp_path: Path, mode: str = "live", **kw: object) -> EdgarSettings:
    base: dict[str, object] = {
        "mode": mode,
        "user_agent": UA,
        "rate": 10.0,
        "store_dir": tmp_path / "store",
        "recordings_dir": tmp_path / "recordings",
        "max_age_hours": 24.0,
        "retry": RetryPolicy(sleep=lambda s: None),
        "ticker": "AAPL",
    }
    base.update(kw)
    return EdgarSettings(**base)  # type: ignore[arg-type]


class _FakeClock:
    """A clock that only moves when the limiter sleeps: spacing is checked without timing."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter() -> RateLimiter:
    clock = _FakeClock()
    return RateLimiter(10.0, clock.clock, clock.sleep)


def test_ticker_resolves_to_its_cik_with_the_user_agent_sent(tmp_path: Path) -> None:
    with serve(ROUTES) as stub, EdgarClient(_settings(tmp_path), stub.transport()) as client:
        company = client.company("aapl")
    assert (company.cik, company.ticker, company.name) == (320193, "AAPL", "Apple Inc.")
    assert stub.requests[0]["headers"]["User-Agent"] == UA
    assert "gzip" in stub.requests[0]["headers"]["Accept-Encoding"]
    assert (tmp_path / "store" / "company_tickers.json").read_bytes() == ROUTES[
        "/files/company_tickers.json"
    ]


def test_unknown_ticker_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    with (
        serve(ROUTES) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
        pytest.raises(UsageError) as caught,
    ):
        client.company("ZZZZ")
    assert caught.value.exit_code == 2
    assert "ticker ZZZZ is not in the SEC's list of company tickers" in str(caught.value)
    assert "--source" in str(caught.value)


def test_endpoints_fetch_and_store_under_flat_names(tmp_path: Path) -> None:
    with serve(ROUTES) as stub, EdgarClient(_settings(tmp_path), stub.transport()) as client:
        subs = client.submissions(320193)
        facts = client.companyfacts(320193)
        doc = client.document(320193, ACCESSION, "aapl-20240928.htm")
    assert subs.json() == SUBMISSIONS
    assert subs.url == "https://data.sec.gov/submissions/CIK0000320193.json"
    assert isinstance(facts, Fetched) and facts.name == "CIK0000320193.companyfacts.json"
    assert isinstance(doc, Fetched) and doc.content == DOC
    assert doc.name == "320193-000032019324000123-aapl-20240928.htm"
    stored = sorted(p.name for p in (tmp_path / "store").iterdir())
    assert stored == [
        "320193-000032019324000123-aapl-20240928.htm",
        "CIK0000320193.companyfacts.json",
        "CIK0000320193.submissions.json",
    ]


def test_404_is_missing_not_an_error(tmp_path: Path) -> None:
    with serve(ROUTES) as stub, EdgarClient(_settings(tmp_path), stub.transport()) as client:
        facts = client.companyfacts(1234567)  # no XBRL (a fund, a new issuer)
        doc = client.document(320193, ACCESSION, "ex99-1.htm")
        index = client.filing_index(320193, ACCESSION)
    for got in (facts, doc, index):
        assert isinstance(got, Missing) and got.reason == "not found on EDGAR (HTTP 404)"
    assert index.url.endswith("/320193/000032019324000123/index.json")


def test_a_second_client_is_served_from_the_store(tmp_path: Path) -> None:
    with serve(ROUTES) as stub:
        with EdgarClient(_settings(tmp_path), stub.transport()) as first:
            first.company("AAPL")
            first.submissions(320193)
            first.document(320193, ACCESSION, "aapl-20240928.htm")
        assert first.requests == 3
        with EdgarClient(_settings(tmp_path), stub.transport()) as second:
            assert second.company("AAPL").cik == 320193
            assert second.submissions(320193).json() == SUBMISSIONS
            doc = second.document(320193, ACCESSION, "aapl-20240928.htm")
        assert isinstance(doc, Fetched) and doc.content == DOC
        assert second.requests == 0
        assert len(stub.requests) == 3


def test_stale_index_files_are_fetched_again_documents_never(tmp_path: Path) -> None:
    with serve(ROUTES) as stub:
        with EdgarClient(_settings(tmp_path), stub.transport()) as first:
            first.submissions(320193)
            first.document(320193, ACCESSION, "aapl-20240928.htm")
        year_ago = time.time() - 365 * 24 * 3600
        for path in (tmp_path / "store").iterdir():
            os.utime(path, (year_ago, year_ago))
        with EdgarClient(_settings(tmp_path), stub.transport()) as second:
            second.submissions(320193)
            second.document(320193, ACCESSION, "aapl-20240928.htm")
        assert second.requests == 1
        assert stub.paths() == [
            "/submissions/CIK0000320193.json",
            DOC_PATH,
            "/submissions/CIK0000320193.json",
        ]


def test_record_then_replay_gives_the_same_bytes_without_a_server(tmp_path: Path) -> None:
    with (
        serve(ROUTES) as stub,
        EdgarClient(_settings(tmp_path, "record"), stub.transport()) as recorder,
    ):
        recorder.company("AAPL")
        recorded = [
            recorder.submissions(320193),
            recorder.companyfacts(320193),
            recorder.document(320193, ACCESSION, "aapl-20240928.htm"),
        ]
        absent = recorder.document(320193, ACCESSION, "ex99-1.htm")
    assert isinstance(absent, Missing)
    files = recording_files(tmp_path / "recordings")
    urls = {json.loads(p.read_text(encoding="utf-8"))["request"]["url"] for p in files}
    assert "https://www.sec.gov/files/company_tickers.json" in urls  # the URL asked, not the stub's
    assert len(files) == 4  # ticker list, submissions, facts, document; not the 404
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "Jane Doe" not in text and "jane@example.com" not in text
    assert {r.label.split("/")[1] for r in load_recordings(tmp_path / "recordings")} == {"edgar"}

    class NoNetwork(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise AssertionError(f"replay reached the network: {request.url}")

    replay = _settings(tmp_path, "replay", user_agent=None, store_dir=tmp_path / "store2")
    with EdgarClient(replay, NoNetwork()) as client:
        assert client.company("AAPL").cik == 320193
        again = [
            client.submissions(320193),
            client.companyfacts(320193),
            client.document(320193, ACCESSION, "aapl-20240928.htm"),
        ]
        missing = client.document(320193, ACCESSION, "ex99-1.htm")
        index = client.filing_index(320193, ACCESSION)
    for before, after in zip(recorded, again, strict=True):
        assert isinstance(before, Fetched) and isinstance(after, Fetched)
        assert after.content == before.content and after.name == before.name
        assert (tmp_path / "store2" / after.name).read_bytes() == before.content
    for got in (missing, index):
        assert isinstance(got, Missing) and got.reason.startswith("not in the recording")


def test_replay_without_the_ticker_list_says_how_to_record(tmp_path: Path) -> None:
    (tmp_path / "recordings").mkdir()
    with EdgarClient(_settings(tmp_path, "replay", user_agent=None)) as client:
        with pytest.raises(RecordingError) as caught:
            client.company("AAPL")
        with pytest.raises(RecordingError):
            client.submissions(320193)
    assert "thesisgen record --ticker AAPL --recordings DIR" in str(caught.value)
    assert TICKERS_URL in str(caught.value)


def test_429_then_200_recovers_after_the_retry_after_wait(tmp_path: Path) -> None:
    waits: list[float] = []
    settings = _settings(tmp_path, retry=RetryPolicy(initial_wait_s=0.5, sleep=waits.append))
    faults = {"/submissions/CIK0000320193.json": [too_many("7")]}
    with serve(ROUTES, faults) as stub, EdgarClient(settings, stub.transport()) as client:
        assert client.submissions(320193).json() == SUBMISSIONS
    assert client.requests == 2
    assert len(waits) == 1 and waits[0] >= 7


def test_500_is_retried(tmp_path: Path) -> None:
    faults = {"*": [server_error(), server_error()]}
    with (
        serve(ROUTES, faults) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
    ):
        assert client.company("TSLA").cik == 1318605
    assert client.requests == 3


def test_the_rate_limit_page_every_time_is_the_throttling_error(tmp_path: Path) -> None:
    waits: list[float] = []
    settings = _settings(tmp_path, retry=RetryPolicy(attempts=4, sleep=waits.append))
    faults = {"*": [rate_limit_page()] * 10}
    with (
        serve(ROUTES, faults) as stub,
        EdgarClient(settings, stub.transport()) as client,
        pytest.raises(EdgarServiceError) as caught,
    ):
        client.company("AAPL")
    assert caught.value.exit_code == 3
    message = str(caught.value)
    assert message.startswith("SEC EDGAR is throttling requests (HTTP 403, its rate-limit page)")
    assert "after 4 tries" in message and "edgar_rate" in message
    assert len(stub.requests) == 4 and len(waits) == 3


def test_a_plain_403_names_the_user_agent_setting_after_one_request(tmp_path: Path) -> None:
    faults = {"*": [forbidden()] * 5}
    with (
        serve(ROUTES, faults) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
        pytest.raises(UsageError) as caught,
    ):
        client.company("AAPL")
    assert "edgar_user_agent" in str(caught.value) and "\n" not in str(caught.value)
    assert len(stub.requests) == 1


def test_an_unexpected_status_is_a_service_error(tmp_path: Path) -> None:
    faults = {"*": [Fault(410, b"gone")]}
    with (
        serve(ROUTES, faults) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
        pytest.raises(EdgarServiceError, match="HTTP 410"),
    ):
        client.company("AAPL")


def test_the_limiter_spaces_requests_by_one_over_the_rate() -> None:
    clock = _FakeClock()
    limiter = RateLimiter(4.0, clock.clock, clock.sleep)
    starts = []
    for _ in range(5):
        limiter.wait()
        starts.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == [0.25, 0.25, 0.25, 0.25]
    clock.now += 10  # an idle spell: the next request need not wait
    limiter.wait()
    assert clock.sleeps == [0.25, 0.25, 0.25, 0.25]


def test_the_client_waits_on_its_limiter_for_every_request(tmp_path: Path) -> None:
    clock = _FakeClock()
    limiter = RateLimiter(2.0, clock.clock, clock.sleep)
    with serve(ROUTES) as stub, EdgarClient(_settings(tmp_path), stub.transport(), limiter) as c:
        c.company("AAPL")
        c.submissions(320193)
        c.companyfacts(320193)
    assert clock.sleeps == [0.5, 0.5]


@pytest.mark.parametrize("mode", ["live", "record"])
def test_a_network_fetch_without_a_user_agent_names_the_setting(tmp_path: Path, mode: str) -> None:
    with pytest.raises(UsageError) as caught:
        EdgarClient(_settings(tmp_path, mode, user_agent=None))
    assert "edgar_user_agent" in str(caught.value)
    assert "THESISGEN_EDGAR_USER_AGENT" in str(caught.value)


def test_bad_names_and_accessions_are_not_fetched(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="accession"):
        accession_digits("12-34")
    assert accession_digits("000032019324000123") == "000032019324000123"
    with serve(ROUTES) as stub, EdgarClient(_settings(tmp_path), stub.transport()) as client:
        got = client.document(320193, ACCESSION, "../../etc/passwd")
        older = client.older_submissions("a/b.json")
    assert isinstance(got, Missing) and isinstance(older, Missing)
    assert stub.requests == []


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "AAPL" / "recordings"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "edgar"


def _replay_fixture(tmp_path: Path) -> EdgarClient:
    class NoNetwork(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            raise AssertionError(f"replay reached the network: {request.url}")

    settings = _settings(tmp_path, "replay", user_agent=None, recordings_dir=FIXTURE)
    return EdgarClient(settings, NoNetwork())


def test_the_aapl_session_replays_through_the_client(tmp_path: Path) -> None:
    with _replay_fixture(tmp_path) as client:
        company = client.company("AAPL")
        assert (company.cik, company.name) == (320193, "Apple Inc.")
        with pytest.raises(UsageError, match="ticker ZZZZ is not in the SEC's list"):
            client.company("ZZZZ")
        recent = client.submissions(company.cik).json()["filings"]["recent"]
        at = recent["accessionNumber"].index("0000320193-24-000123")
        assert (recent["form"][at], recent["primaryDocument"][at]) == ("10-K", "aapl-20240928.htm")
        facts = client.companyfacts(company.cik)
        doc = client.document(company.cik, "0000320193-24-000123", "aapl-20240928.htm")
        later = recent["accessionNumber"].index("0000320193-25-000079")  # the FY2025 10-K
        absent = client.document(company.cik, recent["accessionNumber"][later], "aapl-20250927.htm")
        index = client.filing_index(company.cik, "0000320193-24-000123")
        older = client.older_submissions("CIK0000320193-submissions-001.json")
    assert isinstance(facts, Fetched) and isinstance(doc, Fetched)
    assert "RevenueFromContractWithCustomerExcludingAssessedTax" in facts.json()["facts"]["us-gaap"]
    assert b"Management&#8217;s Discussion and Analysis" in doc.content
    for got in (absent, index, older):
        assert isinstance(got, Missing) and got.reason.startswith("not in the recording")
    stored = sorted(p.name for p in (tmp_path / "store").iterdir())
    assert stored == [
        "320193-000032019324000123-aapl-20240928.htm",
        "CIK0000320193.companyfacts.json",
        "CIK0000320193.submissions.json",
        "company_tickers.json",
    ]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared EDGAR responses are not here")
def test_the_fixture_keeps_the_real_values_unchanged(tmp_path: Path) -> None:
    with _replay_fixture(tmp_path) as client:
        client.company("AAPL")
        facts = client.companyfacts(320193)
        subs = client.submissions(320193)
        tickers = json.loads((tmp_path / "store" / "company_tickers.json").read_bytes())
    assert isinstance(facts, Fetched)
    real = json.loads((SHARED / "AAPL" / "CIK0000320193.companyfacts.json").read_bytes())
    kept = facts.json()
    assert kept["facts"]["dei"] == real["facts"]["dei"]
    concepts = [(t, c) for t, group in kept["facts"].items() for c in group]
    assert len(concepts) > 10
    for taxonomy, concept in concepts:
        assert kept["facts"][taxonomy][concept] == real["facts"][taxonomy][concept]
    real_subs = SHARED / "AAPL" / "CIK0000320193.submissions.json"
    assert subs.content == real_subs.read_bytes()
    real_tickers = json.loads((SHARED / "company_tickers.json").read_bytes())
    assert tickers and all(real_tickers[key] == entry for key, entry in tickers.items())


def test_record_mode_fetches_what_the_store_already_holds(tmp_path: Path) -> None:
    with serve(ROUTES) as stub:
        with EdgarClient(_settings(tmp_path), stub.transport()) as live:
            live.submissions(320193)
        with EdgarClient(_settings(tmp_path, "record"), stub.transport()) as recorder:
            recorder.submissions(320193)
        assert recorder.requests == 1 and len(stub.requests) == 2
    assert len(recording_files(tmp_path / "recordings")) == 1


def test_an_answer_over_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("thesisgen.edgar.MAX_RESPONSE_BYTES", len(DOC) - 1)
    with (
        serve(ROUTES) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
        pytest.raises(EdgarServiceError, match="it was not kept"),
    ):
        client.document(320193, ACCESSION, "aapl-20240928.htm")
    assert not (tmp_path / "store").exists()


def test_a_cik_without_a_filing_index_is_a_one_line_error(tmp_path: Path) -> None:
    with (
        serve(ROUTES) as stub,
        EdgarClient(_settings(tmp_path), stub.transport()) as client,
        pytest.raises(EdgarServiceError, match="the filing index of CIK 1234567 is not on"),
    ):
        client.submissions(1234567)

"""The SEC EDGAR client: ticker to CIK, a company's filing index and XBRL facts, filing documents.

The I/O edge of EDGAR, on the same machinery as model calls: the httpx2 transports of
:mod:`thesisgen.recording` (live, record, replay, one file format), the tenacity policy of
:mod:`thesisgen.retry`, and one-line errors. EDGAR's rules are kept here: a User-Agent naming a
person and an e-mail on every request, at most ``rate`` requests a second (the SEC allows 10), and
its rate-limit page (a 403, not a 429) treated as throttling.

Every body fetched is saved in ``store_dir`` under a flat file name (:attr:`Fetched.name`), in every
mode, because re-grounding later re-reads the companyfacts file and filing texts from there. In live
mode the store is also the cache: archive documents never change (their accession number fixes
them), so they are kept for good; the ticker list, filing index and facts are fetched again after
``max_age_hours``.

Why not a library: edgartools 5.62.1 (well kept, and the source of our real test responses) adds
418 MB to a venv and takes 1.24 s to import, and it fetches through its own HTTP stack, so our
record/replay transports, retry policy and store could not sit under it. The documented JSON
endpoints and archive URLs this module reads are four, and add no install and about 10 ms of
import over httpx2, which the model client already loads.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2

from .errors import EdgarServiceError, RecordingError, UsageError
from .files import write_bytes_atomic
from .filings import ARCHIVES, DATA, WWW
from .recording import CALL_HEADER, CallLabel, RecordingTransport, ReplayTransport, url_target
from .retry import RetryPolicy

TICKERS_URL = f"{WWW}/files/company_tickers.json"
MAX_RESPONSE_BYTES = 50 * 1024 * 1024  # Apple's companyfacts is 3.7 MB; a 10-K a few MB
MAX_TICKERS = 100_000  # entries read from the ticker list (it holds about 10,000)
RATE_LIMIT_MARKERS = (
    "Request Rate Threshold Exceeded",
    "Undeclared Automated Tool",
)
USER_AGENT_FIX = (
    "set edgar_user_agent in the config file or THESISGEN_EDGAR_USER_AGENT to your name and "
    'contact e-mail, e.g. "Jane Doe Research jane@example.com"'
)
_ACCESSION = re.compile(r"^(\d{10})-?(\d{2})-?(\d{6})$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")

Kind = Literal["index", "archive"]  # index: changes over time (cached for a while); archive: never


@dataclass(frozen=True)
class EdgarSettings:
    mode: Literal["live", "record", "replay"]
    user_agent: str | None  # live and record need it (the SEC refuses anonymous clients)
    rate: float  # requests per second at most (<= 10)
    store_dir: Path | None  # disk cache and document store: <cache_dir>/edgar
    recordings_dir: Path | None  # record writes here, replay reads here
    max_age_hours: float  # ticker list, submissions, companyfacts; archive documents are kept
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ticker: str = "EDGAR"  # for call labels
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Company:
    cik: int
    ticker: str
    name: str


@dataclass(frozen=True)
class Fetched:
    url: str
    name: str  # a flat, safe, unique file name in store_dir
    content: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise EdgarServiceError(
                f"{self.name} from {self.url} is not JSON ({exc}): delete it from the EDGAR "
                "cache folder and fetch again"
            ) from exc


NOT_RECORDED = "not in the recording"  # Missing.reason of a replay that lacks the response


@dataclass(frozen=True)
class Missing:
    url: str
    reason: str  # "not found on EDGAR (HTTP 404)" / "not in the recording" (no path: it reaches the memo)


class RateLimiter:
    """At most ``rate`` requests a second, across threads: each request takes the next free slot
    ``1/rate`` seconds after the previous one. ``clock`` and ``sleep`` are injectable so a test can
    check the spacing without timing anything."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise UsageError(f"edgar_rate must be above 0 (it is {rate}): set it to 10 or less")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


class _Retryable(Exception):
    """A response worth another try (429, 5xx, the rate-limit page); carries it for Retry-After."""

    def __init__(self, response: httpx2.Response, throttled: bool) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.throttled = throttled


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (_Retryable, httpx2.TimeoutException, httpx2.TransportError))


def accession_digits(accession: str) -> str:
    """``0000320193-24-000123`` (or its 18 digits) as the archive path writes it; a UsageError
    for anything else, since an accession number comes from the filing index or the user."""
    match = _ACCESSION.match(accession.strip())
    if match is None:
        raise UsageError(
            f"{accession!r} is not an SEC accession number: write it as 0000320193-24-000123"
        )
    return "".join(match.groups())


class EdgarClient:
    """A thread-safe EDGAR client for one run. ``transport`` is the network under the mode's
    stack (tests pass one that reaches a stub server); replay never uses it."""

    def __init__(
        self,
        settings: EdgarSettings,
        transport: httpx2.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.requests = 0  # HTTP requests sent (replayed ones included), not cache hits
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        user_agent = settings.user_agent
        if settings.mode != "replay" and not user_agent:
            raise UsageError(
                f"a {settings.mode} fetch from SEC EDGAR needs a User-Agent naming you: "
                + USER_AGENT_FIX
            )
        self._limiter = limiter or RateLimiter(settings.rate)
        stack: httpx2.BaseTransport
        if settings.mode == "replay":
            if settings.recordings_dir is None:
                raise UsageError("replaying EDGAR needs a recordings folder: pass --recordings")
            stack = ReplayTransport(settings.recordings_dir)
        else:
            network = transport if transport is not None else httpx2.HTTPTransport()
            if settings.mode == "record":
                if settings.recordings_dir is None:
                    raise UsageError("recording EDGAR needs a folder: pass --recordings DIR")
                secrets = (user_agent,) if user_agent else ()
                stack = RecordingTransport(network, settings.recordings_dir, secrets)
            else:
                stack = network
        self._client = httpx2.Client(transport=stack, timeout=settings.timeout_s)

    # -- endpoints ---------------------------------------------------------------------------

    def company(self, ticker: str) -> Company:
        """The company behind ``ticker`` in the SEC's list (BRK.B is listed as BRK-B)."""
        wanted = ticker.strip().upper().replace(".", "-")
        fetched = self._required(TICKERS_URL, "company_tickers.json", "the SEC's ticker list")
        data = fetched.json()
        entries = list(data.values())[:MAX_TICKERS] if isinstance(data, dict) else []
        for entry in entries:
            if isinstance(entry, dict) and str(entry.get("ticker", "")).upper() == wanted:
                try:
                    return Company(int(entry["cik_str"]), wanted, str(entry["title"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise EdgarServiceError(
                        f"the SEC's ticker list has an unreadable entry for {wanted} ({exc}): "
                        "delete company_tickers.json from the EDGAR cache folder and try again"
                    ) from exc
        if not entries:
            raise EdgarServiceError(
                f"the SEC's ticker list from {TICKERS_URL} holds no entries: delete "
                "company_tickers.json from the EDGAR cache folder and try again"
            )
        raise UsageError(
            f"ticker {wanted} is not in the SEC's list of company tickers: check the symbol, or "
            "pass the company's documents with --source"
        )

    def submissions(self, cik: int) -> Fetched:
        """The company's filing index (its most recent filings; older ones in ``files`` pages)."""
        name = f"CIK{cik:010d}.submissions.json"
        url = f"{DATA}/submissions/CIK{cik:010d}.json"
        return self._required(url, name, f"the filing index of CIK {cik}")

    def older_submissions(self, name: str) -> Fetched | Missing:
        """One of the filing index's ``files`` pages (``CIK0000320193-submissions-001.json``)."""
        url = f"{DATA}/submissions/{name}"
        if not _PLAIN_NAME.match(name):
            return Missing(url, f"{name!r} is not a plain file name, so it was not fetched")
        return self._get(url, name, "index")

    def companyfacts(self, cik: int) -> Fetched | Missing:
        """Every XBRL fact the company filed; Missing (HTTP 404) for an issuer without XBRL."""
        name = f"CIK{cik:010d}.companyfacts.json"
        return self._get(f"{DATA}/api/xbrl/companyfacts/CIK{cik:010d}.json", name, "index")

    def filing_index(self, cik: int, accession: str) -> Fetched | Missing:
        """The list of a filing's documents (exhibits included)."""
        digits = accession_digits(accession)
        url = f"{ARCHIVES}/{cik}/{digits}/index.json"
        return self._get(url, f"{cik}-{digits}-index.json", "archive")

    def document(self, cik: int, accession: str, name: str) -> Fetched | Missing:
        """One document of a filing, as filed (the 10-K's HTML, an exhibit)."""
        digits = accession_digits(accession)
        url = f"{ARCHIVES}/{cik}/{digits}/{name}"
        if not _PLAIN_NAME.match(name) or ".." in name:
            return Missing(url, f"{name!r} is not a plain file name, so it was not fetched")
        return self._get(url, f"{cik}-{digits}-{name}", "archive")

    def close(self) -> None:
        self._cancelled.set()
        self._client.close()

    def __enter__(self) -> EdgarClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- machinery ---------------------------------------------------------------------------

    def _required(self, url: str, name: str, what: str) -> Fetched:
        """The ticker list and filing index: nothing can be done without them."""
        got = self._get(url, name, "index")
        if isinstance(got, Fetched):
            return got
        if self.settings.mode == "replay":
            raise RecordingError(
                f"{self.settings.recordings_dir} holds no recording of {what} ({url}): record "
                f"one with `thesisgen record --ticker {self.settings.ticker} --recordings DIR` "
                "and a user agent (edgar_user_agent)"
            )
        raise EdgarServiceError(
            f"{what} is not on SEC EDGAR at {url} ({got.reason}): check the ticker's CIK, or "
            "try again later"
        )

    def _get(self, url: str, name: str, kind: Kind) -> Fetched | Missing:
        if self.settings.mode == "live":
            cached = self._cached(name, kind)
            if cached is not None:
                return Fetched(url, name, cached)
        try:
            status, content = self._fetch(url)
        except RecordingError:
            if self.settings.mode != "replay":
                raise
            return Missing(url, NOT_RECORDED)
        if status == 404:
            return Missing(url, "not found on EDGAR (HTTP 404)")
        if self.settings.store_dir is not None:
            self.settings.store_dir.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(self.settings.store_dir / name, content)
        return Fetched(url, name, content)

    def _cached(self, name: str, kind: Kind) -> bytes | None:
        """The stored body, if the cache may serve it: archive documents always, the rest while
        younger than ``max_age_hours``; an empty or unparseable index file is fetched again."""
        if self.settings.store_dir is None:
            return None
        path = self.settings.store_dir / name
        try:
            if kind == "index":
                age_h = (time.time() - path.stat().st_mtime) / 3600
                if age_h > self.settings.max_age_hours:
                    return None
            content = path.read_bytes()
        except OSError:
            return None
        if not content:
            return None
        if name.endswith(".json"):
            try:
                json.loads(content)
            except ValueError:
                return None
        return content

    def _fetch(self, url: str) -> tuple[int, bytes]:
        """One GET through the retry policy: (200 or 404, body), or a one-line error."""
        label = CallLabel(self.settings.ticker, "edgar", url_target(url), 1)
        headers = {
            "User-Agent": self.settings.user_agent or "",
            "Accept-Encoding": "gzip, deflate",
            CALL_HEADER: label.header(),
        }
        tries = 0
        try:
            for attempt in self.settings.retry.retrying(_transient, self._cancelled):
                with attempt:
                    tries += 1
                    return self._once(url, headers)
        except _Retryable as exc:
            status = exc.response.status_code
            if exc.throttled:
                raise EdgarServiceError(
                    f"SEC EDGAR is throttling requests (HTTP {status}"
                    f"{', its rate-limit page' if status == 403 else ''}) after {tries} tries: "
                    "wait ten minutes and try again; keep edgar_rate at 10 or less"
                ) from exc
            raise EdgarServiceError(
                f"SEC EDGAR answered HTTP {status} for {url} after {tries} tries: try again later"
            ) from exc
        except httpx2.TimeoutException as exc:
            raise EdgarServiceError(
                f"SEC EDGAR did not answer within {self.settings.timeout_s:g}s for {url} after "
                f"{tries} tries: try again later"
            ) from exc
        except httpx2.TransportError as exc:
            raise EdgarServiceError(
                f"could not reach SEC EDGAR for {url} ({exc.__class__.__name__}) after {tries} "
                "tries: check the network connection"
            ) from exc
        raise AssertionError("the retry loop neither returned nor raised")  # pragma: no cover

    def _once(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.settings.mode != "replay":
            self._limiter.wait()
        with self._lock:
            self.requests += 1
        with self._client.stream("GET", url, headers=headers) as response:
            content = _bounded(response, url)
        status = response.status_code
        if status in (200, 404):
            return status, content
        if status == 429 or (status == 403 and _rate_limit_page(content)):
            raise _Retryable(response, throttled=True)
        if status >= 500 or status == 408:
            raise _Retryable(response, throttled=False)
        if status in (401, 403):
            raise UsageError(
                f"SEC EDGAR refused the request (HTTP {status}) for {url}; it refuses clients "
                f"that do not say who they are: {USER_AGENT_FIX}"
            )
        raise EdgarServiceError(f"SEC EDGAR answered HTTP {status} for {url}: try again later")


def _bounded(response: httpx2.Response, url: str) -> bytes:
    """The body, read in chunks and refused past MAX_RESPONSE_BYTES (after decompression)."""
    limit = MAX_RESPONSE_BYTES
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise EdgarServiceError(_too_big(url))
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise EdgarServiceError(_too_big(url))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(url: str) -> str:
    return (
        f"SEC EDGAR's answer for {url} is over {MAX_RESPONSE_BYTES // 1024 // 1024} MB, more "
        "than any filing document we read: it was not kept"
    )


def _rate_limit_page(content: bytes) -> bool:
    text = content[:100_000].decode("utf-8", "replace")
    return any(marker in text for marker in RATE_LIMIT_MARKERS)

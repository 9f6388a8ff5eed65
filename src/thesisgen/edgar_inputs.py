"""What a run reads from SEC EDGAR: a company's filings as of the memo date, as sources for fact
extraction, and its XBRL financial statements as facts that need no model.

Point in time: only what was filed on or before ``as_of`` is read (:func:`thesisgen.filings.select`
and :func:`thesisgen.xbrl.financial_facts` both filter on the filing date). Each section of a
filing is written to the EDGAR store as a text file and read back as a source, so a later
``render`` or ``validate`` re-checks its quotes against the same text; the company-facts file in
the store is what an XBRL fact is re-checked against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .edgar import NOT_RECORDED, EdgarClient, Fetched, Missing
from .errors import EdgarServiceError, InputFileError, RecordingError, UsageError
from .files import write_bytes_atomic
from .filings import (
    Filing,
    FilingIndexError,
    Selection,
    exhibit_99_1,
    filings_of,
    first_filed,
    is_annual,
    pages_needed,
    sections,
    select,
)
from .models import Fact, Source, SourceInfo
from .sources import read_source
from .xbrl import CompanyFactsError, financial_facts

Note = Callable[[str], None]


@dataclass(frozen=True)
class FromEdgar:
    """A company as EDGAR knows it, as of a date: filing sections to extract facts from, and the
    XBRL financial facts with the source they cite (IDs from F1: the run renumbers them after the
    extracted facts)."""

    company: str
    cik: int
    sources: list[Source]
    xbrl_source: SourceInfo | None
    financials: list[Fact]
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    recorded: Path | None = None  # record mode: the folder the EDGAR calls were recorded into


def _section_slug(title: str) -> str:
    match = re.match(r"(?i)\s*(part\s+[ivx]+\W+)?item\s+(\d+[a-z]?)", title)
    if match:
        part = re.sub(r"\W+", "", match.group(1) or "").lower()
        return (f"{part}-" if part else "") + f"item-{match.group(2).lower()}"
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "text"


def _first_annual(filings: list[Filing]) -> str:
    """When the first annual report the index lists was filed: an as-of from then on needs no
    older index page."""
    annual = [f.filed for f in filings if is_annual(f.form.split("/")[0])]
    return min(annual).isoformat() if annual else "its recent filings"


def _unusable(fetched: Fetched, store: Path, exc: Exception) -> EdgarServiceError:
    """EDGAR (or its cached or recorded copy) answered JSON of another shape than it serves."""
    return EdgarServiceError(
        f"{fetched.name} from {fetched.url} is not as EDGAR serves it ({exc}): delete it from "
        f"{store} (or re-record) and fetch it again"
    )


def _title(company: str, filing: Filing, part: str) -> str:
    period = f" for the period ended {filing.report_date.isoformat()}" if filing.report_date else ""
    if filing.form.startswith("8-K"):
        return f"{company} press release (8-K exhibit 99.1, filed {filing.filed.isoformat()})"
    return f"{company} {filing.form}{period}: {part}"


def gather(
    client: EdgarClient,
    ticker: str,
    as_of: dt.date,
    *,
    store: Path,
    first_source: int,
    eightk_days: int,
    max_filings: int,
    max_source_bytes: int,
    note: Note,
    name: str | None = None,
) -> FromEdgar:
    """The filings and financial facts of ``ticker`` as of ``as_of``. A document EDGAR (or the
    recording) does not have is named in the notes and skipped; a company with no annual report
    by then, or an as-of before its first filing, is a usage error (exit 2). ``name`` is the
    company's name in the ledger (--company, the bundle's), which the XBRL statements use, else
    EDGAR's."""
    if as_of > dt.date.today():
        raise UsageError(
            f"--as-of {as_of.isoformat()} is in the future: EDGAR holds only what was filed up to "
            "today; choose today or an earlier date"
        )
    company = client.company(ticker)
    submissions = client.submissions(company.cik)
    index = submissions.json()
    try:
        older = []
        first = first_filed(index)
        for page_name in pages_needed(index, as_of) if first is None or as_of >= first else []:
            page = client.older_submissions(page_name)
            if isinstance(page, Missing):  # without it, the filings of that time are unknown
                since = _first_annual(filings_of(index))
                raise UsageError(
                    f"{ticker}'s filings before {since} are listed in EDGAR's index page "
                    f"{page_name}, which is {page.reason}: choose an --as-of from {since} on"
                )
            older.append(page.json())
        chosen = select(
            filings_of(index, older),
            as_of,
            eightk_days=eightk_days,
            max_filings=max_filings,
            ticker=ticker,
            first_filed=first,
        )
    except FilingIndexError as exc:
        raise _unusable(submissions, store, exc) from exc
    notes = list(chosen.notes)
    sources = _filing_sources(
        client, company.cik, company.name, chosen, store, first_source, max_source_bytes, notes
    )
    xbrl_source, facts = _financials(
        client, company.cik, name or company.name, as_of, first_source + len(sources), store, notes
    )
    for line in notes:
        note(f"note: {line}")
    return FromEdgar(
        company=name or company.name,
        cik=company.cik,
        sources=sources,
        xbrl_source=xbrl_source,
        financials=facts,
        notes=notes,
        requests=client.requests,
    )


def _filing_sources(
    client: EdgarClient,
    cik: int,
    company: str,
    chosen: Selection,
    store: Path,
    first: int,
    max_bytes: int,
    notes: list[str],
) -> list[Source]:
    """Each chosen filing's sections, written to the store as text and read back as sources."""
    out: list[Source] = []
    for filing in [chosen.annual, *chosen.quarterly, *chosen.current]:
        name = filing.primary_document
        if filing.form.startswith("8-K"):
            index = client.filing_index(cik, filing.accession)
            if isinstance(index, Missing):
                notes.append(
                    f"8-K filed {filing.filed.isoformat()} ({filing.accession}) skipped: its "
                    f"filing index is {index.reason}"
                )
                continue
            exhibit = exhibit_99_1(index.json())
            if exhibit is None:
                continue  # an 8-K without a press release: nothing to read
            name = exhibit
        document = client.document(cik, filing.accession, name)
        if isinstance(document, Missing):
            notes.append(
                f"{filing.form} filed {filing.filed.isoformat()} ({name}) skipped: "
                f"{document.reason}"
            )
            continue
        out += _sections_of(
            document, filing, cik, company, store, first + len(out), max_bytes, notes
        )
    return out


def _sections_of(
    document: Fetched,
    filing: Filing,
    cik: int,
    company: str,
    store: Path,
    first: int,
    max_bytes: int,
    notes: list[str],
) -> list[Source]:
    try:
        whole = read_source(store / document.name, "S1", max_bytes=max_bytes)  # ID unused
    except InputFileError as exc:  # over max_source_mb, or no readable text: the others remain
        notes.append(f"{filing.form} filed {filing.filed.isoformat()} skipped: {exc}")
        return []
    parts = sections(whole.text, filing.form)
    if not parts:
        notes.append(
            f"{filing.form} filed {filing.filed.isoformat()} ({document.name}): none of the "
            "sections we read (business, risk factors, MD&A) was found in it"
        )
    out: list[Source] = []
    stem = Path(document.name).stem
    for title, text in parts:
        path = store / f"{stem}.{_section_slug(title)}.txt"
        write_bytes_atomic(path, text.encode("utf-8"))
        source = read_source(path, f"S{first + len(out)}", max_bytes=max_bytes)
        out.append(
            source.model_copy(
                update={
                    "title": _title(company, filing, title),
                    "publisher": f"SEC EDGAR ({company}, {filing.form})",
                    "published": filing.filed,
                    "url": document.url,
                    "note": f"accession {filing.accession}, CIK {cik}",
                }
            )
        )
    return out


def _financials(
    client: EdgarClient,
    cik: int,
    company: str,
    as_of: dt.date,
    number: int,
    store: Path,
    notes: list[str],
) -> tuple[SourceInfo | None, list[Fact]]:
    fetched = client.companyfacts(cik)
    if isinstance(fetched, Missing) and fetched.reason == NOT_RECORDED:
        raise RecordingError(  # a replay that lacks them must not pass for an issuer without XBRL
            f"the EDGAR recording holds no company facts for {company}: re-record the session "
            "(thesisgen record ... with THESISGEN_EDGAR_USER_AGENT set)"
        )
    if isinstance(fetched, Missing):
        notes.append(
            f"{company} has no XBRL financial data on EDGAR ({fetched.reason}): a fund or an "
            "issuer that files none; the memo has no financial facts from filings"
        )
        return None, []
    source_id = f"S{number}"
    try:
        facts, found = financial_facts(
            fetched.json(), as_of, cik=cik, company=company, source_id=source_id, first_id=1
        )
    except CompanyFactsError as exc:
        raise _unusable(fetched, store, exc) from exc
    notes += found
    info = SourceInfo(
        id=source_id,
        title=f"{company} financial statements as filed in XBRL (SEC EDGAR company facts)",
        publisher="SEC EDGAR",
        # the newest filing its facts come from: what page 1's "newest source" line should see
        published=max((f.filed.filed for f in facts if f.filed), default=None),
        url=fetched.url,
        path=fetched.name,
        sha256=hashlib.sha256(fetched.content).hexdigest(),
        note=f"values filed on or before {as_of.isoformat()}",
    )
    return info, facts

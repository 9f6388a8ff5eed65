"""Which SEC EDGAR filings a point-in-time memo reads, and which parts of them.

Pure functions over EDGAR's JSON (the submissions index, a filing folder's ``index.json``) and a
filing's text: the client fetches, these decide. Nothing filed after the memo date is selected,
so a memo "as of" a date has no look-ahead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

# EDGAR's hosts, the one place for them: the client fetches from them, a run tells an SEC
# source by them, and filing links are made under ARCHIVES.
WWW = "https://www.sec.gov"
DATA = "https://data.sec.gov"
ARCHIVES = f"{WWW}/Archives/edgar/data"
ANNUAL_FORMS = ("10-K", "20-F", "40-F", "10-KT")
QUARTERLY_FORMS = ("10-Q",)
CURRENT_FORMS = ("8-K",)
NEWS_ITEMS = ("2.02", "7.01", "8.01")  # results of operations, Reg FD disclosure, other events
MAX_FILINGS_READ = 100_000  # rows of the index read at most (Apple has about 2,200)
MAX_INDEX_ITEMS = 10_000  # entries of a filing folder's listing read at most
MAX_OLDER_PAGES = 1_000  # older pages of the index (``filings.files``) read at most (Apple has 1)


class FilingIndexError(ValueError):
    """EDGAR's JSON is not of the shape we read: the caller names the file in a one-line error."""


class SelectionError(UsageError):
    """No filing can be selected as of the date asked for (a date to change, or --source to pass)."""


@dataclass(frozen=True)
class Filing:
    """One row of a company's EDGAR filing index."""

    accession: str
    form: str
    filed: dt.date
    report_date: dt.date | None
    primary_document: str
    description: str
    items: tuple[str, ...]  # 8-K items, e.g. ("2.02", "9.01")

    def folder_url(self, cik: int) -> str:
        return f"{ARCHIVES}/{int(cik)}/{self.accession.replace('-', '')}/"

    def document_url(self, cik: int, name: str | None = None) -> str:
        return self.folder_url(cik) + (name or self.primary_document)

    def index_url(self, cik: int) -> str:
        """The human index page of the filing: the link a memo gives."""
        return index_url(cik, self.accession)


def index_url(cik: int, accession: str) -> str:
    """A filing's human index page on EDGAR, from the company's CIK and the accession number."""
    return f"{ARCHIVES}/{int(cik)}/{accession.replace('-', '')}/{accession}-index.htm"


def iso_date(raw: object, what: str, error: type[ValueError]) -> dt.date:
    """An ISO date from EDGAR's JSON, or ``error`` naming ``what`` (the caller's error class, so
    the one-line message names the file it reads)."""
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise error(f"{what}: {raw!r} is not a date") from None


def _date(raw: object, what: str) -> dt.date:
    return iso_date(raw, what, FilingIndexError)


def _columns(page: Mapping[str, Any], what: str) -> list[Filing]:
    """The filings of one page of columns (``filings.recent`` or an older ``files`` page)."""
    names = ("accessionNumber", "form", "filingDate", "primaryDocument")
    if not isinstance(page, Mapping) or any(not isinstance(page.get(n), list) for n in names):
        raise FilingIndexError(f"{what} lacks the columns {', '.join(names)}")
    count = len(page["accessionNumber"])
    if count > MAX_FILINGS_READ:
        raise FilingIndexError(f"{what} lists {count} filings, more than {MAX_FILINGS_READ}")

    def column(name: str) -> list[Any]:
        values = page.get(name)
        if values is None:
            return [""] * count
        if not isinstance(values, list) or len(values) != count:
            raise FilingIndexError(f"{what}: column {name} does not have {count} entries")
        return values

    rows = zip(
        column("accessionNumber"),
        column("form"),
        column("filingDate"),
        column("reportDate"),
        column("primaryDocument"),
        column("primaryDocDescription"),
        column("items"),
        strict=True,
    )
    filings = []
    for accession, form, filed, report, document, description, items in rows:
        if not re.fullmatch(r"\d{10}-\d{2}-\d{6}", str(accession)):
            raise FilingIndexError(f"{what}: {accession!r} is not an accession number")
        filings.append(
            Filing(
                accession=str(accession),
                form=str(form),
                filed=_date(filed, f"{what}: the filing date of {accession}"),
                report_date=_date(report, f"{what}: the report date of {accession}")
                if report
                else None,
                primary_document=str(document or ""),
                description=str(description or ""),
                items=tuple(i.strip() for i in str(items or "").split(",") if i.strip()),
            )
        )
    return filings


def filings_of(
    submissions: Mapping[str, Any], older: Sequence[Mapping[str, Any]] = ()
) -> list[Filing]:
    """A company's filings from its submissions JSON (and older pages' columns), newest first."""
    recent = (
        submissions.get("filings", {}).get("recent") if isinstance(submissions, Mapping) else None
    )
    if recent is None:
        raise FilingIndexError("the submissions file has no filings.recent")
    filings = _columns(recent, "filings.recent")
    for n, page in enumerate(older, 1):
        filings += _columns(page, f"older page {n}")
    unique = {f.accession: f for f in filings}  # a page may overlap another
    return sorted(unique.values(), key=lambda f: (f.filed, f.accession), reverse=True)


def first_filed(submissions: Mapping[str, Any]) -> dt.date | None:
    """The company's first filing date, from the recent columns and the older pages' ranges."""
    dates = [f.filed for f in filings_of(submissions)]
    pages = submissions.get("filings", {}).get("files") or []
    for page in pages[:MAX_OLDER_PAGES] if isinstance(pages, list) else []:
        if isinstance(page, Mapping) and page.get("filingFrom"):
            dates.append(_date(page["filingFrom"], "an older page's filingFrom"))
    return min(dates, default=None)


def is_annual(form: str) -> bool:
    """An annual report as filed (an amendment, ``10-K/A``, is not the report it amends)."""
    return form in ANNUAL_FORMS


def pages_needed(submissions: Mapping[str, Any], as_of: dt.date) -> list[str]:
    """Names of the older ``files`` pages needed to see filings on or before ``as_of``: none when
    the recent columns hold an annual report filed by then; else the pages that begin on or
    before it (or the oldest page, so the company's first filing can be named)."""
    recent = filings_of(submissions)
    if any(is_annual(f.form) and f.filed <= as_of for f in recent):
        return []
    pages = submissions.get("filings", {}).get("files") or []
    if not isinstance(pages, list):
        raise FilingIndexError("filings.files is not a list")
    named: list[tuple[dt.date, str]] = []
    for page in pages[:MAX_OLDER_PAGES]:
        if not isinstance(page, Mapping) or not isinstance(page.get("name"), str):
            raise FilingIndexError("an entry of filings.files has no name")
        named.append((_date(page.get("filingFrom"), f"{page['name']}'s filingFrom"), page["name"]))
    named.sort(reverse=True)
    wanted = [name for start, name in named if start <= as_of]
    return wanted or [name for _, name in named[-1:]]


@dataclass(frozen=True)
class Selection:
    annual: Filing  # the latest annual report filed on or before as_of (an original)
    quarterly: list[Filing]  # 10-Qs filed after the annual, on or before as_of, newest first
    current: list[Filing]  # 8-Ks with news items within the window, newest first
    notes: list[str]  # what was left out and why, shown to the user

    @property
    def filings(self) -> list[Filing]:
        """The selected filings in reading order: annual, quarterlies, 8-Ks."""
        return [self.annual, *self.quarterly, *self.current]


def _amendments(filings: Sequence[Filing], of: Filing, as_of: dt.date) -> list[Filing]:
    return [
        f
        for f in filings
        if f.form == f"{of.form}/A"
        and f.filed <= as_of
        and f.filed >= of.filed
        and (f.report_date == of.report_date or f.report_date is None)
    ]


def select(
    filings: Sequence[Filing],
    as_of: dt.date,
    *,
    eightk_days: int,
    max_filings: int,
    ticker: str,
    first_filed: dt.date | None = None,
) -> Selection:
    """The filings a memo as of ``as_of`` reads: only what was filed on or before that date.
    ``first_filed`` (:func:`first_filed`) names the company's first filing when the older pages
    of its index were not read."""
    if not filings:
        raise SelectionError(f"{ticker} has no filings on EDGAR: pass its documents with --source")
    first = min([f.filed for f in filings] + ([first_filed] if first_filed else []))
    if as_of < first:
        raise SelectionError(
            f"{ticker}'s first filing on EDGAR is {first.isoformat()}; choose a later --as-of"
        )
    known = sorted((f for f in filings if f.filed <= as_of), key=lambda f: f.filed, reverse=True)
    annuals = [f for f in known if is_annual(f.form)]
    if not annuals:
        ever = sorted((f for f in filings if is_annual(f.form)), key=lambda f: f.filed)
        when = (
            f"on or before {as_of.isoformat()} (its first is {ever[0].form} filed "
            f"{ever[0].filed.isoformat()})"
            if ever
            else "at all"
        )
        raise SelectionError(
            f"{ticker} has filed no 10-K, 20-F or 40-F {when}: pass its documents with --source"
        )
    annual = annuals[0]
    notes = [
        f"{a.form} {a.accession} filed {a.filed.isoformat()} amends the {annual.form} read "
        "(its XBRL figures supersede the original's)"
        for a in _amendments(known, annual, as_of)
    ]
    quarterly = [f for f in known if f.form in QUARTERLY_FORMS and f.filed > annual.filed]
    window = as_of - dt.timedelta(days=eightk_days)
    current = [
        f
        for f in known
        if f.form in CURRENT_FORMS and f.filed >= window and any(i in NEWS_ITEMS for i in f.items)
    ]
    room = max(max_filings, 1) - 1
    kept_q, left_q = quarterly[:room], quarterly[room:]
    room -= len(kept_q)
    kept_c, left_c = current[:room], current[room:]
    for left, what in ((left_q, "10-Q"), (left_c, "8-K")):
        if left:
            names = ", ".join(f"{f.accession} ({f.filed.isoformat()})" for f in left)
            notes.append(
                f"{len(left)} older {what} filing(s) left out (edgar_max_filings={max_filings}): {names}"
            )
    return Selection(annual=annual, quarterly=kept_q, current=kept_c, notes=notes)


_EX991 = re.compile(r"ex(?:hibit)?[-_]?99(?:[._-]?0?(\d))?[^/]*\.(?:htm|html|txt)$", re.I)


def exhibit_99_1(index: Mapping[str, Any]) -> str | None:
    """The press-release exhibit in a filing folder's ``index.json``: 99.1 if present, else the
    lowest other 99.x. EDGAR's listing gives no exhibit types, so the file name decides."""
    try:
        items = index["directory"]["item"]
    except (KeyError, TypeError):
        raise FilingIndexError("the filing index has no directory.item list") from None
    if not isinstance(items, list):
        raise FilingIndexError("the filing index's directory.item is not a list")
    found: list[tuple[int, str]] = []
    for item in items[:MAX_INDEX_ITEMS]:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            continue
        match = _EX991.search(name)
        if match:
            found.append((int(match.group(1) or 1), name))
    return min(found)[1] if found else None


# --- sections of a filing's text ------------------------------------------------------------------

# (title, item number, a word its heading carries): the heading must name its section, which
# tells a 10-Q's Part I Item 2 (MD&A) from Part II Item 2 (share repurchases).
_Spec = tuple[str, str, str]
_ANNUAL: tuple[_Spec, ...] = (
    ("Item 1. Business", "1", "business"),
    ("Item 1A. Risk Factors", "1A", "risk"),
    ("Item 7. Management's Discussion and Analysis", "7", "management"),
)
_FOREIGN_ANNUAL: tuple[_Spec, ...] = (
    ("Item 3. Key Information (risk factors)", "3", "key information"),
    ("Item 4. Information on the Company", "4", "information on the company"),
    ("Item 5. Operating and Financial Review and Prospects", "5", "operating and financial"),
)
_QUARTERLY: tuple[_Spec, ...] = (
    ("Part I, Item 2. Management's Discussion and Analysis", "2", "management"),
    ("Part II, Item 1A. Risk Factors", "1A", "risk"),
)
_HEADING = re.compile(
    r"^[ \t|]*item[ \t\u00a0]+(\d{1,2}[a-d]?)\b[ \t\u00a0.:|\-–—]*(.*)$", re.I | re.M
)
_PART = re.compile(r"^[ \t|]*part[ \t\u00a0]+(?:i|ii|iii|iv)\b", re.I | re.M)
MAX_HEADINGS = 2_000


def _specs(form: str) -> tuple[_Spec, ...] | None:
    base = form.removesuffix("/A")
    if base in ("10-K", "10-KT"):
        return _ANNUAL
    if base in ("20-F", "40-F"):
        return _FOREIGN_ANNUAL
    if base == "10-Q":
        return _QUARTERLY
    return None


def sections(text: str, form: str) -> list[tuple[str, str]]:
    """The parts of a filing's text that fact extraction reads, as (title, text).

    A section runs from its heading to the next item or part heading. The table of contents
    repeats every heading with nothing between them, so of a heading's occurrences the one that
    begins the longest run is the section itself. An 8-K exhibit (or any other form) is one part."""
    specs = _specs(form)
    if specs is None:
        return [(f"{form} text", text)] if text.strip() else []
    heads = [(m.start(), m.group(1).upper(), m.group(2)) for m in _HEADING.finditer(text)]
    heads = heads[:MAX_HEADINGS]
    stops = sorted({start for start, _, _ in heads} | {m.start() for m in _PART.finditer(text)})
    found = []
    for title, number, word in specs:
        best: tuple[int, int] | None = None
        for start, num, rest in heads:
            if num != number or word not in rest.lower()[:80]:
                continue
            end = next((s for s in stops if s > start), len(text))
            if best is None or end - start > best[1] - best[0]:
                best = (start, end)
        if best is not None:
            body = text[best[0] : best[1]].strip()
            # the heading line itself is not part of the section's text
            body = body.split("\n", 1)[1].strip() if "\n" in body else ""
            if body:
                found.append((title, body))
    return found

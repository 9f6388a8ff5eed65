"""The coverage universe of ``thesisgen batch``: which tickers get a memo, as of when, from what.

Two formats, told apart by the suffix (``.csv``, any case, is CSV; anything else is plain text).

Plain text, one ticker per line, split like a shell line (quote a path with spaces or a ``#``)::

    # ticker  [as-of YYYY-MM-DD]  [source files or folders...]
    AREC 2025-09-30 notes/arec "broker notes/AREC q3.pdf"
    PKX                        # the run's date, no sources of our own
    aapl 2025-06-30

CSV, with a header row naming the columns (``ticker`` required; ``sources`` separated by ``;``;
an empty cell is not given)::

    ticker,as_of,sources,company
    AREC,2025-09-30,notes/arec;broker notes/AREC q3.pdf,American Resources Corporation
    PKX,,,

A relative source path is relative to the universe file's folder, not to where the command runs:
a universe file is a manifest that travels with its documents. A second token shaped like a date
is the as-of date (an invalid one is an error, not a path): write ``./2025-01-01`` for a folder of
that name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError, UsageError
from .files import read_user_file
from .resources import check_ticker

EARLIEST_AS_OF = dt.date(1990, 1, 1)
LATEST_AS_OF_DAYS = 366  # a date further ahead is a typo, not a plan
MAX_UNIVERSE_BYTES = 5 * 1024 * 1024
COLUMNS = ("ticker", "as_of", "sources", "company")

# looks like a date (2025-9-30, 25-09-30, 30.09.2025): never taken for a path
_DATE_SHAPE = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Entry:
    """One memo of the batch: its ticker, date and own sources, and where it was asked for."""

    ticker: str
    as_of: dt.date | None = None  # None: the run's default date
    sources: tuple[Path, ...] = ()  # absolute paths of files or folders that exist
    company: str | None = None
    line: int = 0  # the universe file's line; 0 for --tickers


def as_of_problem(date: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``date`` is not a plausible memo date (before 1990, or over a year ahead), or None."""
    latest = (today or dt.date.today()) + dt.timedelta(days=LATEST_AS_OF_DAYS)
    if EARLIEST_AS_OF <= date <= latest:
        return None
    return (
        f"{date.isoformat()} is not a plausible memo date: use a date from "
        f"{EARLIEST_AS_OF.isoformat()} to {latest.isoformat()}"
    )


def from_tickers(text: str, limit: int) -> list[Entry]:
    """``--tickers AREC,PKX, aapl``: tickers separated by commas or spaces, each once."""
    names = [name for name in re.split(r"[\s,]+", text) if name]
    if not names:
        raise UsageError(
            "--tickers names no ticker: pass tickers separated by commas, e.g. AREC,PKX"
        )
    if len(names) > limit:
        raise UsageError(
            f"--tickers names {len(names)} tickers, over the limit of {limit} (max_tickers): "
            "raise --max-tickers or split the tickers over several runs"
        )
    entries: list[Entry] = []
    seen: set[str] = set()
    for name in names:
        try:
            ticker = check_ticker(name)
        except UsageError as exc:
            raise UsageError(f"--tickers: {exc}") from None
        if ticker in seen:
            raise UsageError(f"--tickers names {ticker} twice: one memo per ticker; remove one")
        seen.add(ticker)
        entries.append(Entry(ticker))
    return entries


def read_universe(path: Path, limit: int) -> list[Entry]:
    """The entries of a universe file (see the module docstring), in the file's order.

    Every problem is one error naming the file and the line; nothing is read from the sources.
    """
    text = _read(path)
    rows = list(_csv_rows(path, text) if path.suffix.lower() == ".csv" else _text_rows(path, text))
    if not rows:
        fix = (
            "one row per ticker under the header"
            if path.suffix.lower() == ".csv"
            else "one ticker per line"
        )
        raise UsageError(f"{path} names no ticker: write {fix}")
    if len(rows) > limit:  # before each row's paths are looked up
        raise UsageError(
            f"{path} names {len(rows)} tickers, over the limit of {limit} (max_tickers): "
            "raise --max-tickers or split the universe"
        )
    entries: list[Entry] = []
    lines: dict[str, int] = {}
    for row in rows:
        entry = _entry(path, row)
        if entry.ticker in lines:
            raise UsageError(
                f"{path}: {entry.ticker} is on lines {lines[entry.ticker]} and {entry.line}: "
                "one memo per ticker; remove one"
            )
        lines[entry.ticker] = entry.line
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class _Row:
    """One line's fields as written, before they are checked."""

    line: int
    ticker: str
    as_of: str | None
    sources: Sequence[str]
    company: str | None = None


def _read(path: Path) -> str:
    raw = read_user_file(
        path,
        "universe",
        MAX_UNIVERSE_BYTES,
        folder_fix="pass a .txt or .csv universe file",
        size_fix="split the universe",
    )
    try:
        return raw.decode("utf-8-sig")  # Excel and Notepad start with a byte order mark
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            f"universe {path} line {line} is not UTF-8 text: save the file as UTF-8"
        ) from exc


def _text_rows(path: Path, text: str) -> Iterator[_Row]:
    for number, line in enumerate(io.StringIO(text), start=1):
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:  # "No closing quotation"
            raise UsageError(
                f"{path} line {number}: {str(exc).lower()}: close the quote or quote the path whole"
            ) from None
        if not tokens:
            continue
        ticker, rest = tokens[0], tokens[1:]
        as_of = rest.pop(0) if rest and _DATE_SHAPE.match(rest[0]) else None
        yield _Row(number, ticker, as_of, rest)


def _csv_rows(path: Path, text: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the row being read begins on (a quoted cell may span lines)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [name.strip().lower() for name in header]
        for name in columns:
            if name not in COLUMNS:
                raise UsageError(
                    f"{path} line 1: unknown column '{name}': the columns are "
                    f"{', '.join(COLUMNS)} (the first row must name them)"
                )
        if "ticker" not in columns:
            raise UsageError(
                f"{path} line 1: no ticker column: the first row must name the columns, "
                f"ticker and optionally {', '.join(COLUMNS[1:])}"
            )
        if len(set(columns)) < len(columns):
            twice = next(name for name in columns if columns.count(name) > 1)
            raise UsageError(f"{path} line 1: column '{twice}' is named twice: remove one")
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                raise UsageError(
                    f"{path} line {line}: {len(cells)} cells under a header of {len(columns)} "
                    "columns: quote a cell holding a comma, or name the column in the header"
                )
            given = {name: cell.strip() or None for name, cell in zip(columns, cells, strict=False)}
            sources = [s.strip() for s in (given.get("sources") or "").split(";") if s.strip()]
            company = " ".join((given.get("company") or "").split()) or None  # one line
            yield _Row(line, given.get("ticker") or "", given.get("as_of"), sources, company)
    except csv.Error as exc:  # strict: a quote left open or text after a closing quote
        raise UsageError(
            f"{path} line {start}: not valid CSV ({exc}): close the quote, or quote the whole cell"
        ) from None


def _entry(path: Path, row: _Row) -> Entry:
    where = f"{path} line {row.line}"
    if not row.ticker:
        raise UsageError(f"{where}: no ticker: fill the ticker cell or remove the row")
    try:
        ticker = check_ticker(row.ticker)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    as_of = _as_of(where, row.as_of) if row.as_of else None
    folder = path.parent.resolve()
    sources = tuple(dict.fromkeys(_source(where, folder, name) for name in row.sources))
    return Entry(ticker, as_of, sources, row.company, row.line)


def _as_of(where: str, text: str) -> dt.date:
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{where}: '{text}' is not a date: write the as-of date as YYYY-MM-DD"
        ) from None
    problem = as_of_problem(date)
    if problem:
        raise UsageError(f"{where}: {problem}")
    return date


def _source(where: str, folder: Path, name: str) -> Path:
    resolved = (folder / Path(name).expanduser()).resolve()
    try:
        found = resolved.exists()
    except OSError:  # a name too long for the file system
        found = False
    if not found:
        raise UsageError(
            f"{where}: source '{name}' does not exist (looked for {resolved}): check the path; "
            "a relative path is relative to the universe file's folder"
        )
    return resolved

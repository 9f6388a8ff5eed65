"""The coverage universe: --tickers and universe files to entries, every mistake one line naming
the file, the line and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer

from thesisgen import cli
from thesisgen.errors import InputFileError, UsageError
from thesisgen.universe import (
    EARLIEST_AS_OF,
    MAX_UNIVERSE_BYTES,
    Entry,
    as_of_problem,
    from_tickers,
    read_universe,
)

LIMIT = 500


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A universe's folder with the documents its lines name."""
    (tmp_path / "notes" / "arec").mkdir(parents=True)
    (tmp_path / "broker notes").mkdir()
    (tmp_path / "broker notes" / "AREC q3.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "pkx.md").write_text("# PKX\n", encoding="utf-8")
    return tmp_path


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


# --- happy paths -----------------------------------------------------------------------------

TEXT = """\
# ticker  [as-of]  [sources...]

AREC 2025-09-30 notes/arec "broker notes/AREC q3.pdf"
pkx   pkx.md   # lower case is upper-cased; no date, one source
AAPL 2024-06-30
BRK.B
"""

CSV = """\
Ticker , AS_OF,sources,company
AREC,2025-09-30,notes/arec; broker notes/AREC q3.pdf ,American Resources Corporation

pkx,,pkx.md,
AAPL,2024-06-30,,
BRK.B
"""


@pytest.mark.parametrize(
    ("name", "text", "encoding", "company", "lines"),
    [
        ("universe.txt", TEXT, "utf-8", None, (3, 4, 5, 6)),
        ("universe", TEXT, "utf-8-sig", None, (3, 4, 5, 6)),  # any suffix but .csv is plain text
        ("universe.csv", CSV, "utf-8", "American Resources Corporation", (2, 4, 5, 6)),
        ("UNIVERSE.CSV", CSV, "utf-8-sig", "American Resources Corporation", (2, 4, 5, 6)),  # Excel
    ],
)
def test_universe_files(
    folder: Path, name: str, text: str, encoding: str, company: str | None, lines: tuple[int, ...]
) -> None:
    entries = read_universe(write(folder, name, text, encoding), LIMIT)
    root = folder.resolve()
    assert entries == [
        Entry(
            "AREC",
            dt.date(2025, 9, 30),
            (root / "notes" / "arec", root / "broker notes" / "AREC q3.pdf"),
            company,
            lines[0],
        ),
        Entry("PKX", None, (root / "pkx.md",), None, lines[1]),
        Entry("AAPL", dt.date(2024, 6, 30), (), None, lines[2]),
        Entry("BRK.B", None, (), None, lines[3]),
    ]


def test_sources_are_relative_to_the_universe_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    (entry,) = read_universe(write(folder, "u.txt", "PKX pkx.md\n"), LIMIT)
    assert entry.sources == ((folder / "pkx.md").resolve(),)
    assert entry.sources[0].is_absolute()


def test_an_absolute_source_path_is_kept(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("docs") / "x.txt"
    elsewhere.write_text("x", encoding="utf-8")
    (entry,) = read_universe(write(folder, "u.txt", f"PKX '{elsewhere}'\n"), LIMIT)
    assert entry.sources == (elsewhere.resolve(),)


def test_tickers() -> None:
    assert from_tickers("AREC,PKX, aapl", LIMIT) == [Entry("AREC"), Entry("PKX"), Entry("AAPL")]
    assert [e.ticker for e in from_tickers(" brk.b  AREC,,", LIMIT)] == ["BRK.B", "AREC"]


def test_a_universe_at_the_limit_is_read(folder: Path) -> None:
    assert len(read_universe(write(folder, "u.txt", "A\nB\nC\n"), 3)) == 3
    assert len(from_tickers("A,B,C", 3)) == 3


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "needles"),
    [
        ("u.txt", "", ["u.txt names no ticker", "one ticker per line"]),
        ("u.txt", "# only a comment\n\n", ["names no ticker"]),
        ("u.csv", "ticker,as_of\n\n", ["u.csv names no ticker", "one row per ticker"]),
        ("u.csv", "", ["names no ticker"]),
        ("u.txt", 'AREC\n\n\n"A B C"\n', ["u.txt line 4: 'A B C' is not a ticker", "use 1-6"]),
        ("u.txt", "AREC\n../x\n", ["line 2: '../x' is not a ticker"]),
        ("u.csv", "ticker\nAREC\n'A B C'\n", ["line 3:", "is not a ticker"]),
        ("u.csv", "ticker,company\n,Acme\n", ["line 2: no ticker", "fill the ticker cell"]),
        ("u.txt", "AREC 2025-13-40\n", ["line 1: '2025-13-40' is not a date", "YYYY-MM-DD"]),
        ("u.txt", "AREC 2025-1-5 pkx.md\n", ["line 1: '2025-1-5' is not a date"]),
        ("u.csv", "ticker,as_of\nAREC,1/15/2025\n", ["line 2: '1/15/2025' is not a date"]),
        (
            "u.txt",
            "AREC 1989-12-31\n",
            ["line 1: 1989-12-31 is not a plausible memo date", "use a date from 1990-01-01"],
        ),
        ("u.csv", "ticker,as_of\nAREC,2999-01-01\n", ["line 2: 2999-01-01 is not a plausible"]),
        (
            "u.txt",
            "PKX pkx.md missing.pdf\n",
            [
                "line 1: source 'missing.pdf' does not exist",
                "relative to the universe file's folder",
            ],
        ),
        ("u.csv", "ticker,sources\nPKX,pkx.md;gone/\n", ["line 2: source 'gone/' does not exist"]),
        ("u.txt", "AREC 'notes/arec\n", ["line 1: no closing quotation", "close the quote"]),
        (
            "u.txt",
            "x\nAREC\nPKX\n\n# c\n\nBRK.B\narec 2025-01-01\n",
            ["u.txt: AREC is on lines 2 and 8", "one memo per ticker; remove one"],
        ),
        ("u.csv", "ticker\nPKX\npkx\n", ["PKX is on lines 2 and 3", "remove one"]),
        (
            "u.csv",
            "ticker,as_of,sector\n",
            ["line 1: unknown column 'sector'", "ticker, as_of, sources, company"],
        ),
        ("u.csv", "AREC,2025-09-30\n", ["line 1: unknown column 'arec'", "first row must name"]),
        ("u.csv", "company,as_of\nAcme,\n", ["line 1: no ticker column", "first row must name"]),
        ("u.csv", "ticker,Ticker\nA,B\n", ["line 1: column 'ticker' is named twice"]),
        (
            "u.csv",
            "ticker,company\nAREC,Acme, Inc.\n",
            ["line 2: 3 cells under a header of 2", "quote a cell holding a comma"],
        ),
        ("u.csv", 'ticker\nPKX\n"AREC\nBRK.B\n', ["line 3: not valid CSV", "close the quote"]),
        ("u.csv", 'ticker\n"AREC"x\n', ["line 2: not valid CSV"]),
    ],
)
def test_bad_universe_lines(folder: Path, name: str, text: str, needles: list[str]) -> None:
    path = write(folder, name, text)
    with pytest.raises(UsageError) as caught:
        read_universe(path, LIMIT)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


def test_over_the_limit(folder: Path) -> None:
    path = write(folder, "u.txt", "A\nB\nC missing.pdf\n")  # the count is checked before paths
    with pytest.raises(
        UsageError,
        match=r"names 3 tickers, over the limit of 2 .*"
        r"raise --max-tickers or split the universe",
    ):
        read_universe(path, 2)


def test_unusable_files(folder: Path) -> None:
    with pytest.raises(InputFileError, match=r"gone\.txt does not exist: check the path"):
        read_universe(folder / "gone.txt", LIMIT)
    with pytest.raises(InputFileError, match=r"notes is a folder: pass a \.txt or \.csv"):
        read_universe(folder / "notes", LIMIT)
    latin = folder / "latin.csv"
    latin.write_bytes(b"ticker,company\nAREC,Soci\xe9t\xe9\n")
    with pytest.raises(InputFileError, match=r"latin\.csv line 2 is not UTF-8 text: save the file"):
        read_universe(latin, LIMIT)
    big = folder / "big.txt"
    big.write_bytes(b"AREC\n" + b"#" * MAX_UNIVERSE_BYTES)
    with pytest.raises(InputFileError, match=r"big\.txt is 5\.0 MB, over the 5 MB limit"):
        read_universe(big, LIMIT)


@pytest.mark.parametrize(
    ("text", "limit", "needles"),
    [
        ("", LIMIT, ["--tickers names no ticker", "separated by commas"]),
        (" , ,", LIMIT, ["--tickers names no ticker"]),
        ("AREC,../x", LIMIT, ["--tickers: '../x' is not a ticker", "use 1-6 letters"]),
        ("AREC,PKX,arec", LIMIT, ["--tickers names AREC twice", "one memo per ticker; remove one"]),
        ("A,B,C", 2, ["--tickers names 3 tickers, over the limit of 2", "raise --max-tickers"]),
    ],
)
def test_bad_tickers(text: str, limit: int, needles: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        from_tickers(text, limit)
    for needle in needles:
        assert needle in str(caught.value), str(caught.value)


# --- the plausible memo date -------------------------------------------------------------------

TODAY = dt.date(2025, 6, 1)


@pytest.mark.parametrize(
    ("date", "plausible"),
    [
        (EARLIEST_AS_OF, True),
        (EARLIEST_AS_OF - dt.timedelta(days=1), False),
        (TODAY + dt.timedelta(days=366), True),
        (TODAY + dt.timedelta(days=367), False),
    ],
)
def test_as_of_problem(date: dt.date, plausible: bool) -> None:
    problem = as_of_problem(date, TODAY)
    assert (problem is None) == plausible
    if problem:
        assert problem == (
            f"{date.isoformat()} is not a plausible memo date: use a date from 1990-01-01 to 2026-06-02"
        )


def test_the_cli_uses_the_same_rule() -> None:
    assert cli._date(dt.datetime(2024, 6, 30)) == dt.date(2024, 6, 30)
    assert cli._date(None) == dt.date.today()
    with pytest.raises(
        typer.BadParameter,
        match="1989-12-31 is not a plausible memo date: use a date from 1990-01-01 to ",
    ):
        cli._date(dt.datetime(1989, 12, 31))


def test_a_csv_cell_may_span_lines(folder: Path) -> None:
    path = write(folder, "u.csv", 'ticker,company\n"PKX","POSCO\n  Holdings"\nAREC\n')
    assert read_universe(path, LIMIT) == [
        Entry("PKX", company="POSCO Holdings", line=2),
        Entry("AREC", line=4),
    ]

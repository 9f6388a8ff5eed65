"""Source readers on small files we make here: Markdown, HTML, PDF (generated in the test), and
the bad ones (binary named .pdf, encrypted or empty PDF, non-UTF-8 text, an oversized file)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fpdf import FPDF

from conftest import run_cli
from thesisgen.errors import InputFileError
from thesisgen.sources import load_sources, read_source

HTML = """<!doctype html><html><head>
<title>POSCO and ReElement plan a U.S. magnet complex</title>
<meta property="og:site_name" content="Metal Wire">
<meta property="article:published_time" content="2025-09-24T05:37:00Z">
<link rel="canonical" href="https://example.com/metal-wire/posco">
<script>window.tracker = "ignore me 99%";</script>
</head><body>
<nav><a href="/">Home</a> | <a href="/markets">Markets</a> | Subscribe for 50% off</nav>
<article>
<h1>POSCO and ReElement plan a U.S. magnet complex</h1>
<p>China controls roughly 80% of the world's rare-earth processing and refining capacity, a share
that worries carmakers and defence planners alike.</p>
<p>POSCO has signed contracts worth nearly $900 million to supply permanent magnets for 3.85
million electric-vehicle motors over the coming decade, the companies said.</p>
<p>The partners did not disclose a capital budget, a timeline or a site for the planned complex.</p>
</article>
<footer>Copyright 2025 Metal Wire. All rights reserved.</footer>
</body></html>
"""


def _pdf(
    path: Path, pages: list[str], title: str | None = None, password: str | None = None
) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    if title:
        pdf.set_title(title)
        pdf.set_author("Example Research")
        pdf.set_creation_date(dt.datetime(2025, 9, 24, tzinfo=dt.UTC))
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    pdf.output(str(path))
    return path


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "---\nid: S7\ntitle: My notes\npublished: 2025-10-01\n---\n# Heading\nChina has 80%.\n"
    )
    source = read_source(path, "S1")
    assert (source.id, source.title, source.published) == ("S7", "My notes", dt.date(2025, 10, 1))
    assert source.text.startswith("# Heading") and source.sha256


def test_html_main_text_and_meta_tags(tmp_path: Path) -> None:
    path = tmp_path / "posco.html"
    path.write_text(HTML)
    source = read_source(path, "S1")
    assert "roughly 80% of the world's rare-earth processing" in source.text
    assert "3.85" in source.text and "did not disclose a capital budget" in source.text
    for boilerplate in ("ignore me", "Subscribe", "Copyright", "window.tracker"):
        assert boilerplate not in source.text, boilerplate
    assert source.title == "POSCO and ReElement plan a U.S. magnet complex"
    assert source.publisher == "Metal Wire"
    assert source.published == dt.date(2025, 9, 24)
    assert source.url == "https://example.com/metal-wire/posco"


def test_pdf_text_pages_and_info(tmp_path: Path) -> None:
    path = _pdf(
        tmp_path / "report.pdf",
        [
            "China controls roughly 80% of processing capacity.",
            "Contracts are worth nearly $900 million.",
        ],
        title="Rare earth report",
    )
    source = read_source(path, "S1")
    assert source.title == "Rare earth report" and source.publisher == "Example Research"
    assert source.published == dt.date(2025, 9, 24)
    assert len(source.page_starts) == 2
    second = source.text[source.page_starts[1] :]
    assert second.startswith("Contracts are worth nearly $900 million.")
    assert "80%" in source.text[: source.page_starts[1]]


def test_sidecar_overrides_metadata(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "report.pdf", ["Some text with 80%."], title="PDF title")
    (tmp_path / "report.pdf.meta.yaml").write_text(
        "title: Annual report 2024\npublisher: ACME Corp\nurl: https://example.com/ar\n"
    )
    source = read_source(path, "S1")
    assert (source.title, source.publisher, source.url) == (
        "Annual report 2024",
        "ACME Corp",
        "https://example.com/ar",
    )


BAD_CASES = ["binary.pdf", "encrypted.pdf", "empty.pdf", "latin1.txt", "huge.txt"]


def _make_bad(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    if name == "binary.pdf":
        path.write_bytes(bytes(range(256)) * 40)
    elif name == "encrypted.pdf":
        _pdf(path, ["secret 80%"], password="hunter2")
    elif name == "empty.pdf":
        _pdf(path, ["", ""])
    elif name == "latin1.txt":
        path.write_bytes("caf\xe9 grew 80%".encode("latin-1"))
    else:
        with path.open("wb") as handle:
            handle.truncate(50 * 1024 * 1024)
    return path


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("binary.pdf", "is not a readable PDF"),
        ("encrypted.pdf", "is an encrypted PDF"),
        ("empty.pdf", "no extractable text"),
        ("latin1.txt", "is not UTF-8 text"),
        ("huge.txt", "50 MB, over the 20 MB limit"),
    ],
)
def test_bad_source_named_on_the_command_line_exits_2(
    tmp_path: Path, name: str, needle: str
) -> None:
    path = _make_bad(tmp_path, name)
    result = run_cli(
        "draft", "--ticker", "AREC", "--source", path, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert result.code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("thesisgen: error:")]
    assert len(errors) == 1 and needle in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_bad_sources_in_a_folder_are_skipped_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in BAD_CASES:
        _make_bad(folder, name)
    (folder / "good.md").write_text("# Good\nChina controls roughly 80% of processing.\n")
    warnings: list[str] = []
    sources = load_sources([folder], warn=warnings.append)
    assert [s.path for s in sources] == ["good.md"]
    assert len(warnings) == len(BAD_CASES)
    assert all(w.startswith("warning: skipped source") for w in warnings)


def test_a_folder_of_only_bad_sources_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    _make_bad(folder, "binary.pdf")
    with pytest.raises(InputFileError, match="no usable source"):
        load_sources([folder])

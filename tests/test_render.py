"""Rendering: the DOCX opens in LibreOffice, honours a user template, and the run needs no network."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from conftest import StaticPair, libreoffice_pdf
from thesisgen import run
from thesisgen.errors import InputFileError
from thesisgen.models import Memo
from thesisgen.progress import PlainProgress


@pytest.mark.recordings
def test_offline_run_in_process_opens_no_socket(tmp_path: Path) -> None:
    """pytest-socket blocks every socket here: the replayed run must not need one."""
    log = io.StringIO()
    outcome = run.draft(run.DraftRequest(ticker="AREC", out=tmp_path / "o"), PlainProgress(log))
    assert outcome.report.ok
    assert "replaying" in log.getvalue()


def test_user_template_styles_are_used(static_pair: StaticPair, tmp_path: Path) -> None:
    template = tmp_path / "house.docx"
    base = docx.Document()
    base.styles["Normal"].font.name = "Georgia"
    base.add_paragraph("Template boilerplate that must not leak into the memo.")
    base.save(str(template))
    path = run.render(
        static_pair.draft, static_pair.facts, tmp_path / "r", False, template, dt.date(2025, 1, 2)
    )
    document = docx.Document(str(path))
    assert document.styles["Normal"].font.name == "Georgia"
    assert "Template boilerplate" not in "\n".join(p.text for p in document.paragraphs)
    assert "Citation" in [s.name for s in document.styles]


def test_unusable_template_is_a_clear_error(static_pair: StaticPair, tmp_path: Path) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match=r"not a usable \.docx"):
        run.render(
            static_pair.draft, static_pair.facts, tmp_path / "r", False, bad, dt.date(2025, 1, 2)
        )
    assert not (tmp_path / "r" / "memo.docx").exists()


@pytest.mark.slow
def test_libreoffice_renders_the_memo(static_pair: StaticPair, tmp_path: Path) -> None:
    """LibreOffice lays the memo out as a reader sees it: every heading, the markers as links,
    the appendices, page X of Y, and a page count in proportion to the text."""
    pypdf = pytest.importorskip("pypdf")
    run.render(static_pair.draft, static_pair.facts, tmp_path, False, None, dt.date(2025, 1, 2))
    libreoffice_pdf(tmp_path / "memo.docx", tmp_path)
    reader = pypdf.PdfReader(str(tmp_path / "memo.pdf"))
    pages = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    text = " ".join(pages)
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    for heading in [s.heading for s in memo.sections] + [
        "Appendices", "A. Cited facts", "B. Sources", "C. Dropped facts", "D. Generation record"
    ]:  # fmt: skip
        assert heading in text, heading
    assert "[F13]" in text and "nearly $900 million" in text
    # Page 1 is the decision page: the bottom line, its key figures and the validation line.
    assert memo.sections[0].heading in pages[0]
    assert "What it is" in pages[0] and "text hash" in pages[0]
    assert (
        f"Page 1 of {len(pages)}" in pages[0] and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    )
    words = len(text.split())
    assert 4 <= len(pages) <= 4 + words // 250, (len(pages), words)
    # The [F#] markers survive as links inside the PDF (internal GoTo or named destinations).
    links = [
        a.get_object() for page in reader.pages for a in (page.get("/Annots") or [])
        if a.get_object().get("/Subtype") == "/Link"
    ]  # fmt: skip
    cited = {c for s in memo.sections for p in s.paragraphs for t in p.sentences for c in t.cites}
    assert len(links) >= len(cited)


@pytest.mark.slow
def test_libreoffice_renders_the_chart(tmp_path: Path) -> None:
    """A memo with XBRL figures: LibreOffice lays out the chart in the financials section, one
    picture at print resolution that is not blank, with its caption's fact IDs under it."""
    pypdf = pytest.importorskip("pypdf")
    from test_chart import apple_facts, render_apple

    out = render_apple(tmp_path, apple_facts())
    libreoffice_pdf(out / "memo.docx", tmp_path)
    reader = pypdf.PdfReader(str(tmp_path / "memo.pdf"))
    pages = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    page = next(i for i, text in enumerate(pages) if "Plotted facts:" in text)
    assert "Financials and valuation" in pages[page]
    assert "[F1][F2][F3][F4][F5][F6]" in pages[page].replace(" ", "")
    if not (shutil.which("pdfimages") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdfimages, pdftoppm) is not installed")
    listed = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "memo.pdf")],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.splitlines()[2:]  # fmt: skip
    images = [line.split() for line in listed if line.split()[2] == "image"]
    assert len(images) == 1, listed  # the chart, once, on the caption's page, ~6 in at 300 dpi
    assert int(images[0][0]) == page + 1 and images[0][3:5] == ["1800", "840"], images
    assert 280 <= int(images[0][12]) <= 320, images
    # The page as a reader sees it: the picture's area is not blank.
    subprocess.run(
        ["pdftoppm", "-f", str(page + 1), "-l", str(page + 1), "-r", "60", "-png", "-singlefile",
         str(tmp_path / "memo.pdf"), str(tmp_path / "page")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert _tallest_bar(tmp_path / "page.png") >= 30, "the chart does not show on its page"


def _tallest_bar(png: Path, min_width: int = 20) -> int:
    """How many consecutive pixel rows hold a run of at least ``min_width`` accent-blue pixels: a
    bar of the chart is a tall block; text (the blue citation markers, their underlines) is not."""
    from PIL import Image

    with Image.open(png) as shown:
        pixels = shown.convert("RGB")
    width, height = pixels.size
    data = pixels.load()
    assert data is not None
    tallest = rows = 0
    for y in range(height):
        run = longest = 0
        for x in range(width):
            r, _, b = data[x, y]
            run = run + 1 if b > r + 40 else 0
            longest = max(longest, run)
        rows = rows + 1 if longest >= min_width else 0
        tallest = max(tallest, rows)
    return tallest

"""The AAPL bundle end to end, offline: the recorded EDGAR session and hand-written model answers
give a memo that passes the gate, whose page 1 shows filed figures with their fact IDs, whose chart
plots values equal to Apple's XBRL records, and that an edited ledger or an earlier date cannot
pass. The LibreOffice test lays it out as a reader sees it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from test_chart import values_in

from conftest import companyfacts_entries, libreoffice_pdf, recorded_companyfacts, run_cli
from thesisgen.models import FactSet, Manifest, Report
from thesisgen.notation import KEY_FIGURES_HEADER


@pytest.fixture(scope="module")
def memo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("aapl")
    done = run_cli("draft", "--ticker", "AAPL", "--out", home / "out", cwd=home)
    assert done.code == 0, done.stderr
    return home / "out"


def _filed_value(cf: dict[str, Any], filed: Any) -> Decimal:
    (entry,) = companyfacts_entries(cf, filed)
    return Decimal(str(entry["val"]))


def test_the_memo_passes_the_gate_as_of_the_bundles_date(memo: Path) -> None:
    report = Report.model_validate_json((memo / "report.json").read_text())
    assert report.ok and not report.violations
    manifest = Manifest.model_validate_json((memo / "manifest.json").read_text())
    assert manifest.as_of is not None and manifest.as_of.isoformat() == "2025-06-30"
    assert manifest.provenance == ["hand-written"]


def test_page_one_shows_filed_figures_with_their_fact_ids(memo: Path) -> None:
    factset = FactSet.model_validate_json((memo / "facts.json").read_text())
    facts = factset.by_id()
    document = docx.Document(str(memo / "memo.docx"))
    table = next(
        t for t in document.tables if tuple(c.text for c in t.rows[0].cells) == KEY_FIGURES_HEADER
    )
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    filed = [(figure, fid.strip(" []")) for figure, _, fid in rows]
    measures = {facts[fid].filed.measure for _, fid in filed if facts[fid].filed}  # type: ignore[union-attr]
    assert {"revenue", "net_income"} <= measures
    cf = recorded_companyfacts()
    for figure, fid in filed:
        fact = facts[fid]
        assert fact.kind == "xbrl" and fact.filed is not None
        assert fact.statement.split(" of ")[1].split(" ")[0] in figure  # "$391,035"
        assert _filed_value(cf, fact.filed) == fact.filed.value


def test_the_charts_values_read_from_its_alt_text_are_apples_xbrl_values(memo: Path) -> None:
    factset = FactSet.model_validate_json((memo / "facts.json").read_text())
    facts = factset.by_id()
    document = docx.Document(str(memo / "memo.docx"))
    (picture,) = list(document.element.body.iter(qn("wp:docPr")))
    plotted = values_in(picture.get("descr"))
    assert len(plotted) >= 6  # two series, three fiscal years
    cf = recorded_companyfacts()
    for fid, (period, value) in plotted.items():
        fact = facts[fid]
        assert fact.filed is not None and fact.filed.period == period
        assert value == fact.filed.value == _filed_value(cf, fact.filed)
    # the same picture beside memo.md, linked from it
    assert (memo / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](chart.png)" in (memo / "memo.md").read_text()


def test_an_edited_financial_fact_or_an_earlier_date_is_refused(memo: Path, tmp_path: Path) -> None:
    data = json.loads((memo / "facts.json").read_text())
    fact = next(f for f in data["facts"] if f["kind"] == "xbrl")
    fact["filed"]["value"] = fact["filed"]["value"] + 1
    edited = tmp_path / "facts.json"
    edited.write_text(json.dumps(data))
    done = run_cli("validate", memo / "draft.json", "--facts", edited, cwd=tmp_path)
    assert done.code == 2 and fact["id"] in done.stderr, done.stderr
    earlier = run_cli(
        "render", memo / "draft.json", "--facts", memo / "facts.json", "--out", tmp_path / "r",
        "--as-of", "2024-06-30", cwd=tmp_path,
    )  # fmt: skip
    assert earlier.code == 2 and "filed after the memo date 2024-06-30" in earlier.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_libreoffice_lays_out_the_aapl_memo(memo: Path, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(libreoffice_pdf(memo / "memo.docx", tmp_path)))
    pages = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    factset = FactSet.model_validate_json((memo / "facts.json").read_text())
    revenue = next(
        f
        for f in factset.facts
        if f.filed and (f.filed.measure, f.filed.period) == ("revenue", "FY2024")
    )
    # page 1: the decision page carries the filed revenue with its fact ID
    assert "$391,035 million" in pages[0] and f"[{revenue.id}]" in pages[0]
    chart_page = next(i for i, text in enumerate(pages) if "Plotted facts:" in text)
    assert "Financials and valuation" in " ".join(pages[chart_page - 1 : chart_page + 1])
    # one picture (LibreOffice may list it in every page's resources: count distinct data)
    pictures = {image.data for page in reader.pages for image in page.images}
    assert len(pictures) == 1
    assert "0000320193-24-000123" in " ".join(pages)  # Appendix A's filed records

"""The financials chart: which XBRL figures it plots, the picture in memo.docx and memo.md, and
its alt text read back against the facts' filed values.

The facts are built here (Apple's revenue and net income for FY2022-FY2024 as filed in its 10-K
XBRL), since the module that makes XBRL facts is written elsewhere; the memo's sentences are
written here too, so no prompt wording is involved.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import STATIC, run_authored, run_cli
from thesisgen import run
from thesisgen.models import Fact, FactSet, Filed, Memo, Paragraph, Section, Sentence, SourceInfo
from thesisgen.notation import CHART_CAPTION_STYLE, fact_bookmark
from thesisgen.outputs import CHART_FILE, DRAFT_OUTPUTS, MEMO_EXTRAS, OutputSet
from thesisgen.readback import read_memo
from thesisgen.render import chart_section, filed_record, memo_chart
from thesisgen.render.chart import alt_text, as_filed, chart_of, draw
from thesisgen.render.ooxml import bookmarks, external_links, internal_links

AS_OF = dt.date(2025, 6, 30)
D = dt.date
URL = "https://www.sec.gov/Archives/edgar/data/320193/000032019324000123/"
ACCESSION = "0000320193-24-000123"
FILED = D(2024, 11, 1)
YEARS = {  # fiscal year: (start, end), from the 10-K's own period dates
    2022: (D(2021, 9, 26), D(2022, 9, 24)),
    2023: (D(2022, 9, 25), D(2023, 9, 30)),
    2024: (D(2023, 10, 1), D(2024, 9, 28)),
}
MILLIONS = {
    "revenue": {2022: 394_328, 2023: 383_285, 2024: 391_035},
    "net_income": {2022: 99_803, 2023: 96_995, 2024: 93_736},
    "operating_income": {2022: 119_437, 2023: 114_301, 2024: 123_216},
}
CONCEPTS = {
    "revenue": ("RevenueFromContractWithCustomerExcludingAssessedTax", "revenue"),
    "net_income": ("NetIncomeLoss", "net income"),
    "operating_income": ("OperatingIncomeLoss", "operating income"),
}
ENDED = {2022: "September 24, 2022", 2023: "September 30, 2023", 2024: "September 28, 2024"}


def xbrl_fact(
    fid: str,
    measure: str,
    year: int,
    millions: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    period: str | None = None,
) -> Fact:
    concept, words = CONCEPTS[measure]
    start = start or YEARS[year][0]
    end = end or YEARS[year][1]
    filed = Filed(
        measure=measure, taxonomy="us-gaap", concept=concept, label=concept, unit="USD",
        start=start, end=end, value=Decimal(millions) * 10**6, form="10-K", filed=FILED,
        accession=ACCESSION, period=period or f"FY{year}", url=URL,
    )  # fmt: skip
    text = (
        f"Apple Inc. reported {words} of ${millions:,} million for fiscal {year} "
        f"(the year ended {ENDED.get(year, end.isoformat())})."
    )
    return Fact(
        id=fid, statement=text, source_id="S1", quote=_quote(filed, text), kind="xbrl", filed=filed
    )


def _quote(filed: Filed, text: str) -> str:
    """An xbrl fact's quote is its record written out (xbrl.quote_of, which re-grounding checks);
    before the xbrl module is merged, any text holding the figure."""
    try:
        from thesisgen.xbrl import quote_of  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return text
    return str(quote_of(filed))


def apple_facts(measures: tuple[str, ...] = ("revenue", "net_income")) -> list[Fact]:
    facts = []
    for measure in measures:
        for year, value in MILLIONS[measure].items():
            facts.append(xbrl_fact(f"F{len(facts) + 1}", measure, year, value))
    return facts


def apple_pair(folder: Path, facts: list[Fact] | None = None) -> tuple[Path, Path]:
    """draft.json and facts.json of a small Apple memo whose financials section cites FY2024."""
    facts = apple_facts() if facts is None else facts
    by_measure = {(f.filed.measure, f.filed.period): f.id for f in facts if f.filed}
    revenue = by_measure[("revenue", "FY2024")]
    factset = FactSet(
        ticker="AAPL",
        company="Apple Inc.",
        sources=[
            SourceInfo(
                id="S1", title="Apple Inc. company facts (XBRL)", publisher="SEC EDGAR",
                published=FILED, url="https://data.sec.gov/api/xbrl/companyfacts/CIK0000320193.json",
            )
        ],
        facts=facts,
    )  # fmt: skip

    def said(text: str, *cites: str) -> Paragraph:
        return Paragraph(sentences=[Sentence(text=text, cites=list(cites))])

    sections = [
        Section(
            key="bottom_line", heading="Bottom line",
            paragraphs=[said("Apple Inc. reported revenue of $391,035 million for fiscal 2024.",
                             revenue)],
        ),
        Section(
            key="financials", heading="Financials and valuation",
            paragraphs=[said("Apple Inc. reported revenue of $391,035 million for fiscal 2024.",
                             revenue)],
        ),
        Section(
            key="risks", heading="Risks",
            paragraphs=[said("The memo rests on filed figures only and makes no forecast.")],
        ),
    ]  # fmt: skip
    memo = Memo(
        ticker="AAPL", company="Apple Inc.", title="Apple Inc. (AAPL): a filed-figures memo",
        stance="neutral", sections=sections,
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    draft_path, facts_path = folder / "draft.json", folder / "facts.json"
    draft_path.write_text(memo.model_dump_json(indent=2))
    facts_path.write_text(factset.model_dump_json(indent=2))
    return draft_path, facts_path


def render_apple(tmp_path: Path, facts: list[Fact] | None = None) -> Path:
    draft, facts_path = apple_pair(tmp_path / "in", facts)
    out = tmp_path / "out"
    run.render(draft, facts_path, out, False, None, AS_OF)
    return out


# --- which figures ---------------------------------------------------------------------------------


def test_revenue_and_net_income_by_fiscal_year() -> None:
    facts = apple_facts()
    chart = chart_of(facts, "Apple Inc.")
    assert chart is not None
    assert chart.periods == ("FY2022", "FY2023", "FY2024")
    assert [s.measure for s in chart.series] == ["revenue", "net_income"]
    assert chart.unit == "$ billions"
    plotted = {p.fact_id: p.value for s in chart.series for p in s.points}
    assert plotted == {f.id: f.filed.value for f in facts if f.filed}


def test_quarters_instants_and_other_units_are_not_plotted() -> None:
    facts = apple_facts()
    quarter = xbrl_fact("F90", "revenue", 2025, 95_359, D(2024, 12, 29), D(2025, 3, 29), "Q")
    fy2021 = (D(2020, 9, 27), D(2021, 9, 25))
    instant = xbrl_fact("F91", "net_income", 2021, 94_680, *fy2021)
    in_euros = xbrl_fact("F92", "revenue", 2021, 365_817, *fy2021)
    assert instant.filed is not None and in_euros.filed is not None
    instant = instant.model_copy(update={"filed": instant.filed.model_copy(update={"start": None})})
    in_euros = in_euros.model_copy(
        update={"filed": in_euros.filed.model_copy(update={"unit": "EUR"})}
    )
    chart = chart_of([*facts, quarter, instant, in_euros], "Apple Inc.")
    assert chart is not None and chart.periods == ("FY2022", "FY2023", "FY2024")
    assert {"F90", "F91", "F92"}.isdisjoint(chart.fact_ids)
    # Two annual years plus a quarter are not three years: no chart.
    two_years = [f for f in facts if f.filed and f.filed.period != "FY2022"]
    assert chart_of([*two_years, quarter], "Apple Inc.") is None


def test_two_fiscal_years_make_no_chart() -> None:
    facts = [f for f in apple_facts() if f.filed and f.filed.period != "FY2022"]
    assert chart_of(facts, "Apple Inc.") is None


def test_without_net_income_the_most_material_pair_is_plotted() -> None:
    """Revenue, then operating income (MATERIAL_ORDER): the top line and the next profit line."""
    facts = apple_facts(("revenue", "operating_income"))
    chart = chart_of(facts, "Apple Inc.")
    assert chart is not None
    assert [s.measure for s in chart.series] == ["revenue", "operating_income"]
    # Net income with only two years does not displace the pair that has three.
    extra = [
        xbrl_fact(f"F{50 + y}", "net_income", y, MILLIONS["net_income"][y]) for y in (2023, 2024)
    ]
    again = chart_of([*facts, *extra], "Apple Inc.")
    assert again is not None and [s.measure for s in again.series] == [
        "revenue",
        "operating_income",
    ]


def test_capital_expenditure_is_the_measure_key_and_named_by_its_noun() -> None:
    """Chart keys are xbrl.MEASURES keys and series names their nouns: capex is "capex" (not
    "capital_expenditure"), ranked by MATERIAL_ORDER and named "Capital expenditure"."""
    from thesisgen.render.chart import MATERIAL_ORDER
    from thesisgen.xbrl import MEASURES

    assert set(MATERIAL_ORDER) <= {m.key for m in MEASURES}
    revenue = apple_facts(("revenue",))
    capex = [
        xbrl_fact(f"F{20 + y}", "revenue", y, m)
        for y, m in {2022: 10_708, 2023: 10_959, 2024: 9_447}.items()
    ]
    capex = [
        f.model_copy(update={"filed": f.filed.model_copy(update={"measure": "capex"})})  # type: ignore[union-attr]
        for f in capex
    ]
    # a measure outside MATERIAL_ORDER whose key sorts before "capex" ranks after it
    other = [
        f.model_copy(
            update={
                "id": f"F{30 + n}",
                "filed": f.filed.model_copy(update={"measure": "book_value"}),  # type: ignore[union-attr]
            }
        )
        for n, f in enumerate(capex)
    ]
    chart = chart_of([*revenue, *other, *capex], "Apple Inc.")
    assert chart is not None
    assert [(s.measure, s.name) for s in chart.series] == [
        ("revenue", "Revenue"),
        ("capex", "Capital expenditure"),
    ]
    assert "revenue and capital expenditure" in chart.title


@pytest.mark.parametrize("days", [348, 349, 350, 371, 380, 381, 382])
def test_a_fiscal_year_is_what_xbrl_counts_as_one(days: int) -> None:
    from thesisgen.render.chart import fiscal_label
    from thesisgen.xbrl import annual_length, fiscal_year

    end = D(2025, 1, 3)  # a 53-week year ending in the first days of January: fiscal 2024
    start = end - dt.timedelta(days=days - 1)  # both days counted, as xbrl counts them
    fact = xbrl_fact("F1", "revenue", 2024, 1_000, start, end, "53 weeks")
    if annual_length(start, end):
        assert fiscal_label(fact) == f"FY{fiscal_year(start, end)}" == "FY2024"
    else:
        assert fiscal_label(fact) is None


def test_an_amendment_supersedes_the_original() -> None:
    facts = apple_facts()
    original = facts[2]
    assert original.filed is not None
    amended = original.model_copy(
        update={
            "id": "F40",
            "filed": original.filed.model_copy(
                update={"value": Decimal(391_036) * 10**6, "filed": D(2025, 1, 5), "form": "10-K/A"}
            ),
        }
    )
    chart = chart_of([*facts, amended], "Apple Inc.")
    assert chart is not None and "F40" in chart.fact_ids and original.id not in chart.fact_ids


# --- the picture and its words ---------------------------------------------------------------------


VALUE = re.compile(r"(FY\d{4}) (-?)\$([\d,]+)( million)? \[(F\d+)\]")


def values_in(alt: str) -> dict[str, tuple[str, Decimal]]:
    """fact ID -> (fiscal year, dollars) as the alt text writes them."""
    found = {}
    for period, sign, digits, million, fid in VALUE.findall(alt):
        value = Decimal(digits.replace(",", "")) * (10**6 if million else 1)
        found[fid] = (period, -value if sign else value)
    return found


def test_alt_text_holds_every_value_exactly_as_filed() -> None:
    facts = apple_facts()
    chart = chart_of(facts, "Apple Inc.")
    assert chart is not None
    alt = alt_text(chart)
    assert alt.startswith("Bar chart of Apple Inc. revenue and net income by fiscal year")
    expected = {f.id: (f.filed.period, f.filed.value) for f in facts if f.filed}
    assert values_in(alt) == expected
    assert as_filed(Decimal(-5_000_000)) == "-$5 million"
    assert as_filed(Decimal(1_234_567)) == "$1,234,567"


def test_the_png_is_deterministic_and_at_print_resolution() -> None:
    chart = chart_of(apple_facts(), "Apple Inc.")
    assert chart is not None
    png = draw(chart)
    draw.cache_clear()
    assert draw(chart) == png  # drawn again from scratch: the same bytes
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1800, 840)  # 6.0 x 2.8 in at 300 dpi
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_chart_section_falls_back_by_heading_then_last_section() -> None:
    def memo(*sections: tuple[str, str]) -> Memo:
        para = Paragraph(sentences=[Sentence(text="Text.")])
        return Memo(
            ticker="AAPL", title="T", stance="neutral",
            sections=[Section(key=k, heading=h, paragraphs=[para]) for k, h in sections],
        )  # fmt: skip

    assert chart_section(memo(("a", "A"), ("financials", "Money"), ("z", "Z"))) == "financials"
    assert chart_section(memo(("a", "A"), ("fin", "Financial position"), ("z", "Z"))) == "fin"
    assert chart_section(memo(("a", "A"), ("z", "Z"))) == "z"


# --- the memo ----------------------------------------------------------------------------------------


def _section_blocks(document: Any, heading: str) -> list[Any]:
    """Body blocks from the Heading 1 ``heading`` to the next Heading 1."""
    blocks: list[Any] = []
    inside = False
    for block in document.element.body:
        if block.tag != qn("w:p") and block.tag != qn("w:tbl"):
            continue
        text = "".join(t.text or "" for t in block.iter(qn("w:t")))
        style = block.find(qn("w:pPr") + "/" + qn("w:pStyle"))
        is_heading = style is not None and style.get(qn("w:val")) in ("Heading1", "Heading 1")
        if is_heading:
            if inside:
                break
            inside = text == heading
            continue
        if inside:
            blocks.append(block)
    return blocks


def test_docx_carries_the_chart_in_the_financials_section(tmp_path: Path) -> None:
    facts = apple_facts()
    out = render_apple(tmp_path, facts)
    document = docx.Document(str(out / "memo.docx"))
    drawings = [
        d
        for b in _section_blocks(document, "Financials and valuation")
        for d in b.iter(qn("wp:docPr"))
    ]
    assert len(drawings) == 1
    assert not [d for b in _section_blocks(document, "Risks") for d in b.iter(qn("wp:docPr"))]
    doc_pr = drawings[0]
    assert doc_pr.get("title") and "revenue and net income" in doc_pr.get("title")
    expected = {f.id: (f.filed.period, f.filed.value) for f in facts if f.filed}
    assert values_in(doc_pr.get("descr")) == expected
    extent = document.inline_shapes[0].width
    assert abs(extent.inches - 6.0) < 0.05
    # The caption under it names the plotted facts, each a link to its Appendix A bookmark.
    caption = next(
        p
        for p in document.paragraphs
        if p.style is not None and p.style.name == CHART_CAPTION_STYLE
    )
    links = [a for a, _ in internal_links(caption._p)]
    assert links == [fact_bookmark(f.id) for f in facts]
    marks = bookmarks(document.element.body)
    assert all(fact_bookmark(f.id) in marks for f in facts) and facts
    with zipfile.ZipFile(out / "memo.docx") as package:
        media = [n for n in package.namelist() if n.startswith("word/media/")]
        assert len(media) == 1 and package.read(media[0]) == (out / "chart.png").read_bytes()


def test_appendix_a_shows_the_filed_record_and_links_the_filing(tmp_path: Path) -> None:
    facts = apple_facts()
    out = render_apple(tmp_path, facts)
    document = docx.Document(str(out / "memo.docx"))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "ID")
    rows = {r.cells[0].text: r for r in table.rows[1:]}
    assert set(rows) == {f.id for f in facts}  # the chart's facts count as cited
    for fact in facts:
        assert fact.filed is not None
        evidence = rows[fact.id].cells[2].text
        for field in (
            f"{fact.filed.taxonomy}:{fact.filed.concept}", "unit USD",
            f"{fact.filed.start} to {fact.filed.end}", f"value as filed {fact.filed.value};",
            "form 10-K", f"filed {FILED}", f"accession {ACCESSION}",
        ):  # fmt: skip
            assert field in evidence, (field, evidence)
    links = [url for url, _ in external_links(document.part)]
    assert links.count(URL) == len(facts)
    md = (out / "memo.md").read_text()
    assert all(filed_record(f.filed) in md for f in facts if f.filed)
    assert f"<{URL}>" in md


def test_memo_md_links_chart_png(tmp_path: Path) -> None:
    facts = apple_facts()
    out = render_apple(tmp_path, facts)
    png = (out / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "memo.md").read_text()
    image = re.search(r"!\[(.+)\]\(chart\.png\)", md)
    assert image is not None
    expected = {f.id: (f.filed.period, f.filed.value) for f in facts if f.filed}
    assert values_in(image.group(1)) == expected
    financials = md.index("## Financials and valuation")
    assert financials < image.start() < md.index("## Risks")
    assert "Plotted facts:* " + "".join(f"[{f.id}]" for f in facts) in md


def test_no_chart_no_picture_and_no_stale_chart_png(tmp_path: Path) -> None:
    with_chart = render_apple(tmp_path)
    assert (with_chart / "chart.png").is_file()
    two_years = [f for f in apple_facts() if f.filed and f.filed.period != "FY2022"]
    draft, facts_path = apple_pair(tmp_path / "two", two_years)
    run.render(draft, facts_path, with_chart, True, None, AS_OF)  # over the set with a chart
    assert not (with_chart / "chart.png").exists()
    document = docx.Document(str(with_chart / "memo.docx"))
    assert not document.inline_shapes
    assert "chart.png" not in (with_chart / "memo.md").read_text()


def test_an_edited_memo_with_its_chart_reads_back_as_its_sections(tmp_path: Path) -> None:
    out = render_apple(tmp_path)
    edited = read_memo(out / "memo.docx", 50 * 1024 * 1024)
    draft = Memo.model_validate_json((tmp_path / "in" / "draft.json").read_text())
    financials = next(s for s in edited.sections if s.key == "financials")
    expected = next(s for s in draft.sections if s.key == "financials")
    assert financials.paragraphs == expected.paragraphs
    assert edited.current_hash == edited.recorded_hash  # the caption is not checked text
    checked = run.validate(out / "memo.docx", tmp_path / "in" / "facts.json", as_of=AS_OF)
    assert checked.report.ok and checked.stale is None, checked


def test_memos_without_xbrl_facts_have_no_chart(static_pair: Any) -> None:
    memo = Memo.model_validate_json(static_pair.draft.read_text())
    factset = FactSet.model_validate(json.loads(static_pair.facts.read_text()))
    assert memo_chart(memo, factset) is None


def test_thesisgen_render_draws_the_same_chart(tmp_path: Path) -> None:
    """`thesisgen render` from draft.json and facts.json: the chart the ledger gives, byte for byte."""
    facts = apple_facts()
    draft, facts_path = apple_pair(tmp_path / "in", facts)
    done = run_cli(
        "render", draft, "--facts", facts_path, "--out", tmp_path / "cli", "--as-of", AS_OF,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    chart = chart_of(facts, "Apple Inc.")
    assert chart is not None
    assert (tmp_path / "cli" / "chart.png").read_bytes() == draw(chart)
    assert "](chart.png)" in (tmp_path / "cli" / "memo.md").read_text()


def test_a_draft_set_without_a_chart_removes_the_chart_of_the_set_it_replaces(
    tmp_path: Path,
) -> None:
    """As the draft stage commits (outputs listed in the manifest): chart.png is in a memo's set
    only when the memo has a chart."""
    names = DRAFT_OUTPUTS + MEMO_EXTRAS

    def commit(files: dict[str, bytes]) -> None:
        with OutputSet(tmp_path, names, force=True) as out:
            outputs = {name: out.stage(name, data) for name, data in files.items()}
            manifest = json.dumps({"status": "complete", "outputs": outputs}).encode()
            out.commit(list(outputs), manifest)

    commit({"memo.md": b"with", CHART_FILE: b"\x89PNG"})
    assert (tmp_path / CHART_FILE).read_bytes() == b"\x89PNG"
    commit({"memo.md": b"without"})
    assert not (tmp_path / CHART_FILE).exists()
    assert (tmp_path / "memo.md").read_bytes() == b"without"


def test_a_caption_a_reviewer_rewrote_is_checked_as_text(tmp_path: Path) -> None:
    """The caption is skipped only while it reads as one; typed into, it is prose the gate checks."""
    out = render_apple(tmp_path)
    document = docx.Document(str(out / "memo.docx"))
    caption = next(
        p
        for p in document.paragraphs
        if p.style is not None and p.style.name == CHART_CAPTION_STYLE
    )
    for child in list(caption._p):
        if child.tag != qn("w:pPr"):
            caption._p.remove(child)
    caption.add_run("Revenue grew 12% a year.")
    document.save(str(tmp_path / "edited.docx"))
    checked = run.validate(tmp_path / "edited.docx", tmp_path / "in" / "facts.json", as_of=AS_OF)
    assert not checked.report.ok
    assert any(v.section == "financials" and "12%" in v.token for v in checked.report.violations)


@pytest.mark.enable_socket
@pytest.mark.slow
def test_a_draft_run_writes_chart_png_in_its_set(tmp_path: Path) -> None:
    """`thesisgen draft --facts` with XBRL figures in the ledger (the static AREC ledger plus the
    Apple facts, against the stub serving AREC's hand-written answers): chart.png is in the set and
    its manifest, the DOCX embeds the same bytes; a later run whose ledger has no XBRL figures
    (--force) leaves no chart.png behind."""
    static = FactSet.model_validate_json((STATIC / "facts.json").read_text())
    source = f"S{len(static.sources) + 1}"
    plotted = [
        f.model_copy(update={"id": f"F{len(static.facts) + i}", "source_id": source})
        for i, f in enumerate(apple_facts(), 1)
    ]
    with_xbrl = static.model_copy(
        update={
            "facts": [*static.facts, *plotted],
            "sources": [*static.sources, SourceInfo(id=source, title="Company facts (XBRL)")],
        }
    )
    (tmp_path / "facts.json").write_text(with_xbrl.model_dump_json())
    out = tmp_path / "out"
    args = ("draft", "--ticker", "AREC", "--out", out)
    served = run_authored("AREC", *args, "--facts", tmp_path / "facts.json", cwd=tmp_path)
    assert served.result.code == 0, served.result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert CHART_FILE in manifest["outputs"]
    with zipfile.ZipFile(out / "memo.docx") as package:
        (media,) = [n for n in package.namelist() if n.startswith("word/media/")]
        assert package.read(media) == (out / CHART_FILE).read_bytes()
    assert "](chart.png)" in (out / "memo.md").read_text()
    again = run_authored("AREC", *args, "--facts", STATIC / "facts.json", "--force", cwd=tmp_path)
    assert again.result.code == 0, again.result.stderr
    assert not (out / CHART_FILE).exists()
    assert CHART_FILE not in json.loads((out / "manifest.json").read_text())["outputs"]

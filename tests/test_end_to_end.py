"""The AREC run, checked the way an analyst would check the memo: by re-opening the DOCX.

What the run itself did (its ledger, repair and manifest) is checked on a run against our stub
serving the hand-written answers the recordings were made from (`arec_authored`); what the memo
shows (headings, citations, appendices, page one) is checked on the static pair (tests/data/static/,
the same draft and facts, see test_static_pair.py) as `thesisgen render` renders it. Only the test
of the offline replay itself (marked ``recordings``) replays, so a prompt change that makes the
recordings drift does not hide the other checks.

The figure check here is deliberately written independently of thesisgen's validator: its own
small parser reads numbers (with scale words) from each sentence and looks for the same value in
the cited facts' statements and quotes as printed in the memo's own appendix.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import docx
import pytest
import yaml

from conftest import ROOT, AuthoredRun, Completed, StaticPair, run_cli
from thesisgen.models import FactSet

OUTPUTS = {
    "memo.docx", "memo.md", "draft.json", "facts.json", "report.json", "report.md", "manifest.json"
}  # fmt: skip


def _outline_headings() -> list[str]:
    data = yaml.safe_load((ROOT / "templates" / "outline.yaml").read_text())
    return [s["heading"] for s in data["sections"]]


Body = list[tuple[str, str, list[str], list[str]]]


def _body_sentences(document: docx.document.Document) -> Body:
    """(heading, sentence, cited IDs, calculation notes printed under its section) for every
    outline-section sentence, read from the runs: a sentence run, an optional superscript note
    number, then its [F#] links."""
    headings = set(_outline_headings())
    current: str | None = None
    out: Body = []
    notes: dict[str, list[str]] = {}
    for para in document.paragraphs:
        if para.style.name.startswith("Heading"):
            current = para.text if para.text in headings else None
            continue
        if current is None:
            continue
        if para.style.name == "Calculation Note":
            notes.setdefault(current, []).append(para.text)
            continue
        pending: str | None = None
        cites: list[str] = []
        for item in para.iter_inner_content():
            if isinstance(item, docx.text.hyperlink.Hyperlink):
                assert pending is not None, f"citation link without a sentence in {current}"
                cites += re.findall(r"\[(F\d+)\]", item.text)
            elif item.style.name == "Calculation Reference" or not item.text.strip():
                continue
            else:
                if pending is not None:
                    out.append((current, pending.strip(), cites, notes.setdefault(current, [])))
                pending, cites = item.text, []
        if pending is not None and pending.strip():
            out.append((current, pending.strip(), cites, notes.setdefault(current, [])))
    return out


def _recompute(note: str) -> tuple[str, Decimal] | None:
    """Independently recompute a printed note: '1. $234 = $900 million [F13] / 3.85 million [F13]'."""
    match = re.match(r"\d+\. (.+?) [=\u2248] (.+)$", note)
    if match is None:
        return None
    expression = re.sub(r"\[F\d+\]", "", match.group(2)).replace("\u00d7", "*")
    expression = expression.replace("\u00f7", "/")
    arithmetic = _NUMBER.sub(lambda m: str(_values(m.group(0))[0][0]), expression.replace("$", ""))
    assert re.fullmatch(r"[\d.\s()+*/-]+", arithmetic), arithmetic
    return match.group(1), Decimal(str(eval(arithmetic)))


_SCALE = {
    "thousand": 10**3,
    "million": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
}
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s?(thousand|million|billion|bn|m|b)?(?![a-z])",
    re.IGNORECASE,
)


def _values(text: str) -> list[tuple[Decimal, Decimal]]:
    """(value, half of the displayed step) for each number in text: an independent mini-parser."""
    out = []
    for digits, scale in _NUMBER.findall(text):
        plain = digits.replace(",", "")
        factor = Decimal(_SCALE[scale.lower()]) if scale else Decimal(1)
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        out.append((Decimal(plain) * factor, Decimal(1).scaleb(-decimals) * factor / 2))
    return out


@pytest.fixture
def rendered(static_pair: StaticPair, tmp_path: Path) -> Path:
    """The folder of the static pair after `thesisgen render` wrote memo.docx and memo.md into it."""
    result = run_cli("render", static_pair.draft, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 0, result.stderr
    return static_pair.folder


@pytest.mark.recordings
def test_offline_draft_writes_all_six_files(arec_offline: tuple[Path, Completed]) -> None:
    out, result = arec_offline
    assert result.code == 0, result.stderr
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert "replaying the recorded responses" in result.stderr
    assert not any(name.startswith(".") for name in (p.name for p in out.iterdir()))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["mode"] == "replay" and manifest["provenance"] == ["hand-written"]


def test_memo_has_every_heading_cited_figures_and_appendix(rendered: Path) -> None:
    document = docx.Document(str(rendered / "memo.docx"))
    texts = [p.text for p in document.paragraphs]
    for heading in _outline_headings():
        assert heading in texts, heading

    sentences = _body_sentences(document)
    assert len(sentences) >= 25
    assert {h for h, _, _, _ in sentences} == set(_outline_headings())

    appendix = next(t for t in document.tables if t.rows[0].cells[0].text == "ID")
    assert [c.text for c in appendix.rows[0].cells] == [
        "ID",
        "Statement",
        "Quote (verbatim)",
        "Source",
    ]
    facts = {row.cells[0].text: row for row in appendix.rows[1:]}
    cited = {c for _, _, cites, _ in sentences for c in cites}
    assert cited <= set(facts), f"cited but not in appendix: {cited - set(facts)}"
    assert set(facts) <= cited, "the appendix lists only cited facts"

    with_figures = [(h, s, c, n) for h, s, c, n in sentences if _values(s)]
    assert len(with_figures) >= 10
    calculated = 0
    for heading, sentence, cites, notes in with_figures:
        assert cites, f"{heading}: figure without a [F#] marker: {sentence}"
        backing = " ".join(facts[c].cells[1].text + " " + facts[c].cells[2].text for c in cites)
        available = _values(backing)
        recomputed = [r for r in map(_recompute, notes) if r is not None]
        for value, half_step in _values(sentence):
            if any(abs(value - v) <= half_step for v, _ in available):
                continue
            # Not stated by a cited fact: it must be a calculation we can redo by hand.
            redo = [v for figure, v in recomputed if _values(figure)[0][0] == value]
            assert redo and abs(redo[0] - value) <= half_step, (
                f"{heading}: {value} in {sentence!r} is not in {cites} and not a checked calculation"
            )
            calculated += 1
    assert calculated >= 1, "the AREC memo demonstrates one calculated figure"


def test_citation_markers_are_visible_text(rendered: Path) -> None:
    document = docx.Document(str(rendered / "memo.docx"))
    body = "\n".join(p.text for p in document.paragraphs)
    assert re.search(r"\[F\d+\]", body)
    markdown = (rendered / "memo.md").read_text()
    assert "[F13]" in markdown and "### A. Cited facts" in markdown


@pytest.mark.enable_socket
def test_quotes_in_appendix_occur_in_their_sources(arec_authored: AuthoredRun) -> None:
    out = arec_authored.out
    facts = json.loads((out / "facts.json").read_text())
    texts = {
        p.stem: " ".join(p.read_text().split())
        for p in (ROOT / "fixtures" / "AREC" / "sources").glob("*.md")
    }
    by_source = {"S1": texts["analysis"], "S2": texts["summary"]}
    assert len(facts["facts"]) >= 20
    for fact in facts["facts"]:
        assert " ".join(fact["quote"].split()) in by_source[fact["source_id"]], fact["id"]


@pytest.mark.enable_socket
def test_gate_rejected_then_repair_passed_and_manifest_shows_both(
    arec_authored: AuthoredRun,
) -> None:
    out = arec_authored.out
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] is True
    repairs = report["repairs"]
    assert [(r["section"], r["attempt"]) for r in repairs] == [("market", 1)]
    kinds = {(v["kind"], v["token"]) for v in repairs[0]["violations"]}
    assert ("unsupported_number", "9.8%") in kinds
    assert ("uncited_number", "$900M") in kinds

    manifest = json.loads((out / "manifest.json").read_text())
    market = [(c["attempt"], c["outcome"]) for c in manifest["calls"] if c["target"] == "market"]
    assert market == [(1, "rejected"), (2, "ok")]
    assert manifest["mode"] == "live"  # the stub; the replayed run's mode: the test above
    assert manifest["usage"]["prompt_tokens"] > 0
    assert set(manifest["outputs"]) == OUTPUTS - {"manifest.json"}

    draft = (out / "draft.json").read_text()
    assert "9.8%" not in draft


@pytest.mark.enable_socket
def test_repaired_section_is_commented_and_dropped_facts_are_in_the_ledger(
    arec_authored: AuthoredRun,
) -> None:
    out = arec_authored.out
    document = docx.Document(str(out / "memo.docx"))
    comments = [c.text for c in document.comments]
    assert any("rejected" in c and "9.8%" in c for c in comments)
    facts = json.loads((out / "facts.json").read_text())
    reasons = [d["reason"] for d in facts["dropped"]]
    assert any("3.58 million" in r for r in reasons)


def test_dropped_facts_are_listed_in_appendix_c(rendered: Path) -> None:
    document = docx.Document(str(rendered / "memo.docx"))
    body = "\n".join(p.text for p in document.paragraphs)
    appendix = body.split("C. Dropped facts and source review notes", 1)[1]
    appendix = appendix.split("D. Generation record", 1)[0]
    factset = FactSet.model_validate_json((rendered / "facts.json").read_text())
    # The pair's ledger holds one fact dropped outright (its evidence was never shown) and one
    # misstated statement replaced by the fact on its evidence; both are listed with the reason.
    assert len(factset.lost) == 1 and "was not shown" in factset.lost[0].reason
    assert [d.kept_as for d in factset.dropped if d not in factset.lost] == ["F13"]
    for dropped in factset.dropped:
        assert f"{dropped.source_id}: {dropped.statement} Reason: {dropped.reason}." in appendix


def test_first_page_reports_stance_provenance_and_validation(rendered: Path) -> None:
    """The static pair's manifest is the replayed run's: page one names its provenance."""
    document = docx.Document(str(rendered / "memo.docx"))
    labels, values = ([c.text for c in row.cells] for row in document.tables[0].rows)
    first = dict(zip(labels, values, strict=True))
    assert first["Ticker"] == "AREC"
    assert first["Company"] == "American Resources Corporation"
    assert first["Stance"] in {"constructive", "neutral", "cautious", "not rated"}
    assert re.match(r"\d{4}-\d{2}-\d{2}$", first["As of"])
    page_one = [p.text for p in document.paragraphs[:8]]
    assert any("hand-written" in t for t in page_one)
    assert any("gate passed" in t and "text hash" in t for t in page_one)

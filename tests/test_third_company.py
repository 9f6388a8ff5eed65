"""A third company, with no bundle: a fictional mid-size industrial (tests/data/third/) whose sources
hold revenue, earnings, cash, debt and a dated share price, drafted with the default outline from
its own sources against our stub server. Its financials section carries real figures and a
valuation; nothing in the pipeline was written for the bundled companies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, THIRD_COMPANY, THIRD_TICKER

pytestmark = pytest.mark.enable_socket


def _draft(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "draft.json").read_text()))


def _section_text(draft: dict[str, Any], key: str) -> str:
    section = next(s for s in draft["sections"] if s["key"] == key)
    return " ".join(s["text"] for p in section["paragraphs"] for s in p["sentences"])


def test_third_company_draft_passes_the_gate(third_company_run: Path) -> None:
    out = third_company_run
    assert {p.name for p in out.iterdir()} >= {"memo.docx", "draft.json", "report.json"}
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] is True and report["violations"] == [] and report["repairs"] == []
    draft = _draft(out)
    assert (draft["ticker"], draft["company"]) == (THIRD_TICKER, THIRD_COMPANY)
    assert draft["stance"] == "constructive"
    outline = yaml.safe_load((ROOT / "templates" / "outline.yaml").read_text())
    assert [s["key"] for s in draft["sections"]] == [s["key"] for s in outline["sections"]]
    facts = json.loads((out / "facts.json").read_text())
    assert {f["topic"] for f in facts["facts"]} >= {"financials", "valuation"}
    assert facts["conflicts"] == [], "different measures of one year are not conflicts"


def test_financials_section_carries_the_figures_and_a_dated_valuation(
    third_company_run: Path,
) -> None:
    draft = _draft(third_company_run)
    text = _section_text(draft, "financials")
    for figure in ("$412.6 million", "$31.2 million", "$58.4 million", "$120.0 million"):
        assert figure in text, figure
    assert "$425 million to $440 million" in text, "guidance"
    assert "$24.50 a share on March 14, 2025" in text, "a dated share price"
    assert "no share price" not in text and "no revenue" not in text
    financials = next(s for s in draft["sections"] if s["key"] == "financials")
    calculations = [
        c["figure"]
        for p in financials["paragraphs"]
        for s in p["sentences"]
        for c in s["calculations"]
    ]
    assert {"$772 million", "$61.6 million", "7.6%", "25 times"} <= set(calculations)


def test_financials_prompt_knows_the_facts_hold_financials(third_company_run: Path) -> None:
    manifest = json.loads((third_company_run / "manifest.json").read_text())
    facts = {
        f["id"]: f for f in json.loads((third_company_run / "facts.json").read_text())["facts"]
    }
    carried = manifest["section_facts"]["financials"]
    assert {facts[i]["topic"] for i in carried} >= {"financials", "valuation"}
    assert set(manifest["section_facts"]) == {
        s["key"] for s in _draft(third_company_run)["sections"]
    }
    assert manifest["parameters"]["max_facts_per_section"] == 40

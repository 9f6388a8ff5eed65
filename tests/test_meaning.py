"""The gate checks what a figure means: a reviewer's edits that keep every figure right but change
the claim are caught, with the intended kind, in draft.json and in memo.docx as edited in Word.

Each edit replaces one sentence of the validated AREC draft (tests/data/static); the rest of the
memo is untouched, so the edit's violation is the only one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import AuthoredRun, StaticPair, run_cli
from thesisgen import run

AS_OF = dt.date(2026, 11, 27)

# (sentence of the draft that contains `find`, the sentence as edited, its new cites or None to
# keep them, the violation kind the gate must give)
EDITS = [
    pytest.param(
        "9.5% compound annual rate",
        "A market report the article cites forecasts that the U.S. rare earth elements market "
        "will grow at least 9.5% a year from 2025 to 2032, helped by the Inflation Reduction Act "
        "and the Defense Production Act.",
        None,
        "qualifier_mismatch",
        id="qualifier",
    ),
    pytest.param(
        "POSCO's contracts worth nearly $900 million",
        "ReElement's contracts worth nearly $900 million cover magnets for 3.85 million EV "
        "motors over the coming decade.",
        None,
        "holder_mismatch",
        id="holder",
    ),
    pytest.param(
        "POSCO's contracts worth nearly $900 million",
        "POSCO has delivered magnets for 3.85 million EV motors.",
        None,
        "modality_mismatch",
        id="modality",
    ),
    pytest.param(
        "9.5% compound annual rate",
        "A market report the article cites forecasts that the U.S. rare earth elements market "
        "will shrink at a 9.5% compound annual rate from 2025 to 2032, helped by the Inflation "
        "Reduction Act and the Defense Production Act.",
        None,
        "direction_mismatch",
        id="direction",
    ),
    pytest.param(
        "POSCO's contracts worth nearly $900 million",
        "POSCO's revenue of nearly $900 million covers magnets for 3.85 million EV motors over "
        "the coming decade.",
        None,
        "metric_mismatch",
        id="metric",
    ),
    pytest.param(
        "run it as a circular supply chain",
        "They intend to run it as a circular supply chain that recycles manufacturing scrap and "
        "end-of-life parts.",
        ["F2"],
        "unrelated_citation",
        id="unrelated-citation",
    ),
    pytest.param(
        "POSCO's contracts worth nearly $900 million",
        "We rate AREC a STRONG BUY.",
        ["F7"],
        "unattributed_rating",
        id="rating",
    ),
]


def _sentence(draft: dict[str, Any], find: str) -> dict[str, Any]:
    found = [
        s
        for section in draft["sections"]
        for p in section["paragraphs"]
        for s in p["sentences"]
        if find in s["text"]
    ]
    assert len(found) == 1, f"{find!r} is in {len(found)} sentences of the draft"
    return found[0]


def _kinds(result: dict[str, Any]) -> list[str]:
    return [v["kind"] for v in result["violations"]]


def test_the_untouched_draft_has_no_violation_and_no_comment(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    result = run_cli("validate", static_pair.draft, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    report = json.loads((static_pair.folder / "report.json").read_text())
    assert report["ok"] and report["violations"] == []


@pytest.mark.parametrize(("find", "edited", "cites", "kind"), EDITS)
def test_an_edit_of_draft_json_is_caught(
    static_pair: StaticPair,
    tmp_path: Path,
    find: str,
    edited: str,
    cites: list[str] | None,
    kind: str,
) -> None:
    draft = json.loads(static_pair.draft.read_text())
    sentence = _sentence(draft, find)
    sentence["text"] = edited
    sentence["calculations"] = []
    if cites is not None:
        sentence["cites"] = cites
    static_pair.draft.write_text(json.dumps(draft))
    result = run_cli(
        "validate", static_pair.draft, "--facts", static_pair.facts, "--json", cwd=tmp_path
    )
    assert result.code == 1, result.stdout + result.stderr
    assert set(_kinds(json.loads(result.stdout))) == {kind}


def _edit_docx(memo: Path, find: str, edited: str, cites: list[str] | None, out: Path) -> None:
    """Type over the sentence's text run in Word; with new cites, retype its markers' text too."""
    document = docx.Document(str(memo))
    for paragraph in document.paragraphs:
        children = [c for c in paragraph._p if c.tag in (qn("w:r"), qn("w:hyperlink"))]
        for i, child in enumerate(children):
            texts = list(child.iter(qn("w:t")))
            if (
                child.tag != qn("w:r")
                or not texts
                or find not in "".join(t.text or "" for t in texts)
            ):
                continue
            texts[0].text = edited
            for t in texts[1:]:
                t.text = ""
            if cites is not None:
                links = []
                for later in children[i + 1 :]:
                    if later.tag == qn("w:hyperlink"):
                        links.append(later)
                    elif "".join(t.text or "" for t in later.iter(qn("w:t"))).strip():
                        break
                for n, link in enumerate(links):
                    marker = list(link.iter(qn("w:t")))
                    marker[0].text = f"[{cites[n]}]" if n < len(cites) else ""
                    for t in marker[1:]:
                        t.text = ""
            document.save(str(out))
            return
    raise AssertionError(f"no run of the memo holds {find!r}")


@pytest.mark.parametrize(("find", "edited", "cites", "kind"), EDITS)
def test_an_edit_of_memo_docx_is_caught(
    static_pair: StaticPair,
    tmp_path: Path,
    find: str,
    edited: str,
    cites: list[str] | None,
    kind: str,
) -> None:
    memo = run.render(static_pair.draft, static_pair.facts, tmp_path / "m", False, None, AS_OF)
    edited_memo = tmp_path / "edited.docx"
    _edit_docx(memo, find, edited, cites, edited_memo)
    result = run_cli("validate", edited_memo, "--facts", static_pair.facts, "--json", cwd=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    assert set(_kinds(json.loads(result.stdout))) == {kind}


FIGURE_KINDS = {
    "uncited_number",
    "unknown_citation",
    "unsupported_number",
    "period_mismatch",
    "unit_mismatch",
    "bad_calculation",
}


@pytest.mark.enable_socket
@pytest.mark.parametrize("ticker", ["AREC", "PKX"])
def test_no_false_alarm_on_the_bundled_memos(ticker: str, request: pytest.FixtureRequest) -> None:
    """Every sentence of the bundled memos, in every attempt, passes the meaning rules: no
    violation of a new kind and no reviewer comment (the one authored AREC repair is about a
    figure, written to show the repair loop). The memos are drafted from the bundles' authored
    answers (arec_authored, pkx_authored), not replayed, so a prompt change leaves this alone."""
    drafted: AuthoredRun = request.getfixturevalue(f"{ticker.lower()}_authored")
    assert drafted.result.code == 0, drafted.result.stderr
    report = json.loads((drafted.out / "report.json").read_text())
    assert report["sentences"] >= 20
    assert report["violations"] == [] and report["comments"] == []
    rejected = [v for r in report["repairs"] for v in r["violations"]]
    assert {v["kind"] for v in rejected} <= FIGURE_KINDS, rejected

"""Every bundled company drafts offline; PKX shows conflicting sources handled end to end.

The offline drafts replay the recordings (marked ``recordings``); the PKX conflict is checked on a
run against our stub serving the answers they were made from, so it survives a prompt change.
"""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from conftest import ROOT, AuthoredRun, run_cli

BUNDLES = sorted(p.parent.name for p in (ROOT / "fixtures").glob("*/bundle.json"))


def test_there_are_at_least_two_companies() -> None:
    assert {"AREC", "PKX"} <= set(BUNDLES)


@pytest.mark.recordings
@pytest.mark.parametrize("ticker", BUNDLES)
def test_bundle_drafts_offline(ticker: str, tmp_path: Path) -> None:
    result = run_cli("draft", "--ticker", ticker, "--out", tmp_path / "o", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert json.loads((tmp_path / "o" / "report.json").read_text())["ok"] is True


@pytest.mark.enable_socket
def test_pkx_conflict_is_linked_prompted_and_shown(pkx_authored: AuthoredRun) -> None:
    out = pkx_authored.out
    facts = json.loads((out / "facts.json").read_text())
    [conflict] = facts["conflicts"]
    assert conflict["figures"] == ["80%", "90%"]
    report = json.loads((out / "report.json").read_text())
    assert report["conflicts"] == facts["conflicts"]
    # The prompt the market section was drafted from, as the model was sent it.
    [request] = [r for r in pkx_authored.requests if r["label"] == "PKX/draft/market/1"]
    prompt = request["body"]["messages"][1]["content"]
    assert "Some facts disagree" in prompt and conflict["note"] in prompt
    draft = json.loads((out / "draft.json").read_text())
    market = next(s for s in draft["sections"] if s["key"] == "market")
    cited = {c for p in market["paragraphs"] for s in p["sentences"] for c in s["cites"]}
    assert set(conflict["facts"]) <= cited, "the market section cites both sides"
    # The reviewer sees the disagreement where a sentence relies on it: a comment naming both.
    document = docx.Document(str(out / "memo.docx"))
    notes = [p.text for c in document.comments for p in c.paragraphs]
    disagree = [n for n in notes if n.startswith("Sources disagree")]
    assert disagree and all("80%" in n and "90%" in n for n in disagree)
    assert not any("cite both" in n for n in notes), (
        "the drafter's instruction is not for the reader"
    )

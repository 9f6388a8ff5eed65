"""When the gate still fails after the repairs: fail closed by default, report.md for a person, and
--allow-flagged for a memo whose failing sentences are highlighted, commented and counted on page 1.

The model is our stub server on 127.0.0.1, answering every section with one figure no fact backs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import StaticPair
from stub_openai import Reply, completion, serve
from thesisgen import run
from thesisgen.errors import GateFailedError, OutputExistsError
from thesisgen.progress import PlainProgress

UNBACKED = "Revenue will reach $5 billion next year."
CLEAN = "The sources say little about costs."


def _script(label: str, body: dict[str, Any]) -> Reply:
    # The stance section's schema (sent as response_format) asks for a stance.
    asks_stance = '"stance"' in json.dumps(body.get("response_format", {}))
    answer: dict[str, Any] = {
        "paragraphs": [
            {
                "sentences": [
                    {"text": UNBACKED, "cites": [], "calculations": []},
                    {"text": CLEAN, "cites": [], "calculations": []},
                ]
            }
        ]
    }
    if asks_stance:
        answer["stance"] = "cautious"
    return Reply(200, completion(body["model"], json.dumps(answer), label, 100))


def _draft(pair: StaticPair, out: Path, allow_flagged: bool) -> GateFailedError:
    with serve(_script) as server, pytest.raises(GateFailedError) as failed:
        run.draft(
            run.DraftRequest(
                ticker="AREC",
                facts_file=pair.facts,
                out=out,
                flags={"base_url": server.base_url, "model": "m", "max_repairs": "1"},
                allow_flagged=allow_flagged,
                as_of=dt.date(2026, 11, 27),
            ),
            PlainProgress(io.StringIO()),
        )
    return failed.value


@pytest.mark.enable_socket
def test_gate_failure_writes_no_memo_and_a_readable_report(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    error = _draft(static_pair, tmp_path / "o", allow_flagged=False)
    assert error.exit_code == 1 and "--allow-flagged" in str(error)
    out = tmp_path / "o"
    assert sorted(p.name for p in out.iterdir()) == [
        "facts.json", "manifest.json", "report.json", "report.md"
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "gate_failed"
    report = json.loads((out / "report.json").read_text())
    failing = {(v["section"], v["paragraph"], v["sentence"]) for v in report["violations"]}
    text = (out / "report.md").read_text()
    assert "did NOT pass" in text and "no memo was written" in text
    assert text.count(f"> {UNBACKED}") == len(failing)  # each failing sentence, quoted once
    assert "$5 billion" in text and "uncited_number" in text
    assert CLEAN not in text


@pytest.mark.enable_socket
def test_allow_flagged_writes_a_marked_memo_and_exits_1(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    error = _draft(static_pair, tmp_path / "o", allow_flagged=True)
    assert error.exit_code == 1 and "flagged" in str(error)
    out = tmp_path / "o"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "flagged"
    assert {"memo.docx", "memo.md", "report.md"} <= {p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text())
    failing = {(v["section"], v["paragraph"], v["sentence"]) for v in report["violations"]}

    document = docx.Document(str(out / "memo.docx"))
    page_one = " ".join(p.text for p in document.paragraphs[:6])
    assert f"FAILED the validator gate: {len(failing)} sentence(s)" in page_one
    highlighted = [
        r.text.strip()
        for p in document.paragraphs
        for r in p.runs
        if r._r.find(qn("w:rPr") + "/" + qn("w:highlight")) is not None
    ]
    assert highlighted == [UNBACKED] * len(failing)
    comments = [c.text for c in document.comments if c.text.startswith("FAILED the gate")]
    assert len(comments) == len(failing) and all("$5 billion" in c for c in comments)
    assert "flagged" in (out / "report.md").read_text()
    # A flagged set holds a memo a reviewer may be editing: the next run needs --force.
    with pytest.raises(OutputExistsError):
        run.draft(
            run.DraftRequest(ticker="AREC", facts_file=static_pair.facts, out=out, offline=True),
            PlainProgress(io.StringIO()),
        )

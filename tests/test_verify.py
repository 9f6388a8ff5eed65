"""The optional model check (--verify) over real HTTP: our stub on 127.0.0.1 serves the
hand-written AREC answers for facts and drafts, and each test's verdicts for the checks, chosen by
the call's label (the sentence's place), never by the prompt's wording.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import AREC, STATIC, run_cli
from stub_openai import authored_script, serve, verify_script
from thesisgen import budget, run
from thesisgen.config import FIELDS
from thesisgen.errors import BudgetExceededError, GateFailedError
from thesisgen.models import MODEL_CHECK_WARNING, FactSet, Manifest, Memo, Report
from thesisgen.notation import normalise
from thesisgen.progress import PlainProgress
from thesisgen.verify import Check, checks

pytestmark = pytest.mark.enable_socket

AUTHORED = authored_script(AREC / "authored")


def _checks() -> list[Check]:
    """The sentences the check reads in the AREC draft (the static pair is that draft)."""
    memo = Memo.model_validate_json((STATIC / "draft.json").read_text())
    factset = FactSet.model_validate_json((STATIC / "facts.json").read_text())
    return checks(memo, factset)


def _supported(target: str) -> str:
    return "supported"


def _draft(
    tmp_path: Path,
    verdict: Any,
    out: str = "out",
    log: list[dict[str, Any]] | None = None,
    **request: Any,
) -> run.DraftOutcome:
    """A live AREC draft against the stub; the requests it served are added to ``log``."""
    flags = {k: request.pop(k) for k in list(request) if k in FIELDS}
    with serve(verify_script(AUTHORED, verdict)) as server:
        try:
            return run.draft(
                run.DraftRequest(
                    ticker="AREC", out=tmp_path / out, **request,
                    flags={"base_url": server.base_url, "model": "handwritten-fixture",
                           "cache": False, **flags},
                ),
                PlainProgress(io.StringIO()),
            )  # fmt: skip
        finally:
            if log is not None:
                log += server.requests


def _verify_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in log if r["label"].split("/")[1] == "verify"]


def _comment_on(path: Path, needle: str) -> str:
    """The text a Word comment whose text holds ``needle`` is anchored on."""
    document = docx.Document(str(path))
    ids = [str(c.comment_id) for c in document.comments if needle in c.text]
    assert len(ids) == 1, needle
    for start in document.element.body.iter(qn("w:commentRangeStart")):
        if start.get(qn("w:id")) == ids[0]:
            texts, node = [], start.getnext()
            while node is not None and node.tag != qn("w:commentRangeEnd"):
                texts += [t.text or "" for t in node.iter(qn("w:t"))]
                node = node.getnext()
            return normalise("".join(texts))
    raise AssertionError("comment without an anchor")


def test_off_by_default_and_all_supported_changes_nothing(tmp_path: Path) -> None:
    off_log: list[dict[str, Any]] = []
    off = _draft(tmp_path, _supported, out="off", log=off_log)
    assert not _verify_requests(off_log), "off by default: no call"
    assert "verify" not in off.manifest.parameters and "verify" not in off.manifest.usage_by_stage

    log: list[dict[str, Any]] = []
    on = _draft(tmp_path, _supported, out="on", log=log, verify="comment")
    todo = _checks()
    sent = _verify_requests(log)
    assert sorted(r["label"] for r in sent) == sorted(f"AREC/verify/{c.target}/1" for c in todo)
    for check in todo:
        body = next(r["body"] for r in sent if r["label"] == f"AREC/verify/{check.target}/1")
        content = body["messages"][-1]["content"]
        assert check.text in content
        for fact in check.facts:  # each cited fact, with its statement and its quote
            assert fact.statement in content and " ".join(fact.quote.split()) in content
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["verdict"]["enum"] == [
            "supported", "contradicted", "not_enough_info",
        ]  # fmt: skip

    assert on.report.ok and on.report.comments == []
    assert (tmp_path / "on" / "report.json").read_bytes() == (
        tmp_path / "off" / "report.json"
    ).read_bytes()
    memo_on = (tmp_path / "on" / "memo.md").read_text()
    memo_off = (tmp_path / "off" / "memo.md").read_text()
    appendix_d = "### D. Generation record"
    assert memo_on.split(appendix_d)[0] == memo_off.split(appendix_d)[0]
    assert "| Model check | --verify comment: the model judged 38 sentence(s); 0 contradicted" in (
        memo_on
    )

    manifest = Manifest.model_validate_json((tmp_path / "on" / "manifest.json").read_text())
    calls = [c for c in manifest.calls if c.stage == "verify"]
    assert len(calls) == len(todo) and all(c.outcome == "ok" for c in calls)
    assert manifest.usage_by_stage["verify"].prompt_tokens > 0
    assert manifest.model_calls == len(off_log) + len(todo)
    assert manifest.parameters["verify"] == "comment"
    assert manifest.parameters["max_verify_sentences"] == 200


def test_a_contradicted_sentence_is_a_comment_or_with_gate_a_violation(tmp_path: Path) -> None:
    target = _checks()[9]

    def verdict(name: str) -> str:
        return "contradicted" if name == target.target else "supported"

    outcome = _draft(tmp_path, verdict, out="comment", verify="comment")
    assert outcome.report.ok, "in comment mode the gate's verdict does not change"
    (found,) = outcome.report.comments
    assert (found.section, found.paragraph, found.sentence, found.kind) == (
        target.section, target.paragraph, target.sentence, "model_contradicted",
    )  # fmt: skip
    assert found.text == target.text and found.token == target.cites
    assert f"the stub says contradicted for {target.target}" in found.message
    folder = tmp_path / "comment"
    anchored = _comment_on(folder / "memo.docx", found.message)
    assert anchored.rstrip("0123456789,") == normalise(target.text)
    report_md = (folder / "report.md").read_text()
    assert f"\u201c{target.text}\u201d" in report_md.split("## Reviewer comments")[1]
    manifest = Manifest.model_validate_json((folder / "manifest.json").read_text())
    rejected = [c.target for c in manifest.calls if c.stage == "verify" and c.outcome != "ok"]
    assert rejected == [target.target] and manifest.status == "complete"

    with pytest.raises(GateFailedError) as caught:
        _draft(tmp_path, verdict, out="gate", verify="gate")
    assert caught.value.exit_code == 1 and "model check" in str(caught.value)
    folder = tmp_path / "gate"
    report = Report.model_validate_json((folder / "report.json").read_text())
    assert not report.ok and not report.comments
    (violation,) = report.violations
    assert (violation.section, violation.paragraph, violation.sentence, violation.kind) == (
        target.section, target.paragraph, target.sentence, "model_contradicted",
    )  # fmt: skip
    assert not (folder / "memo.docx").exists()
    assert json.loads((folder / "manifest.json").read_text())["status"] == "gate_failed"
    assert "model_contradicted" in (folder / "report.md").read_text()

    with pytest.raises(GateFailedError):
        _draft(tmp_path, verdict, out="flagged", verify="gate", allow_flagged=True)
    anchored = _comment_on(tmp_path / "flagged" / "memo.docx", "FAILED the gate: the model")
    assert anchored.rstrip("0123456789,") == normalise(target.text)


def test_a_malformed_answer_is_asked_again_then_left_unverified(tmp_path: Path) -> None:
    target = _checks()[0]

    def verdict(name: str) -> str | dict[str, str]:
        return {"verdict": "maybe", "reason": "?"} if name == target.target else "supported"

    log: list[dict[str, Any]] = []
    outcome = _draft(tmp_path, verdict, log=log, verify="gate")
    labels = [r["label"] for r in _verify_requests(log)]
    assert labels.count(f"AREC/verify/{target.target}/1") == 1
    assert labels.count(f"AREC/verify/{target.target}/1+1") == 1, "asked again once"
    assert outcome.report.ok, "an unverified sentence does not fail the gate, even with gate"
    (found,) = outcome.report.comments
    assert found.kind == "model_unverified"
    assert (found.section, found.paragraph, found.sentence) == (
        target.section, target.paragraph, target.sentence,
    )  # fmt: skip
    (warning,) = [w for w in outcome.report.warnings if w.startswith(MODEL_CHECK_WARNING)]
    assert target.where() in warning and "unverified" in warning
    report_md = (tmp_path / "out" / "report.md").read_text()
    assert target.where() in report_md.split("## Model check")[1]


def test_the_budget_counts_the_verify_calls(tmp_path: Path) -> None:
    plain = budget.estimate([9_000, 3_000], None, 7, 2, 1, "m", {})
    verify = budget.estimate([9_000, 3_000], None, 7, 2, 1, "m", {}, verify_sentences=200)
    assert verify.calls == plain.calls + 7 * budget.SENTENCES_PER_SECTION
    assert verify.worst_calls == plain.worst_calls + 7 * budget.MAX_SENTENCES_PER_SECTION * 2
    assert verify.prompt_tokens > plain.prompt_tokens
    assert verify.worst_prompt_tokens > plain.worst_prompt_tokens
    capped = budget.estimate([9_000, 3_000], None, 7, 2, 1, "m", {}, verify_sentences=10)
    assert capped.calls == plain.calls + 10 and capped.worst_calls == plain.worst_calls + 20

    # A limit the draft fits and the draft with its checks does not: stopped before any call.
    assert _draft(tmp_path, _supported, out="fits", max_calls=20).report.ok
    log: list[dict[str, Any]] = []
    with pytest.raises(BudgetExceededError, match="--max-calls 20"):
        _draft(tmp_path, _supported, out="over", log=log, max_calls=20, verify="comment")
    assert log == [] and not (tmp_path / "over").exists()


def test_sentences_past_the_limit_are_left_unchecked_with_a_warning(tmp_path: Path) -> None:
    todo = _checks()
    log: list[dict[str, Any]] = []
    outcome = _draft(tmp_path, _supported, log=log, verify="comment", max_verify_sentences=5)
    labels = sorted(r["label"] for r in _verify_requests(log))
    assert labels == sorted(f"AREC/verify/{c.target}/1" for c in todo[:5]), "the first five"
    assert outcome.report.ok and not outcome.report.comments
    (warning,) = [w for w in outcome.report.warnings if w.startswith(MODEL_CHECK_WARNING)]
    assert f"{len(todo) - 5} sentence(s)" in warning and todo[5].where() in warning
    assert "max_verify_sentences (5)" in warning
    assert "max_verify_sentences (5)" in (tmp_path / "out" / "report.md").read_text()


def test_verify_calls_are_recorded_and_replayed(tmp_path: Path) -> None:
    todo = _checks()
    target = todo[3]

    def verdict(name: str) -> str:
        return "not_enough_info" if name == target.target else "supported"

    recordings = tmp_path / "recordings"
    recorded = _draft(
        tmp_path, verdict, out="rec", record=True, recordings=recordings, verify="comment"
    )
    names = sorted(p.name for p in recordings.glob("verify-*.json"))
    assert names == sorted(f"verify-{c.target}-1.json" for c in todo)

    replayed = run.draft(
        run.DraftRequest(
            ticker="AREC", out=tmp_path / "replay", offline=True, recordings=recordings,
            flags={"verify": "comment"},
        ),
        PlainProgress(io.StringIO()),
    )  # fmt: skip
    assert replayed.manifest.mode == "replay"
    assert replayed.report.comments == recorded.report.comments
    (found,) = replayed.report.comments
    assert found.kind == "model_unverified" and found.sentence == target.sentence

    def keys(manifest: Manifest) -> list[str]:
        return sorted(c.request_key for c in manifest.calls if c.stage == "verify")

    assert keys(replayed.manifest) == keys(recorded.manifest) and len(keys(recorded.manifest)) == 38


def test_verify_offline_without_its_recordings_stops_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("draft", "--ticker", "AREC", "--verify", "comment", "--out", out, cwd=tmp_path)
    assert result.code == 2, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("thesisgen: error:")]
    assert "no recording of the verify stage" in line and "drop --verify" in line
    assert "Traceback" not in result.stderr and not out.exists()

    bad = run_cli("draft", "--ticker", "AREC", "--verify", "maybe", "--out", out, cwd=tmp_path)
    assert (
        bad.code == 2 and "--verify" in bad.stderr and "'off', 'comment' or 'gate'" in (bad.stderr)
    )
    assert not out.exists()

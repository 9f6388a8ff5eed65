"""The LLM path over real HTTP: our stub server on 127.0.0.1, the openai SDK, httpx2, record, replay.

The stub serves the hand-written AREC answers, so a live run against it must produce the same memo
as the offline replay, and its request log shows what the model was actually sent.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import pytest

from conftest import AREC, Completed, run_cli
from stub_openai import Reply, authored_script, completion, serve
from thesisgen.draft import SectionDraft
from thesisgen.errors import AnswerShapeError, ModelServiceError, RecordingError
from thesisgen.llm import LLM, LLMSettings, RetryPolicy
from thesisgen.models import Usage
from thesisgen.recording import CallLabel

SECRET = "sk-test-DO-NOT-LEAK-4f9a8b7c6d5e"


def _all_text(folder: Path) -> str:
    chunks = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix == ".docx":
            with zipfile.ZipFile(path) as package:
                chunks += [package.read(n).decode("utf-8", "replace") for n in package.namelist()]
        elif path.is_file():
            chunks.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(chunks)


@pytest.mark.recordings
@pytest.mark.enable_socket
def test_live_run_against_stub_matches_replay_and_sends_repair(
    arec_offline: tuple[Path, Completed], tmp_path: Path
) -> None:
    replayed, _ = arec_offline
    with serve(authored_script(AREC / "authored")) as server:
        result = run_cli(
            "draft", "--ticker", "AREC", "--out", tmp_path / "live",
            "--base-url", server.base_url, "--model", "handwritten-fixture",
            cwd=tmp_path, OPENAI_API_KEY=SECRET,
        )  # fmt: skip
        requests = list(server.requests)
    assert result.code == 0, result.stderr
    assert json.loads((tmp_path / "live" / "draft.json").read_text()) == json.loads(
        (replayed / "draft.json").read_text()
    )
    assert len(requests) == 10
    assert all(
        {k.lower(): v for k, v in r["headers"].items()}.get("authorization") == f"Bearer {SECRET}"
        for r in requests
    )

    repair = next(r for r in requests if r["label"] == "AREC/draft/market/2")
    messages = repair["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "9.8%" in messages[2]["content"]  # the rejected answer, echoed back
    assert "'9.8%' is not in F11" in messages[3]["content"]
    assert "9.5%" in messages[3]["content"]
    assert "'$900M' has no cited fact" in messages[3]["content"]
    schema = repair["body"]["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True

    manifest = json.loads((tmp_path / "live" / "manifest.json").read_text())
    assert manifest["mode"] == "live"
    assert SECRET not in _all_text(tmp_path / "live") + result.stderr + result.stdout


@pytest.mark.enable_socket
def test_record_then_replay_offline_and_no_secret_anywhere(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    with serve(authored_script(AREC / "authored")) as server:
        recorded = run_cli(
            "record", "--ticker", "AREC", "--recordings", recordings, "--out", tmp_path / "rec",
            "--base-url", server.base_url, "--model", "handwritten-fixture",
            cwd=tmp_path, OPENAI_API_KEY=SECRET,
        )  # fmt: skip
    assert recorded.code == 0, recorded.stderr
    files = sorted(p.name for p in recordings.iterdir())
    assert "draft-market-2.json" in files and "facts-S1-1.json" in files
    assert not (tmp_path / "recordings.partial").exists()
    text = _all_text(recordings) + _all_text(tmp_path / "rec") + recorded.stderr + recorded.stdout
    assert SECRET not in text
    assert "Authorization" not in _all_text(recordings)
    record = json.loads((recordings / "draft-market-1.json").read_text())
    assert record["provenance"] == "hand-written"

    # The new recordings replace the bundle's for an offline run from a facts file: same memo.
    llm = LLM(LLMSettings(mode="replay", model="", recordings_dir=recordings))
    assert llm.model == "handwritten-fixture"
    llm.close()


def _replay_llm() -> LLM:
    return LLM(LLMSettings(mode="replay", model="", recordings_dir=AREC / "recordings"))


def test_replay_reports_drift_when_the_request_changed() -> None:
    llm = _replay_llm()
    label = CallLabel("AREC", "draft", "market", 1)
    with pytest.raises(
        RecordingError, match=r"recording for AREC draft stage, market, attempt 1 no longer matches"
    ):
        llm.call([{"role": "user", "content": "a different prompt"}], SectionDraft, label)


def test_replay_reports_a_missing_recording_by_stage_and_section() -> None:
    llm = _replay_llm()
    label = CallLabel("AREC", "draft", "valuation", 1)
    with pytest.raises(
        RecordingError, match=r"no recording for AREC draft stage, valuation, attempt 1"
    ):
        llm.call([{"role": "user", "content": "x"}], SectionDraft, label)


@pytest.mark.enable_socket
@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (Reply(200, b"this is not json"), "model service"),
        (Reply(400, {"error": {"message": "bad model"}}), "HTTP 400"),
    ],
)
def test_unusable_service_answers_are_model_service_errors(reply: Reply, needle: str) -> None:
    waits: list[float] = []
    retry = RetryPolicy(sleep=waits.append)  # the caller's policy: record the waits, spend none
    with serve(lambda label, body: reply) as server:
        llm = LLM(
            LLMSettings(
                mode="live", model="m", base_url=server.base_url, api_key="k", retry=retry,
                structured_output="json_schema",
            )
        )  # fmt: skip
        with pytest.raises(ModelServiceError, match=needle) as caught:
            llm.call(
                [{"role": "user", "content": "x"}],
                SectionDraft,
                CallLabel("AREC", "draft", "bottom_line", 1),
            )
        llm.close()
        attempts = len(server.requests)
    assert caught.value.attempts == attempts and caught.value.usage == Usage()
    if reply.status == 200:  # an unreadable body is retried, backing off every time
        assert attempts == retry.attempts and len(waits) == attempts - 1
        assert all(b >= a for a, b in itertools.pairwise(waits)) and waits[0] >= 1.0
    else:  # a 400 is the request's fault: not retried
        assert attempts == 1 and waits == []


def _served(replies: list[Reply]) -> Usage:
    """The usage the stub's answers reported."""
    counts = [r.body["usage"] for r in replies]
    return sum((Usage(prompt_tokens=c["prompt_tokens"],
                      completion_tokens=c["completion_tokens"]) for c in counts), Usage())  # fmt: skip


@pytest.mark.enable_socket
def test_schema_invalid_answer_names_the_field_and_what_it_cost() -> None:
    """Both answers (the first and the re-ask's) were paid for: the error and the run's counts
    say so, though the call failed."""
    replies: list[Reply] = []

    def script(label: str, body: dict[str, object]) -> Reply:
        content = json.dumps({"paragraphs": [{"lines": []}]})
        replies.append(Reply(200, completion("m", content, label, 400 * len(replies) + 10)))
        return replies[-1]

    with serve(script) as server:
        llm = LLM(LLMSettings(mode="live", model="m", base_url=server.base_url, api_key="k"))
        with pytest.raises(AnswerShapeError, match="does not fit the expected schema") as caught:
            llm.call(
                [{"role": "user", "content": "x"}],
                SectionDraft,
                CallLabel("AREC", "draft", "bottom_line", 1),
            )
        llm.close()
    assert len(replies) == 2 and caught.value.attempts == 2
    assert caught.value.usage == llm.spent == llm.usage == _served(replies)
    assert llm.live_calls == 2 and llm.usage_by_stage == {"draft": _served(replies)}


@pytest.mark.enable_socket
@pytest.mark.parametrize("finish", ["length", "content_filter"])
def test_a_cut_off_answer_is_counted_though_the_call_fails(finish: str) -> None:
    replies: list[Reply] = []

    def script(label: str, body: dict[str, object]) -> Reply:
        replies.append(Reply(200, completion("m", '{"paragraphs": [', label, 800, finish=finish)))
        return replies[-1]

    with serve(script) as server:
        llm = LLM(LLMSettings(mode="live", model="m", base_url=server.base_url, api_key="k",
                              structured_output="json_schema"))  # fmt: skip
        with pytest.raises(ModelServiceError) as caught:
            llm.call([{"role": "user", "content": "x"}], SectionDraft,
                     CallLabel("AREC", "draft", "risks", 1))  # fmt: skip
        llm.close()
    assert len(replies) == 1 and caught.value.attempts == 1 and caught.value.exit_code == 3
    assert caught.value.usage == llm.spent == _served(replies) != Usage()


def test_gate_failure_exits_1_with_report_and_no_memo(tmp_path: Path) -> None:
    """A model that never fixes its figure: after the repairs, exit 1, report written, no memo."""
    authored = tmp_path / "authored"
    authored.mkdir()
    for path in (AREC / "authored").glob("*.json"):
        (authored / path.name).write_bytes(path.read_bytes())
    bad = (authored / "draft-market-1.json").read_bytes()
    for attempt in (2, 3):
        (authored / f"draft-market-{attempt}.json").write_bytes(bad)
    with serve(authored_script(authored)) as server:
        result = run_cli(
            "draft", "--ticker", "AREC", "--out", tmp_path / "o", "--base-url", server.base_url,
            "--model", "handwritten-fixture", cwd=tmp_path,
        )  # fmt: skip
    assert result.code == 1, result.stderr
    assert "did not pass the gate" in result.stderr and "market" in result.stderr
    assert not (tmp_path / "o" / "memo.docx").exists()
    assert not (tmp_path / "o" / "draft.json").exists()
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["ok"] is False
    assert [r["attempt"] for r in report["repairs"]] == [1, 2, 3]
    assert {v["token"] for v in report["violations"]} == {"9.8%", "$900M"}

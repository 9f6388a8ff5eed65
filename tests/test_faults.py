"""Fault injection over real HTTP: every failure ends recovered within the retry budget, or with
exit 3 (service) and a one-line reason; never with partial outputs.

The stub serves the hand-written AREC answers, with the faults of each test's plan in front.
"""

from __future__ import annotations

import io
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import AREC, run_cli
from stub_openai import Reply, Script, authored_script, completion, faulty, serve
from thesisgen import run
from thesisgen.config import FIELDS
from thesisgen.draft import SectionDraft
from thesisgen.errors import (
    BudgetExceededError,
    GateFailedError,
    ModelServiceError,
    ThesisgenError,
    UsageError,
)
from thesisgen.llm import LLM, Budget, LLMSettings, RetryPolicy
from thesisgen.models import Manifest, Usage
from thesisgen.progress import PlainProgress
from thesisgen.recording import CallLabel

pytestmark = pytest.mark.enable_socket

AUTHORED = authored_script(AREC / "authored")
FIRST_DRAFT = "AREC/draft/bottom_line/1"


def _config(tmp_path: Path, **extra: Any) -> Path:
    settings = {
        "retry_attempts": 4,
        "retry_initial_wait": 0.01,
        "retry_max_wait": 0.05,
        "retry_total": 20,
    }
    settings.update(extra)
    path = tmp_path / "thesisgen.toml"
    path.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()) + "\n")
    return path


def _draft(
    tmp_path: Path, plan: dict[str, list[Reply | None]] | Script, **request: Any
) -> tuple[run.DraftOutcome, list[dict[str, Any]]]:
    """A live AREC draft against the stub: the authored answers with a plan of faults in front,
    or a whole script of the test's own."""
    config = _config(tmp_path, **request.pop("config", {}))
    flags = {k: request.pop(k) for k in list(request) if k in FIELDS}
    script = faulty(AUTHORED, plan) if isinstance(plan, dict) else plan
    entry = run.facts if request.pop("facts_only", False) else run.draft
    with serve(script) as server:
        outcome = entry(
            run.DraftRequest(
                ticker="AREC", out=tmp_path / "out", config=config, **request,
                flags={"base_url": server.base_url, "model": "handwritten-fixture", **flags},
            ),
            PlainProgress(io.StringIO()),
        )  # fmt: skip
        return outcome, list(server.requests)


def _assert_failure_set(out: Path) -> None:
    """A failed run leaves no memo and no partial file: at most its ledger and a manifest whose
    status says how it ended (or nothing, when it stopped before writing)."""
    if not out.exists():
        return
    names = sorted(p.name for p in out.iterdir())
    assert set(names) <= {"manifest.json", "facts.json"}, names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] in ("service_failed", "budget_exceeded", "interrupted")
    assert manifest["error"] and "\n" not in manifest["error"]


def _fails(tmp_path: Path, plan: dict[str, list[Reply | None]], **request: Any) -> ThesisgenError:
    with pytest.raises(ThesisgenError) as caught:
        _draft(tmp_path, plan, **request)
    _assert_failure_set(tmp_path / "out")
    assert "\n" not in str(caught.value)
    return caught.value


def _labels(requests: list[dict[str, Any]]) -> list[str]:
    return [r["label"] for r in requests]


def test_429_with_retry_after_is_honoured(tmp_path: Path) -> None:
    plan = {FIRST_DRAFT: [Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "1"})]}
    start = time.monotonic()
    outcome, requests = _draft(tmp_path, plan, config={"retry_max_wait": 5})
    assert time.monotonic() - start >= 1.0
    assert _labels(requests).count(FIRST_DRAFT) == 2
    assert outcome.report.ok


@pytest.mark.parametrize(
    "faults",
    [
        [Reply(500, {"error": {"message": "boom"}}), Reply(503, {"error": {"message": "busy"}})],
        [Reply(200, b"<html>gateway</html>")],
        [Reply(200, b"", truncate=True), Reply(200, {"choices": []})],
        [Reply(502, b"bad gateway", truncate=True)],
    ],
    ids=["500-then-503", "non-json-body", "truncated-then-empty", "truncated-502"],
)
def test_transient_faults_recover_within_the_budget(
    tmp_path: Path, faults: list[Reply | None]
) -> None:
    outcome, requests = _draft(tmp_path, {FIRST_DRAFT: faults})
    assert outcome.report.ok
    assert _labels(requests).count(FIRST_DRAFT) == len(faults) + 1
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    first = [c for c in manifest["calls"] if c["target"] == "bottom_line"]
    assert [c["attempt"] for c in first] == [1], "transport retries are not repair attempts"


def test_slow_answer_times_out_then_recovers(tmp_path: Path) -> None:
    plan = {FIRST_DRAFT: [Reply(200, {}, delay_s=3.0)]}
    outcome, requests = _draft(tmp_path, plan, timeout=1.0)
    assert outcome.report.ok
    assert _labels(requests).count(FIRST_DRAFT) == 2


def test_schema_invalid_answer_is_reasked_once(tmp_path: Path) -> None:
    bad = Reply(
        200,
        completion(
            "handwritten-fixture", json.dumps({"paragraphs": [{"lines": []}]}), FIRST_DRAFT, 10
        ),
    )
    # The re-ask is a new request (the bad answer and the parse error appended), so it has its own label.
    outcome, requests = _draft(tmp_path, {FIRST_DRAFT: [bad]}, structured_output="json_schema")
    assert outcome.report.ok
    first = next(c for c in outcome.manifest.calls if c.target == "bottom_line")
    assert (first.attempt, first.reasks) == (1, 1)
    reask = next(r for r in requests if r["label"] == FIRST_DRAFT + "+1")
    last = reask["body"]["messages"][-1]["content"]
    assert "not valid JSON for the schema" in last and "paragraphs.0" in last


def test_always_failing_server_exits_3_after_the_budget(tmp_path: Path) -> None:
    plan = {"*": [Reply(500, {"error": {"message": "down"}})] * 10}
    error = _fails(tmp_path, plan, structured_output="json_schema")
    assert isinstance(error, ModelServiceError) and error.exit_code == 3
    assert "HTTP 500" in str(error) and "after 4 attempt(s)" in str(error) and "down" in str(error)


@pytest.mark.parametrize(
    ("finish", "refusal", "needle"),
    [("length", None, "--max-tokens"), ("stop", "I can't help with that.", "refused")],
)
def test_cut_off_or_refused_answers_exit_3(
    tmp_path: Path, finish: str, refusal: str | None, needle: str
) -> None:
    body = completion("handwritten-fixture", "{", FIRST_DRAFT, 10, finish=finish)
    body["choices"][0]["message"]["refusal"] = refusal
    error = _fails(tmp_path, {FIRST_DRAFT: [Reply(200, body)] * 10})
    assert error.exit_code == 3 and needle in str(error)


def test_rejected_key_is_a_usage_error(tmp_path: Path) -> None:
    error = _fails(tmp_path, {"*": [Reply(401, {"error": {"message": "bad key"}})] * 10})
    assert isinstance(error, UsageError) and "OPENAI_API_KEY" in str(error)


def test_auto_falls_back_to_json_object_once_per_run(tmp_path: Path) -> None:
    """Like llama-cpp-python's server: json_schema answers 500, json_object with a schema works."""

    def llama_like(label: str, body: dict[str, Any]) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            return Reply(500, {"error": {"message": "Input should be 'text' or 'json_object'"}})
        assert (
            body["response_format"]["type"] == "json_object" and "schema" in body["response_format"]
        )
        return AUTHORED(label, body)

    outcome, requests = _draft(tmp_path, llama_like)
    kinds = [r["body"]["response_format"]["type"] for r in requests]
    assert kinds.count("json_schema") == 1, "probed once per run, then remembered"
    assert outcome.manifest.structured_output == "json_object"
    assert {c.wire_format for c in outcome.manifest.calls} == {"json_object"}


def test_prompt_only_json_when_no_response_format_is_accepted(tmp_path: Path) -> None:
    def plain_only(label: str, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return Reply(400, {"error": {"message": "response_format is not supported"}})
        assert "matches this JSON schema" in body["messages"][-1]["content"]
        reply = AUTHORED(label, body)
        content = reply.body["choices"][0]["message"]["content"]
        reply.body["choices"][0]["message"]["content"] = f"Here you go:\n```json\n{content}\n```"
        return reply

    outcome, _ = _draft(tmp_path, plain_only)
    assert outcome.manifest.structured_output == "prompt"
    assert outcome.report.ok


def test_cache_makes_a_rerun_free_and_no_cache_bypasses_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serve(AUTHORED) as server:
        args = [
            "draft",
            "--ticker",
            "AREC",
            "--base-url",
            server.base_url,
            "--model",
            "handwritten-fixture",
        ]
        first = run_cli(
            *args, "--out", tmp_path / "a", cwd=tmp_path, THESISGEN_CACHE_DIR=str(cache)
        )
        after_first = len(server.requests)
        second = run_cli(
            *args, "--out", tmp_path / "b", cwd=tmp_path, THESISGEN_CACHE_DIR=str(cache)
        )
        after_second = len(server.requests)
        third = run_cli(
            *args,
            "--out",
            tmp_path / "c",
            "--no-cache",
            cwd=tmp_path,
            THESISGEN_CACHE_DIR=str(cache),
        )
        after_third = len(server.requests)
    assert first.code == second.code == third.code == 0, second.stderr
    assert after_first == 10 and after_second == 10 and after_third == 20
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["model_calls"] == 0 and manifest["cache_hits"] == 10
    assert "0 call(s) to the model, 10 from cache" in second.stdout
    assert json.loads((tmp_path / "a" / "draft.json").read_text()) == json.loads(
        (tmp_path / "b" / "draft.json").read_text()
    )


def test_closing_line_reports_tokens_per_stage_and_cost(tmp_path: Path) -> None:
    with serve(AUTHORED) as server:
        result = run_cli(
            "draft", "--ticker", "AREC", "--base-url", server.base_url, "--model", "gpt-4o-mini",
            "--out", tmp_path / "o", cwd=tmp_path,
        )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "10 call(s) to the model, 0 from cache" in result.stdout
    assert "facts " in result.stdout and "draft " in result.stdout and "cost $" in result.stdout
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["cost_usd"] > 0
    assert set(manifest["usage_by_stage"]) == {"facts", "draft"}


def test_cli_exit_3_is_one_line(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = run_cli(
        "draft", "--ticker", "AREC", "--base-url", "http://127.0.0.1:9/v1", "--config", config,
        "--out", tmp_path / "o", cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("thesisgen: error:")]
    assert len(errors) == 1 and "could not reach the model service" in errors[0]
    assert "Traceback" not in result.stderr
    _assert_failure_set(tmp_path / "o")


def test_blank_sentences_and_calculations_are_dropped_not_fatal(tmp_path: Path) -> None:
    answer = {
        "stance": "neutral",
        "paragraphs": [
            {"sentences": [
                {"text": "   ", "cites": [], "calculations": []},
                {"text": "The sources give no site for the complex.", "cites": ["F20"],
                 "calculations": [{"figure": " ", "formula": " "}]},
            ]},
            {"sentences": []},
        ],
    }  # fmt: skip
    reply = Reply(200, completion("handwritten-fixture", json.dumps(answer), FIRST_DRAFT, 10))
    outcome, _ = _draft(tmp_path, {FIRST_DRAFT: [reply]})
    first = json.loads((outcome.folder / "draft.json").read_text())["sections"][0]
    assert first["paragraphs"] == [
        {
            "sentences": [
                {
                    "text": "The sources give no site for the complex.",
                    "cites": ["F20"],
                    "calculations": [],
                }
            ]
        }
    ]


def test_no_grounded_fact_stops_with_exit_1_and_the_reasons(tmp_path: Path) -> None:
    """Every proposed fact names evidence the model was not shown (or none); with the rules
    fallback off, nothing stands in for them and the run stops at the ledger."""
    bad = {
        "facts": [
            {"evidence": [100_000], "statement": "Sales were $5 billion.", "topic": "company"},
            {"evidence": [], "statement": "Sales grew fast.", "topic": "company"},
        ]
    }

    def script(label: str, body: dict[str, Any]) -> Reply:
        assert label.endswith("/1"), f"nothing to restate: {label}"
        return Reply(200, completion(body["model"], json.dumps(bad), label, 10))

    with pytest.raises(ThesisgenError) as caught:
        _draft(tmp_path, script, config={"rules_fallback": False})
    assert caught.value.exit_code == 1 and "no proposed fact survived grounding" in str(
        caught.value
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "facts.json",
        "manifest.json",
        "report.json",
    ]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    reasons = {d["statement"]: d["reason"] for d in report["dropped_facts"]}
    assert report["ok"] is False and set(reasons) == {"Sales were $5 billion.", "Sales grew fast."}
    assert "evidence sentence 100000 was not shown" in reasons["Sales were $5 billion."]
    assert reasons["Sales grew fast."] == "names no evidence sentence"
    facts = json.loads((tmp_path / "out" / "facts.json").read_text())
    assert facts["facts"] == [] and all(d["kept_as"] is None for d in facts["dropped"])

    # With the fallback on (the default), each source's sentences with a figure or the
    # company's name stand in, as written, and the reviewer is told why.
    (tmp_path / "fallback").mkdir()
    outcome, _ = _draft(tmp_path / "fallback", script, facts_only=True)
    assert outcome.factset is not None and outcome.factset.facts
    assert {f.kind for f in outcome.factset.facts} == {"rules"}
    assert any("proposed no usable fact" in w for w in outcome.factset.warnings)


# --- transient errors are not missing capabilities ---------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_one_transient_error_on_the_probe_keeps_json_schema(tmp_path: Path, status: int) -> None:
    """The first call of an auto run probes json_schema; a plain 5xx or 429 there is retried,
    and the run keeps json_schema instead of dropping to json_object for good."""
    waits: list[float] = []
    plan = {"*": [Reply(status, {"error": {"message": "busy, try again"}})]}
    outcome, requests = _draft(tmp_path, plan, retry=RetryPolicy(sleep=waits.append))
    assert outcome.report.ok
    assert outcome.manifest.structured_output == "json_schema"
    assert {r["body"]["response_format"]["type"] for r in requests} == {"json_schema"}
    assert waits and min(waits) >= 1.0, "every retry backs off"


def test_repeated_500s_back_off_then_exit_3_without_blaming_the_format(tmp_path: Path) -> None:
    waits: list[float] = []
    plan = {"*": [Reply(500, {"error": {"message": "internal error"}})] * 50}
    policy = RetryPolicy(attempts=6, initial_wait_s=0.5, max_wait_s=30, sleep=waits.append)
    with pytest.raises(ModelServiceError) as caught:
        _draft(tmp_path, plan, retry=policy)
    message = str(caught.value)
    assert "HTTP 500" in message and "after 6 attempt(s)" in message
    assert "rejected every structured-output format" not in message
    # The call that gave up waited five times, longer each time (a call that was waiting for the
    # probe's result may have begun its own tries before the failure cancelled the run).
    assert len(waits) >= 5
    assert all(b > a for a, b in itertools.pairwise(waits[:5]))
    _assert_failure_set(tmp_path / "out")


def test_a_format_refusal_in_a_500_body_still_falls_back(tmp_path: Path) -> None:
    """llama.cpp servers refuse json_schema with a 500 that names the format: that is a refusal."""

    def refuses(label: str, body: dict[str, Any]) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            message = 'response_format type must be one of "text" or "json_object"'
            return Reply(500, {"error": {"message": message}})
        return AUTHORED(label, body)

    outcome, requests = _draft(tmp_path, refuses, retry=RetryPolicy(sleep=lambda s: None))
    assert outcome.manifest.structured_output == "json_object"
    assert [r["body"]["response_format"]["type"] for r in requests].count("json_schema") == 1


def test_a_corrupt_cache_entry_is_fetched_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serve(AUTHORED) as server:
        args = ["draft", "--ticker", "AREC", "--base-url", server.base_url,
                "--model", "handwritten-fixture"]  # fmt: skip
        first = run_cli(
            *args, "--out", tmp_path / "a", cwd=tmp_path, THESISGEN_CACHE_DIR=str(cache)
        )
        assert first.code == 0, first.stderr
        entries = sorted(cache.glob("*.json"))
        entries[0].write_text('{"choices": []}')  # valid JSON, not a completion
        entries[1].write_bytes(entries[1].read_bytes()[:50])  # cut short
        before = len(server.requests)
        second = run_cli(
            *args, "--out", tmp_path / "b", cwd=tmp_path, THESISGEN_CACHE_DIR=str(cache)
        )
        fetched = len(server.requests) - before
    assert second.code == 0, second.stderr
    assert fetched == 2, "exactly the two bad entries were asked for again"
    assert json.loads(entries[0].read_text())["choices"]


# --- budgets -----------------------------------------------------------------------------------


def test_a_run_over_max_calls_stops_before_the_first_call(tmp_path: Path) -> None:
    with pytest.raises(BudgetExceededError, match="--max-calls 3") as caught:
        _draft(tmp_path, {}, max_calls=3)
    assert caught.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_the_hard_limit_holds_while_the_run_works(tmp_path: Path) -> None:
    """--yes skips the estimate; the runtime guard still stops a run at --max-calls when --yes is
    not given, so an estimate that was too low cannot overspend."""
    llm = LLM(LLMSettings(mode="live", model="m", base_url="http://127.0.0.1:9/v1",
                          budget=Budget(max_calls=0)))  # fmt: skip
    with pytest.raises(BudgetExceededError, match="--max-calls 0"):
        llm.call(
            [{"role": "user", "content": "x"}], SectionDraft, CallLabel("AREC", "draft", "x", 1)
        )
    llm.close()


def test_yes_goes_past_the_limits(tmp_path: Path) -> None:
    outcome, requests = _draft(tmp_path, {}, max_calls=3, yes=True)
    assert outcome.report.ok and len(requests) > 3


def test_a_bare_400_on_the_probe_tries_the_next_format(tmp_path: Path) -> None:
    """A 4xx is the request's fault, not the moment's: auto tries json_object next."""

    def bare_400(label: str, body: dict[str, Any]) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            return Reply(400, {"error": {"message": "Bad Request"}})
        return AUTHORED(label, body)

    outcome, _ = _draft(tmp_path, bare_400, retry=RetryPolicy(sleep=lambda s: None))
    assert outcome.report.ok and outcome.manifest.structured_output == "json_object"


# --- a failed run still says what it spent ------------------------------------------------------


def _metered(script: Script, served: list[Usage]) -> Script:
    """``script``, noting the usage of every completion it serves."""

    def wrapped(label: str, body: dict[str, Any]) -> Reply:
        reply = script(label, body)
        if reply.status == 200 and isinstance(reply.body, dict) and "usage" in reply.body:
            tokens = reply.body["usage"]
            served.append(Usage(prompt_tokens=tokens["prompt_tokens"],
                                completion_tokens=tokens["completion_tokens"]))  # fmt: skip
        return reply

    return wrapped


def _down_after(answers: int, script: Script) -> Script:
    """``script`` for the first ``answers`` requests, then HTTP 500 for good."""
    count = itertools.count()
    lock = threading.Lock()

    def wrapped(label: str, body: dict[str, Any]) -> Reply:
        with lock:
            number = next(count)
        if number >= answers:
            return Reply(500, {"error": {"message": "down for good"}})
        return script(label, body)

    return wrapped


@pytest.mark.parametrize("answers", [1, 2, 3], ids=["mid-facts", "after-facts", "mid-draft"])
def test_a_run_that_fails_after_some_calls_records_their_tokens(
    tmp_path: Path, answers: int
) -> None:
    """AREC makes two facts calls, then drafts; one call at a time, the server goes down after
    ``answers`` of them. The manifest's spend is what the stub served, even when the stage that
    failed had not finished (its answers were in no call record), and the error says how many
    tries the failed call made."""
    served: list[Usage] = []
    with pytest.raises(ModelServiceError) as caught:
        _draft(tmp_path, _metered(_down_after(answers, AUTHORED), served), concurrency=1)
    _assert_failure_set(tmp_path / "out")
    error = caught.value
    assert error.exit_code == 3 and "HTTP 500" in str(error) and "manifest.json" in str(error)
    assert error.attempts == 4 and error.usage == Usage(), "the failed call got no answer"
    manifest = Manifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    total = sum(served, Usage())
    assert len(served) == answers and total.prompt_tokens > 0 and total.completion_tokens > 0
    assert manifest.status == "service_failed"
    assert manifest.usage == manifest.spent == total
    assert sum(manifest.usage_by_stage.values(), Usage()) == total
    assert manifest.model_calls == answers
    assert manifest.cost_usd is None  # the stub's model has no price


def test_a_gate_failed_run_records_every_answer(tmp_path: Path) -> None:
    """Exit 1: the market section never drops its unsupported figures. Its manifest counts every
    answer the stub served, the repairs' too, and agrees with its call records."""
    bad = json.loads((AREC / "authored" / "draft-market-1.json").read_text())

    def never_fixed(label: str, body: dict[str, Any]) -> Reply:
        if label.startswith("AREC/draft/market/"):
            return Reply(200, completion(body["model"], json.dumps(bad), label, 4_000))
        return AUTHORED(label, body)

    served: list[Usage] = []
    with pytest.raises(GateFailedError):
        _draft(tmp_path, _metered(never_fixed, served))
    manifest = Manifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    assert manifest.status == "gate_failed"
    assert len(served) == manifest.model_calls == len(manifest.calls) == 11  # 2 repairs of market
    assert manifest.usage == manifest.spent == sum(served, Usage())
    assert manifest.usage == sum((c.usage for c in manifest.calls), Usage())

"""`thesisgen batch`: a universe drafted stage by stage through a batch engine, over real HTTP to
our stub's Files and Batches API (tests/stub_openai.py), which answers every batch line with the
bundles' hand-written answers exactly as it answers a live call with the same label.

The authored answers make three rounds for AREC, PKX and AAPL: every facts call (8), every section
draft (21), and AREC's one repair (market, attempt 2).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from batch_runner import run_batch_file
from conftest import AUTHORED_MODEL, ROOT, run_cli
from stub_openai import BatchPlan, Reply, Running, Script, authored_script, completion, serve
from thesisgen import batch, run
from thesisgen.errors import BudgetExceededError, InputFileError, UsageError
from thesisgen.models import Manifest
from thesisgen.progress import PlainProgress

pytestmark = pytest.mark.enable_socket

TICKERS = ("AREC", "PKX", "AAPL")
# PKX's bundle has no as-of: its authored answers were written for this date.
UNIVERSE = "AREC\nPKX 2026-11-27\nAAPL\n"
PRICES = "[prices]\nhandwritten-fixture = [1.0, 4.0]\n"  # so that cost is known
FLAGS = {"model": AUTHORED_MODEL, "structured_output": "json_schema", "cache": False}
SETS = ("draft.json", "facts.json", "report.json")
FACTS_LABELS = {
    "AREC/facts/S1/1", "AREC/facts/S2/1", "PKX/facts/S1/1", "PKX/facts/S2/1",
    "AAPL/facts/S1.1/1", "AAPL/facts/S1.2/1", "AAPL/facts/S2.1/1", "AAPL/facts/S2.2/1",
}  # fmt: skip
SECTIONS = ("market", "business", "financials", "catalysts", "risks", "change_view", "bottom_line")
DRAFT_LABELS = {f"{t}/draft/{s}/1" for t in TICKERS for s in SECTIONS}
REPAIR_LABELS = {"AREC/draft/market/2"}


def authored_universe(overrides: dict[str, Reply] | None = None) -> Script:
    """Each ticker's hand-written answers, by the ticker leading the call's label; ``overrides``
    answers the labels it names instead."""
    scripts = {t: authored_script(ROOT / "fixtures" / t / "authored") for t in TICKERS}

    def script(label: str, body: dict[str, Any]) -> Reply:
        if overrides and label in overrides:
            return overrides[label]
        return scripts[label.split("/")[0]](label, body)

    return script


def config_file(folder: Path) -> Path:
    path = folder / "thesisgen.toml"
    path.write_text(PRICES, encoding="utf-8")
    return path


def universe_file(folder: Path, text: str = UNIVERSE) -> Path:
    path = folder / "universe.txt"
    path.write_text(text, encoding="utf-8")
    return path


def batch_run(server: Running, **request: Any) -> batch.BatchOutcome:
    flags = {**FLAGS, "base_url": server.base_url, **request.pop("flags", {})}
    if request.get("resume") is not None or request.get("status") is not None:
        flags = dict(request.pop("flags_on_resume", {}))
        flags["base_url"] = server.base_url
    return batch.batch(
        batch.BatchRequest(flags=flags, sleep=lambda seconds: None, **request), io.StringIO()
    )


def start(server: Running, tmp_path: Path, **request: Any) -> batch.BatchOutcome:
    """A new run of the three-ticker universe (into ``tmp_path / "run"`` unless ``out`` says
    otherwise), on openai-batch unless ``engine`` says otherwise."""
    request.setdefault("out", tmp_path / "run")
    request.setdefault("engine", "openai-batch")
    return batch_run(server, universe=universe_file(tmp_path), **request)


def submitted(server: Running) -> list[list[str]]:
    """The custom_ids of each batch the stub was given, in the order they were created."""
    assert server.batches is not None
    return [[line["custom_id"] for line in b.lines] for b in server.batches.batches.values()]


def docx_text(path: Path) -> str:
    document = Document(str(path))
    rows = [" | ".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    return "\n".join([p.text for p in document.paragraphs] + rows)


def without_cost(text: str) -> str:
    """A memo's text but its cost line (a batch's tokens cost half)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(("| Cost", "Cost")))


@dataclass(frozen=True)
class Universe:
    drafts: Path  # three `thesisgen draft` runs
    batched: Path  # one `thesisgen batch` run of the same three
    outcome: batch.BatchOutcome
    batches: list[list[str]]
    uploads: int


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Universe]:
    """The same three memos drafted one by one and as one universe, against one stub (so that
    even the server named in the memos is the same)."""
    work = tmp_path_factory.mktemp("universe")
    config = config_file(work)
    with pytest.MonkeyPatch.context() as patch, serve(authored_universe()) as server:
        patch.setenv("THESISGEN_CACHE_DIR", str(work / "cache"))
        for ticker in TICKERS:
            run.draft(
                run.DraftRequest(
                    ticker=ticker,
                    out=work / "drafts" / ticker,
                    as_of=run.dt.date(2026, 11, 27) if ticker == "PKX" else None,
                    config=config,
                    flags={**FLAGS, "base_url": server.base_url},
                ),
                PlainProgress(io.StringIO()),
            )
        outcome = batch_run(
            server,
            universe=universe_file(work),
            out=work / "batched",
            engine="openai-batch",
            wait=600,
            config=config,
        )
        yield Universe(
            work / "drafts",
            work / "batched",
            outcome,
            submitted(server),
            server.count("files.create"),
        )


def test_a_universe_writes_what_three_draft_runs_write(universe: Universe) -> None:
    assert universe.outcome.finished and universe.outcome.exit_code == 0
    for ticker in TICKERS:
        drafted, batched = universe.drafts / ticker, universe.batched / ticker
        for name in SETS:
            assert (batched / name).read_bytes() == (drafted / name).read_bytes(), (ticker, name)
        memo_md = (batched / "memo.md").read_text()
        assert without_cost(memo_md) == without_cost((drafted / "memo.md").read_text())
        assert without_cost(docx_text(batched / "memo.docx")) == without_cost(
            docx_text(drafted / "memo.docx")
        )
        assert universe.outcome.state.tickers[ticker].status == "passed"


def test_one_batch_per_stage_and_per_repair_round(universe: Universe) -> None:
    assert [set(b) for b in universe.batches] == [FACTS_LABELS, DRAFT_LABELS, REPAIR_LABELS]
    assert universe.uploads == len(universe.batches) == 3
    rounds = [s.round for s in universe.outcome.state.submissions]
    assert rounds == [1, 2, 3]


def test_each_memo_costs_half_its_live_price_and_names_its_batches(universe: Universe) -> None:
    state = universe.outcome.state
    for ticker in TICKERS:
        drafted = Manifest.model_validate_json(
            (universe.drafts / ticker / "manifest.json").read_bytes()
        )
        batched = Manifest.model_validate_json(
            (universe.batched / ticker / "manifest.json").read_bytes()
        )
        assert batched.usage == drafted.usage and batched.model_calls == drafted.model_calls
        assert drafted.cost_usd and batched.cost_usd == pytest.approx(drafted.cost_usd * 0.5)
        assert batched.engine == "openai-batch" and drafted.engine is None
        ids = {s.batch_id for s in state.submissions}
        assert set(batched.batch_ids) <= ids and len(batched.batch_ids) == (
            3 if ticker == "AREC" else 2
        )
        assert state.tickers[ticker].live_cost_usd == pytest.approx(drafted.cost_usd)
    total = universe.outcome.lines[len(TICKERS) + 1]
    assert "3 passed" in total and "at openai-batch prices" in total and "at live prices" in total


# --- stopping and going on -----------------------------------------------------------------------


def test_a_run_exits_after_submitting_and_a_resume_pays_for_nothing_twice(tmp_path: Path) -> None:
    plans = [BatchPlan(in_progress=2), BatchPlan(), BatchPlan()]
    with serve(authored_universe(), plans) as server:
        out = tmp_path / "run"
        first = start(server, tmp_path, out=out)
        assert not first.finished and first.exit_code == 0
        assert "--resume" in first.lines[-1]
        assert server.count("files.create") == server.count("batches.create") == 1
        assert not any((out / t / "memo.docx").exists() for t in TICKERS)  # nothing half-written
        status = batch_run(server, status=out)
        assert any("round 1 part 1: 8 request(s)" in line for line in status.lines)
        assert any(
            line.endswith("in_progress now (polled; resume to collect)") for line in status.lines
        )
        assert server.count("batches.create") == 1

        still = batch_run(server, resume=out)  # polled once: still in progress
        assert not still.finished
        assert server.count("batches.create") == 1

        done = batch_run(server, resume=out, wait=600)
        assert done.finished and done.exit_code == 0
        labels = [label for b in submitted(server) for label in b]
        assert sorted(labels) == sorted(FACTS_LABELS | DRAFT_LABELS | REPAIR_LABELS)  # once each
        assert server.count("files.create") == server.count("batches.create") == 3
        assert all((out / t / "memo.docx").is_file() for t in TICKERS)


def test_a_batch_created_before_a_crash_is_found_not_created_again(tmp_path: Path) -> None:
    with serve(authored_universe()) as server:
        out = tmp_path / "run"
        start(server, tmp_path, out=out)
        # The process died after creating the batch and before writing its ID down.
        path = out / "batch" / "state.json"
        state = json.loads(path.read_text())
        state["submissions"][0].update(batch_id=None, status="uploaded")
        path.write_text(json.dumps(state))
        done = batch_run(server, resume=out, wait=600)
        assert done.finished
        assert server.count("batches.create") == 3 and server.count("files.create") == 3


def test_an_expired_batch_resubmits_only_what_is_missing(tmp_path: Path) -> None:
    plans = [BatchPlan(expire_after=1, done=3)]
    with serve(authored_universe(), plans) as server:
        outcome = start(server, tmp_path, wait=600)
        assert outcome.finished and outcome.exit_code == 0
        first, second = submitted(server)[:2]
        answered = set(first[:3])
        assert set(first) == FACTS_LABELS
        assert {x for x in second if "/facts/" in x} == FACTS_LABELS - answered
        expired = outcome.state.submissions[0]
        assert (expired.answered, expired.retried, expired.failed) == (3, 5, 0)


def test_a_line_error_is_asked_again_and_a_failed_batch_resubmitted(tmp_path: Path) -> None:
    plans = [
        BatchPlan(fail_validation=[{"code": "token_limit_exceeded", "message": "enqueued limit"}]),
        BatchPlan(line_errors={"PKX/facts/S1/1": {"code": "server_error", "message": "boom"}}),
    ]
    with serve(authored_universe(), plans) as server:
        outcome = start(server, tmp_path, wait=600)
        assert outcome.finished and outcome.exit_code == 0
        batches = submitted(server)
        assert set(batches[0]) == set(batches[1]) == FACTS_LABELS
        assert "PKX/facts/S1/1" in batches[2]
        assert "token_limit_exceeded" in (outcome.state.submissions[0].note or "")
        assert all(outcome.state.tickers[t].status == "passed" for t in TICKERS)


def test_a_line_that_fails_for_good_fails_its_memo_only(tmp_path: Path) -> None:
    bad = Reply(400, {"error": {"message": "this request is malformed", "type": "invalid"}})
    with serve(authored_universe({"PKX/draft/risks/1": bad})) as server:
        out = tmp_path / "run"
        outcome = start(server, tmp_path, out=out, wait=600)
    assert outcome.finished and outcome.exit_code == 3
    pkx = outcome.state.tickers["PKX"]
    assert pkx.status == "service_failed" and "HTTP 400" in (pkx.message or "")
    assert not (out / "PKX" / "memo.docx").exists()
    assert json.loads((out / "PKX" / "manifest.json").read_text())["status"] == "service_failed"
    for ticker in ("AREC", "AAPL"):
        assert outcome.state.tickers[ticker].status == "passed"
        assert (out / ticker / "memo.docx").is_file()


def wrong_pkx_market() -> dict[str, Reply]:
    """PKX's market section with a figure no fact backs (65% for 80%), at every attempt."""
    authored = json.loads((ROOT / "fixtures/PKX/authored/draft-market-1.json").read_text())
    text = authored["paragraphs"][0]["sentences"][0]["text"]
    assert "80%" in text
    authored["paragraphs"][0]["sentences"][0]["text"] = text.replace("80%", "65%")
    wrong = Reply(200, completion(AUTHORED_MODEL, json.dumps(authored), "PKX-market", 1000))
    return {f"PKX/draft/market/{n}": wrong for n in (1, 2, 3)}


def test_a_memo_that_fails_asks_nothing_more(tmp_path: Path) -> None:
    """PKX's risks section fails for good in round 2 while its market section, rejected by the
    gate, would ask for a repair: the repair is never submitted."""
    bad = Reply(400, {"error": {"message": "malformed", "type": "invalid"}})
    with serve(authored_universe({**wrong_pkx_market(), "PKX/draft/risks/1": bad})) as server:
        outcome = start(server, tmp_path, wait=600)
        batches = submitted(server)
    assert outcome.state.tickers["PKX"].status == "service_failed"
    assert [set(b) for b in batches] == [FACTS_LABELS, DRAFT_LABELS, REPAIR_LABELS]


def test_a_gate_failure_in_one_memo_leaves_the_others_written(tmp_path: Path) -> None:
    overrides = wrong_pkx_market()
    with serve(authored_universe(overrides)) as server:
        out = tmp_path / "run"
        outcome = start(server, tmp_path, out=out, wait=600)
    assert outcome.finished and outcome.exit_code == 1
    assert outcome.state.tickers["PKX"].status == "gate_failed"
    assert "did not pass the gate" in (outcome.state.tickers["PKX"].message or "")
    assert (out / "PKX" / "report.json").is_file() and not (out / "PKX" / "memo.docx").exists()
    for ticker in ("AREC", "AAPL"):
        assert (out / ticker / "memo.docx").is_file()
    assert any(line.startswith("PKX") and "gate failed" in line for line in outcome.lines)


# --- the other engines ------------------------------------------------------------------------------


def test_the_jsonl_engine_round_trips_through_a_runner(tmp_path: Path, universe: Universe) -> None:
    out = tmp_path / "run"
    with serve(authored_universe()) as server:
        outcome = start(server, tmp_path, engine="jsonl", config=config_file(tmp_path))
        files = []
        for _ in range(6):  # three rounds; a stuck loop fails instead of hanging
            if outcome.finished:
                break
            assert "openai.run_batch -i" in outcome.lines[-1]
            awaiting = [s for s in outcome.state.submissions if s.status == "awaiting answers"]
            assert len(awaiting) == 1
            answers = tmp_path / f"answers-{awaiting[0].round}.jsonl"
            run_batch_file(out / awaiting[0].requests_file, answers, server.base_url)
            files.append(answers)
            outcome = batch_run(server, resume=out, answers=answers)
        assert server.count("files.create") == 0  # no Batch API: the runner answered
    assert outcome.finished and outcome.exit_code == 0 and len(files) == 3
    for ticker in TICKERS:
        for name in SETS:
            assert (out / ticker / name).read_bytes() == (
                universe.drafts / ticker / name
            ).read_bytes()
        manifest = Manifest.model_validate_json((out / ticker / "manifest.json").read_bytes())
        assert manifest.engine == "jsonl" and manifest.batch_ids == []


def test_jsonl_answers_that_are_not_results_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with serve(authored_universe()) as server:
        start(server, tmp_path, out=out, engine="jsonl")
        garbage = tmp_path / "answers.jsonl"
        garbage.write_text('{"custom_id": "AREC/facts/S1/1"}\nnot json\n')
        with pytest.raises(
            InputFileError, match=r"--answers file .*answers.jsonl line 1 .*vllm run_batch"
        ):
            batch_run(server, resume=out, answers=garbage)
        again = batch_run(server, resume=out)  # the round still waits for its answers
        assert not again.finished and "--answers" in again.lines[-1]


def test_the_live_engine_bounds_calls_across_the_universe(
    tmp_path: Path, universe: Universe
) -> None:
    out = tmp_path / "run"
    with serve(authored_universe()) as server:
        outcome = start(server, tmp_path, engine="live", flags={"concurrency": "2"})
        assert server.count("batches.create") == 0
        assert len(server.requests) == 30
    assert outcome.finished and outcome.exit_code == 0
    for ticker in TICKERS:
        for name in SETS:
            assert (out / ticker / name).read_bytes() == (
                universe.drafts / ticker / name
            ).read_bytes()


def test_a_recorded_universe_replays_offline_as_one(tmp_path: Path, universe: Universe) -> None:
    recordings = tmp_path / "recordings"
    with serve(authored_universe()) as server:
        recorded = start(server, tmp_path, wait=600, record=True, recordings=recordings)
    assert recorded.finished and recorded.state.mode == "record"
    assert sorted(p.name for p in recordings.iterdir()) == sorted(TICKERS)
    replayed = batch.batch(
        batch.BatchRequest(
            universe=universe_file(tmp_path), out=tmp_path / "again", offline=True,
            recordings=recordings, flags={"model": AUTHORED_MODEL},
        ),
        io.StringIO(),
    )  # fmt: skip
    assert replayed.finished and replayed.exit_code == 0 and replayed.state.mode == "replay"
    for ticker in TICKERS:
        for name in SETS:
            data = (universe.drafts / ticker / name).read_bytes()
            assert (tmp_path / "again" / ticker / name).read_bytes() == data


@pytest.mark.recordings
def test_an_offline_universe_replays_each_bundle(tmp_path: Path) -> None:
    result = run_cli("batch", "--tickers", "AREC,PKX,AAPL", "--out", tmp_path / "u", cwd=tmp_path)
    assert result.code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["AREC"]]
    assert rows and rows[0][1] == "passed"
    assert "3 memo(s): 3 passed" in result.stdout and "no cost (replayed)" in result.stdout
    assert all((tmp_path / "u" / t / "memo.docx").is_file() for t in TICKERS)


# --- refusals before anything is submitted ----------------------------------------------------------


def test_the_universe_budget_is_checked_before_anything_is_submitted(tmp_path: Path) -> None:
    with serve(authored_universe()) as server:
        with pytest.raises(BudgetExceededError, match="--max-calls 20"):
            start(server, tmp_path, flags={"max_calls": "20"})
        assert server.count("files.create") == 0
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"engine": "openai-batch", "flags": {"base_url": None}}, "needs the Batch API"),
        ({"engine": "openai-batch", "flags": {"structured_output": "auto"}}, "--structured-output"),
        ({"engine": "jsonl", "flags": {"structured_output": None}}, "--structured-output"),
        ({"answers": Path("x.jsonl")}, "--answers .* with --resume"),
        ({"tickers": "AREC"}, "pass one of --tickers, --universe"),
    ],
)
def test_bad_requests_are_refused_in_one_line(
    tmp_path: Path, request_: dict[str, Any], message: str
) -> None:
    flags = {**FLAGS, "base_url": "http://127.0.0.1:9/v1", **request_.pop("flags", {})}
    with pytest.raises(UsageError, match=message):
        batch.batch(
            batch.BatchRequest(universe=universe_file(tmp_path), flags=flags, **request_),
            io.StringIO(),
        )
    assert not (tmp_path / "run").exists()


def test_a_bad_universe_line_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="line 2"):
        batch.batch(
            batch.BatchRequest(
                universe=universe_file(tmp_path, "AREC\nNOT A TICKER\n"),
                flags={**FLAGS, "base_url": "http://127.0.0.1:9/v1"}, engine="openai-batch",
            ),
            io.StringIO(),
        )  # fmt: skip
    assert not (tmp_path / "run").exists()


def test_a_resume_refuses_other_settings_and_a_taken_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = config_file(tmp_path)
    with serve(authored_universe(), [BatchPlan(in_progress=5)]) as server:
        start(server, tmp_path, out=out, config=config)
        with pytest.raises(UsageError, match="--model is fixed when a batch run starts"):
            batch_run(server, resume=out, flags_on_resume={"model": "gpt-4o"})
        with pytest.raises(UsageError, match="holds a batch run already"):
            start(server, tmp_path, out=out)
        with pytest.raises(UsageError, match="--answers is for a jsonl run"):
            batch_run(server, resume=out, answers=universe_file(tmp_path))
        config.write_text("max_repairs = 1\n")  # the config file changed since
        with pytest.raises(UsageError, match=r"the settings changed since .*max_repairs: 2 then"):
            batch_run(server, resume=out)
        assert server.count("batches.create") == 1
    with pytest.raises(InputFileError, match="holds no batch run"):
        batch.batch(batch.BatchRequest(status=tmp_path), io.StringIO())


def test_a_resume_refuses_sources_changed_since_the_run_started(tmp_path: Path) -> None:
    import shutil

    sources = tmp_path / "arec-sources"
    shutil.copytree(ROOT / "fixtures" / "AREC" / "sources", sources)
    universe = universe_file(tmp_path, f"AREC 2026-11-27 {sources}\n")
    out = tmp_path / "run"
    with serve(authored_universe()) as server:
        batch_run(server, universe=universe, out=out)
        state = json.loads((out / "batch" / "state.json").read_text())
        assert (
            state["universe"][0]["as_of"] == "2026-11-27" and state["universe"][0]["inputs_sha256"]
        )
        changed = sorted(sources.iterdir())[0]
        changed.write_text(changed.read_text() + "\nA sentence added after submitting.\n")
        with pytest.raises(UsageError, match=r"AREC .*changed since the batch run started"):
            batch_run(server, resume=out, wait=600)
        assert server.count("files.create") == 1


def test_a_jsonl_round_interrupted_while_collected_resumes_from_its_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    with serve(authored_universe()) as server:
        first = start(server, tmp_path, out=out, engine="jsonl")
        requests = out / first.state.submissions[0].requests_file
        answers = tmp_path / "answers-1.jsonl"
        run_batch_file(requests, answers, server.base_url)
        other_round = tmp_path / "other.jsonl"  # answers of none of round 1's requests
        other_round.write_text('{"custom_id": "AREC/draft/market/1", "error": "x"}\n')
        state = (out / "batch" / "state.json").read_bytes()
        with pytest.raises(UsageError, match="answers none of the requests in"):
            batch_run(server, resume=out, answers=other_round)
        assert (out / "batch" / "state.json").read_bytes() == state  # nothing changed

        def interrupted(*args: Any) -> Any:
            raise KeyboardInterrupt

        with monkeypatch.context() as patch:  # Ctrl-C after the round was read, before its end
            patch.setattr(batch._Run, "collect", interrupted)
            with pytest.raises(batch.CancelledError, match="--resume"):
                batch_run(server, resume=out, answers=answers)
        answers.unlink()  # the user's file is gone: the round's copy answers
        again = batch_run(server, resume=out)
        assert not again.finished
        assert [s.round for s in again.state.submissions if s.status == "awaiting answers"] == [2]


def test_two_runs_on_one_folder_and_a_password_in_the_base_url(tmp_path: Path) -> None:
    from thesisgen.batches import BatchFolder

    BatchFolder(tmp_path / "taken").claim()
    with pytest.raises(UsageError, match="another batch run has taken"):
        BatchFolder(tmp_path / "taken").claim()

    out = tmp_path / "run"
    secret_url = "http://analyst:hunter2secret@127.0.0.1:9/v1"
    batch.batch(
        batch.BatchRequest(
            universe=universe_file(tmp_path), out=out, engine="jsonl",
            flags={**FLAGS, "base_url": secret_url},
        ),
        io.StringIO(),
    )  # fmt: skip
    kept = b"".join(p.read_bytes() for p in (out / "batch").rglob("*") if p.is_file())
    assert b"hunter2secret" not in kept
    with pytest.raises(UsageError, match="pass --base-url again"):
        batch.batch(batch.BatchRequest(resume=out), io.StringIO())
    with pytest.raises(UsageError, match="--offline replays recordings; --engine openai-batch"):
        batch.batch(
            batch.BatchRequest(
                universe=universe_file(tmp_path), out=tmp_path / "x", engine="openai-batch",
                offline=True, flags=FLAGS,
            ),
            io.StringIO(),
        )  # fmt: skip


def test_a_batch_cancelled_by_someone_else_resubmits_what_it_did_not_answer(tmp_path: Path) -> None:
    import openai

    out = tmp_path / "run"
    with serve(authored_universe(), [BatchPlan(in_progress=5, cancelling=1, done=2)]) as server:
        first = start(server, tmp_path, out=out)
        batch_id = first.state.submissions[0].batch_id
        assert batch_id is not None
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)
        client.batches.cancel(batch_id)  # from the provider's dashboard, say
        done = batch_run(server, resume=out, wait=600)
        batches = submitted(server)
    assert done.finished and done.exit_code == 0
    cancelled = done.state.submissions[0]
    assert (cancelled.answered, cancelled.retried) == (2, 6)
    assert set(batches[1]) >= FACTS_LABELS - set(batches[0][:2])


def test_a_resume_against_another_server_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with serve(authored_universe(), [BatchPlan(in_progress=5)]) as server:
        start(server, tmp_path, out=out)
    with serve(authored_universe()) as elsewhere:
        with pytest.raises(UsageError, match=r"changed since .*server: 'http://127\.0\.0\.1"):
            batch_run(elsewhere, resume=out)
        assert elsewhere.count("batches.retrieve") == 0


def test_an_answer_line_cut_short_by_a_crash_is_cut_off_before_the_next(tmp_path: Path) -> None:
    from thesisgen.batches import BatchFolder

    folder = BatchFolder(tmp_path)
    folder.path.mkdir()
    whole = [
        batch.BatchAnswer(
            ticker="AREC", key=f"k{n}", occurrence=0, custom_id=f"AREC/facts/S{n}/1", round=1,
            status_code=200, body={"choices": [{}]},
        )
        for n in (1, 2)
    ]  # fmt: skip
    folder.append_answers(whole[:1])
    with (folder.path / "answers.jsonl").open("ab") as stream:
        stream.write(b'{"ticker": "AREC", "key": "k2", "occ')  # the crash
    assert folder.answers() == whole[:1]
    folder.append_answers(whole[1:])  # the round collected again
    assert folder.answers() == whole

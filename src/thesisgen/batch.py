"""`thesisgen batch`: a coverage universe drafted stage by stage through a batch engine.

Every memo runs the same code as `thesisgen draft` (:func:`thesisgen.run.draft_planned`), each in
a thread of its own. What changes is the network under each memo's model client: a
:class:`_Held` transport does not send a request; it holds it until every memo of the universe
is waiting for an answer (the :class:`~thesisgen.llm.Activity` count is 0), and then all held
requests go out as one round: one batch for all fact extraction, one for all section drafts,
one per repair round. The answers come back by ``custom_id`` and each memo goes on as if its call
had just returned, so a memo ends exactly as a `draft` run would have written it.

Why this shape, and not a scheduler of our own: the provider's batch engine is the scheduler.
Ours only has to find the moment when nothing more can be asked before some answer comes back.

Resuming re-runs each unfinished memo from the start: its requests are the same, so the answers
in ``answers.jsonl`` are served at once (by request key and occurrence, like a replay), the
requests of a round still in flight are waited for, and only requests never answered are
submitted. Nothing is asked twice, and nothing is paid for twice.

Engines: ``openai-batch`` (the Files and Batches API), ``jsonl`` (a request file for ``vllm
run_batch``; ``--resume DIR --answers FILE`` reads its output) and ``live`` (calls sent as they
come, at most ``concurrency`` in flight across the whole universe, for servers without a batch
endpoint; also how an offline universe replays its recordings).
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import httpx2

from . import run
from .batches import (
    AWAITING_ANSWERS,
    MAX_FILE_BYTES,
    TERMINAL,
    BatchFolder,
    Engine,
    JsonlFiles,
    OpenAIBatches,
    Result,
    read_results,
    request_line,
)
from .config import Settings, public_url, resolve
from .errors import (
    CancelledError,
    EdgarServiceError,
    InputFileError,
    ModelServiceError,
    ThesisgenError,
    UsageError,
)
from .files import write_bytes_atomic
from .llm import ACTIVITY, Activity
from .models import (
    BatchAnswer,
    BatchEngine,
    BatchState,
    Manifest,
    MemoOutcome,
    Submission,
    TickerOutcome,
    UniverseTicker,
    Usage,
)
from .progress import Event
from .recording import CALL_HEADER, key_of
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .budget import Estimate

# Calls of one stage a memo asks at once under a batch engine: all of them, in practice (a 10-K
# is about 25 facts calls, an outline 5 to 10 sections), each waiting in a thread of its own; a
# stage with more (--verify of 300 sentences) goes out over as many rounds as it needs.
FAN_OUT = 256
# The settings that cannot change what a memo asks or writes, or what it costs: a resume may
# take other values of these (from the environment or the config file), and of no other. The
# rest, with the version and the prompts, are the run's fingerprint: a resume under another
# would ask other questions, and pay for them again.
NOT_FINGERPRINTED = frozenset(
    {
        "api_key", "base_url", "concurrency", "timeout", "retry_attempts",
        "retry_initial_wait", "retry_max_wait", "retry_total", "cache", "cache_dir",
        "edgar_user_agent", "edgar_rate", "edgar_max_age_hours", "max_calls",
        "max_prompt_tokens", "max_tickers", "batch_max_requests", "batch_line_attempts",
        "batch_poll_initial", "batch_poll_max",
    }
)  # fmt: skip
ANSWERS_MAX_BYTES = 4 * 1024 * 1024 * 1024  # an answers file: many rounds of 50,000 lines


@dataclass
class BatchRequest:
    """`thesisgen batch` as the CLI asked for it: a new run (``tickers`` or ``universe``), a
    ``resume`` or a ``status``. ``flags`` are the setting flags given, by setting name."""

    tickers: str | None = None
    universe: Path | None = None
    resume: Path | None = None
    status: Path | None = None
    out: Path | None = None
    engine: BatchEngine | None = None
    wait: float | None = None  # seconds to poll before exiting; None: exit after submitting
    answers: Path | None = None
    offline: bool = False
    record: bool = False  # every memo's exchanges saved, as `draft --record` saves them
    recordings: Path | None = None  # each memo's in recordings/<TICKER>
    yes: bool = False
    config: Path | None = None
    template: Path | None = None
    allow_flagged: bool = False
    as_of: dt.date | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)
    retry: RetryPolicy | None = None  # the batch service's calls (tests: no waiting)
    sleep: Callable[[float], None] = time.sleep  # between polls (tests: a clock of their own)


@dataclass(frozen=True)
class BatchOutcome:
    folder: Path
    state: BatchState
    finished: bool  # every memo has ended (else a round is out, or waits for --answers)
    lines: list[str]  # what to tell the user

    @property
    def exit_code(self) -> int:
        """0 all passed (or still running), 3 a memo failed for service reasons, 1 the gate
        failed a memo, 2 another memo failure (a missing recording, a budget)."""
        statuses = {t.status for t in self.state.tickers.values()}
        if "service_failed" in statuses:
            return 3
        if statuses & {"gate_failed", "flagged"}:
            return 1
        return 2 if "failed" in statuses else 0


class Suspended(BaseException):
    """Raised in a memo's thread waiting for an answer when the run stops before it comes
    (after submitting, or when --wait ends). A BaseException: nothing on the way catches it, so
    the memo's output set is left untouched, as an interrupted `draft` leaves it."""


# --- the coordinator: holding requests, answering them -------------------------------------------

Ref = tuple[str, str, int]  # ticker, request key, occurrence


def ref_name(ref: Ref) -> str:
    return f"{ref[0]}|{ref[1]}|{ref[2]}"


@dataclass
class _Held:
    ref: Ref
    label: str
    body: bytes
    answer: BatchAnswer | None = None
    dropped: bool = False


class Coordinator:
    """The requests the memos hold, and the answers that release them."""

    def __init__(self, answers: Sequence[BatchAnswer]) -> None:
        self.activity = Activity()
        self.answers: dict[Ref, BatchAnswer] = {(a.ticker, a.key, a.occurrence): a for a in answers}
        self.held: dict[Ref, _Held] = {}
        self._asked: collections.Counter[tuple[str, str]] = collections.Counter()
        self._stopped = False
        self._ended: set[str] = set()

    def ask(self, ticker: str, key: str, label: str, body: bytes) -> BatchAnswer:
        """The answer to this memo's request: kept from an earlier round, or the next round's."""
        condition = self.activity.condition
        with condition:
            if ticker in self._ended:  # a thread of a memo that failed: nothing more is asked
                raise Suspended()
            occurrence = self._asked[(ticker, key)]
            self._asked[(ticker, key)] += 1
            ref = (ticker, key, occurrence)
            if ref in self.answers:
                return self.answers[ref]
            held = _Held(ref, label, body)
            self.held[ref] = held
            self.activity.running -= 1
            condition.notify_all()
            while held.answer is None and not self._stopped and not held.dropped:
                condition.wait()
            if held.answer is None:
                raise Suspended()
            return held.answer

    def quiet(self) -> None:
        """Wait until no memo can ask anything more before some answer comes back."""
        with self.activity.condition:
            while self.activity.running > 0:
                self.activity.condition.wait()

    def waiting(self) -> list[_Held]:
        with self.activity.condition:
            return sorted(self.held.values(), key=lambda h: (h.ref[0], h.label, h.ref[1:]))

    def release(self, answers: Sequence[BatchAnswer]) -> None:
        """Keep ``answers`` and let the memos holding those requests go on."""
        with self.activity.condition:
            for answer in answers:
                ref = (answer.ticker, answer.key, answer.occurrence)
                self.answers[ref] = answer
                held = self.held.pop(ref, None)
                if held is not None:
                    held.answer = answer
                    self.activity.running += 1
            self.activity.condition.notify_all()

    def drop(self, ticker: str) -> None:
        """A memo has ended (a call failed for good): what its other threads still hold is never
        submitted; they end as a stopped run's do, counted as running while they unwind."""
        with self.activity.condition:
            self._ended.add(ticker)
            for ref in [r for r in self.held if r[0] == ticker]:
                self.held.pop(ref).dropped = True
                self.activity.running += 1
            self.activity.condition.notify_all()

    def stop(self) -> None:
        """Every memo still waiting raises :class:`Suspended`."""
        with self.activity.condition:
            self._stopped = True
            self.activity.condition.notify_all()


class _HoldingTransport(httpx2.BaseTransport):
    """A memo's network under a batch engine: each request waits for its round's answer."""

    def __init__(self, coordinator: Coordinator, ticker: str) -> None:
        self._coordinator = coordinator
        self._ticker = ticker

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        label = request.headers.get(CALL_HEADER) or f"{self._ticker}/call"
        answer = self._coordinator.ask(self._ticker, key_of(request), label, body)
        return httpx2.Response(answer.status_code, json=answer.body, request=request)


class _BoundedTransport(httpx2.BaseTransport):
    """The live engine's network, shared by every memo: at most ``limit`` calls in flight."""

    def __init__(self, limit: int) -> None:
        self._inner = httpx2.HTTPTransport()
        self._slots = threading.BoundedSemaphore(limit)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._slots:
            response = self._inner.handle_request(request)
            response.read()  # within the slot: the answer is what takes the time
            return response

    def close(self) -> None:
        """A memo's client closing: the others still use the pool (closing it here made their
        calls in flight fail and be sent again)."""

    def shutdown(self) -> None:
        self._inner.close()


# --- one memo ---------------------------------------------------------------------------------------


class _MemoProgress:
    """A memo's notes, each led by its ticker; its per-call events would only be noise here."""

    def __init__(self, ticker: str, stream: TextIO, lock: threading.Lock) -> None:
        self._ticker = ticker
        self._stream = stream
        self._lock = lock

    def note(self, line: str) -> None:
        with self._lock:
            print(f"{self._ticker}: {line.strip()}", file=self._stream, flush=True)

    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None:
        pass

    def event(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class _Memo:
    entry: UniverseTicker
    plan: run.Plan
    inputs: run.Inputs


def _outcome(
    ticker: str, folder: Path, status: MemoOutcome, message: str | None, factor: float
) -> TickerOutcome:
    """The memo's outcome with its calls, tokens and cost as its manifest records them (a memo
    that failed records its spend too); the cost is at the engine's prices."""
    outcome = TickerOutcome(ticker=ticker, status=status, message=message, folder=str(folder))
    try:
        manifest = Manifest.model_validate_json((folder / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return outcome
    cost = manifest.cost_usd
    return outcome.model_copy(
        update={
            "calls": manifest.model_calls or len(manifest.calls),
            "usage": manifest.usage,
            "cost_usd": cost,
            "live_cost_usd": None if cost is None else cost / factor,
        }
    )


def _prefixed(exc: ThesisgenError, where: str) -> ThesisgenError:
    """``exc`` with its memo named first: in a universe, which line is wrong is half the fix."""
    named = copy.copy(exc)
    named.args = (f"{where}: {exc}",)
    return named


# --- the command ------------------------------------------------------------------------------------


class _Run:
    """One invocation's work on a batch folder."""

    def __init__(
        self,
        request: BatchRequest,
        state: BatchState,
        folder: BatchFolder,
        settings: Settings,
        stream: TextIO,
    ) -> None:
        self.request = request
        self.state = state
        self.folder = folder
        self.settings = settings
        self.stream = stream
        self.lock = threading.Lock()
        self.created = False  # the folder exists: the state is saved from here on
        # ticker -> the batches that carried its requests (its manifest lists them)
        self.batches_of: dict[str, set[str]] = collections.defaultdict(set)

    def say(self, line: str) -> None:
        with self.lock:
            print(line, file=self.stream, flush=True)

    def save(self) -> None:
        if self.created:
            with self.lock:
                self.folder.save(self.state)

    # --- planning every memo before the first call ----------------------------------------------

    def draft_request(self, entry: UniverseTicker, context: run.EngineContext) -> run.DraftRequest:
        options = self.state.options
        recordings = options.get("recordings")
        return run.DraftRequest(
            ticker=entry.ticker,
            out=self.folder.root / entry.ticker,
            sources=[Path(s) for s in entry.sources],
            company=entry.company,
            offline=self.state.mode == "replay",
            record=self.state.mode == "record",
            recordings=Path(recordings) / entry.ticker if recordings else None,
            config=Path(options["config"]) if options.get("config") else None,
            template=Path(options["template"]) if options.get("template") else None,
            allow_flagged=bool(options.get("allow_flagged")),
            as_of=entry.as_of,
            yes=bool(options.get("yes")),
            flags=self.state.flags,
            retry=_no_retries() if context.fan_out else None,
            engine=context,
        )

    def plan(self, contexts: Mapping[str, run.EngineContext]) -> list[_Memo]:
        """Every unfinished memo planned and its inputs read; a mistake in any is an error before
        anything is submitted (naming the ticker and its line). A memo whose SEC filings cannot
        be fetched fails for service reasons; the others go on."""
        memos = []
        for entry in self.state.universe:
            outcome = self.state.tickers[entry.ticker]
            if outcome.status != "pending":
                continue
            where = f"{entry.ticker} (universe line {entry.line})" if entry.line else entry.ticker
            progress = _MemoProgress(entry.ticker, self.stream, self.lock)
            try:
                plan = run.plan_draft(self.draft_request(entry, contexts[entry.ticker]))
                inputs = run.read_inputs(plan, progress)
            except EdgarServiceError as exc:
                self.finish(entry.ticker, "service_failed", str(exc))
                continue
            except ThesisgenError as exc:
                raise _prefixed(exc, where) from None
            digest = run.inputs_digest(inputs)
            if entry.inputs_sha256 is not None and entry.inputs_sha256 != digest:
                raise UsageError(
                    f"{where}: its sources, outline or SEC filings changed since the batch run "
                    "started, so its requests would differ and be paid for again: restore them, "
                    "or start a new batch run for it"
                )
            # Pinned for a resume: the same date (and so the same filings), the same inputs.
            entry.as_of, entry.inputs_sha256 = plan.as_of, digest
            memos.append(_Memo(entry, plan, inputs))
        return memos

    def check_budget(self, memos: Sequence[_Memo], factor: float) -> None:
        """The universe's estimate against --max-calls and --max-prompt-tokens, before the first
        submission (a resume goes on under the limits agreed then; each memo's own run still
        stops at them)."""
        from . import budget

        if self.state.mode == "replay" or not memos:
            return
        total: Estimate | None = None
        for memo in memos:
            estimate = run.estimate_of(memo.plan, memo.inputs)
            total = estimate if total is None else total.plus(estimate)
        assert total is not None
        live = total.cost_usd
        priced = (
            ""
            if live is None
            else (f", about ${live * factor:.2f} at {self.state.engine} prices (${live:.2f} live)")
        )
        self.say(
            f"Plan: {len(memos)} memo(s), about {total.calls:,} model call(s) and "
            f"{total.prompt_tokens:,} prompt tokens{priced} (at most {total.worst_calls:,} calls "
            "if every section needs every repair)"
        )
        if not self.state.options.get("yes"):
            budget.check(total, self.settings.max_calls, self.settings.max_prompt_tokens)

    # --- memos' ends ----------------------------------------------------------------------------

    def finish(self, ticker: str, status: MemoOutcome, message: str | None) -> None:
        outcome = _outcome(ticker, self.folder.root / ticker, status, message, self.price_factor())
        with self.lock:
            self.state.tickers[ticker] = outcome
        self.save()

    def price_factor(self) -> float:
        return self.settings.batch_price_factor if self.state.engine != "live" else 1.0

    def memo_thread(self, memo: _Memo, coordinator: Coordinator) -> threading.Thread:
        """A batch engine's memo: counted from before it starts until it ends."""
        coordinator.activity.add(1)
        work = self.memo_work(memo, coordinator)
        return threading.Thread(target=work, name=f"memo-{memo.entry.ticker}", daemon=True)

    def memo_work(self, memo: _Memo, coordinator: Coordinator | None = None) -> Callable[[], None]:
        """Draft one memo and write down how it ended (the other memos go on, whatever it is)."""
        ticker = memo.entry.ticker
        progress = _MemoProgress(ticker, self.stream, self.lock)
        activity = coordinator.activity if coordinator is not None else None

        def work() -> None:
            ACTIVITY.set(activity)
            try:
                outcome = run.draft_planned(memo.plan, memo.inputs, progress)
            except Suspended:
                return
            except (ModelServiceError, EdgarServiceError) as exc:
                self.finish(ticker, "service_failed", str(exc))
            except CancelledError:
                return
            except ThesisgenError as exc:
                self.finish(ticker, "failed", str(exc))
            except Exception as exc:  # a bug: the other memos go on, this one says so
                self.finish(ticker, "failed", f"internal error (please report it): {exc!r}")
            else:
                ended: MemoOutcome = "gate_failed"
                if outcome.manifest.status in ("complete", "flagged"):
                    ended = "passed" if outcome.manifest.status == "complete" else "flagged"
                self.finish(ticker, ended, outcome.message or None)
            finally:
                if coordinator is not None:
                    coordinator.drop(ticker)
                    coordinator.activity.add(-1)

        return work

    # --- rounds -----------------------------------------------------------------------------------

    def open_submissions(self) -> list[Submission]:
        return [s for s in self.state.submissions if s.status != "collected"]

    def submit_round(self, held: Sequence[_Held], engine: Engine) -> list[Submission]:
        """The held requests as the next round's request file(s), handed to the engine."""
        number = max((s.round for s in self.state.submissions), default=0) + 1
        folder = self.folder.round_dir(number)
        parts: list[list[tuple[str, _Held, bytes]]] = [[]]
        size = 0
        used: set[str] = set()
        for item in held:
            custom_id = item.label
            n = 1
            while custom_id in used:
                n += 1
                custom_id = f"{item.label}#{n}"
            used.add(custom_id)
            line = request_line(custom_id, _json(item.body))
            if parts[-1] and (
                len(parts[-1]) >= self.settings.batch_max_requests
                or size + len(line) > MAX_FILE_BYTES
            ):
                parts.append([])
                size = 0
            parts[-1].append((custom_id, item, line))
            size += len(line)
        submissions = []
        for part, lines in enumerate(parts, 1):
            path = folder / f"requests-{part}.jsonl"
            write_bytes_atomic(path, b"".join(line for _, _, line in lines))
            submission = Submission(
                round=number, part=part, requests_file=self.folder.relative(path), lines=len(lines)
            )
            self.folder.write_index(submission, {cid: list(item.ref) for cid, item, _ in lines})
            for _, item, _ in lines:
                name = ref_name(item.ref)
                self.state.attempts[name] = self.state.attempts.get(name, 0) + 1
            self.state.submissions.append(submission)
            self.save()
            self.hand_over(submission, engine)
            if submission.batch_id:
                for _, item, _ in lines:
                    self.batches_of[item.ref[0]].add(submission.batch_id)
            submissions.append(submission)
        return submissions

    def hand_over(self, submission: Submission, engine: Engine) -> None:
        """Give the engine a request file (again, after an interruption: the engine finds what
        it already has, and nothing is created twice)."""
        engine.submit(
            submission,
            self.folder.root / submission.requests_file,
            self.save,
            {
                "thesisgen_run": self.state.run_id,
                "round": str(submission.round),
                "part": str(submission.part),
            },
        )

    def collect(self, submission: Submission, engine: Engine) -> list[BatchAnswer]:
        """A finished submission's answers; lines that failed in a way that may pass are left
        for the next round (up to batch_line_attempts submissions), the rest fail their memo."""
        folder = self.folder.round_dir(submission.round)
        index = self.folder.index(submission)
        results: dict[str, Result] = {}
        if submission.status != "failed":
            output, errors = engine.download(submission, folder)
            for path, what in ((errors, "error file"), (output, "output file")):
                if path is not None:
                    for line in read_results(path, what):
                        if line.custom_id in index:
                            results[line.custom_id] = line  # the output file's win
        answers = []
        retried = failed = 0
        why = submission.note or f"the batch {submission.status}"
        for custom_id, raw in index.items():
            ref: Ref = (str(raw[0]), str(raw[1]), int(raw[2]))
            result = results.get(custom_id)
            if result is not None and result.ok:
                assert result.status_code is not None and result.body is not None
                answers.append(
                    _answer(ref, custom_id, submission.round, result.status_code, result.body)
                )
                continue
            reason = (
                f"{result.error or f'HTTP {result.status_code}'}"
                if result
                else f"no answer ({why})"
            )
            attempts = self.state.attempts.get(ref_name(ref), 1)
            if (result is None or result.may_pass) and attempts < self.settings.batch_line_attempts:
                retried += 1
                continue
            failed += 1
            status = result.status_code if result and result.status_code else 503
            body = (result.body if result and result.body else None) or {
                "error": {
                    "message": f"batch request {custom_id} failed after {attempts} submission(s): "
                    f"{reason}",
                    "type": "batch_line_failed",
                }
            }
            answers.append(_answer(ref, custom_id, submission.round, status, body))
        self.folder.append_answers(answers)
        submission.answered = sum(1 for a in answers if 200 <= a.status_code < 300)
        submission.retried, submission.failed = retried, failed
        submission.status = "collected"
        submission.finished_at = dt.datetime.now(dt.UTC)
        self.save()
        return answers


def _answer(
    ref: Sequence[Any], custom_id: str, number: int, status: int, body: dict[str, Any]
) -> BatchAnswer:
    return BatchAnswer(
        ticker=ref[0], key=ref[1], occurrence=int(ref[2]), custom_id=custom_id, round=number,
        status_code=status, body=body,
    )  # fmt: skip


def _json(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    assert isinstance(data, dict)
    return data


def _no_retries() -> RetryPolicy:
    """A batch engine's memos send each request once: a line that fails in a way that may pass
    is submitted again in the next round (batch_line_attempts), not retried in place."""
    return RetryPolicy(attempts=1, initial_wait_s=0, max_wait_s=0, total_s=86_400)


# --- driving the rounds -------------------------------------------------------------------------------


def _drive_rounds(
    work: _Run, memos: Sequence[_Memo], coordinator: Coordinator, engine: Engine, wait: float | None
) -> bool:
    """Run the memos round by round until they have all ended (True), or until the run must
    stop and be resumed: a round was submitted and no --wait was given, --wait ran out, or a
    jsonl round waits for its answers file (False)."""
    settings = work.settings
    threads = [work.memo_thread(memo, coordinator) for memo in memos]
    for thread in threads:
        thread.start()
    deadline = None if wait is None else time.monotonic() + wait
    pause = settings.batch_poll_initial
    try:
        while True:
            coordinator.quiet()
            held = coordinator.waiting()
            if not held:
                return True
            open_now = work.open_submissions()
            if not open_now:
                submitted = work.submit_round(held, engine)
                memos_asking = len({h.ref[0] for h in held})
                where = ", ".join(s.batch_id or s.requests_file for s in submitted)
                work.say(
                    f"Round {submitted[0].round}: {len(held)} request(s) of {memos_asking} "
                    f"memo(s) submitted ({engine.name}: {where})."
                )
                if isinstance(engine, JsonlFiles) or deadline is None:
                    return False
                open_now = submitted
            for submission in open_now:
                if submission.status in ("prepared", "uploaded"):  # stopped while submitting
                    work.hand_over(submission, engine)
                engine.refresh(submission)
            work.save()
            ended = [s for s in open_now if s.status in TERMINAL]
            if not ended:
                left = 0.0 if deadline is None else deadline - time.monotonic()
                if isinstance(engine, JsonlFiles) or left <= 0:
                    return False
                work.request.sleep(min(pause, left))
                pause = min(pause * 2, settings.batch_poll_max)
                continue
            for submission in ended:
                outcome = submission.status
                answers = work.collect(submission, engine)
                coordinator.release(answers)
                work.say(
                    f"Round {submission.round}: {submission.batch_id or submission.requests_file} "
                    f"{outcome}: {submission.answered} answered, {submission.retried} to ask "
                    f"again, {submission.failed} failed"
                    + (f" ({submission.note})" if submission.note else "")
                )
            pause = settings.batch_poll_initial
    finally:
        coordinator.stop()
        for thread in threads:
            thread.join()


def _drive_live(work: _Run, memos: Sequence[_Memo]) -> bool:
    """The live engine: memos side by side, their calls sent as they come (bounded by the shared
    network's slots); a replay runs them one after another (its answers need no waiting)."""
    from concurrent.futures import ThreadPoolExecutor

    workers = 1 if work.state.mode == "replay" else work.settings.concurrency
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(work.memo_work(memo)) for memo in memos]:
            future.result()
    except BaseException:  # Ctrl-C: memos not started stay pending for a resume
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return True


# --- the command --------------------------------------------------------------------------------------


def batch(request: BatchRequest, stream: TextIO) -> BatchOutcome:
    """`thesisgen batch`: start a universe, resume one, or show where one stands."""
    given = [
        name
        for name, value in (
            ("--tickers", request.tickers),
            ("--universe", request.universe),
            ("--resume", request.resume),
            ("--status", request.status),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise UsageError(
            f"pass one of --tickers, --universe, --resume DIR or --status DIR (got "
            f"{', '.join(given) or 'none'})"
        )
    if request.status is not None:
        return _status(request)
    if request.resume is not None:
        return _resume(request, stream)
    return _start(request, stream)


def _engine_and_mode(
    request: BatchRequest, settings: Settings
) -> tuple[BatchEngine, Literal["live", "record", "replay"]]:
    engine = request.engine
    if request.offline and request.record:
        raise UsageError("--offline and --record exclude each other: drop one")
    if engine == "jsonl":  # the request file needs no key: its runner is the user's
        if request.offline:
            raise UsageError(
                "--engine jsonl writes requests for a runner of yours; --offline replays "
                "recordings: drop one"
            )
    elif request.offline or (engine is None and not settings.live_configured):
        if request.offline and engine == "openai-batch":
            raise UsageError(
                "--offline replays recordings; --engine openai-batch calls the Batch API: drop one"
            )
        if request.record:
            raise UsageError(
                "--record needs a live model: set OPENAI_API_KEY or pass --base-url (or "
                "--engine jsonl for a runner of yours)"
            )
        if engine == "openai-batch":
            raise UsageError(
                "--engine openai-batch needs the Batch API: set OPENAI_API_KEY (or --base-url of "
                "a server with /v1/batches), or drop --engine to replay the recordings offline"
            )
        return "live", "replay"
    engine = engine or "openai-batch"
    if engine == "live" and not settings.live_configured:
        raise UsageError(
            "--engine live calls a model server: set OPENAI_API_KEY or pass --base-url, or drop "
            "--engine to replay the recordings offline"
        )
    if engine == "openai-batch" and not settings.live_configured:
        raise UsageError(
            "--engine openai-batch needs the Batch API: set OPENAI_API_KEY (or --base-url of a "
            "server with /v1/batches)"
        )
    if engine != "live" and settings.structured_output == "auto":
        raise UsageError(
            f"--engine {engine} cannot probe which structured-output format the server takes "
            "(every request goes out at once): pass --structured-output json_schema (OpenAI; "
            "vLLM takes json_schema or json_object)"
        )
    return engine, "record" if request.record else "live"


def _recordings_root(request: BatchRequest, mode: str) -> str | None:
    """Where each memo's recordings are, ``<root>/<TICKER>``: written by --record (default
    ./recordings, as `draft --record`), replayed with --recordings (default: each bundle's)."""
    if request.recordings is not None:
        return str(request.recordings.resolve())
    return str(Path("recordings").resolve()) if mode == "record" else None


def _fingerprint(settings: Settings) -> dict[str, Any]:
    """What a resume must find unchanged: the settings that shape requests, memos and prices,
    the server (without a password), thesisgen's version and its prompts."""
    from . import __version__
    from .prompts import templates_sha256

    data = settings.model_dump(mode="json")
    kept = {key: value for key, value in data.items() if key not in NOT_FINGERPRINTED}
    return {
        **kept,
        "server": public_url(settings.base_url) if settings.base_url else None,
        "thesisgen_version": __version__,
        "prompt_templates_sha256": templates_sha256(),
    }


def _start(request: BatchRequest, stream: TextIO) -> BatchOutcome:
    from .universe import Entry, from_tickers, read_universe

    if request.answers is not None:
        raise UsageError(
            "--answers answers a jsonl round already written: use it with --resume DIR"
        )
    settings = resolve(request.flags, config_path=request.config).settings
    entries: list[Entry] = (
        from_tickers(request.tickers, settings.max_tickers)
        if request.tickers is not None
        else read_universe(request.universe, settings.max_tickers)  # type: ignore[arg-type]
    )
    engine_name, mode = _engine_and_mode(request, settings)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = request.out or Path("out") / f"batch-{stamp}"
    if BatchFolder.is_batch(root):
        raise UsageError(
            f"{root} holds a batch run already: go on with `thesisgen batch --resume {root}`, "
            "or choose another --out"
        )
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"--out {root} is not an empty folder: choose a new or empty one")
    flags = {k: v for k, v in request.flags.items() if v is not None}
    withheld = "base_url" in flags and public_url(str(flags["base_url"])) != flags["base_url"]
    if withheld:
        del flags["base_url"]  # it carries a password: a resume is given it again
    state = BatchState(
        run_id=uuid.uuid4().hex,
        created_at=dt.datetime.now(dt.UTC),
        engine=engine_name,
        mode=mode,
        universe=[
            UniverseTicker(
                ticker=e.ticker,
                as_of=e.as_of or request.as_of,
                sources=[str(p) for p in e.sources],
                company=e.company,
                line=e.line,
            )
            for e in entries
        ],
        flags=flags,
        options={
            "config": str(request.config.resolve()) if request.config else None,
            "template": str(request.template.resolve()) if request.template else None,
            "allow_flagged": request.allow_flagged,
            "yes": request.yes,
            "recordings": _recordings_root(request, mode),
            "base_url_withheld": withheld,
        },
        fingerprint=_fingerprint(settings),
        tickers={
            e.ticker: TickerOutcome(ticker=e.ticker, folder=str(root / e.ticker)) for e in entries
        },
    )
    return _go(request, state, BatchFolder(root), settings, stream, created=False)


def _resume(request: BatchRequest, stream: TextIO) -> BatchOutcome:
    assert request.resume is not None
    fixed = [
        name
        for name, value in (
            ("--out", request.out),
            ("--engine", request.engine),
            ("--offline", request.offline or None),
            ("--record", request.record or None),
            ("--recordings", request.recordings),
            ("--yes", request.yes or None),
            ("--config", request.config),
            ("--template", request.template),
            ("--allow-flagged", request.allow_flagged or None),
            ("--as-of", request.as_of),
        )
        if value is not None
    ] + [
        f"--{key.replace('_', '-')}"
        for key, value in request.flags.items()
        if value is not None and key != "base_url"
    ]
    folder = BatchFolder(request.resume)
    state = folder.load()  # first: a folder that holds no batch run is the thing to say
    if fixed:
        raise UsageError(
            f"{fixed[0]} is fixed when a batch run starts ({request.resume / 'batch/state.json'} "
            f"keeps it): drop it from --resume, or start a new batch run"
        )
    if state.options.get("base_url_withheld") and not request.flags.get("base_url"):
        raise UsageError(
            f"the batch run in {request.resume} was started with a --base-url holding a password, "
            "which is never stored: pass --base-url again"
        )
    folder.lock()
    try:
        return _resumed(request, folder, folder.load(), stream)  # read again under the lock
    finally:
        folder.unlock()


def _resumed(
    request: BatchRequest, folder: BatchFolder, state: BatchState, stream: TextIO
) -> BatchOutcome:
    assert request.resume is not None
    settings = _settings_of(state, request)
    changed = [
        f"{key}: {state.fingerprint.get(key)!r} then, {value!r} now"
        for key, value in _fingerprint(settings).items()
        if state.fingerprint.get(key) != value
    ]
    if changed:
        raise UsageError(
            f"the settings changed since the batch run in {request.resume} started ("
            f"{'; '.join(changed[:3])}): its requests would differ, or go elsewhere, and be "
            "paid for again; restore them (config file, environment, --base-url, the thesisgen "
            "version), or start a new batch run"
        )
    if state.mode != "replay" and state.engine == "openai-batch" and not settings.live_configured:
        raise UsageError(
            f"resuming {request.resume} polls the Batch API: set OPENAI_API_KEY (or --base-url)"
        )
    if request.answers is not None:
        if state.engine != "jsonl":
            raise UsageError(
                f"--answers is for a jsonl run; {request.resume} runs on {state.engine}: drop it"
            )
        _check_answers_file(request.answers)
        if not any(s.status == AWAITING_ANSWERS for s in state.submissions):
            raise UsageError(
                f"no round of {request.resume} waits for answers: drop --answers (see "
                f"`thesisgen batch --status {request.resume}`)"
            )
    waiting = _still_out(request, state, folder, settings)
    if waiting is not None:
        return waiting
    return _go(request, state, folder, settings, stream, created=True)


def _still_out(
    request: BatchRequest, state: BatchState, folder: BatchFolder, settings: Settings
) -> BatchOutcome | None:
    """A resume without --wait whose batches are all still out (or whose jsonl round still
    waits for its answers file) says so at once, without reading every memo's sources again."""
    out = [s for s in state.submissions if s.status != "collected"]
    if not out or request.wait is not None:
        return None
    if state.engine == "jsonl":
        if request.answers is None and all(s.status == AWAITING_ANSWERS for s in out):
            return BatchOutcome(
                folder.root, state, False, _closing_lines(state, folder.root, False)
            )
        return None
    if state.engine != "openai-batch" or not all(s.batch_id for s in out):
        return None
    engine = _engine(request, state, settings, folder)
    assert engine is not None
    try:
        for submission in out:
            engine.refresh(submission)
    finally:
        engine.close()
    folder.save(state)
    if any(s.status in TERMINAL for s in out):
        return None
    return BatchOutcome(folder.root, state, False, _closing_lines(state, folder.root, False))


def _settings_of(state: BatchState, request: BatchRequest) -> Settings:
    """A run's settings as a resume or --status resolves them: the flags and config file it
    started with, and a --base-url given now (the one flag taken again)."""
    flags = dict(state.flags)
    if request.flags.get("base_url") is not None:
        flags["base_url"] = request.flags["base_url"]
    config = state.options.get("config")
    return resolve(flags, config_path=Path(config) if config else None).settings


def _check_answers_file(path: Path) -> None:
    if not path.is_file():
        raise InputFileError(
            f"--answers {path} is not a file: pass the output file of your batch runner"
        )
    if path.stat().st_size > ANSWERS_MAX_BYTES:
        raise InputFileError(f"--answers {path} is over {ANSWERS_MAX_BYTES // 2**30} GB")


def _engine(
    request: BatchRequest, state: BatchState, settings: Settings, folder: BatchFolder
) -> Engine | None:
    if state.engine == "jsonl":
        return JsonlFiles(folder, request.answers)
    if state.engine == "openai-batch":
        return OpenAIBatches(
            folder.root,
            settings.api_key,
            settings.base_url,
            settings.timeout,
            request.retry or RetryPolicy.of(settings),
        )
    return None


def _go(
    request: BatchRequest,
    state: BatchState,
    folder: BatchFolder,
    settings: Settings,
    stream: TextIO,
    created: bool,
) -> BatchOutcome:
    work = _Run(request, state, folder, settings, stream)
    coordinator: Coordinator | None = None
    network: _BoundedTransport | None = None
    if state.engine == "live" or state.mode == "replay":
        network = _BoundedTransport(settings.concurrency) if state.mode != "replay" else None
        contexts = {e.ticker: run.EngineContext("live", network, 1.0) for e in state.universe}
    else:
        coordinator = Coordinator(folder.answers() if created else [])
        work.batches_of.update(_batch_ids_by_ticker(state, folder))

        def ids_of(ticker: str) -> Callable[[], list[str]]:
            return lambda: sorted(work.batches_of.get(ticker, set()))

        contexts = {
            e.ticker: run.EngineContext(
                state.engine,
                _HoldingTransport(coordinator, e.ticker),
                settings.batch_price_factor,
                FAN_OUT,
                ids_of(e.ticker),
            )
            for e in state.universe
        }
    work.created = created
    try:
        try:
            memos = work.plan(contexts)
        except KeyboardInterrupt:
            raise CancelledError(
                "interrupted while planning: "
                + (
                    f"what was submitted and answered is kept in {folder.root}; go on with "
                    f"`thesisgen batch --resume {folder.root}`"
                    if created
                    else "nothing was submitted or written"
                )
            ) from None
        if not created:
            work.check_budget(memos, work.price_factor())
            folder.claim()
            work.created = True
            work.save()
            work.say(
                f"Batch run {state.run_id[:12]} in {folder.root} ({state.engine}, {state.mode})."
            )
        engine = _engine(request, state, settings, folder)
        try:
            if coordinator is None:
                finished = _drive_live(work, memos)
            else:
                assert engine is not None
                finished = _drive_rounds(work, memos, coordinator, engine, request.wait)
        except KeyboardInterrupt:
            raise CancelledError(
                f"interrupted: what was submitted and answered is kept in {folder.root}; go on "
                f"with `thesisgen batch --resume {folder.root}`"
            ) from None
        finally:
            if engine is not None:
                engine.close()
    finally:
        if network is not None:
            network.shutdown()
        folder.unlock()
    return BatchOutcome(folder.root, state, finished, _closing_lines(state, folder.root, finished))


def _batch_ids_by_ticker(state: BatchState, folder: BatchFolder) -> dict[str, set[str]]:
    """The batches whose answers each memo has had, from the rounds' indexes."""
    ids: dict[str, set[str]] = collections.defaultdict(set)
    for submission in state.submissions:
        if submission.batch_id is None:
            continue
        if folder.index_path(submission).is_file():
            for ref in folder.index(submission).values():
                ids[str(ref[0])].add(submission.batch_id)
    return ids


# --- what the user is told ------------------------------------------------------------------------

OUTCOME_WORDS: dict[str, str] = {
    "pending": "pending",
    "passed": "passed",
    "flagged": "gate failed, written flagged",
    "gate_failed": "gate failed",
    "service_failed": "service failed",
    "failed": "failed",
}


def summary_lines(state: BatchState) -> list[str]:
    """The memos' table: outcome, calls, tokens and cost each, then the run's totals with the
    engine's cost against what the same tokens cost live."""
    rows = [("Ticker", "Outcome", "Calls", "Tokens", "Cost", "Why")]
    usage = Usage()
    cost = live = 0.0
    unknown = False
    for entry in state.universe:
        outcome = state.tickers[entry.ticker]
        usage += outcome.usage
        if outcome.cost_usd is None:
            unknown = unknown or outcome.calls > 0
        else:
            cost += outcome.cost_usd
            live += outcome.live_cost_usd or outcome.cost_usd
        rows.append(
            (
                entry.ticker,
                OUTCOME_WORDS[outcome.status],
                str(outcome.calls),
                f"{outcome.usage.prompt_tokens + outcome.usage.completion_tokens:,}",
                "-" if outcome.cost_usd is None else f"${outcome.cost_usd:.4f}",
                (outcome.message or "")[:160],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5]
        for row in rows
    ]
    counts = collections.Counter[str](t.status for t in state.tickers.values())
    told = ", ".join(f"{counts[k]} {OUTCOME_WORDS[k]}" for k in OUTCOME_WORDS if counts[k])
    tokens = usage.prompt_tokens + usage.completion_tokens
    known = any(t.cost_usd is not None for t in state.tickers.values())
    if state.mode == "replay":
        priced = "no cost (replayed)"
    elif not known:
        priced = "cost unknown (the model is not in the price table)"
    elif state.engine == "live":
        priced = f"cost ${cost:.4f}" + (" (some unknown)" if unknown else "")
    else:
        priced = f"cost ${cost:.4f} at {state.engine} prices (${live:.4f} at live prices)" + (
            " (some unknown)" if unknown else ""
        )
    lines.append(f"{len(state.universe)} memo(s): {told}; {tokens:,} tokens; {priced}.")
    return [line.rstrip() for line in lines]


def submission_lines(state: BatchState) -> list[str]:
    lines = []
    for s in state.submissions:
        where = s.batch_id or s.requests_file
        counts = (
            f": {s.answered} answered, {s.retried} asked again, {s.failed} failed"
            if s.status == "collected"
            else ""
        )
        note = f" ({s.note})" if s.note else ""
        lines.append(
            f"round {s.round} part {s.part}: {s.lines} request(s), {where}, {s.status}{counts}{note}"
        )
    return lines


def _closing_lines(state: BatchState, root: Path, finished: bool) -> list[str]:
    if finished:
        return [
            *summary_lines(state),
            f"Memos in {root}/<TICKER>/; the run's record in {root}/batch/.",
        ]
    awaiting = [s for s in state.submissions if s.status == AWAITING_ANSWERS]
    if awaiting:
        files = " ".join(str(root / s.requests_file) for s in awaiting)
        model = state.fingerprint.get("model", "MODEL")
        return [
            f"Round {awaiting[0].round} waits for its answers: run {files} through your batch "
            f"runner, e.g. `python -m vllm.entrypoints.openai.run_batch -i {files} -o "
            f"answers.jsonl --model {model}` (vLLM's `vllm run-batch`), then "
            f"`thesisgen batch --resume {root} --answers answers.jsonl`."
        ]
    open_now = [s for s in state.submissions if s.status != "collected"]
    where = ", ".join(f"{s.batch_id} {s.status}" for s in open_now) or "nothing submitted"
    return [
        f"Submitted and not yet answered ({where}): `thesisgen batch --resume {root}` goes on "
        "(add --wait SECONDS to poll until it is answered); `thesisgen batch --status "
        f"{root}` shows where it stands."
    ]


def _status(request: BatchRequest) -> BatchOutcome:
    """Where a batch run stands, from its folder (read only: nothing is submitted or saved)."""
    assert request.status is not None
    state = BatchFolder(request.status).load()
    polled = _poll_for_status(request, state)
    pending = sum(1 for t in state.tickers.values() if t.status == "pending")
    lines = [
        f"Batch run {state.run_id[:12]} ({state.engine}, {state.mode}), started "
        f"{state.created_at:%Y-%m-%d %H:%M} UTC: {len(state.universe)} memo(s), {pending} "
        "still running.",
        *submission_lines(state),
        *polled,
        *summary_lines(state),
    ]
    return BatchOutcome(request.status, state, pending == 0, lines)


def _poll_for_status(request: BatchRequest, state: BatchState) -> list[str]:
    """The provider's word on the batches still out, when a key is at hand (nothing is saved:
    a resume collects them)."""
    out = [s for s in state.submissions if s.batch_id and s.status not in (*TERMINAL, "collected")]
    if state.engine != "openai-batch" or not out:
        return []
    try:
        settings = _settings_of(state, request)
    except ThesisgenError as exc:
        return [f"(not polled: {exc})"]
    if not settings.live_configured:
        return ["(not polled: set OPENAI_API_KEY to ask the Batch API where they stand)"]
    assert request.status is not None
    once = replace(request, retry=RetryPolicy(attempts=1))  # a look, not a wait
    engine = _engine(once, state, settings, BatchFolder(request.status))
    assert engine is not None
    lines = []
    try:
        for submission in out:
            now = submission.model_copy()
            engine.refresh(now)
            lines.append(f"{submission.batch_id}: {now.status} now (polled; resume to collect)")
    except ModelServiceError as exc:
        lines.append(f"(not polled: {exc})")
    finally:
        engine.close()
    return lines

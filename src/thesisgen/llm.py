"""One structured model call: messages and a pydantic schema in, a validated object and usage out.

Three loops, kept apart so that attempts never multiply:

- **Transport retries** live here and only here: 429 (honouring Retry-After), 5xx, timeouts,
  dropped connections and unreadable bodies are retried by one tenacity policy
  (:class:`RetryPolicy`) with exponential backoff, jitter and a bound on both count and total
  time. The SDK's own retries are switched off (``max_retries=0``): with both on, every SDK retry
  would happen inside every tenacity attempt. A transport error is never shown to the model.
- **Re-asks** (also here): an answer that is not valid JSON for the schema is sent back once with
  the parse error, because that is the model's fault and it can fix it.
- **Repairs** (in :mod:`thesisgen.draft`): the validator rejected a well-formed answer.

How JSON is asked for and read back is a table of wire formats (:mod:`thesisgen.wire`); ``auto``
tries them in the table's order on the first call of a run and keeps what worked for the rest of
it. Which transports a call travels through (live, recording, cache, replay) is
:func:`thesisgen.recording.transport_for`'s choice. Every answer's tokens are counted, also those
of a call that then fails, which carries its attempts and usage in its error.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import httpx2
import openai
from openai.lib import type_to_response_format_param
from openai.types.chat.chat_completion import Choice
from pydantic import BaseModel, ValidationError

from . import secrets
from .budget import Budget as Budget  # re-exported: LLMSettings' own types
from .config import DEFAULTS, public_url
from .errors import AnswerShapeError, CancelledError, ModelServiceError, ThesisgenError, UsageError
from .files import describe_validation_error
from .models import Usage
from .recording import (
    CACHE_HEADER,
    CALL_HEADER,
    KEY_HEADER,
    CallLabel,
    ReplayTransport,
    transport_for,
)
from .recording import Mode as Mode
from .retry import RetryPolicy as RetryPolicy  # re-exported: LLMSettings' own types
from .wire import FORMATS, Messages
from .wire import Name as WireFormat

T = TypeVar("T", bound=BaseModel)
Item = TypeVar("Item")
R = TypeVar("R")


@dataclass(frozen=True)
class LLMSettings:
    mode: Mode
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = DEFAULTS.temperature
    seed: int = DEFAULTS.seed
    timeout_s: float = DEFAULTS.timeout
    max_tokens: int | None = None
    structured_output: Literal["auto"] | WireFormat = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    reasks: int = 1
    recordings_dir: Path | None = None
    cache_dir: Path | None = None
    budget: Budget = field(default_factory=Budget)


@dataclass(frozen=True)
class CallResult(Generic[T]):
    parsed: T
    raw_content: str
    usage: Usage  # of every answer the call received (its re-asks included)
    request_key: str
    cached: bool
    wire_format: WireFormat
    reasks: int = 0
    attempts: int = 1  # HTTP requests, retries, re-asks and format probes included


@dataclass
class _Tally:
    """What one call has cost so far, across its format probes, re-asks and retries."""

    attempts: int = 0
    usage: Usage = field(default_factory=Usage)


class _BadBody(Exception):
    """A 200 answer whose body is not a chat completion: treated like a transport failure."""


class _ProbeRejected(Exception):
    """The server refused a structured-output format (so try the next one)."""


def transient(exc: BaseException) -> bool:
    """Worth another try: a 408, 409, 429 or 5xx, a timeout, a lost connection, a bad body."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, _BadBody))


class LLM:
    """A thread-safe client for structured calls over ``transport`` (by default the stack that
    :func:`~thesisgen.recording.transport_for` builds for ``settings.mode``).

    It keeps the run's counts: ``usage`` and ``usage_by_stage`` of every answer (replayed,
    cached or live), and ``live_calls`` and ``spent`` of the calls that reached a model. Answers
    of calls that then failed are counted too, so a failed run can still say what it cost.
    """

    def __init__(
        self,
        settings: LLMSettings,
        transport: httpx2.BaseTransport | None = None,
        network: httpx2.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        if transport is None:
            transport = transport_for(settings, network)
        self.replay = transport if isinstance(transport, ReplayTransport) else None
        self.model = settings.model
        if self.replay is not None and not self.model:
            if len(self.replay.models) != 1:
                raise UsageError(
                    f"recordings in {settings.recordings_dir} name models {self.replay.models or 'none'}: "
                    "pass --model to pick one"
                )
            self.model = self.replay.models[0]
        self._client = openai.OpenAI(
            # Replay needs no key; the SDK insists on one, and this placeholder is never sent anywhere.
            api_key=settings.api_key or "no-key",
            base_url=settings.base_url or "https://api.openai.com/v1",
            max_retries=0,  # transport retries are ours (see the module docstring)
            timeout=settings.timeout_s,
            http_client=httpx2.Client(transport=transport, timeout=settings.timeout_s),
        )
        self._format: WireFormat | None = (
            None if settings.structured_output == "auto" else settings.structured_output
        )
        recorded = self.replay.formats if self.replay is not None else []
        if self._format is None and len(recorded) == 1 and recorded[0] in FORMATS:
            # Replay asks in the format the recordings were made with; probing would only miss.
            self._format = recorded[0]
        self._format_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._spend_lock = threading.Lock()
        self.usage = Usage()
        self.usage_by_stage: dict[str, Usage] = {}
        self.live_calls = 0  # calls that reached a model (not replayed, not from the cache)
        self.spent = Usage()  # their usage

    @property
    def wire_format(self) -> WireFormat | None:
        return self._format

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Stop: no new call or retry starts, waits end, and open connections are closed so the
        calls in flight fail at once instead of waiting for their answers."""
        self._cancelled.set()
        self._client.close()

    def _count(self, usage: Usage, label: CallLabel, live: bool) -> None:
        with self._spend_lock:
            self.usage += usage
            # Replaced, never changed in place: a failed run reads it while calls still finish.
            stage = self.usage_by_stage.get(label.stage, Usage()) + usage
            self.usage_by_stage = {**self.usage_by_stage, label.stage: stage}
            if live:
                self.live_calls += 1
                self.spent += usage

    # --- one call ------------------------------------------------------------------------------

    def call(
        self,
        messages: Messages,
        schema: type[T],
        label: CallLabel,
        wire_schema: type[BaseModel] | None = None,
    ) -> CallResult[T]:
        """Ask for ``schema``; ``wire_schema`` (if given) is the tighter schema sent to the model.
        A :class:`ModelServiceError` it raises carries the call's attempts and usage."""
        sent = wire_schema or schema
        tally = _Tally()
        try:
            if self._format is None:
                with self._format_lock:
                    if self._format is None:
                        return self._detect(messages, schema, sent, label, tally)
            return self._call_with_reasks(messages, schema, sent, label, self._format, tally)
        except ModelServiceError as exc:
            exc.attempts, exc.usage = tally.attempts, tally.usage
            raise

    def _detect(
        self,
        messages: Messages,
        schema: type[T],
        sent: type[BaseModel],
        label: CallLabel,
        tally: _Tally,
    ) -> CallResult[T]:
        tried: list[str] = []
        for wire in FORMATS:
            try:
                result = self._call_with_reasks(messages, schema, sent, label, wire, tally, True)
            except _ProbeRejected as exc:
                tried.append(f"{wire}: {exc}")
                continue
            self._format = wire
            return result
        raise ModelServiceError(
            f"the model service rejected every structured-output format during {label.describe()} "
            f"({'; '.join(tried)}): check --base-url and --model, or choose a format with "
            "--structured-output"
        )

    def _call_with_reasks(
        self,
        messages: Messages,
        schema: type[T],
        sent: type[BaseModel],
        label: CallLabel,
        wire: WireFormat,
        tally: _Tally,
        probe: bool = False,
    ) -> CallResult[T]:
        conversation = list(messages)
        for reask in range(self.settings.reasks + 1):
            this_label = replace(label, reask=reask)
            content, key, cached = self._exchange(
                conversation, sent, this_label, wire, tally, probe
            )
            probe = False
            try:
                parsed = _parse(schema, FORMATS[wire].read(content))
            except ValidationError as exc:
                problem = describe_validation_error(exc)
                if reask == self.settings.reasks:
                    raise AnswerShapeError(
                        f"the model's answer during {label.describe()} does not fit the expected "
                        f"schema ({problem}), also after {reask} re-ask(s): try a model that "
                        "supports structured output"
                    ) from exc
                conversation += [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer is not valid JSON for the schema ({problem}). "
                        "Answer again with only the JSON object.",
                    },
                ]
                continue
            return CallResult(
                parsed, content, tally.usage, key, cached, wire, reask, tally.attempts
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self, messages: Messages, sent: type[BaseModel], wire: WireFormat
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "seed": self.settings.seed,
        }
        if self.settings.max_tokens:
            body["max_tokens"] = self.settings.max_tokens
        strict = cast(dict[str, Any], type_to_response_format_param(sent))
        return body | FORMATS[wire].build(messages, strict)

    def _exchange(
        self,
        messages: Messages,
        sent: type[BaseModel],
        label: CallLabel,
        wire: WireFormat,
        tally: _Tally,
        probe: bool,
    ) -> tuple[str, str, bool]:
        """One completion, with transport retries; returns content, request key, cached."""
        body = self._request(messages, sent, wire)
        before = tally.attempts

        def retry_on(exc: BaseException) -> bool:
            return transient(exc) and not (probe and _refuses_format(exc))

        try:
            for attempt in self.settings.retry.retrying(retry_on, self._cancelled):
                with attempt:
                    if self._cancelled.is_set():
                        raise CancelledError("the run was interrupted")
                    return self._send(body, label, tally)
        except (openai.APIError, _BadBody) as exc:
            if probe and isinstance(exc, openai.APIStatusError) and _refuses_format(exc):
                raise _ProbeRejected(f"HTTP {exc.status_code}: {server_message(exc)}") from exc
            if isinstance(exc, openai.APIConnectionError) and self._cancelled.is_set():
                raise CancelledError("the run was interrupted") from None
            base_url = str(self._client.base_url)
            tried = tally.attempts - before
            raise _service_error(exc, label, tried, self.settings.timeout_s, base_url) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, body: dict[str, Any], label: CallLabel, tally: _Tally) -> tuple[str, str, bool]:
        if self.replay is None:
            with self._spend_lock:
                calls, tokens = self.live_calls, self.spent.prompt_tokens
            self.settings.budget.check(calls, tokens, label.describe())
        extra = {k: v for k, v in body.items() if k not in ("model", "messages")}
        tally.attempts += 1
        raw = self._client.chat.completions.with_raw_response.create(
            model=body["model"],
            messages=body["messages"],
            extra_body=extra,
            extra_headers={CALL_HEADER: label.header()},
        )
        try:
            completion = raw.parse()
            choice = completion.choices[0]
        except (ValueError, IndexError, TypeError, openai.APIResponseValidationError) as exc:
            raise _BadBody("the body is not the expected JSON") from exc
        counts = completion.usage
        usage = Usage(
            prompt_tokens=(counts.prompt_tokens or 0) if counts else 0,
            completion_tokens=(counts.completion_tokens or 0) if counts else 0,
        )
        cached = raw.headers.get(CACHE_HEADER) == "hit"
        # Counted before the answer is judged: a refused or cut-off answer was paid for too.
        tally.usage += usage
        self._count(usage, label, live=self.replay is None and not cached)
        return _content(choice, label), raw.headers.get(KEY_HEADER, ""), cached


def _content(choice: Choice, label: CallLabel) -> str:
    """The answer's text, unless the model refused or was stopped before it finished."""
    if choice.message.refusal:
        raise ModelServiceError(
            f"the model refused during {label.describe()}: {choice.message.refusal}"
        )
    if choice.finish_reason == "length":
        raise ModelServiceError(
            f"the model's answer was cut off at its token limit during {label.describe()}: "
            "raise --max-tokens or use a model with a larger output limit"
        )
    if choice.finish_reason == "content_filter":
        raise ModelServiceError(f"the model service filtered the answer during {label.describe()}")
    return choice.message.content or ""


_FORMAT_WORDS = re.compile(
    r"response[_ ]format|json[_ ]schema|json[_ ]object|structured output|grammar|\bschema\b",
    re.IGNORECASE,
)


def _mentions_format(exc: BaseException) -> bool:
    if not isinstance(exc, openai.APIStatusError):
        return False
    return bool(_FORMAT_WORDS.search(f"{exc.message} {exc.body}"))


def _refuses_format(exc: BaseException) -> bool:
    """'I do not do this response_format', as opposed to 'try again later'.

    Servers say it with a 4xx (400, 404, 415, 422) or 501, and some (llama.cpp's servers) with a
    500 whose message names the format. A 500, 502, 503 or 429 that does not name the format is
    transient: it is retried with backoff and never makes ``auto`` give up a format for the run.
    When every format is refused, the error lists each server message.
    """
    if not isinstance(exc, openai.APIStatusError):
        return False
    if exc.status_code in (400, 404, 415, 422, 501):
        return True  # the request's fault, not the moment's: try the next format
    return exc.status_code == 500 and _mentions_format(exc)


def _service_error(
    exc: Exception, label: CallLabel, tried: int, timeout_s: float, base_url: str
) -> ThesisgenError:
    """The one-line error, with what to do, for a request the service failed ``tried`` times."""
    during = f"during {label.describe()}{_retried(tried)}"
    if isinstance(exc, openai.AuthenticationError):
        return UsageError(
            f"the model service rejected the API key (HTTP {exc.status_code}) during "
            f"{label.describe()}: set a valid OPENAI_API_KEY"
        )
    if isinstance(exc, openai.APIStatusError):
        hint = ""
        if _mentions_format(exc):
            hint = " (if the server does not do structured output, pass --structured-output json_object or prompt)"
        return ModelServiceError(
            f"the model service answered HTTP {exc.status_code} {during}: "
            f"{server_message(exc)}{hint}"
        )
    if isinstance(exc, openai.APITimeoutError):
        return ModelServiceError(
            f"the model service did not answer within {timeout_s:g}s {during}: "
            "retry later or raise --timeout"
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelServiceError(
            f"could not reach the model service at {public_url(base_url)} {during}: check "
            "--base-url / OPENAI_BASE_URL and that the server is running"
        )
    return ModelServiceError(
        f"the model service's answers during {label.describe()} were not chat completions "
        f"({exc}){_retried(tried)}: check that --base-url points at an OpenAI-compatible "
        "/v1 endpoint"
    )


def _retried(count: int) -> str:
    return f" after {count} attempt(s)" if count > 1 else ""


class Activity:
    """The threads of one or more runs that may still send a request, counted.

    A batch run submits a round once every such thread waits for an answer (``running`` is 0):
    its coordinator counts the threads it starts and the ones waiting for answers, and
    :func:`map_concurrently` counts the workers it fans out to, through :data:`ACTIVITY`.
    """

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.running = 0

    def add(self, count: int) -> None:
        with self.condition:
            self.running += count
            self.condition.notify_all()


ACTIVITY: contextvars.ContextVar[Activity | None] = contextvars.ContextVar(
    "thesisgen_activity", default=None
)


def map_concurrently(work: Callable[[Item], R], items: Iterable[Item], concurrency: int) -> list[R]:
    """``work`` over ``items`` with at most ``concurrency`` in flight, results in order.

    On the first error, or Ctrl-C, the items not yet started are cancelled and the caller does
    not wait for those in flight (a hung server would otherwise hold the run for minutes). With a
    concurrency of 1 the caller's thread does the work, in order: a worker thread would only add
    its hand-offs (0.06 s over an offline AREC draft's 10 replayed calls).

    Under an :class:`Activity` (a batch run) the work is counted: see :func:`_map_counted`.
    """
    if concurrency <= 1:
        return [work(item) for item in items]
    todo = list(items)
    if not todo:
        return []
    activity = ACTIVITY.get()
    if activity is not None:
        return _map_counted(work, todo, concurrency, activity)
    pool = ThreadPoolExecutor(max_workers=concurrency)
    futures = [pool.submit(work, item) for item in todo]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)  # the first error, not the first item's
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()  # raises it
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _map_counted(
    work: Callable[[Item], R], todo: list[Item], concurrency: int, activity: Activity
) -> list[R]:
    """map_concurrently under an Activity: at most ``concurrency`` worker threads take the items
    in turn, and each worker counts as running from its start to its end (less the time it waits
    for an answer), so items not yet taken are never counted and never hold a round back. The
    caller's count passes to the workers while it waits and back to it from the last worker to
    end, or from the first item to fail, so the count never drops to 0 on the way (a round would
    go out while this memo is about to ask more)."""
    condition = activity.condition
    results: list[Any] = [None] * len(todo)
    errors: list[BaseException] = []
    taken = 0
    workers = min(concurrency, len(todo))
    alive = workers
    caller_waits, handed_back = True, False

    def worker() -> None:
        nonlocal taken, alive, handed_back
        ACTIVITY.set(activity)
        failed = False
        try:
            while True:
                with condition:
                    if errors or taken == len(todo):
                        return
                    index = taken
                    taken += 1
                try:
                    results[index] = work(todo[index])
                except BaseException as exc:
                    failed = True
                    with condition:
                        errors.append(exc)
                    return
        finally:
            with condition:
                alive -= 1
                if (alive == 0 or failed) and caller_waits and not handed_back:
                    handed_back = True
                else:
                    activity.running -= 1
                condition.notify_all()

    activity.add(workers - 1)  # the workers run; the caller waits for them
    for _ in range(workers):
        threading.Thread(target=worker, daemon=True).start()
    with condition:
        while alive > 0 and not errors:
            condition.wait()
        caller_waits = False
        if not handed_back:
            activity.running += 1
        condition.notify_all()
    if errors:
        raise errors[0]
    return results


def server_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") if body else None
    text = secrets.redact(str(message or exc.message).replace("\n", " "))
    return (text[:200] + "…") if len(text) > 200 else text


def _parse(schema: type[T], text: str) -> T:
    """The answer as ``schema``. JSON is read leniently about raw control characters in strings:
    grammar-constrained decoders (llama.cpp) let a model write a bare line break there."""
    try:
        data = json.loads(text, strict=False)
    except ValueError:
        return schema.model_validate_json(text)  # raises the ValidationError that names the problem
    return schema.model_validate(data)


def assistant_echo(result: CallResult[T]) -> dict[str, str]:
    """The model's previous answer as an assistant message, for the repair conversation."""
    return {"role": "assistant", "content": result.raw_content}

"""One structured model call: messages and a pydantic schema in, a validated object and usage out.

Three loops, kept apart so that attempts never multiply:

- **Transport retries** live here and only here: 429 (honouring Retry-After), 5xx, timeouts,
  dropped connections and unreadable bodies are retried by one tenacity policy with exponential
  backoff, jitter and a bound on both count and total time. The SDK's own retries are switched off
  (``max_retries=0``): with both on, every SDK retry would happen inside every tenacity attempt.
  A transport error is never shown to the model.
- **Re-asks** (also here): an answer that is not valid JSON for the schema is sent back once with
  the parse error, because that is the model's fault and it can fix it.
- **Repairs** (in :mod:`thesisgen.draft`): the validator rejected a well-formed answer.

Structured output comes in three wire formats: OpenAI's strict ``json_schema``; ``json_object``
with the schema alongside (llama-cpp-python's server answers ``json_schema`` with HTTP 500 but
accepts this); and prompt-only JSON. ``auto`` tries them in that order on the first call of a run
and keeps what worked for the rest of it.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import httpx2
import openai
from openai.lib import type_to_response_format_param
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from . import secrets
from .config import public_url
from .errors import (
    AnswerShapeError,
    BudgetExceededError,
    CancelledError,
    ModelServiceError,
    UsageError,
)
from .files import describe_validation_error
from .models import Usage
from .recording import (
    CACHE_HEADER,
    CALL_HEADER,
    KEY_HEADER,
    CachingTransport,
    CallLabel,
    KeyingTransport,
    RecordingTransport,
    ReplayTransport,
)

# "none": a run that needs no model (`thesisgen facts --extract rules`); any call is a bug.
Mode = Literal["live", "record", "replay", "none"]
WireFormat = Literal["json_schema", "json_object", "prompt"]
T = TypeVar("T", bound=BaseModel)
Item = TypeVar("Item")
R = TypeVar("R")
Messages = list[dict[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retries: exponential backoff from ``initial_wait_s`` (doubling, with up to 25%
    jitter, capped at ``max_wait_s``), at most ``attempts`` tries within ``total_s`` seconds.

    ``sleep`` is how a wait is spent; tests pass one that records the waits and returns at once.
    By default the wait ends early when the run is cancelled (Ctrl-C).
    """

    attempts: int = 5
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    total_s: float = 180.0
    sleep: Callable[[float], object] | None = field(default=None, compare=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); never zero when
        ``initial_wait_s`` is not, so no retry hammers a failing server."""
        base = min(self.max_wait_s, self.initial_wait_s * float(2 ** max(0, attempt - 1)))
        wait = min(self.max_wait_s, base * (1 + 0.25 * random.random()))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_wait_s))
        return wait


@dataclass(frozen=True)
class Budget:
    """Hard limits on what one run may spend, checked before every live call."""

    max_calls: int | None = None
    max_prompt_tokens: int | None = None


@dataclass(frozen=True)
class LLMSettings:
    mode: Mode
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    seed: int = 7
    timeout_s: float = 600.0
    max_tokens: int | None = None
    structured_output: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    retry: RetryPolicy = RetryPolicy()
    reasks: int = 1
    recordings_dir: Path | None = None
    cache_dir: Path | None = None
    budget: Budget = Budget()


@dataclass(frozen=True)
class CallResult(Generic[T]):
    parsed: T
    raw_content: str
    usage: Usage
    request_key: str
    cached: bool
    wire_format: WireFormat
    reasks: int = 0


class _BadBody(Exception):
    """A 200 answer whose body is not a chat completion: treated like a transport failure."""


class _ProbeRejected(Exception):
    """The server refused a structured-output format (so try the next one)."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, _BadBody))


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = response.headers.get(header)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                return None
    return None


class _NoModel(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("this run uses no model, yet a model call was made")


class LLM:
    """A thread-safe client for structured calls in one of three modes (live, record, replay)."""

    def __init__(
        self, settings: LLMSettings, transport: httpx2.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.replay: ReplayTransport | None = None
        if transport is None:
            transport = self._transport_for(settings)
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
        if self.replay is not None and self._format is None and len(self.replay.formats) == 1:
            # Replay asks in the format the recordings were made with; probing would only miss.
            self._format = cast(WireFormat, self.replay.formats[0])
        self._format_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._spend_lock = threading.Lock()
        self.live_calls = 0  # calls that reached a model (not replayed, not from the cache)
        self.spent = Usage()  # their usage, kept even when the run fails

    @property
    def wire_format(self) -> WireFormat | None:
        return self._format

    def _transport_for(self, settings: LLMSettings) -> httpx2.BaseTransport:
        if settings.mode == "none":
            return _NoModel()
        if settings.mode == "replay":
            if settings.recordings_dir is None:
                raise UsageError(
                    "replay needs a recordings folder: pass a bundled ticker or --recordings"
                )
            self.replay = ReplayTransport(settings.recordings_dir)
            return self.replay
        live: httpx2.BaseTransport = httpx2.HTTPTransport()
        if settings.mode == "record":
            if settings.recordings_dir is None:
                raise UsageError("record needs a folder to write to: pass --recordings DIR")
            secrets = (settings.api_key,) if settings.api_key else ()
            return RecordingTransport(live, settings.recordings_dir, secrets)
        if settings.cache_dir is not None:
            return CachingTransport(live, settings.cache_dir)
        return KeyingTransport(live)

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Stop: no new call or retry starts, waits end, and open connections are closed so the
        calls in flight fail at once instead of waiting for their answers."""
        self._cancelled.set()
        self._client.close()

    def _check_budget(self, label: CallLabel) -> None:
        budget = self.settings.budget
        with self._spend_lock:
            calls, tokens = self.live_calls, self.spent.prompt_tokens
        if budget.max_calls is not None and calls >= budget.max_calls:
            raise BudgetExceededError(
                f"the run reached --max-calls {budget.max_calls} before {label.describe()}: "
                "raise --max-calls, or pass --yes to go past the limits"
            )
        if budget.max_prompt_tokens is not None and tokens >= budget.max_prompt_tokens:
            raise BudgetExceededError(
                f"the run reached --max-prompt-tokens {budget.max_prompt_tokens:,} before "
                f"{label.describe()}: raise it, or pass --yes to go past the limits"
            )

    def _count(self, usage: Usage, live: bool) -> None:
        if live:
            with self._spend_lock:
                self.live_calls += 1
                self.spent = self.spent + usage

    # --- one call ------------------------------------------------------------------------------

    def call(
        self,
        messages: Messages,
        schema: type[T],
        label: CallLabel,
        wire_schema: type[BaseModel] | None = None,
    ) -> CallResult[T]:
        """Ask for ``schema``; ``wire_schema`` (if given) is the tighter schema sent to the model."""
        sent = wire_schema or schema
        if self._format is None:
            with self._format_lock:
                if self._format is None:
                    return self._detect(messages, schema, sent, label)
        return self._call_with_reasks(messages, schema, sent, label, self._format)

    def _detect(
        self, messages: Messages, schema: type[T], sent: type[BaseModel], label: CallLabel
    ) -> CallResult[T]:
        tried: list[str] = []
        formats: tuple[WireFormat, ...] = ("json_schema", "json_object", "prompt")
        for wire in formats:
            try:
                result = self._call_with_reasks(messages, schema, sent, label, wire, probe=True)
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
        probe: bool = False,
    ) -> CallResult[T]:
        conversation = list(messages)
        for reask in range(self.settings.reasks + 1):
            this_label = CallLabel(label.ticker, label.stage, label.target, label.attempt, reask)
            content, usage, key, cached = self._exchange(
                conversation, sent, this_label, wire, probe
            )
            probe = False
            try:
                parsed = _parse(schema, _json_text(content, wire))
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
            return CallResult(parsed, content, usage, key, cached, wire, reask)
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
        if wire == "json_schema":
            # OpenAI's strict mode accepts only a subset of JSON Schema; size bounds stay with the
            # other formats (they keep small local models from generating without end) and with
            # our own validation of every answer.
            strict["json_schema"]["schema"] = _without_bounds(strict["json_schema"]["schema"])
            body["response_format"] = strict
        elif wire == "json_object":
            body["response_format"] = {
                "type": "json_object",
                "schema": strict["json_schema"]["schema"],
            }
        else:
            schema_text = json.dumps(strict["json_schema"]["schema"], separators=(",", ":"))
            body["messages"] = [
                *messages[:-1],
                {
                    "role": messages[-1]["role"],
                    "content": messages[-1]["content"]
                    + "\n\nAnswer with only a JSON object that matches this JSON schema:\n"
                    + schema_text,
                },
            ]
        return body

    def _exchange(
        self,
        messages: Messages,
        sent: type[BaseModel],
        label: CallLabel,
        wire: WireFormat,
        probe: bool,
    ) -> tuple[str, Usage, str, bool]:
        """One completion, with transport retries; returns content, usage, request key, cached."""
        body = self._request(messages, sent, wire)
        policy = self.settings.retry

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return policy.backoff(state.attempt_number, _retry_after(exc))

        def sleep(seconds: float) -> None:
            if policy.sleep is not None:
                policy.sleep(seconds)
            else:
                self._cancelled.wait(seconds)

        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_s),
            wait=wait,
            retry=retry_if_exception(
                lambda e: _transient(e) and not (probe and _refuses_format(e))
            ),
            sleep=sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if self._cancelled.is_set():
                        raise CancelledError("the run was interrupted")
                    return self._send(body, label)
        except openai.AuthenticationError as exc:
            raise UsageError(
                f"the model service rejected the API key (HTTP {exc.status_code}) during "
                f"{label.describe()}: set a valid OPENAI_API_KEY"
            ) from exc
        except openai.APIStatusError as exc:
            if probe and _refuses_format(exc):
                raise _ProbeRejected(f"HTTP {exc.status_code}: {_server_message(exc)}") from exc
            hint = ""
            if _mentions_format(exc):
                hint = " (if the server does not do structured output, pass --structured-output json_object or prompt)"
            raise ModelServiceError(
                f"the model service answered HTTP {exc.status_code} during {label.describe()}"
                f"{_retried(retrying)}: {_server_message(exc)}{hint}"
            ) from exc
        except openai.APITimeoutError as exc:
            raise ModelServiceError(
                f"the model service did not answer within {self.settings.timeout_s:g}s during "
                f"{label.describe()}{_retried(retrying)}: retry later or raise --timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            if self._cancelled.is_set():
                raise CancelledError("the run was interrupted") from None
            raise ModelServiceError(
                f"could not reach the model service at {public_url(str(self._client.base_url))} during "
                f"{label.describe()}{_retried(retrying)}: check --base-url / OPENAI_BASE_URL and "
                "that the server is running"
            ) from exc
        except _BadBody as exc:
            raise ModelServiceError(
                f"the model service's answers during {label.describe()} were not chat completions "
                f"({exc}){_retried(retrying)}: check that --base-url points at an OpenAI-compatible "
                "/v1 endpoint"
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, body: dict[str, Any], label: CallLabel) -> tuple[str, Usage, str, bool]:
        if self.replay is None:
            self._check_budget(label)
        extra = {k: v for k, v in body.items() if k not in ("model", "messages")}
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
        message = choice.message
        if getattr(message, "refusal", None):
            raise ModelServiceError(
                f"the model refused during {label.describe()}: {message.refusal}"
            )
        if choice.finish_reason == "length":
            raise ModelServiceError(
                f"the model's answer was cut off at its token limit during {label.describe()}: "
                "raise --max-tokens or use a model with a larger output limit"
            )
        if choice.finish_reason == "content_filter":
            raise ModelServiceError(
                f"the model service filtered the answer during {label.describe()}"
            )
        usage = Usage()
        if completion.usage is not None:
            usage = Usage(
                prompt_tokens=completion.usage.prompt_tokens or 0,
                completion_tokens=completion.usage.completion_tokens or 0,
            )
        cached = raw.headers.get(CACHE_HEADER) == "hit"
        self._count(usage, live=self.replay is None and not cached)
        return message.content or "", usage, raw.headers.get(KEY_HEADER, ""), cached


_BOUNDS = ("maxItems", "minItems", "maxLength", "minLength")


def _without_bounds(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_bounds(v) for k, v in schema.items() if k not in _BOUNDS}
    if isinstance(schema, list):
        return [_without_bounds(v) for v in schema]
    return schema


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


def _retried(retrying: Retrying) -> str:
    count = retrying.statistics.get("attempt_number", 1)
    return f" after {count} attempt(s)" if count > 1 else ""


def map_concurrently(work: Callable[[Item], R], items: Iterable[Item], concurrency: int) -> list[R]:
    """``work`` over ``items`` with at most ``concurrency`` in flight, results in order.

    On the first error, or Ctrl-C, the items not yet started are cancelled and the caller does
    not wait for those in flight (a hung server would otherwise hold the run for minutes).
    """
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        futures = [pool.submit(work, item) for item in items]
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") if body else None
    text = secrets.redact(str(message or exc.message).replace("\n", " "))
    return (text[:200] + "…") if len(text) > 200 else text


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _parse(schema: type[T], text: str) -> T:
    """The answer as ``schema``. JSON is read leniently about raw control characters in strings:
    grammar-constrained decoders (llama.cpp) let a model write a bare line break there."""
    try:
        data = json.loads(text, strict=False)
    except ValueError:
        return schema.model_validate_json(text)  # raises the ValidationError that names the problem
    return schema.model_validate(data)


def _json_text(content: str, wire: WireFormat) -> str:
    """The JSON in an answer; prompt-only answers may wrap it in prose or a code fence."""
    if wire != "prompt":
        return content
    fenced = _FENCE.search(content)
    if fenced:
        return fenced.group(1)
    start, end = content.find("{"), content.rfind("}")
    return content[start : end + 1] if start != -1 and end > start else content


def assistant_echo(result: CallResult[T]) -> dict[str, str]:
    """The model's previous answer as an assistant message, for the repair conversation."""
    return {"role": "assistant", "content": result.raw_content}

"""One structured model call: messages and a pydantic schema in, a validated object and usage out.

Transport failures (429, 5xx, timeouts, lost connections) are retried by the openai SDK's own
policy, once, here: it honours Retry-After and backs off with jitter. The repair loop in
:mod:`thesisgen.draft` is separate and counts only answers the validator rejected, so a transport
error is never shown to the model and attempts never multiply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

import httpx2
import openai
from openai.lib import type_to_response_format_param
from pydantic import BaseModel, ValidationError

from .errors import ModelServiceError, UsageError
from .models import Usage
from .recording import (
    CALL_HEADER,
    KEY_HEADER,
    CallLabel,
    KeyingTransport,
    RecordingTransport,
    ReplayTransport,
)

Mode = Literal["live", "record", "replay"]
T = TypeVar("T", bound=BaseModel)

DEFAULT_TIMEOUT_S = 120.0
TRANSPORT_RETRIES = 3


@dataclass(frozen=True)
class LLMSettings:
    mode: Mode
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    seed: int = 7
    timeout_s: float = DEFAULT_TIMEOUT_S
    recordings_dir: Path | None = None


@dataclass(frozen=True)
class CallResult(Generic[T]):
    parsed: T
    raw_content: str
    usage: Usage
    request_key: str


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
                    f"recordings in {settings.recordings_dir} name models {self.replay.models}: "
                    "pass --model to pick one"
                )
            self.model = self.replay.models[0]
        retries = 0 if settings.mode == "replay" else TRANSPORT_RETRIES
        self._client = openai.OpenAI(
            # Replay needs no key; the SDK insists on one, and this placeholder is never sent anywhere.
            api_key=settings.api_key or "replay-no-key",
            base_url=settings.base_url or "https://api.openai.com/v1",
            max_retries=retries,
            timeout=settings.timeout_s,
            http_client=httpx2.Client(transport=transport, timeout=settings.timeout_s),
        )

    def _transport_for(self, settings: LLMSettings) -> httpx2.BaseTransport:
        if settings.mode == "replay":
            if settings.recordings_dir is None:
                raise UsageError("replay needs a recordings folder: pass a bundled ticker")
            self.replay = ReplayTransport(settings.recordings_dir)
            return self.replay
        live = httpx2.HTTPTransport()
        if settings.mode == "record":
            if settings.recordings_dir is None:
                raise UsageError("record needs a folder to write to")
            secrets = (settings.api_key,) if settings.api_key else ()
            return RecordingTransport(live, settings.recordings_dir, secrets)
        return KeyingTransport(live)

    def close(self) -> None:
        self._client.close()

    def call(
        self, messages: list[dict[str, str]], schema: type[T], label: CallLabel
    ) -> CallResult[T]:
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=type_to_response_format_param(schema),
                temperature=self.settings.temperature,
                seed=self.settings.seed,
                extra_headers={CALL_HEADER: label.header()},
            )
            completion = raw.parse()
        except (ValueError, openai.APIResponseValidationError) as exc:
            raise ModelServiceError(
                f"the model service's answer during {label.describe()} is not a chat completion "
                "(the body is not the expected JSON): check that --base-url points at an "
                "OpenAI-compatible /v1 endpoint"
            ) from exc
        except openai.AuthenticationError as exc:
            raise UsageError(
                f"the model service rejected the API key (HTTP {exc.status_code}) during "
                f"{label.describe()}: set a valid OPENAI_API_KEY"
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelServiceError(
                f"the model service answered HTTP {exc.status_code} during {label.describe()} "
                f"after {TRANSPORT_RETRIES} retries: check the server, model name and base URL"
            ) from exc
        except openai.APITimeoutError as exc:
            raise ModelServiceError(
                f"the model service timed out ({self.settings.timeout_s:.0f}s) during "
                f"{label.describe()}: retry later or raise the timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelServiceError(
                f"could not reach the model service at {self._client.base_url} during "
                f"{label.describe()}: check --base-url / OPENAI_BASE_URL and that it is running"
            ) from exc
        key = raw.headers.get(KEY_HEADER, "")
        if not completion.choices:
            raise ModelServiceError(f"the model returned no choices during {label.describe()}")
        choice = completion.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise ModelServiceError(
                f"the model refused during {label.describe()}: {message.refusal}"
            )
        if choice.finish_reason == "length":
            raise ModelServiceError(
                f"the model's answer was cut off at its token limit during {label.describe()}: "
                "use a model with a larger output limit"
            )
        content = message.content or ""
        try:
            parsed = schema.model_validate_json(content)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top)"
            raise ModelServiceError(
                f"the model's answer during {label.describe()} does not fit the expected schema "
                f"({where}: {first['msg']}): try a model that supports structured output"
            ) from exc
        usage = Usage()
        if completion.usage is not None:
            usage = Usage(
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
            )
        return CallResult(parsed=parsed, raw_content=content, usage=usage, request_key=key)


def assistant_echo(result: CallResult[T]) -> dict[str, str]:
    """The model's previous answer as an assistant message, for the repair conversation."""
    return {"role": "assistant", "content": result.raw_content}

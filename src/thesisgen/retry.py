"""The transport retry policy shared by model calls and SEC EDGAR fetches (tenacity only).

It lives apart from :mod:`thesisgen.llm` so that the EDGAR client can retry with the same backoff,
bounds and Retry-After handling without importing the openai SDK.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from .config import DEFAULTS, Settings


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retries: exponential backoff from ``initial_wait_s`` (doubling, with up to 25%
    jitter, capped at ``max_wait_s``), at most ``attempts`` tries within ``total_s`` seconds.

    ``sleep`` is how a wait is spent; tests pass one that records the waits and returns at once.
    By default the wait ends early when the run is cancelled (Ctrl-C).
    """

    attempts: int = DEFAULTS.retry_attempts
    initial_wait_s: float = DEFAULTS.retry_initial_wait
    max_wait_s: float = DEFAULTS.retry_max_wait
    total_s: float = DEFAULTS.retry_total
    sleep: Callable[[float], object] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        """The policy the retry_* settings describe."""
        return cls(
            attempts=settings.retry_attempts,
            initial_wait_s=settings.retry_initial_wait,
            max_wait_s=settings.retry_max_wait,
            total_s=settings.retry_total,
        )

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); never zero when
        ``initial_wait_s`` is not, so no retry hammers a failing server."""
        base = min(self.max_wait_s, self.initial_wait_s * float(2 ** max(0, attempt - 1)))
        wait = min(self.max_wait_s, base * (1 + 0.25 * random.random()))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_wait_s))
        return wait

    def retrying(
        self, retry_on: Callable[[BaseException], bool], cancelled: threading.Event
    ) -> Retrying:
        """The tenacity loop of one request: errors that ``retry_on`` accepts are retried."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.backoff(state.attempt_number, retry_after(exc))

        def sleep(seconds: float) -> None:
            if self.sleep is not None:
                self.sleep(seconds)
            else:
                cancelled.wait(seconds)

        return Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.total_s),
            wait=wait,
            retry=retry_if_exception(retry_on),
            sleep=sleep,
            reraise=True,
        )


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After-Ms or Retry-After, in seconds), read from
    the ``response`` an error carries (the openai SDK's errors and ours both do); None if none."""
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

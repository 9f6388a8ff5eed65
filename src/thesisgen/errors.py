"""Errors a user can cause or meet, each carrying the exit code and a one-line message with the fix.

The CLI prints ``str(error)`` and exits with ``error.exit_code``; nothing else in the package decides
exit codes, so the contract in README (0 done, 1 gate, 2 bad input, 3 model service) lives here.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from .models import Usage


class ThesisgenError(Exception):
    """Base class: a failure we can explain in one line."""

    exit_code = 2

    def amended(self, note: str) -> Self:
        """This error with ``note`` added to its message, keeping what else it carries."""
        amended = copy.copy(self)
        amended.args = (f"{self}{note}",)
        return amended


class UsageError(ThesisgenError):
    """Bad input or usage: an argument, a file or a bundle the user can fix."""

    exit_code = 2


class InputFileError(UsageError):
    """A file named by the user is missing, unreadable or malformed."""


class OutputExistsError(UsageError):
    """An output would overwrite a file the user did not ask to replace."""


class RecordingError(UsageError):
    """Replay could not serve a request: the recording is missing or no longer matches the prompt."""


class ModelServiceError(ThesisgenError):
    """The model service failed (transport, HTTP status, unusable body) after retries.

    A failed call still cost something: ``attempts`` is how many HTTP requests it made (retries,
    re-asks and format probes included) and ``usage`` the tokens of the answers it received.
    """

    exit_code = 3

    def __init__(self, message: str, attempts: int = 0, usage: Usage | None = None) -> None:
        from .models import Usage  # pydantic models only when a model call has failed

        super().__init__(message)
        self.attempts = attempts
        self.usage = usage if usage is not None else Usage()


class AnswerShapeError(ModelServiceError):
    """The model answered, but not with JSON that fits the schema, also after re-asks. A caller
    with a fallback for that call (a restatement) may go on; anyone else stops the run."""


class GateFailedError(ThesisgenError):
    """The memo did not pass the validator after the allowed repairs."""

    exit_code = 1


class BudgetExceededError(UsageError):
    """The run would spend, or has spent, more model calls or prompt tokens than allowed."""


class CancelledError(ThesisgenError):
    """The run was interrupted (Ctrl-C): in-flight calls were abandoned."""

    exit_code = 130


class EdgarServiceError(ThesisgenError):
    """SEC EDGAR failed (throttling, server errors, no connection) after retries, or answered
    with something unusable: the service's fault or the moment's, like a model service failure."""

    exit_code = 3

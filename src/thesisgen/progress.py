"""Progress per stage and per item (source or section): a live rich display on a terminal, plain
lines anywhere else (CI logs, pipes), so a log never fills with redraw sequences.

A stage reports typed :class:`Event` values (an item's key, a :class:`Status` and its counts); the
text shown, and whether the item is finished and how, are derived from them, so no caller or test
matches on the wording. rich is imported only for a terminal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID


class Status(StrEnum):
    """Where one item (a source, a section, the model check) stands."""

    EXTRACTING = "extracting"  # a source's only facts call
    CHUNK = "chunk"  # a source's facts call ``count`` of ``of``
    PROPOSED = "proposed"  # a source's calls are done: ``count`` facts proposed
    DRAFTING = "drafting"  # a section's first call
    REPAIR = "repair"  # a section's repair ``count``
    PASSED = "passed"  # a section passed the gate after ``count`` repairs
    FAILED = "failed"  # a section failed the gate after ``count`` attempts
    CHECKING = "checking"  # ``count`` of ``of`` sentences checked by the model
    CHECKED = "checked"  # the model check is done; ``note`` sums it up


_FINISHED = {Status.PROPOSED: True, Status.PASSED: True, Status.CHECKED: True, Status.FAILED: False}
# Statuses a plain log shows although the item is not finished: a repair is news.
_LOGGED = {Status.REPAIR}


@dataclass(frozen=True)
class Event:
    """One item's news: ``key`` names the item, as announced by :meth:`Progress.stage`."""

    key: str
    status: Status
    count: int = 0
    of: int = 0
    note: str = ""

    @property
    def outcome(self) -> bool | None:
        """True: finished well; False: finished badly; None: still working."""
        return _FINISHED.get(self.status)

    @property
    def text(self) -> str:
        match self.status:
            case Status.CHUNK:
                return f"chunk {self.count}/{self.of}"
            case Status.PROPOSED:
                return f"{self.count} facts proposed"
            case Status.REPAIR:
                return f"repair {self.count}"
            case Status.PASSED:
                return "passed" + (f", repaired {self.count}x" if self.count else "")
            case Status.FAILED:
                return f"FAILED the gate after {self.count} attempt(s)"
            case Status.CHECKING:
                return f"{self.count}/{self.of} checked"
            case Status.CHECKED:
                return self.note or "checked"
            case _:
                return str(self.status)


OnEvent = Callable[[Event], None]


def no_event(event: Event) -> None:
    """The listener of a stage run without a display."""


class Progress(Protocol):
    def note(self, line: str) -> None: ...
    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None: ...
    def event(self, event: Event) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """One line per finished item or repair, safe for logs. Thread-safe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _print(self, line: str) -> None:
        # One write per line, newline included: print() writes the two apart, and an error line
        # that the main thread writes in between would be glued to this one.
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def note(self, line: str) -> None:
        self._print(line)

    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None:
        self._print(title)

    def event(self, event: Event) -> None:
        if event.outcome is not None or event.status in _LOGGED:
            self._print(f"  {event.key}: {event.text}")

    def close(self) -> None:
        pass


class LiveProgress:
    """A spinner and status per item, redrawn in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichBar
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self._console = Console(file=stream, stderr=True)
        self._bar = RichBar(
            SpinnerColumn(finished_text="•"),
            TextColumn("{task.description:<28}"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._bar.start()

    def note(self, line: str) -> None:
        self._console.print(line, highlight=False, markup=False)

    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None:
        self._console.print(title, highlight=False, markup=False)
        for key, label in items:
            self._tasks[key] = self._bar.add_task(label, total=1, status="waiting")

    def event(self, event: Event) -> None:
        task = self._tasks.get(event.key)
        if task is None:
            return
        outcome = event.outcome
        shown = event.text if outcome is None else ("[green]" if outcome else "[red]") + event.text
        self._bar.update(task, status=shown, completed=0 if outcome is None else 1)

    def close(self) -> None:
        self._bar.stop()


def make_progress(stream: TextIO) -> Progress:
    interactive = stream.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")
    return LiveProgress(stream) if interactive else PlainProgress(stream)

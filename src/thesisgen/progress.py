"""Progress per stage and per item (source or section): a live rich display on a terminal, plain
lines anywhere else (CI logs, pipes), so a log never fills with redraw sequences.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import Progress as RichBar
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class Progress(Protocol):
    def note(self, line: str) -> None: ...
    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None: ...
    def event(self, key: str, status: str, outcome: bool | None) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """One line per event, safe for logs. Thread-safe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _print(self, line: str) -> None:
        with self._lock:
            print(line, file=self._stream, flush=True)

    def note(self, line: str) -> None:
        self._print(line)

    def stage(self, title: str, items: Sequence[tuple[str, str]]) -> None:
        self._print(title)

    def event(self, key: str, status: str, outcome: bool | None) -> None:
        if outcome is not None or "repair" in status or "re-ask" in status:
            self._print(f"  {key}: {status}")

    def close(self) -> None:
        pass


class LiveProgress:
    """A spinner and status per item, redrawn in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
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

    def event(self, key: str, status: str, outcome: bool | None) -> None:
        task = self._tasks.get(key)
        if task is None:
            return
        shown = status if outcome is None else ("[green]" if outcome else "[red]") + status
        self._bar.update(task, status=shown, completed=0 if outcome is None else 1)

    def close(self) -> None:
        self._bar.stop()


def make_progress(stream: TextIO) -> Progress:
    interactive = stream.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")
    return LiveProgress(stream) if interactive else PlainProgress(stream)

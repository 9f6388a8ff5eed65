"""Progress: plain lines for logs, a live display on a terminal."""

from __future__ import annotations

import io

import pytest

from thesisgen.progress import LiveProgress, PlainProgress, make_progress


def test_plain_lines_report_outcomes_and_repairs() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.stage(
        "Drafting 2 sections", [("bottom_line", "draft bottom_line"), ("market", "draft market")]
    )
    progress.event("bottom_line", "drafting", None)
    progress.event("market", "repair 1", None)
    progress.event("market", "passed, repaired 1x", True)
    progress.close()
    assert stream.getvalue().splitlines() == [
        "Drafting 2 sections",
        "  market: repair 1",
        "  market: passed, repaired 1x",
    ]


def test_live_display_shows_each_item_and_its_status() -> None:
    stream = io.StringIO()
    progress = LiveProgress(stream)
    progress.stage("Drafting 1 section", [("bottom_line", "draft bottom_line")])
    progress.event("bottom_line", "passed", True)
    progress.close()
    text = stream.getvalue()
    assert "draft bottom_line" in text and "passed" in text


def test_terminal_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    live = make_progress(Tty())
    assert isinstance(live, LiveProgress)
    live.close()
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    monkeypatch.setenv("CI", "true")
    assert isinstance(make_progress(Tty()), PlainProgress)

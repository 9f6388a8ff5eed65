"""Progress: plain lines for logs, a live display on a terminal."""

from __future__ import annotations

import io

import pytest

from thesisgen.progress import Event, LiveProgress, PlainProgress, Status, make_progress


def test_plain_lines_report_outcomes_and_repairs() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.stage(
        "Drafting 2 sections", [("bottom_line", "draft bottom_line"), ("market", "draft market")]
    )
    progress.event(Event("bottom_line", Status.DRAFTING))
    progress.event(Event("market", Status.REPAIR, 1))
    progress.event(Event("market", Status.PASSED, 1))
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
    progress.event(Event("bottom_line", Status.PASSED))
    progress.close()
    text = stream.getvalue()
    assert "draft bottom_line" in text and "passed" in text


@pytest.mark.parametrize(
    ("event", "text", "outcome"),
    [
        (Event("S1", Status.EXTRACTING), "extracting", None),
        (Event("S1", Status.CHUNK, 2, 5), "chunk 2/5", None),
        (Event("S1", Status.PROPOSED, 12), "12 facts proposed", True),
        (Event("market", Status.DRAFTING), "drafting", None),
        (Event("market", Status.REPAIR, 2), "repair 2", None),
        (Event("market", Status.PASSED), "passed", True),
        (Event("market", Status.PASSED, 2), "passed, repaired 2x", True),
        (Event("market", Status.FAILED, 3), "FAILED the gate after 3 attempt(s)", False),
        (Event("verify", Status.CHECKING, 4, 40), "4/40 checked", None),
        (Event("verify", Status.CHECKED, note="40 checked, 1 doubt"), "40 checked, 1 doubt", True),
    ],
)
def test_each_status_has_its_text_and_outcome(
    event: Event, text: str, outcome: bool | None
) -> None:
    assert (event.text, event.outcome) == (text, outcome)


def test_every_status_is_covered() -> None:
    """A new status needs a text and an outcome: the table above must name it."""
    shown = {Event("k", s, 1, 2, "n").text for s in Status}
    assert len(shown) == len(Status)


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

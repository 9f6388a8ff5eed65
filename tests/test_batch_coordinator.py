"""The coordinator of `thesisgen batch`: a round goes out only when every memo thread waits for
an answer (llm.Activity, counted through map_concurrently's fan-outs), never earlier, and a memo
that has ended asks nothing more. Plain threads, no server: the counting itself."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from thesisgen.batch import Coordinator, Suspended
from thesisgen.llm import ACTIVITY, Activity, map_concurrently
from thesisgen.models import BatchAnswer

TIMEOUT = 10


def answer(ticker: str, key: str, occurrence: int = 0) -> BatchAnswer:
    return BatchAnswer(
        ticker=ticker, key=key, occurrence=occurrence, custom_id=key, round=1,
        status_code=200, body={"key": key},
    )  # fmt: skip


def memo(
    coordinator: Coordinator, body: Callable[[], object]
) -> tuple[threading.Thread, list[object]]:
    """A memo's main thread as batch.py starts one: counted before it starts, uncounted at its end."""
    outcome: list[object] = []

    def run() -> None:
        ACTIVITY.set(coordinator.activity)
        try:
            outcome.append(body())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            coordinator.activity.add(-1)

    coordinator.activity.add(1)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def quiet(coordinator: Coordinator) -> list[tuple[str, str, int]]:
    waiter = threading.Thread(target=coordinator.quiet, daemon=True)
    waiter.start()
    waiter.join(TIMEOUT)
    assert not waiter.is_alive(), "the memos never all waited"
    return [h.ref for h in coordinator.waiting()]


def test_a_round_waits_for_every_fanned_out_call() -> None:
    coordinator = Coordinator([])
    started = threading.Event()
    gate = threading.Event()

    def section(name: str) -> object:
        if name == "slow":
            started.set()
            gate.wait(TIMEOUT)  # still working: no round may go out yet
        return coordinator.ask("AREC", name, f"AREC/draft/{name}/1", b"{}").body

    thread, outcome = memo(coordinator, lambda: map_concurrently(section, ["a", "b", "slow"], 4))
    started.wait(TIMEOUT)
    with coordinator.activity.condition:
        while len(coordinator.held) < 2:  # a and b wait for their answers...
            coordinator.activity.condition.wait(TIMEOUT)
        assert coordinator.activity.running == 1  # ...and slow still works: no round yet
    gate.set()
    assert sorted(quiet(coordinator)) == [("AREC", "a", 0), ("AREC", "b", 0), ("AREC", "slow", 0)]
    coordinator.release([answer("AREC", k) for k in ("a", "b", "slow")])
    thread.join(TIMEOUT)
    assert outcome == [[{"key": "a"}, {"key": "b"}, {"key": "slow"}]]
    assert coordinator.activity.running == 0


def test_answers_kept_from_an_earlier_round_are_served_at_once() -> None:
    coordinator = Coordinator([answer("AREC", "a"), answer("AREC", "a", 1)])
    thread, outcome = memo(
        coordinator,
        lambda: [coordinator.ask("AREC", "a", "x", b"{}").occurrence for _ in range(3)],
    )
    assert quiet(coordinator) == [("AREC", "a", 2)]  # the third time is new
    coordinator.release([answer("AREC", "a", 2)])
    thread.join(TIMEOUT)
    assert outcome == [[0, 1, 2]]


class Counted(Activity):
    """An Activity that keeps every value its count takes."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        super().__init__()

    @property  # type: ignore[override]
    def running(self) -> int:
        return self._running

    @running.setter
    def running(self, value: int) -> None:
        self._running = value
        self.seen.append(value)


def test_the_first_failure_wakes_the_caller_before_a_round_goes_out() -> None:
    coordinator = Coordinator([])
    counted = coordinator.activity = Counted()
    counts: list[int] = []

    def section(name: str) -> object:
        if name == "fails":
            for _ in range(1000):  # fail once the other section waits for its answer
                if coordinator.waiting():
                    break
                threading.Event().wait(0.01)
            raise ValueError("this section failed for good")
        return coordinator.ask("PKX", name, f"PKX/draft/{name}/1", b"{}")

    def body() -> object:
        try:
            return map_concurrently(section, ["held", "fails"], 4)
        except ValueError:
            counts.append(coordinator.activity.running)  # the caller runs: no round yet
            coordinator.drop("PKX")  # as batch.py does when a memo ends
            raise

    thread, outcome = memo(coordinator, body)
    thread.join(TIMEOUT)
    assert isinstance(outcome[0], ValueError) and counts and counts[0] >= 1
    assert quiet(coordinator) == []  # the held request was dropped, never submitted
    # From the memo's start until its last thread ended the count never touched 0: no round
    # could go out while the failure was on its way to the caller.
    assert counted.seen[0] == 0 and counted.seen[-1] == 0 and 0 not in counted.seen[1:-1]
    with pytest.raises(Suspended):
        coordinator.ask("PKX", "later", "PKX/draft/later/1", b"{}")


def test_stopping_releases_every_waiting_thread_with_suspended() -> None:
    coordinator = Coordinator([])
    thread, outcome = memo(
        coordinator, lambda: map_concurrently(
            lambda k: coordinator.ask("AAPL", k, k, b"{}"), ["x", "y"], 4
        ),
    )  # fmt: skip
    assert len(quiet(coordinator)) == 2
    coordinator.stop()
    thread.join(TIMEOUT)
    assert isinstance(outcome[0], Suspended)


def test_a_stage_wider_than_the_fan_out_goes_out_in_turns_and_never_hangs() -> None:
    coordinator = Coordinator([])
    keys = [f"s{n}" for n in range(5)]
    thread, outcome = memo(
        coordinator,
        lambda: map_concurrently(
            lambda k: coordinator.ask("AREC", k, f"AREC/draft/{k}/1", b"{}").body, keys, 2
        ),
    )  # fmt: skip
    rounds = []
    for _ in range(5):
        held = quiet(coordinator)
        if not held:
            break
        rounds.append(len(held))
        coordinator.release([answer(t, k, n) for t, k, n in held])
    thread.join(TIMEOUT)
    assert rounds == [2, 2, 1]
    assert outcome == [[{"key": k} for k in keys]]

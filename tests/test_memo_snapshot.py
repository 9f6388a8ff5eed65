"""memo.md against a golden copy: any change to what the memo says is seen in review.

The snapshot is regenerated only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/test_memo_snapshot.py`,
then review the diff of tests/snapshots/memo-AREC.md before committing it. A missing snapshot fails.
It renders the static AREC pair (tests/data/static/) at a pinned date, so it changes when the
renderer, the static pair or the memo's wording rules change, never with the calendar.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

import pytest

from conftest import StaticPair
from thesisgen import run

SNAPSHOT = Path(__file__).parent / "snapshots" / "memo-AREC.md"


def test_memo_markdown_matches_the_golden_copy(static_pair: StaticPair, tmp_path: Path) -> None:
    run.render(static_pair.draft, static_pair.facts, tmp_path, False, None, dt.date(2026, 11, 27))
    text = (tmp_path / "memo.md").read_text(encoding="utf-8")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
        return
    if not SNAPSHOT.is_file():
        pytest.fail(f"no snapshot {SNAPSHOT}: create it with UPDATE_SNAPSHOTS=1 and review it")
    golden = SNAPSHOT.read_text(encoding="utf-8")
    if text != golden:
        diff = "".join(
            difflib.unified_diff(
                golden.splitlines(keepends=True), text.splitlines(keepends=True),
                "snapshot", "rendered", n=1,
            )
        )  # fmt: skip
        pytest.fail(
            f"memo.md changed; review the diff, then UPDATE_SNAPSHOTS=1 pytest {__file__}\n{diff}"
        )

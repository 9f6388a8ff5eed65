"""memo.md against a golden copy: any change to what the memo says is seen in review.

The snapshot is regenerated only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/test_memo_snapshot.py`,
then review the diff of tests/snapshots/memo-AREC.md before committing it. A missing snapshot fails.
It renders the static AREC pair (tests/data/static/) at a pinned date, so it changes when the
renderer, the static pair or the memo's wording rules change, never with the calendar.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import StaticPair, match_snapshot
from thesisgen import run

SNAPSHOT = Path(__file__).parent / "snapshots" / "memo-AREC.md"


def test_memo_markdown_matches_the_golden_copy(static_pair: StaticPair, tmp_path: Path) -> None:
    run.render(static_pair.draft, static_pair.facts, tmp_path, False, None, dt.date(2026, 11, 27))
    text = (tmp_path / "memo.md").read_text(encoding="utf-8")
    match_snapshot(SNAPSHOT, text, "memo.md", __file__)

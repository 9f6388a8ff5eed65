"""tests/data/static/ is today's AREC draft and ledger, and its sources are the bundle's own.

The validate and render tests start from that pair instead of a replayed draft; these checks keep
what they prove true of the recorded run too. Regenerate with `python scripts/make_static_pair.py`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import AREC, STATIC, Completed

REGENERATE = "tests/data/static/ is stale: run python scripts/make_static_pair.py"


@pytest.mark.recordings
def test_replayed_draft_and_facts_are_the_static_pair(
    arec_offline: tuple[Path, Completed],
) -> None:
    out, result = arec_offline
    assert result.code == 0, result.stderr
    for name in ("draft.json", "facts.json"):
        replayed = json.loads((out / name).read_text())
        assert replayed == json.loads((STATIC / name).read_text()), f"{name}: {REGENERATE}"


def test_static_sources_are_the_bundle_sources() -> None:
    facts = json.loads((STATIC / "facts.json").read_text())
    assert [s["path"] for s in facts["sources"]] == ["analysis.md", "summary.md"]
    for source in facts["sources"]:
        copy = (STATIC / source["path"]).read_bytes()
        assert copy == (AREC / "sources" / source["path"]).read_bytes(), REGENERATE
        assert hashlib.sha256(copy).hexdigest() == source["sha256"], source["id"]

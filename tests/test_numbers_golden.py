"""Every figure the extractor finds in the bundled sources and the static memo pair, against a
golden copy: a change to a notation's regex or reader that moves any figure is seen in review.

The copy is regenerated only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/test_numbers_golden.py`,
then review the diff of tests/snapshots/mentions.tsv before committing it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from thesisgen.numbers import extract

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "mentions.tsv"
STATIC = ROOT / "tests" / "data" / "static"


def _texts() -> list[tuple[str, str]]:
    """(where, text): each source file whole, each sentence of the static draft, each fact's
    statement and quote."""
    texts = [
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "fixtures").glob("*/sources/*"))
    ]
    draft = json.loads((STATIC / "draft.json").read_text(encoding="utf-8"))
    for section in draft["sections"]:
        for p, paragraph in enumerate(section["paragraphs"]):
            for s, sentence in enumerate(paragraph["sentences"]):
                texts.append((f"draft {section['key']} {p}.{s}", sentence["text"]))
    for fact in json.loads((STATIC / "facts.json").read_text(encoding="utf-8"))["facts"]:
        texts += [
            (f"{fact['id']} statement", fact["statement"]),
            (f"{fact['id']} quote", fact["quote"]),
        ]
    return texts


def _table() -> str:
    lines = ["where\tstart\tend\tkind\tvalue\tstep\tunit\tper\ttext"]
    for where, text in _texts():
        for m in extract(text):
            fields = [where, m.start, m.end, m.kind, m.value, m.step, m.unit, m.per, m.text]
            lines.append("\t".join(map(str, fields)))
    return "\n".join(lines) + "\n"


def test_figures_in_the_bundled_texts_match_the_golden_copy() -> None:
    table = _table()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(table, encoding="utf-8")
        return
    if not SNAPSHOT.is_file():
        pytest.fail(f"no snapshot {SNAPSHOT}: create it with UPDATE_SNAPSHOTS=1 and review it")
    golden = SNAPSHOT.read_text(encoding="utf-8")
    if table != golden:
        diff = "".join(
            difflib.unified_diff(
                golden.splitlines(keepends=True), table.splitlines(keepends=True),
                "snapshot", "extracted", n=0,
            )
        )  # fmt: skip
        pytest.fail(f"figures changed; review, then UPDATE_SNAPSHOTS=1 pytest {__file__}\n{diff}")

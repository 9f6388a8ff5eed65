"""Every figure the extractor finds in the bundled sources and the static memo pair, against a
golden copy: a change to a notation's regex or reader that moves any figure is seen in review.

The copy is regenerated only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/test_numbers_golden.py`,
then review the diff of tests/snapshots/mentions.tsv before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import match_snapshot
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
    match_snapshot(SNAPSHOT, table, "figures", __file__)

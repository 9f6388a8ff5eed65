"""The project's sentence segmenter: exact offsets that cover the text, on made-up text and on
the real 10-K (HTML through our own reader) and seed article when ../shared is there, and a
labelled table of hard cases (tests/data/sentence_cases.yaml), one test per case."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from thesisgen.sentences import Sentence, segment
from thesisgen.sources import read_source

SHARED = ROOT.parent / "shared"
AAPL = SHARED / "edgar" / "AAPL" / "aapl-20240928.htm"
SEED = SHARED / "seed" / "posco-reelement-article.txt"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "sentence_cases.yaml").read_text(encoding="utf-8")
)
KINDS = {
    "abbreviation", "decimal", "currency", "list", "heading", "html_table", "pdf_table",
    "pdf_wrap", "quote", "initialism", "other",
}  # fmt: skip


def assert_exact_cover(text: str, sentences: list[Sentence]) -> None:
    """In order, no overlap, no outer whitespace, and only whitespace between sentences."""
    position = 0
    for sentence in sentences:
        assert sentence.start >= position, "in order, no overlap"
        assert not text[position : sentence.start].strip(), "nothing but whitespace is skipped"
        assert sentence.text == text[sentence.start : sentence.end]
        assert sentence.text and sentence.text == sentence.text.strip()
        position = sentence.end
    assert not text[position:].strip()


def texts(sentences: list[Sentence]) -> list[str]:
    return [s.text for s in sentences]


def test_abbreviations_amounts_and_numbers_do_not_end_a_sentence() -> None:
    text = "Apple Inc. paid $3.85 per share in the U.S. last year. See Exhibit No. 5 for terms. It grew."
    assert texts(segment(text)) == [
        "Apple Inc. paid $3.85 per share in the U.S. last year.",
        "See Exhibit No. 5 for terms.",
        "It grew.",
    ]


def test_initialism_glued_to_a_word_stays_whole() -> None:
    text = "Exposure relates to non\u2013U.S. dollar sales. Next one."
    assert texts(segment(text)) == ["Exposure relates to non\u2013U.S. dollar sales.", "Next one."]


def test_single_newlines_end_paragraphs_but_not_wrapped_lines() -> None:
    text = (
        "China controls roughly 80% of the\nworld's processing. POSCO signed.\n"
        "| Total | $ | 57 |\n(1) Includes Hong Kong.\nThe growth was driven by headcount."
    )
    found = segment(text)
    assert texts(found) == [
        "China controls roughly 80% of the\nworld's processing.",
        "POSCO signed.",
        "| Total | $ | 57 |",
        "(1) Includes Hong Kong.",
        "The growth was driven by headcount.",
    ]
    assert [s.paragraph for s in found] == [0, 0, 1, 2, 3]


def test_blank_lines_number_paragraphs() -> None:
    found = segment("  One. Two.\n\n\n  Three.\n\nFour")
    assert [(s.text, s.paragraph) for s in found] == [
        ("One.", 0),
        ("Two.", 0),
        ("Three.", 1),
        ("Four", 2),
    ]


@given(
    st.text(alphabet=st.sampled_from(list("ab .!?\n\t|-(1)$U.S\u2013\u00e9\u65e5")), max_size=200)
)
def test_offsets_are_exact_and_cover_any_text(text: str) -> None:
    assert_exact_cover(text, segment(text))


TRICKY = [
    "a", "The", "iPhone", " ", "  ", "\u00a0", ".", "!", "?", ":", ",", "\n", "\n\n", "|", " | ",
    "- ", "(1)", "2)", "1.", "(ii)", "\u2022", "## ", "Item 7.", "Mr.", "approx.", "p.m.", "ET",
    ".)", "3.85", "U.S.", "Inc.", "and", "\u201d", "%",
]  # fmt: skip


@given(st.lists(st.sampled_from(TRICKY), max_size=60).map("".join))
def test_offsets_are_exact_on_text_made_of_the_cases_hard_parts(text: str) -> None:
    assert_exact_cover(text, segment(text))


@pytest.mark.parametrize("path", [AAPL, SEED], ids=["aapl-10k", "seed"])
def test_real_documents_are_covered_in_sentence_sized_pieces(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is not beside the checkout")
    text = read_source(path, "S1").text
    found = segment(text)
    assert_exact_cover(text, found)
    assert len(found) > (1000 if path == AAPL else 40)
    assert max(len(s.text) for s in found) < 2000, "no page-long 'sentence'"


# --- the labelled table --------------------------------------------------------------------------


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
    return pytest.param(case["text"], case["sentences"], id=case["id"], marks=marks)


@pytest.mark.parametrize(("text", "expected"), [_param(c) for c in CASES])
def test_labelled_case(text: str, expected: list[str]) -> None:
    found = segment(text)
    assert_exact_cover(text, found)
    assert texts(found) == expected


def test_the_table_is_big_enough_and_covers_every_kind() -> None:
    assert len({c["id"] for c in CASES}) == len(CASES), "ids are unique"
    assert all(set(c) <= {"id", "kind", "from", "text", "sentences", "xfail"} for c in CASES)
    kinds = Counter(c["kind"] for c in CASES)
    assert set(kinds) == KINDS and len(CASES) >= 60, kinds
    assert all(n >= 5 for n in kinds.values()), kinds
    assert sum("from" in c for c in CASES) >= 10
    assert sum("xfail" in c for c in CASES) * 20 <= len(CASES), "keep the known failures few"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_the_labels_are_sentences_of_the_text(case: dict[str, Any]) -> None:
    """Each label is a span of the text, in order, and together they cover it, as segment()'s
    sentences must: a typo in a label fails here, not as a segmenter bug."""
    text, position = case["text"], 0
    for sentence in case["sentences"]:
        start = text.find(sentence, position)
        assert start >= 0 and not text[position:start].strip(), f"{sentence!r} out of place"
        assert sentence and sentence == sentence.strip()
        position = start + len(sentence)
    assert not text[position:].strip()


@cache
def _shared_text(name: str) -> str:
    return read_source(SHARED / name, "S1").text


def test_the_copied_cases_still_occur_in_their_files() -> None:
    copied = [c for c in CASES if "from" in c]
    for name in {c["from"] for c in copied}:
        if not (SHARED / name).is_file():
            pytest.skip(f"{SHARED / name} is not beside the checkout")
    missing = [c["id"] for c in copied if c["text"] not in _shared_text(c["from"])]
    assert not missing

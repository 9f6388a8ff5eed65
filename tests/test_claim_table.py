"""What a figure means: the labelled claim table (tests/data/claim_cases.yaml), one test per case.

Each case is one sentence in a one-section memo, validated against its group's facts by the whole
gate (``validate_memo``), so the table judges what a memo's author would see: the report's
violations and comments. The structural tests keep the table honest: big enough, a third of it
faithful paraphrases that must pass, every category labelled both ways, cites that exist, and the
Apple quotes really in Apple's 10-K when ../shared is beside the checkout.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from conftest import ROOT
from thesisgen.models import (
    CommentKind,
    Fact,
    FactSet,
    Memo,
    Paragraph,
    Report,
    Section,
    Sentence,
    SourceInfo,
    ViolationKind,
)
from thesisgen.sentences import segment
from thesisgen.validate import GateOptions, validate_memo

TABLE = Path(__file__).parent / "data" / "claim_cases.yaml"
SHARED = ROOT.parent / "shared"
AAPL_10K = SHARED / "edgar" / "AAPL" / "aapl-20240928.htm"
SEED = SHARED / "seed"

DEFAULT_COMPANY = {
    "name": "American Resources Corporation",
    "ticker": "AREC",
    "aliases": ["ReElement Technologies", "ReElement"],
}
CATEGORIES = {
    "qualifier", "direction", "modality", "negation", "metric", "name", "holder", "unrelated",
    "rounding", "rating", "faithful",
}  # fmt: skip
ORIGINS = {"written", "aapl-10k"}
# The claim rules this table exists to judge; each must be expected somewhere.
CLAIM_KINDS = {
    "qualifier_mismatch", "direction_mismatch", "modality_mismatch", "negation_mismatch",
    "metric_mismatch", "holder_mismatch", "unknown_name", "unrelated_citation", "over_rounded",
    "unattributed_rating",
}  # fmt: skip

DATA: dict[str, Any] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
GROUPS: list[dict[str, Any]] = DATA["groups"]
CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (group, case) for group in GROUPS for case in group["cases"]
]
ALL = [case for _, case in CASES]
# Cases the deterministic gate is known to miss, each with why (`limit:` in the table); they run
# as strict expected failures, so one the gate learns to catch must lose its mark. They are left
# out of the counts the table must reach.
JUDGED = [(group, case) for group, case in CASES if "limit" not in case]


def _company(group: dict[str, Any]) -> dict[str, Any]:
    return group.get("company") or DEFAULT_COMPANY


def _fact(fid: str, value: str | dict[str, str]) -> Fact:
    if isinstance(value, str):
        return Fact(id=fid, statement=value, quote=value, source_id="S1")
    return Fact(id=fid, statement=value["statement"], quote=value["quote"], source_id="S1")


@cache
def _factset(name: str) -> FactSet:
    group = next(g for g in GROUPS if g["name"] == name)
    company = _company(group)
    title = (
        "Apple Inc. Form 10-K for the fiscal year ended September 28, 2024"
        if group["origin"] == "aapl-10k"
        else f"Claim table facts: {name}"
    )
    return FactSet(
        ticker=company["ticker"],
        company=company["name"],
        sources=[SourceInfo(id="S1", title=title)],
        facts=[_fact(fid, value) for fid, value in group["facts"].items()],
    )


def _report(group: dict[str, Any], case: dict[str, Any]) -> Report:
    company = _company(group)
    memo = Memo(
        ticker=company["ticker"],
        company=company["name"],
        title=f"{company['name']}: claim table",
        stance="not rated",
        sections=[
            Section(
                key="thesis",
                heading="Thesis",
                paragraphs=[
                    Paragraph(sentences=[Sentence(text=case["text"], cites=case["cites"])])
                ],
            )
        ],
    )
    options = GateOptions(aliases=tuple(company.get("aliases", ())))
    return validate_memo(memo, _factset(group["name"]), (), options)


@pytest.mark.parametrize(
    ("group", "case"),
    [
        pytest.param(
            group,
            case,
            marks=[pytest.mark.xfail(strict=True, reason=case["limit"])] if "limit" in case else [],
            id=case["id"],
        )
        for group, case in CASES
    ],
)
def test_case(group: dict[str, Any], case: dict[str, Any]) -> None:
    report = _report(group, case)
    violations = sorted({v.kind for v in report.violations})
    comments = sorted({c.kind for c in report.comments})
    found = [f"{v.kind} ({v.token}): {v.message}" for v in report.violations] + [
        f"comment {c.kind} ({c.token}): {c.message}" for c in report.comments
    ]
    expect: str = case["expect"]
    why = f"{case['text']!r} expects {expect} because {case['why']}; gate found {found}"
    if expect == "ok":
        assert not violations and not comments, why
    elif expect.startswith("comment:"):
        assert not violations, why
        assert expect.removeprefix("comment:") in comments, why
    else:
        assert expect in violations, why


# --- the table itself ------------------------------------------------------------------------------


def test_table_is_big_and_a_third_faithful() -> None:
    judged = [c for _, c in JUDGED]
    expects = Counter(c["expect"] for c in judged)
    origins = Counter(g["origin"] for g, _ in JUDGED)
    assert len(judged) >= 170, len(judged)
    assert len(ALL) - len(judged) <= 15, "more than 15 known limits"
    assert expects["ok"] * 3 >= len(judged), expects
    assert origins["aapl-10k"] >= 45, origins
    assert origins["written"] >= 100, origins


def test_ids_and_names_are_unique() -> None:
    ids = Counter(c["id"] for c in ALL)
    assert [i for i, n in ids.items() if n > 1] == []
    names = Counter(g["name"] for g in GROUPS)
    assert [n for n, k in names.items() if k > 1] == []


def test_every_category_is_labelled_both_ways() -> None:
    by_category: dict[str, Counter[bool]] = {}
    for case in ALL:
        assert case["category"] in CATEGORIES, case["id"]
        by_category.setdefault(case["category"], Counter())[case["expect"] == "ok"] += 1
    assert set(by_category) == CATEGORIES
    for category, outcomes in by_category.items():
        if category == "faithful":
            # faithful paraphrases are the cases that must pass, so they are all ok
            assert outcomes[False] == 0 and outcomes[True] >= 10, (category, outcomes)
        else:
            assert outcomes[True] >= 2 and outcomes[False] >= 2, (category, outcomes)


def test_expectations_are_known_kinds_and_cover_every_rule() -> None:
    violations = set(get_args(ViolationKind))
    comments = set(get_args(CommentKind))
    for case in ALL:
        expect = case["expect"]
        if expect.startswith("comment:"):
            assert expect.removeprefix("comment:") in comments, case["id"]
        else:
            assert expect == "ok" or expect in violations, case["id"]
        assert case["why"].strip(), case["id"]
    expected = {c["expect"] for c in ALL}
    assert expected >= CLAIM_KINDS, CLAIM_KINDS - expected
    assert "comment:qualifier_dropped" in expected


def test_groups_are_well_formed_and_cites_exist() -> None:
    for group in GROUPS:
        assert group["origin"] in ORIGINS, group["name"]
        company = _company(group)
        assert company["name"] and company["ticker"], group["name"]
        if group["origin"] == "aapl-10k":
            assert (company["name"], company["ticker"]) == ("Apple Inc.", "AAPL")
        for fid, value in group["facts"].items():
            assert re.fullmatch(r"F[1-9][0-9]*", fid), (group["name"], fid)
            if isinstance(value, dict):
                assert set(value) == {"statement", "quote"}, (group["name"], fid)
        for case in group["cases"]:
            assert case["cites"], case["id"]
            missing = [c for c in case["cites"] if c not in group["facts"]]
            assert not missing, (case["id"], missing)
        _factset(group["name"])  # the facts are valid contract models


def test_each_text_is_one_sentence_without_markers() -> None:
    for case in ALL:
        text = case["text"]
        assert text == text.strip() and text.endswith("."), case["id"]
        assert not re.search(r"\[\s*F\d", text), case["id"]
        assert [s.text for s in segment(text)] == [text], case["id"]


# --- where the text comes from ---------------------------------------------------------------------


def _normal(text: str) -> str:
    """Compare text as read: entities decoded, compatibility forms folded, whitespace ignored."""
    text = unicodedata.normalize("NFKC", html.unescape(text))
    return re.sub(r"\s+", "", text)


class _Text(HTMLParser):
    """The visible text of an inline-XBRL filing (the hidden XBRL header skipped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = (dict(attrs).get("style") or "").replace(" ", "").lower()
        if self._hidden or tag in {"script", "style", "ix:header"} or "display:none" in style:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@cache
def _filing_text() -> str:
    parser = _Text()
    parser.feed(AAPL_10K.read_text(encoding="utf-8"))
    return _normal(" ".join(parser.parts))


def test_apple_quotes_occur_in_the_10k() -> None:
    if not AAPL_10K.is_file():
        pytest.skip(f"{AAPL_10K} is not beside the checkout")
    text = _filing_text()
    quotes = [
        (group["name"], fid, value if isinstance(value, str) else value["quote"])
        for group in GROUPS
        if group["origin"] == "aapl-10k"
        for fid, value in group["facts"].items()
    ]
    assert len(quotes) >= 30
    assert [(g, f) for g, f, quote in quotes if _normal(quote) not in text] == []


def test_written_text_is_not_copied_from_the_seed() -> None:
    seeds = sorted(SEED.glob("*.txt")) if SEED.is_dir() else []
    if not seeds:
        pytest.skip(f"{SEED} is not beside the checkout")

    def shingles(text: str, n: int = 7) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9$%.]+", text.lower())
        return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}

    seed = set().union(*(shingles(p.read_text(encoding="utf-8")) for p in seeds))
    ours = [
        (group["name"], text)
        for group in GROUPS
        if group["origin"] == "written"
        for text in [
            *(v if isinstance(v, str) else v["statement"] for v in group["facts"].values()),
            *(c["text"] for c in group["cases"]),
        ]
    ]
    assert [(g, t) for g, t in ours if shingles(t) & seed] == []

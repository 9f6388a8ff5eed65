"""Which facts a section's prompt carries (prompts.select_facts): at most the limit, the section's
topics first (in turns, so no topic crowds out another), then the rest by relevance, ties by ledger
order, presented in ledger order. Pure functions, tested without a model."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from thesisgen import budget
from thesisgen.draft import draft_section
from thesisgen.llm import CallResult
from thesisgen.models import Conflict, Fact, FactSet, Source, Usage
from thesisgen.prompts import (
    TOPICS,
    OutlineSection,
    load_outline,
    relevance,
    section_messages,
    select_facts,
    topic_of,
    words,
)
from thesisgen.validate import Ledger


def _fact(index: int, statement: str, topic: str | None) -> Fact:
    return Fact(id=f"F{index}", statement=statement, quote=statement, source_id="S1", topic=topic)


def _ledger(facts: list[Fact], conflicts: list[Conflict] | None = None) -> FactSet:
    return FactSet(
        ticker="TEN",
        company="Ten-K Corp.",
        sources=[Source(id="S1", title="Annual report", text="x").info()],
        facts=facts,
        conflicts=conflicts or [],
    )


# A 10-K's worth of facts: 300, in the proportions an annual report gives them.
TEN_K_TOPICS = {
    "financials": 110,
    "valuation": 6,
    "company": 60,
    "market": 30,
    "risk": 50,
    "contracts": 20,
    "partnership": 4,
    "policy": 10,
    "esg": 5,
    "other": 5,
}
STATEMENTS = {
    "financials": "Segment revenue, operating cash flow and debt were reported for fiscal year {i}.",
    "valuation": "The company repurchased shares at an average price in period {i}.",
    "company": "The company operates facility number {i} and employs staff there.",
    "market": "Market share and competition in region {i} are described.",
    "risk": "Risk factor {i}: an adverse change could harm results.",
    "contracts": "Customer contract {i} runs for several years.",
    "partnership": "Joint venture {i} shares costs with a partner.",
    "policy": "Regulation {i} applies to the business.",
    "esg": "Emissions target {i} is set.",
    "other": "Item {i} is disclosed.",
}


@pytest.fixture(scope="module")
def ten_k() -> FactSet:
    topics = [t for t, n in TEN_K_TOPICS.items() for _ in range(n)]
    # Interleave deterministically so that topics are spread through the ledger.
    order = sorted(range(len(topics)), key=lambda i: (i * 7919) % len(topics))
    facts = [
        _fact(n + 1, STATEMENTS[topics[i]].format(i=n + 1), topics[i]) for n, i in enumerate(order)
    ]
    assert len(facts) == 300
    return _ledger(facts)


@pytest.mark.parametrize("limit", [1, 5, 40, 299])
def test_every_default_section_of_a_10k_gets_at_most_the_limit(ten_k: FactSet, limit: int) -> None:
    index = {f.id: i for i, f in enumerate(ten_k.facts)}
    for section in load_outline().sections:
        chosen = select_facts(ten_k, section, limit)
        assert len(chosen) == limit, section.key
        positions = [index[f.id] for f in chosen]
        assert positions == sorted(positions), "presented in ledger order"
        assert len({f.id for f in chosen}) == len(chosen)


def test_the_sections_topics_come_first(ten_k: FactSet) -> None:
    limit = 40
    held = Counter(topic_of(f) for f in ten_k.facts)
    for section in load_outline().sections:
        chosen = select_facts(ten_k, section, limit)
        preferred = set(section.preferred)
        in_topic = sum(1 for f in chosen if topic_of(f) in preferred)
        available = sum(n for t, n in held.items() if t in preferred)
        assert in_topic == min(limit, available), section.key
        for topic in preferred:  # taken in turns: every topic of the section is represented
            assert any(topic_of(f) == topic for f in chosen) or not held[topic], (
                section.key,
                topic,
            )


def test_financials_section_takes_valuation_facts_too(ten_k: FactSet) -> None:
    """110 financials facts cannot crowd out the 6 valuation facts: topics are taken in turns."""
    financials = next(s for s in load_outline().sections if s.key == "financials")
    chosen = Counter(topic_of(f) for f in select_facts(ten_k, financials, 40))
    assert chosen == {"financials": 34, "valuation": 6}


def test_bottom_line_draws_on_every_topic(ten_k: FactSet) -> None:
    bottom = load_outline().sections[0]
    assert bottom.stance and bottom.preferred == list(TOPICS)
    chosen = Counter(topic_of(f) for f in select_facts(ten_k, bottom, 40))
    assert chosen == dict.fromkeys(TEN_K_TOPICS, 4), "four turns over the ten topics"


def test_small_ledger_is_carried_whole_in_ledger_order() -> None:
    facts = [_fact(i, f"Fact {i}.", "other") for i in range(1, 6)]
    section = OutlineSection(key="x", heading="X", guidance="Anything.", topics=["market"])
    assert select_facts(_ledger(facts), section, 5) == facts
    assert select_facts(_ledger(facts), section, 500) == facts


SECTION = OutlineSection(
    key="risks",
    heading="Risks",
    guidance="Cover funding, customers and suppliers, and what would mitigate each risk.",
    topics=["risk"],
)


def test_relevance_is_shared_content_words() -> None:
    assert words("The Risks of funding, and a customer's Suppliers!") == {
        "risk",
        "funding",
        "customer",
        "supplier",
    }
    fact = _fact(1, "Two suppliers provide most parts; funding is uncertain.", "company")
    assert relevance(fact, SECTION) == 2  # supplier, funding


def test_outside_the_topics_relevance_decides_then_ledger_order() -> None:
    facts = [
        _fact(1, "Headcount rose.", "company"),
        _fact(2, "Customers and suppliers are concentrated.", "company"),  # 2 words shared
        _fact(3, "Revenue rose.", "financials"),
        _fact(4, "The main risk is weather.", "risk"),  # in topic, 1 word shared
        _fact(5, "Funding depends on one lender.", "financials"),  # 1 word shared
        _fact(6, "Funding may need equity.", "company"),  # 1 word shared, later in the ledger
    ]
    chosen = [f.id for f in select_facts(_ledger(facts), SECTION, 3)]
    assert chosen == ["F2", "F4", "F5"]  # risk first; then F2 (2 words); then F5 before F6


def test_in_topic_facts_win_even_with_no_shared_word() -> None:
    facts = [
        _fact(1, "Funding, customers, suppliers and mitigation are discussed.", "company"),
        _fact(2, "Weather.", "risk"),
    ]
    assert [f.id for f in select_facts(_ledger(facts), SECTION, 1)] == ["F2"]


def test_missing_and_unknown_topics_count_as_other() -> None:
    facts = [_fact(1, "A.", None), _fact(2, "B.", "made-up"), _fact(3, "C.", "market")]
    section = OutlineSection(key="x", heading="X", guidance="G.", topics=["other"])
    assert [topic_of(f) for f in facts] == ["other", "other", "market"]
    assert [f.id for f in select_facts(_ledger(facts), section, 2)] == ["F1", "F2"]


def test_conflicting_facts_travel_together_when_there_is_room() -> None:
    facts = [
        _fact(1, "China holds about 80% of refining.", "market"),
        _fact(2, "Sales rose.", "financials"),
        _fact(3, "Weather is a risk.", "risk"),
        _fact(4, "Another estimate puts China's refining share at 90%.", "other"),
    ]
    conflict = Conflict(facts=["F1", "F4"], figures=["80%", "90%"], note="F1 says 80%, F4 says 90%")
    ledger = _ledger(facts, [conflict])
    section = OutlineSection(key="m", heading="Market", guidance="Size.", topics=["market"])
    assert [f.id for f in select_facts(ledger, section, 2)] == ["F1", "F4"]
    prompt = section_messages(ledger, section, select_facts(ledger, section, 2))[1]["content"]
    assert "F1 says 80%, F4 says 90%" in prompt
    # No room for the partner: the fact comes alone and the prompt does not name the other.
    alone = select_facts(ledger, section, 1)
    assert [f.id for f in alone] == ["F1"]
    assert "F4 says" not in section_messages(ledger, section, alone)[1]["content"]


def test_selection_is_pure(ten_k: FactSet) -> None:
    before = ten_k.model_dump()
    section = load_outline().sections[2]
    first = select_facts(ten_k, section, 40)
    assert select_facts(ten_k, section, 40) == first
    assert ten_k.model_dump() == before


class _FakeLLM:
    """Answers every section with one sentence citing the first carried fact (the gate wants a
    sentence to share a word with what it cites, so it names the fact's first word), and
    remembers the schema and messages it was sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def call(self, messages: Any, schema: Any, label: Any, wire_schema: Any = None) -> Any:
        self.sent.append((messages, wire_schema))
        cites = wire_schema.model_json_schema()["$defs"]["DraftSentence"]["properties"]["cites"]
        first = cites["items"]["enum"][0]
        statement = re.search(rf'<fact id="{first}"[^>]*>(.*?)</fact>', messages[1]["content"])
        word = re.findall(r"\b[a-z]{4,}\b", statement.group(1)) if statement else []
        text = f"Noted: {word[0]}." if word else "Noted."
        answer: dict[str, Any] = {
            "paragraphs": [{"sentences": [{"text": text, "cites": [first], "calculations": []}]}]
        }
        if "stance" in wire_schema.model_fields:
            answer["stance"] = "not rated"
        return CallResult(schema.model_validate(answer), "{}", Usage(), "k", False, "json_schema")


def test_the_wire_schema_cites_exactly_the_carried_facts(ten_k: FactSet) -> None:
    llm = _FakeLLM()
    section = next(s for s in load_outline().sections if s.key == "financials")
    result = draft_section(llm, ten_k, section, Ledger.of(ten_k), max_facts=12)  # type: ignore[arg-type]
    chosen = [f.id for f in select_facts(ten_k, section, 12)]
    assert result.passed and result.fact_ids == chosen
    messages, wire = llm.sent[0]
    cites = wire.model_json_schema()["$defs"]["DraftSentence"]["properties"]["cites"]
    assert cites["items"]["enum"] == chosen
    prompt = messages[1]["content"]
    assert [line.split('"')[1] for line in prompt.splitlines() if line.startswith("<fact id=")] == (
        chosen
    )


def test_budget_counts_at_most_the_cap_per_section() -> None:
    capped = budget.estimate([], 300, 7, 0, 0, "m", {}, max_facts_per_section=40)
    whole = budget.estimate([], 300, 7, 0, 0, "m", {})
    small = budget.estimate([], 30, 7, 0, 0, "m", {}, max_facts_per_section=40)
    assert capped.prompt_tokens < whole.prompt_tokens
    assert capped.prompt_tokens == budget.estimate([], 40, 7, 0, 0, "m", {}).prompt_tokens
    assert small.prompt_tokens == budget.estimate([], 30, 7, 0, 0, "m", {}).prompt_tokens


def test_sections_on_financials_carry_the_latest_filed_results_first() -> None:
    """A long filing's prose shares more words with the guidance than "Apple Inc. reported revenue
    of ...": without the headline rule the bottom line's prompt lacked revenue and net income."""
    import datetime as dt
    import json

    from conftest import real_edgar
    from thesisgen.xbrl import financial_facts

    companyfacts = json.loads(real_edgar("CIK0000320193.companyfacts.json").read_text())
    filed, _ = financial_facts(
        companyfacts, dt.date(2025, 6, 30), cik=320193, company="Apple Inc.", source_id="S1",
        first_id=61,
    )  # fmt: skip
    prose = [
        _fact(i, f"The Company states its stance, catalyst, risk and figures {i} times.", "company")
        for i in range(1, 61)
    ]
    ledger = _ledger([*prose, *filed])
    outline = {s.key: s for s in load_outline(None).sections}
    headline = {f.id: (f.filed.measure, f.filed.period) for f in filed if f.filed and f.filed.start}
    for key in ("bottom_line", "financials", "catalysts", "change_view"):
        chosen = {
            headline[f.id]
            for f in select_facts(ledger, outline[key], 10)
            if f.id in headline and headline[f.id][1] == "FY2024"
        }
        assert chosen >= {
            ("revenue", "FY2024"),
            ("net_income", "FY2024"),
            ("eps_diluted", "FY2024"),
            ("operating_cash_flow", "FY2024"),
        }, key
    business = select_facts(ledger, outline["business"], 10)
    assert not any(f.kind == "xbrl" for f in business)  # its topics do not include financials

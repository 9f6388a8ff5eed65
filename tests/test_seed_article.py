"""The real seed article through extraction: every kept fact is grounded in it and its numbered
references are read as secondary sources. The answer is hand-written (tests/data/seed_answer.json)
and served over HTTP by our stub; test_local_model.py runs the same article through a real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from citing import sentences_of

from conftest import ROOT
from stub_openai import Reply, completion, serve
from thesisgen.evidence import Numbered
from thesisgen.facts import extract_facts
from thesisgen.grounding import normalise
from thesisgen.llm import LLM, LLMSettings
from thesisgen.sources import load_sources

SEED = ROOT.parent / "shared" / "seed" / "posco-reelement-article.txt"
ANSWER = json.loads((Path(__file__).parent / "data" / "seed_answer.json").read_text())

pytestmark = pytest.mark.enable_socket


@pytest.fixture
def seed() -> Path:
    if not SEED.is_file():
        pytest.skip(f"the seed article is not beside the checkout ({SEED})")
    return SEED


def _answer(numbered: Numbered) -> list[dict[str, Any]]:
    """The hand-written answer with each 'evidence_of' phrase turned into sentence numbers."""
    facts = []
    for fact in ANSWER["facts"]:
        fact = dict(fact)
        if "evidence_of" in fact:
            fact["evidence"] = sentences_of(numbered, fact.pop("evidence_of"))
        facts.append(fact)
    return facts


def test_seed_article_facts_are_grounded_and_attributed(seed: Path) -> None:
    sources = load_sources([seed])
    numbered = Numbered.of(sources[0])
    answer = json.dumps({"facts": _answer(numbered)})

    def script(label: str, body: dict[str, Any]) -> Reply:
        assert label.endswith("/1"), f"no restatement is needed: {label}"
        return Reply(200, completion(body["model"], answer, label, 100))

    with serve(script) as server:
        llm = LLM(LLMSettings(mode="live", model="m", base_url=server.base_url, api_key="k"))
        factset = extract_facts(llm, "American Resources Corporation", "AREC", sources).factset
        llm.close()
    text = normalise(seed.read_text())
    assert len(factset.facts) == 6 and all(f.kind == "model" for f in factset.facts)
    for fact in factset.facts:
        assert normalise(fact.quote) in text
        assert [sources[0].text[loc.start : loc.end] for loc in fact.locators] == [fact.quote]
    assert len(factset.lost) == 1
    assert "evidence sentence 9999 was not shown" in factset.lost[0].reason
    by_statement = {f.statement: f for f in factset.facts}
    china = by_statement[
        "The article says China controls about 80% of rare-earth processing and refining capacity."
    ]
    [misstated] = [d for d in factset.dropped if d.kept_as is not None]
    assert misstated.statement == "China controls 90% of rare-earth processing capacity."
    assert "'90%' is not in its quote" in misstated.reason and misstated.kept_as == china.id
    assert [(s.ref, s.title) for s in china.secondary] == [
        ("1", "Navigating the Rare Earth Supply Chain Crisis: Strategies for Resilience in 2025")
    ]
    contracts = by_statement["POSCO's magnet contracts are worth nearly $900 million."]
    assert [s.ref for s in contracts.secondary] == ["7"]
    motors = by_statement["The contracts cover magnets for 3.85 million EV motors."]
    assert motors.quote == contracts.quote, "two facts on one sentence are both kept"
    growth = by_statement[
        "The article forecasts 9.5% annual growth for the U.S. rare earth market from 2025 to 2032."
    ]
    assert growth.secondary[0].title == "U.S. Rare Earth Elements Market Share & Trends"

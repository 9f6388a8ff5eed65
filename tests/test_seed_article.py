"""The real seed article through extraction: every kept fact is grounded in it and its numbered
references are read as secondary sources. The answer is hand-written (tests/data/seed_answer.json)
and served over HTTP by our stub; test_local_model.py runs the same article through a real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from stub_openai import Reply, completion, serve
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


def test_seed_article_facts_are_grounded_and_attributed(seed: Path) -> None:
    def script(label: str, body: dict[str, Any]) -> Reply:
        return Reply(
            200, completion(body["model"], json.dumps({"facts": ANSWER["facts"]}), label, 100)
        )

    sources = load_sources([seed])
    with serve(script) as server:
        llm = LLM(LLMSettings(mode="live", model="m", base_url=server.base_url, api_key="k"))
        factset = extract_facts(llm, "American Resources Corporation", "AREC", sources).factset
        llm.close()
    text = normalise(seed.read_text())
    assert len(factset.facts) == 6
    assert all(normalise(f.quote) in text for f in factset.facts)
    assert [d.reason for d in factset.dropped] == ["quote does not occur in S1"]
    by_statement = {f.statement: f for f in factset.facts}
    china = by_statement[
        "The article says China controls about 80% of rare-earth processing and refining capacity."
    ]
    assert [(s.ref, s.title) for s in china.secondary] == [
        ("1", "Navigating the Rare Earth Supply Chain Crisis: Strategies for Resilience in 2025")
    ]
    contracts = by_statement["POSCO's magnet contracts are worth nearly $900 million."]
    assert [s.ref for s in contracts.secondary] == ["7"]
    growth = by_statement[
        "The article forecasts 9.5% annual growth for the U.S. rare earth market from 2025 to 2032."
    ]
    assert growth.secondary[0].title == "U.S. Rare Earth Elements Market Share & Trends"

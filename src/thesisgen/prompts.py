"""Turn facts and the outline into chat messages, from the Jinja2 files in ``prompts/``.

``StrictUndefined`` makes a missing variable an error instead of an empty string. Source text and
facts enter only as variable values, which Jinja2 never renders as templates, so a "{{" in a source
stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import jinja2
import yaml
from pydantic import ValidationError

from .errors import UsageError
from .models import Contract, Fact, FactSet, Source, Violation
from .resources import data_dir, tree_sha256

Topic = Literal["market", "company", "partnership", "contracts", "policy", "esg", "risk", "other"]
TOPICS: tuple[str, ...] = get_args(Topic)

Messages = list[dict[str, str]]


class OutlineSection(Contract):
    key: str
    heading: str
    guidance: str
    stance: bool = False


class Outline(Contract):
    sections: list[OutlineSection]


def load_outline(path: Path | None = None) -> Outline:
    path = path or data_dir("templates") / "outline.yaml"
    try:
        return Outline.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise UsageError(f"outline {path} is unusable ({exc}): fix the YAML") from exc


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def _render(name: str, **values: Any) -> str:
    template = _environment(data_dir("prompts")).get_template(name)
    return template.render(**values).strip()


def templates_sha256() -> str:
    return tree_sha256(data_dir("prompts"), "*.j2")


def _system(company: str, ticker: str) -> dict[str, str]:
    return {"role": "system", "content": _render("system.j2", company=company, ticker=ticker)}


def facts_messages(
    company: str,
    ticker: str,
    source: Source,
    text: str | None = None,
    part: int = 1,
    parts: int = 1,
) -> Messages:
    """Messages asking for the facts of ``source`` (or of one part of it, when it is chunked)."""
    user = _render(
        "facts.j2",
        company=company,
        ticker=ticker,
        source=source,
        text=source.text if text is None else text,
        part=part,
        parts=parts,
        topics=TOPICS,
    )
    return [_system(company, ticker), {"role": "user", "content": user}]


def _fact_view(fact: Fact, factset: FactSet) -> dict[str, str | None]:
    source = factset.source(fact.source_id)
    label = fact.source_id if source is None else f"{source.id} {source.title}"
    if fact.source_id == "analyst":
        label = "analyst-supplied"
    return {"id": fact.id, "topic": fact.topic, "statement": fact.statement, "source": label}


def section_messages(factset: FactSet, section: OutlineSection) -> Messages:
    user = _render(
        "section.j2",
        company=factset.company,
        ticker=factset.ticker,
        section=section,
        asks_stance=section.stance,
        min_paragraphs=1,
        max_paragraphs=3,
        facts=[_fact_view(f, factset) for f in factset.facts],
        conflicts=[c.note for c in factset.conflicts],
    )
    return [_system(factset.company, factset.ticker), {"role": "user", "content": user}]


def repair_message(section: OutlineSection, violations: Sequence[Violation]) -> dict[str, str]:
    return {
        "role": "user",
        "content": _render("repair.j2", heading=section.heading, violations=violations),
    }

"""Turn facts and the outline into chat messages, from the Jinja2 files in ``prompts/``.

``StrictUndefined`` makes a missing variable an error instead of an empty string. Source text and
facts enter only as variable values, which Jinja2 never renders as templates, so a "{{" in a source
stays text. Everything taken from a source or a ledger (text, titles, statements, labels) sits
inside ``<source>`` or ``<fact>`` tags and passes through the ``data`` or ``attr`` filter, which
escape what could close or open a tag or a chat turn, so the data cannot end early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import jinja2
import yaml
from pydantic import ValidationError

from .errors import UsageError
from .injection import remove_invisible
from .injection import score as injection_score
from .models import Contract, Fact, FactSet, Source, SourceInfo, Violation
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


# "<" (or a full-width or small look-alike) opening one of our data tags, a chat-role tag or a
# chat-template token (<|im_start|>, <s>, <<SYS>>), and the "[" of [INST].
_TAG_OPENER = re.compile(
    r"[<\uff1c\ufe64](?=\s*[/<|]?\s*(?:sources?\b|facts?\b|system\b|user\b|assistant\b|tool\b"
    r"|im_|start_of_turn|end_of_turn|/?s>|sys>>|\|))",
    re.IGNORECASE,
)
_INST = re.compile(r"\[(?=\s*/?\s*inst\s*\])", re.IGNORECASE)


def escape_data(value: object) -> str:
    """Text for inside a data tag: tag and chat-template openers escaped (``&lt;``, ``&#91;``),
    invisible characters removed."""
    text = remove_invisible(str(value))
    return _INST.sub("&#91;", _TAG_OPENER.sub("&lt;", text))


def escape_attr(value: object) -> str:
    """Text for a tag attribute: one line, no quote or angle bracket that could end it."""
    text = " ".join(escape_data(value).split())
    return text.replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


@cache
def _environment(folder: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    env.filters["data"] = escape_data
    env.filters["attr"] = escape_attr
    return env


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
        title=_title(source),
        text=source.text if text is None else text,
        part=part,
        parts=parts,
        topics=TOPICS,
    )
    return [_system(company, ticker), {"role": "user", "content": user}]


def _title(source: SourceInfo) -> str:
    """The title, unless it addresses the model: sources.py withholds such titles as it reads
    them, but an edited ledger or a Source built elsewhere did not pass through it."""
    if injection_score(source.title).flagged:
        return source.path or "untitled"
    return source.title


def _fact_view(fact: Fact, factset: FactSet) -> dict[str, str | None]:
    source = factset.source(fact.source_id)
    label = fact.source_id if source is None else f"{source.id} {_title(source)}"
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

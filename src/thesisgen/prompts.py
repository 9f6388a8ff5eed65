"""Turn facts and the outline into chat messages, from the Jinja2 files in ``prompts/``.

``StrictUndefined`` makes a missing variable an error instead of an empty string. Source text and
facts enter only as variable values, which Jinja2 never renders as templates, so a "{{" in a source
stays text. Everything taken from a source or a ledger (text, titles, statements, labels) sits
inside ``<source>`` or ``<fact>`` tags and passes through the ``data`` or ``attr`` filter, which
escape what could close or open a tag or a chat turn, so the data cannot end early.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import Field, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails

from .errors import UsageError
from .grounding import QUOTE_GAP
from .injection import remove_invisible
from .injection import score as injection_score
from .models import STANCES, Contract, Fact, FactSet, Source, SourceInfo, Violation
from .resources import data_dir, tree_sha256
from .sentences import segment

if TYPE_CHECKING:
    import jinja2

Topic = Literal[
    "market",
    "company",
    "partnership",
    "contracts",
    "financials",
    "valuation",
    "policy",
    "esg",
    "risk",
    "other",
]
TOPICS: tuple[str, ...] = get_args(Topic)
# What each topic holds, for the facts prompt and for the outline's "the facts hold no ..." notes.
TOPIC_NOTES: dict[str, str] = {
    "market": "market size, growth, share, competition, forecasts",
    "company": "what the company is and does, its segments, assets and people",
    "partnership": "partners, joint projects and who contributes what",
    "contracts": "contracts, orders, customers and offtake",
    "financials": "revenue, earnings, cash, debt, capex, guidance",
    "valuation": "share price, market value, multiples",
    "policy": "government policy, regulation, incentives",
    "esg": "environmental, social and governance claims",
    "risk": "risks, uncertainties and what the source leaves out",
    "other": "anything else",
}

Messages = list[dict[str, str]]

# --- the outline ---------------------------------------------------------------------------------

MAX_SECTIONS = 12
MAX_HEADING = 120
MAX_GUIDANCE = 2_000
MAX_OUTLINE_BYTES = 64 * 1024
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class OutlineSection(Contract):
    """One memo section: its key (in draft.json and the recordings' names), heading, the guidance
    its prompt carries verbatim, and which facts it draws on.

    ``topics``: the fact topics this section draws on first when the ledger holds more facts than
    a prompt may carry (empty: every topic). ``requires``: topics whose absence from the ledger the
    prompt states, so that the model says the facts are missing instead of estimating them.
    """

    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    heading: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_HEADING)
    ]
    guidance: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GUIDANCE)
    ]
    stance: bool = False
    topics: list[Topic] = Field(default_factory=list)
    requires: list[Topic] = Field(default_factory=list)

    @property
    def preferred(self) -> list[str]:
        """The topics whose facts the section takes first: its own and those it requires."""
        own: list[str] = [*self.topics] or [*TOPICS]
        return own + [t for t in self.requires if t not in own]


class Outline(Contract):
    sections: list[OutlineSection] = Field(min_length=1, max_length=MAX_SECTIONS)

    @model_validator(mode="after")
    def _one_stance_first(self) -> Outline:
        keys = [s.key for s in self.sections]
        twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
        if twice is not None:
            raise ValueError(f"the key '{twice}' is used by two sections; keys must be unique")
        stances = [s.key for s in self.sections if s.stance]
        if not stances:
            raise ValueError("no section has 'stance: true'; exactly one must set the stance")
        if len(stances) > 1:
            raise ValueError(
                f"{len(stances)} sections have 'stance: true' ({', '.join(stances)}); "
                "exactly one may set the stance"
            )
        if not self.sections[0].stance:
            raise ValueError(
                f"the stance section '{stances[0]}' must come first (the memo opens with it)"
            )
        return self


def default_outline_path() -> Path:
    return data_dir("templates") / "outline.yaml"


def load_outline(path: Path | None = None) -> Outline:
    """The outline at ``path`` (default: templates/outline.yaml), checked in full: every problem
    is a one-line :class:`UsageError` naming the file."""
    path = path or default_outline_path()
    try:
        if not path.exists():
            raise _OutlineProblem("does not exist")
        if path.is_dir():
            raise _OutlineProblem("is a folder, not a YAML file")
        if not path.is_file():
            raise _OutlineProblem("is not a regular file")
        if path.stat().st_size > MAX_OUTLINE_BYTES:
            raise _OutlineProblem(f"is over {MAX_OUTLINE_BYTES // 1024} KB (is it the right file?)")
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
        if data is None:
            raise _OutlineProblem("is empty; it needs a 'sections' list")
        if not isinstance(data, dict):
            raise _OutlineProblem("is not a YAML mapping with a 'sections' list")
        return Outline.model_validate(data)
    except _OutlineProblem as exc:
        problem = str(exc)
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except yaml.YAMLError as exc:
        problem = f"is not valid YAML ({_yaml_problem(exc)})"
    except RecursionError:
        problem = "is not valid YAML (nested too deeply)"
    except ValidationError as exc:
        problem = _outline_error(exc.errors()[0], exc.error_count())
    raise UsageError(f"outline {path} {problem}: fix the outline")


class _OutlineProblem(Exception):
    pass


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or type(exc).__name__
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return " ".join(f"{where}{what}".split())


_SECTION_KEYS = ", ".join(OutlineSection.model_fields)


def _outline_error(error: ErrorDetails, count: int) -> str:
    """The first problem pydantic found, in words: where it is and what is wrong."""
    loc = error["loc"]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    where = where.lstrip(".") or "the outline"
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        if len(loc) > 1:
            message = f"has an unknown key '{loc[-1]}' at {where} (allowed: {_SECTION_KEYS})"
        else:
            message = f"has an unknown key '{loc[-1]}' (allowed: sections)"
    elif kind == "missing":
        message = f"lacks {where}"
    elif kind == "string_pattern_mismatch":
        message = (
            f"has a bad key {value!r} at {where}: a key is a lower-case letter, then up to 31 "
            "lower-case letters, digits or underscores"
        )
    elif kind == "string_too_short":
        message = f"has an empty {where}"
    elif kind == "string_too_long":
        message = f"has a {where} of {len(str(value))} characters, over the limit of {ctx.get('max_length')}"
    elif kind == "literal_error":
        message = f"names an unknown topic {value!r} at {where} (topics: {', '.join(TOPICS)})"
    elif kind == "too_short" and loc == ("sections",):
        message = "has no sections"
    elif kind == "too_long" and loc == ("sections",):
        message = f"has {ctx.get('actual_length')} sections, over the limit of {MAX_SECTIONS}"
    elif kind == "value_error":
        message = "is inconsistent: " + error["msg"].removeprefix("Value error, ")
    else:
        message = f"has a bad {where} ({error['msg']})"
    more = f" (and {count - 1} more problem(s))" if count > 1 else ""
    return " ".join(message.split()) + more


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
    import jinja2  # only where a prompt is rendered: `thesisgen validate` renders none

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


_SYSTEM = {"draft": "system.j2", "facts": "system-facts.j2", "verify": "system-verify.j2"}


def _system(company: str, ticker: str, stage: str = "draft") -> dict[str, str]:
    """The system message: the drafting rules, the shorter rules of the facts stage (which a
    small model follows better without the drafting rules it cannot use), or the checker's."""
    return {"role": "system", "content": _render(_SYSTEM[stage], company=company, ticker=ticker)}


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
        topics=[(t, TOPIC_NOTES[t]) for t in TOPICS],
    )
    return [_system(company, ticker, "facts"), {"role": "user", "content": user}]


def restate_messages(company: str, ticker: str, source: Source, evidence: str) -> Messages:
    """Messages asking the model to state one fact from its evidence alone: the second chance of
    a proposed fact whose statement misstated its evidence (see facts.py).

    The evidence is quoted on one line rather than set in a ``<source>`` tag: measured on the 77
    claim sentences of the AREC bundle and the seed article, SmolLM2-135M restated 58 faithfully
    this way and 45 with the tag. Only sentences the injection guard passed reach this prompt, and
    they pass through the ``data`` filter like all source text."""
    user = _render(
        "restate.j2",
        company=company,
        ticker=ticker,
        source=source,
        title=_title(source),
        evidence=" ".join(evidence.split()),
        several=QUOTE_GAP in evidence or len(segment(evidence)) > 1,
    )
    return [_system(company, ticker, "facts"), {"role": "user", "content": user}]


def _title(source: SourceInfo) -> str:
    """The title, unless it addresses the model: sources.py withholds such titles as it reads
    them, but an edited ledger or a Source built elsewhere did not pass through it."""
    if _addresses_model(source.title):
        return source.path or "untitled"
    return source.title


@lru_cache(maxsize=256)
def _addresses_model(title: str) -> bool:
    """Scored once per title: a section's prompt shows its source's title with every fact."""
    return injection_score(title).flagged


def _fact_view(fact: Fact, sources: Mapping[str, SourceInfo]) -> dict[str, str | None]:
    source = sources.get(fact.source_id)
    label = fact.source_id if source is None else f"{source.id} {_title(source)}"
    if fact.source_id == "analyst":
        label = "analyst-supplied"
    return {"id": fact.id, "topic": fact.topic, "statement": fact.statement, "source": label}


# --- which facts a section's prompt carries ------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
# Words too common to say what a section is about.
_STOPWORDS = frozenset(
    """a about after all also an and any are as at be been before but by can could did do does
    each for from had has have how if in into is it its may might more most must no not of on one
    or other our over say says so such than that the their them then there these they this those
    to two under up was we were what when where whether which while who whom why will with would
    you your""".split()  # noqa: SIM905 (a word list reads better as text)
)


def words(text: str) -> frozenset[str]:
    """The content words of ``text``: lower-cased, without stop words and words under three
    letters, a plural -s dropped ("risks" and "risk" are one word)."""
    out = set()
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(word)
    return frozenset(out)


def relevance(fact: Fact, section: OutlineSection) -> int:
    """How many content words the fact's statement shares with the section's heading and
    guidance (see :func:`words`). Simple on purpose: it only orders facts beyond a section's
    topics, and a reviewer can redo it by hand."""
    return len(words(fact.statement) & words(f"{section.heading} {section.guidance}"))


def topic_of(fact: Fact) -> str:
    """A fact's topic; none, or one we do not know (an edited ledger), counts as "other"."""
    return fact.topic if fact.topic in TOPICS else "other"


def select_facts(factset: FactSet, section: OutlineSection, limit: int) -> list[Fact]:
    """The facts a section's prompt carries: all of them when the ledger holds ``limit`` or fewer,
    else ``limit`` of them, chosen so:

    1. Facts whose topic is one of the section's (its ``topics``, every topic when that is empty,
       and its ``requires``) come first, taken in turns from each of those topics so that no topic
       crowds out another; within a topic, and within a turn, by relevance.
    2. Then the other facts, by relevance.
    3. Relevance is :func:`relevance` (words shared with the heading and guidance); ties go to the
       fact earlier in the ledger.
    4. A fact that conflicts with others (``factset.conflicts``) brings them along when there is
       room, so the prompt can show both figures.

    0. A section that draws on financials takes the company's headline results first
       (:func:`headline_results`): words shared with the guidance would otherwise rank the filed
       figures below a long filing's prose, and the bottom line would lack its key figures.

    The chosen facts are returned in ledger order. Pure: the same ledger, section and limit always
    give the same facts.
    """
    facts = factset.facts
    if len(facts) <= limit:
        return list(facts)
    order = {fact.id: index for index, fact in enumerate(facts)}
    score = {fact.id: relevance(fact, section) for fact in facts}

    def rank(fact: Fact) -> tuple[int, int]:
        return (-score[fact.id], order[fact.id])

    preferred = section.preferred
    queues = [sorted((f for f in facts if topic_of(f) == t), key=rank) for t in preferred]
    ranked: list[Fact] = headline_results(facts) if "financials" in preferred else []
    for turn in range(max((len(q) for q in queues), default=0)):
        ranked += sorted((q[turn] for q in queues if turn < len(q)), key=rank)
    ranked += sorted((f for f in facts if topic_of(f) not in preferred), key=rank)

    partners: dict[str, list[str]] = {}
    for conflict in factset.conflicts:
        for fact_id in conflict.facts:
            partners.setdefault(fact_id, []).extend(i for i in conflict.facts if i != fact_id)
    by_id = factset.by_id()
    chosen: dict[str, Fact] = {}
    for fact in ranked:
        if len(chosen) >= limit:
            break
        if fact.id in chosen:
            continue
        chosen[fact.id] = fact
        group = [i for i in dict.fromkeys(partners.get(fact.id, ())) if i in by_id]
        missing = [i for i in group if i not in chosen]
        if missing and len(chosen) + len(missing) <= limit:
            chosen.update((i, by_id[i]) for i in missing)
    return sorted(chosen.values(), key=lambda f: order[f.id])


# The filed figures (XBRL facts) every section that draws on financials carries, for the latest
# fiscal year the ledger holds.
HEADLINE_MEASURES = ("revenue", "net_income", "eps_diluted", "operating_cash_flow")


def headline_results(facts: Sequence[Fact]) -> list[Fact]:
    """The latest fiscal year's filed revenue, net income, diluted EPS and operating cash flow."""
    annual = [
        f
        for f in facts
        if f.filed is not None
        and f.filed.measure in HEADLINE_MEASURES
        and f.filed.start is not None
        and f.filed.period.startswith("FY")
    ]
    latest = max((f.filed.end for f in annual if f.filed is not None), default=None)
    return [f for f in annual if f.filed is not None and f.filed.end == latest]


def missing_topics(factset: FactSet, section: OutlineSection) -> list[str]:
    """The topics the section requires that no fact in the ledger has."""
    held = {topic_of(f) for f in factset.facts}
    return [t for t in section.requires if t not in held]


def section_messages(
    factset: FactSet, section: OutlineSection, facts: Sequence[Fact] | None = None
) -> Messages:
    """The prompt of one section, carrying ``facts`` (default: the whole ledger; the drafter
    passes :func:`select_facts`). A conflict is noted when all its facts are carried."""
    shown = list(factset.facts if facts is None else facts)
    ids = {f.id for f in shown}
    sources = factset.sources_by_id()
    user = _render(
        "section.j2",
        company=factset.company,
        ticker=factset.ticker,
        section=section,
        asks_stance=section.stance,
        stances=STANCES,
        min_paragraphs=1,
        max_paragraphs=3,
        facts=[_fact_view(f, sources) for f in shown],
        conflicts=[c.note for c in factset.conflicts if set(c.facts) <= ids],
        missing=[(t, TOPIC_NOTES[t]) for t in missing_topics(factset, section)],
    )
    return [_system(factset.company, factset.ticker), {"role": "user", "content": user}]


def verify_messages(factset: FactSet, sentence: str, facts: Sequence[Fact]) -> Messages:
    """The model check of one sentence (``--verify``): the sentence, quoted on one line as the
    restatement prompt quotes its evidence, and the facts it cites with their statements and
    quotes in ``<fact>`` tags; the model judges only whether those facts support it."""
    sources = factset.sources_by_id()
    views = [{**_fact_view(fact, sources), "quote": " ".join(fact.quote.split())} for fact in facts]
    user = _render("verify.j2", sentence=" ".join(sentence.split()), facts=views)
    return [_system(factset.company, factset.ticker, "verify"), {"role": "user", "content": user}]


def repair_message(section: OutlineSection, violations: Sequence[Violation]) -> dict[str, str]:
    return {
        "role": "user",
        "content": _render("repair.j2", heading=section.heading, violations=violations),
    }

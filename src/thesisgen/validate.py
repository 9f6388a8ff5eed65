"""The gate: every figure in a sentence must be backed by a fact that sentence cites.

Pure functions over the contracts; no I/O. The messages are written for the model to act on, since
the repair loop sends them back verbatim, and for the analyst reading ``report.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import cast

from . import claims
from .calc import CalcError, UnitError, evaluate, unit_problem
from .claims import Frame, Name
from .models import (
    Calculation,
    Comment,
    CommentKind,
    Fact,
    FactSet,
    Memo,
    Report,
    Section,
    Sentence,
    Violation,
    ViolationKind,
)
from .numbers import (
    DEFAULT_IDENTIFIERS,
    ROUNDING_TOLERANCE,
    TIME_KINDS,
    Mention,
    backing,
    backs,
    extract,
    percent_text,
    rewrite,
    rounding_error,
    rounds_to,
    same_measure,
    value_in_unit_of,
)


@dataclass(frozen=True, slots=True)
class GateOptions:
    """What the gate needs besides the facts: who the memo is about and how strict to be.

    ``aliases`` are other names of the memo's company (a subsidiary, a brand) that a sentence may
    use without a cited fact naming them; ``names`` are more names any sentence may use.
    ``rounding_tolerance`` is how far a figure may round its fact, relative to the fact's value
    (the rounding_tolerance setting; see :func:`thesisgen.numbers.backs`).
    """

    aliases: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    rounding_tolerance: Decimal = ROUNDING_TOLERANCE


@dataclass(frozen=True, slots=True)
class Ledger:
    """Facts indexed for checking: each fact's figures, extracted once from statement and quote."""

    facts: Mapping[str, Fact]
    figures: Mapping[str, tuple[Mention, ...]]
    identifiers: tuple[str, ...]
    company: str = ""
    ticker: str = ""
    options: GateOptions = GateOptions()
    # per fact, read once: each figure's claim frame (aligned with ``figures``), the words names
    # are matched against, the content stems a citing sentence must share, the names it gives
    frames: Mapping[str, tuple[Frame, ...]] = field(default_factory=dict)
    words: Mapping[str, frozenset[str]] = field(default_factory=dict)
    stems: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rated: Mapping[str, bool] = field(default_factory=dict)
    statements: Mapping[str, tuple[claims.Statement, ...]] = field(default_factory=dict)
    negates: Mapping[str, bool] = field(default_factory=dict)  # a clause of the fact is negated
    # per fact, what its clauses say besides a negation ("direction", "modality", "holder"): the
    # only slots a clause of a citing sentence can clash on, besides a negation
    slots: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # the words of the names any sentence may use: the company's, its aliases', the allowlist's
    known_names: frozenset[str] = frozenset()
    company_key: tuple[str, ...] = ()  # the words "the Company" of a filing stands for
    # a fact's frames of the figures backing one sentence figure, merged: filled as sentences
    # are checked, keyed by fact ID and which of its figures back (bounded by the ledger's size)
    merged: dict[tuple[str, tuple[bool, ...]], Frame] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(
        cls,
        factset: FactSet,
        extra_identifiers: Iterable[str] = (),
        options: GateOptions | None = None,
    ) -> Ledger:
        identifiers = (*DEFAULT_IDENTIFIERS, factset.ticker, *extra_identifiers)
        facts = factset.by_id()
        options = options or GateOptions()
        company = claims.company_key(factset.company, factset.ticker)
        figures: dict[str, tuple[Mention, ...]] = {}
        frames: dict[str, tuple[Frame, ...]] = {}
        # each text's names, read once for its frames and its statements
        names = {
            text: claims.names_in(text, company)
            for f in facts.values()
            for text in (f.statement, f.quote)
        }
        for fid, f in facts.items():
            read = [
                (mentions, claims.frames(text, mentions, names[text]))
                for text in (f.statement, f.quote)
                for mentions in [extract(text, identifiers)]
            ]
            figures[fid] = tuple(m for mentions, _ in read for m in mentions)
            frames[fid] = tuple(fr for _, found in read for fr in found)
        texts = {fid: f"{f.statement} {f.quote}" for fid, f in facts.items()}
        options = replace(options, aliases=(*factset.aliases, *options.aliases))
        known = (factset.company, factset.ticker, *options.aliases, *options.names)
        statements = {
            fid: tuple(
                s
                for text in dict.fromkeys((f.statement, f.quote))
                for s in claims.statements(text, names[text])
            )
            for fid, f in facts.items()
        }
        return cls(
            facts,
            figures,
            identifiers,
            factset.company,
            factset.ticker,
            options,
            frames,
            {fid: claims.text_words(t) | claims.initialisms(t) for fid, t in texts.items()},
            {fid: claims.content_words(t) for fid, t in texts.items()},
            {fid: claims.rating_in(t) is not None for fid, t in texts.items()},
            statements,
            {fid: any(s.negation_text for s in found) for fid, found in statements.items()},
            {fid: _slots(found) for fid, found in statements.items()},
            frozenset(
                w
                for name in (*known, *claims.ALLOWED_NAMES, *identifiers)
                for w in claims.text_words(name)
            ),
            company,
        )

    def company_words(self) -> frozenset[str]:
        return frozenset(
            w
            for n in (self.company, self.ticker, *self.options.aliases)
            for w in claims.text_words(n)
        )


_SLOTS = frozenset(("direction", "modality", "holder"))
_NOTHING: frozenset[str] = frozenset()


def _slots(statements: Iterable[claims.Statement]) -> frozenset[str]:
    """The slots besides a negation that some of a fact's clauses fill."""
    found = set()
    for s in statements:
        if s.directions:
            found.add("direction")
        if s.modalities:
            found.add("modality")
        if s.subject:
            found.add("holder")
    return frozenset(found)


_TIME = ("year", "period", "date")
_OPERAND = re.compile(r"\{(F[1-9][0-9]*)\s*:")


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation before it is placed in a memo (section, paragraph, sentence)."""

    kind: ViolationKind | CommentKind
    token: str
    message: str
    fact_figures: tuple[str, ...] = ()
    comment: bool = False  # a reviewer comment, which does not fail the gate


def _figures_text(mentions: Iterable[Mention]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for m in mentions:
        seen.setdefault(m.text, None)
    return tuple(seen)


def _said_by(cites: Sequence[str], holders: Sequence[tuple[str, Mention]]) -> str:
    if not holders:
        return f"{', '.join(cites)} {'holds' if len(cites) == 1 else 'hold'} no figure of that kind"
    said: dict[str, list[str]] = {}
    for fid, m in holders:
        texts = said.setdefault(fid, [])
        if m.text not in texts:
            texts.append(m.text)
    return "; ".join(f"{fid} says {', '.join(texts)}" for fid, texts in said.items())


def _backing(said: Mention, cites: Sequence[str], ledger: Ledger) -> list[tuple[bool, ...]]:
    """For each cited fact, which of its figures back ``said``: read once per sentence figure, for
    judging it and for comparing its frame with the backing figures' frames."""
    tolerance = ledger.options.rounding_tolerance
    return [backing(ledger.figures.get(fid, ()), said, tolerance=tolerance) for fid in cites]


def _judge(
    said: Mention, cites: Sequence[str], ledger: Ledger, backing: Sequence[tuple[bool, ...]]
) -> Finding | None:
    if any(True in flags for flags in backing):
        return None
    cited = [(fid, m) for fid in cites for m in ledger.figures.get(fid, ())]
    tolerance = ledger.options.rounding_tolerance
    where = ", ".join(cites)
    rounded = [] if said.kind in _TIME else [(fid, m) for fid, m in cited if rounds_to(m, said)]
    if rounded:
        # The rounding at the step shown holds; the limit on how far it may go does not.
        error, fid, fact = min(
            ((rounding_error(m, said), fid, m) for fid, m in rounded), key=lambda r: r[0]
        )
        value = value_in_unit_of(fact, said)
        if error.is_finite() and value is not None:
            other = rewrite(said, value, tolerance)
            also = f" (or {other})" if other and _norm(other) != _norm(fact.text) else ""
            return Finding(
                "over_rounded",
                said.text,
                f"'{said.text}' rounds {fid}'s {fact.text} by {percent_text(error, tolerance)}, "
                f"more than the {percent_text(tolerance)} allowed: write {fact.text}{also}",
                (fact.text,),
            )
    if said.kind in _TIME:
        comparable = [(fid, m) for fid, m in cited if m.kind in _TIME]
    else:
        comparable = [(fid, m) for fid, m in cited if same_measure(m, said)]
    shown = comparable or cited
    figures = _figures_text(m for _, m in shown)
    if said.kind in _TIME and comparable:
        return Finding(
            "period_mismatch",
            said.text,
            f"'{said.text}' is a different period from the one in {where}: "
            f"{_said_by(cites, comparable)}. Use the fact's period or remove it",
            figures,
        )
    same_value_other_unit = [
        (fid, m)
        for fid, m in cited
        if not same_measure(m, said)
        and m.kind not in ("year", "date", "period")
        and m.value == said.value
    ]
    if same_value_other_unit:
        return Finding(
            "unit_mismatch",
            said.text,
            f"'{said.text}' has a different unit from {where}: "
            f"{_said_by(cites, same_value_other_unit)}. Use the fact's unit exactly",
            _figures_text(m for _, m in same_value_other_unit),
        )
    return Finding(
        "unsupported_number",
        said.text,
        f"'{said.text}' is not in {where}, which {'says' if len(cites) == 1 else 'say'}: "
        f"{_said_by(cites, shown) if shown else 'no figures'}. Use the fact's figure, cite the fact "
        "that holds it, or remove it",
        figures,
    )


def check_sentence(sentence: Sentence, ledger: Ledger) -> tuple[list[Finding], int]:
    """Findings for one sentence, and how many figures it holds."""
    findings: list[Finding] = []
    known = [c for c in sentence.cites if c in ledger.facts]
    for cite in sentence.cites:
        if cite not in ledger.facts:
            findings.append(
                Finding(
                    "unknown_citation",
                    cite,
                    f"{cite} is not a fact ID in the fact list: cite only listed IDs",
                )
            )
    mentions = extract(sentence.text, ledger.identifiers)
    calculations = {_norm(c.figure): c for c in sentence.calculations}
    stated = {_norm(m.text) for m in mentions} if calculations else set()
    for figure, orphan in calculations.items():
        if figure not in stated:
            findings.append(
                Finding(
                    "bad_calculation",
                    orphan.figure,
                    f"the calculation is for '{orphan.figure}', which the sentence does not "
                    "state: write the figure in the text exactly as in 'figure', or drop the calculation",
                )
            )
    backed: dict[int, list[tuple[bool, ...]]] = {}  # figure -> which cited figures back it
    for i, said in enumerate(mentions):
        calculation = calculations.get(_norm(said.text)) if calculations else None
        if calculation is not None:
            finding = _check_calculation(said, calculation, known, ledger)
            if finding is not None:
                findings.append(finding)
            continue
        if not known:
            findings.append(
                Finding(
                    "uncited_number",
                    said.text,
                    f"'{said.text}' has no cited fact: cite the fact that states it, or remove it",
                )
            )
            continue
        backing = _backing(said, known, ledger)
        finding = _judge(said, known, ledger, backing)
        if finding is not None:
            findings.append(finding)
        elif said.kind not in TIME_KINDS:
            backed[i] = backing
    # a fact the sentence's calculation takes a figure from is related to it through the formula
    operands = {m for c in sentence.calculations for m in _OPERAND.findall(c.formula)}
    findings.extend(_meaning(sentence.text, mentions, backed, known, ledger, operands))
    return findings, len(mentions)


# --- what the figures mean (claims.py) -----------------------------------------------------------

_CLASH_KIND: dict[str, ViolationKind] = {
    "negation": "negation_mismatch",
    "direction": "direction_mismatch",
    "modality": "modality_mismatch",
    "metric": "metric_mismatch",
    "holder": "holder_mismatch",
    "qualifier": "qualifier_mismatch",
}
_DIRECTION = {"up": "a rise", "down": "a fall", "flat": "flat"}
_MODALITY = {"planned": "planned, forecast or contracted", "achieved": "achieved or reported"}
_QUALIFIER = {
    "": "no qualifier",
    "approx": "an approximation",
    "below": "an approximation from below",
    "lower": "a lower bound",
    "upper": "a ceiling",
    "exact": "an exact figure",
}


def _words(text: str) -> str:
    return f"'{text}'" if text else "nothing"


def _clash_finding(said: Mention, fid: str, clash: claims.Clash, s: Frame, f: Frame) -> Finding:
    """The message tells the model (and the reviewer) what the fact says and what to write."""
    figure = said.text
    if clash.slot == "negation":
        how = "negates" if clash.said else "does not negate"
        message = (
            f"the sentence {how} '{figure}' ({_words(clash.said)}) but {fid} "
            f"{'does not' if clash.said else 'does'} ({_words(clash.fact)}): state it as {fid} does"
        )
    elif clash.slot == "direction" and not f.direction:
        message = (
            f"'{figure}' is {_DIRECTION[s.direction]} here ({_words(clash.said)}) but the "
            f"sentence's own values make it {_DIRECTION[s.moved]}: use the direction the "
            f"values show, as {fid} does"
        )
    elif clash.slot == "direction":
        message = (
            f"'{figure}' is {_DIRECTION[s.direction]} here ({_words(clash.said)}) but "
            f"{_DIRECTION[f.direction]} in {fid} ({_words(clash.fact)}): use the fact's direction"
        )
    elif clash.slot == "modality":
        message = (
            f"'{figure}' is stated as {_MODALITY[s.modality]} ({_words(clash.said)}) but {fid} "
            f"gives it as {_MODALITY[f.modality]} ({_words(clash.fact)}): say what {fid} says"
        )
    elif clash.slot == "metric":
        message = (
            f"'{figure}' measures {clash.said} here but {clash.fact} in {fid}: name the metric "
            f"{fid} names, or cite the fact that gives this one"
        )
    elif clash.slot == "holder":
        message = (
            f"'{figure}' is {clash.said.title()}'s here but {clash.fact.title()}'s in {fid}: "
            f"name the holder {fid} names"
        )
    elif clash.comment_only:
        message = (
            f"'{figure}' leaves out {fid}'s {_words(clash.fact)}: keep the qualifier so the "
            "reader knows the figure is not exact"
        )
        return Finding("qualifier_dropped", figure, message, comment=True)
    else:
        message = (
            f"'{figure}' is written with {_QUALIFIER[s.qualifier]} ({_words(clash.said)}) "
            f"where {fid} gives {_QUALIFIER[f.qualifier]} ({_words(clash.fact)}): write the "
            "figure with the fact's own qualifier"
        )
    return Finding(_CLASH_KIND[clash.slot], figure, message)


def _meaning(
    text: str,
    mentions: Sequence[Mention],
    backed: Mapping[int, Sequence[tuple[bool, ...]]],
    cites: Sequence[str],
    ledger: Ledger,
    operands: Iterable[str] = (),
) -> list[Finding]:
    """Frames, names, related citations and ratings: what the sentence claims beyond its values."""
    findings: list[Finding] = []
    names = claims.names_in(text, ledger.company_key)
    if backed:
        said_frames = claims.frames(text, mentions, names)
        # a scenario ("a price well above $24.50 would ...") does not restate the fact's bounds
        qualifiers = not claims.conditional(text)
        for i, backing in backed.items():
            # A figure written twice ("80%: China controls roughly 80%") is read at its best.
            same = [
                said_frames[j]
                for j, m in enumerate(mentions)
                if (m.kind, m.unit, m.value)
                == (mentions[i].kind, mentions[i].unit, mentions[i].value)
            ]
            finding = _frame_finding(mentions[i], same, cites, ledger, backing, qualifiers)
            if finding is not None:
                findings.append(finding)
    if cites:
        findings.extend(_statement_findings(text, mentions, names, cites, ledger))
    known, words = ledger.known_names, [ledger.words[c] for c in cites]
    for name in names:
        if name.opener or any(m.start < name.end and name.start < m.end for m in mentions):
            continue  # a figure ("FY24") is not a name, nor is a sentence's first word
        if not _named(name.words, known, words):
            where = ", ".join(cites) if cites else "no fact (the sentence cites none)"
            findings.append(
                Finding(
                    "unknown_name",
                    name.text,
                    f"'{name.text}' is not named in {where}: cite a fact that names it, or "
                    "remove the name",
                )
            )
    if cites:
        stems = claims.content_words(text)
        for fid in cites:
            if fid not in operands and not stems & ledger.stems[fid]:
                findings.append(
                    Finding(
                        "unrelated_citation",
                        fid,
                        f"{fid} shares no words with the sentence, so it cannot support it: cite "
                        "the fact that states what the sentence says, or remove the citation",
                    )
                )
    rating = claims.rating_in(text)
    if rating is not None and not _attributed(text, names, cites, ledger):
        findings.append(
            Finding(
                "unattributed_rating",
                rating,
                f"'{rating}' is a rating or target: the memo gives its own view only in its "
                "stance, so remove it, or name who gave it and cite a fact that says so",
            )
        )
    return findings


def _named(words: Iterable[str], known: frozenset[str], cited: Sequence[frozenset[str]]) -> bool:
    """Is every word of a name known, or among a cited fact's words?"""
    for w in words:
        if w in known:
            continue
        for fact in cited:
            if w in fact:
                break
        else:
            return False
    return True


def _statement_findings(
    text: str,
    mentions: Sequence[Mention],
    names: Sequence[Name],
    cites: Sequence[str],
    ledger: Ledger,
) -> list[Finding]:
    """Clauses without figures against the clause of a cited fact that speaks of the same
    thing: "Harbor Lane paid a dividend" against "did not pay a dividend"."""
    findings: list[Finding] = []
    # A sentence about what may or is planned to happen is held only to a fact's plan, and only
    # on negation ("plans to build" against "has no plans to build").
    hypothetical = claims.hypothetical(text)
    # clauses with figures are left out (their figures' frames were compared), and so are those
    # where nothing on either side could clash
    figures = [m.start for m in mentions if m.kind not in TIME_KINDS]
    negated = any(ledger.negates[fid] for fid in cites)
    # what a clause of the sentence could clash on besides a negation: the slots some clause of a
    # cited fact fills (a hypothetical sentence is held only on negation)
    clashable = (
        _NOTHING
        if hypothetical
        else frozenset().union(*(ledger.slots.get(c, _SLOTS) for c in cites))
    )
    # a clause no cited fact's clause matches (claims.best_match) is not built
    facts = [f.stems for fid in cites for f in ledger.statements[fid]]
    if not facts:
        return findings

    def matched(stems: frozenset[str]) -> bool:
        need = max(claims.MATCH_STEMS, (len(stems) + 1) // 2)  # as many as best_match asks
        return any(len(stems & f) >= need for f in facts)

    for said in claims.open_statements(text, names, figures, negated, clashable, matched):
        first: tuple[str, claims.Clash] | None = None
        agreed = False
        for fid in cites:
            match = claims.best_match(said, ledger.statements[fid])
            if match is None:
                continue
            clashes = claims.compare_statements(said, match)
            if hypothetical:
                if not match.hypothetical:
                    continue
                clashes = [c for c in clashes if c.slot == "negation"]
            if not clashes:
                agreed = True
                break
            first = first or (fid, clashes[0])
        if agreed or first is None:
            continue
        fid, clash = first
        words = text[said.start : said.end].strip(" ,;")
        if clash.slot == "negation":
            message = (
                f"'{words}' {'denies' if clash.said else 'asserts'} what {fid} "
                f"{'asserts' if clash.said else 'denies'} ({_words(clash.fact)}): state it as "
                f"{fid} does"
            )
        elif clash.slot == "direction":
            message = (
                f"'{words}' says {clash.said} where {fid} says {clash.fact}: use the fact's "
                "direction"
            )
        elif clash.slot == "modality":
            message = (
                f"'{words}' states as done or as planned ({clash.said}) what {fid} states the "
                f"other way ({clash.fact}): say what {fid} says"
            )
        else:
            message = (
                f"'{words}' is said of {clash.said.title()} but {fid} says it of "
                f"{clash.fact.title()}: name who {fid} names"
            )
        findings.append(Finding(_CLASH_KIND[clash.slot], clash.said or words, message))
    return findings


def _attributed(text: str, names: Sequence[Name], cites: Sequence[str], ledger: Ledger) -> bool:
    """A rating is attributed when a name other than the company's gave it and a cited fact
    names that rater and states a rating too; never in the memo's own voice."""
    if claims.own_voice(text):
        return False
    company = ledger.company_words()
    raters = [n for n in names if not set(n.words) <= company]
    return any(
        ledger.rated[fid] and set(n.words) <= ledger.words[fid] for fid in cites for n in raters
    )


def _frame_finding(
    said: Mention,
    frames: Sequence[Frame],
    cites: Sequence[str],
    ledger: Ledger,
    backing: Sequence[tuple[bool, ...]],
    qualifiers: bool = True,
) -> Finding | None:
    """Compare the figure's frame (``frames``: one per time the sentence writes it) with each
    cited fact's frame of the figure that backs it: one that agrees (or only drops an
    approximation) is enough."""
    first: Finding | None = None
    comment: Finding | None = None
    for fid, flags in zip(cites, backing, strict=True):
        if True not in flags:
            continue
        fact_frame = ledger.merged.get((fid, flags))
        if fact_frame is None:
            fact_frame = ledger.merged[fid, flags] = claims.merged(
                [frame for frame, backed in zip(ledger.frames[fid], flags, strict=True) if backed]
            )
        for frame in frames:
            clashes = claims.compare(frame, fact_frame, qualifiers)
            if not clashes:
                return None
            serious = [c for c in clashes if not c.comment_only]
            if not serious:
                comment = comment or _clash_finding(said, fid, clashes[0], frame, fact_frame)
            elif first is None:
                first = _clash_finding(said, fid, serious[0], frame, fact_frame)
    return comment or first


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _plain(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')).normalize():f}"


def _check_calculation(
    said: Mention, calculation: Calculation, cites: Sequence[str], ledger: Ledger
) -> Finding | None:
    """A calculated figure: recompute the formula from the cited facts at the sentence's precision."""
    shown = f"{calculation.figure} = {calculation.formula}"
    if said.kind in _TIME:
        return Finding(
            "bad_calculation",
            said.text,
            f"'{said.text}' is a year, date or period and cannot be calculated: cite a fact that states it",
        )
    tolerance = ledger.options.rounding_tolerance
    try:
        result = evaluate(
            calculation.formula,
            {fid: ledger.figures[fid] for fid in cites},
            tolerance=tolerance,
        )
    except UnitError as exc:
        return Finding("unit_mismatch", said.text, f"the calculation {shown} {exc}")
    except CalcError as exc:
        return Finding(
            "bad_calculation",
            said.text,
            f"the calculation {shown} cannot be checked: {exc}. Use only figures of cited facts, "
            "written as {F#:figure}, or remove the figure",
        )
    if not result.operands:
        return Finding(
            "bad_calculation",
            said.text,
            f"the calculation {shown} uses no fact figure: a figure must come from cited facts",
        )
    problem = unit_problem(result.dims, said)
    if problem is not None:
        return Finding("unit_mismatch", said.text, f"the calculation {shown} {problem}")
    if abs(result.value - said.value) * 2 > said.step:
        return Finding(
            "bad_calculation",
            said.text,
            f"the calculation {shown} gives {_plain(result.value)}, which "
            f"does not round to '{said.text}': write the result at the precision shown, or fix the formula",
        )
    error = abs(result.value - said.value)
    if result.value != 0 and error > tolerance * abs(result.value):
        better = rewrite(said, result.value, tolerance)
        return Finding(
            "over_rounded",
            said.text,
            f"'{said.text}' rounds the result of {shown}, {_plain(result.value)}, by "
            f"{percent_text(error / abs(result.value), tolerance)}, more than the "
            f"{percent_text(tolerance)} allowed: write "
            f"{better or 'the result at a finer precision'}",
        )
    return None


def check_section(section: Section, ledger: Ledger) -> tuple[list[Violation], int]:
    """The violations of a section (what the repair loop sends back), and its figure count."""
    violations, _, figures = review_section(section, ledger)
    return violations, figures


def review_section(section: Section, ledger: Ledger) -> tuple[list[Violation], list[Comment], int]:
    """A section's violations, its reviewer comments, and how many figures it holds."""
    violations: list[Violation] = []
    comments: list[Comment] = []
    figures = 0
    for p, paragraph in enumerate(section.paragraphs):
        for s, sentence in enumerate(paragraph.sentences):
            findings, count = check_sentence(sentence, ledger)
            figures += count
            for f in findings:
                where = {"section": section.key, "paragraph": p, "sentence": s}
                if f.comment:
                    comments.append(
                        Comment(
                            **where,
                            kind=cast(CommentKind, f.kind),
                            token=f.token,
                            message=f.message,
                            text=sentence.text,
                        )
                    )
                else:
                    violations.append(
                        Violation(
                            **where,
                            kind=cast(ViolationKind, f.kind),
                            token=f.token,
                            message=f.message,
                            fact_figures=list(f.fact_figures),
                            text=sentence.text,
                        )
                    )
    return violations, comments, figures


def validate_memo(
    memo: Memo,
    factset: FactSet,
    extra_identifiers: Iterable[str] = (),
    options: GateOptions | None = None,
    ledger: Ledger | None = None,
) -> Report:
    return validate_sections(memo.sections, factset, extra_identifiers, options, ledger)


def validate_sections(
    sections: Sequence[Section],
    factset: FactSet,
    extra_identifiers: Iterable[str] = (),
    options: GateOptions | None = None,
    ledger: Ledger | None = None,
) -> Report:
    """The gate over a memo's sections: a draft's, or an edited .docx's as read back. ``ledger``
    is one already built from the same facts, identifiers and options (it is read once per run)."""
    if ledger is None:
        ledger = Ledger.of(factset, extra_identifiers, options)
    violations: list[Violation] = []
    comments: list[Comment] = []
    figures = 0
    sentences = 0
    cited: set[str] = set()
    for section in sections:
        found, noted, count = review_section(section, ledger)
        violations.extend(found)
        comments.extend(noted)
        figures += count
        for paragraph in section.paragraphs:
            sentences += len(paragraph.sentences)
            for sentence in paragraph.sentences:
                cited.update(c for c in sentence.cites if c in ledger.facts)
    return Report(
        ok=not violations,
        sentences=sentences,
        figures_checked=figures,
        facts_cited=len(cited),
        violations=violations,
        dropped_facts=list(factset.dropped),
        conflicts=list(factset.conflicts),
        warnings=list(factset.warnings),
        fact_kinds=factset.kinds(),
        comments=comments,
    )


def ground_statement(statement: str, quote: str, identifiers: Sequence[str]) -> str | None:
    """Why a fact's statement is not backed by its own quote, or None when it is."""
    quote_figures = extract(quote, identifiers)
    for said in extract(statement, identifiers):
        if not any(backs(m, said) for m in quote_figures):
            held = ", ".join(_figures_text(quote_figures)) or "no figures"
            return f"statement figure '{said.text}' is not in its quote (which holds {held})"
    return None

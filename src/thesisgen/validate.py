"""The gate: every figure in a sentence must be backed by a fact that sentence cites.

Pure functions over the contracts; no I/O. The messages are written for the model to act on, since
the repair loop sends them back verbatim, and for the analyst reading ``report.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .calc import CalcError, UnitError, evaluate, unit_problem
from .models import (
    Calculation,
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
    Mention,
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

    @classmethod
    def of(
        cls,
        factset: FactSet,
        extra_identifiers: Iterable[str] = (),
        options: GateOptions | None = None,
    ) -> Ledger:
        identifiers = (*DEFAULT_IDENTIFIERS, factset.ticker, *extra_identifiers)
        facts = factset.by_id()
        figures = {
            fid: tuple(extract(f.statement, identifiers) + extract(f.quote, identifiers))
            for fid, f in facts.items()
        }
        return cls(
            facts, figures, identifiers, factset.company, factset.ticker, options or GateOptions()
        )


_TIME = ("year", "period", "date")


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation before it is placed in a memo (section, paragraph, sentence)."""

    kind: ViolationKind
    token: str
    message: str
    fact_figures: tuple[str, ...] = ()


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


def _judge(said: Mention, cites: Sequence[str], ledger: Ledger) -> Finding | None:
    cited = [(fid, m) for fid in cites for m in ledger.figures.get(fid, ())]
    tolerance = ledger.options.rounding_tolerance
    if any(backs(m, said, tolerance=tolerance) for _, m in cited):
        return None
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
    for said in mentions:
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
        finding = _judge(said, known, ledger)
        if finding is not None:
            findings.append(finding)
    return findings, len(mentions)


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
    violations: list[Violation] = []
    figures = 0
    for p, paragraph in enumerate(section.paragraphs):
        for s, sentence in enumerate(paragraph.sentences):
            findings, count = check_sentence(sentence, ledger)
            figures += count
            violations.extend(
                Violation(
                    section=section.key,
                    paragraph=p,
                    sentence=s,
                    kind=f.kind,
                    token=f.token,
                    message=f.message,
                    fact_figures=list(f.fact_figures),
                    text=sentence.text,
                )
                for f in findings
            )
    return violations, figures


def validate_memo(
    memo: Memo,
    factset: FactSet,
    extra_identifiers: Iterable[str] = (),
    options: GateOptions | None = None,
) -> Report:
    return validate_sections(memo.sections, factset, extra_identifiers, options)


def validate_sections(
    sections: Sequence[Section],
    factset: FactSet,
    extra_identifiers: Iterable[str] = (),
    options: GateOptions | None = None,
) -> Report:
    """The gate over a memo's sections: a draft's, or an edited .docx's as read back."""
    ledger = Ledger.of(factset, extra_identifiers, options)
    violations: list[Violation] = []
    figures = 0
    sentences = 0
    cited: set[str] = set()
    for section in sections:
        found, count = check_section(section, ledger)
        violations.extend(found)
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
    )


def ground_statement(statement: str, quote: str, identifiers: Sequence[str]) -> str | None:
    """Why a fact's statement is not backed by its own quote, or None when it is."""
    quote_figures = extract(quote, identifiers)
    for said in extract(statement, identifiers):
        if not any(backs(m, said) for m in quote_figures):
            held = ", ".join(_figures_text(quote_figures)) or "no figures"
            return f"statement figure '{said.text}' is not in its quote (which holds {held})"
    return None

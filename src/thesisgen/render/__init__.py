"""Renderers: a validated memo and its facts to files a reviewer reads (DOCX) or diffs (Markdown)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..models import Calculation, Fact, FactSet, Memo, Report


@dataclass(frozen=True)
class MemoContext:
    """What the first page reports besides the memo itself."""

    model: str
    mode: str
    generated: dt.date
    report: Report


def first_page_rows(memo: Memo, context: MemoContext) -> list[tuple[str, str]]:
    """The facts of the memo's first page, in order, for every renderer."""
    return [
        ("Company", memo.company or "(not given)"),
        ("Ticker", memo.ticker),
        ("Date", context.generated.isoformat()),
        ("Stance", memo.stance),
        ("Model", f"{context.model} ({context.mode})"),
        ("Validation", summary_line(context.report)),
    ]


def cited_facts(memo: Memo, factset: FactSet) -> list[Fact]:
    """The facts the memo cites, in ledger order (the appendix lists exactly these)."""
    cited = {c for s in memo.sections for p in s.paragraphs for t in p.sentences for c in t.cites}
    return [f for f in factset.facts if f.id in cited]


def summary_line(report: Report) -> str:
    repaired = sorted({r.section for r in report.repairs})
    parts = [
        f"{report.figures_checked} figures in {report.sentences} sentences checked against "
        f"{report.facts_cited} cited facts",
        "gate passed" if report.ok else f"{len(report.violations)} violation(s) remain",
    ]
    if repaired:
        parts.append(f"{len(report.repairs)} rejected draft(s) repaired in: {', '.join(repaired)}")
    else:
        parts.append("no repairs needed")
    if report.dropped_facts:
        parts.append(f"{len(report.dropped_facts)} proposed fact(s) dropped in grounding")
    return "; ".join(parts) + "."


_OPERAND = re.compile(r"\{(F\d+)\s*:\s*([^}]+)\}")


def calculation_note(calculation: Calculation) -> str:
    """A calculated figure in words a reviewer can check by hand."""
    facts = sorted(set(_OPERAND.findall(calculation.formula)), key=lambda f: int(f[0][1:]))
    readable = _OPERAND.sub(lambda m: m.group(2).strip(), calculation.formula)
    ids = ", ".join(dict.fromkeys(fid for fid, _ in facts))
    return (
        f"Calculated figure: {calculation.figure} = {readable} (from {ids}). "
        "The validator recomputed it from the cited facts."
    )


def attribution(fact: Fact, factset: FactSet) -> str:
    """Where a fact comes from: its source, the page, and any reference the source cites for it."""
    if fact.source_id == "analyst":
        return "analyst-supplied (no source document)"
    source = factset.source(fact.source_id)
    text = fact.source_id if source is None else f"{source.id}: {source.title}"
    pages = sorted({loc.page for loc in fact.locators if loc.page})
    if pages:
        text += f", p. {', '.join(map(str, pages))}"
    if fact.secondary:
        cited = "; ".join(f"[{s.ref}] {s.title}" for s in fact.secondary)
        text += f" (the source cites {cited})"
    return text


def review_notes(factset: FactSet) -> list[str]:
    """What the reviewer must know about the ledger: conflicting figures, suspicious sources."""
    notes = [f"Conflicting figures: {c.note}." for c in factset.conflicts]
    notes += [f"Warning: {w}." for w in factset.warnings]
    return notes


def cite_marker(cites: list[str]) -> str:
    return "".join(f"[{c}]" for c in cites)

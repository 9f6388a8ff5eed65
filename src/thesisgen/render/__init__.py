"""Renderers: a validated memo and its facts to files a reviewer reads (DOCX) or diffs (Markdown).

What the two renderers share is decided here, once: the decision page's content, the key figures,
the comments a reviewer should act on, the appendices' rows and the generation record. The
renderers only lay it out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..models import (
    Comment,
    Conflict,
    DroppedFact,
    Fact,
    FactSet,
    Filed,
    Manifest,
    Memo,
    Paragraph,
    Repair,
    Report,
    Section,
    Sentence,
    SourceInfo,
    Violation,
)
from ..notation import (
    FINANCIALS_SECTION,
    HASH_MASK,
    KEY_FIGURES_SECTION,
    chart_caption,
    kinds_text,
    mask_hash,
    memo_hash,
    note_text,
    numbered_notes,
    printed_section,
)
from ..numbers import Mention, backs, extract
from ..validate import Ledger
from .chart import Chart, chart_of

MAX_KEY_FIGURES = (
    3  # "the two or three figures that matter": the decision page has room for no more
)
STALE_SOURCE_DAYS = 365
Key = tuple[str, int, int]  # (section key, paragraph, sentence)


@dataclass(frozen=True)
class MemoContext:
    """What the memo reports besides its text: the date it speaks for, the gate's report, and how
    the answers were produced (``manifest`` may be missing for a draft rendered on its own)."""

    as_of: dt.date
    report: Report
    model: str
    mode: str  # "live", "record", "replay", or "unknown"
    provenance: str = ""  # e.g. "hand-written": where replayed answers came from
    manifest: Manifest | None = None
    flagged: bool = False  # --allow-flagged: the memo is written although the gate failed


# --- the decision page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigure:
    figure: str
    what: str
    fact_id: str


def key_figures(memo: Memo, ledger: Ledger, limit: int = MAX_KEY_FIGURES) -> list[KeyFigure]:
    """The first figures of the bottom line (the memo's first section) that a cited fact backs,
    one per fact, with that fact's statement as what the figure is. Years and dates are context,
    not figures that matter."""
    if not memo.sections:
        return []
    found: list[KeyFigure] = []
    for paragraph in memo.sections[0].paragraphs:
        for sentence in paragraph.sentences:
            for said in extract(sentence.text, ledger.identifiers):
                if said.kind in ("year", "date", "period") or len(found) >= limit:
                    continue
                taken = {k.fact_id for k in found}
                for fid in sentence.cites:
                    if fid in ledger.facts and fid not in taken and _backed(said, fid, ledger):
                        found.append(KeyFigure(said.text, ledger.facts[fid].statement, fid))
                        break
    return found


def _backed(said: Mention, fact_id: str, ledger: Ledger) -> bool:
    tolerance = ledger.options.rounding_tolerance
    return any(backs(m, said, tolerance=tolerance) for m in ledger.figures[fact_id])


def checked_memo(memo: Memo, figures: Sequence[KeyFigure]) -> Memo:
    """The memo as printed and checked: the key-figures table is a section of its own after the
    bottom line, so the gate, the hash and the reader of an edited memo all see it. Sentences are
    split as printed here too (drafts are split when made; a draft.json from elsewhere may not be)."""
    memo = memo.model_copy(update={"sections": [printed_section(s) for s in memo.sections]})
    if not figures:
        return memo
    rows = Section(
        key=KEY_FIGURES_SECTION,
        heading="Key figures",
        paragraphs=[
            Paragraph(sentences=[Sentence(text=f"{k.figure}: {k.what}", cites=[k.fact_id])])
            for k in figures
        ],
    )
    return memo.model_copy(update={"sections": [memo.sections[0], rows, *memo.sections[1:]]})


@dataclass(frozen=True)
class FrontMatter:
    """Page 1 above the bottom line, as both renderers print it, in document order."""

    title: str
    labels: tuple[str, ...]
    values: tuple[str, ...]
    banners: tuple[str, ...]  # --allow-flagged's warning, then the provenance line
    notes_line: str  # what the memo rests on, and how many review notes Appendix C lists

    def text(self, validation: str) -> str:
        """What the checked-text hash covers of page 1, in document order; the validation line is
        in it with its hash masked (``notation.mask_hash``)."""
        parts = [self.title, *self.labels, *self.values, *self.banners, validation]
        return " ".join([*parts, self.notes_line])


def front_matter(memo: Memo, context: MemoContext, factset: FactSet) -> FrontMatter:
    banners = [flagged_banner(context.report)] if context.flagged else []
    provenance = provenance_line(context)
    if provenance:
        banners.append(provenance)
    # The notes Appendix C lists (the ledger's); the report may carry more warnings (--verify).
    notes = len(factset.warnings) + len(factset.conflicts)
    lines = [sources_line(factset, context.as_of)]
    if notes:
        lines.append(
            f"{notes} review note{'s' if notes > 1 else ''} on the sources (conflicts, "
            "warnings): see Appendix C."
        )
    return FrontMatter(
        title=memo.title,
        labels=("Company", "Ticker", "As of", "Stance"),
        values=(memo.company or "(not given)", memo.ticker, context.as_of.isoformat(), memo.stance),
        banners=tuple(banners),
        notes_line=" ".join(lines),
    )


def sources_line(factset: FactSet, as_of: dt.date) -> str:
    """What the memo rests on, in one line: how many sources, what kind, how old at the memo's date."""
    count = len(factset.sources)
    labels: dict[str, int] = {}
    for source in factset.sources:
        for label in source_labels(source):
            labels[label] = labels.get(label, 0) + 1
    kinds = ", ".join(f"{n} {label}" for label, n in labels.items())
    line = f"Based on {count} source{'s' if count != 1 else ''}" + (f" ({kinds})" if kinds else "")
    dates = [s.published for s in factset.sources if s.published is not None]
    if dates:
        newest = max(dates)
        age = (as_of - newest).days
        line += f"; the newest published {newest.isoformat()}"
        if age > 0:
            line += f", {age} days before this memo's date"
    undated = count - len(dates)
    if undated:
        line += f"; {undated} undated"
    return line + "."


def validation_line(memo: Memo, context: MemoContext, front: FrontMatter) -> str:
    """One line that says what the gate covered: when, how much, the outcome and the hash of the
    text it covered, so an edited copy never seems to carry a check it did not pass."""
    report = context.report
    outcome = "gate passed" if report.ok else f"{len(report.violations)} sentence problem(s) remain"
    repaired = repaired_count(report)
    repairs = f"{repaired} rejected draft(s) repaired" if repaired else "no repairs"
    line = (
        f"Validation: {report.figures_checked} figures in {report.sentences} sentences checked on "
        f"{context.as_of.isoformat()} against {report.facts_cited} cited facts; {outcome}; "
        f"{repairs}; text hash {HASH_MASK}."
    )
    return line.replace(HASH_MASK, memo_hash(memo, front.text(mask_hash(line))))


def repaired_count(report: Report) -> int:
    return len(repaired_attempts(report))


def repaired_attempts(report: Report) -> list[Repair]:
    """Rejected attempts that a later attempt replaced: a section's last rejected attempt is not
    "repaired" when the section still fails (--allow-flagged)."""
    failing = {v.section for v in report.violations}
    last: dict[str, int] = {}
    for repair in report.repairs:
        last[repair.section] = max(last.get(repair.section, 0), repair.attempt)
    return [
        r for r in report.repairs if not (r.section in failing and r.attempt == last[r.section])
    ]


def provenance_line(context: MemoContext) -> str | None:
    """Said on page 1 whenever the answers were not a live model's."""
    if context.mode == "live" or context.mode == "record":
        return None
    if context.mode == "replay":
        origin = f"{context.provenance} " if context.provenance else ""
        return (
            f"Not a live run: the model's answers were replayed from {origin}recordings "
            f"({context.model or 'model not named'})."
        )
    return "Rendered from a saved draft; how its answers were produced is not recorded here."


def failing_sentences(report: Report) -> set[Key]:
    return {(v.section, v.paragraph, v.sentence) for v in report.violations}


def flagged_banner(report: Report) -> str:
    sentences = failing_sentences(report)
    checked = any(v.kind == "model_contradicted" for v in report.violations)
    what = (
        "figures their cited facts do not back, or claims the model check found their cited "
        "facts contradict"
        if checked
        else "figures their cited facts do not back"
    )
    return (
        f"This memo FAILED the validator gate: {len(sentences)} sentence(s) hold {what}. They "
        "are highlighted and commented; do not rely on them."
    )


# --- comments ------------------------------------------------------------------------------------

# Words promotional sources use to sell rather than report. Matched in a cited fact's quote, so the
# reviewer knows the memo's neutral sentence rests on promotional wording.
_PROMOTIONAL = re.compile(
    r"\b(game[- ]chang\w*|transformative|unprecedented|revolutionar\w*|breakthrough|"
    r"world[- ]class|best[- ]in[- ]class|cutting[- ]edge|massive|explosive|skyrocket\w*|"
    r"soar\w*|huge|unmatched|unparalleled|low[- ]risk|risk[- ]free|guaranteed|must[- ]own|"
    r"once[- ]in[- ]a[- ]generation|next[- ]big|lucrative|dominan\w*|strategic masterstroke|"
    r"poised to|positioned to (?:capture|dominate|benefit)|first[- ]mover|pivotal|"
    r"unique opportunity|compelling opportunity|significant upside)\b",
    re.IGNORECASE,
)
_AI_GENERATED = re.compile(r"\bAI[- ]generated\b|\bgenerated by AI\b", re.IGNORECASE)
_ANALYST_NOTES = re.compile(r"\banalyst(?:'s|s')? notes?\b", re.IGNORECASE)


def promotional_terms(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).lower() for m in _PROMOTIONAL.finditer(text)))


def source_labels(source: SourceInfo) -> list[str]:
    """Labels the source's own metadata justifies."""
    text = " ".join(t for t in (source.title, source.publisher or "", source.note or "") if t)
    labels = []
    if _AI_GENERATED.search(text):
        labels.append("AI-generated")
    if _ANALYST_NOTES.search(text):
        labels.append("analyst notes")
    return labels


def _similarity(a: str, b: str) -> float:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(1, len(wa | wb))


@dataclass
class Comments:
    """Review comments by sentence (never a heading), in the order a reviewer should read them."""

    by_sentence: dict[Key, list[str]] = field(default_factory=dict)

    def add(self, key: Key, text: str) -> None:
        notes = self.by_sentence.setdefault(key, [])
        if text not in notes:
            notes.append(text)


def _sentences(memo: Memo) -> Iterable[tuple[Key, Sentence]]:
    for section in memo.sections:
        for p, paragraph in enumerate(section.paragraphs):
            for s, sentence in enumerate(paragraph.sentences):
                yield (section.key, p, s), sentence


def plain_reason(v: Violation) -> str:
    """Why the gate rejected a figure, for the reviewer: what the cited facts say, not the
    instruction the repair prompt gives the model."""
    said = ", ".join(v.fact_figures)
    match v.kind:
        case "uncited_number":
            return f"'{v.token}' had no cited fact"
        case "unknown_citation":
            return f"it cited {v.token}, which is not in the ledger"
        case "unsupported_number":
            return f"'{v.token}' is not in the cited facts" + (
                f" (they say {said})" if said else ""
            )
        case "period_mismatch":
            return f"'{v.token}' is a different period from the cited facts'" + (
                f" ({said})" if said else ""
            )
        case "unit_mismatch":
            return f"'{v.token}' has a different unit from the cited facts'" + (
                f" ({said})" if said else ""
            )
        case "bad_calculation":
            return f"the calculation of '{v.token}' does not check out against the cited facts"
        case _:  # what a figure means (claims), the model check: the gate's own words
            return v.message


# What each kind of the gate's reviewer comments (Report.comments) is, as the reviewer reads it.
COMMENT_LABELS: dict[str, str] = {
    "qualifier_dropped": "Qualifier left out",
    "model_contradicted": "Model check",  # the message says what the model found
    "model_unverified": "Model check",
}


def comment_note(comment: Comment) -> str:
    """A finding that does not fail the gate, as its Word comment and report.md entry say it: what
    kind of finding it is, then the gate's message."""
    label = COMMENT_LABELS.get(comment.kind, comment.kind.replace("_", " ").capitalize())
    message = " ".join(comment.message.split())
    end = "" if message.endswith((".", "!", "?")) else "."
    return f"{label}: {message}{end}"


def review_comments(memo: Memo, factset: FactSet, context: MemoContext) -> Comments:
    comments = Comments()
    facts = factset.by_id()
    report = context.report
    failed: dict[Key, list[str]] = {}
    for v in report.violations:
        failed.setdefault((v.section, v.paragraph, v.sentence), []).append(plain_reason(v))
    for key, reasons in failed.items():
        comments.add(key, f"FAILED the gate: {'; '.join(reasons)}. Do not rely on this sentence.")
    for found in report.comments:
        comments.add((found.section, found.paragraph, found.sentence), comment_note(found))
    _repair_comments(memo, report, comments)
    conflicts = {fid: c for c in factset.conflicts for fid in c.facts}
    old = old_sources(factset, context.as_of)
    seen: set[tuple[str, ...]] = set()  # each note once, on the first sentence that needs it

    def first(*what: str) -> bool:
        if what in seen:
            return False
        seen.add(what)
        return True

    for key, sentence in _sentences(memo):
        cited = [facts[c] for c in sentence.cites if c in facts]
        promotional: dict[str, list[str]] = {}
        for fact in cited:
            if fact.source_id == "analyst" and first("analyst", fact.id):
                comments.add(
                    key,
                    f"{fact.id} is analyst-supplied, with no source document: confirm the figure "
                    "before sign-off.",
                )
            if fact.secondary and first("secondary", fact.source_id):
                refs = ", ".join(f"[{r.ref}]" for r in fact.secondary)
                comments.add(
                    key,
                    f"Second-hand: {fact.source_id} reports this from its own reference {refs}, "
                    "as it does other facts (Appendix A gives each fact's reference, Appendix B "
                    "their titles): check the primary sources before relying on the figures.",
                )
            conflict = conflicts.get(fact.id)
            if conflict is not None and first("conflict", conflict.note):
                comments.add(
                    key, f"Sources disagree on this measure: {conflict_text(conflict, facts)}."
                )
            terms = promotional_terms(fact.quote)
            if terms and first("promotional", fact.id):
                promotional.setdefault(", ".join(terms), []).append(fact.id)
            note = old.get(fact.source_id)
            if note is not None and first("old", fact.source_id):
                comments.add(key, note)
        for wording, ids in promotional.items():
            comments.add(
                key,
                f"The source of {', '.join(ids)} uses promotional language ({wording}): keep the "
                "claim attributed to it, not stated as fact.",
            )
    return comments


def conflict_text(conflict: Conflict, facts: Mapping[str, Fact]) -> str:
    """Who says what, without the drafting instruction the ledger's note carries for the model."""
    said = []
    for fid, figure in zip(conflict.facts, conflict.figures, strict=False):
        fact = facts.get(fid)
        said.append(f"{fid} ({fact.source_id if fact else 'unknown source'}) says {figure}")
    return "; ".join(said)


def old_sources(factset: FactSet, as_of: dt.date) -> dict[str, str]:
    """Sources published more than a year before the memo's date, each with a note saying so."""
    notes = {}
    for source in factset.sources:
        if source.published is not None and (as_of - source.published).days > STALE_SOURCE_DAYS:
            age = (as_of - source.published).days
            notes[source.id] = (
                f"{source.id} was published {source.published.isoformat()}, {age} days before "
                f"this memo's date ({as_of.isoformat()}): check that its figures still hold."
            )
    return notes


def _repair_comments(memo: Memo, report: Report, comments: Comments) -> None:
    """Each rejected sentence's comment sits on the final sentence most like it, saying what the
    rejected text was and why it was rejected."""
    by_section = {s.key: s for s in memo.sections}
    for repair in repaired_attempts(report):
        section = by_section.get(repair.section)
        if section is None:
            continue
        candidates = [
            ((repair.section, p, s), t)
            for p, paragraph in enumerate(section.paragraphs)
            for s, t in enumerate(paragraph.sentences)
        ]
        if not candidates:
            continue
        by_text: dict[str, list[str]] = {}
        for v in repair.violations:
            by_text.setdefault(v.text or "(text not recorded)", []).append(plain_reason(v))
        for rejected, reasons in by_text.items():
            key, _ = max(candidates, key=lambda c: _similarity(c[1].text, rejected))
            comments.add(
                key,
                f"Repaired: draft attempt {repair.attempt} said \u201c{rejected}\u201d, which the "
                f"gate rejected: {'; '.join(reasons)}. Check that the repair kept the meaning.",
            )


# --- notes, appendices, generation record --------------------------------------------------------


def calculation_notes(memo: Memo) -> dict[str, list[str]]:
    """The printed calculation notes of each section, numbered through the memo."""
    numbers = numbered_notes(memo)
    notes: dict[str, list[str]] = {}
    for key, sentence in _sentences(memo):
        for number, calculation in zip(numbers.get(key, []), sentence.calculations, strict=True):
            notes.setdefault(key[0], []).append(note_text(number, calculation))
    return notes


def cited_facts(memo: Memo, factset: FactSet) -> list[Fact]:
    """The facts the memo cites, the chart's plotted facts included, in ledger order (Appendix A
    lists exactly these)."""
    cited = {c for _, t in _sentences(memo) for c in t.cites}
    drawn = memo_chart(memo, factset)
    if drawn is not None:
        cited |= set(drawn.chart.fact_ids)
    return [f for f in factset.facts if f.id in cited]


# --- the financials chart ------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoChart:
    """The chart and where it goes: at the end of the section ``section`` (its key)."""

    chart: Chart
    section: str
    caption: str  # the caption's words; the plotted facts' markers follow them


def chart_section(memo: Memo) -> str | None:
    """The section the chart closes: the outline's financials section, else the first whose
    heading mentions financials, else the last body section (never the key-figures table)."""
    body = [s for s in memo.sections if s.key != KEY_FIGURES_SECTION]
    for section in body:
        if section.key == FINANCIALS_SECTION:
            return section.key
    for section in body:
        if "financ" in section.heading.lower():
            return section.key
    return body[-1].key if body else None


def memo_chart(memo: Memo, factset: FactSet) -> MemoChart | None:
    """The memo's one chart (:func:`thesisgen.render.chart.chart_of` over the ledger's XBRL
    facts), or None: no chart without enough annual XBRL figures."""
    if not any(f.kind == "xbrl" for f in factset.facts):
        return None
    section = chart_section(memo)
    chart = chart_of(factset.facts, memo.company or factset.company or memo.ticker)
    if chart is None or section is None:
        return None
    return MemoChart(chart, section, chart_caption(chart.title))


KIND_NOTES = {
    "verbatim": "verbatim: the model's statement misstated its evidence, so the source's words stand",
    "rules": "rules: the source's sentence, kept without a model",
    "xbrl": "xbrl: the figure as the company filed it, stated without a model",
}
XBRL_QUOTE_HEADER = "Quote (verbatim) or filed record"


def filed_record(filed: Filed) -> str:
    """Appendix A's evidence of an XBRL fact, in place of a quote: the record as filed (the
    filing's link is printed after it)."""
    start = filed.start.isoformat() if filed.start else None
    period = f"{start} to {filed.end.isoformat()}" if start else f"at {filed.end.isoformat()}"
    value = format(filed.value.normalize(), "f")  # 394328000000, as in the filing (no ".0")
    return (
        f"{filed.taxonomy}:{filed.concept}; unit {filed.unit}; period {period} ({filed.period}); "
        f"value as filed {value}; form {filed.form}, filed {filed.filed.isoformat()}; "
        f"accession {filed.accession}"
    )


def appendix_a_intro(cited: Sequence[Fact], factset: FactSet) -> str:
    """The line above Appendix A's table."""
    evidence = "verbatim quote"
    if any(f.filed is not None for f in cited):
        evidence += " or, for a figure filed in XBRL, its filed record and a link to the filing"
    return (
        f"The {len(cited)} facts the memo cites, in ledger order, each with its {evidence}; "
        f"facts.json holds all {len(factset.facts)} ({kinds_text(factset.kinds())})."
    )


def quote_header(cited: Sequence[Fact]) -> str:
    return XBRL_QUOTE_HEADER if any(f.filed is not None for f in cited) else "Quote (verbatim)"


def kind_note(fact: Fact) -> str:
    """How Appendix A marks a fact whose statement is its source's own words ('' for model)."""
    note = KIND_NOTES.get(fact.kind)
    return f" [{note}]" if note else ""


def dropped_text(dropped: DroppedFact) -> str:
    """Why a proposed statement is not in the ledger, and which fact stands in its place."""
    instead = f" {dropped.kept_as} stands in its place." if dropped.kept_as else ""
    return f"Reason: {dropped.reason}.{instead}"


def locator(fact: Fact) -> str:
    """Where the quote is in its source: pages for a PDF, else the character span."""
    pages = sorted({loc.page for loc in fact.locators if loc.page})
    if pages:
        return ("p. " if len(pages) == 1 else "pp. ") + ", ".join(map(str, pages))
    if fact.locators:
        first = fact.locators[0]
        return f"chars {first.start}\u2013{first.end}"
    return ""


def secondary_note(fact: Fact) -> str:
    """The source's own reference numbers for the fact; their titles are in the fact's comment."""
    if not fact.secondary:
        return ""
    return "via ref. " + ", ".join(f"[{s.ref}]" for s in fact.secondary)


def short_sha(source: SourceInfo) -> str:
    return source.sha256[:10] if source.sha256 else ""


def generation_record(context: MemoContext, factset: FactSet) -> list[tuple[str, str]]:
    """Appendix D: how the memo was made, for the reviewer who must reproduce or question it."""
    rows: list[tuple[str, str]] = [
        ("Model", context.model or "unknown"),
        ("Mode", context.mode + (f" ({context.provenance})" if context.provenance else "")),
        ("Memo date (as of)", context.as_of.isoformat()),
    ]
    manifest = context.manifest
    report = context.report
    if manifest is not None:
        params = ", ".join(f"{k} {v}" for k, v in sorted(manifest.parameters.items()))
        rows += [
            ("Server", manifest.base_url or "none (no network)"),
            ("Parameters", params),
            ("Structured output", manifest.structured_output or "not recorded"),
            ("Prompt templates sha256", manifest.prompt_templates_sha256[:16]),
            ("thesisgen", manifest.thesisgen_version),
        ]
        attempts: dict[str, int] = {}
        for call in manifest.calls:
            if call.stage == "draft":
                attempts[call.target] = max(attempts.get(call.target, 0), call.attempt)
        if attempts:
            rows.append(
                ("Attempts per section", ", ".join(f"{k} {n}" for k, n in attempts.items()))
            )
        verify = manifest.parameters.get("verify")
        if verify:
            rows.append(("Model check", _model_check(str(verify), manifest, report)))
        usage = manifest.usage
        rows.append(
            (
                "Tokens",
                f"{usage.prompt_tokens:,} prompt, {usage.completion_tokens:,} completion in "
                f"{len(manifest.calls)} call(s) ({manifest.model_calls} to a live model)",
            )
        )
        rows.append(
            ("Cost", "none (replayed)" if manifest.mode == "replay" else _cost(manifest.cost_usd))
        )
    repaired = repaired_attempts(report)
    for repair in report.repairs:
        fixed = "; ".join(plain_reason(v) for v in repair.violations)
        outcome = "repaired by the next attempt" if repair in repaired else "still failing"
        rows.append(
            (f"Rejected: {repair.section}, attempt {repair.attempt}", f"{fixed} ({outcome})")
        )
    return rows


def _model_check(mode: str, manifest: Manifest, report: Report) -> str:
    """Appendix D's line on the model check (--verify): how many sentences it read and what it
    found (the findings are comments, or in gate mode violations, on the sentences)."""
    answered = sum(1 for c in manifest.calls if c.stage == "verify")
    kinds = [v.kind for v in report.violations] + [c.kind for c in report.comments]
    contradicted = kinds.count("model_contradicted")
    unconfirmed = kinds.count("model_unverified")
    return (
        f"--verify {mode}: the model judged {answered} sentence(s); {contradicted} contradicted "
        f"by their cited facts, {unconfirmed} not confirmed (each commented on its sentence)"
    )


def source_review_notes(factset: FactSet) -> list[str]:
    """Conflicts between sources and warnings about them, for the appendix on dropped facts."""
    facts = factset.by_id()
    notes = [f"Sources disagree: {conflict_text(c, facts)}." for c in factset.conflicts]
    return notes + [f"Warning: {w}." for w in factset.warnings]


def cited_references(factset: FactSet) -> dict[str, list[str]]:
    """Each source's own references that the ledger's facts rely on, as "[3] Title"."""
    refs: dict[str, dict[str, str]] = {}
    for fact in factset.facts:
        for ref in fact.secondary:
            refs.setdefault(fact.source_id, {}).setdefault(ref.ref, ref.title)
    return {
        sid: [f"[{r}] {t}" for r, t in sorted(found.items(), key=lambda i: _ref_order(i[0]))]
        for sid, found in refs.items()
    }


def _ref_order(ref: str) -> tuple[int, str]:
    return (int(ref), ref) if ref.isdigit() else (10**9, ref)


def _cost(cost: float | None) -> str:
    return "unknown (no price for this model)" if cost is None else f"${cost:.4f}"

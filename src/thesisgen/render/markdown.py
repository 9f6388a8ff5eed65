"""The memo as Markdown: the same content as the DOCX, in the same order, for diffs and quick reading.

Comments become a "Review notes" list under each section (Markdown has no comments); calculation
notes are numbered as in the DOCX.
"""

from __future__ import annotations

from ..models import MODEL_CHECK_WARNING, FactSet, Memo, Report, Violation
from ..notation import (
    KEY_FIGURES_HEADER,
    KEY_FIGURES_SECTION,
    cite_marker,
    kinds_text,
    numbered_notes,
)
from ..outputs import CHART_FILE
from . import (
    MemoContext,
    appendix_a_intro,
    calculation_notes,
    cited_facts,
    cited_references,
    comment_note,
    dropped_text,
    failing_sentences,
    filed_record,
    front_matter,
    generation_record,
    kind_note,
    locator,
    memo_chart,
    plain_reason,
    quote_header,
    review_comments,
    secondary_note,
    short_sha,
    source_labels,
    source_review_notes,
    validation_line,
)
from .chart import alt_text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_markdown(memo: Memo, factset: FactSet, context: MemoContext) -> str:
    """Render the checked memo (see :func:`thesisgen.render.checked_memo`)."""
    front = front_matter(memo, context, factset)
    lines = [
        f"# {front.title}",
        "",
        _row(list(front.labels)),
        "|" + "---|" * len(front.labels),
        _row(list(front.values)),
        "",
    ]
    lines += [line for banner in front.banners for line in (f"**{banner}**", "")]
    lines += [f"*{validation_line(memo, context, front)}*", ""]
    lines += [front.notes_line, ""]

    comments = review_comments(memo, factset, context)
    numbers = numbered_notes(memo)
    notes = calculation_notes(memo)
    failed = failing_sentences(context.report)
    drawn = memo_chart(memo, factset)
    for section in memo.sections:
        if section.key == KEY_FIGURES_SECTION:
            lines += [_row(list(KEY_FIGURES_HEADER)), "|---|---|---|"]
            figure_notes: list[str] = []
            for p, paragraph in enumerate(section.paragraphs):
                sentence = paragraph.sentences[0]
                figure, what = sentence.text.split(": ", 1)
                lines.append(_row([f"**{figure}**", what, cite_marker(sentence.cites)]))
                figure_notes += [
                    f"- {figure}: {note}"
                    for note in comments.by_sentence.get((section.key, p, 0), [])
                ]
            lines.append("")
            if figure_notes:
                lines += ["Review notes:", "", *figure_notes, ""]
            continue
        lines += [f"## {section.heading}", ""]
        review: list[str] = []
        for p, paragraph in enumerate(section.paragraphs):
            parts = []
            for s, sentence in enumerate(paragraph.sentences):
                key = (section.key, p, s)
                text = f"=={sentence.text}==" if key in failed else sentence.text
                refs = "".join(f"<sup>{n}</sup>" for n in numbers.get(key, []))
                parts.append(f"{text}{refs} {cite_marker(sentence.cites)}".rstrip())
                review += [
                    f"- ¶{p + 1} s{s + 1}: {note}" for note in comments.by_sentence.get(key, [])
                ]
            lines += [" ".join(parts), ""]
        for note in notes.get(section.key, []):
            lines += [f"<small>{note}</small>", ""]
        if drawn is not None and section.key == drawn.section:
            lines += [f"![{alt_text(drawn.chart)}]({CHART_FILE})", ""]
            lines += [f"*{drawn.caption}* {cite_marker(drawn.chart.fact_ids)}", ""]
        if review:
            lines += ["Review notes:", "", *review, ""]

    cited = cited_facts(memo, factset)
    lines += ["## Appendices", "", "### A. Cited facts", ""]
    lines += [appendix_a_intro(cited, factset), ""]
    lines += [_row(["ID", "Statement", quote_header(cited), "Source"]), "|---|---|---|---|"]
    for fact in cited:
        where = "analyst-supplied" if fact.source_id == "analyst" else fact.source_id
        extra = ", ".join(t for t in (locator(fact), secondary_note(fact)) if t)
        where += f", {extra}" if extra else ""
        statement = fact.statement + kind_note(fact)
        evidence = (
            f"{filed_record(fact.filed)} <{fact.filed.url}>"
            if fact.filed is not None
            else f"\u201c{fact.quote}\u201d"
        )
        lines.append(_row([fact.id, statement, evidence, where]))
    lines += ["", "### B. Sources", ""]
    lines += [_row(["ID", "Source", "Date", "sha256"]), "|---|---|---|---|"]
    references = cited_references(factset)
    for source in factset.sources:
        about = f"**{source.title}**"
        about += f". {source.publisher}" if source.publisher else ""
        labels = source_labels(source)
        about += f" *[{'; '.join(labels)}]*" if labels else ""
        about += f" <{source.url}>" if source.url else ""
        about += f" Note: {source.note}" if source.note else ""
        if source.id in references:
            about += " Its references behind cited facts: " + "; ".join(references[source.id])
        date = source.published.isoformat() if source.published else "undated"
        lines.append(_row([source.id, about, date, short_sha(source)]))
    lines += ["", "### C. Dropped facts and source review notes", ""]
    if not factset.dropped:
        lines.append(
            "No proposed fact was dropped or replaced: each statement was backed by its evidence."
        )
    for dropped in factset.dropped:
        lines.append(f"- **{dropped.source_id}:** {dropped.statement} *{dropped_text(dropped)}*")
    lines += [f"- {note}" for note in source_review_notes(factset)]
    lines += ["", "### D. Generation record", "", "| Item | Value |", "|---|---|"]
    lines += [_row([item, value]) for item, value in generation_record(context, factset)]
    return "\n".join(lines).rstrip() + "\n"


def render_report(report: Report, memo_written: bool) -> str:
    """``report.md``: what the gate found, sentence by sentence, for a person rather than a tool."""
    if report.ok:
        verdict = "The memo passed the validator gate."
    else:
        verdict = "The memo did NOT pass the validator gate" + (
            ": it was written with --allow-flagged, failing sentences highlighted."
            if memo_written
            else ", so no memo was written (pass --allow-flagged to write it anyway, flagged)."
        )
    lines = [
        "# Validation report",
        "",
        verdict,
        "",
        f"- Sentences checked: {report.sentences}",
        f"- Figures checked: {report.figures_checked}",
        f"- Facts cited: {report.facts_cited}",
        f"- Facts in the ledger: {kinds_text(report.fact_kinds)}",
        f"- Violations: {len(report.violations)}",
        *([f"- Reviewer comments: {len(report.comments)}"] if report.comments else []),
        "",
    ]
    by_sentence: dict[tuple[str, int, int], list[Violation]] = {}
    for v in report.violations:
        by_sentence.setdefault((v.section, v.paragraph, v.sentence), []).append(v)
    if by_sentence:
        lines += ["## Sentences that failed", ""]
    for (section, p, s), found in by_sentence.items():
        lines.append(f"### {section}, paragraph {p + 1}, sentence {s + 1}")
        lines.append("")
        if found[0].text:
            lines += [f"> {found[0].text}", ""]
        lines += [f"- **{v.token}**: {plain_reason(v)} ({v.kind})" for v in found]
        lines.append("")
    if report.comments:
        lines += [
            "## Reviewer comments",
            "",
            "These do not fail the gate; in memo.docx each is a comment on its sentence.",
            "",
        ]
        for c in report.comments:
            quoted = f" \u201c{c.text}\u201d" if c.text else ""
            lines.append(
                f"- {c.section}, paragraph {c.paragraph + 1}, sentence {c.sentence + 1}:{quoted} "
                f"{comment_note(c)} ({c.kind})"
            )
        lines.append("")
    if report.repairs:
        lines += ["## Rejected drafts that the model repaired", ""]
        for repair in report.repairs:
            lines.append(f"- {repair.section}, attempt {repair.attempt}:")
            lines += [
                f"  - \u201c{v.text}\u201d: {plain_reason(v)} ({v.kind})" for v in repair.violations
            ]
        lines.append("")
    if report.dropped_facts:
        lines += ["## Proposed facts dropped in grounding", ""]
        lines += [
            f"- ({d.source_id}) {d.statement} {dropped_text(d)}" for d in report.dropped_facts
        ]
        lines.append("")
    checks = [w for w in report.warnings if w.startswith(MODEL_CHECK_WARNING)]
    notes = [f"- Conflict: {c.note}." for c in report.conflicts]
    notes += [f"- Warning: {w}." for w in report.warnings if w not in checks]
    if notes:
        lines += ["## Review notes on the sources", "", *notes, ""]
    if checks:
        lines += ["## Model check", ""]
        for warning in checks:
            text = warning.removeprefix(MODEL_CHECK_WARNING)
            lines.append(f"- {text[:1].upper()}{text[1:]}.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"

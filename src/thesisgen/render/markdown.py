"""The memo as Markdown: the same content as the DOCX, for diffs and quick reading."""

from __future__ import annotations

from ..models import FactSet, Memo
from . import (
    MemoContext,
    attribution,
    calculation_note,
    cite_marker,
    cited_facts,
    first_page_rows,
    review_notes,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(memo: Memo, factset: FactSet, context: MemoContext) -> str:
    lines = [
        f"# {memo.title}",
        "",
        *(f"- {key}: {value}" for key, value in first_page_rows(memo, context)),
        *(f"- {note}" for note in review_notes(factset)),
        "",
    ]
    notes: list[str] = []
    for section in memo.sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            parts = []
            for sentence in paragraph.sentences:
                part = f"{sentence.text} {cite_marker(sentence.cites)}".rstrip()
                for calculation in sentence.calculations:
                    notes.append(calculation_note(calculation))
                    part += f"[^{len(notes)}]"
                parts.append(part)
            lines += [" ".join(parts), ""]
    lines += [f"[^{i}]: {note}" for i, note in enumerate(notes, 1)]
    if notes:
        lines.append("")
    lines += [
        "## Appendix A: Facts cited",
        "",
        "| ID | Statement | Quote | Source |",
        "|---|---|---|---|",
    ]
    for fact in cited_facts(memo, factset):
        where = attribution(fact, factset)
        lines.append(
            f"| {fact.id} | {_cell(fact.statement)} | \u201c{_cell(fact.quote)}\u201d | {_cell(where)} |"
        )
    lines += ["", "## Appendix B: Sources", ""]
    for source in factset.sources:
        bits = [f"**{source.id}** {source.title}"]
        bits += [
            b for b in (source.publisher, source.published and source.published.isoformat()) if b
        ]
        if source.url:
            bits.append(f"<{source.url}>")
        lines.append("- " + ", ".join(bits))
        if source.note:
            lines.append(f"  - Note: {source.note}")
    if factset.dropped:
        lines += ["", "## Appendix C: Proposed facts dropped in grounding", ""]
        for dropped in factset.dropped:
            lines.append(f"- ({dropped.source_id}) {dropped.statement} — {dropped.reason}")
    return "\n".join(lines).rstrip() + "\n"

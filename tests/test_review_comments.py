"""The gate's reviewer comments (Report.comments: findings that do not fail the gate) reach the
reviewer in every output: a Word comment on the sentence, an entry in report.md, report.json and
`thesisgen validate` (text and --json).

Built from the static AREC pair and comments of our own, so no model and no gate rule is needed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import qn

from conftest import StaticPair, run_cli
from thesisgen import run
from thesisgen.cli import validate_json, validate_lines
from thesisgen.files import dump_model
from thesisgen.models import Comment, FactSet, Memo, Report
from thesisgen.notation import KEY_FIGURES_SECTION, normalise
from thesisgen.render import MemoContext, checked_memo, key_figures
from thesisgen.render.docx import render_docx
from thesisgen.render.markdown import render_markdown, render_report
from thesisgen.validate import Ledger, validate_memo

AS_OF = dt.date(2026, 11, 27)


def _text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def _anchors(document: Any) -> dict[str, str]:
    """Comment id -> the text its range covers."""
    anchors: dict[str, str] = {}
    for start in document.element.body.iter(qn("w:commentRangeStart")):
        cid = start.get(qn("w:id"))
        texts, node = [], start.getnext()
        while node is not None and not (
            node.tag == qn("w:commentRangeEnd") and node.get(qn("w:id")) == cid
        ):
            texts.append(_text(node))
            node = node.getnext()
        anchors[cid] = normalise("".join(texts))
    return anchors


def _memo_and_report(pair: StaticPair) -> tuple[Memo, FactSet, Report, list[Comment]]:
    draft, factset, identifiers, gate = run._pair(pair.draft, pair.facts, None, None)
    memo = checked_memo(draft, key_figures(draft, Ledger.of(factset, identifiers, gate)))
    report = validate_memo(memo, factset, identifiers, gate)
    assert report.ok and not report.comments

    def at(section: str, p: int, s: int) -> str:
        found = next(x for x in memo.sections if x.key == section)
        return found.paragraphs[p].sentences[s].text

    comments = [
        Comment(
            section="market", paragraph=1, sentence=0, kind="qualifier_dropped", token="nearly",
            message="F13 says nearly $900 million; the sentence leaves out 'nearly'",
            text=at("market", 1, 0),
        ),
        Comment(
            section="business", paragraph=0, sentence=1, kind="model_contradicted",
            token="F1", message="F1 says the complex is planned, the sentence says it operates",
            text=at("business", 0, 1),
        ),
        Comment(
            section=KEY_FIGURES_SECTION, paragraph=0, sentence=0, kind="model_unverified",
            token="F7", message="the facts do not say who holds the figure",
            text=at(KEY_FIGURES_SECTION, 0, 0),
        ),
    ]  # fmt: skip
    return memo, factset, report.model_copy(update={"comments": comments}), comments


def test_each_comment_is_a_word_comment_on_its_sentence(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo, factset, report, comments = _memo_and_report(static_pair)
    context = MemoContext(as_of=AS_OF, report=report, model="m", mode="unknown")
    path = tmp_path / "memo.docx"
    render_docx(memo, factset, context, path)

    document = docx.Document(str(path))
    anchors = _anchors(document)
    notes = {str(c.comment_id): c.text for c in document.comments}
    for comment in comments:
        mine = [cid for cid, text in notes.items() if comment.message in text]
        assert len(mine) == 1, comment.message
        anchored = anchors[mine[0]].rstrip("0123456789,")
        if comment.section == KEY_FIGURES_SECTION:  # on the row's figure
            assert anchored == comment.text.split(": ", 1)[0]
        else:
            assert anchored == normalise(comment.text)
    contradicted = next(t for t in notes.values() if comments[1].message in t)
    assert contradicted == f"Model check: {comments[1].message}."
    qualifier = next(t for t in notes.values() if comments[0].message in t)
    assert qualifier.startswith("Qualifier left out: ")

    # The comments change nothing the reader checks: the untouched memo still validates clean.
    (tmp_path / "facts.json").write_bytes(static_pair.facts.read_bytes())
    for source in factset.sources:
        assert source.path
        (tmp_path / source.path).write_bytes((static_pair.folder / source.path).read_bytes())
    result = run_cli("validate", path, "--facts", tmp_path / "facts.json", "--json", cwd=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"ok": True, "violations": []}


def test_memo_md_and_report_md_list_the_comments(static_pair: StaticPair) -> None:
    memo, factset, report, comments = _memo_and_report(static_pair)
    context = MemoContext(as_of=AS_OF, report=report, model="m", mode="unknown")
    markdown = render_markdown(memo, factset, context)
    for comment in comments:
        assert comment.message in markdown

    text = render_report(report, memo_written=True)
    assert "- Reviewer comments: 3" in text
    section = text.split("## Reviewer comments", 1)[1]
    assert "The memo passed the validator gate." in text, "comments do not fail the gate"
    for comment in comments:
        where = (
            f"- {comment.section}, paragraph {comment.paragraph + 1}, "
            f"sentence {comment.sentence + 1}: \u201c{comment.text}\u201d"
        )
        line = next(line for line in section.splitlines() if line.startswith(where))
        assert comment.message in line and f"({comment.kind})" in line

    # report.json keeps them as the Report contract has them.
    again = Report.model_validate_json(dump_model(report))
    assert again.comments == comments

    # No comments: report.md is as before (no section, no count).
    plain = render_report(report.model_copy(update={"comments": []}), memo_written=True)
    assert "Reviewer comments" not in plain


def test_validate_prints_comments_after_violations_without_failing(
    static_pair: StaticPair,
) -> None:
    _, _, report, comments = _memo_and_report(static_pair)
    payload = json.loads(validate_json(run.Checked(report)))
    assert payload["ok"] is True and payload["violations"] == []
    assert list(payload) == ["ok", "violations", "comments"]
    assert payload["comments"] == [
        {
            "section": c.section, "paragraph": c.paragraph, "sentence": c.sentence,
            "kind": c.kind, "token": c.token, "message": c.message,
        }
        for c in comments
    ]  # fmt: skip
    lines = validate_lines(run.Checked(report))
    assert lines[0] == f"market ¶1 s0 comment qualifier_dropped: {comments[0].message}"
    assert lines[-1].startswith("OK: ") and lines[-1].endswith(", 3 comment(s).")

    # Without comments the JSON is exactly the contract's shape.
    bare = report.model_copy(update={"comments": []})
    assert json.loads(validate_json(run.Checked(bare))) == {"ok": True, "violations": []}
    assert "comment" not in validate_lines(run.Checked(bare))[-1]


def test_a_meaning_violation_is_explained_in_the_gate_s_words() -> None:
    """Only a calculation is reported as one: a violation of what a figure means (or the model
    check's) reaches report.md and the Word comment in the gate's own message."""
    from thesisgen.models import Violation
    from thesisgen.render import plain_reason

    held = Violation(
        section="market", paragraph=0, sentence=0, kind="holder_mismatch", token="$900 million",
        message="'$900 million' is POSCO's here but AREC's in F13: name the holder F13 names",
    )  # fmt: skip
    assert plain_reason(held) == held.message
    calculated = held.model_copy(update={"kind": "bad_calculation", "token": "$234"})
    assert "calculation of '$234'" in plain_reason(calculated)

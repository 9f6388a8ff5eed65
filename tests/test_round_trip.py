"""A reviewer edits the memo in Word; `thesisgen validate memo.docx` applies the same gate again.

The edits are made with python-docx and lxml as Word would store them: a changed figure in a
sentence run, a new paragraph with no marker, a marker link deleted, and tracked changes (an
insertion that counts, a deletion that does not).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from conftest import StaticPair, run_cli
from thesisgen import run
from thesisgen.claims import names_in
from thesisgen.numbers import extract

AS_OF = dt.date(2026, 11, 27)


def _render(pair: StaticPair, folder: Path) -> Path:
    return run.render(pair.draft, pair.facts, folder, False, None, AS_OF)


def _validate(memo: Path, facts: Path, cwd: Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", memo, "--facts", facts, "--json", cwd=cwd)
    # stderr: the notes on sources older than a year, then at most one line of error.
    lines = [x for x in result.stderr.splitlines() if not x.endswith("figures still hold.")]
    assert len(lines) <= 1 and "Traceback" not in result.stderr, result.stderr
    return result.code, json.loads(result.stdout)


def _section_paragraphs(document: Any, heading: str) -> list[Any]:
    out: list[Any] = []
    inside = False
    for paragraph in document.paragraphs:
        if paragraph.style.name == "Heading 1":
            inside = paragraph.text == heading
            continue
        if inside and paragraph.style.name != "Calculation Note" and paragraph.text.strip():
            out.append(paragraph)
    return out


def _run(text: str, deleted: bool = False) -> Any:
    run_el = OxmlElement("w:r")
    t = OxmlElement("w:delText" if deleted else "w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run_el.append(t)
    return run_el


def _tracked(kind: str, text: str, change_id: str) -> Any:
    change = OxmlElement(f"w:{kind}")
    change.set(qn("w:id"), change_id)
    change.set(qn("w:author"), "Reviewer")
    change.set(qn("w:date"), "2026-11-28T09:00:00Z")
    change.append(_run(text, deleted=kind == "del"))
    return change


def _text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def _sentence_with_one_marker(document: Any) -> tuple[str, Any]:
    """A body sentence run with a figure whose markers are exactly one link."""
    for paragraph in document.paragraphs:
        if paragraph.style.name != "Normal":
            continue
        children = [c for c in paragraph._p if c.tag in (qn("w:r"), qn("w:hyperlink"))]
        for i, child in enumerate(children[:-2]):
            text = _text(child)
            if child.tag != qn("w:r") or not text.strip() or not extract(text, ()):
                continue
            if _text(children[i + 1]) != " " or children[i + 2].tag != qn("w:hyperlink"):
                continue
            after = children[i + 3] if i + 3 < len(children) else None
            if after is None or after.tag != qn("w:hyperlink"):
                return text.strip(), children[i + 2]
    raise AssertionError("no sentence with a figure and a single marker")


def test_untouched_memo_validates_clean_and_is_not_stale(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert (code, result) == (0, {"ok": True, "violations": []})


def test_reviewer_edits_are_reported_exactly(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    expected: set[tuple[str, str]] = set()

    # 1. A cited figure changed in place: "9.5%" typed over as "9.9%".
    changed = next(
        r for p in document.paragraphs for r in p.runs if "9.5%" in r.text and "[F" not in r.text
    )
    changed.text = changed.text.replace("9.5%", "9.9%")
    expected.add(("unsupported_number", "9.9%"))

    # 2. A new paragraph with a figure and no marker, typed under Risks.
    risks = _section_paragraphs(document, "Risks")
    risks[-1].insert_paragraph_before("Management expects $1.9 billion of revenue next year.")
    expected.add(("uncited_number", "$1.9 billion"))

    # 3. A marker deleted: the only link after a body sentence that states a figure. Its figures
    #    are uncited, and so are the names it gives (other than the company's and its aliases').
    sentence, link = _sentence_with_one_marker(document)
    link.getparent().remove(link)
    expected |= {("uncited_number", m.text) for m in extract(sentence, ())}
    company = {"American", "Resources", "AREC", "ReElement", "Technologies"}
    expected |= {
        ("unknown_name", n.text)
        for n in names_in(sentence)
        if not n.opener and not set(n.text.replace(".", "").split()) <= company | {"US"}
    }

    # 4. Tracked changes in a Market paragraph: an inserted sentence with a figure and no marker
    #    counts; a deleted sentence with a figure does not.
    market = _section_paragraphs(document, "Market")[0]._p
    market.append(_tracked("ins", " Capacity will reach 12,000 tonnes.", "901"))
    market.append(_tracked("del", " Revenue was $7 billion.", "902"))
    expected.add(("uncited_number", "12,000"))

    edited = tmp_path / "edited.docx"
    document.save(str(edited))
    code, result = _validate(edited, static_pair.facts, tmp_path)
    assert code == 1
    found = {(v["kind"], v["token"]) for v in result["violations"]}
    assert found == expected
    assert not any("$7 billion" in v["token"] for v in result["violations"])
    assert set(result) == {"ok", "violations", "stale"}
    assert result["stale"]["reason"] == "edited"
    for v in result["violations"]:
        assert set(v) == {"section", "paragraph", "sentence", "kind", "token", "message"}


def test_stale_line_when_the_text_changed_but_still_passes(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    """A figure-free edit passes the gate, but the page-1 line no longer describes the text."""
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    paragraph = _section_paragraphs(document, "Risks")[0]
    paragraph.insert_paragraph_before("The reviewer adds a caution with no figure in it.")
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["ok"] is True
    assert result["stale"]["reason"] == "edited"
    assert result["stale"]["recorded_date"] == AS_OF.isoformat()


def test_memo_without_a_validation_line_is_stale(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    line = next(p for p in document.paragraphs if p.text.startswith("Validation:"))
    line._p.getparent().remove(line._p)
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["stale"]["reason"] == "no_validation_line"


def test_validate_text_output_names_the_stale_line(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    _section_paragraphs(document, "Risks")[0].insert_paragraph_before("A sentence, no figure.")
    document.save(str(memo))
    result = run_cli("validate", memo, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 0
    assert "STALE: the text was edited after the check on page 1" in result.stdout


def test_memo_for_another_ticker_is_refused(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    document.core_properties.keywords = "PKX; investment thesis"
    document.save(str(memo))
    result = run_cli("validate", memo, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 2 and "is for PKX" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_docx_is_one_line_exit_2(static_pair: StaticPair, tmp_path: Path) -> None:
    for name, data in (
        ("text.docx", b"plain text"),
        ("legacy.docx", b"\xd0\xcf\x11\xe0" + b"0" * 600),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = run_cli("validate", path, "--facts", static_pair.facts, cwd=tmp_path)
        assert result.code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_python_docx_is_imported_only_for_a_docx(static_pair: StaticPair, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from thesisgen import cli\n"
        f"sys.argv = ['thesisgen', 'validate', {str(static_pair.draft)!r}, '--facts', "
        f"{str(static_pair.facts)!r}]\n"
        "try:\n    cli.main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "assert 'docx' not in sys.modules, 'python-docx was imported for a draft.json'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)


def test_tracked_insertion_of_a_marker_cites(static_pair: StaticPair, tmp_path: Path) -> None:
    """A reviewer's uncited figure, then a tracked insertion of the right marker: clean again."""
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    facts = json.loads(static_pair.facts.read_text())
    fact = next(f for f in facts["facts"] if "9.5%" in f["statement"])
    risks = _section_paragraphs(document, "Risks")[-1]
    added = risks.insert_paragraph_before("The forecast rate is 9.5% a year.")
    added._p.append(copy.deepcopy(_tracked("ins", f" [{fact['id']}]", "903")))
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["ok"] is True, result


def test_an_edited_calculation_note_is_checked_and_makes_the_line_stale(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    note = next(p for p in document.paragraphs if p.style.name == "Calculation Note")
    figure = note.text.split(" \u2248 ")[0].split(". ", 1)[1]
    for piece in note.runs:  # the reviewer "corrects" the result in the note and the sentence
        piece.text = piece.text.replace(figure, "$250")
    for paragraph in document.paragraphs:
        for piece in paragraph.runs:
            if figure in piece.text and paragraph.style.name == "Normal":
                piece.text = piece.text.replace(figure, "$250")
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 1
    assert {(v["kind"], v["token"]) for v in result["violations"]} == {("bad_calculation", "$250")}
    assert result["stale"]["reason"] == "edited"


def _validation_run(document: Any) -> Any:
    line = next(p for p in document.paragraphs if p.text.startswith("Validation:"))
    assert len(line.runs) == 1
    return line.runs[0]


def test_an_edit_to_page_one_makes_the_line_stale(static_pair: StaticPair, tmp_path: Path) -> None:
    """Page 1 is not checked by the gate, but its text is in the hash: a changed stance is stale."""
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    stance = document.tables[0].cell(1, 3).paragraphs[0].runs[0]
    stance.text = "strong buy"
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["ok"] is True
    assert result["stale"]["reason"] == "edited"


def test_an_edited_heading_makes_the_line_stale(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    risks = next(p for p in document.paragraphs if p.text == "Risks")
    risks.runs[0].text = "Risks (minor)"
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["stale"]["reason"] == "edited"


def test_the_recorded_hash_is_compared_in_any_case_and_despite_a_bad_date(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    """A hash retyped in capitals still holds; any other edit of the line (an impossible date,
    here) is an edit of the checked text, and the hash is still compared."""
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    run_ = _validation_run(document)
    digest = run_.text.rsplit("text hash ", 1)[1].rstrip(".")
    run_.text = run_.text.replace(digest, digest.upper())
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert (code, result) == (0, {"ok": True, "violations": []})

    run_.text = run_.text.replace(AS_OF.isoformat(), "2026-13-45")
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["stale"]["reason"] == "edited"
    assert result["stale"]["recorded_hash"] == digest and result["stale"]["recorded_date"] == ""


def test_editing_what_the_validation_line_claims_makes_it_stale(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    run_ = _validation_run(document)
    run_.text = run_.text.replace("gate passed", "gate passed; target price $45")
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 0 and result["stale"]["reason"] == "edited"


def test_an_addendum_after_the_appendices_is_checked(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    document.add_heading("Addendum", level=1)
    document.add_paragraph("Management now expects $2.5 billion of revenue.")
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 1
    assert [(v["section"], v["kind"], v["token"]) for v in result["violations"]] == [
        ("addendum", "uncited_number", "$2.5 billion")
    ]
    assert result["stale"]["reason"] == "edited"


def test_an_appendices_heading_typed_higher_up_hides_nothing(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    risks = next(p for p in document.paragraphs if p.text == "Risks")
    fake = risks.insert_paragraph_before("Appendices", style="Heading 1")
    risks.insert_paragraph_before("Revenue will triple to $5 billion by 2027.")
    assert fake.text == "Appendices"
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 1
    assert ("uncited_number", "$5 billion") in {
        (v["kind"], v["token"]) for v in result["violations"]
    }


def test_ruby_base_text_is_read(static_pair: StaticPair, tmp_path: Path) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    paragraph = _section_paragraphs(document, "Risks")[0].insert_paragraph_before()
    ruby = OxmlElement("w:r")
    inner = OxmlElement("w:ruby")
    guide, base = OxmlElement("w:rt"), OxmlElement("w:rubyBase")
    guide.append(_run("guide"))
    base.append(_run("Revenue will triple to $5 billion by 2027."))
    inner.extend([guide, base])
    ruby.append(inner)
    paragraph._p.append(ruby)
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert code == 1
    assert ("uncited_number", "$5 billion") in {
        (v["kind"], v["token"]) for v in result["violations"]
    }


def test_cleared_properties_still_check_the_ticker(static_pair: StaticPair, tmp_path: Path) -> None:
    """Word's Document Inspector clears the keywords: the title's "(TICKER)" still names it."""
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    document.core_properties.keywords = ""
    title = next(p for p in document.paragraphs if p.style.name == "Title")
    title.runs[0].text = title.runs[0].text.replace("(AREC)", "(PKX)")
    document.save(str(memo))
    result = run_cli("validate", memo, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 2 and "is for PKX" in result.stderr


def test_a_sentence_moved_with_its_note_reference_keeps_its_calculation(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    memo = _render(static_pair, tmp_path / "m")
    document = docx.Document(str(memo))
    source = next(
        p for p in document.paragraphs
        if any(r.style.name == "Calculation Reference" for r in p.runs)
    )  # fmt: skip
    target = _section_paragraphs(document, "Risks")[0]
    target._p.addprevious(copy.deepcopy(source._p))  # the whole paragraph, note reference and all
    document.save(str(memo))
    code, result = _validate(memo, static_pair.facts, tmp_path)
    assert (code, result["violations"]) == (0, [])
    assert result["stale"]["reason"] == "edited"


def test_printed_sentences_match_what_the_reader_splits() -> None:
    """Model sentences holding two sentences, typed markers or only markers are printed as the
    reader of the .docx will split them, so an untouched memo reads back unchanged."""
    from thesisgen.models import Calculation, Paragraph, Section, Sentence
    from thesisgen.notation import printed_section

    section = Section(
        key="s",
        heading="S",
        paragraphs=[
            Paragraph(
                sentences=[
                    Sentence(
                        text="Revenue rose 5%.  Margins fell to 3%, per [F2].",
                        cites=["F1"],
                        calculations=[Calculation(figure="3%", formula="{F1:3%}")],
                    )
                ]
            ),
            Paragraph(sentences=[Sentence(text="[F4]", cites=["F4"])]),
        ],
    )
    printed = printed_section(section)
    assert len(printed.paragraphs) == 1
    first, second = printed.paragraphs[0].sentences
    assert (first.text, first.cites, first.calculations) == ("Revenue rose 5%.", ["F1", "F2"], [])
    assert second.text == "Margins fell to 3%, per." and [
        c.figure for c in second.calculations
    ] == ["3%"]

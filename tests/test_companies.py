"""The memo's promises hold for any company: PKX (bundled) and a third company the tests build from
their own small sources (the `third_company_run` fixture in conftest.py), not only AREC.

Each memo is re-opened as a reviewer would: page 1 holds the bottom line and key figures, every
[F#] link resolves to a bookmark, every comment sits on a sentence, the furniture is there, and the
untouched memo validates clean with no stale line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import AuthoredRun, run_cli
from thesisgen.models import Memo
from thesisgen.notation import KEY_FIGURES_HEADER, VALIDATION_LINE, normalise
from thesisgen.render import ooxml

# Both runs are served by our stub on 127.0.0.1 (PKX's authored answers, the third company's).
pytestmark = pytest.mark.enable_socket


@pytest.fixture(params=["pkx", "third"])
def company_run(request: pytest.FixtureRequest) -> Path:
    """The folder of PKX's draft from its authored answers (conftest's pkx_authored, not a replay
    of its recordings) or the third company's."""
    if request.param == "pkx":
        pkx: AuthoredRun = request.getfixturevalue("pkx_authored")
        return pkx.out
    folder: Path = request.getfixturevalue("third_company_run")
    return folder


def _text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def test_page_one_has_the_bottom_line_and_key_figures(company_run: Path) -> None:
    document = docx.Document(str(company_run / "memo.docx"))
    memo = Memo.model_validate_json((company_run / "draft.json").read_text())
    first: list[Any] = []
    for block in document.element.body:
        if block.find(qn("w:pPr") + "/" + qn("w:pageBreakBefore")) is not None:
            break
        first.append(block)
    text = " ".join(_text(b) for b in first)
    assert memo.sections[0].heading in text and memo.ticker in text and memo.stance in text
    assert memo.sections[0].paragraphs[0].sentences[0].text in text
    assert VALIDATION_LINE.search(text)
    headers = [
        tuple(_text(c) for c in b.iter(qn("w:tc")))[:3] for b in first if b.tag == qn("w:tbl")
    ]
    assert KEY_FIGURES_HEADER in headers


def test_links_resolve_and_comments_sit_on_sentences(company_run: Path) -> None:
    document = docx.Document(str(company_run / "memo.docx"))
    body = document.element.body
    marks = ooxml.bookmarks(body)
    links = ooxml.internal_links(body)
    assert links and all(anchor in marks for anchor, _ in links)
    memo = Memo.model_validate_json((company_run / "draft.json").read_text())
    sentences = {t.text for s in memo.sections for p in s.paragraphs for t in p.sentences}
    starts = list(body.iter(qn("w:commentRangeStart")))
    assert starts, "each memo has something for the reviewer to check"
    for start in starts:
        cid = start.get(qn("w:id"))
        pieces, node = [], start.getnext()
        while node is not None and not (
            node.tag == qn("w:commentRangeEnd") and node.get(qn("w:id")) == cid
        ):
            pieces.append(_text(node))
            node = node.getnext()
        assert normalise("".join(pieces)).rstrip("0123456789,") in sentences


def test_furniture(company_run: Path) -> None:
    document = docx.Document(str(company_run / "memo.docx"))
    memo = Memo.model_validate_json((company_run / "draft.json").read_text())
    section = document.sections[0]
    assert memo.ticker in "".join(p.text for p in section.header.paragraphs)
    assert ooxml.fields(section.footer._element) == ["PAGE", "NUMPAGES"]
    assert document.core_properties.keywords.startswith(memo.ticker)


def test_untouched_memo_validates_clean(company_run: Path, tmp_path: Path) -> None:
    result = run_cli(
        "validate", company_run / "memo.docx", "--facts", company_run / "facts.json", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"ok": True, "violations": []}

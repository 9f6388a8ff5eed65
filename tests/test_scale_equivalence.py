"""The linear rewrites of four steps give what the straightforward versions gave, byte for byte.

Merging proposed facts, finding conflicts, locating quotes and building the DOCX appendix were
rewritten to grow linearly (benchmarks/scale_bench.py). Each is checked here against a plain
reference kept in this file (the quadratic logic as it was), on the AREC and PKX bundles replayed
offline, and on generated inputs dense in the cases the indexes must not miss.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import AREC, LIVE_ENV, PKX, STATIC
from thesisgen import facts as facts_module
from thesisgen import run
from thesisgen.facts import _Candidate, _clash, _figures, _merge, _Read, find_conflicts
from thesisgen.grounding import QUOTE_GAP, Folded
from thesisgen.models import Conflict, Fact, FactSet, Source
from thesisgen.progress import PlainProgress
from thesisgen.render import docx as docx_module
from thesisgen.render import ooxml
from thesisgen.sources import load_sources

AS_OF = dt.date(2026, 11, 27)
FIXTURES = {"AREC": AREC, "PKX": PKX}

# --- the references: the logic as it was ---------------------------------------------------------


def reference_merge(
    candidates: Sequence[_Candidate],
) -> tuple[list[_Candidate], list[tuple[_Candidate, _Candidate]]]:
    """Each candidate compared with every kept one, first match wins."""
    kept: list[_Candidate] = []
    merged: list[tuple[_Candidate, _Candidate]] = []
    for new in candidates:
        same = next((old for old in kept if facts_module._same_fact(old, new)), None)
        if same is None:
            kept.append(new)
        elif same.kind != "model" and new.kind == "model" and same.numbers == new.numbers:
            at = next(i for i, c in enumerate(kept) if c is same)
            kept[at] = new
            merged = [(c, new if into is same else into) for c, into in merged]
            merged.append((same, new))
        else:
            merged.append((new, same))
    return kept, merged


def reference_conflicts(
    facts: Sequence[Fact], identifiers: Sequence[str], max_per_fact: int = 3
) -> list[Conflict]:
    """Every pair of facts, in ledger order."""
    reads = [_Read.of(f, identifiers) for f in facts]
    linked = [0] * len(reads)
    out: list[Conflict] = []
    for i in range(len(reads)):
        for j in range(i + 1, len(reads)):
            if linked[i] >= max_per_fact:
                break
            if linked[j] >= max_per_fact:
                continue
            conflict = _clash(reads[i], reads[j])
            if conflict is not None:
                out.append(conflict)
                linked[i] += 1
                linked[j] += 1
    return out


def reference_locate(folded: Folded, quote: str) -> list[Any]:
    """Each quote searched for in the whole text, part by part when it is not found whole."""
    whole = folded.locate_all(quote)
    if whole or QUOTE_GAP not in quote:
        return whole
    found: dict[tuple[int, int], Any] = {}
    for part in quote.split(QUOTE_GAP):
        located = folded.locate_all(part)
        if not located:
            return []
        found.update(((loc.start, loc.end), loc) for loc in located)
    return [found[key] for key in sorted(found)]


def reference_rows(table: Any, count: int) -> list[tuple[Any, ...]]:
    """python-docx's own add_row, one row at a time."""
    out = []
    for _ in range(count):
        row = table.add_row()
        ooxml.keep_row_together(row)
        out.append(tuple(row.cells))
    return out


def reference_text(cell: Any, text: str) -> None:
    cell.text = text


def reference_character_style(run: Any, style: str) -> None:
    run.style = style


def reference_style_id(paragraph: Any, style: str) -> str | None:
    styles = paragraph.part.package.main_document_part.styles
    if style not in styles:
        raise ValueError(f"character style {style!r} is not defined in the document")
    style_id: str | None = styles.get_style_id(style, ooxml.WD_STYLE_TYPE.CHARACTER)
    return style_id


# --- the bundles, replayed offline ---------------------------------------------------------------


@dataclass
class Replayed:
    ticker: str
    merges: list[tuple[list[_Candidate], list[_Candidate], list[tuple[_Candidate, _Candidate]]]]
    factsets: list[FactSet]
    sources: list[Source]
    draft: Path
    facts: Path


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Replayed]]:
    """AREC and PKX drafted offline (model facts) and extracted by rules, every _merge recorded."""
    out: dict[str, Replayed] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in LIVE_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("THESISGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        merges: list[Any] = []

        def recording(candidates: Sequence[_Candidate]) -> Any:
            kept, merged = _merge(candidates)
            merges.append((list(candidates), kept, merged))
            return kept, merged

        patch.setattr(facts_module, "_merge", recording)
        for ticker in FIXTURES:
            merges = []
            folder = tmp_path_factory.mktemp(ticker)
            factsets = []
            for flags, entry in (({}, run.draft), ({"extract": "rules"}, run.facts)):
                outcome = entry(
                    run.DraftRequest(
                        ticker=ticker, out=folder / f"out-{len(factsets)}", offline=True,
                        flags=flags, as_of=AS_OF,
                    ),
                    PlainProgress(io.StringIO()),
                )  # fmt: skip
                factset = FactSet.model_validate_json((outcome.folder / "facts.json").read_text())
                assert factset.facts
                factsets.append(factset)
            sources = load_sources([FIXTURES[ticker] / "sources"])
            first = folder / "out-0"
            out[ticker] = Replayed(
                ticker, merges, factsets, sources, first / "draft.json", first / "facts.json"
            )
    yield out


# --- merge ---------------------------------------------------------------------------------------


def _same_merge(
    got: tuple[list[_Candidate], list[tuple[_Candidate, _Candidate]]],
    want: tuple[list[_Candidate], list[tuple[_Candidate, _Candidate]]],
) -> bool:
    """The same candidate objects kept, and the same (candidate, into) pairs, in order."""
    return [id(c) for c in got[0]] == [id(c) for c in want[0]] and [
        (id(c), id(into)) for c, into in got[1]
    ] == [(id(c), id(into)) for c, into in want[1]]


@pytest.mark.parametrize("ticker", list(FIXTURES))
def test_merge_keeps_what_the_reference_kept_on_the_bundles(
    replayed: dict[str, Replayed], ticker: str
) -> None:
    merges = replayed[ticker].merges
    assert len(merges) == 2  # the model run and the rules run
    assert all(candidates for candidates, _, _ in merges)
    for candidates, kept, merged in merges:
        assert _same_merge((kept, merged), reference_merge(candidates))


def _candidates(seed: int, count: int) -> list[_Candidate]:
    """Candidates crowded onto a few sentences of two sources: repeated and nested evidence, the
    same and different figures, every kind, so that replacements chain and keys collide."""
    rng = random.Random(seed)
    sources = [Source(id=f"S{n}", title=f"t{n}", text="x") for n in (1, 2)]
    statements = [
        "Revenue was $5 million in 2024.",
        "revenue  was $5 million in 2024.",
        "Revenue was $6 million in 2024.",
        "The plant employs 40 people.",
        "X is a subsidiary of Y.",
        "X brings Z to market.",
    ]
    out = []
    for seq in range(count):
        start = rng.randint(1, 6)
        numbers = frozenset(range(start, start + rng.choice((1, 1, 1, 2, 3))))
        statement = rng.choice(statements)
        kind: Any = rng.choice(("model", "model", "verbatim", "rules"))
        figures = _figures(statement, ()) if rng.random() < 0.9 else frozenset()
        out.append(
            _Candidate(
                rng.choice(sources), numbers, statement, "financials", kind, "q", [], figures,
                seq=seq,
            )
        )  # fmt: skip
    return out


@pytest.mark.parametrize("seed", range(12))
def test_merge_keeps_what_the_reference_kept_on_crowded_candidates(seed: int) -> None:
    candidates = _candidates(seed, 160)
    got, want = _merge(candidates), reference_merge(candidates)
    assert _same_merge(got, want)
    # Most merge, and some replace a kept fact: the indexes and their updates are exercised.
    assert len(want[0]) <= len(candidates) // 2
    assert any(c.kind != "model" and into.kind == "model" for c, into in want[1])


def test_a_replaced_fact_takes_what_was_merged_into_it() -> None:
    source = Source(id="S1", title="t", text="x")
    figures = _figures("Revenue was $5 million.", ())

    def candidate(kind: Any, numbers: set[int], seq: int) -> _Candidate:
        return _Candidate(
            source, frozenset(numbers), "Revenue was $5 million.", "financials", kind, "q", [],
            figures, seq=seq,
        )  # fmt: skip

    verbatim, nested = candidate("verbatim", {1}, 1), candidate("model", {1, 2}, 2)
    model = candidate("model", {1}, 3)
    kept, merged = _merge([verbatim, nested, model])
    assert kept == [model]
    assert [(c is nested, into is model) for c, into in merged] == [(True, True), (False, True)]
    assert _same_merge((kept, merged), reference_merge([verbatim, nested, model]))


# --- conflicts -----------------------------------------------------------------------------------


def _ledger(seed: int, count: int) -> list[Fact]:
    """Statements about one company, a few segments and a few periods, many of them comparable:
    openers that are cues ("Capital expenditures at ..."), openers that are names, statements
    that name nobody but use an opener's word, agreeing and disagreeing figures."""
    rng = random.Random(seed)
    templates = [
        "{s} revenue was {q}${v} million in {p}.",
        "Capital expenditures at the {s} plant were {q}${v} million in {p}.",
        "{s}'s share of refining was {q}{pct}% in {p}.",
        "Neodymium demand rose {q}{pct}% in {p}.",
        "Demand for neodymium rose {q}{pct}% in {p}.",
        "Production fell {q}{pct}% in {p}.",
        "Output at {s} fell {q}{pct}% in {p}.",
        "The company employs {q}{n} people as of {p}.",
        "Gross margin was {q}{pct}% in {p}, up from {pct2}% a year earlier.",
        "{s} will open {n} plants by {p}.",
    ]
    segments = ["POSCO", "Lynas", "Kestrel Metals", "Norvex", "China"]
    qualifiers = ["", "", "about ", "more than ", "nearly ", "up to "]
    periods = ["2023", "2024", "Q2 2025"]
    out = []
    for i in range(count):
        text = rng.choice(templates).format(
            s=rng.choice(segments), q=rng.choice(qualifiers), v=rng.choice((90, 100, 104, 900)),
            pct=rng.choice((8, 10, 30, 31)), pct2=rng.choice((8, 30)), n=rng.choice((3, 40, 400)),
            p=rng.choice(periods),
        )  # fmt: skip
        out.append(Fact(id=f"F{i + 1}", statement=text, quote=text, source_id="S1"))
    return out


@pytest.mark.parametrize("ticker", list(FIXTURES))
def test_conflicts_are_the_reference_all_pairs_on_the_bundles(
    replayed: dict[str, Replayed], ticker: str
) -> None:
    for factset in replayed[ticker].factsets:
        for most in (1, 3, 50):
            want = reference_conflicts(factset.facts, (), most)
            assert find_conflicts(factset.facts, (), most) == want


def test_conflicts_are_the_reference_all_pairs_on_both_bundles_as_one_ledger(
    replayed: dict[str, Replayed],
) -> None:
    facts = [f for r in replayed.values() for fs in r.factsets for f in fs.facts]
    facts = [f.model_copy(update={"id": f"F{i}"}) for i, f in enumerate(facts, 1)]
    want = reference_conflicts(facts, ())
    assert want, "no conflict at all: a weak check"
    assert find_conflicts(facts, ()) == want


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("most", [1, 3, 1000])
def test_conflicts_are_the_reference_all_pairs_on_dense_ledgers(seed: int, most: int) -> None:
    facts = _ledger(seed, 220)
    want = reference_conflicts(facts, (), most)
    assert len(want) > 20
    assert find_conflicts(facts, (), most) == want


# --- locating quotes -----------------------------------------------------------------------------


def _quotes(text: str, seed: int) -> list[str]:
    """Slices of the text of every length, some run together with QUOTE_GAP, some altered."""
    rng = random.Random(seed)
    quotes = []
    for _ in range(150):
        start = rng.randrange(len(text))
        quotes.append(text[start : start + rng.choice((1, 5, 30, 47, 48, 60, 200, 600))])
    quotes += [f"{a}{QUOTE_GAP}{b}" for a, b in zip(quotes[:20], quotes[20:40], strict=True)]
    quotes += [q.replace("e", "E", 1) for q in quotes[40:60]]  # most of these occur nowhere
    quotes += [q + " and then some words that are not in the source at all" for q in quotes[:5]]
    return [*quotes, "", QUOTE_GAP, text, text + text]


@pytest.mark.parametrize("ticker", list(FIXTURES))
def test_quotes_are_located_as_the_reference_locates_them(
    replayed: dict[str, Replayed], ticker: str
) -> None:
    r = replayed[ticker]
    checked = 0
    for source in r.sources:
        folded = Folded.of(source.text, source.page_starts)
        quotes = [f.quote for fs in r.factsets for f in fs.facts if f.source_id == source.id]
        quotes += _quotes(source.text, len(source.text))
        got = folded.locate_quotes(quotes)
        assert got == [reference_locate(folded, q) for q in quotes]
        assert [folded.locate_quote(q) for q in quotes[:30]] == got[:30]
        checked += sum(1 for located in got if located)
    assert checked > 100


def test_quotes_are_found_where_they_repeat_and_overlap() -> None:
    text = (
        "abc" * 40 + "\n"
    ) * 30 + "revenue grew 12% in 2024 to $40 million, the company said. " * 5
    folded = Folded.of(text, (0, 200, 2000))
    quotes = ["abc" * 20, "bca" * 17, "c" + "abc" * 16, text[-120:], "revenue grew 12% in 2024"]
    quotes += [text[at : at + 60] for at in range(0, 3600, 300)]  # enough to build the index
    got = folded.locate_quotes(quotes)
    assert got == [reference_locate(folded, q) for q in quotes]
    assert len(got[0]) > 30 and len(got[4]) == 5


# --- the DOCX ------------------------------------------------------------------------------------


def _parts(path: Path) -> dict[str, bytes]:
    """The package's parts but the core properties, and comments without their dates: both carry
    the time of writing."""
    with zipfile.ZipFile(path) as package:
        return {
            n: re.sub(rb' w:date="[^"]*"', b"", package.read(n))
            for n in package.namelist()
            if n != "docProps/core.xml"
        }


def _render(draft: Path, facts: Path, out: Path) -> dict[str, bytes]:
    return _parts(run.render(draft, facts, out, False, None, AS_OF))


@pytest.mark.parametrize("which", ["AREC static pair", "PKX replayed"])
def test_the_docx_is_the_reference_docx_byte_for_byte(
    replayed: dict[str, Replayed], which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if which == "PKX replayed":
        draft, facts = replayed["PKX"].draft, replayed["PKX"].facts
    else:
        draft, facts = STATIC / "draft.json", STATIC / "facts.json"
    fast = _render(draft, facts, tmp_path / "fast")
    monkeypatch.setattr(docx_module, "_rows", reference_rows)
    monkeypatch.setattr(docx_module, "_text", reference_text)
    monkeypatch.setattr(docx_module, "character_style", reference_character_style)
    monkeypatch.setattr(ooxml, "_character_style_id", reference_style_id)
    slow = _render(draft, facts, tmp_path / "slow")
    assert fast.keys() == slow.keys()
    assert b"w:cantSplit" in fast["word/document.xml"] and b"w:rStyle" in fast["word/document.xml"]
    for name in fast:
        assert fast[name] == slow[name], name


def test_cell_text_with_tabs_and_breaks_is_written_as_python_docx_writes_it() -> None:
    import docx

    document = docx.Document()
    texts = ["plain", " padded ", "tab\there", "line\nbreak\r\nend", "", "\u201cquoted\u201d"]
    table = document.add_table(rows=len(texts), cols=2)
    for row, text in zip(table.rows, texts, strict=True):
        docx_module._text(row.cells[0], text)
        row.cells[1].text = text
    for row in table.rows:
        fast, slow = (c._tc.xml for c in row.cells)
        assert fast == slow

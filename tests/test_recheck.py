"""An edited facts file is checked before any work: each problem named once, in one line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import STATIC
from thesisgen.errors import InputFileError
from thesisgen.models import FactSet, SourceInfo
from thesisgen.recheck import check_factset, reground
from thesisgen.xbrl import financial_facts, quote_of


def _static() -> FactSet:
    return FactSet.model_validate_json((STATIC / "facts.json").read_text(encoding="utf-8"))


def test_the_static_ledger_has_no_problem() -> None:
    assert check_factset(_static()) == []


def test_a_repeated_fact_id_an_unknown_source_and_a_repeated_source_are_named() -> None:
    factset = _static()
    first, second = factset.facts[0], factset.facts[1]
    edited = factset.model_copy(
        update={
            "facts": [
                first,
                second.model_copy(update={"id": first.id}),
                *factset.facts[2:-1],
                factset.facts[-1].model_copy(update={"source_id": "S99"}),
            ],
            "sources": [*factset.sources, factset.sources[0]],
        }
    )
    problems = check_factset(edited)
    assert f"source {factset.sources[0].id} is listed twice in 'sources': remove one" in problems
    assert f"{first.id} is used twice" in problems
    assert f"{factset.facts[-1].id} names source S99, which is not in 'sources'" in problems
    assert len(problems) == 3, problems


# --- XBRL facts: the record re-checked against the company-facts file ---------------------------

XBRL_DATA = Path(__file__).parent / "data" / "edgar"


def _xbrl_pair(tmp_path: Path) -> tuple[FactSet, dict[str, Path]]:
    """A ledger of XBRL facts from a hand-written company-facts file, and that file, after a
    round trip through JSON as facts.json makes it."""
    path = tmp_path / "small.companyfacts.json"
    shutil.copyfile(XBRL_DATA / "small.companyfacts.json", path)
    facts, _ = financial_facts(
        json.loads(path.read_text(encoding="utf-8")),
        dt.date(2025, 6, 30),
        cik=1,
        company="Small Corp",
        source_id="S1",
        first_id=1,
    )
    assert len(facts) >= 8
    factset = FactSet(
        ticker="SMAL",
        company="Small Corp",
        sources=[
            SourceInfo(
                id="S1",
                title="Small Corp XBRL company facts",
                path=path.name,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            )
        ],
        facts=facts,
    )
    return FactSet.model_validate_json(factset.model_dump_json()), {"S1": path}


def test_an_untouched_xbrl_ledger_and_its_file_pass(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    assert check_factset(factset) == []
    again, problems, notes = reground(factset, files)
    assert (problems, notes) == ([], [])
    assert again.facts == factset.facts


def test_an_edited_value_in_facts_json_is_caught(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    fact = factset.facts[0]
    assert fact.filed is not None
    filed = fact.filed.model_copy(update={"value": fact.filed.value + 1_000_000})
    alone = fact.model_copy(update={"filed": filed})
    edited = factset.model_copy(update={"facts": [alone, *factset.facts[1:]]})
    assert check_factset(edited) == [f"{fact.id}'s quote is not its 'filed' record written out"]
    # an analyst who also rewrites the quote and the statement is caught by the file
    figure = f"${(filed.value / 1_000_000).normalize():,f} million"
    consistent = alone.model_copy(
        update={"quote": quote_of(filed), "statement": f"Small Corp reported revenue of {figure}."}
    )
    edited = factset.model_copy(update={"facts": [consistent, *factset.facts[1:]]})
    assert check_factset(edited) == []
    _, problems, _ = reground(edited, files)
    assert len(problems) == 1
    assert problems[0].startswith(f"{fact.id}'s XBRL record (us-gaap:")
    assert problems[0].endswith(
        f"accession {filed.accession}) is not in {files['S1'].name} as stated"
    )


def test_an_edited_company_facts_file_is_caught(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    fact = factset.facts[0]
    assert fact.filed is not None
    data = json.loads(files["S1"].read_text(encoding="utf-8"))
    for row in data["facts"][fact.filed.taxonomy][fact.filed.concept]["units"][fact.filed.unit]:
        if row["accn"] == fact.filed.accession and row["end"] == fact.filed.end.isoformat():
            row["val"] += 1
    files["S1"].write_text(json.dumps(data), encoding="utf-8")
    _, problems, notes = reground(factset, files)
    assert [p.split(" (")[0] for p in problems] == [f"{fact.id}'s XBRL record"]
    assert notes == [
        "note: source S1 changed since the facts were extracted: re-checking its records"
    ]


def test_a_missing_or_broken_company_facts_file(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    again, problems, notes = reground(factset, {})
    assert problems == []
    assert notes == [
        "note: source S1 (small.companyfacts.json) not found: its XBRL records are not re-checked"
    ]
    assert again.warnings == [notes[0].removeprefix("note: ")]
    files["S1"].write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="is not JSON"):
        reground(factset, files)
    with pytest.raises(InputFileError, match="over the 5-byte limit"):
        reground(factset, files, max_bytes=5)


def test_an_edited_label_in_facts_json_is_caught_against_the_file(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    fact = factset.facts[0]
    assert fact.filed is not None
    filed = fact.filed.model_copy(update={"label": "Total Revenues And Other Income"})
    edited = factset.model_copy(
        update={
            "facts": [
                fact.model_copy(update={"filed": filed, "quote": quote_of(filed)}),
                *factset.facts[1:],
            ]
        }
    )
    assert check_factset(edited) == []  # consistent in itself: only the file can tell
    _, problems, _ = reground(edited, files)
    assert len(problems) == 1 and problems[0].startswith(f"{fact.id}'s label ")
    assert files["S1"].name in problems[0]


def test_statements_are_checked_with_the_ledgers_company(tmp_path: Path) -> None:
    factset, files = _xbrl_pair(tmp_path)
    renamed = factset.model_copy(update={"company": "Other Corp"})
    _, problems, _ = reground(renamed, files)
    assert len(problems) == len(factset.facts)
    assert all("'s statement is not its XBRL record" in p for p in problems)

"""An edited ledger checked again against its sources: what ``thesisgen validate``, ``render``
and ``draft --facts`` need before they trust a facts.json, without the extraction stage (its
prompts, chunking, merge and conflict search) that :mod:`thesisgen.facts` holds.

Every quote must still occur in its source, outside any text that addresses the model, and every
statement's figures must be in its own quote. An XBRL fact's source is a company-facts JSON file:
its record must still be in that file as stated (:func:`thesisgen.xbrl.check_fact`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputFileError
from .grounding import Folded, overlaps
from .injection import Scan, scan
from .models import FactSet, Source
from .numbers import DEFAULT_IDENTIFIERS
from .sources import MAX_SOURCE_BYTES, read_source
from .validate import ground_statement
from .xbrl import CompanyFactsError, check_fact, quote_of


@dataclass
class _SourceIndex:
    """A source folded once, for re-checking the quotes of an edited ledger."""

    folded: Folded
    injection: Scan

    @property
    def injected(self) -> tuple[tuple[int, int], ...]:
        return self.injection.tainted

    @classmethod
    def of(cls, source: Source) -> _SourceIndex:
        return cls(Folded.of(source.text, source.page_starts), scan(source.text))


def load_companyfacts(
    path: Path, max_bytes: int = MAX_SOURCE_BYTES
) -> tuple[Mapping[str, Any], str]:
    """A company-facts JSON file (an XBRL source) and its sha256, size-limited like any source."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(
                f"XBRL source {path} has {size:,} bytes, over the {max_bytes:,}-byte limit: "
                "raise max_source_mb"
            )
        raw = path.read_bytes()
    except OSError as e:
        raise InputFileError(
            f"XBRL source {path} cannot be read ({e.strerror}): check it"
        ) from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputFileError(
            f"XBRL source {path} is not JSON ({e}): restore the company-facts file"
        ) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("facts"), Mapping):
        raise InputFileError(
            f"XBRL source {path} has no 'facts' object: restore the company-facts file"
        )
    return data, hashlib.sha256(raw).hexdigest()


def _recheck_xbrl(
    factset: FactSet, sid: str, path: Path, max_bytes: int
) -> tuple[list[str], list[str]]:
    """Problems and notes for the facts citing one XBRL source, checked against its file."""
    problems: list[str] = []
    notes: list[str] = []
    data, sha = load_companyfacts(path, max_bytes)
    info = factset.sources_by_id()[sid]
    if info.sha256 and sha != info.sha256:
        notes.append(
            f"note: source {sid} changed since the facts were extracted: re-checking its records"
        )
    for fact in factset.facts:
        if fact.source_id != sid:
            continue
        if fact.kind != "xbrl":
            problems.append(f"{fact.id} cites the XBRL source {sid} but is not of kind xbrl")
            continue
        try:
            reason = check_fact(fact, data, company=factset.company, where=str(path.name))
        except CompanyFactsError as e:
            reason = f"{fact.id}'s XBRL source {path.name} is malformed ({e})"
        if reason is not None:
            problems.append(reason)
    return problems, notes


def reground(
    factset: FactSet, files: dict[str, Path], max_bytes: int = MAX_SOURCE_BYTES
) -> tuple[FactSet, list[str], list[str]]:
    """Check an edited ledger against the source files that can be found: every quote must still
    occur in its source. Returns the ledger with fresh locators, problems, and notes to show.

    A source that cannot be found is also named in the ledger's warnings, which the memo shows,
    so a quote that was not re-checked is never presented as verified."""
    problems: list[str] = []
    notes: list[str] = []
    unchecked: list[str] = []
    sources: dict[str, tuple[Source, _SourceIndex]] = {}
    xbrl = {fact.source_id for fact in factset.facts if fact.kind == "xbrl"}
    for info in factset.sources:
        path = files.get(info.id)
        if path is None:
            what = "XBRL records" if info.id in xbrl else "quotes"
            unchecked.append(
                f"source {info.id} ({info.path or 'no path'}) not found: its {what} are not re-checked"
            )
            notes.append(f"note: {unchecked[-1]}")
            continue
        if info.id in xbrl:  # a company-facts JSON file, not a text source
            found, said = _recheck_xbrl(factset, info.id, path, max_bytes)
            problems += found
            notes += said
            continue
        source = read_source(path, info.id, max_bytes=max_bytes)
        if info.sha256 and source.sha256 != info.sha256:
            notes.append(
                f"note: source {info.id} changed since the facts were extracted: re-checking its quotes"
            )
        sources[info.id] = (source, _SourceIndex.of(source))
    # Each source's quotes are located together, in one pass over its text.
    quotes: dict[str, list[str]] = {}
    for fact in factset.facts:
        if fact.source_id in sources:
            quotes.setdefault(fact.source_id, []).append(fact.quote)
    located = {
        sid: iter(sources[sid][1].folded.locate_quotes(found)) for sid, found in quotes.items()
    }
    facts = []
    for fact in factset.facts:
        if fact.source_id in sources:
            source, index = sources[fact.source_id]
            locators = next(located[fact.source_id])
            if not locators:
                problems.append(f"{fact.id}'s quote does not occur in {source.id} ({source.path})")
            elif any(overlaps(loc, index.injected) for loc in locators):
                problems.append(
                    f"{fact.id} quotes text in {source.id} that addresses the model (possible prompt injection)"
                )
            fact = fact.model_copy(update={"locators": locators})
        facts.append(fact)
    warnings = list(dict.fromkeys([*factset.warnings, *unchecked]))
    return factset.model_copy(update={"facts": facts, "warnings": warnings}), problems, notes


def check_factset(factset: FactSet, identifiers: Sequence[str] = ()) -> list[str]:
    """Problems in a facts file an analyst edited: duplicate IDs, unknown sources, ungrounded figures."""
    idents = (*DEFAULT_IDENTIFIERS, factset.ticker, *identifiers)
    problems: list[str] = []
    source_ids: set[str] = set()
    for source in factset.sources:
        if source.id in source_ids:  # a fact citing it could be checked against either text
            problems.append(f"source {source.id} is listed twice in 'sources': remove one")
        source_ids.add(source.id)
    seen: set[str] = set()
    for fact in factset.facts:
        if fact.id in seen:
            problems.append(f"{fact.id} is used twice")
        seen.add(fact.id)
        if fact.source_id != "analyst" and fact.source_id not in source_ids:
            problems.append(f"{fact.id} names source {fact.source_id}, which is not in 'sources'")
        if fact.kind == "xbrl":
            if fact.filed is None:
                problems.append(f"{fact.id} is of kind xbrl but has no 'filed' record")
                continue
            if fact.quote != quote_of(fact.filed):
                problems.append(f"{fact.id}'s quote is not its 'filed' record written out")
                continue
        elif fact.filed is not None:
            problems.append(f"{fact.id} has a 'filed' record but is not of kind xbrl")
        reason = ground_statement(fact.statement, fact.quote, idents)
        if reason is not None:
            problems.append(f"{fact.id}: {reason}")
    return problems

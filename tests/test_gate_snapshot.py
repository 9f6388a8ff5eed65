"""The gate's every verdict on a probe of the AREC static pair, against a reviewed snapshot.

The probe is every sentence of tests/data/static's memo as the gate checks it (printed, with the
key-figures table), and every fact's statement and quote, each as written and with a fixed set of
word swaps ("rose" for "fell", "about" for "at least", a negation, a holder...), each cited as
written and then against another fact. The report's every violation and comment, message and all,
must be the snapshot's: a change to the gate that changes any verdict shows up here as a diff
(speed-ups of claims.py and validate.py must leave it byte for byte the same).

Regenerate only on purpose: `UPDATE_SNAPSHOTS=1 pytest tests/test_gate_snapshot.py`, then review
the diff of tests/snapshots/gate-AREC-probe.txt before committing it.
"""

from __future__ import annotations

from pathlib import Path

from conftest import STATIC, match_snapshot
from thesisgen.models import FactSet, Memo, Paragraph, Report, Section, Sentence
from thesisgen.render import checked_memo, key_figures
from thesisgen.resources import load_bundle
from thesisgen.validate import Ledger, validate_memo

SNAPSHOT = Path(__file__).parent / "snapshots" / "gate-AREC-probe.txt"
SWAPS = [
    ("rose", "fell"), ("grew", "declined"), ("about", "at least"), ("nearly", "more than"),
    ("roughly", "exactly"), (" is ", " is not "), (" will ", " did "), (" was ", " will be "),
    (" has ", " has no "), ("%", " percent"), ("million", "billion"), (" the ", " POSCO's "),
    ("The ", "ReElement's "), ("could", "did"), ("planned", "achieved"), (" and ", " but not "),
    ("rise", "fall"), ("projected", "reported"), ("forecasts", "reported"), ("80%", "78%"),
    ("processing", "revenue"), ("$900 million", "$0.9 billion"), ("300%", "310%"),
]  # fmt: skip


def probe(memo: Memo, factset: FactSet, ledger: Ledger) -> Memo:
    checked = checked_memo(memo, key_figures(memo, ledger))
    sentences = [s for sec in checked.sections for p in sec.paragraphs for s in p.sentences]
    sentences += [
        Sentence(text=text, cites=[f.id])
        for f in factset.facts
        for text in dict.fromkeys((f.statement, f.quote))
    ]
    ids = [f.id for f in factset.facts]
    paragraphs: list[Paragraph] = []
    for k, sentence in enumerate(sentences):
        swapped = [sentence.text.replace(a, b) for a, b in SWAPS if a in sentence.text]
        for text in dict.fromkeys([sentence.text, *swapped]):
            other = ids[(k * 7 + len(text)) % len(ids)]
            paragraphs.append(
                Paragraph(
                    sentences=[
                        sentence.model_copy(update={"text": text}),
                        sentence.model_copy(update={"text": text, "cites": [other]}),
                    ]
                )
            )
    section = Section(key="probe", heading="Probe", paragraphs=paragraphs)
    return memo.model_copy(update={"sections": [section]})


def rendered(report: Report) -> str:
    lines = [
        f"ok={report.ok} sentences={report.sentences} figures={report.figures_checked} "
        f"facts_cited={report.facts_cited} violations={len(report.violations)} "
        f"comments={len(report.comments)}"
    ]
    lines += [
        f"{v.paragraph}.{v.sentence} {v.kind} ({v.token}) [{', '.join(v.fact_figures)}]: "
        f"{v.message}"
        for v in report.violations
    ]
    lines += [
        f"{c.paragraph}.{c.sentence} comment {c.kind} ({c.token}): {c.message}"
        for c in report.comments
    ]
    return "\n".join(lines) + "\n"


def test_gate_verdicts_on_the_arec_probe_are_the_snapshot() -> None:
    memo = Memo.model_validate_json((STATIC / "draft.json").read_text(encoding="utf-8"))
    factset = FactSet.model_validate_json((STATIC / "facts.json").read_text(encoding="utf-8"))
    identifiers = tuple(load_bundle("AREC").identifiers)
    ledger = Ledger.of(factset, identifiers)
    text = rendered(validate_memo(probe(memo, factset, ledger), factset, identifiers))
    match_snapshot(SNAPSHOT, text, "the gate's verdicts", __file__)

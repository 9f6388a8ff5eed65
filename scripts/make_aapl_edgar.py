"""Record the AAPL EDGAR session of ``fixtures/AAPL/recordings`` from the real EDGAR responses.

Usage: ``python scripts/make_aapl_edgar.py [--shared ../shared/edgar] [--out fixtures/AAPL]``

The shared folder holds real, unedited EDGAR response bodies. This script cuts subsets of them
(every value it keeps is unchanged; ``fixtures/AAPL/EDGAR.md`` says what was kept), serves the
subsets from ``tests/stub_edgar.py`` on 127.0.0.1 at EDGAR's URL paths, and fetches them with
``thesisgen.edgar.EdgarClient`` in record mode, so the recordings travel the same HTTP path as a
live session and replay through the client. Nothing else is recorded: the 10-Qs and 8-Ks the
filing index lists are absent, and a replay reports them as missing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stub server lives with the tests

from stub_edgar import serve  # noqa: E402

from thesisgen.edgar import EdgarClient, EdgarSettings, Fetched  # noqa: E402
from thesisgen.recording import recording_files  # noqa: E402
from thesisgen.retry import RetryPolicy  # noqa: E402
from thesisgen.sources import read_source  # noqa: E402

CIK = 320193
ACCESSION = "0000320193-24-000123"
DOCUMENT = "aapl-20240928.htm"
TICKERS = ("AAPL", "AREC", "MP", "PKX", "TSLA", "MSFT")
MORE_TICKERS = 10  # the list's first entries besides those, so an unknown ticker means something
CONCEPTS = (
    "Revenues",
    "RevenueFromContractWithCustomerExcludingAssessedTax",
    "RevenueFromContractWithCustomerIncludingAssessedTax",
    "SalesRevenueNet",
    "Revenue",
    "GrossProfit",
    "OperatingIncomeLoss",
    "ProfitLossFromOperatingActivities",
    "NetIncomeLoss",
    "ProfitLoss",
    "NetIncomeLossAvailableToCommonStockholdersBasic",
    "ProfitLossAttributableToOwnersOfParent",
    "EarningsPerShareDiluted",
    "EarningsPerShareBasicAndDiluted",
    "DilutedEarningsLossPerShare",
    "CashAndCashEquivalentsAtCarryingValue",
    "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
    "Cash",
    "CashAndCashEquivalents",
    "LongTermDebt",
    "LongTermDebtAndCapitalLeaseObligationsIncludingCurrentMaturities",
    "LongTermDebtCurrent",
    "LongTermDebtNoncurrent",
    "CommercialPaper",
    "Borrowings",
    "CommonStockSharesOutstanding",
    "NetCashProvidedByUsedInOperatingActivities",
    "NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",
    "CashFlowsFromUsedInOperatingActivities",
    "PaymentsToAcquirePropertyPlantAndEquipment",
    "PaymentsToAcquireProductiveAssets",
    "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
)
# The 10-K's section headings as filed (not the table of contents' links): Item 1 runs to Item 1A,
# Item 7 to Item 7A.
SECTIONS = (("Item 1.&#160;", "Item 1A.&#160;"), ("Item 7.&#160;", "Item 7A.&#160;"))


def dumps(value: Any) -> str:
    """EDGAR's compact JSON, numbers written as they were read (``0.00001`` stays so; Python's
    own float formatting would write ``1e-05``). Checked against the whole file below."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def loads(raw: bytes) -> Any:
    data = json.loads(raw, parse_float=Decimal)
    if dumps(data).encode() != raw:
        raise SystemExit("the JSON does not re-serialise byte for byte: the subset would differ")
    return data


def ticker_subset(raw: bytes) -> bytes:
    data = loads(raw)
    wanted = {key for key, entry in data.items() if entry["ticker"] in TICKERS}
    others = [key for key in data if key not in wanted][:MORE_TICKERS]
    kept = {key: entry for key, entry in data.items() if key in wanted or key in others}
    if {entry["ticker"] for entry in kept.values()} < set(TICKERS):
        raise SystemExit("a wanted ticker is not in company_tickers.json")
    return dumps(kept).encode()


def facts_subset(raw: bytes) -> tuple[bytes, list[str]]:
    data = loads(raw)
    facts: dict[str, Any] = {}
    kept: list[str] = []
    for taxonomy, concepts in data["facts"].items():
        if taxonomy == "dei":
            facts[taxonomy] = concepts
            kept += [f"dei:{name}" for name in concepts]
            continue
        chosen = {name: concepts[name] for name in CONCEPTS if name in concepts}
        if chosen:
            facts[taxonomy] = chosen
            kept += [f"{taxonomy}:{name}" for name in chosen]
    subset = {"cik": data["cik"], "entityName": data["entityName"], "facts": facts}
    return dumps(subset).encode(), kept


def _element_start(html: str, heading: str) -> int:
    """Where the element holding the filed heading begins (the ``<div`` before it). The heading
    with its non-breaking spaces occurs once: the table of contents writes ``Item 1.</a>``."""
    if html.count(heading) != 1:
        raise SystemExit(f"{heading!r} is not a unique heading of the 10-K")
    return html.rindex("<div", 0, html.index(heading))


def document_subset(html: str) -> str:
    body = html.index("<body")
    body_end = html.index(">", body) + 1
    close = html.rindex("</body>")
    parts = [html[:body_end], "\n"]
    for start, end in SECTIONS:
        parts.append(html[_element_start(html, start) : _element_start(html, end)])
    parts.append(html[close:])
    return "".join(parts)


def check_document(whole: Path, cut: Path) -> None:
    """The cut's text, read by our HTML reader, is the whole document's text of the two sections."""
    big = read_source(whole, "S1", max_bytes=10 * 1024 * 1024).text
    small = read_source(cut, "S2").text
    start7 = small.index("Item 7.")
    for piece in (small[:start7], small[start7:]):
        piece = piece.strip()
        if piece not in big:
            raise SystemExit(f"the cut's text {piece[:60]!r}... is not a slice of the 10-K's")
    for start, end in (("Item 1.", "Item 1A."), ("Item 7.", "Item 7A.")):
        heading = re.compile(re.escape(start) + r"\s+[A-Z]")
        begin = [m.start() for m in heading.finditer(big)][-1]
        stop = big.index(end, begin)
        if big[begin:stop].strip() not in small:
            raise SystemExit(f"the 10-K's {start} section is not whole in the cut")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "edgar")
    parser.add_argument("--out", type=Path, default=ROOT / "fixtures" / "AAPL")
    args = parser.parse_args()
    shared: Path = args.shared
    recordings = args.out / "recordings"
    for old in recording_files(recordings):
        if old.name.startswith("edgar-"):
            old.unlink()

    tickers = ticker_subset((shared / "company_tickers.json").read_bytes())
    submissions = (shared / "AAPL" / "CIK0000320193.submissions.json").read_bytes()
    loads(submissions)  # kept whole; checked to parse
    facts, kept = facts_subset((shared / "AAPL" / "CIK0000320193.companyfacts.json").read_bytes())
    whole = shared / "AAPL" / DOCUMENT
    document = document_subset(whole.read_text(encoding="ascii")).encode("ascii")

    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / DOCUMENT
        cut.write_bytes(document)
        check_document(whole, cut)
        routes: dict[str, Path | bytes] = {
            "/files/company_tickers.json": tickers,
            f"/submissions/CIK{CIK:010d}.json": submissions,
            f"/api/xbrl/companyfacts/CIK{CIK:010d}.json": facts,
            f"/Archives/edgar/data/{CIK}/{ACCESSION.replace('-', '')}/{DOCUMENT}": document,
        }
        settings = EdgarSettings(
            mode="record",
            user_agent="thesisgen fixtures fixtures@example.com",
            rate=10.0,
            store_dir=Path(tmp) / "store",
            recordings_dir=recordings,
            max_age_hours=0.0,
            retry=RetryPolicy(attempts=1),
            ticker="AAPL",
        )
        with serve(routes) as stub, EdgarClient(settings, stub.transport()) as client:
            company = client.company("AAPL")
            client.submissions(company.cik)
            got = [
                client.companyfacts(company.cik),
                client.document(company.cik, ACCESSION, DOCUMENT),
            ]
        if not all(isinstance(g, Fetched) for g in got):
            raise SystemExit(f"a fetch failed: {got}")
    for path in recording_files(recordings):
        if path.name.startswith("edgar-"):
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")
    print(f"companyfacts concepts kept ({len(kept)}): {', '.join(kept)}")


if __name__ == "__main__":
    main()

"""Re-make fixtures/<TICKER>/recordings/ from the hand-written answers in fixtures/<TICKER>/authored/.

Run after changing a prompt, the outline or an authored answer:
    python scripts/record_fixtures.py AREC
It serves the authored answers from our stub server (tests/stub_openai.py) and runs
`thesisgen record` against it, so the recordings carry today's exact requests and the provenance
"hand-written". To capture a real model instead, run `thesisgen record` against that server.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stub_openai import authored_script, serve  # noqa: E402
from thesisgen import run  # noqa: E402
from thesisgen.progress import PlainProgress  # noqa: E402

MODEL = "handwritten-fixture"


def main(ticker: str) -> None:
    bundle = ROOT / "fixtures" / ticker
    with (
        serve(authored_script(bundle / "authored")) as server,
        tempfile.TemporaryDirectory() as out,
    ):
        request = run.DraftRequest(
            ticker=ticker,
            out=Path(out),
            record=True,
            recordings=bundle / "recordings",
            flags={"model": MODEL, "base_url": server.base_url, "concurrency": 1},
        )
        outcome = run.draft(request, PlainProgress(sys.stdout))
        print(f"{len(server.requests)} requests served; gate ok: {outcome.report.ok}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "AREC")

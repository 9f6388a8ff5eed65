"""Re-make tests/data/static/: the draft/facts pair the validate and render tests start from.

    python scripts/make_static_pair.py

Replays the AREC recordings offline (the hand-written answers of fixtures/AREC/authored), then
copies the run's draft.json, facts.json, report.json and manifest.json into tests/data/static/, with the source
files facts.json names (fixtures/AREC/sources/, our paraphrases), so `draft --facts` re-grounds
against them. Run it after changing an authored answer or the draft or facts format; a prompt
change alone needs only `python scripts/record_fixtures.py AREC`. Then update the date in
tests/data/static/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

from thesisgen import run
from thesisgen.progress import PlainProgress

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "tests" / "data" / "static"
SOURCES = ROOT / "fixtures" / "AREC" / "sources"
KEEP = {"README.md"}  # written by hand


def main() -> None:
    # No options: --help prints what the script rewrites instead of rewriting it.
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        request = run.DraftRequest(ticker="AREC", out=Path(tmp) / "out", offline=True)
        outcome = run.draft(request, PlainProgress(io.StringIO()))
        if not outcome.report.ok:
            sys.exit("the AREC replay did not pass the gate: fix that before re-making the pair")
        names = ["draft.json", "facts.json", "report.json", "manifest.json"]
        facts = json.loads((outcome.folder / "facts.json").read_text())
        sources = [s["path"] for s in facts["sources"] if s.get("path")]
        for stale in STATIC.iterdir():
            if stale.name not in KEEP:
                stale.unlink()
        for name in names:
            shutil.copyfile(outcome.folder / name, STATIC / name)
        for name in sources:
            shutil.copyfile(SOURCES / name, STATIC / name)
    print(f"wrote {', '.join(names + sources)} to {STATIC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Output tokens per kept fact, from recordings captured from a real model (never from the
hand-written ones, whose token counts are estimates).

    python benchmarks/tokens_per_fact.py                       # the sets kept in benchmarks/data
    python benchmarks/tokens_per_fact.py RECORDINGS FACTS.json  # any captured set and its ledger

Each set is a folder of recordings plus the ledger the run wrote (``facts.json.out`` in the folder,
or the path given). Step 7 measured SmolLM2-135M before the change (the model copied quotes) and
after (it points at sentence numbers); see benchmarks/data/README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SETS = [
    "smollm2-before-AREC",
    "smollm2-before-seed",
    "smollm2-after-AREC",
    "smollm2-after-seed",
    "smollm2-default-AREC",
    "smollm2-default-seed",
]


def measure(recordings: Path, ledger: Path) -> dict[str, object]:
    calls = 0
    output = 0
    first_pass = 0  # output tokens of the calls that propose facts (not restatements)
    proposed = 0
    for path in sorted(recordings.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("provenance") != "captured":
            raise SystemExit(f"{path} is not a captured recording: its token counts are estimates")
        calls += 1
        body = record["response"]["body"]
        tokens = int(body["usage"]["completion_tokens"])
        output += tokens
        if record["label"].endswith("/1") and "/facts/" in record["label"]:
            first_pass += tokens
            answer = json.loads(body["choices"][0]["message"]["content"], strict=False)
            proposed += len(answer.get("facts", []))
    facts = json.loads(ledger.read_text(encoding="utf-8"))["facts"]
    kinds = {
        k: sum(1 for f in facts if f.get("kind", "model") == k)
        for k in ("model", "verbatim", "rules")
    }
    per_fact = f"{output / len(facts):.0f}" if facts else "n/a (none kept)"
    per_model = f"{output / kinds['model']:.0f}" if kinds["model"] else "n/a (none kept)"
    return {
        "calls": calls,
        "output_tokens": output,
        "kept": len(facts),
        "kinds": kinds,
        "output_tokens_per_kept_fact": per_fact,
        "output_tokens_per_model_written_fact": per_model,
        "proposed": proposed,
        "first_pass_output_tokens_per_proposed_fact": round(first_pass / proposed)
        if proposed
        else None,
    }


def main(argv: list[str]) -> None:
    if argv:
        pairs = [(Path(argv[0]), Path(argv[1]))]
    else:
        pairs = [(DATA / name, DATA / name / "facts.json.out") for name in SETS]
    for recordings, ledger in pairs:
        print(recordings.name, json.dumps(measure(recordings, ledger)))


if __name__ == "__main__":
    main(sys.argv[1:])

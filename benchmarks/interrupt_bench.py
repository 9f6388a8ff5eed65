"""How long Ctrl-C takes to end a run whose model calls hang (target: 2 s).

Starts our stub server with answers that never come (a hung model server), runs
`thesisgen draft --ticker AREC` against it as a user would, waits until calls are in flight,
sends SIGINT and measures the time to exit. Also checks what a demanding user would: exit code
130, no temp files, staging folders or lock left in --out, and a manifest that says `interrupted`.

    python benchmarks/interrupt_bench.py [--runs 5] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stub_openai import Reply, serve  # noqa: E402

TARGET_S = 2.0


def hung(label: str, body: dict[str, Any]) -> Reply:
    return Reply(200, {"never": "sent"}, delay_s=600)


def interrupt_once(
    base_url: str, requests: list[dict[str, Any]], concurrency: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "THESISGEN_"))}
        env["THESISGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        before = len(requests)
        proc = subprocess.Popen(
            [sys.executable, "-m", "thesisgen", "draft", "--ticker", "AREC", "--out", str(out),
             "--base-url", base_url, "--model", "m", "--concurrency", str(concurrency),
             "--structured-output", "json_object"],
            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(requests) - before < min(concurrency, 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # calls are in flight and waiting on the server
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        elapsed = time.monotonic() - start
        left = sorted(p.name for p in out.iterdir()) if out.exists() else []
        status = None
        if (out / "manifest.json").is_file():
            status = json.loads((out / "manifest.json").read_text())["status"]
        return {
            "seconds": elapsed,
            "code": proc.returncode,
            "left": left,
            "status": status,
            "stderr": stderr.strip().splitlines()[-1:] if stderr.strip() else [],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with serve(hung) as server:
        results = [
            interrupt_once(server.base_url, server.requests, args.concurrency)
            for _ in range(args.runs)
        ]
    times = [r["seconds"] for r in results]
    for r in results:
        print(
            f"exit {r['code']} after {r['seconds']:.2f} s; left in --out: {r['left']}; status {r['status']}; {r['stderr']}"
        )
    worst = max(times)
    print(
        f"Ctrl-C to exit: median {statistics.median(times):.2f} s, worst {worst:.2f} s over "
        f"{len(times)} runs (target {TARGET_S:.0f} s) {'OK' if worst <= TARGET_S else 'ABOVE TARGET'}"
    )
    clean = all(r["code"] == 130 and set(r["left"]) <= {"manifest.json"} for r in results)
    print("exit 130 and a clean --out in every run" if clean else "NOT CLEAN")


if __name__ == "__main__":
    main()

"""A tiny batch runner of ours: what ``vllm run_batch -i REQUESTS -o OUTPUT`` does, against any
OpenAI-compatible server (here, the stub). Each request line's body is POSTed to its url; each
answer is written as an output line of the Batch API's format, in the request file's order.

The tests use it to round-trip the ``jsonl`` engine: thesisgen writes the request file, this
answers it, ``thesisgen batch --resume DIR --answers OUTPUT`` reads the answers back. It labels
each call with the line's custom_id (the header the stub picks its answer by).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit


def run_batch_file(requests: Path, output: Path, base_url: str) -> int:
    """Answer every line of ``requests`` into ``output``; returns the number of lines."""
    root = urlsplit(base_url)
    lines = []
    for number, raw in enumerate(requests.read_text(encoding="utf-8").splitlines(), 1):
        request = json.loads(raw)
        http = urllib.request.Request(
            f"{root.scheme}://{root.netloc}{request['url']}",
            data=json.dumps(request["body"]).encode(),
            headers={
                "content-type": "application/json",
                "x-thesisgen-call": request["custom_id"],
            },
            method=request["method"],
        )
        try:
            with urllib.request.urlopen(http, timeout=60) as answer:
                status, body = answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            status, body = exc.code, json.loads(exc.read() or b"{}")
        lines.append(
            {
                "id": f"runner-{number}",
                "custom_id": request["custom_id"],
                "response": {"status_code": status, "request_id": f"req-{number}", "body": body},
                "error": None,
            }
        )
    output.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return len(lines)

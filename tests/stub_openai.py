"""A small OpenAI-compatible chat-completions server of ours on 127.0.0.1, for tests and fixtures.

It answers from a *script*: a function from (call label, request body) to a reply. The authored
script serves the hand-written answers in ``fixtures/<TICKER>/authored/`` and marks them
``x-thesisgen-provenance: hand-written`` so that recordings made through it say so. Tests use other
scripts for fault injection. Real HTTP on a real socket: the SDK cannot tell it from a model server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before answering (a slow server)
    truncate: bool = False  # promise the whole body, send half, hang up


Script = Callable[[str, dict[str, Any]], Reply]


def estimate_tokens(text: str) -> int:
    """Hand-written answers have no real token counts; 4 characters a token is the usual estimate."""
    return max(1, len(text) // 4)


def completion(
    model: str, content: str, label: str, prompt_chars: int, finish: str = "stop"
) -> dict[str, Any]:
    prompt_tokens = max(1, prompt_chars // 4)
    completion_tokens = estimate_tokens(content)
    return {
        "id": f"chatcmpl-stub-{label.replace('/', '-')}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def prompt_chars(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body.get("messages", []))


def wants_stance(body: dict[str, Any]) -> bool:
    """Whether the request's answer schema asks for a stance (the outline's stance section),
    read from the schema the client sent, not from the prompt's wording or the section's key."""
    schema = body.get("response_format") or {}
    if '"stance"' in json.dumps(schema):
        return True
    # Without a response format (JSON asked for in the prompt) the schema travels in a message.
    return any(
        re.search(r'"stance":\s*\{', str(m.get("content", ""))) for m in body.get("messages", [])
    )


def authored_script(folder: Path) -> Script:
    """Serve ``{stage}-{target}-{attempt}.json`` from ``folder`` for the call labelled that way."""

    def script(label: str, body: dict[str, Any]) -> Reply:
        _ticker, stage, target, attempt = label.split("/")
        # A re-ask after an unparseable answer ("1+1") gets the same authored answer as attempt 1.
        path = folder / f"{stage}-{target}-{attempt.split('+')[0]}.json"
        if not path.is_file():
            return Reply(404, {"error": {"message": f"no authored answer {path.name}"}})
        content = json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False)
        reply = completion(body["model"], content, label, prompt_chars(body))
        return Reply(200, reply, {"x-thesisgen-provenance": "hand-written"})

    return script


Verdict = Callable[[str], "str | dict[str, Any] | Reply"]


def verify_script(inner: Script, verdict: Verdict) -> Script:
    """``inner`` for every call but the model check's (``--verify``); a check of the sentence
    named ``target`` ("market.1.0") is answered with ``verdict(target)``: a verdict
    ("supported", "contradicted", "not_enough_info") given as the schema asks, a dict sent as the
    answer's JSON as it is (a malformed answer), or a Reply of the test's own. The verdict goes by
    the call's label, never by what the prompt says."""

    def script(label: str, body: dict[str, Any]) -> Reply:
        _ticker, stage, target, _attempt = label.split("/")
        if stage != "verify":
            return inner(label, body)
        answer = verdict(target)
        if isinstance(answer, Reply):
            return answer
        if isinstance(answer, str):
            answer = {"verdict": answer, "reason": f"the stub says {answer} for {target}"}
        content = json.dumps(answer)
        return Reply(200, completion(body["model"], content, label, prompt_chars(body)))

    return script


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        body = json.loads(raw or b"{}")
        label = self.headers.get("x-thesisgen-call", "unknown/draft/unknown/1")
        with self.server.lock:
            self.server.requests.append(
                {"label": label, "body": body, "headers": dict(self.headers)}
            )
        reply = self.server.script(label, body)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if reply.truncate:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []


@dataclass
class Running:
    base_url: str
    requests: list[dict[str, Any]]


def faulty(script: Script, plan: dict[str, list[Reply | None]]) -> Script:
    """Serve ``plan[label]`` replies in turn for that call (None: the real answer), then the script.

    A label may also be "*" to fault every call's first tries.
    """
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def wrapped(label: str, body: dict[str, Any]) -> Reply:
        key = label if label in plan else "*"
        with lock:
            count = seen.get(label, 0)
            seen[label] = count + 1
        replies = plan.get(key, [])
        if count < len(replies) and replies[count] is not None:
            return replies[count]  # type: ignore[return-value]
        return script(label, body)

    return wrapped


def latency(script: Script, seconds: float) -> Script:
    """Every answer takes ``seconds`` (for the concurrency benchmark)."""

    def wrapped(label: str, body: dict[str, Any]) -> Reply:
        reply = script(label, body)
        reply.delay_s += seconds
        return reply

    return wrapped


@contextmanager
def serve(script: Script) -> Iterator[Running]:
    server = _StubServer(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Running(f"http://{host!s}:{port}/v1", server.requests)
    finally:
        server.shutdown()
        server.server_close()

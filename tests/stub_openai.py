"""A small OpenAI-compatible chat-completions server of ours on 127.0.0.1, for tests and fixtures.

It answers from a *script*: a function from (call label, request body) to a reply. The authored
script serves the hand-written answers in ``fixtures/<TICKER>/authored/`` and marks them
``x-thesisgen-provenance: hand-written`` so that recordings made through it say so. Tests use other
scripts for fault injection. Real HTTP on a real socket: the SDK cannot tell it from a model server.

It also speaks the Files and Batches API (``/v1/files``, ``/v1/batches``) so a batch engine can be
tested over the SDK's own calls: a batch line is answered by the same script, labelled by its
``custom_id``, so ``authored_script`` answers a batch exactly as it answers live calls. How each
batch progresses (statuses, expiry, per-line errors, validation failure) is the test's
``BatchPlan``; every Files/Batches call is logged in ``Running.api``.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


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


# --- Files and Batches ----------------------------------------------------------------------------

MAX_BATCH_LINES = 50_000  # the provider's limit on requests per batch; bounds the stub's loops too
MAX_FILE_BYTES = 200 * 1024 * 1024  # the provider's limit on a batch input file
MAX_MULTIPART_PARTS = (
    16  # files.create sends two fields (file, purpose); anything past this is junk
)
BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions")
TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})


@dataclass
class BatchPlan:
    """How one batch progresses, counted in retrieves (polls) after its creation.

    A batch is ``validating`` when created and for ``validating`` more polls, then
    ``in_progress`` for ``in_progress`` polls, ``finalizing`` for ``finalizing`` polls, then
    ``completed`` with every line answered. It ends ``failed`` (``errors.data``, no files) after
    validating when its input file does not validate or when ``fail_validation`` gives the errors;
    ``expired`` at poll ``expire_after`` with only the first ``done`` input lines answered; and
    ``cancelled`` ``cancelling`` polls after a cancel, also with the first ``done`` lines. Lines
    not answered go to the error file with code ``batch_expired`` / ``batch_cancelled``.

    ``line_errors`` maps a custom_id to the ``{"code", "message"}`` its line fails with (error
    file, no response). A line the script answers with a non-2xx status also goes to the error
    file, with that response, as the provider writes it. Output lines come in reverse input order
    unless ``in_order``: the provider promises no order, so a client must match by custom_id.
    """

    validating: int = 0
    in_progress: int = 1
    finalizing: int = 0
    fail_validation: list[dict[str, Any]] | None = None
    expire_after: int | None = None
    done: int = 0
    cancelling: int = 1
    line_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    in_order: bool = False


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def obj(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@dataclass
class StoredBatch:
    obj: dict[str, Any]  # the batch object as served
    plan: BatchPlan
    lines: list[dict[str, Any]]  # the input lines that validated
    errors: list[dict[str, Any]]  # validation errors: the batch fails after validating
    polls: int = 0
    cancelled_at_poll: int | None = None
    finished: bool = False  # its lines are answered and its files written


class ApiError(Exception):
    """An error answer of the Files/Batches API: status and message, sent as OpenAI shapes it."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": str(self), "type": kind, "param": None, "code": self.code}}


def _line_error(line: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": param}


def validate_batch_input(
    content: bytes, endpoint: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The request lines of a batch input file and the errors that fail it, as the provider
    checks them: one JSON object a line with custom_id, method POST, the batch's url and a body
    naming a model; unique custom_ids; one model for the whole batch."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [], [_line_error(1, "invalid_file_format", "the file is not UTF-8 text")]
    raw_lines = text.splitlines()
    if len(raw_lines) > MAX_BATCH_LINES:
        return [], [_line_error(1, "too_many_requests", f"more than {MAX_BATCH_LINES} lines")]
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()
    for number, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            errors.append(_line_error(number, "invalid_json_line", "this line is not valid JSON"))
            continue
        if not isinstance(line, dict):
            errors.append(_line_error(number, "invalid_json_line", "a line must be a JSON object"))
            continue
        missing = [k for k in ("custom_id", "method", "url", "body") if k not in line]
        if missing:
            errors.append(
                _line_error(
                    number, "missing_required_parameter", f"missing {missing[0]}", missing[0]
                )
            )
            continue
        custom_id, body = line["custom_id"], line["body"]
        if not isinstance(custom_id, str) or not custom_id:
            errors.append(_line_error(number, "invalid_value", "custom_id must be a string"))
        elif custom_id in seen:
            errors.append(
                _line_error(number, "duplicate_custom_id", f"custom_id {custom_id!r} repeats")
            )
        elif line["method"] != "POST":
            errors.append(_line_error(number, "invalid_method", "method must be POST", "method"))
        elif line["url"] != endpoint:
            errors.append(
                _line_error(number, "invalid_url", f"url must be the batch's {endpoint}", "url")
            )
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            errors.append(
                _line_error(number, "missing_required_parameter", "body needs a model", "model")
            )
        else:
            seen.add(custom_id)
            models.add(body["model"])
            if len(models) > 1:
                errors.append(
                    _line_error(number, "mismatched_model", "one model per batch", "model")
                )
            lines.append(line)
    if not lines and not errors:
        errors.append(_line_error(1, "empty_file", "the input file holds no requests"))
    return lines, errors


def batch_status(batch: StoredBatch) -> str:
    """The status a batch shows after ``batch.polls`` retrieves, as its plan has it."""
    plan, current = batch.plan, batch.obj["status"]
    if current in TERMINAL:
        return str(current)
    if batch.cancelled_at_poll is not None:
        waited = batch.polls - batch.cancelled_at_poll
        return "cancelled" if waited >= plan.cancelling else "cancelling"
    n = batch.polls
    if n <= plan.validating:
        return "validating"
    if batch.errors:
        return "failed"
    if plan.expire_after is not None:
        return "expired" if n >= plan.expire_after else "in_progress"
    n -= plan.validating
    if n <= plan.in_progress:
        return "in_progress"
    n -= plan.in_progress
    return "finalizing" if n <= plan.finalizing else "completed"


def multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, "multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in raw.split(delimiter)[1 : MAX_MULTIPART_PARTS + 1]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name = re.search(r'\bname="([^"]*)"', headers)
        filename = re.search(r'\bfilename="([^"]*)"', headers)
        if name:
            fields[name.group(1)] = (
                filename.group(1) if filename else None,
                data.removesuffix(b"\r\n"),
            )
    return fields


def _jsonl(entries: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode()


def _reply_json(reply: Reply) -> Any:
    if not isinstance(reply.body, bytes):
        return reply.body
    try:
        return json.loads(reply.body)
    except ValueError:
        return reply.body.decode("utf-8", "replace")


class BatchBackend:
    """The Files and Batches state of one stub server. Every method runs under one lock."""

    def __init__(
        self,
        script: Script,
        plans: Sequence[BatchPlan],
        requests: list[dict[str, Any]],
        requests_lock: threading.Lock,
    ) -> None:
        self.script = script
        self.plans = list(plans)
        self.requests = requests  # the server's log of answered model calls, batch lines too
        self.requests_lock = requests_lock
        self.lock = threading.RLock()
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, StoredBatch] = {}
        self.api: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def _log(self, route: str, **details: Any) -> dict[str, Any]:
        entry = {"route": route, **details}
        self.api.append(entry)
        return entry

    def _file(self, file_id: str) -> StoredFile:
        if file_id not in self.files:
            raise ApiError(404, f"No such File object: {file_id}")
        return self.files[file_id]

    def _batch(self, batch_id: str) -> StoredBatch:
        if batch_id not in self.batches:
            raise ApiError(404, f"No such Batch object: {batch_id}")
        return self.batches[batch_id]

    def _store(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        stored = StoredFile(
            f"file-stub{next(self._ids)}", filename, purpose, content, int(time.time())
        )
        self.files[stored.id] = stored
        return stored

    def create_file(self, content_type: str, raw: bytes) -> dict[str, Any]:
        with self.lock:
            fields = multipart_fields(content_type, raw)
            filename, content = fields.get("file", (None, b""))
            purpose = fields.get("purpose", (None, b""))[1].decode()
            logged = self._log(
                "files.create", filename=filename, purpose=purpose, bytes=len(content)
            )
            if filename is None:
                raise ApiError(400, "files.create needs a file field with a filename")
            if purpose not in ("batch", "assistants", "fine-tune", "vision", "user_data", "evals"):
                raise ApiError(400, f"unknown purpose {purpose!r}")
            if purpose == "batch" and len(content) > MAX_FILE_BYTES:
                raise ApiError(400, f"a batch file may hold at most {MAX_FILE_BYTES} bytes")
            stored = self._store(filename, purpose, content)
            logged["id"] = stored.id
            return stored.obj()

    def retrieve_file(self, file_id: str) -> dict[str, Any]:
        with self.lock:
            self._log("files.retrieve", id=file_id)
            return self._file(file_id).obj()

    def file_content(self, file_id: str) -> bytes:
        with self.lock:
            self._log("files.content", id=file_id)
            return self._file(file_id).content

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self.lock:
            self._log("files.delete", id=file_id)
            self._file(file_id)
            del self.files[file_id]
            return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._log("files.list", query=query)
            newest = [f.obj() for f in reversed(self.files.values())]
            return _page(newest, query)

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._log("batches.create", body=body)
            if body.get("completion_window") != "24h":
                raise ApiError(400, "completion_window must be 24h", "invalid_value")
            endpoint = body.get("endpoint")
            if endpoint not in BATCH_ENDPOINTS:
                raise ApiError(400, f"unsupported endpoint {endpoint!r}", "invalid_value")
            stored = self._file(str(body.get("input_file_id")))
            if stored.purpose != "batch":
                raise ApiError(400, f"file {stored.id} was not uploaded with purpose batch")
            number = len(self.batches)
            plan = self.plans[number] if number < len(self.plans) else BatchPlan()
            lines, errors = validate_batch_input(stored.content, str(endpoint))
            if plan.fail_validation is not None:
                errors = plan.fail_validation
            now = int(time.time())
            batch_id = f"batch_stub{next(self._ids)}"
            obj: dict[str, Any] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": endpoint,
                "model": lines[0]["body"]["model"] if lines else None,
                "errors": None,
                "input_file_id": stored.id,
                "completion_window": "24h",
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": now,
                "in_progress_at": None,
                "expires_at": now + 24 * 3600,
                "finalizing_at": None,
                "completed_at": None,
                "failed_at": None,
                "expired_at": None,
                "cancelling_at": None,
                "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "usage": None,
                "metadata": body.get("metadata"),
            }
            batch = StoredBatch(obj, plan, lines, errors)
            self.batches[batch_id] = batch
            self._advance(batch)
            return copy.deepcopy(obj)

    def retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        with self.lock:
            self._log("batches.retrieve", id=batch_id)
            batch = self._batch(batch_id)
            batch.polls += 1
            self._advance(batch)
            return copy.deepcopy(batch.obj)

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        with self.lock:
            self._log("batches.cancel", id=batch_id)
            batch = self._batch(batch_id)
            status = batch.obj["status"]
            if status in TERMINAL or status == "cancelling":
                raise ApiError(409, f"Cannot cancel a batch with status {status}.")
            batch.cancelled_at_poll = batch.polls
            self._advance(batch)
            return copy.deepcopy(batch.obj)

    def list_batches(self, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self._log("batches.list", query=query)
            newest = [copy.deepcopy(b.obj) for b in reversed(self.batches.values())]
            return _page(newest, query)

    def _advance(self, batch: StoredBatch) -> None:
        status = batch_status(batch)
        obj = batch.obj
        stamp = f"{status}_at"
        if stamp in obj and obj[stamp] is None:
            obj[stamp] = int(time.time())
        obj["status"] = status
        if status == "failed":
            obj["errors"] = {"object": "list", "data": batch.errors}
        elif status == "in_progress":
            obj["request_counts"]["total"] = len(batch.lines)
        elif status in TERMINAL and not batch.finished:
            batch.finished = True
            self._finish(batch, status)

    def _finish(self, batch: StoredBatch, status: str) -> None:
        """Answer the lines the plan lets finish and write the output and error files."""
        obj, plan = batch.obj, batch.plan
        finished = len(batch.lines) if status == "completed" else plan.done
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        failed = 0  # lines that ran and failed; lines never run count neither way
        usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        for index, line in enumerate(batch.lines):
            custom_id = line["custom_id"]
            entry: dict[str, Any] = {
                "id": f"batch_req_{obj['id']}_{index}",
                "custom_id": custom_id,
                "response": None,
                "error": None,
            }
            if index >= finished:
                entry["error"] = {
                    "code": f"batch_{status}",
                    "message": f"This request was not executed before the batch {status}.",
                }
                errors.append(entry)
                continue
            if custom_id in plan.line_errors:
                entry["error"] = plan.line_errors[custom_id]
                errors.append(entry)
                failed += 1
                continue
            reply = self.script(custom_id, line["body"])
            with self.requests_lock:
                self.requests.append(
                    {"label": custom_id, "body": line["body"], "headers": {}, "batch_id": obj["id"]}
                )
            body = _reply_json(reply)
            entry["response"] = {
                "status_code": reply.status,
                "request_id": f"req_stub_{obj['id']}_{index}",
                "body": body,
            }
            if 200 <= reply.status < 300:
                output.append(entry)
            else:
                errors.append(entry)
                failed += 1
            counted = body.get("usage") if isinstance(body, dict) else None
            if isinstance(counted, dict):
                usage["input_tokens"] += int(counted.get("prompt_tokens", 0))
                usage["output_tokens"] += int(counted.get("completion_tokens", 0))
                usage["total_tokens"] += int(counted.get("total_tokens", 0))
        obj["request_counts"] = {
            "total": len(batch.lines),
            "completed": len(output),
            "failed": failed,
        }
        obj["usage"] = {
            **usage,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        if not plan.in_order:
            output.reverse()
            errors.reverse()
        if output:
            obj["output_file_id"] = self._store(
                "batch_output.jsonl", "batch_output", _jsonl(output)
            ).id
        if errors:
            obj["error_file_id"] = self._store(
                "batch_errors.jsonl", "batch_output", _jsonl(errors)
            ).id


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """A cursor page as the SDK's SyncCursorPage reads it: ``after`` an id, ``limit`` 1..100."""
    try:
        limit = min(100, max(1, int(query.get("limit", "20"))))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    ids = [item["id"] for item in items]
    start = ids.index(query["after"]) + 1 if query.get("after") in ids else 0
    data = items[start : start + limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": start + limit < len(items),
    }


_FILE = re.compile(r"(?:/v1)?/files/([^/]+)")
_FILE_CONTENT = re.compile(r"(?:/v1)?/files/([^/]+)/content")
_BATCH = re.compile(r"(?:/v1)?/batches/([^/]+)")
_BATCH_CANCEL = re.compile(r"(?:/v1)?/batches/([^/]+)/cancel")


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("content-length", "0")))
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_FILE_BYTES + 1024 * 1024:  # a multipart body of the largest file
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
            total += size
        return b"".join(chunks)

    def _send(self, status: int, data: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(self, answer: Callable[[], dict[str, Any] | bytes]) -> None:
        """Answer a Files/Batches call: JSON, a file's bytes, or an error as OpenAI shapes it."""
        try:
            result = answer()
        except ApiError as error:
            self._send(error.status, json.dumps(error.body()).encode())
            return
        if isinstance(result, bytes):
            self._send(200, result, "application/octet-stream")
        else:
            self._send(200, json.dumps(result).encode())

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def do_GET(self) -> None:
        path, backend = urlsplit(self.path).path, self.server.batches
        if re.fullmatch(r"(?:/v1)?/files", path):
            self._api(lambda: backend.list_files(self._query()))
        elif match := _FILE_CONTENT.fullmatch(path):
            self._api(partial(backend.file_content, match.group(1)))
        elif match := _FILE.fullmatch(path):
            self._api(partial(backend.retrieve_file, match.group(1)))
        elif re.fullmatch(r"(?:/v1)?/batches", path):
            self._api(lambda: backend.list_batches(self._query()))
        elif match := _BATCH.fullmatch(path):
            self._api(partial(backend.retrieve_batch, match.group(1)))
        else:
            self._api(lambda: _raise(ApiError(404, f"no route GET {path}")))

    def do_DELETE(self) -> None:
        path, backend = urlsplit(self.path).path, self.server.batches
        if match := _FILE.fullmatch(path):
            self._api(partial(backend.delete_file, match.group(1)))
        else:
            self._api(lambda: _raise(ApiError(404, f"no route DELETE {path}")))

    def do_POST(self) -> None:
        path, backend = urlsplit(self.path).path, self.server.batches
        if re.fullmatch(r"(?:/v1)?/files", path):
            raw = self._read_body()
            content_type = self.headers.get("content-type", "")
            self._api(lambda: backend.create_file(content_type, raw))
        elif re.fullmatch(r"(?:/v1)?/batches", path):
            raw = self._read_body()
            self._api(lambda: backend.create_batch(_json_object(raw)))
        elif match := _BATCH_CANCEL.fullmatch(path):
            self._read_body()
            self._api(partial(backend.cancel_batch, match.group(1)))
        else:
            self._chat()

    def _chat(self) -> None:
        """Any other POST is a model call, answered by the script under its call label."""
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


def _raise(error: ApiError) -> dict[str, Any]:
    raise error


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script, plans: Sequence[BatchPlan] = ()) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.batches = BatchBackend(script, plans, self.requests, self.lock)


@dataclass
class Running:
    """A running stub: its base URL, the model calls it answered (live calls and batch lines, in
    the order answered) and its Files/Batches state (``batches.api`` logs every such call)."""

    base_url: str
    requests: list[dict[str, Any]]
    batches: BatchBackend | None = None

    @property
    def api(self) -> list[dict[str, Any]]:
        """Every Files/Batches call, each ``{"route": "files.create" | "batches.retrieve" | ...}``."""
        return list(self.batches.api) if self.batches else []

    def count(self, route: str) -> int:
        """How many calls went to ``route`` ("files.create", "batches.create", ...)."""
        return sum(1 for call in self.api if call["route"] == route)


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
def serve(script: Script, batch_plans: Sequence[BatchPlan] = ()) -> Iterator[Running]:
    """Run the stub; the n-th batch created follows ``batch_plans[n]`` (a default plan past the
    end: validating, one in_progress poll, completed)."""
    server = _StubServer(script, batch_plans)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Running(f"http://{host!s}:{port}/v1", server.requests, server.batches)
    finally:
        server.shutdown()
        server.server_close()

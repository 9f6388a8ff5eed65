"""The stub's Files and Batches API, driven through the real openai SDK over HTTP on 127.0.0.1.

The batch engine of step 11 will be tested against this stub, so its answers must be what the
provider's are in shape (file objects, batch objects, output and error JSONL) and what a live call
gets in content: a batch line is answered by the same script, labelled by its custom_id.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import Batch

from conftest import AREC
from stub_openai import (
    BatchPlan,
    Reply,
    Running,
    StoredBatch,
    authored_script,
    batch_status,
    faulty,
    multipart_fields,
    serve,
    validate_batch_input,
)

pytestmark = pytest.mark.enable_socket

MODEL = "handwritten-fixture"
LABELS = ("AREC/facts/S1/1", "AREC/facts/S2/1", "AREC/draft/market/1")
POLL_LIMIT = 20  # no batch in these tests needs more polls; a stuck stub fails instead of hanging


def _request(label: str) -> dict[str, Any]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"answer for {label}"}]}
    return {"custom_id": label, "method": "POST", "url": "/v1/chat/completions", "body": body}


def _jsonl(lines: list[Any]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _client(server: Running) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)


@pytest.fixture
def authored() -> Iterator[Running]:
    with serve(authored_script(AREC / "authored")) as server:
        yield server


def _submit(client: openai.OpenAI, data: bytes) -> Batch:
    upload = client.files.create(file=("requests.jsonl", data), purpose="batch")
    return client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def _poll(client: openai.OpenAI, batch: Batch) -> tuple[Batch, list[str]]:
    """Retrieve until the batch ends; the statuses seen on the way, creation's first."""
    seen: list[str] = [batch.status]
    for _ in range(POLL_LIMIT):
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch, seen
        batch = client.batches.retrieve(batch.id)
        seen.append(batch.status)
    raise AssertionError(f"batch still {batch.status} after {POLL_LIMIT} polls: {seen}")


def _lines(client: openai.OpenAI, file_id: str | None) -> dict[str, dict[str, Any]]:
    """A result file's lines by custom_id (the provider keeps no order)."""
    assert file_id is not None
    text = client.files.content(file_id).text
    lines = [json.loads(line) for line in text.splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert len(by_id) == len(lines)
    return by_id


def _live(client: openai.OpenAI, label: str) -> Any:
    """What the same script answers a live call of that label."""
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": f"answer for {label}"}],
        extra_headers={"x-thesisgen-call": label},
    )
    return json.loads(raw.http_response.content)


def test_three_requests_complete_and_each_answer_is_the_live_one(authored: Running) -> None:
    client = _client(authored)
    upload = client.files.create(
        file=("requests.jsonl", _jsonl([_request(label) for label in LABELS])), purpose="batch"
    )
    assert (upload.object, upload.purpose, upload.filename) == ("file", "batch", "requests.jsonl")
    assert client.files.retrieve(upload.id).bytes == upload.bytes > 0
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert (batch.status, batch.input_file_id, batch.completion_window) == (
        "validating",
        upload.id,
        "24h",
    )
    done, seen = _poll(client, batch)
    assert seen == ["validating", "in_progress", "completed"]
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (3, 3)
    assert done.request_counts.failed == 0
    assert done.error_file_id is None and done.completed_at is not None
    assert done.usage is not None and done.usage.total_tokens > 0
    output = _lines(client, done.output_file_id)
    assert client.files.retrieve(str(done.output_file_id)).purpose == "batch_output"
    assert list(output) == list(reversed(LABELS))  # the stub does not keep order on purpose
    for label in LABELS:
        line = output[label]
        assert line["error"] is None and line["response"]["status_code"] == 200
        assert line["response"]["body"] == _live(client, label)
    answered = [r["label"] for r in authored.requests if "batch_id" in r]
    assert sorted(answered) == sorted(LABELS)
    assert (authored.count("files.create"), authored.count("batches.create")) == (1, 1)
    assert authored.count("batches.retrieve") == 2
    assert [b.id for b in client.batches.list()] == [done.id]


def test_plan_sets_how_many_polls_each_status_lasts() -> None:
    with serve(
        authored_script(AREC / "authored"),
        [BatchPlan(validating=2, in_progress=3, finalizing=1, in_order=True)],
    ) as server:
        client = _client(server)
        done, seen = _poll(client, _submit(client, _jsonl([_request(LABELS[0])])))
        output = _lines(client, done.output_file_id)
    assert seen == ["validating"] * 3 + ["in_progress"] * 3 + ["finalizing", "completed"]
    assert list(output) == [LABELS[0]]


def test_line_errors_go_to_the_error_file() -> None:
    script = authored_script(AREC / "authored")
    plan = BatchPlan(line_errors={LABELS[1]: {"code": "server_error", "message": "try again"}})
    with serve(script, [plan]) as server:
        client = _client(server)
        requests = [_request(label) for label in LABELS] + [_request("AREC/draft/nosuch/1")]
        done, _ = _poll(client, _submit(client, _jsonl(requests)))
        output = _lines(client, done.output_file_id)
        errors = _lines(client, done.error_file_id)
    assert done.status == "completed"
    assert set(output) == {LABELS[0], LABELS[2]}
    assert set(errors) == {LABELS[1], "AREC/draft/nosuch/1"}
    assert errors[LABELS[1]]["response"] is None
    assert errors[LABELS[1]]["error"] == {"code": "server_error", "message": "try again"}
    # A line the script answers with an error status keeps that response, as the provider writes.
    missing = errors["AREC/draft/nosuch/1"]
    assert missing["error"] is None and missing["response"]["status_code"] == 404
    assert "nosuch" in missing["response"]["body"]["error"]["message"]
    assert done.request_counts is not None
    assert done.request_counts.model_dump() == {"total": 4, "completed": 2, "failed": 2}
    # A line that failed by plan never reached the script.
    assert LABELS[1] not in [r["label"] for r in server.requests]


def test_expired_batch_holds_only_the_lines_done_in_time() -> None:
    with serve(authored_script(AREC / "authored"), [BatchPlan(expire_after=3, done=1)]) as server:
        client = _client(server)
        done, seen = _poll(client, _submit(client, _jsonl([_request(x) for x in LABELS])))
        output = _lines(client, done.output_file_id)
        errors = _lines(client, done.error_file_id)
    assert seen == ["validating", "in_progress", "in_progress", "expired"]
    assert done.expired_at is not None and done.completed_at is None
    assert list(output) == [LABELS[0]]
    assert set(errors) == set(LABELS[1:])
    assert {e["error"]["code"] for e in errors.values()} == {"batch_expired"}
    assert done.request_counts is not None
    assert done.request_counts.model_dump() == {"total": 3, "completed": 1, "failed": 0}
    assert [r["label"] for r in server.requests] == [LABELS[0]]


def test_plan_can_fail_validation() -> None:
    failure = {"code": "token_limit_exceeded", "line": None, "message": "over the queue limit"}
    with serve(authored_script(AREC / "authored"), [BatchPlan(fail_validation=[failure])]) as srv:
        client = _client(srv)
        done, seen = _poll(client, _submit(client, _jsonl([_request(LABELS[0])])))
    assert seen == ["validating", "failed"]
    assert done.failed_at is not None
    assert done.errors is not None and done.errors.data is not None
    assert [e.code for e in done.errors.data] == ["token_limit_exceeded"]
    assert done.output_file_id is None and done.error_file_id is None
    assert srv.requests == []


def test_malformed_line_fails_validation_and_names_the_line(authored: Running) -> None:
    client = _client(authored)
    data = _jsonl([_request(LABELS[0])]) + b'{"custom_id": "AREC/facts/S2/1", "method": \n'
    done, seen = _poll(client, _submit(client, data))
    assert seen[-1] == "failed"
    assert done.errors is not None and done.errors.data is not None
    assert [(e.code, e.line) for e in done.errors.data] == [("invalid_json_line", 2)]
    assert authored.requests == []


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([_request("a/b/c/1"), _request("a/b/c/1")], "duplicate_custom_id"),
        ([{**_request("a/b/c/1"), "url": "/v1/embeddings"}], "invalid_url"),
        ([{k: v for k, v in _request("a/b/c/1").items() if k != "custom_id"}], "missing_required_parameter"),
        ([_request("a/b/c/1"), {**_request("a/b/c/2"), "body": {"model": "other"}}], "mismatched_model"),
        ([["not", "an", "object"]], "invalid_json_line"),
        ([], "empty_file"),
    ],
)  # fmt: skip
def test_input_validation(lines: list[Any], code: str) -> None:
    _valid, errors = validate_batch_input(_jsonl(lines), "/v1/chat/completions")
    assert [e["code"] for e in errors] == [code]


def test_cancel_keeps_what_was_done() -> None:
    with serve(authored_script(AREC / "authored"), [BatchPlan(in_progress=5, done=2)]) as server:
        client = _client(server)
        batch = client.batches.retrieve(_submit(client, _jsonl([_request(x) for x in LABELS])).id)
        assert batch.status == "in_progress"
        cancelling = client.batches.cancel(batch.id)
        assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
        done, seen = _poll(client, cancelling)
        output = _lines(client, done.output_file_id)
        errors = _lines(client, done.error_file_id)
        with pytest.raises(openai.ConflictError, match="cancelled"):
            client.batches.cancel(batch.id)
    assert seen == ["cancelling", "cancelled"]
    assert set(output) == set(LABELS[:2])
    assert {k: e["error"]["code"] for k, e in errors.items()} == {LABELS[2]: "batch_cancelled"}
    assert server.count("batches.cancel") == 2


def test_each_created_batch_follows_its_own_plan() -> None:
    """A resubmission after an expiry is a new batch with the next plan (then the default)."""
    with serve(authored_script(AREC / "authored"), [BatchPlan(expire_after=1)]) as server:
        client = _client(server)
        first, _ = _poll(client, _submit(client, _jsonl([_request(LABELS[0])])))
        second, _ = _poll(client, _submit(client, _jsonl([_request(LABELS[0])])))
    assert (first.status, second.status) == ("expired", "completed")
    assert (server.count("files.create"), server.count("batches.create")) == (2, 2)


def test_bad_calls_get_openai_shaped_errors(authored: Running) -> None:
    client = _client(authored)
    with pytest.raises(openai.NotFoundError, match="file-nope"):
        client.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-nope")
    notes = client.files.create(file=("notes.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose batch"):
        client.batches.create(
            input_file_id=notes.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert client.files.delete(notes.id).deleted
    assert [f.id for f in client.files.list()] == []


def test_list_pages_through_batches_newest_first(authored: Running) -> None:
    client = _client(authored)
    created = [_submit(client, _jsonl([_request(LABELS[0])])).id for _ in range(3)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == created[::-1][:2] and first.has_more
    assert [b.id for b in client.batches.list(limit=2)] == created[::-1]  # auto-paginates


def test_batch_status_is_a_function_of_polls() -> None:
    batch = StoredBatch({"status": "validating"}, BatchPlan(validating=1, in_progress=2), [], [])
    statuses = []
    for polls in range(5):
        batch.polls = polls
        statuses.append(batch_status(batch))
    assert statuses == ["validating", "validating", "in_progress", "in_progress", "completed"]


def test_multipart_fields_reads_binary_file_bytes_intact() -> None:
    content = b'{"a": "\xc3\xa9"}\r\n--not-the-boundary\n'
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="r.jsonl"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--XyZ--\r\n"
    )
    fields = multipart_fields("multipart/form-data; boundary=XyZ", body)
    assert fields == {"purpose": (None, b"batch"), "file": ("r.jsonl", content)}


def test_live_calls_still_answer_any_post(authored: Running) -> None:
    """The chat path is unchanged: the label header picks the answer, nothing is batch-logged."""
    client = _client(authored)
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"x-thesisgen-call": LABELS[0]},
    )
    assert answer.choices[0].message.content
    assert [r["label"] for r in authored.requests] == [LABELS[0]]
    assert authored.api == []


def test_faulty_script_answers_batch_lines_too() -> None:
    """The live fault plans work on batch lines: a 500 for one custom_id lands in the error file."""
    failing = Reply(500, {"error": {"message": "overloaded"}})
    script = faulty(authored_script(AREC / "authored"), {LABELS[0]: [failing]})
    with serve(script) as server:
        client = _client(server)
        done, _ = _poll(client, _submit(client, _jsonl([_request(x) for x in LABELS[:2]])))
        errors = _lines(client, done.error_file_id)
        output = _lines(client, done.output_file_id)
    assert errors[LABELS[0]]["response"]["status_code"] == 500
    assert set(output) == {LABELS[1]}


def test_chunked_upload_is_read_whole(authored: Running) -> None:
    """A client that streams its upload (no content-length) is read to its last chunk."""
    content = _jsonl([_request(label) for label in LABELS])
    body = (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="r.jsonl"\r\n\r\n'
        + content
        + b"\r\n--B--\r\n"
    )
    host, port = authored.base_url.removeprefix("http://").split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
    connection.request(
        "POST",
        "/v1/files",
        body=iter(pieces),
        headers={"content-type": "multipart/form-data; boundary=B"},
        encode_chunked=True,
    )
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["bytes"] == len(content) and len(pieces) > 3
    assert _client(authored).files.content(answer["id"]).content == content

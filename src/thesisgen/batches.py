"""The batch folder, and the engines that answer a round of requests: OpenAI's Batch API, or a
request file for ``vllm run_batch`` (or any runner of the same format).

A batch run (``thesisgen batch``) keeps everything in one folder, so that it can stop after
submitting and go on later (``--resume``) without submitting, or paying for, anything twice::

    DIR/<TICKER>/               each memo's output set, as `thesisgen draft` writes it
    DIR/batch/state.json        the universe, the settings, every submission and its batch ID
    DIR/batch/answers.jsonl     every answer received, one per line, appended as they arrive
    DIR/batch/round-001/        requests-1.jsonl (as uploaded), index-1.json (custom_id to
                                request), output-1.jsonl and errors-1.jsonl (as downloaded)

The request and result files are the OpenAI Batch API's JSONL, which ``vllm run_batch`` reads and
writes too: one ``{"custom_id", "method", "url", "body"}`` line per request, one ``{"id",
"custom_id", "response": {"status_code", "body"}, "error"}`` line per result. The provider keeps
no order, so results are matched by ``custom_id`` only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import httpx2
import openai
from pydantic import ValidationError

from .errors import InputFileError, ModelServiceError, UsageError
from .files import describe_validation_error, dump_model, exclusive_lock, write_bytes_atomic
from .llm import server_message, transient
from .models import BatchAnswer, BatchState, Submission
from .retry import RetryPolicy

STATE = "state.json"
ANSWERS = "answers.jsonl"
LOCK = ".lock"
ENDPOINT: Final = "/v1/chat/completions"
# The provider's statuses after which a batch changes no more.
TERMINAL = ("completed", "failed", "expired", "cancelled")
AWAITING_ANSWERS = "awaiting answers"  # a jsonl round: the user runs the file elsewhere
MAX_FILE_BYTES = 190 * 1024 * 1024  # under OpenAI's 200 MB per input file
MAX_RESULT_LINE_BYTES = 64 * 1024 * 1024  # one answer; far above any real one
MAX_BATCHES_SEARCHED = 1_000  # batches listed to find one created before a crash


# --- the folder ------------------------------------------------------------------------------------


class BatchFolder:
    """``DIR/batch/``: the state (rewritten whole, atomically), the answers (appended), the round
    files; held under an exclusive lock so two resumes never submit the same round twice."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "batch"
        self._lock_fd: int | None = None

    @staticmethod
    def is_batch(root: Path) -> bool:
        return (root / "batch" / STATE).is_file()

    def lock(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = exclusive_lock(self.path / LOCK)
        except OSError as exc:
            raise UsageError(
                f"cannot write into {self.root} ({exc.strerror or exc}): check its permissions"
            ) from None
        if fd is None:
            raise UsageError(
                f"another `thesisgen batch` is working on {self.root}: wait for it to finish"
            )
        self._lock_fd = fd

    def claim(self) -> None:
        """Make ``DIR/batch/`` for a new run, and lock it: created exclusively, so of two runs
        started on one --out, the second stops here, before it submits anything."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except FileExistsError:
            raise UsageError(
                f"another batch run has taken {self.root} since this one started: choose "
                "another --out"
            ) from None
        except OSError as exc:
            raise UsageError(
                f"cannot create --out {self.root} ({exc.strerror or exc}): choose another"
            ) from None
        self.lock()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def load(self, max_bytes: int = 256 * 1024 * 1024) -> BatchState:
        path = self.path / STATE
        if not path.is_file():
            raise InputFileError(
                f"{self.root} holds no batch run ({path} is missing): pass the folder a "
                "`thesisgen batch` run printed"
            )
        try:
            if path.stat().st_size > max_bytes:
                raise InputFileError(f"{path} is larger than {max_bytes // 2**20} MB: not ours")
            return BatchState.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise InputFileError(
                f"{path} is not a thesisgen batch state ({describe_validation_error(exc)}): it "
                "was edited or written by another version; start a new batch run"
            ) from None
        except OSError as exc:
            raise InputFileError(f"cannot read {path} ({exc.strerror or exc})") from None

    def save(self, state: BatchState) -> None:
        write_bytes_atomic(self.path / STATE, dump_model(state))

    def answers(self) -> list[BatchAnswer]:
        """Every answer kept so far. A last line cut short (a crash while appending) is cut off
        the file, so the next append starts on a line of its own; its round is collected again
        (its submission was not yet marked collected)."""
        path = self.path / ANSWERS
        if not path.is_file():
            return []
        kept: list[BatchAnswer] = []
        complete = 0  # bytes of whole lines
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                if not raw.endswith(b"\n"):
                    os.truncate(path, complete)  # we hold the folder's lock
                    break
                complete += len(raw)
                try:
                    kept.append(BatchAnswer.model_validate_json(raw))
                except ValidationError as exc:
                    raise InputFileError(
                        f"{path} line {number} is not a thesisgen answer "
                        f"({describe_validation_error(exc)}): it was edited; restore it or start "
                        "a new batch run"
                    ) from None
        return kept

    def append_answers(self, answers: list[BatchAnswer]) -> None:
        if not answers:
            return
        data = b"".join(dump_line(a.model_dump(mode="json")) for a in answers)
        with (self.path / ANSWERS).open("ab") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())

    def round_dir(self, number: int) -> Path:
        folder = self.path / f"round-{number:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def index_path(self, submission: Submission) -> Path:
        return self.path / f"round-{submission.round:03d}" / f"index-{submission.part}.json"

    def write_index(self, submission: Submission, index: dict[str, list[Any]]) -> None:
        """Which request each custom_id of a request file is: [ticker, request key, occurrence]."""
        self.round_dir(submission.round)
        write_bytes_atomic(self.index_path(submission), json.dumps(index, indent=1).encode())

    def index(self, submission: Submission) -> dict[str, list[Any]]:
        path = self.index_path(submission)
        try:
            data = json.loads(path.read_bytes())
            if not isinstance(data, dict) or not all(
                isinstance(ref, list) and len(ref) == 3 and isinstance(ref[2], int)
                for ref in data.values()
            ):
                raise ValueError("not a custom_id index")
        except (OSError, ValueError) as exc:
            raise InputFileError(
                f"{path} is missing or unreadable ({exc}): the batch folder was changed; restore it"
            ) from None
        return data

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def dump_line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def request_line(custom_id: str, body: dict[str, Any]) -> bytes:
    return dump_line({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body})


# --- result files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One result line: an HTTP answer (``status_code``, ``body``), or an error without one."""

    custom_id: str
    status_code: int | None
    body: dict[str, Any] | None
    error: str | None  # "code: message" of a line without an answer (expired, cancelled)

    @property
    def ok(self) -> bool:
        """A chat completion: a 2xx whose body has choices."""
        if self.status_code is None or not 200 <= self.status_code < 300 or not self.body:
            return False
        choices = self.body.get("choices")
        return isinstance(choices, list) and bool(choices)

    @property
    def may_pass(self) -> bool:
        """A failure another submission may not have: no answer at all, a 408/409/429 or 5xx,
        or a 2xx whose body is not a completion (as a live call retries a bad body)."""
        if self.status_code is None or 200 <= self.status_code < 300:
            return True
        return self.status_code in (408, 409, 429) or self.status_code >= 500


def read_results(path: Path, what: str) -> Iterator[Result]:
    """The lines of an output or error file; a line that is not a result is an error naming the
    file and line (an answers file may come from any runner)."""
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            if len(raw) > MAX_RESULT_LINE_BYTES:
                raise InputFileError(
                    f"{what} {path} line {number} is over {MAX_RESULT_LINE_BYTES // 2**20} MB: "
                    "not a batch result"
                )
            if not raw.strip():
                continue
            try:
                yield _result(json.loads(raw))
            except (ValueError, TypeError, KeyError) as exc:
                raise InputFileError(
                    f"{what} {path} line {number} is not a batch result line ({exc}): pass the "
                    'output file of `vllm run_batch` or of the Batch API ({"custom_id", '
                    '"response": {"status_code", "body"}, "error"} per line)'
                ) from None


def _result(line: Any) -> Result:
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        raise ValueError("no custom_id")
    response = line.get("response")
    error = line.get("error")
    if isinstance(response, dict) and isinstance(response.get("status_code"), int):
        body = response.get("body")
        if isinstance(body, str):  # some runners send the body as text
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        return Result(
            line["custom_id"],
            response["status_code"],
            body if isinstance(body, dict) else None,
            _error_text(error),
        )
    if error is None:
        raise ValueError("neither a response nor an error")
    return Result(line["custom_id"], None, None, _error_text(error) or "error")


def _error_text(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return ": ".join(str(x) for x in (code, message) if x) or json.dumps(error)
    return str(error)


# --- engines ----------------------------------------------------------------------------------------


class Engine(Protocol):
    """Where a round's request file goes and where its results come from."""

    name: str

    def submit(
        self, submission: Submission, path: Path, save: Callable[[], None], metadata: dict[str, str]
    ) -> None:
        """Hand the file over; ``save`` after every step that another run must not repeat."""

    def refresh(self, submission: Submission) -> None:
        """The submission's status now (may be unchanged)."""

    def download(self, submission: Submission, folder: Path) -> tuple[Path | None, Path | None]:
        """The output and error files of a submission that has ended, saved into ``folder``."""

    def close(self) -> None: ...


class OpenAIBatches:
    """The Files and Batches endpoints through the openai SDK: upload, create (24h window),
    retrieve, download. Transient failures are retried with the run's policy; anything else is
    one line (exit 3), and the folder can be resumed once the service is back."""

    name = "openai-batch"

    def __init__(
        self,
        root: Path,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        retry: RetryPolicy,
    ):
        self._root = root
        self._retry = retry
        self._client = openai.OpenAI(
            api_key=api_key or "no-key",
            base_url=base_url or "https://api.openai.com/v1",
            max_retries=0,  # the retry policy is ours, as for model calls
            timeout=timeout,
            http_client=httpx2.Client(timeout=timeout),
        )

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        import threading

        try:
            for attempt in self._retry.retrying(transient, threading.Event()):
                with attempt:
                    return call()
        except openai.APIStatusError as exc:
            raise ModelServiceError(
                f"the batch service answered HTTP {exc.status_code} while {what}: "
                f"{server_message(exc)} (resume later with `thesisgen batch --resume "
                f"{self._root}`)"
            ) from None
        except openai.APIError as exc:
            raise ModelServiceError(
                f"could not reach the batch service while {what} ({type(exc).__name__}): "
                f"check --base-url and the network, then `thesisgen batch --resume {self._root}`"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def submit(
        self, submission: Submission, path: Path, save: Callable[[], None], metadata: dict[str, str]
    ) -> None:
        resumed = submission.status == "uploaded"
        if submission.input_file_id is None:
            with path.open("rb") as stream:
                upload = self._call(
                    f"uploading {path.name}",
                    lambda: self._client.files.create(file=(path.name, stream), purpose="batch"),
                )
            submission.input_file_id = upload.id
            submission.status = "uploaded"
            save()
        if submission.batch_id is None:
            file_id = submission.input_file_id
            # Only a hand-over that stopped after its upload may have created a batch unrecorded.
            batch = (self._created(file_id) if resumed else None) or self._call(
                f"creating the batch of {path.name}",
                lambda: self._client.batches.create(
                    input_file_id=file_id,
                    endpoint=ENDPOINT,
                    completion_window="24h",
                    metadata=metadata,
                ),
            )
            submission.batch_id = batch.id
            submission.status = batch.status
            submission.submitted_at = dt.datetime.now(dt.UTC)
            save()

    def _created(self, file_id: str) -> Any:
        """The batch a run created from ``file_id`` before it could write the ID down."""

        def search() -> Any:
            for number, batch in enumerate(self._client.batches.list(limit=100)):
                if batch.input_file_id == file_id:
                    return batch
                if number >= MAX_BATCHES_SEARCHED:
                    break
            return None

        return self._call("looking for a batch created before an interruption", search)

    def refresh(self, submission: Submission) -> None:
        assert submission.batch_id is not None
        batch_id = submission.batch_id
        batch = self._call(
            f"polling batch {batch_id}", lambda: self._client.batches.retrieve(batch_id)
        )
        submission.status = batch.status
        submission.output_file_id = batch.output_file_id
        submission.error_file_id = batch.error_file_id
        errors = batch.errors.data if batch.errors and batch.errors.data else []
        if errors:
            submission.note = "; ".join(
                f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "")
                for e in errors[:5]
            )[:500]

    def download(self, submission: Submission, folder: Path) -> tuple[Path | None, Path | None]:
        files: list[Path | None] = []
        for kind, file_id in (
            ("output", submission.output_file_id),
            ("errors", submission.error_file_id),
        ):
            if not file_id:
                files.append(None)
                continue
            target = folder / f"{kind}-{submission.part}.jsonl"
            temporary = target.with_name(f".{target.name}.part")

            def fetch(file_id: str = file_id, temporary: Path = temporary) -> None:
                # streamed to disk: a result file may be hundreds of MB
                with self._client.files.with_streaming_response.content(file_id) as response:
                    response.stream_to_file(temporary)

            self._call(f"downloading {file_id}", fetch)
            temporary.replace(target)
            files.append(target)
        return files[0], files[1]

    def close(self) -> None:
        self._client.close()


class JsonlFiles:
    """The request file is the hand-over: the user runs it (``vllm run_batch -i FILE -o OUT``)
    and resumes with ``--answers OUT``, whose lines answer every open submission. The file is
    checked whole and copied into each round's folder before a round counts as answered, so an
    interrupted collection resumes from the copy, without the user's file."""

    name = "jsonl"

    def __init__(self, folder: BatchFolder, answers: Path | None) -> None:
        self.folder = folder
        self.answers = answers
        self._ids: set[str] | None = None

    def submit(
        self, submission: Submission, path: Path, save: Callable[[], None], metadata: dict[str, str]
    ) -> None:
        submission.status = AWAITING_ANSWERS
        submission.submitted_at = dt.datetime.now(dt.UTC)
        save()

    def _output(self, submission: Submission) -> Path:
        return self.folder.round_dir(submission.round) / f"output-{submission.part}.jsonl"

    def refresh(self, submission: Submission) -> None:
        if self.answers is None or submission.status != AWAITING_ANSWERS:
            return
        if self._ids is None:  # every line read once, before any round counts as answered
            self._ids = {r.custom_id for r in read_results(self.answers, "--answers file")}
        if not set(self.folder.index(submission)) & self._ids:
            raise UsageError(
                f"--answers {self.answers} answers none of the requests in "
                f"{self.folder.root / submission.requests_file}: pass the output your runner "
                "wrote for that file (nothing was changed)"
            )
        output = self._output(submission)
        temporary = output.with_name(f".{output.name}.part")
        shutil.copyfile(self.answers, temporary)
        temporary.replace(output)
        submission.status = "completed"

    def download(self, submission: Submission, folder: Path) -> tuple[Path | None, Path | None]:
        output = self._output(submission)
        if not output.is_file():
            raise InputFileError(
                f"{output} is missing: the batch folder was changed; restore it, or pass the "
                "round's answers again with --answers"
            )
        return output, None

    def close(self) -> None:
        pass

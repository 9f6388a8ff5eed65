"""Record and replay model calls (under the openai SDK) and SEC EDGAR fetches at the httpx2
transport; and the transport stack each mode of a run uses (:func:`transport_for`).

Replayed responses travel the same path as live ones (SDK -> httpx2 client -> transport), so the
parsing, validation and repair code cannot tell them apart. A recording is keyed by a hash of the
request body (model, parameters, messages, schema): change a prompt and the key changes, and replay
reports drift instead of serving a stale answer. Request headers are never stored, so the API key
cannot reach a recording; the key string is also scrubbed from anything written, as a second guard.

An EDGAR fetch is a GET: its key is the hash of "GET <url>", its label's stage is "edgar", and its
response body is stored as text (``body_encoding``), so a filing's bytes replay exactly. Headers are
not stored there either: the User-Agent EDGAR requires names a person.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx2

from .errors import RecordingError, UsageError
from .files import write_bytes_atomic
from .wire import format_of

FORMAT = "thesisgen-recording/1"
CALL_HEADER = "x-thesisgen-call"
KEY_HEADER = "x-thesisgen-request-key"
# A server that answers with hand-written content (our scripted stub) says so in this header, and the
# recording keeps it; real servers never send it, so their recordings say "captured".
PROVENANCE_HEADER = "x-thesisgen-provenance"

Provenance = Literal["captured", "hand-written"]
# "none": a run that needs no model (`thesisgen facts --extract rules`); any call is a bug.
Mode = Literal["live", "record", "replay", "none"]


STAGES = ("facts", "draft", "verify", "edgar")


@dataclass(frozen=True, slots=True)
class CallLabel:
    """Which call of a run this is: facts of a source, or an attempt at a section.

    ``attempt`` counts the validator's repairs; ``reask`` counts re-asks after an answer that was
    not valid JSON for the schema (a separate, smaller budget).
    """

    ticker: str
    stage: Literal["facts", "draft", "verify", "edgar"]
    target: str
    attempt: int
    reask: int = 0

    def _suffix(self) -> str:
        return f"{self.attempt}" + (f"+{self.reask}" if self.reask else "")

    def header(self) -> str:
        return f"{self.ticker}/{self.stage}/{self.target}/{self._suffix()}"

    def filename(self) -> str:
        return f"{self.stage}-{self.target}-{self._suffix()}.json"

    def describe(self) -> str:
        again = f" (re-asked {self.reask}x for valid JSON)" if self.reask else ""
        return f"{self.ticker} {self.stage} stage, {self.target}, attempt {self.attempt}{again}"

    @classmethod
    def parse(cls, header: str) -> CallLabel:
        ticker, stage, target, attempt = header.split("/")
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        number, _, reask = attempt.partition("+")
        return cls(ticker, stage, target, int(number), int(reask or 0))  # type: ignore[arg-type]


def request_key(body: bytes) -> str:
    """Hash of the request body in canonical form (key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_of(request: httpx2.Request) -> str:
    """A request's recording key: its body's hash for a model call (a POST), its URL's for a GET."""
    if request.method == "GET":
        return hashlib.sha256(f"GET {request.url}".encode()).hexdigest()
    return request_key(request.read())


MAX_TARGET_CHARS = 80


def url_target(url: str) -> str:
    """A label target for a GET of ``url``: a safe slug of its host and path (no "/" and nothing a
    file name cannot hold), with a short hash when the slug had to be cut, so targets stay unique.
    """
    rest = url.split("://", 1)[-1].split("?", 1)[0]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", rest).strip("._-") or "url"
    if len(slug) > MAX_TARGET_CHARS:
        digest = hashlib.sha256(url.encode()).hexdigest()[:10]
        slug = f"{slug[: MAX_TARGET_CHARS - 11]}_{digest}"
    return slug


def _label_of(request: httpx2.Request) -> CallLabel | None:
    raw = request.headers.get(CALL_HEADER)
    if not raw:
        return None
    try:
        return CallLabel.parse(raw)
    except ValueError:
        return None


def _rebuilt(response: httpx2.Response, content: bytes, request: httpx2.Request) -> httpx2.Response:
    """A response whose body was read (so decompressed): without the headers that described the
    bytes on the wire, or the caller would try to gunzip plain text (EDGAR gzips its answers)."""
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx2.Response(response.status_code, headers=headers, content=content, request=request)


def _with_key(response: httpx2.Response, key: str) -> httpx2.Response:
    response.headers[KEY_HEADER] = key
    return response


class KeyingTransport(httpx2.BaseTransport):
    """Live calls: pass through, and tell the caller the request key for the manifest."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        key = key_of(request)
        return _with_key(self._inner.handle_request(request), key)

    def close(self) -> None:
        self._inner.close()


CACHE_HEADER = "x-thesisgen-cache"


class CachingTransport(httpx2.BaseTransport):
    """Identical requests to the same server are answered from ``folder`` after the first time.

    The key is the request key (model, parameters, messages, schema) plus the server's address,
    so a different server never serves another's answer. Only complete 200 answers are kept.
    """

    def __init__(self, inner: httpx2.BaseTransport, folder: Path) -> None:
        self._inner = inner
        self._folder = folder

    def _path(self, request: httpx2.Request, key: str) -> Path:
        server = hashlib.sha256(f"{request.url.host}:{request.url.port}{request.url.path}".encode())
        return (
            self._folder / f"{hashlib.sha256((server.hexdigest() + key).encode()).hexdigest()}.json"
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        key = key_of(request)
        path = self._path(request, key)
        if path.is_file():
            try:
                content = path.read_bytes()
            except OSError:
                content = b""
            if not _complete(content):  # corrupt or cut short: fetch it again
                path.unlink(missing_ok=True)
            else:
                response = httpx2.Response(
                    200, headers={"content-type": "application/json", CACHE_HEADER: "hit"},
                    content=content, request=request,
                )  # fmt: skip
                return _with_key(response, key)
        response = self._inner.handle_request(request)
        content = response.read()
        if response.status_code == 200 and _complete(content):
            self._folder.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, content)
        return _with_key(_rebuilt(response, content, request), key)

    def close(self) -> None:
        self._inner.close()


def _complete(content: bytes) -> bool:
    """A chat completion worth caching (or serving from the cache): it parses, its first choice
    finished normally and carries text."""
    try:
        data = json.loads(content)
        choice = data["choices"][0]
        return choice["finish_reason"] == "stop" and isinstance(choice["message"]["content"], str)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return False


class RecordingTransport(httpx2.BaseTransport):
    """Live calls that are also written to ``folder`` in the replay format."""

    def __init__(self, inner: httpx2.BaseTransport, folder: Path, secrets: tuple[str, ...]) -> None:
        self._inner = inner
        self._folder = folder
        self._secrets = tuple(s for s in secrets if s)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        key = key_of(request)
        url = request.url  # as asked: an inner transport may redirect the request
        response = self._inner.handle_request(request)
        content = response.read()
        label = _label_of(request)
        if label is not None and response.status_code == 200:
            self._save(label, key, request.method, url, body, response, content)
        return _with_key(_rebuilt(response, content, request), key)

    def _save(
        self,
        label: CallLabel,
        key: str,
        method: str,
        url: httpx2.URL,
        body: bytes,
        response: httpx2.Response,
        content: bytes,
    ) -> None:
        provenance: Provenance = (
            "hand-written"
            if response.headers.get(PROVENANCE_HEADER) == "hand-written"
            else "captured"
        )
        content_type = response.headers.get("content-type", "application/json")
        record: dict[str, Any]
        if method == "GET":
            encoding, text = _as_text(content)
            record = {
                "format": FORMAT,
                "label": label.header(),
                "provenance": provenance,
                "key": key,
                "request": {"method": "GET", "url": str(url), "path": url.path},
                "response": {
                    "status": response.status_code,
                    "content_type": content_type,
                    "body_encoding": encoding,
                    "body": text,
                },
            }
        else:
            record = {
                "format": FORMAT,
                "label": label.header(),
                "provenance": provenance,
                "key": key,
                "request": {"method": method, "path": url.path, "body": json.loads(body)},
                "response": {
                    "status": response.status_code,
                    "content_type": content_type,
                    "body": json.loads(content),
                },
            }
        text = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        self._folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self._folder / label.filename(), text.encode("utf-8"))

    def close(self) -> None:
        self._inner.close()


def _as_text(content: bytes) -> tuple[Literal["text", "base64"], str]:
    """A GET's body as the recording stores it: its text when it is UTF-8 (JSON, HTML), so it
    replays byte for byte and stays readable; base64 otherwise."""
    try:
        return "text", content.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(content).decode("ascii")


def _content_of(body: Any, encoding: str | None) -> bytes:
    """The response bytes a recording replays (a model answer's JSON, or a GET's stored text)."""
    if encoding == "text":
        return str(body).encode("utf-8")
    if encoding == "base64":
        return base64.b64decode(str(body), validate=True)
    if encoding is not None:
        raise ValueError(f"unknown body_encoding {encoding!r}")
    return json.dumps(body).encode()


@dataclass(frozen=True, slots=True)
class Recording:
    label: str
    provenance: Provenance
    key: str
    model: str  # "" for an EDGAR fetch
    wire_format: str  # "" for an EDGAR fetch
    status: int
    content_type: str
    body: Any
    body_encoding: str | None = None  # "text" or "base64" for a GET; None: the body is JSON

    @property
    def is_model_call(self) -> bool:
        return self.body_encoding is None

    def content(self) -> bytes:
        return _content_of(self.body, self.body_encoding)


RECORDING_GLOBS = ("facts-*.json", "draft-*.json", "verify-*.json", "edgar-*.json")
MAX_RECORDING_BYTES = 16 * 1024 * 1024  # one exchange; far above any real answer


def is_recording(path: Path) -> bool:
    """A file thesisgen recorded (the only kind ``--record`` may replace)."""
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def recording_files(folder: Path) -> list[Path]:
    """Recordings are found by name, so they may share a folder with a memo."""
    if not folder.is_dir():
        return []
    return sorted(p for pattern in RECORDING_GLOBS for p in folder.glob(pattern))


def recorded_stages(folder: Path) -> set[str]:
    """The stages whose calls ``folder`` holds recordings of, by file name ("facts", "draft",
    "verify", "edgar"): enough to refuse a run before its first call when a whole stage is missing."""
    return {p.name.split("-", 1)[0] for p in recording_files(folder)}


def load_recordings(folder: Path) -> list[Recording]:
    out: list[Recording] = []
    for path in recording_files(folder):
        try:
            if path.stat().st_size > MAX_RECORDING_BYTES:
                raise ValueError(f"over {MAX_RECORDING_BYTES // 1024 // 1024} MB")
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            encoding = data["response"].get("body_encoding")
            is_get = data["request"]["method"] == "GET"
            if is_get != (encoding is not None):
                raise ValueError("a GET's body must carry its body_encoding, and only a GET's")
            recording = Recording(
                label=data["label"],
                provenance=data["provenance"],
                key=data["key"],
                model="" if is_get else data["request"]["body"]["model"],
                wire_format="" if is_get else format_of(data["request"]["body"]),
                status=data["response"]["status"],
                content_type=data["response"]["content_type"],
                body=data["response"]["body"],
                body_encoding=encoding,
            )
            recording.content()  # an unreadable body is found here, not at replay
            out.append(recording)
        except (
            OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError
        ) as exc:  # fmt: skip
            raise RecordingError(
                f"recording {path} is unusable ({exc}): re-record it with `thesisgen record`"
            ) from exc
    return out


class ReplayTransport(httpx2.BaseTransport):
    """No network: answer each request from a recording whose key matches, or say why not."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        recordings = load_recordings(folder)
        self._by_key = {r.key: r for r in recordings}
        self._by_label = {r.label: r for r in recordings}
        calls = [r for r in recordings if r.is_model_call]
        self.models = sorted({r.model for r in calls})
        self.provenance = sorted({r.provenance for r in calls})
        self.formats = sorted({r.wire_format for r in calls})

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        key = key_of(request)
        found = self._by_key.get(key)
        if found is None:
            raise self._miss(_label_of(request))
        content = found.content()
        response = httpx2.Response(
            found.status,
            headers={"content-type": found.content_type},
            content=content,
            request=request,
        )
        return _with_key(response, key)

    def _miss(self, label: CallLabel | None) -> RecordingError:
        what = label.describe() if label else "an unlabelled request"
        if label is not None and label.stage == "edgar":
            return RecordingError(
                f"no recording for {what} in {self._folder}: record an EDGAR session with "
                f"`thesisgen record --ticker {label.ticker} --recordings DIR` and a user agent "
                "(edgar_user_agent)"
            )
        if label is not None and label.header() in self._by_label:
            return RecordingError(
                f"the recording for {what} no longer matches today's request (prompt, facts or "
                f"model changed): re-record with `thesisgen record --ticker {label.ticker}` "
                "against a live server, or revert the change"
            )
        return RecordingError(
            f"no recording for {what} in {self._folder}: set OPENAI_API_KEY or OPENAI_BASE_URL "
            "to call a live model, or record one with `thesisgen record`"
        )


class _NoModel(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("this run uses no model, yet a model call was made")


class TransportSettings(Protocol):
    """What :func:`transport_for` reads from a run's settings (``llm.LLMSettings`` has it)."""

    @property
    def mode(self) -> Mode: ...
    @property
    def api_key(self) -> str | None: ...
    @property
    def recordings_dir(self) -> Path | None: ...
    @property
    def cache_dir(self) -> Path | None: ...


def transport_for(
    settings: TransportSettings, network: httpx2.BaseTransport | None = None
) -> httpx2.BaseTransport:
    """The transport stack of a run: replay from recordings (no network), live calls that are
    recorded, cached or only keyed, or none at all for a run that needs no model. ``network`` is
    what a live call finally travels through (default: HTTP); a batch run passes its own, which
    holds each request for the round's batch, so recording and caching work the same there."""
    if settings.mode == "none":
        return _NoModel()
    if settings.mode == "replay":
        if settings.recordings_dir is None:
            raise UsageError(
                "replay needs a recordings folder: pass a bundled ticker or --recordings"
            )
        return ReplayTransport(settings.recordings_dir)
    live = network if network is not None else httpx2.HTTPTransport()
    if settings.mode == "record":
        if settings.recordings_dir is None:
            raise UsageError("record needs a folder to write to: pass --recordings DIR")
        secrets = (settings.api_key,) if settings.api_key else ()
        return RecordingTransport(live, settings.recordings_dir, secrets)
    if settings.cache_dir is not None:
        return CachingTransport(live, settings.cache_dir)
    return KeyingTransport(live)

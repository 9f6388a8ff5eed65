"""Read source documents into :class:`Source` objects: text plus the metadata a citation needs.

Formats: Markdown and plain text (optionally with a YAML front-matter block), HTML (main text and
meta tags by trafilatura, which drops scripts, navigation and boilerplate), and PDF (text per page
by pypdf, so facts can cite a page). Metadata (``id``, ``title``, ``publisher``, ``published``,
``author``, ``url``, ``note``) comes from front matter, HTML meta tags or PDF info, and a sidecar
file ``NAME.meta.yaml`` (or ``.meta.json``) beside the source overrides any of it. Front matter as
blogging tools write it is accepted: ``date`` means ``published``, keys such as ``tags`` are
ignored, and a value of the wrong type is a warning, never a lost source.

Invisible characters (zero-width spaces and joiners, bidi controls, Unicode tag characters, soft
hyphens) are removed from text and metadata as they are read, so every later check, every quote
and every locator sees the text a reader sees. A title or metadata value that addresses the model
is withheld (the title becomes the file name) and the source carries :data:`WITHHELD_NOTE`.

Every failure is an :class:`InputFileError` naming the file and the fix. A file named on the
command line that cannot be read stops the run (exit 2); a bad file found inside a folder is
skipped with a warning as long as other sources remain, and so is a symlink in a folder that
points outside it.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .config import DEFAULTS
from .errors import InputFileError
from .files import describe_validation_error
from .injection import is_invisible
from .injection import score as injection_score
from .models import SOURCE_ID, Source

MAX_SOURCE_BYTES = int(DEFAULTS.max_source_mb * 1024 * 1024)
MAX_SKIP_WARNINGS = 20  # then one line counts the rest
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")

Warn = Callable[[str], None]

WITHHELD_NOTE = "metadata withheld: it addressed the model (possible prompt injection)"


def _ignore(_: str) -> None:
    """A warn callback that drops the warning."""


@dataclass(frozen=True)
class _Read:
    """What a format reader found: the text, metadata, and where each PDF page starts."""

    text: str
    meta: dict[str, Any]
    page_starts: tuple[int, ...] = ()


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        raise InputFileError(
            f"{path}: front matter opened with '---' is never closed: add a '---' line"
        )
    meta = _yaml_mapping(text[4:end], path, "front matter")
    return meta, text[end + len("\n---") :].lstrip("\n")


def _yaml_mapping(text: str, path: Path, what: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0]
        raise InputFileError(f"{path}: {what} is not valid YAML ({reason}): fix it") from exc
    if not isinstance(meta, dict):
        raise InputFileError(f"{path}: {what} must be key: value lines: fix it")
    return meta


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"source {path} is not UTF-8 text (bad byte at offset {exc.start}): convert it to UTF-8"
        ) from exc


def _read_text(raw: bytes, path: Path) -> _Read:
    meta, body = _split_front_matter(_decode(raw, path), path)
    return _Read(body, meta)


def _read_html(raw: bytes, path: Path) -> _Read:
    import logging

    import trafilatura

    # trafilatura logs every page it finds thin; our own error below says what matters.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    document = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, include_tables=True, favor_precision=True
    )
    text = getattr(document, "text", None) or ""
    if not text.strip():
        raise InputFileError(
            f"source {path} has no readable article text: save the page's text as .txt"
        )
    meta = {
        "title": getattr(document, "title", None),
        "publisher": getattr(document, "sitename", None) or getattr(document, "hostname", None),
        "published": getattr(document, "date", None),
        "url": getattr(document, "url", None),
    }
    return _Read(text, {k: v for k, v in meta.items() if v})


_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})(\d{2})")


def _read_pdf(raw: bytes, path: Path) -> _Read:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputFileError(
                f"source {path} is an encrypted PDF: save an unencrypted copy and pass that"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        info: Any = reader.metadata or {}
    except InputFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise InputFileError(
            f"source {path} is not a readable PDF ({type(exc).__name__}): check the file or export it again"
        ) from exc
    if not any(p.strip() for p in pages):
        raise InputFileError(
            f"source {path} is a PDF with no extractable text (a scanned image?): OCR it or pass a text version"
        )
    starts, text = [], ""
    for page in pages:
        starts.append(len(text))
        text += page.rstrip() + "\n\n"
    meta: dict[str, Any] = {}
    title = info.get("/Title")
    if title and str(title).strip():
        meta["title"] = str(title).strip()
    author = info.get("/Author")
    if author and str(author).strip():
        meta["publisher"] = str(author).strip()
    created = _PDF_DATE.match(str(info.get("/CreationDate", "")))
    if created:
        with contextlib.suppress(ValueError):
            meta["published"] = dt.date(*(int(g) for g in created.groups()))
    return _Read(text, meta, tuple(starts))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class Reader:
    """How one file type becomes text and metadata; ``metadata`` names where its metadata is
    read from, for warnings. A new file type is one entry of :data:`READERS`."""

    read: Callable[[bytes, Path], _Read]
    metadata: str


READERS: dict[str, Reader] = {
    ".md": Reader(_read_text, "front matter"),
    ".markdown": Reader(_read_text, "front matter"),
    ".txt": Reader(_read_text, "front matter"),
    ".html": Reader(_read_html, "(HTML meta tags)"),
    ".htm": Reader(_read_html, "(HTML meta tags)"),
    ".pdf": Reader(_read_pdf, "(PDF info)"),
}
SUPPORTED_SUFFIXES = tuple(READERS)


def visible(text: str, page_starts: Sequence[int] = ()) -> tuple[str, tuple[int, ...]]:
    """``text`` without invisible characters, and ``page_starts`` moved to match."""
    removed = [m.start() for m in _NON_ASCII.finditer(text) if is_invisible(m.group())]
    if not removed:
        return text, tuple(page_starts)
    kept: list[str] = []
    last = 0
    for at in removed:
        kept.append(text[last:at])
        last = at + 1
    kept.append(text[last:])
    return "".join(kept), tuple(s - bisect.bisect_left(removed, s) for s in page_starts)


_TEXT_KEYS = ("title", "publisher", "url", "note", "author")
_KEYS = ("id", "published", *_TEXT_KEYS)
_ALIASES = {"date": "published", "authors": "author"}
# What static-site generators and note apps put in front matter; none of it is a citation.
_QUIET_KEYS = frozenset(
    {"tags", "categories", "keywords", "draft", "layout", "slug", "description", "summary", "lang"}
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y")
_SOURCE_ID = re.compile(SOURCE_ID)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text[:10])
        for fmt in _DATE_FORMATS:
            with contextlib.suppress(ValueError):
                return dt.datetime.strptime(text, fmt).date()
    return None


def _text(value: Any) -> str | None:
    """A text field's value: strings as they are, scalars (a year, a number) as text."""
    if isinstance(value, str):
        return visible(value)[0].strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | dt.date):
        return str(value)
    return None


def _metadata(meta: Mapping[Any, Any], where: str, warn: Warn) -> dict[str, Any]:
    """The citation fields of one metadata block, each checked; problems become warnings."""
    fields: dict[str, Any] = {}
    for raw_key, value in meta.items():
        key = str(raw_key).strip().lower()
        key = _ALIASES.get(key, key)
        if key in _QUIET_KEYS or value is None:
            continue
        if key not in _KEYS:
            # A misspelt citation field would silently lose the title or date: that is an error.
            import difflib  # only for a key we do not know

            typo = difflib.get_close_matches(key, _KEYS, n=1, cutoff=0.8)
            if typo:
                raise InputFileError(
                    f"{where}: unknown key '{raw_key}': did you mean '{typo[0]}'? fix the key"
                )
            warn(f"warning: {where}: unknown key '{raw_key}' ignored (known: {', '.join(_KEYS)})")
            continue
        if key in fields and str(raw_key).lower() in _ALIASES:
            continue  # 'published' wins over 'date'
        if key == "published":
            date = _date(value)
            if date is None:
                warn(
                    f"warning: {where}: '{raw_key}: {value}' is not a date (use YYYY-MM-DD): ignored"
                )
            else:
                fields[key] = date
        elif key == "id":
            text = _text(value)
            if text is None or not _SOURCE_ID.match(text):
                warn(f"warning: {where}: 'id: {value}' is not a source ID like S1: ignored")
            else:
                fields[key] = text
        elif key == "author" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            fields[key] = ", ".join(v.strip() for v in value if v.strip()) or None
        else:
            text = _text(value)
            if text is None:
                warn(f"warning: {where}: '{raw_key}' must be text: ignored")
            else:
                if not isinstance(value, str):
                    warn(f"warning: {where}: '{raw_key}: {value}' read as the text '{text}'")
                fields[key] = text
    return {k: v for k, v in fields.items() if v is not None}


def _withhold_injected(fields: dict[str, Any], path: Path, warn: Warn) -> None:
    """A title or other text field that addresses the model never reaches a prompt or the memo:
    the title becomes the file name, other fields are dropped, and the source is marked."""
    withheld: list[str] = []
    signals: dict[str, None] = {}
    for key in ("title", "publisher", "author", "note"):
        value = fields.get(key)
        verdict = injection_score(value) if isinstance(value, str) else None
        if verdict is not None and verdict.flagged:
            withheld.append(key)
            signals.update(dict.fromkeys(verdict.why().split(", ")))
            fields[key] = path.name if key == "title" else None
    if withheld:
        fields["note"] = WITHHELD_NOTE
        shown = "the file name is shown instead" if "title" in withheld else "left out"
        warn(
            f"warning: {path}: {' and '.join(withheld)} addressed the model (possible prompt "
            f"injection: {', '.join(signals)}): {shown}"
        )


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _sidecar(path: Path, folder: Path | None, warn: Warn) -> dict[str, Any]:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if not candidate.is_file():
            continue
        if folder is not None and not _inside(candidate, folder):
            warn(f"warning: ignored {candidate}: a symlink to a file outside {folder}")
            return {}
        try:
            text = candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(
                f"sidecar {candidate} cannot be read as UTF-8 text ({exc}): fix or remove it"
            ) from exc
        meta = _yaml_mapping(text, candidate, "sidecar metadata")
        return _metadata(meta, f"{candidate}", warn)
    return {}


def _default_title(body: str, path: Path) -> str:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return path.stem.replace("-", " ").replace("_", " ")


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MB" if n >= mib else f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


def read_source(
    path: Path,
    default_id: str,
    *,
    max_bytes: int = MAX_SOURCE_BYTES,
    warn: Warn | None = None,
    folder: Path | None = None,
) -> Source:
    """Read one source file. ``folder`` is the --source folder it was found in, if any: a sidecar
    outside it is not read. Warnings (odd metadata) go to ``warn``; failures raise."""
    warn = warn or _ignore
    if not path.exists():
        raise InputFileError(f"source {path} does not exist: check the path")
    if path.is_dir():
        raise InputFileError(
            f"source {path} is a folder: pass it as --source to read the files in it"
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(
            f"source {path} has an unsupported type '{path.suffix}': use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO, a device (/dev/zero), a socket
            raise InputFileError(
                f"source {path} is not a regular file: pass a saved .md, .txt, .html or .pdf file"
            )
        size = info.st_size
        if size > max_bytes:
            big, limit = _size(size), _size(max_bytes)
            if big == limit:
                big, limit = f"{size:,} bytes", f"{max_bytes:,}-byte"
            raise InputFileError(
                f"source {path} is {big}, over the {limit} limit: split it, pass an excerpt, "
                "or raise max_source_mb (env THESISGEN_MAX_SOURCE_MB)"
            )
        with path.open("rb") as handle:  # bounded: a file may grow after the size check
            raw = handle.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise InputFileError(
                f"source {path} grew past the {_size(max_bytes)} limit while it was read: "
                "pass a file that is not being written"
            )
    except OSError as exc:
        raise InputFileError(
            f"source {path} cannot be read ({exc.strerror}): check its permissions"
        ) from exc
    reader = READERS[suffix]
    read = reader.read(raw, path)
    where = f"{path} {reader.metadata}"
    text, page_starts = visible(read.text, read.page_starts)
    if not text.strip():
        raise InputFileError(f"source {path} has no text: remove it or fill it")
    fields: dict[str, Any] = {"id": default_id, "title": _default_title(text, path)}
    fields |= _metadata(read.meta, where, warn) | _sidecar(path, folder, warn)
    _withhold_injected(fields, path, warn)
    fields.update(
        path=path.name,
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        page_starts=list(page_starts),
    )
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        raise InputFileError(
            f"{path}: metadata is invalid ({describe_validation_error(exc)}): fix it"
        ) from exc


def _folder_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Supported files in ``folder``, and why symlinks pointing outside it were passed over: a
    folder is the user's choice of what to read, not whatever its links reach."""
    found: list[Path] = []
    outside: list[str] = []
    for p in sorted(folder.iterdir()):
        if (
            not p.is_file()
            or p.suffix.lower() not in SUPPORTED_SUFFIXES
            or p.name.endswith(SIDECAR_SUFFIXES)
        ):
            continue
        if p.is_symlink() and not _inside(p, folder):
            outside.append(
                f"source {p} is a symlink to {p.resolve()}, outside {folder}: copy the file in"
            )
        else:
            found.append(p)
    return found, outside


def load_sources(
    paths: Sequence[Path], warn: Warn | None = None, *, max_bytes: int = MAX_SOURCE_BYTES
) -> list[Source]:
    """Files as given (a bad one stops the run), folders as their supported files in name order
    (a bad one is skipped with a warning while others remain)."""
    if not paths:
        raise InputFileError("no sources given: pass --source PATH")
    say = warn or _ignore
    entries: list[tuple[Path, Path | None]] = []
    skipped: list[str] = []

    def skip(reason: str) -> None:
        skipped.append(reason)
        if len(skipped) <= MAX_SKIP_WARNINGS:
            say(f"warning: skipped {reason}")

    for path in paths:
        if path.is_dir():
            found, outside = _folder_files(path)
            if not found and not outside:
                raise InputFileError(
                    f"source folder {path} holds no {'/'.join(SUPPORTED_SUFFIXES)} file: check the path"
                )
            for reason in outside:
                skip(reason)
            entries.extend((p, path) for p in found)
        else:
            entries.append((path, None))
    sources: list[Source] = []
    for path, folder in entries:
        try:
            source = read_source(
                path, f"S{len(sources) + 1}", max_bytes=max_bytes, warn=say, folder=folder
            )
        except InputFileError as exc:
            if folder is None:
                raise
            skip(str(exc))
            continue
        sources.append(source)
    if len(skipped) > MAX_SKIP_WARNINGS:
        say(
            f"warning: skipped {len(skipped) - MAX_SKIP_WARNINGS} more file(s) for the same reasons"
        )
    if not sources:
        raise InputFileError(f"no usable source: {skipped[0] if skipped else 'none given'}")
    # Sources are numbered by their IDs (S1, S2, ...), not by file name, so facts keep stable IDs.
    sources.sort(key=lambda s: int(s.id[1:]) if s.id[1:].isdigit() else 10**6)
    seen: dict[str, str] = {}
    for source in sources:
        if source.id in seen:
            raise InputFileError(
                f"sources {seen[source.id]} and {source.path} both have id {source.id}: give each a unique 'id'"
            )
        seen[source.id] = source.path or source.id
    return sources

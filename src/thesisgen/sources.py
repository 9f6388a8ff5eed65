"""Read source documents into :class:`Source` objects: text plus the metadata a citation needs.

Formats: Markdown and plain text (optionally with a YAML front-matter block), HTML (main text and
meta tags by trafilatura, which drops scripts, navigation and boilerplate), and PDF (text per page
by pypdf, so facts can cite a page). Metadata (``id``, ``title``, ``publisher``, ``published``,
``url``, ``note``) comes from front matter, HTML meta tags or PDF info, and a sidecar file
``NAME.meta.yaml`` (or ``.meta.json``) beside the source overrides any of it.

Every failure is an :class:`InputFileError` naming the file and the fix. A file named on the
command line that cannot be read stops the run (exit 2); a bad file found inside a folder is
skipped with a warning as long as other sources remain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import InputFileError
from .files import describe_validation_error
from .models import Source

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
MAX_SOURCE_BYTES = 20 * 1024 * 1024
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")

Warn = Callable[[str], None]


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


def _sidecar(path: Path) -> dict[str, Any]:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return _yaml_mapping(
                candidate.read_text(encoding="utf-8"), candidate, "sidecar metadata"
            )
    return {}


def _default_title(body: str, path: Path) -> str:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return path.stem.replace("-", " ").replace("_", " ")


def read_source(path: Path, default_id: str) -> Source:
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
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise InputFileError(
                f"source {path} is {size // (1024 * 1024)} MB, over the {MAX_SOURCE_BYTES // (1024 * 1024)} MB "
                "limit: split it or pass an excerpt"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"source {path} cannot be read ({exc.strerror}): check its permissions"
        ) from exc
    if suffix in PDF_SUFFIXES:
        read = _read_pdf(raw, path)
    elif suffix in HTML_SUFFIXES:
        read = _read_html(raw, path)
    else:
        read = _read_text(raw, path)
    if not read.text.strip():
        raise InputFileError(f"source {path} has no text: remove it or fill it")
    fields: dict[str, Any] = {"id": default_id, "title": _default_title(read.text, path)}
    fields |= read.meta | _sidecar(path)
    fields.update(
        path=path.name,
        text=read.text,
        sha256=hashlib.sha256(raw).hexdigest(),
        page_starts=list(read.page_starts),
    )
    if isinstance(fields.get("published"), str):
        try:
            fields["published"] = dt.date.fromisoformat(fields["published"][:10])
        except ValueError:
            fields["published"] = None
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        raise InputFileError(
            f"{path}: metadata is invalid ({describe_validation_error(exc)}): fix it"
        ) from exc


def _folder_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.endswith(SIDECAR_SUFFIXES)
    )


def load_sources(paths: Sequence[Path], warn: Warn | None = None) -> list[Source]:
    """Files as given (a bad one stops the run), folders as their supported files in name order
    (a bad one is skipped with a warning while others remain)."""
    if not paths:
        raise InputFileError("no sources given: pass --source PATH")
    entries: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = _folder_files(path)
            if not found:
                raise InputFileError(
                    f"source folder {path} holds no {'/'.join(SUPPORTED_SUFFIXES)} file: check the path"
                )
            entries.extend((p, True) for p in found)
        else:
            entries.append((path, False))
    sources: list[Source] = []
    skipped: list[str] = []
    for path, from_folder in entries:
        try:
            sources.append(read_source(path, f"S{len(sources) + 1}"))
        except InputFileError as exc:
            if not from_folder:
                raise
            skipped.append(str(exc))
            if warn is not None:
                warn(f"warning: skipped {exc}")
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

"""Read source documents into :class:`Source` objects: text plus the metadata a citation needs.

Markdown and plain text may open with a YAML front-matter block (``---``) giving ``id``, ``title``,
``publisher``, ``published``, ``url`` and ``note``; without it the title is the first heading or the
file name. Every failure is an :class:`InputFileError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import InputFileError
from .models import Source

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt")
MAX_SOURCE_BYTES = 20 * 1024 * 1024


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        raise InputFileError(
            f"{path}: front matter opened with '---' is never closed: add a '---' line"
        )
    try:
        meta = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0]
        raise InputFileError(f"{path}: front matter is not valid YAML ({reason}): fix it") from exc
    if not isinstance(meta, dict):
        raise InputFileError(f"{path}: front matter must be key: value lines: fix it")
    body = text[end + len("\n---") :].lstrip("\n")
    return meta, body


def _default_title(body: str, path: Path) -> str:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return path.stem.replace("-", " ").replace("_", " ")


def read_source(path: Path, default_id: str) -> Source:
    if not path.exists():
        raise InputFileError(f"source {path} does not exist: check the path")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputFileError(
            f"source {path} has an unsupported type '{path.suffix}': "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"source {path} cannot be read ({exc.strerror}): check its permissions"
        ) from exc
    if len(raw) > MAX_SOURCE_BYTES:
        raise InputFileError(
            f"source {path} is {len(raw) // (1024 * 1024)} MB, over the "
            f"{MAX_SOURCE_BYTES // (1024 * 1024)} MB limit: split it or pass an excerpt"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"source {path} is not UTF-8 text (bad byte at offset {exc.start}): convert it to UTF-8"
        ) from exc
    text = text.replace("\r\n", "\n")
    meta, body = _split_front_matter(text, path)
    if not body.strip():
        raise InputFileError(f"source {path} has no text: remove it or fill it")
    fields: dict[str, Any] = {"id": default_id, "title": _default_title(body, path)} | meta
    fields.update(path=path.name, text=body, sha256=hashlib.sha256(raw).hexdigest())
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InputFileError(f"{path}: front matter is invalid ({problems}): fix it") from exc


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders as their supported files in name order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                raise InputFileError(
                    f"source folder {path} holds no {'/'.join(SUPPORTED_SUFFIXES)} file: check the path"
                )
            out.extend(found)
        else:
            out.append(path)
    return out


def load_sources(paths: Sequence[Path]) -> list[Source]:
    files = expand_paths(paths)
    if not files:
        raise InputFileError("no sources given: pass --source PATH")
    sources = [read_source(path, f"S{i}") for i, path in enumerate(files, start=1)]
    seen: dict[str, Path] = {}
    for source, path in zip(sources, files, strict=True):
        if source.id in seen:
            raise InputFileError(
                f"sources {seen[source.id]} and {path} both have id {source.id}: give each a unique 'id'"
            )
        seen[source.id] = path
    return sources

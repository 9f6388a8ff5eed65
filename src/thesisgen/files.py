"""File I/O at the edges: contracts from JSON with errors that name the key, and atomic writes.

Every output is written to a temporary file beside its target and renamed into place, so a crash
never leaves a half-written memo, and nothing the user did not ask to replace is overwritten.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .config import DEFAULTS
from .errors import InputFileError

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error as 'where: what', naming unknown keys plainly."""
    problems = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key '{err['loc'][-1]}' at {where}")
        elif err["type"] == "missing":
            problems.append(f"missing key '{err['loc'][-1]}' at {where}")
        else:
            problems.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


DEFAULT_MAX_JSON_BYTES = int(DEFAULTS.max_json_mb * 1024 * 1024)

# How a Word file starts: a .docx/.docm/.dotx is a zip package; an encrypted OOXML or a legacy
# .doc is an OLE compound file.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def is_word_file(path: Path) -> bool:
    """A Word file by its name (.docx) or by its first bytes (a package saved as .docm or .dotx,
    or an encrypted or legacy one), so it gets the Word document's checks and messages."""
    if path.suffix.lower() == ".docx":
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(len(OLE_MAGIC))
    except OSError:
        return False  # whoever reads it next reports the problem in its own words
    return head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC)


def read_user_file(path: Path, what: str, max_bytes: int, folder_fix: str, size_fix: str) -> bytes:
    """The bytes of a file the user named; a missing file, a folder, one over ``max_bytes``
    (refused before it is read) or an unreadable one is one line naming it and the fix."""
    if not path.exists():
        raise InputFileError(f"{what} {path} does not exist: check the path")
    if path.is_dir():
        raise InputFileError(f"{what} {path} is a folder: {folder_fix}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputFileError(
                f"{what} {path} is {size / 1024 / 1024:.1f} MB, over the "
                f"{max_bytes / 1024 / 1024:g} MB limit: {size_fix}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"{what} {path} cannot be read ({exc.strerror}): check permissions"
        ) from exc


def load_model(path: Path, model: type[M], what: str, max_bytes: int = DEFAULT_MAX_JSON_BYTES) -> M:
    """Read a JSON contract; every failure is one line naming the file, the problem and the fix.

    Files over ``max_bytes`` (the ``max_json_mb`` setting) are refused before they are read, and
    nesting too deep for the parser is an error of the file, not a crash.
    """
    raw = read_user_file(
        path,
        what,
        max_bytes,
        folder_fix="pass the JSON file inside it",
        size_fix="check the file, or raise max_json_mb (env THESISGEN_MAX_JSON_MB)",
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{what} {path} is not UTF-8 text: pass a JSON file") from exc
    try:
        return model.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix the file"
        ) from exc
    except RecursionError:  # from the parser or from validation
        raise InputFileError(
            f"{what} {path} is nested too deeply to be a {model.__name__}: fix the file"
        ) from None
    except ValidationError as exc:
        raise InputFileError(
            f"{what} {path} does not fit the {model.__name__} contract ({describe_validation_error(exc)}): fix the file"
        ) from exc


def dump_model(model: BaseModel) -> bytes:
    return (model.model_dump_json(indent=2, exclude_none=False) + "\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary path beside ``path``, then rename it into place."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp creates 0600; give the file the permissions a plain open() would have.
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes_atomic(path: Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    write_atomic(path, write)


def exclusive_lock(path: Path) -> int | None:
    """An exclusive, non-blocking lock on ``path`` (created if missing): its descriptor, or None
    when another process holds it. OSError when it cannot be opened. The holder before us may
    have removed the file after we opened it, so the lock is taken on the live one."""
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            same = path.stat().st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    return None

"""File I/O at the edges: contracts from JSON with errors that name the key, and atomic writes.

Every output is written to a temporary file beside its target and renamed into place, so a crash
never leaves a half-written memo, and nothing the user did not ask to replace is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InputFileError, OutputExistsError, UsageError

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


def load_model(path: Path, model: type[M], what: str) -> M:
    """Read a JSON contract; every failure is one line naming the file, the problem and the fix."""
    if not path.exists():
        raise InputFileError(f"{what} {path} does not exist: check the path")
    if path.is_dir():
        raise InputFileError(f"{what} {path} is a folder: pass the JSON file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{what} {path} is not UTF-8 text: pass a JSON file") from exc
    except OSError as exc:
        raise InputFileError(
            f"{what} {path} cannot be read ({exc.strerror}): check permissions"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix the file"
        ) from exc
    try:
        return model.model_validate(data)
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


class OutputDir:
    """The folder a command writes into, checked before any work starts."""

    def __init__(self, folder: Path, names: Iterable[str], force: bool) -> None:
        self.folder = folder
        self.names = tuple(names)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {folder} is a file, not a folder: choose a folder")
        existing = [n for n in self.names if (folder / n).exists()]
        if existing and not force:
            raise OutputExistsError(
                f"{folder / existing[0]} already exists: pass --force to replace it, "
                "or choose another --out folder"
            )

    def prepare(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot create --out folder {self.folder} ({exc.strerror}): choose another"
            ) from exc

    def path(self, name: str) -> Path:
        return self.folder / name

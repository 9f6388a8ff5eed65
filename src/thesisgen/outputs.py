"""The files one command writes into ``--out``, checked before any work and replaced as one unit.

The protocol, so that a crash at any instant leaves either the previous set or a set whose manifest
says it is unfinished, never a mix that looks complete:

1. Before the first model call (:meth:`OutputSet.open`): create ``--out``, take its lock (a second
   run into the same folder fails at once), remove staging folders that killed runs left, and check
   that the outputs are free. A *complete* set (its manifest's ``status`` is ``complete``) is
   replaced only with ``--force``; an unfinished one (any other status) is replaced without it. Files
   with our names but no manifest are the user's, and need ``--force`` too.
2. Files are written into a staging folder inside ``--out`` (same file system, so moves are renames).
3. :meth:`OutputSet.commit`: the old manifest is replaced by one with status ``writing``; the old
   set's other files are removed; the new files are moved in; the final manifest goes in last.
4. :meth:`OutputSet.close` runs on every exit path: the staging folder and the lock go, and an
   ``--out`` folder that this run created and left empty is removed.

``THESISGEN_TEST_HOOK`` (tests only) stops the process at a named point, to prove the protocol:
``crash@POINT`` exits at once with code 86, as a kill would; ``pause@POINT@FILE`` touches
``FILE.reached`` and waits (at most 60 s) until ``FILE`` exists. Points: ``locked``, ``staged``,
``writing``, ``moved:NAME`` (after each file is in place) and ``committed``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from .errors import OutputExistsError, UsageError
from .files import exclusive_lock, sha256_bytes

# The files each command writes; only these are ever replaced or removed by a later run.
DRAFT_OUTPUTS = (
    "memo.docx", "memo.md", "draft.json", "facts.json", "report.json", "report.md", "manifest.json"
)  # fmt: skip
FACTS_OUTPUTS = ("facts.json", "manifest.json")
RENDER_OUTPUTS = ("memo.docx", "memo.md")
# The financials chart memo.md links: in a memo's set only when the memo has a chart; a set
# without one removes the chart of the set it replaces.
CHART_FILE = "chart.png"
MEMO_EXTRAS = (CHART_FILE,)
ALL_OUTPUTS = frozenset(DRAFT_OUTPUTS + FACTS_OUTPUTS + RENDER_OUTPUTS + MEMO_EXTRAS)
# Sets that hold a memo a reviewer may be reading or editing: replaced only with --force.
MEMO_STATUSES = ("complete", "flagged")
LOCK_NAME = ".thesisgen.lock"
STAGING_PREFIX = ".thesisgen-staging-"
MANIFEST = "manifest.json"
MIN_FREE_BYTES = 20 * 1024 * 1024
HOOK_ENV = "THESISGEN_TEST_HOOK"


def checkpoint(point: str) -> None:
    """A test-only stop (see the module docstring); does nothing unless the hook names ``point``."""
    hook = os.environ.get(HOOK_ENV)
    if not hook:
        return
    action, _, rest = hook.partition("@")
    target, _, signal_file = rest.partition("@")
    if target != point:
        return
    if action == "crash":
        os._exit(86)
    if action == "pause" and signal_file:
        Path(signal_file + ".reached").touch()
        deadline = time.monotonic() + 60
        while not Path(signal_file).exists() and time.monotonic() < deadline:
            time.sleep(0.02)


def _write_error(path: Path, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        return UsageError(
            f"the disk of {path.parent} is full (writing {path.name}): free space or choose another --out"
        )
    return UsageError(
        f"cannot write {path} ({reason}): check the folder's permissions or choose another --out"
    )


def read_status(folder: Path) -> str | None:
    """The status in ``folder``'s manifest: None without one, 'unreadable' for a broken one."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"
    if not isinstance(data, dict):
        return "unreadable"
    # Manifests written before statuses existed describe complete runs.
    status = data.get("status", "complete")
    return status if isinstance(status, str) else "unreadable"


def _listed_outputs(folder: Path) -> list[str]:
    """The files a manifest says its run wrote, among the names thesisgen writes."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        names = [*data.get("outputs", {}), *data.get("replacing", [])]
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    return [n for n in dict.fromkeys(names) if n in ALL_OUTPUTS]


class OutputSet:
    """The files of one command in one folder. Use as a context manager around the whole run."""

    def __init__(
        self, folder: Path, names: Iterable[str], force: bool, what: str = "--out"
    ) -> None:
        self.folder = folder
        self.names = tuple(names)
        self.force = force
        self.what = what
        self.replacing: str | None = None  # status of an unfinished set this run replaces
        self._created: list[Path] = []
        self._lock_fd: int | None = None
        self._staging: Path | None = None

    # --- before any work ---------------------------------------------------------------------

    def precheck(self) -> None:
        """The refusals that need no lock and touch nothing (a file where the folder should be,
        a complete set without --force), so a run can say them before it fetches or calls."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{self.what} {folder} is a file, not a folder: choose a folder")
        if folder.is_dir():
            self._check_free()

    def open(self) -> OutputSet:
        self.precheck()  # checked again under the lock
        self._make_folder()
        try:
            self._lock()
            checkpoint("locked")
            self._clear_stale_staging()
            self._check_free()
            self._check_writable()
        except BaseException:
            self.close()
            raise
        return self

    def _make_folder(self) -> None:
        missing = []
        for parent in [self.folder, *self.folder.parents]:
            if parent.exists():
                break
            missing.append(parent)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot create {self.what} folder {self.folder} ({exc.strerror or exc}): choose another"
            ) from None
        self._created = missing  # deepest first, so removal goes bottom-up

    def _lock(self) -> None:
        try:
            fd = exclusive_lock(self.folder / LOCK_NAME)
        except OSError as exc:
            raise UsageError(
                f"cannot write into {self.what} folder {self.folder} ({exc.strerror}): "
                "check its permissions or choose another"
            ) from None
        if fd is None:
            raise UsageError(
                f"another thesisgen run is writing to {self.folder}: wait for it to finish "
                "or choose another --out"
            )
        self._lock_fd = fd

    def _clear_stale_staging(self) -> None:
        # We hold the lock, so any staging folder here belongs to a run that was killed.
        for stale in self.folder.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        for name in self.names:  # temporary files of our own earlier versions: .memo.docx.*.tmp
            for stale in self.folder.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)

    def _check_free(self) -> None:
        status = read_status(self.folder) if MANIFEST in self.names else None
        existing = [n for n in self.names if (self.folder / n).exists()]
        if not existing:
            return
        if status is not None and status not in (*MEMO_STATUSES, "unreadable"):
            self.replacing = status
            return
        if not self.force:
            raise OutputExistsError(
                f"{self.folder / existing[0]} already exists: pass --force to replace it, "
                "or choose another --out folder"
            )

    def _check_writable(self) -> None:
        try:
            self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder))
            probe = self._staging / ".probe"
            probe.write_bytes(b"x")
            probe.unlink()
            free = shutil.disk_usage(self.folder).free
        except OSError as exc:
            raise UsageError(
                f"cannot write into {self.what} folder {self.folder} ({exc.strerror or exc}): "
                "check its permissions or choose another"
            ) from None
        if free < MIN_FREE_BYTES:
            raise UsageError(
                f"the disk of {self.what} folder {self.folder} has only {free // 1024} KiB free: "
                "free space or choose another --out"
            )

    # --- writing --------------------------------------------------------------------------------

    @property
    def staging(self) -> Path:
        assert self._staging is not None, "open() first"
        return self._staging

    def stage(self, name: str, data: bytes) -> str:
        """Write one output into the staging folder; returns its SHA-256."""
        path = self.staging / name
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise _write_error(self.folder / name, exc) from None
        return sha256_bytes(data)

    def staged_path(self, name: str) -> Path:
        """Where a file written by another library (the DOCX) goes before commit."""
        return self.staging / name

    def hash_staged(self, name: str) -> str:
        return sha256_bytes((self.staging / name).read_bytes())

    def holds_complete_set(self) -> bool:
        return read_status(self.folder) in MEMO_STATUSES

    def commit(
        self, names: Iterable[str], manifest: bytes | None, drop: Iterable[str] = ()
    ) -> None:
        """Move the staged ``names`` into place as one set, the manifest (bytes) last. ``drop``:
        outputs of this command the new set lacks, removed when a set without a manifest (a
        re-render) replaces one that had them (a chart.png the memo no longer links)."""
        names = [n for n in names if n != MANIFEST]
        checkpoint("staged")
        try:
            for old in drop:
                if old in self.names and old not in names and old != MANIFEST:
                    (self.folder / old).unlink(missing_ok=True)
            if manifest is not None:
                previous = _listed_outputs(self.folder)
                self._mark_writing(previous)
                checkpoint("writing")
                for old in previous:  # files of the set being replaced that the new set lacks
                    if old not in names and old != MANIFEST:
                        (self.folder / old).unlink(missing_ok=True)
            for name in names:
                (self.staging / name).replace(self.folder / name)
                checkpoint(f"moved:{name}")
            if manifest is not None:
                self.stage(MANIFEST, manifest)
                (self.staging / MANIFEST).replace(self.folder / MANIFEST)
                checkpoint(f"moved:{MANIFEST}")
        except OSError as exc:
            raise _write_error(self.folder, exc) from None
        checkpoint("committed")

    def _mark_writing(self, previous: list[str]) -> None:
        """The set is unfinished from here on; the marker names the old set's files, so a run
        that replaces a crashed commit still removes them."""
        marker = json.dumps({"status": "writing", "outputs": {}, "replacing": previous}).encode()
        self.stage(MANIFEST, marker)
        (self.staging / MANIFEST).replace(self.folder / MANIFEST)

    # --- every exit path -----------------------------------------------------------------------

    def close(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                (self.folder / LOCK_NAME).unlink()
            os.close(self._lock_fd)
            self._lock_fd = None
        for folder in self._created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never removes anything the run did not create
        self._created = []

    def __enter__(self) -> OutputSet:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

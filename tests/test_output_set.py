"""The output set is one unit: crashes at every point of the commit, --force, two runs at once,
Ctrl-C against a hung server, and --record never deleting what it did not write.

Crash points come from the documented test-only hook (THESISGEN_TEST_HOOK, see outputs.py), not
from timing: ``crash@POINT`` ends the process at that point as a kill would.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import AREC, AUTHORED_MODEL, Completed, clean_env, run_authored, run_cli
from stub_openai import Reply, authored_script, serve
from thesisgen.outputs import DRAFT_OUTPUTS, LOCK_NAME, STAGING_PREFIX

# Every draft here is served by our stub on 127.0.0.1 (see _draft).
pytestmark = pytest.mark.enable_socket

POINTS = [
    "locked",
    "staged",
    "writing",
    *(f"moved:{name}" for name in DRAFT_OUTPUTS),
    "committed",
]


def _draft(out: Path, cwd: Path, *extra: str, **env: str) -> Completed:
    """An AREC draft from its authored answers served by our stub: unlike a replay of the
    recordings, it still runs when a prompt's wording changes (hence enable_socket above)."""
    draft = ("draft", "--ticker", "AREC", "--out", out, *extra)
    return run_authored("AREC", *draft, cwd=cwd, **env).result


def _leftovers(out: Path) -> list[str]:
    """Anything a run must never leave behind once it has ended normally."""
    return sorted(
        p.name
        for p in out.iterdir()
        if p.name.startswith((STAGING_PREFIX, LOCK_NAME)) or p.name.endswith(".tmp")
    )


def _consistent(out: Path) -> str:
    """The state of a folder after a crash: 'complete' only if every listed output is present
    with its recorded hash; otherwise the manifest must say the set is unfinished."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        assert not any((out / n).exists() for n in DRAFT_OUTPUTS), sorted(
            p.name for p in out.iterdir()
        )
        return "empty"
    manifest = json.loads(manifest_path.read_text())
    status = manifest.get("status", "complete")
    if status == "complete":
        assert set(manifest["outputs"]) == set(DRAFT_OUTPUTS) - {"manifest.json"}
        for name, digest in manifest["outputs"].items():
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    return str(status)


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_point_leaves_a_set_that_is_complete_or_marked(
    point: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    crashed = _draft(out, tmp_path, THESISGEN_TEST_HOOK=f"crash@{point}")
    assert crashed.code == 86, crashed.stderr
    state = _consistent(out) if out.exists() else "empty"
    assert state in ("empty", "writing", "complete"), state
    assert (state == "complete") == (point in ("moved:manifest.json", "committed"))
    # The next run needs no --force unless a complete set is there, and cleans what the crash left.
    rerun = _draft(out, tmp_path, *(["--force"] if state == "complete" else []))
    assert rerun.code == 0, rerun.stderr
    assert _consistent(out) == "complete"
    assert _leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_crash_during_force_never_mixes_old_and_new(point: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _draft(out, tmp_path).code == 0
    old = {n: (out / n).read_bytes() for n in DRAFT_OUTPUTS}
    crashed = _draft(out, tmp_path, "--force", THESISGEN_TEST_HOOK=f"crash@{point}")
    assert crashed.code == 86
    state = _consistent(out)
    if point in ("locked", "staged"):  # before the commit began: the old set, untouched
        assert state == "complete"
        assert {n: (out / n).read_bytes() for n in DRAFT_OUTPUTS} == old
    elif point in ("moved:manifest.json", "committed"):
        assert state == "complete"
    else:  # mid-commit: marked unfinished, so never taken for a complete memo
        assert state == "writing"
        assert _draft(out, tmp_path).code == 0  # replaced without --force
        assert _consistent(out) == "complete"
    assert _draft(out, tmp_path, "--force").code == 0
    assert _leftovers(out) == []


def test_an_unfinished_set_is_replaced_without_force_a_complete_one_is_not(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "service_failed"}))
    (out / "facts.json").write_text("{}")
    (out / "notes.txt").write_text("the analyst's own file")
    first = _draft(out, tmp_path)
    assert first.code == 0, first.stderr
    assert "Replacing the unfinished run" in first.stderr
    assert (out / "notes.txt").read_text() == "the analyst's own file"
    second = _draft(out, tmp_path)
    assert second.code == 2 and "--force" in second.stderr
    assert _consistent(out) == "complete"


def test_our_file_names_without_a_manifest_are_the_users(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "memo.docx").write_bytes(b"the analyst's own memo")
    result = _draft(out, tmp_path)
    assert result.code == 2 and "already exists" in result.stderr
    assert (out / "memo.docx").read_bytes() == b"the analyst's own memo"
    assert sorted(p.name for p in out.iterdir()) == ["memo.docx"]


def test_two_runs_into_one_folder_the_second_fails_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    signal_file = tmp_path / "go"
    env = clean_env(THESISGEN_TEST_HOOK=f"pause@locked@{signal_file}")
    # The first run drafts from the authored answers (not the recordings), as _draft does.
    with serve(authored_script(AREC / "authored")) as server:
        first = subprocess.Popen(
            [sys.executable, "-m", "thesisgen", "draft", "--ticker", "AREC", "--out", str(out),
             "--base-url", server.base_url, "--model", AUTHORED_MODEL],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not Path(f"{signal_file}.reached").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert Path(f"{signal_file}.reached").exists(), "the first run never took the lock"
            start = time.monotonic()
            second = _draft(out, tmp_path, "--force")
            assert time.monotonic() - start < 30
            assert second.code == 2
            assert "another thesisgen run is writing" in second.stderr
            signal_file.touch()
            _, stderr = first.communicate(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, stderr
    assert _consistent(out) == "complete" and _leftovers(out) == []


@pytest.mark.enable_socket
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_against_a_hung_server_exits_130_promptly_and_cleanly(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """The benchmark (benchmarks/interrupt_bench.py) measures the 2 s target; this test holds the
    behaviour under a generous ceiling."""

    def hung(label: str, body: dict[str, Any]) -> Reply:
        return Reply(200, {}, delay_s=300)

    out = tmp_path / "out"
    cache = tmp_path / "cache"
    with serve(hung) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "thesisgen", "draft", "--ticker", "AREC", "--out", str(out),
             "--base-url", server.base_url, "--model", "m", "--structured-output", "json_object"],
            cwd=tmp_path, env=clean_env(THESISGEN_CACHE_DIR=str(cache)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while len(server.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(server.requests) >= 2, "no call went out"
            start = time.monotonic()
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=60)
            elapsed = time.monotonic() - start
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, stderr
    assert elapsed < 15, elapsed
    lines = [line for line in stderr.splitlines() if line.startswith("thesisgen: error:")]
    assert len(lines) == 1 and "interrupted" in lines[0]
    assert "Traceback" not in stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert not cache.exists() or not list(cache.rglob("*.tmp"))


# --- --record writes only its own files --------------------------------------------------------


@pytest.mark.enable_socket
def test_record_keeps_what_it_did_not_write_and_shares_a_folder_with_the_memo(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "both"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with serve(authored_script(AREC / "authored")) as server:
        result = run_cli(
            "draft", "--ticker", "AREC", "--record", "--recordings", folder, "--out", folder,
            "--base-url", server.base_url, "--model", "handwritten-fixture", cwd=tmp_path,
        )  # fmt: skip
    assert result.code == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert "keep.txt" in names and "memo.docx" in names
    assert any(n.startswith("draft-bottom_line-1") for n in names)
    assert _leftovers(folder) == []
    # The folder replays: the memo's own JSON files are not mistaken for recordings.
    replayed = run_cli(
        "draft", "--ticker", "AREC", "--offline", "--recordings", folder,
        "--out", tmp_path / "replayed", cwd=tmp_path,
    )  # fmt: skip
    assert replayed.code == 0, replayed.stderr


@pytest.mark.enable_socket
def test_a_failed_record_leaves_nothing_and_deletes_nothing(tmp_path: Path) -> None:
    recordings = tmp_path / "rec"
    recordings.mkdir()
    (recordings / "keep.txt").write_text("the user's file")
    config = tmp_path / "thesisgen.toml"
    config.write_text("retry_attempts = 2\nretry_initial_wait = 0.01\nretry_max_wait = 0.02\n")

    def down(label: str, body: dict[str, Any]) -> Reply:
        return Reply(503, {"error": {"message": "down"}})

    with serve(down) as server:
        failed = run_cli(
            "draft", "--ticker", "AREC", "--record", "--recordings", recordings,
            "--out", tmp_path / "out", "--base-url", server.base_url, "--model", "m",
            "--structured-output", "json_object", "--config", config, cwd=tmp_path,
        )  # fmt: skip
    assert failed.code == 3, failed.stderr
    assert sorted(p.name for p in recordings.iterdir()) == ["keep.txt"]
    assert not list(tmp_path.glob("*.partial"))
    (recordings / "facts-S1-1.json").write_text("not a recording: the user's file")
    with serve(authored_script(AREC / "authored")) as server:
        refused = run_cli(
            "draft", "--ticker", "AREC", "--record", "--recordings", recordings,
            "--out", tmp_path / "out2", "--base-url", server.base_url,
            "--model", "handwritten-fixture", cwd=tmp_path,
        )  # fmt: skip
        assert server.requests == [], "refused before the first model call"
    assert refused.code == 2 and "not a thesisgen recording" in refused.stderr
    assert not (tmp_path / "out2").exists()
    assert (recordings / "facts-S1-1.json").read_text() == "not a recording: the user's file"


def test_replacing_a_set_removes_what_the_new_set_lacks_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _draft(out, tmp_path).code == 0
    (out / "notes.txt").write_text("the analyst's own file")
    # A crash mid-commit of a smaller set (the facts command) must not strand the old memo.
    crashed = run_authored(
        "AREC", "facts", "--ticker", "AREC", "--out", out, "--force", cwd=tmp_path,
        THESISGEN_TEST_HOOK="crash@writing",
    ).result  # fmt: skip
    assert crashed.code == 86
    facts = run_authored("AREC", "facts", "--ticker", "AREC", "--out", out, cwd=tmp_path).result
    assert facts.code == 0, facts.stderr
    assert sorted(p.name for p in out.iterdir()) == ["facts.json", "manifest.json", "notes.txt"]
    assert (out / "notes.txt").read_text() == "the analyst's own file"

"""Bad input, as a matrix of CLI runs: every row ends with a non-zero exit, exactly one line
``thesisgen: error: ...`` naming the problem, no traceback, and nothing written, created, changed or
deleted in the working folder or --out (a snapshot of names, sizes, mtimes and hashes is compared).
Rows that would talk to a model run against the stub and must make no request at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import AREC, STATIC, Completed, run_authored, run_cli
from stub_openai import Reply, authored_script, completion, prompt_chars, serve, wants_stance

ERROR = "thesisgen: error:"
# Progress notes a refused run may print before its error line: the budget plan of a live run and
# the announcement of a replay. Anything else on stderr is a failure.
NOTES = ("Plan: about ", "No OPENAI_API_KEY or OPENAI_BASE_URL set: replaying")

Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root`` (root included): kind, size, mtime and SHA-256 of files; kind
    and mtime of folders. Symlinks are recorded, not followed."""
    entries: Snapshot = {}
    if not root.exists():
        return entries
    stat = root.stat()
    entries["."] = ("dir", stat.st_mtime_ns)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            info = path.lstat()
            if path.is_symlink():
                entries[rel] = ("link", str(path.readlink()))
            elif path.is_dir():
                entries[rel] = ("dir", info.st_mtime_ns)
            elif not path.is_file():  # a FIFO or socket: reading it would block
                entries[rel] = ("special", info.st_mode, info.st_mtime_ns)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                entries[rel] = ("file", info.st_size, info.st_mtime_ns, digest)
    return entries


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    changes = [f"created {k}" for k in sorted(set(after) - set(before))]
    changes += [f"deleted {k}" for k in sorted(set(before) - set(after))]
    changes += [f"changed {k}" for k in sorted(set(before) & set(after)) if before[k] != after[k]]
    return changes


def test_snapshot_sees_every_kind_of_change(tmp_path: Path) -> None:
    """The matrix's "nothing changed" means something: the snapshot notices each kind of change."""
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "a.txt").write_text("a")
    before = snapshot(tmp_path)
    assert not diff(before, snapshot(tmp_path))
    (tmp_path / "keep" / "a.txt").write_text("b")  # same size, new content
    assert diff(before, snapshot(tmp_path)) == ["changed keep/a.txt"]
    before = snapshot(tmp_path)
    (tmp_path / "made").mkdir()
    (tmp_path / "made").rmdir()  # created and removed again: the parent's mtime shows it
    os.utime(tmp_path / "keep" / "a.txt", ns=(0, 0))
    assert diff(before, snapshot(tmp_path)) == ["changed .", "changed keep/a.txt"]


def assert_refused(result: Completed, code: int, needles: Sequence[str]) -> str:
    """Exit ``code``, no traceback, nothing on stdout, and on stderr one error line (holding every
    needle) plus at most the known progress notes. Returns the error line."""
    assert result.code == code, (result.code, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.stdout.strip() == "", result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(ERROR)]
    assert len(errors) == 1, result.stderr
    others = [line for line in lines if not line.startswith((ERROR, *NOTES))]
    assert not others, f"unexpected stderr lines: {others}"
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


# --- the matrix -----------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a row's arguments may refer to: the working folder, --out, and the stub's URL."""

    work: Path
    out: Path
    url: str = ""

    def static(self) -> Path:
        """A copy of tests/data/static/ (a validated AREC draft, its facts and sources)."""
        folder = self.work / "static"
        if not folder.exists():
            shutil.copytree(STATIC, folder, ignore=shutil.ignore_patterns("README.md"))
        return folder

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return path


Argv = Callable[[Ctx], Sequence[str | Path]]


@dataclass(frozen=True)
class Case:
    id: str
    argv: Argv  # after `thesisgen`; may create the files it names (before the snapshot)
    needles: tuple[str, ...]
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    live: bool = False  # run with a stub model server; it must get no request
    max_seconds: float | None = None
    slow: bool = False
    extra: Callable[[Ctx], None] | None = None  # more checks after the run


def draft(*args: str | Path) -> Argv:
    return lambda c: ["draft", "--ticker", "AREC", "--out", c.out, *args]


def draft_with(make: Callable[[Ctx], Sequence[str | Path]]) -> Argv:
    return lambda c: ["draft", "--ticker", "AREC", "--out", c.out, *make(c)]


def live_draft(make: Callable[[Ctx], Sequence[str | Path]]) -> Argv:
    def argv(c: Ctx) -> list[str | Path]:
        base = ["draft", "--ticker", "AREC", "--base-url", c.url, "--model", "handwritten-fixture"]
        return [*base, "--out", c.out, *make(c)]

    return argv


def toml(text: str) -> Argv:
    def argv(c: Ctx) -> list[str | Path]:
        c.write("thesisgen.toml", text)
        return ["draft", "--ticker", "AREC", "--out", c.out]

    return argv


def facts_file(c: Ctx, name: str, data: bytes | str) -> list[str | Path]:
    return ["--facts", c.write(name, data)]


def deep_json(depth: int) -> str:
    return '{"facts": ' + "[" * depth + "]" * depth + "}"


def big_json(megabytes: float) -> str:
    return json.dumps({"ticker": "AREC", "pad": "x" * int(megabytes * 1024 * 1024)})


def other_ticker_facts(c: Ctx) -> list[str | Path]:
    facts = json.loads((c.static() / "facts.json").read_text())
    facts["ticker"] = "PKX"
    path = c.static() / "pkx-facts.json"
    path.write_text(json.dumps(facts))
    return ["--facts", path]


def many_sources(count: int) -> Callable[[Ctx], list[str | Path]]:
    def make(c: Ctx) -> list[str | Path]:
        folder = c.work / f"notes{count}"
        folder.mkdir(exist_ok=True)
        for i in range(count):
            (folder / f"note{i:03d}.md").write_text(
                f"# Note {i}\n\nRevenue was ${i + 1} million in 2024.\n"
            )
        return ["--source", folder]

    return make


def validate(make: Callable[[Ctx], Path]) -> Argv:
    return lambda c: ["validate", make(c), "--facts", c.static() / "facts.json"]


def forged_render(c: Ctx) -> list[str | Path]:
    """The static pair with F1's quote replaced by a sentence that is in no source."""
    folder = c.static()
    facts = json.loads((folder / "facts.json").read_text())
    assert facts["facts"][0]["id"] == "F1" and not facts["facts"][0]["quantities"]
    facts["facts"][0]["quote"] = "The two companies will open a magnet plant on the Moon."
    (folder / "facts.json").write_text(json.dumps(facts, indent=2))
    return ["render", folder / "draft.json", "--facts", folder / "facts.json", "--out", c.out]


def with_out(make_out: Callable[[Ctx], Path], argv: Argv) -> Argv:
    """A row whose --out is not the default one (a file, a path under a file)."""

    def with_it(c: Ctx) -> Sequence[str | Path]:
        c.out = make_out(c)
        return argv(c)

    return with_it


def proc_out_not_created(c: Ctx) -> None:
    assert not Path("/proc/thesisgen-x").exists()


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _notes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "note.md").write_text("AREC sold 10 units in 2024.\n")
    return folder


def _escaping_ledger(c: Ctx) -> Path:
    data = json.loads((c.static() / "facts.json").read_text())
    data["sources"][0]["path"] = "../../etc/passwd.txt"
    return c.write("escaping.json", json.dumps(data))


CASES = [
    # --- flags ---
    Case("timeout-negative", draft("--timeout", "-5"), ("--timeout", "-5", "greater than 0")),
    Case("timeout-nan", draft("--timeout", "nan"), ("--timeout", "finite")),
    Case("timeout-zero", draft("--timeout", "0"), ("--timeout", "greater than 0")),
    Case("timeout-inf", draft("--timeout", "inf"), ("--timeout", "finite")),
    Case("concurrency-zero", draft("--concurrency", "0"), ("--concurrency",)),
    Case("concurrency-1e23", draft("--concurrency", "1e23"), ("--concurrency", "integer")),
    Case("max-repairs-huge", draft("--max-repairs", "1000000"), ("--max-repairs", "10")),
    Case("max-tokens-negative", draft("--max-tokens", "-1"), ("--max-tokens",)),
    Case("max-calls-zero", draft("--max-calls", "0"), ("--max-calls",)),
    Case(
        "base-url-no-scheme",
        draft("--base-url", "localhost:8080"),
        ("--base-url", "http://"),
        max_seconds=2.0,
    ),
    Case("base-url-ftp", draft("--base-url", "ftp://x"), ("--base-url", "http://")),
    Case("model-empty", draft("--model", ""), ("--model", "empty")),
    Case("structured-output-xml", draft("--structured-output", "xml"), ("--structured-output",)),
    Case("unknown-option", draft("--bogus"), ("--bogus",)),
    Case("missing-ticker", lambda c: ["draft", "--out", c.out], ("--ticker",)),
    Case(
        "ticker-newline",
        lambda c: ["draft", "--ticker", "AR\nEC", "--out", c.out],
        ("not a ticker", "AR\\nEC"),
    ),
    Case(
        "ticker-dotdot", lambda c: ["draft", "--ticker", "../x", "--out", c.out], ("not a ticker",)
    ),
    Case("offline-and-record", draft("--offline", "--record"), ("--offline", "--record")),
    # --- environment and config file ---
    Case(
        "env-concurrency-abc",
        draft(),
        ("THESISGEN_CONCURRENCY", "abc"),
        env={"THESISGEN_CONCURRENCY": "abc"},
    ),
    Case("toml-unknown-key", toml("colour = 'blue'\n"), ("unknown key 'colour'", "thesisgen.toml")),
    Case("toml-invalid", toml("timeout = \n"), ("not valid TOML", "thesisgen.toml")),
    Case("toml-timeout-negative", toml("timeout = -1\n"), ("timeout", "thesisgen.toml")),
    Case(
        "toml-chunk-overlap-half",
        toml("chunk_chars = 4000\nchunk_overlap = 2000\n"),
        ("chunk_overlap", "chunk_chars"),
    ),
    Case(
        "config-flag-missing-file",
        lambda c: ["draft", "--ticker", "AREC", "--out", c.out, "--config", c.work / "no.toml"],
        ("no.toml", "does not exist"),
    ),
    # --- input files ---
    Case(
        "facts-missing",
        draft_with(lambda c: ["--facts", c.work / "nope.json"]),
        ("nope.json", "does not exist"),
    ),
    Case(
        "facts-is-folder",
        draft_with(lambda c: ["--facts", c.write("ledger/facts.json", "{}").parent]),
        ("is a folder",),
    ),
    Case(
        "facts-not-json",
        draft_with(lambda c: facts_file(c, "f.json", "hello")),
        ("not valid JSON",),
    ),
    Case(
        "facts-not-utf8",
        draft_with(lambda c: facts_file(c, "f.json", b'{"ticker": "\xff\xfe"}')),
        ("not UTF-8",),
    ),
    Case(
        "facts-nested-200000-deep",
        draft_with(lambda c: facts_file(c, "deep.json", deep_json(200_000))),
        ("nested too deeply",),
    ),
    Case(
        "facts-over-size-limit",
        draft_with(lambda c: facts_file(c, "big.json", big_json(2))),
        ("big.json", "over the 1 MB limit", "max_json_mb"),
        env={"THESISGEN_MAX_JSON_MB": "1"},
    ),
    Case("facts-other-ticker", draft_with(other_ticker_facts), ("is for PKX",)),
    Case(
        "template-missing",
        draft_with(lambda c: ["--template", c.work / "base.docx"]),
        ("template", "does not exist"),
    ),
    Case(
        "template-txt-renamed-docx-live",
        live_draft(lambda c: ["--template", c.write("base.docx", "plain text, not a zip\n")]),
        ("base.docx", "not a usable .docx"),
        live=True,
    ),
    Case(
        "source-missing",
        draft_with(lambda c: ["--source", c.work / "nope.md"]),
        ("nope.md", "does not exist"),
    ),
    Case(
        "source-unsupported-type",
        draft_with(lambda c: ["--source", c.write("sheet.xlsx", b"PK\x03\x04")]),
        ("unsupported type '.xlsx'",),
    ),
    Case(
        "source-binary-pdf",
        draft_with(lambda c: ["--source", c.write("doc.pdf", bytes(range(256)) * 8)]),
        ("doc.pdf", "not a readable PDF"),
    ),
    # --- the output folder ---
    Case("out-is-a-file", with_out(lambda c: c.write("taken", "mine"), draft()), ("is a file",)),
    Case(
        "out-under-a-file",
        with_out(lambda c: c.write("taken", "mine") / "x", draft()),
        ("cannot create", "taken/x"),
    ),
    Case(
        "out-under-proc",
        with_out(lambda c: Path("/proc/thesisgen-x"), draft()),
        ("cannot create", "/proc/thesisgen-x"),
        extra=proc_out_not_created,
    ),
    Case(
        "out-under-a-file-live",
        with_out(lambda c: c.write("taken", "mine") / "x", live_draft(lambda c: [])),
        ("cannot create", "taken/x"),
        live=True,
    ),
    # --- the budget ---
    Case(
        "budget-300-sources-live",
        live_draft(many_sources(300)),
        ("--max-calls", "--yes"),
        live=True,
    ),
    Case(
        "budget-prompt-tokens-live",
        live_draft(lambda c: ["--max-prompt-tokens", "1000"]),
        ("--max-prompt-tokens",),
        live=True,
    ),
    # --- validate and render ---
    Case(
        "validate-draft-missing",
        validate(lambda c: c.work / "draft.json"),
        ("draft", "does not exist"),
    ),
    Case(
        "validate-draft-not-json",
        validate(lambda c: c.write("draft.json", "{'single': 'quotes'}")),
        ("draft", "not valid JSON"),
    ),
    Case(
        "validate-draft-over-cap",
        validate(lambda c: c.write("draft.json", big_json(2))),
        ("draft", "over the 1 MB limit"),
        env={"THESISGEN_MAX_JSON_MB": "1"},
    ),
    Case("render-forged-quote", forged_render, ("F1's quote", "does not occur")),
    # --- found by an adversarial review ------------------------------------------------------
    Case(
        "source-fifo",
        draft_with(lambda c: ["--source", _fifo(c.work / "pipe.md")]),
        ("pipe.md", "not a regular file"),
        max_seconds=30,
    ),
    Case(
        "source-link-to-dev-zero",
        draft_with(lambda c: ["--source", _link(c.work / "zero.txt", Path("/dev/zero"))]),
        ("zero.txt", "not a regular file"),
        max_seconds=30,
    ),
    Case(
        "out-is-a-source-folder",
        lambda c: [
            "draft",
            "--ticker",
            "AREC",
            "--source",
            _notes(c.work / "notes"),
            "--out",
            c.work / "notes",
        ],
        ("--out", "--source folder"),
    ),
    Case(
        "facts-source-path-escapes",
        draft_with(lambda c: ["--facts", _escaping_ledger(c)]),
        ("path", "not a file name"),
    ),
    Case("template-dev-null", draft("--template", "/dev/null"), ("/dev/null", "not a regular")),
    Case("config-is-a-folder", draft_with(lambda c: ["--config", c.work]), ("is a folder",)),
]


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.enable_socket] if case.live else []
        if case.slow:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def answer_everything(label: str, body: dict[str, Any]) -> Reply:
    """The stub of the matrix: the authored AREC answers (a row that reaches it has failed)."""
    return authored_script(AREC / "authored")(label, body)


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ctx = Ctx(work=work, out=work / "out")
    env = {"THESISGEN_CACHE_DIR": str(work / "cache"), **case.env}

    def attempt() -> tuple[Completed, float, Snapshot, Snapshot]:
        argv = case.argv(ctx)  # creates the row's input files
        before = snapshot(work)
        start = time.monotonic()
        result = run_cli(*argv, cwd=work, **env)
        elapsed = time.monotonic() - start
        return result, elapsed, before, snapshot(work)

    if case.live:
        with serve(answer_everything) as server:
            ctx.url = server.base_url
            result, elapsed, before, after = attempt()
            requests = len(server.requests)
        assert requests == 0, f"{requests} request(s) reached the model before the refusal"
    else:
        result, elapsed, before, after = attempt()

    line = assert_refused(result, case.code, case.needles)
    assert not diff(before, after), diff(before, after)
    assert not ctx.out.is_dir(), f"{ctx.out} was created"
    if case.max_seconds is not None:
        # At once: within the limit, or (on a loaded machine) within 0.8 s of a bare start-up; a
        # single transport retry would wait a whole second (retry_initial_wait).
        start = time.monotonic()
        assert run_cli("--version", cwd=work).code == 0
        startup = time.monotonic() - start
        limit = max(case.max_seconds, startup + 0.8)
        assert elapsed < limit, f"took {elapsed:.2f} s (start-up {startup:.2f} s): {line}"
    if case.extra is not None:
        case.extra(ctx)


# --- runs that need an earlier run, or that are allowed to go ahead ------------------------------


def _drafted_memo(tmp_path: Path) -> tuple[Path, Path]:
    """A complete AREC memo from its authored answers served by our stub (not a replay of the
    recordings, so a prompt change leaves the test alone): needs enable_socket."""
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    first = run_authored("AREC", "draft", "--ticker", "AREC", "--out", out, cwd=work).result
    assert first.code == 0, first.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    return work, out


@pytest.mark.slow
@pytest.mark.enable_socket
def test_existing_complete_memo_is_kept_byte_for_byte_without_force(tmp_path: Path) -> None:
    """Refused because --out holds a complete memo: every file exactly as it was, and not even a
    lock file created and removed in --out (its mtime is part of the snapshot)."""
    work, out = _drafted_memo(tmp_path)
    time.sleep(0.02)  # so that a touch of the folder would show in its mtime
    before = snapshot(work)
    again = run_cli("draft", "--ticker", "AREC", "--out", out, cwd=work)
    assert_refused(again, 2, ("already exists", "--force"))
    after = snapshot(work)
    assert not diff(before, after), diff(before, after)


_FIGURE = re.compile(r"\[(\d+)\] (Revenue was \$\d+ million in 2024\.)")


def notes_script(label: str, body: dict[str, Any]) -> Reply:
    """A model for the note folders: each note's one sentence as its fact; sections cite F1."""
    _ticker, stage, _target, _attempt = label.split("/")
    if stage == "facts":
        text = " ".join(str(m.get("content", "")) for m in body["messages"])
        number, sentence = _FIGURE.findall(text)[-1]  # the numbered line the prompt shows
        answer: dict[str, Any] = {
            "facts": [{"evidence": [int(number)], "statement": sentence, "topic": "company"}]
        }
    else:
        sentence = {"text": "The notes describe the company's revenue.", "cites": ["F1"]}
        answer = {"paragraphs": [{"sentences": [{**sentence, "calculations": []}]}]}
        if wants_stance(body):
            answer["stance"] = "neutral"
    content = json.dumps(answer)
    return Reply(200, completion(body["model"], content, label, prompt_chars(body)))


@pytest.mark.slow
@pytest.mark.enable_socket
def test_yes_goes_past_max_calls(tmp_path: Path) -> None:
    """The 300-note folder that --max-calls refuses runs with --yes: every note is one call."""
    work = tmp_path / "work"
    work.mkdir()
    ctx = Ctx(work=work, out=work / "out")
    with serve(notes_script) as server:
        ctx.url = server.base_url
        argv = live_draft(many_sources(300))(ctx)
        result = run_cli(*argv, "--yes", cwd=work, THESISGEN_CACHE_DIR=str(work / "cache"))
        requests = [r["label"] for r in server.requests]
    assert result.code == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert sum(1 for label in requests if "/facts/" in label) == 300
    manifest = json.loads((ctx.out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["model_calls"] == len(requests)

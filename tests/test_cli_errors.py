"""Bad input: one line naming the problem and the fix, exit 2, nothing written, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import AREC, Completed, StaticPair, run_authored, run_cli


def assert_clean_failure(result: Completed, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    error_lines = [
        line for line in result.stderr.splitlines() if line.startswith("thesisgen: error:")
    ]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in error_lines[0], error_lines[0]


@pytest.mark.parametrize(
    ("ticker", "needle"),
    [
        ("ZZZZ", "no bundle for ticker ZZZZ"),
        ("../x", "is not a ticker"),
        ("", "is not a ticker"),
        ("A B", "is not a ticker"),
        ("AREC/../../etc", "is not a ticker"),
    ],
)
def test_bad_tickers(tmp_path: Path, ticker: str, needle: str) -> None:
    out = tmp_path / "out"
    result = run_cli("draft", "--ticker", ticker, "--out", out, cwd=tmp_path)
    assert_clean_failure(result, 2, needle)
    assert not out.exists()


def test_missing_source(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "draft", "--ticker", "AREC", "--source", tmp_path / "nope.md", "--out", out, cwd=tmp_path
    )
    assert_clean_failure(result, 2, "nope.md does not exist")
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("latin1.txt", "caf\xe9 80%".encode("latin-1"), "is not UTF-8 text"),
        ("empty.md", b"   \n", "has no text"),
        ("doc.pdf", b"%PDF-1.4 not really", "is not a readable PDF"),
        ("doc.docx", b"PK", "unsupported type '.docx'"),
        ("front.md", b"---\ntitle: [unclosed\n---\nbody 80%\n", "front matter is not valid YAML"),
        ("unknown.md", b"---\ntitel: x\n---\nbody\n", "titel"),
    ],
)
def test_unusable_sources(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    result = run_cli("draft", "--ticker", "AREC", "--source", path, "--out", out, cwd=tmp_path)
    assert_clean_failure(result, 2, needle)
    assert not out.exists()


@pytest.mark.enable_socket
def test_existing_memo_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "memo.docx").write_bytes(b"the analyst's edited memo")
    result = run_cli("draft", "--ticker", "AREC", "--out", out, cwd=tmp_path)
    assert_clean_failure(result, 2, "already exists", "--force")
    assert (out / "memo.docx").read_bytes() == b"the analyst's edited memo"
    assert sorted(p.name for p in out.iterdir()) == ["memo.docx"]

    # Drafted from the authored answers (not the recordings), so a prompt change leaves it alone.
    draft = ("draft", "--ticker", "AREC", "--out", out, "--force")
    forced = run_authored("AREC", *draft, cwd=tmp_path).result
    assert forced.code == 0, forced.stderr
    assert (out / "memo.docx").read_bytes()[:2] == b"PK"


def test_malformed_facts_json(tmp_path: Path) -> None:
    bad = tmp_path / "facts.json"
    bad.write_text('{"ticker": "AREC", ')
    result = run_cli(
        "draft", "--ticker", "AREC", "--facts", bad, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_clean_failure(result, 2, "is not valid JSON", "line 1")
    assert not (tmp_path / "o").exists()


def test_facts_with_unknown_key_names_it(static_pair: StaticPair, tmp_path: Path) -> None:
    facts = json.loads(static_pair.facts.read_text())
    facts["facts"][0]["confidence"] = 0.9
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    result = run_cli(
        "draft", "--ticker", "AREC", "--facts", path, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_clean_failure(result, 2, "unknown key 'confidence'", "facts.0.confidence")


def test_facts_whose_statement_outruns_its_quote_are_refused(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    facts = json.loads(static_pair.facts.read_text())
    facts["facts"][1]["statement"] = "China controls roughly 90% of processing."
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    result = run_cli(
        "draft", "--ticker", "AREC", "--facts", path, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_clean_failure(result, 2, "F2", "'90%' is not in its quote")


def test_facts_for_another_ticker(static_pair: StaticPair, tmp_path: Path) -> None:
    facts = json.loads(static_pair.facts.read_text())
    facts["ticker"] = "PKX"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    result = run_cli(
        "draft", "--ticker", "AREC", "--facts", path, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_clean_failure(result, 2, "is for PKX")


@pytest.mark.recordings
def test_draft_from_unchanged_facts_file_replays(
    arec_offline: tuple[Path, Completed], tmp_path: Path
) -> None:
    """--facts skips extraction; with the same ledger the section requests match the recordings."""
    out, _ = arec_offline
    result = run_cli(
        "draft",
        "--ticker",
        "AREC",
        "--facts",
        out / "facts.json",
        "--out",
        tmp_path / "o",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert {c["stage"] for c in manifest["calls"]} == {"draft"}
    assert manifest["facts_from"].endswith("facts.json")


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run_cli("draft", cwd=tmp_path)
    assert result.code == 2
    assert "--ticker" in result.stderr
    assert "Traceback" not in result.stderr


def test_source_copy_of_bundle_with_edited_text_reports_drift(tmp_path: Path) -> None:
    """Offline with a changed source: the request no longer matches; say so, name stage and source."""
    sources = tmp_path / "sources"
    shutil.copytree(AREC / "sources", sources)
    path = sources / "analysis.md"
    path.write_text(path.read_text().replace("roughly 80%", "roughly 85%"))
    result = run_cli(
        "draft", "--ticker", "AREC", "--source", sources, "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_clean_failure(
        result, 2, "recording for AREC facts stage, S1, attempt 1 no longer matches"
    )
    assert not (tmp_path / "o").exists()

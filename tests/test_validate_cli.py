"""`thesisgen validate` keeps the DESIGN.md contract: exit 0/1/2, the --json shape, indices from 0."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import StaticPair, run_cli


def _draft_with(pair: StaticPair, tmp_path: Path, text: str, cites: list[str]) -> Path:
    draft = json.loads(pair.draft.read_text())
    draft["sections"][2]["paragraphs"][1]["sentences"][0] = {"text": text, "cites": cites}
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(draft))
    return path


def test_clean_draft_exits_0(static_pair: StaticPair, tmp_path: Path) -> None:
    result = run_cli(
        "validate", static_pair.draft, "--facts", static_pair.facts, "--json", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "violations": []}


def test_violations_exit_1_with_json_shape(static_pair: StaticPair, tmp_path: Path) -> None:
    draft = _draft_with(
        static_pair,
        tmp_path,
        "Contracts are worth $240 million and cover 5 million motors.",
        ["F13", "F99"],
    )
    result = run_cli("validate", draft, "--facts", static_pair.facts, "--json", cwd=tmp_path)
    assert result.code == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    got = [
        (v["section"], v["paragraph"], v["sentence"], v["kind"], v["token"])
        for v in payload["violations"]
    ]
    assert got == [
        ("market", 1, 0, "unknown_citation", "F99"),
        ("market", 1, 0, "unsupported_number", "$240 million"),
        ("market", 1, 0, "unsupported_number", "5 million"),
    ]
    for v in payload["violations"]:
        assert set(v) == {"section", "paragraph", "sentence", "kind", "token", "message"}
    assert "F13 says" in payload["violations"][1]["message"]
    assert "$900 million" in payload["violations"][1]["message"]


def test_plain_output_lists_violations(static_pair: StaticPair, tmp_path: Path) -> None:
    draft = _draft_with(static_pair, tmp_path, "Demand rises 250% by 2030.", [])
    result = run_cli("validate", draft, "--facts", static_pair.facts, cwd=tmp_path)
    assert result.code == 1
    assert "uncited_number" in result.stdout and "FAILED" in result.stdout


def test_unusable_inputs_exit_2(static_pair: StaticPair, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    extra = tmp_path / "extra.json"
    draft = json.loads(static_pair.draft.read_text())
    draft["sections"][0]["paragraphs"][0]["sentences"][0]["confidence"] = "high"
    extra.write_text(json.dumps(draft))
    cases = [
        (broken, static_pair.facts, "is not valid JSON"),
        (tmp_path / "missing.json", static_pair.facts, "does not exist"),
        (extra, static_pair.facts, "unknown key 'confidence'"),
        (static_pair.draft, broken, "is not valid JSON"),
    ]
    for draft_path, facts_path, needle in cases:
        result = run_cli("validate", draft_path, "--facts", facts_path, "--json", cwd=tmp_path)
        assert result.code == 2, (draft_path, result.stderr)
        assert needle in result.stderr and "Traceback" not in result.stderr


def test_render_rerenders_a_valid_draft_and_refuses_a_bad_one(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    result = run_cli(
        "render",
        static_pair.draft,
        "--facts",
        static_pair.facts,
        "--out",
        tmp_path / "r",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "r" / "memo.docx").is_file() and (tmp_path / "r" / "memo.md").is_file()

    again = run_cli(
        "render",
        static_pair.draft,
        "--facts",
        static_pair.facts,
        "--out",
        tmp_path / "r",
        cwd=tmp_path,
    )
    assert again.code == 2 and "already exists" in again.stderr

    bad = _draft_with(static_pair, tmp_path, "Contracts are worth $240 million.", ["F13"])
    refused = run_cli(
        "render", bad, "--facts", static_pair.facts, "--out", tmp_path / "b", cwd=tmp_path
    )
    assert refused.code == 1 and "$240 million" in refused.stderr
    assert not (tmp_path / "b").exists()


def test_rounding_tolerance_setting_sets_how_far_a_figure_may_round(
    static_pair: StaticPair, tmp_path: Path
) -> None:
    """$1 billion rounds F13's $900 million by 11%: over the default 5%, within a 12% setting."""
    draft = _draft_with(static_pair, tmp_path, "Contracts are worth about $1 billion.", ["F13"])
    result = run_cli("validate", draft, "--facts", static_pair.facts, "--json", cwd=tmp_path)
    assert result.code == 1, result.stderr
    (violation,) = json.loads(result.stdout)["violations"]
    assert (violation["kind"], violation["token"]) == ("over_rounded", "$1 billion")
    assert "by 11%, more than the 5% allowed: write $900 million" in violation["message"]
    (tmp_path / "thesisgen.toml").write_text("rounding_tolerance = 0.12\n")
    result = run_cli("validate", draft, "--facts", static_pair.facts, "--json", cwd=tmp_path)
    assert result.code == 0, result.stdout

"""Settings precedence (flags > env > config file > defaults) and `thesisgen config`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from conftest import run_cli
from thesisgen.config import resolve
from thesisgen.errors import UsageError
from thesisgen.run import gate_options


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    (tmp_path / "thesisgen.toml").write_text(
        'model = "from-file"\nbase_url = "http://file/v1"\nconcurrency = 2\n'
    )
    env = {"THESISGEN_MODEL": "from-env"}
    resolved = resolve({"model": "from-flag"}, env=env, cwd=tmp_path)
    assert (resolved["model"], resolved.sources["model"]) == ("from-flag", "flag")
    resolved = resolve({}, env=env, cwd=tmp_path)
    assert (resolved["model"], resolved.sources["model"]) == ("from-env", "env THESISGEN_MODEL")
    assert resolved["base_url"] == "http://file/v1" and resolved.sources["base_url"].endswith(
        "thesisgen.toml"
    )
    assert (resolved["concurrency"], resolved["max_repairs"]) == (2, 2)
    assert resolved.sources["max_repairs"] == "default"


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.thesisgen]\nmodel = "pp-model"\n'
    )
    resolved = resolve({}, env={}, cwd=tmp_path)
    assert resolved["model"] == "pp-model"
    assert "[tool.thesisgen]" in resolved.sources["model"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("modle = 'x'\n", "unknown key 'modle'"),
        ("concurrency = 0\n", "concurrency"),
        ("rounding_tolerance = 0\n", "rounding_tolerance"),
        ("rounding_tolerance = 0.6\n", "rounding_tolerance"),
        ("model = \n", "not valid TOML"),
    ],
)
def test_bad_config_files_are_usage_errors(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "thesisgen.toml").write_text(text)
    with pytest.raises(UsageError, match=needle):
        resolve({}, env={}, cwd=tmp_path)


def test_config_command_shows_sources_and_masks_the_key(tmp_path: Path) -> None:
    (tmp_path / "thesisgen.toml").write_text('timeout = 30.0\n[prices]\n"my-model" = [0.5, 1.5]\n')
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz"
    result = run_cli("config", "--model", "gpt-4.1", cwd=tmp_path, OPENAI_API_KEY=secret)
    assert result.code == 0, result.stderr
    assert secret not in result.stdout
    assert "sk-…yz" in result.stdout and "(env OPENAI_API_KEY)" in result.stdout
    assert "gpt-4.1  (flag)" in result.stdout
    assert "30.0" in result.stdout and "thesisgen.toml" in result.stdout
    assert "price my-model" in result.stdout


def test_config_file_base_url_means_live_not_replay(tmp_path: Path) -> None:
    """A base URL in the config file is a live configuration: no silent replay."""
    (tmp_path / "thesisgen.toml").write_text(
        'base_url = "http://127.0.0.1:9/v1"\nretry_attempts = 1\n'
    )
    result = run_cli("draft", "--ticker", "AREC", "--out", tmp_path / "o", cwd=tmp_path)
    assert result.code == 3 and "could not reach" in result.stderr


def test_rounding_tolerance_is_a_setting_of_the_file_and_the_environment(tmp_path: Path) -> None:
    assert resolve({}, env={}, cwd=tmp_path)["rounding_tolerance"] == 0.05
    (tmp_path / "thesisgen.toml").write_text("rounding_tolerance = 0.1\n")
    resolved = resolve({}, env={}, cwd=tmp_path)
    assert resolved["rounding_tolerance"] == 0.1
    assert gate_options(resolved.settings).rounding_tolerance == Decimal("0.1")
    env = {"THESISGEN_ROUNDING_TOLERANCE": "0.02"}
    resolved = resolve({}, env=env, cwd=tmp_path)
    assert resolved["rounding_tolerance"] == 0.02
    assert resolved.sources["rounding_tolerance"] == "env THESISGEN_ROUNDING_TOLERANCE"
    result = run_cli("config", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "rounding_tolerance" in result.stdout and "0.1" in result.stdout


def test_the_defaults_object_is_the_validated_defaults() -> None:
    """DEFAULTS (read by facts.py, draft.py and --help) is built without validation, for a fast
    start: it must equal the defaults as validation makes them."""
    from thesisgen.config import DEFAULTS, Settings

    assert Settings() == DEFAULTS

"""README's two opening commands are the ones CI and new users run; keep them true."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from conftest import ROOT


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", readme)[:2]


def test_readme_opens_with_install_and_test_commands() -> None:
    install, tests = _commands()
    assert "pip install" in install and "thesisgen draft --ticker AREC" in install
    assert tests.startswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = _commands()
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests in lines


def _reference_script() -> ModuleType:
    path = ROOT / "scripts" / "readme_reference.py"
    spec = importlib.util.spec_from_file_location("readme_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_command_reference_and_settings_table_match_the_code() -> None:
    """README's command reference is the live command line and its settings table is Settings:
    a new option or setting that is not in README fails here, with the fix named."""
    script = _reference_script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.splice(readme, script.generated()) == readme, (
        "README.md's command reference or settings table differs from the code: run "
        "`python scripts/readme_reference.py --write`"
    )


def test_the_reference_lists_every_setting_and_command() -> None:
    """The generator itself misses nothing: every field of Settings is a row, every flag is in
    both the table and the command reference, every command has a synopsis."""
    from thesisgen.cli import app
    from thesisgen.config import FIELDS, flag_name

    script = _reference_script()
    table, commands = script.settings(), script.commands()
    for key in FIELDS:
        assert f"| `{key}` |" in table, key
        flag = flag_name(key)
        if flag:
            assert f"`{flag}`" in table and f"[{flag}" in commands, flag
    for info in app.registered_commands:
        assert f"thesisgen {info.name} " in commands, info.name

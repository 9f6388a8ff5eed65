"""README's two opening commands are the ones CI and new users run; keep them true."""

from __future__ import annotations

import re

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


def test_readme_lists_every_setting() -> None:
    from thesisgen.config import FIELDS, flag_name

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| setting | flag |") :]
    table = table[: table.index("\n\n")]
    for key in FIELDS:
        assert f"`{key}`" in table, f"README's settings table misses {key}"
        flag = flag_name(key)
        if flag:
            assert f"`{flag}`" in table, f"README's settings table misses {flag}"

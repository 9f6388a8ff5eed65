"""ARCHITECTURE.md's codemap is true: every module has a row, and every import points up the table.

Lazy imports inside functions and ``TYPE_CHECKING`` imports count too: they are the same
dependency, only loaded later.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "thesisgen"


def _modules() -> dict[str, Path]:
    """Module name (``render.docx``; ``render`` for its ``__init__``) to file."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package modules a module imports, anywhere in its body."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == "thesisgen":
                base, node_module = [], node.module.split(".", 1)[1:]
                targets = [".".join(node_module)] if node_module else []
                out.update(t for t in targets if t in MODULES)
                continue
            else:
                continue
            stem = base + (node.module.split(".") if node.module else [])
            for alias in node.names:  # `from . import run` names a module; `from .x import y` not
                candidate = ".".join([*stem, alias.name])
                out.add(candidate if candidate in MODULES else ".".join(stem))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("thesisgen."):
                    out.add(alias.name.removeprefix("thesisgen."))
    return {m for m in out if m in MODULES and m != name}


def _table() -> list[str]:
    """The modules of the codemap, in the order of its rows."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Modules, in import order", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([\w.]+)` \|", section, flags=re.M)


def test_every_module_has_one_row() -> None:
    rows = _table()
    assert len(rows) == len(set(rows)), "a module has two rows"
    assert sorted(rows) == sorted(MODULES), (
        "ARCHITECTURE.md's module table and src/thesisgen differ: "
        f"missing {sorted(set(MODULES) - set(rows))}, gone {sorted(set(rows) - set(MODULES))}"
    )


def test_every_import_points_up_the_table() -> None:
    order = {name: i for i, name in enumerate(_table())}
    wrong = [
        f"{name} imports {dep}"
        for name, path in MODULES.items()
        for dep in sorted(_imports(name, path))
        if name in order and dep in order and order[dep] >= order[name]
    ]
    assert not wrong, "move the row or the import: " + "; ".join(wrong)


def test_the_check_sees_imports() -> None:
    """The import reader finds the known dependencies (so the check above cannot pass empty)."""
    assert {"calc", "claims", "models", "numbers"} <= _imports("validate", MODULES["validate"])
    assert {"render", "render.ooxml"} <= _imports("render.docx", MODULES["render.docx"])
    assert "run" in _imports("cli", MODULES["cli"])  # imported inside the commands

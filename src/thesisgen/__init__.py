"""thesisgen: investment-thesis memos in which every figure traces to a cited, quoted source."""

from __future__ import annotations

__all__ = ["__version__"]

# The one place the version is written: pyproject.toml reads it from here (hatch), so a run's
# manifest and `--version` need no package-metadata lookup (~20 ms of every start).
__version__ = "0.1.0"

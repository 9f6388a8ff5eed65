"""thesisgen: investment-thesis memos in which every figure traces to a cited, quoted source."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, looked up on first use: importlib.metadata costs a start-up that
    `--help` and `validate` do not need."""
    if name != "__version__":
        raise AttributeError(f"module 'thesisgen' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("thesisgen")
    except PackageNotFoundError:  # running from a checkout without an install
        found = "0.0.0+checkout"
    globals()["__version__"] = found
    return found

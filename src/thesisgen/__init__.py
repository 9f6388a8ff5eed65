"""thesisgen: investment-thesis memos in which every figure traces to a cited, quoted source."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("thesisgen")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"

__all__ = ["__version__"]

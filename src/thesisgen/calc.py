"""Recompute a calculated figure from the fact figures its formula names. Pure; no ``eval``.

A formula is arithmetic over unit-conversion constants (powers of ten, small counts) and operands like ``{F13:$900 million}``: the fact ID and the
figure as written. Each operand must be a figure that fact really states (matched at the precision
the operand shows), and the fact's own value is used, so a formula cannot smuggle in a number.

Units go through the arithmetic too. Each operand has dimensions: an amount is its currency to the
power one; an exchange rate a fact states ("1.08 dollars per euro") is USD per EUR; counts,
percents and multiples have none. ``*`` and ``/`` combine dimensions, ``+`` and ``-`` need equal
ones, so euros divided by dollars stays a ratio of two currencies and cannot pass for a percent,
and euros times dollars-per-euro are dollars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation

from .numbers import ROUNDING_TOLERANCE, Mention, backs, extract

_TOKEN = re.compile(
    r"\s*(?:\{(?P<fid>F\d+)\s*:\s*(?P<fig>[^}]+)\}|(?P<num>\d+(?:\.\d+)?)|(?P<op>[-+*/()]))"
)


class CalcError(ValueError):
    """Why a formula cannot be recomputed, in words for the model and the analyst."""


class UnitError(CalcError):
    """The formula adds or subtracts figures in different units (dollars and euros, dollars and a
    count). The message is a predicate for "the formula ...": "adds EUR to USD: ..."."""


# Currency codes and their exponents, sorted, none zero: () has no currency, (("USD", 1),) is an
# amount in dollars, (("EUR", -1), ("USD", 1)) is dollars per euro.
Dims = tuple[tuple[str, int], ...]


def dims_of(mention: Mention) -> Dims:
    """The dimensions of a figure: its currency (and the currency a rate is per), or none."""
    if mention.kind != "currency":
        return ()
    return _combine(((mention.unit, 1),), ((mention.per, 1),) if mention.per else (), -1)


def _combine(left: Dims, right: Dims, sign: int) -> Dims:
    exponents = dict(left)
    for code, exponent in right:
        exponents[code] = exponents.get(code, 0) + sign * exponent
    return tuple(sorted((code, e) for code, e in exponents.items() if e))


def describe(dims: Dims) -> str:
    """Dimensions in words: "no currency", "USD", "USD per EUR", "USD×USD"."""
    if not dims:
        return "no currency"
    up = "×".join(code for code, e in dims for _ in range(e) if e > 0) or "1"
    down = "×".join(code for code, e in dims for _ in range(-e) if e < 0)
    return f"{up} per {down}" if down else up


def _what(dims: Dims) -> str:
    return "a figure with no currency" if not dims else describe(dims)


@dataclass(frozen=True, slots=True)
class Operand:
    fact_id: str
    mention: Mention


@dataclass(frozen=True, slots=True)
class Result:
    value: Decimal
    operands: tuple[Operand, ...]
    dims: Dims = ()


def unit_problem(dims: Dims, said: Mention) -> str | None:
    """Why a result with ``dims`` cannot be the figure ``said`` (a currency figure needs exactly
    its currency; a percent, multiple or count needs none), or None when it can. One line, with
    the fix, as a predicate for "the formula ...": "divides EUR by USD: ..."."""
    wanted = dims_of(said)
    if dims == wanted:
        return None
    fix = "convert with a cited exchange rate, or compare like with like"
    if len(dims) == 2 and sorted(e for _, e in dims) == [-1, 1]:
        top = next(code for code, e in dims if e > 0)
        bottom = next(code for code, e in dims if e < 0)
        return f"divides {top} by {bottom}: {fix}"
    if said.kind == "currency":
        return f"gives {_what(dims)}, but '{said.text}' is in {describe(wanted)}: {fix}"
    return (
        f"gives {describe(dims)}, but '{said.text}' is a {said.kind} with no currency: "
        f"divide by a figure in {describe(dims)}, or write the figure in {describe(dims)}"
    )


def _tokens(formula: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    pos = 0
    formula = formula.strip()
    while pos < len(formula):
        match = _TOKEN.match(formula, pos)
        if match is None or match.end() == pos:
            raise CalcError(f"cannot read the formula at '{formula[pos : pos + 12]}'")
        if match["fid"]:
            out.append(("operand", match["fid"], match["fig"].strip()))
        elif match["num"]:
            out.append(("number", match["num"], ""))
        else:
            out.append(("op", match["op"], ""))
        pos = match.end()
        while pos < len(formula) and formula[pos].isspace():
            pos += 1
    if not out:
        raise CalcError("the formula is empty")
    return out


def _constant(text: str) -> Decimal:
    """Constants convert units (100 for percent, 1000 for thousands) or count items (1 to 12).

    Any other number would be a figure that no fact backs, so it is refused.
    """
    value = Decimal(text)
    is_power_of_ten = (
        value > 0 and value == value.to_integral_value() and set(text.lstrip("1")) <= {"0"}
    )
    if is_power_of_ten or (value == value.to_integral_value() and 1 <= value <= 12):
        return value
    raise CalcError(
        f"the constant {text} is not a unit conversion (a power of ten) or a small count"
    )


class _Parser:
    def __init__(
        self,
        tokens: list[tuple[str, str, str]],
        figures: Mapping[str, Sequence[Mention]],
        tolerance: Decimal,
    ) -> None:
        self.tokens = tokens
        self.pos = 0
        self.figures = figures
        self.tolerance = tolerance
        self.operands: list[Operand] = []

    def _peek(self) -> tuple[str, str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str, str]:
        token = self._peek()
        if token is None:
            raise CalcError("the formula ends too early")
        self.pos += 1
        return token

    def parse(self) -> tuple[Decimal, Dims]:
        value = self._expr()
        if self._peek() is not None:
            raise CalcError(f"unexpected '{self._peek()[1]}' in the formula")  # type: ignore[index]
        return value

    def _expr(self) -> tuple[Decimal, Dims]:
        value, dims = self._term()
        while (token := self._peek()) is not None and token[1] in "+-" and token[0] == "op":
            self._take()
            right, right_dims = self._term()
            if right_dims != dims:
                verb = "adds" if token[1] == "+" else "subtracts"
                to = "to" if token[1] == "+" else "from"
                raise UnitError(
                    f"{verb} {_what(right_dims)} {to} {_what(dims)}: add or subtract "
                    "only figures in the same currency (convert with a cited exchange rate first)"
                )
            value = value + right if token[1] == "+" else value - right
        return value, dims

    def _term(self) -> tuple[Decimal, Dims]:
        value, dims = self._factor()
        while (token := self._peek()) is not None and token[1] in "*/" and token[0] == "op":
            self._take()
            right, right_dims = self._factor()
            if token[1] == "*":
                value *= right
                dims = _combine(dims, right_dims, 1)
            else:
                if right == 0:
                    raise CalcError("the formula divides by zero")
                value /= right
                dims = _combine(dims, right_dims, -1)
        return value, dims

    def _factor(self) -> tuple[Decimal, Dims]:
        kind, text, figure = self._take()
        if kind == "number":
            return _constant(text), ()
        if kind == "operand":
            return self._operand(text, figure)
        if text == "(":
            inner = self._expr()
            if self._take()[1] != ")":
                raise CalcError("a '(' in the formula is never closed")
            return inner
        if text == "-":
            value, dims = self._factor()
            return -value, dims
        raise CalcError(f"unexpected '{text}' in the formula")

    def _operand(self, fact_id: str, figure: str) -> tuple[Decimal, Dims]:
        if fact_id not in self.figures:
            raise CalcError(f"{fact_id} is not a fact the sentence cites")
        parsed = extract(figure, ())
        if len(parsed) != 1:
            raise CalcError(f"'{figure}' is not one figure")
        wanted = parsed[0]
        held = self.figures[fact_id]
        match = next(
            (
                m
                for m in held
                if backs(m, wanted, tolerance=self.tolerance) and m.kind == wanted.kind
            ),
            None,
        )
        if match is None:
            states = ", ".join(dict.fromkeys(m.text for m in held)) or "no figures"
            raise CalcError(f"{fact_id} does not state {figure} (it states {states})")
        self.operands.append(Operand(fact_id, match))
        return match.value, dims_of(match)


def evaluate(
    formula: str,
    figures: Mapping[str, Sequence[Mention]],
    *,
    tolerance: Decimal = ROUNDING_TOLERANCE,
) -> Result:
    """Recompute ``formula`` using only the figures of the facts in ``figures`` (the cited ones).
    An operand matches a fact's figure by the gate's rule (:func:`thesisgen.numbers.backs`, within
    ``tolerance``)."""
    parser = _Parser(_tokens(formula), figures, tolerance)
    try:
        value, dims = parser.parse()
    except (InvalidOperation, DivisionByZero) as exc:
        raise CalcError("the formula does not compute") from exc
    return Result(value, tuple(parser.operands), dims)

"""Recompute a calculated figure from the fact figures its formula names. Pure; no ``eval``.

A formula is arithmetic over unit-conversion constants (powers of ten, small counts) and operands like ``{F13:$900 million}``: the fact ID and the
figure as written. Each operand must be a figure that fact really states (matched at the precision
the operand shows), and the fact's own value is used, so a formula cannot smuggle in a number.
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


@dataclass(frozen=True, slots=True)
class Operand:
    fact_id: str
    mention: Mention


@dataclass(frozen=True, slots=True)
class Result:
    value: Decimal
    operands: tuple[Operand, ...]


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

    def parse(self) -> Decimal:
        value = self._expr()
        if self._peek() is not None:
            raise CalcError(f"unexpected '{self._peek()[1]}' in the formula")  # type: ignore[index]
        return value

    def _expr(self) -> Decimal:
        value = self._term()
        while (token := self._peek()) is not None and token[1] in "+-" and token[0] == "op":
            self._take()
            right = self._term()
            value = value + right if token[1] == "+" else value - right
        return value

    def _term(self) -> Decimal:
        value = self._factor()
        while (token := self._peek()) is not None and token[1] in "*/" and token[0] == "op":
            self._take()
            right = self._factor()
            if token[1] == "*":
                value *= right
            else:
                if right == 0:
                    raise CalcError("the formula divides by zero")
                value /= right
        return value

    def _factor(self) -> Decimal:
        kind, text, figure = self._take()
        if kind == "number":
            return _constant(text)
        if kind == "operand":
            return self._operand(text, figure)
        if text == "(":
            value = self._expr()
            if self._take()[1] != ")":
                raise CalcError("a '(' in the formula is never closed")
            return value
        if text == "-":
            return -self._factor()
        raise CalcError(f"unexpected '{text}' in the formula")

    def _operand(self, fact_id: str, figure: str) -> Decimal:
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
        return match.value


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
        value = parser.parse()
    except (InvalidOperation, DivisionByZero) as exc:
        raise CalcError("the formula does not compute") from exc
    return Result(value, tuple(parser.operands))

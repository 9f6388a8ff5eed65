"""The financials chart: annual XBRL figures by fiscal year, as a picture and as words.

Which figures (:func:`chart_of`) is decided from the ledger alone, so both renderers and
``thesisgen render`` draw the same chart; :func:`draw` is pure and deterministic (the same chart
gives the same PNG bytes), and :func:`alt_text` writes every plotted value exactly as filed with
its period and fact ID, so a reader (or a test) can check the picture against the ledger.
matplotlib is imported inside :func:`draw` only: a memo without a chart never loads it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ..models import Fact
from ..xbrl import MEASURES, annual_length, fiscal_year

MIN_YEARS = 3  # fewer fiscal years than this and a bar chart says less than a sentence
MAX_YEARS = 5  # the latest ones: the chart is a small picture, not a table
UNIT = "USD"
# The pair the chart prefers, then the order in which the most material pair is chosen when one
# of them is missing: the top line first (the scale of the business), then the profit lines down
# the income statement (each closer to what shareholders keep), then cash flow. A pair is the
# first two measures in this order that both have MIN_YEARS fiscal years in common. Keys are
# xbrl.MEASURES keys (Filed.measure).
PREFERRED = ("revenue", "net_income")
MATERIAL_ORDER = (
    "revenue",
    "net_income",
    "operating_income",
    "gross_profit",
    "operating_cash_flow",
    "capex",
)
MAX_MEASURES = 50  # a ledger's distinct annual measures considered (the standard set has ten)
_NOUNS = {m.key: m.noun for m in MEASURES}  # a series is named as statements name its measure
_SCALES = (
    (Decimal(10) ** 9, "billions", "billion"),
    (Decimal(10) ** 6, "millions", "million"),
    (Decimal(10) ** 3, "thousands", "thousand"),
)
# Print-friendly: one accent (the memo's citation blue) and greys.
_COLOURS = ("#1F4E79", "#A6A6A6", "#595959", "#D0D0D0")
SIZE_INCHES = (6.0, 2.8)
DPI = 300


@dataclass(frozen=True)
class Point:
    period: str  # fiscal label, e.g. "FY2024"
    value: Decimal  # as filed, in dollars
    fact_id: str


@dataclass(frozen=True)
class Series:
    measure: str
    name: str  # "Revenue"
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Chart:
    """One grouped bar chart: every series has a point for every period, in period order."""

    company: str
    title: str
    periods: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str  # as shown on the axis, e.g. "$ billions"
    scale: Decimal  # what one axis unit is in dollars

    @property
    def fact_ids(self) -> list[str]:
        """The plotted facts, series by series, in period order."""
        return [p.fact_id for s in self.series for p in s.points]


def label(measure: str) -> str:
    """A series' name: its measure's noun (``xbrl.MEASURES``), capitalised: "Capital expenditure"."""
    noun = _NOUNS.get(measure, measure.replace("_", " "))
    return noun[:1].upper() + noun[1:]


def fiscal_label(fact: Fact) -> str | None:
    """The fiscal year of an annual USD figure ("FY2024"), or None when it is not one. Both come
    from the period's dates as :mod:`thesisgen.xbrl` reads them (``annual_length``,
    ``fiscal_year``), so the chart names a year as the fact's statement does."""
    filed = fact.filed
    if fact.kind != "xbrl" or filed is None or filed.start is None or filed.unit != UNIT:
        return None
    if not annual_length(filed.start, filed.end):
        return None
    return f"FY{fiscal_year(filed.start, filed.end)}"


def _annual(facts: Iterable[Fact]) -> dict[str, dict[str, tuple[dt.date, Fact]]]:
    """measure -> fiscal label -> (period end, fact); of two facts for one period, the later
    filed (an amendment supersedes)."""
    found: dict[str, dict[str, tuple[dt.date, Fact]]] = {}
    for fact in facts:
        period = fiscal_label(fact)
        if period is None or fact.filed is None:
            continue
        measure = fact.filed.measure
        if measure not in found and len(found) >= MAX_MEASURES:
            continue
        years = found.setdefault(measure, {})
        held = years.get(period)
        if held is None or held[1].filed is None or held[1].filed.filed < fact.filed.filed:
            years[period] = (fact.filed.end, fact)
    return found


def _scale(values: Sequence[Decimal]) -> tuple[Decimal, str]:
    largest = max((abs(v) for v in values), default=Decimal(0))
    for size, plural, _ in _SCALES:
        if largest >= size:
            return size, f"$ {plural}"
    return Decimal(1), "$"


def chart_of(facts: Iterable[Fact], company: str) -> Chart | None:
    """The financials chart of these facts: revenue and net income by fiscal year, else the most
    material pair (``MATERIAL_ORDER``) with at least ``MIN_YEARS`` fiscal years in common, the
    latest ``MAX_YEARS`` of them; None when no pair has that many (quarters, instants and
    non-dollar units never count)."""
    annual = _annual(facts)
    ordered = [m for m in MATERIAL_ORDER if m in annual]
    ordered += sorted(m for m in annual if m not in MATERIAL_ORDER)
    pairs = [PREFERRED] + [
        (a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if (a, b) != PREFERRED
    ]
    for first, second in pairs:
        if first not in annual or second not in annual:
            continue
        common = set(annual[first]) & set(annual[second])
        if len(common) < MIN_YEARS:
            continue
        periods = sorted(common, key=lambda p: annual[first][p][0])[-MAX_YEARS:]
        series = tuple(
            Series(
                measure=m,
                name=label(m),
                points=tuple(
                    Point(p, annual[m][p][1].filed.value, annual[m][p][1].id)  # type: ignore[union-attr]
                    for p in periods
                ),
            )
            for m in (first, second)
        )
        scale, unit = _scale([p.value for s in series for p in s.points])
        names = " and ".join(s.name.lower() for s in series)
        return Chart(
            company=company,
            title=f"{company}: {names} by fiscal year ({unit})",
            periods=tuple(periods),
            series=series,
            unit=unit,
            scale=scale,
        )
    return None


def as_filed(value: Decimal) -> str:
    """A dollar value exactly as filed, in millions when it is whole millions:
    391035000000 -> "$391,035 million"; 1234567 -> "$1,234,567"; -5e6 -> "-$5 million"."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    million = Decimal(10) ** 6
    if value >= million and value % million == 0:
        return f"{sign}${int(value / million):,} million"
    whole = value == value.to_integral_value()
    return f"{sign}${int(value):,}" if whole else f"{sign}${value:,}"


def alt_text(chart: Chart) -> str:
    """The picture in words: what it plots, then every value exactly as filed with its fiscal
    year and fact ID, e.g. "Revenue: FY2022 $394,328 million [F31], ..."."""
    names = " and ".join(s.name.lower() for s in chart.series)
    parts = [
        f"Bar chart of {chart.company} {names} by fiscal year, in {chart.unit}, the values as "
        "filed in XBRL."
    ]
    for series in chart.series:
        values = ", ".join(f"{p.period} {as_filed(p.value)} [{p.fact_id}]" for p in series.points)
        parts.append(f"{series.name}: {values}.")
    return " ".join(parts)


def bar_label(value: Decimal, scale: Decimal) -> str:
    """A bar's value in the axis unit, one decimal: 391035000000 in billions -> "391.0"."""
    return f"{value / scale:,.1f}"


@lru_cache(maxsize=4)
def draw(chart: Chart) -> bytes:
    """The chart as a PNG at print resolution; the same chart gives the same bytes (no
    timestamp or software version in the file), drawn once per process (both renderers and the
    output set ask for it)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "font.family": "DejaVu Sans",
            "font.size": 7,
            "axes.edgecolor": "#595959",
            "axes.linewidth": 0.6,
            "xtick.color": "#333333",
            "ytick.color": "#333333",
        }
    ):
        figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        count = len(chart.series)
        width = 0.8 / count
        positions = range(len(chart.periods))
        for i, series in enumerate(chart.series):
            offsets = [x + (i - (count - 1) / 2) * width for x in positions]
            values = [float(p.value / chart.scale) for p in series.points]
            bars = axes.bar(
                offsets, values, width * 0.92, label=series.name,
                color=_COLOURS[i % len(_COLOURS)], edgecolor="none", zorder=2,
            )  # fmt: skip
            axes.bar_label(
                bars, labels=[bar_label(p.value, chart.scale) for p in series.points],
                padding=1.5, fontsize=6, color="#333333",
            )  # fmt: skip
        axes.set_xticks(list(positions), list(chart.periods))
        axes.tick_params(axis="x", length=0)
        axes.set_ylabel(chart.unit)
        axes.axhline(0, color="#595959", linewidth=0.6, zorder=3)
        axes.grid(axis="y", color="#E0E0E0", linewidth=0.5, zorder=0)
        axes.spines[["top", "right"]].set_visible(False)
        axes.margins(y=0.15)
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
        figure.tight_layout(pad=0.4)
        figure.canvas.draw()
        pixels = figure.canvas.buffer_rgba()  # type: ignore[attr-defined]
        size = figure.canvas.get_width_height(physical=True)
    # An opaque RGB PNG with no text chunks: an alpha channel makes Word and LibreOffice export
    # the picture with a soft mask (LibreOffice tints it grey), and the metadata would differ
    # between matplotlib versions.
    from PIL import Image

    out = io.BytesIO()
    Image.frombuffer("RGBA", size, pixels).convert("RGB").save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()

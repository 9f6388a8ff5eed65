"""Token usage to dollars, from a small price table a user can extend in the config file.

Prices are USD per million tokens (input, output) as OpenAI listed them in 2025. A model missing
from the table has an unknown cost (shown as such), never a made-up one.
"""

from __future__ import annotations

from collections.abc import Mapping

from .models import Usage

PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


def price_for(
    model: str, extra: Mapping[str, tuple[float, float]] = {}
) -> tuple[float, float] | None:
    """The price of ``model``; a dated name (gpt-4o-mini-2024-07-18) takes its family's price."""
    table = {**PRICES, **extra}
    if model in table:
        return table[model]
    family = max((name for name in table if model.startswith(name + "-")), key=len, default=None)
    return table[family] if family else None


def cost_usd(
    model: str, usage: Usage, extra: Mapping[str, tuple[float, float]] = {}
) -> float | None:
    price = price_for(model, extra)
    if price is None:
        return None
    return (usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]) / 1_000_000

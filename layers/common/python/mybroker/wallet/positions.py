"""Average price per B3 rules: buys add their cost (fees included) to the position's cost; sells take cost out
in proportion, so the average does not change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    quantity: int  # shares held (available + reserved + receivable)
    cost_cents: int  # their total cost, fees included

    @property
    def average_price_cents(self) -> int:
        return 0 if self.quantity <= 0 else round(self.cost_cents / self.quantity)

    def buy(self, quantity: int, value_cents: int, fees_cents: int) -> Cost:
        return Cost(self.quantity + quantity, self.cost_cents + value_cents + fees_cents)

    def sell(self, quantity: int) -> Cost:
        if quantity >= self.quantity:
            return Cost(max(0, self.quantity - quantity), 0)
        # integer division keeps the remaining cost exact for an exact average
        removed = self.cost_cents * quantity // self.quantity
        return Cost(self.quantity - quantity, self.cost_cents - removed)

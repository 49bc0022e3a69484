"""A deliberately naive limit order book, used as the oracle of the property tests and as the
baseline of the benchmark. Continuous trading only: LIMIT orders (a market order is a limit at
its protection price), DAY/IOC/FOK, cancel and replace; no tunnels, lots, STP or reports.

Each side is ``dict[price, list[[order_id, leaves]]]``; the best price is found with max()/min()
over the keys on every look. Slow on purpose, obviously correct.
"""

from __future__ import annotations

Fill = tuple[int, int, int, int]  # (buy order id, sell order id, price, qty)
Depth = list[tuple[int, list[tuple[int, int]]]]


class ReferenceBook:
    def __init__(self) -> None:
        self.bids: dict[int, list[list[int]]] = {}
        self.asks: dict[int, list[list[int]]] = {}
        self.where: dict[int, tuple[bool, int]] = {}  # resting order id -> (is_buy, price)
        self.cum: dict[int, int] = {}  # order id -> filled quantity

    def _best(self, levels: dict[int, list[list[int]]], is_buy_side: bool) -> int | None:
        if not levels:
            return None
        return max(levels) if is_buy_side else min(levels)

    def available(self, is_buy: bool, price: int) -> int:
        levels = self.asks if is_buy else self.bids
        return sum(
            qty for p, queue in levels.items() if (p <= price if is_buy else p >= price) for _, qty in queue
        )

    def new(self, order_id: int, is_buy: bool, price: int, qty: int, tif: str = "DAY") -> list[Fill]:
        self.cum.setdefault(order_id, 0)
        if tif == "FOK" and self.available(is_buy, price) < qty:
            return []
        fills: list[Fill] = []
        levels = self.asks if is_buy else self.bids
        while qty:
            best = self._best(levels, not is_buy)
            if best is None or (best > price if is_buy else best < price):
                break
            queue = levels[best]
            entry = queue[0]
            fill = min(qty, entry[1])
            qty -= fill
            entry[1] -= fill
            self.cum[order_id] += fill
            self.cum[entry[0]] += fill
            fills.append((order_id, entry[0], best, fill) if is_buy else (entry[0], order_id, best, fill))
            if not entry[1]:
                queue.pop(0)
                del self.where[entry[0]]
                if not queue:
                    del levels[best]
        if qty and tif not in ("IOC", "FOK"):
            own = self.bids if is_buy else self.asks
            own.setdefault(price, []).append([order_id, qty])
            self.where[order_id] = (is_buy, price)
        return fills

    def cancel(self, order_id: int) -> bool:
        if order_id not in self.where:
            return False
        is_buy, price = self.where.pop(order_id)
        levels = self.bids if is_buy else self.asks
        queue = levels[price]
        queue[:] = [entry for entry in queue if entry[0] != order_id]
        if not queue:
            del levels[price]
        return True

    def leaves(self, order_id: int) -> int:
        if order_id not in self.where:
            return 0
        is_buy, price = self.where[order_id]
        for entry in (self.bids if is_buy else self.asks)[price]:
            if entry[0] == order_id:
                return entry[1]
        return 0

    def replace(self, order_id: int, new_qty: int, new_price: int) -> list[Fill]:
        """``new_qty`` is the new total quantity (filled shares included)."""
        if order_id not in self.where:
            return []
        is_buy, price = self.where[order_id]
        new_leaves = new_qty - self.cum[order_id]
        if new_leaves <= 0:
            return []
        if new_price == price and new_leaves <= self.leaves(order_id):
            for entry in (self.bids if is_buy else self.asks)[price]:
                if entry[0] == order_id:
                    entry[1] = new_leaves
            return []
        self.cancel(order_id)
        return self.new(order_id, is_buy, new_price, new_leaves)

    def best_bid(self) -> int | None:
        return self._best(self.bids, True)

    def best_ask(self) -> int | None:
        return self._best(self.asks, False)

    def depth(self) -> tuple[Depth, Depth]:
        """(bids best first, asks best first), each level as (price, [(order id, leaves), ...])."""
        bids = [(p, [(i, q) for i, q in self.bids[p]]) for p in sorted(self.bids, reverse=True)]
        asks = [(p, [(i, q) for i, q in self.asks[p]]) for p in sorted(self.asks)]
        return bids, asks

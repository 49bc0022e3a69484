"""Reconciliation: the broker's open orders against the engine's view of its books.

The engine's view is, per instrument, the open orders with their leaves quantity, keyed by client order id::

    {"PETR4": {"<order_id>": 100, "<order_id>~1": 200}, "VALE3": {}}

The engine service keeps it in Redis (``engine:open-orders:<instrument>`` hashes, see
``mybroker.contracts.exchange``); the liquidity agents' orders (``MM-`` client ids) are left out.

Run: ``python -m mybroker.orders.reconcile`` (the engine's view from REDIS_URL) or ``... engine-view.json``;
prints the differences as JSON lines and exits 1 when there are any. ``compare`` is pure and unit-tested.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mybroker.contracts.engine import broker_order_id
from mybroker.orders.domain import Order

AGENT_PREFIX = "MM-"  # client order ids of the exchange's liquidity agents: not broker orders
EngineView = Mapping[str, Mapping[str, int]]  # instrument -> client order id -> leaves quantity


@dataclass(frozen=True)
class Difference:
    kind: str  # MISSING_IN_ENGINE | UNKNOWN_TO_BROKER | LEAVES_MISMATCH | CLIENT_ORDER_ID_MISMATCH
    instrument: str
    order_id: str
    broker_leaves: int | None
    engine_leaves: int | None
    detail: str = ""


def compare(open_orders: Iterable[Order], engine: EngineView) -> list[Difference]:
    """Differences between the broker's open orders and the engine's resting ones. A PENDING_NEW order the
    engine does not show yet is not a difference (its command may be in flight)."""
    out: list[Difference] = []
    ours = {(o.instrument, o.order_id): o for o in open_orders}
    theirs: dict[tuple[str, str], tuple[str, int]] = {}
    for instrument, book in engine.items():
        for client_order_id, leaves in book.items():
            theirs[(instrument, broker_order_id(client_order_id))] = (client_order_id, int(leaves))
    for key, o in sorted(ours.items()):
        seen = theirs.get(key)
        if seen is None:
            if o.status.value != "PENDING_NEW":
                out.append(Difference("MISSING_IN_ENGINE", o.instrument, o.order_id, o.leaves_quantity, None))
            continue
        coid, leaves = seen
        if leaves != o.leaves_quantity:
            out.append(Difference("LEAVES_MISMATCH", o.instrument, o.order_id, o.leaves_quantity, leaves))
        if coid != o.engine_client_order_id:
            out.append(Difference("CLIENT_ORDER_ID_MISMATCH", o.instrument, o.order_id, o.leaves_quantity, leaves,
                                  f"broker {o.engine_client_order_id}, engine {coid}"))
    for (instrument, order_id), (_coid, leaves) in sorted(theirs.items()):
        if (instrument, order_id) not in ours:
            out.append(Difference("UNKNOWN_TO_BROKER", instrument, order_id, None, leaves))
    return out


def engine_view_from_redis(redis: Any) -> dict[str, dict[str, int]]:
    from mybroker.contracts.exchange import OPEN_ORDERS_KEY

    prefix = OPEN_ORDERS_KEY.format(instrument="")
    view: dict[str, dict[str, int]] = {}
    for key in redis.scan_iter(match=prefix + "*"):
        name = key.decode() if isinstance(key, bytes) else str(key)
        book = {
            (k.decode() if isinstance(k, bytes) else str(k)): int(v)
            for k, v in redis.hgetall(name).items()
        }
        view[name[len(prefix):]] = {k: v for k, v in book.items() if not k.startswith(AGENT_PREFIX)}
    return view


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python -m mybroker.orders.reconcile [engine-view.json]", file=sys.stderr)
        return 2
    view: dict[str, dict[str, int]]
    if argv:
        with open(argv[0]) as f:
            view = json.load(f)
    else:
        import redis

        from mybroker.settings import settings

        view = engine_view_from_redis(redis.Redis.from_url(settings().redis_url))
    from mybroker.db import engine
    from mybroker.orders.repository import MySqlRepository

    diffs = compare(MySqlRepository(engine()).open_orders(), view)
    for d in diffs:
        print(json.dumps(asdict(d)))
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

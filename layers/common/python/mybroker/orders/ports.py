"""The small interfaces the orders service depends on; adapters (MySQL, RabbitMQ, Kafka, HTTP) implement them.
The outbox message and the publisher interface are shared with the other services: :mod:`mybroker.outbox`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

from mybroker.contracts.engine import ExecutionReportMessage
from mybroker.orders.domain import FillRecord, InstrumentRules, Order, Transition
from mybroker.outbox import OutboxMessage


class DuplicateClientOrderId(Exception):
    def __init__(self, existing: Order) -> None:
        super().__init__(existing.order_id)
        self.existing = existing


class Instruments(Protocol):
    def rules(self, ticker: str, authorization: str) -> InstrumentRules | None: ...


class ReferencePrices(Protocol):
    def reference_cents(self, ticker: str) -> int | None: ...


class Wallet(Protocol):
    """The wallet's reservation steps, called as this service (not as the user): the holder of a reservation
    is the order, in the order's account."""

    def reserve(self, account_id: str, order_id: str, ticker: str, side: str, quantity: int,
                price_cents: int) -> None: ...
    def adjust(self, account_id: str, order_id: str, quantity: int, price_cents: int, replace_seq: int) -> None:
        """Widen the hold to cover replace ``replace_seq``: ``quantity`` (the new total) at ``price_cents``;
        never narrows it. Refused (409 REPLACE_PENDING) while the wallet has not seen the last replace's answer."""
        ...
    def release(self, account_id: str, order_id: str) -> None: ...


ReportApplier = Callable[[Order], "tuple[Transition, list[OutboxMessage]]"]


class Repository(Protocol):
    def get(self, account_id: str, order_id: str) -> Order | None: ...
    def read_back(self, order_id: str) -> Order | None:
        """The order by id in any account, read so that a commit still in flight is waited for, not missed."""
        ...
    def by_client_order_id(self, account_id: str, client_order_id: str) -> Order | None: ...
    def search(self, account_id: str, status: str | None, instrument: str | None, trade_date: date | None,
               limit: int, offset: int) -> tuple[list[Order], int]: ...
    def fills(self, order_id: str) -> list[FillRecord]: ...
    def insert(self, order: Order, outbox: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """Stores the order and its outbox in one transaction; raises DuplicateClientOrderId."""
        ...
    def update(self, order: Order, expected_replace_seq: int, outbox: Sequence[OutboxMessage],
               ) -> list[OutboxMessage]:
        """Stores a cancel/replace request (the engine client order id and replace count only) and its outbox;
        raises ConcurrentChange if another replace got there first."""
        ...
    def apply_report(self, report: ExecutionReportMessage, applier: ReportApplier) -> list[OutboxMessage] | None:
        """In one transaction: dedupe (instrument, exec_id), lock the order, apply, store fills and outbox.
        None for a duplicate or an unknown order."""
        ...
    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]: ...
    def unsent_commands(self, order_id: str, before: int) -> list[OutboxMessage]:
        """The order's engine commands stored before outbox id ``before`` and not yet sent, oldest first."""
        ...
    def mark_sent(self, outbox_ids: Sequence[int]) -> None: ...
    def open_orders(self) -> list[Order]: ...


class ConcurrentChange(Exception):
    pass

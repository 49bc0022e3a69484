"""What the wallet service needs from storage: a transaction with row locks (the MySQL adapter, or the
in-memory one the unit tests use), plus the read side the API shows."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from mybroker.wallet.daytrade import TradeClass
from mybroker.wallet.ledger import BalanceKey, Bucket, JournalEntry
from mybroker.wallet.positions import Cost
from mybroker.wallet.reservations import Reservation, Side


@dataclass(frozen=True)
class StoredEntry:
    id: int
    key: str
    kind: str
    ref: str
    request_hash: str
    created_at: datetime


@dataclass(frozen=True)
class PendingSettlement:
    source_key: str  # the fill's event id: one settlement per fill
    account_id: str
    order_id: str
    side: Side
    ticker: str
    quantity: int
    value_cents: int
    fees_cents: int
    trade_date: date
    settle_date: date
    id: int = 0
    settled: bool = False


@dataclass(frozen=True)
class StatementLine:
    id: int  # the posting id: the pagination cursor
    entry_id: int
    posted_at: datetime
    kind: str
    ref: str
    memo: str
    bucket: Bucket
    asset: str
    amount: int


@dataclass(frozen=True)
class DayWithholding:
    """The IRRF of one investor's trading day, withheld from settled cash when that day's trades settle."""

    account_id: str
    trade_date: date
    settle_date: date
    swing_base_cents: int
    swing_cents: int
    day_trade_base_cents: int
    day_trade_cents: int
    withheld: bool = False  # nothing owed: what was withheld is the day's figure
    withheld_cents: int = 0  # taken so far (a fill that arrives after the day was withheld changes the figure)
    revision: int = 0  # bumped by each change of the figures after a withholding: keys the adjustment's entry

    @property
    def total_cents(self) -> int:
        return self.swing_cents + self.day_trade_cents

    @property
    def owed_cents(self) -> int:
        """Still to withhold (negative: to give back, when a late fill lowered the day's figure)."""
        return 0 if self.withheld else self.total_cents - self.withheld_cents


class WalletTx(Protocol):
    def lock_account(self, account_id: str, create: bool) -> bool:
        """Lock the account's row for this transaction (creating it when ``create``); False if absent."""

    def balance(self, account_id: str, bucket: Bucket, asset: str) -> int: ...
    def find_entry(self, key: str) -> StoredEntry | None: ...
    def post(self, entry: JournalEntry) -> StoredEntry: ...
    def reservation(self, account_id: str, order_id: str) -> Reservation | None: ...
    def save_reservation(self, r: Reservation) -> None: ...
    def event_seen(self, event_id: str) -> bool: ...
    def record_event(self, event_id: str, account_id: str, order_id: str, event_type: str, outcome: str) -> None: ...
    def cost(self, account_id: str, ticker: str) -> Cost: ...
    def save_cost(self, account_id: str, ticker: str, cost: Cost) -> None: ...
    def add_settlement(self, item: PendingSettlement) -> None: ...
    def settlement(self, settlement_id: int) -> PendingSettlement | None: ...
    def mark_settled(self, settlement_id: int) -> None: ...
    def unsettled_credit(self, account_id: str, asset: str) -> int:
        """What unsettled trades will still credit: sale proceeds (BRL, net of fees) or bought shares."""

    def day_fills(self, account_id: str, ticker: str | None, trade_date: date) -> list[TradeClass]:
        """The account's classified fills of a holding (or of every holding) on a trade date, in arrival order."""

    def add_trade_class(self, item: TradeClass) -> None: ...
    def set_day_trade_quantity(self, trade_class_id: int, day_trade_quantity: int) -> None: ...
    def save_withholding(self, item: DayWithholding) -> None:
        """Insert or replace the day's figures; a day already withheld keeps what was taken, owes the difference
        (``withheld`` false unless the figure is unchanged) and gets its revision bumped."""

    def withholding(self, account_id: str, trade_date: date) -> DayWithholding | None: ...
    def mark_withheld(self, account_id: str, trade_date: date, withheld_cents: int) -> None: ...
    def irrf_owed(self, account_id: str) -> int:
        """IRRF computed on the account's trades and not withheld yet, every day (settled or not)."""


class WalletStore(Protocol):
    def transaction(self) -> AbstractContextManager[WalletTx]: ...
    def orphan_candidates(self, older_than: datetime, limit: int) -> list[Reservation]:
        """ACTIVE reservations created before ``older_than`` for whose order no event was ever seen."""

    def due_settlements(self, today: date, limit: int) -> list[tuple[int, str]]:
        """(settlement id, account id) of unsettled items due on or before ``today``."""

    def balances(self, account_id: str) -> dict[tuple[Bucket, str], int]: ...
    def costs(self, account_id: str) -> dict[str, Cost]: ...
    def statement(self, account_id: str, start: datetime | None, end: datetime | None, before_id: int | None,
                  limit: int, asset: str | None) -> list[StatementLine]: ...
    def reservation(self, account_id: str, order_id: str) -> Reservation | None: ...
    def pending_settlements(self, account_id: str) -> list[PendingSettlement]: ...
    def ledger_totals(self) -> dict[str, int]: ...
    def user_balances(self, account_id: str | None) -> dict[BalanceKey, int]: ...
    def user_balances_from_postings(self, account_id: str | None) -> dict[BalanceKey, int]: ...
    def held_by_reservations(self, account_id: str | None) -> dict[BalanceKey, int]: ...
    def due_withholdings(self, today: date, limit: int) -> list[tuple[str, date]]:
        """(account, trade date) of IRRF not yet withheld whose trades settle on or before ``today``."""

    def withholdings(self, account_id: str, start: date | None, end: date | None) -> list[DayWithholding]: ...
    def irrf_owed(self, account_id: str) -> int: ...

    def trade_classes(self, account_id: str, start: date | None, end: date | None) -> list[TradeClass]:
        """The account's classified fills with ``start <= trade_date <= end``, in arrival order."""

"""An in-memory :class:`~mybroker.wallet.ports.WalletStore` for unit tests and property tests: same semantics
as the MySQL adapter (a transaction is all-or-nothing), no locking (single-threaded)."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from mybroker.wallet.daytrade import TradeClass
from mybroker.wallet.ledger import BRL, BalanceKey, Bucket, FloorBreached, JournalEntry, Posting
from mybroker.wallet.ports import DayWithholding, PendingSettlement, StatementLine, StoredEntry
from mybroker.wallet.positions import Cost
from mybroker.wallet.reservations import Reservation, ReservationStatus, Side


@dataclass
class _State:
    accounts: set[str] = field(default_factory=set)
    entries: dict[str, StoredEntry] = field(default_factory=dict)
    postings: list[tuple[int, StoredEntry, Posting]] = field(default_factory=list)
    balances: dict[BalanceKey, int] = field(default_factory=lambda: defaultdict(int))
    reservations: dict[tuple[str, str], Reservation] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    costs: dict[tuple[str, str], Cost] = field(default_factory=dict)
    settlements: dict[int, PendingSettlement] = field(default_factory=dict)
    reserved_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    trade_classes: dict[int, TradeClass] = field(default_factory=dict)
    withholdings: dict[tuple[str, date], DayWithholding] = field(default_factory=dict)


def is_system(account_id: str) -> bool:
    return account_id.startswith("system:")


class MemoryTx:
    def __init__(self, s: _State) -> None:
        self.s = s

    def lock_account(self, account_id: str, create: bool) -> bool:
        if account_id not in self.s.accounts and create:
            self.s.accounts.add(account_id)
        return account_id in self.s.accounts

    def balance(self, account_id: str, bucket: Bucket, asset: str) -> int:
        return self.s.balances.get((account_id, bucket, asset), 0)

    def find_entry(self, key: str) -> StoredEntry | None:
        return self.s.entries.get(key)

    def post(self, entry: JournalEntry) -> StoredEntry:
        if entry.key in self.s.entries:
            raise ValueError(f"duplicate entry {entry.key}")
        stored = StoredEntry(len(self.s.entries) + 1, entry.key, entry.kind, entry.ref, entry.request_hash,
                             datetime.now(UTC))
        for p in entry.postings:  # the floor, before anything changes
            key = (p.account_id, p.bucket, p.asset)
            if not is_system(p.account_id) and p.amount < 0 and self.s.balances.get(key, 0) + p.amount < 0:
                raise FloorBreached(p.account_id, p.bucket, p.asset, p.amount)
        self.s.entries[entry.key] = stored
        for p in entry.postings:
            self.s.postings.append((len(self.s.postings) + 1, stored, p))
            if not is_system(p.account_id):
                self.s.balances[(p.account_id, p.bucket, p.asset)] += p.amount
        return stored

    def reservation(self, account_id: str, order_id: str) -> Reservation | None:
        r = self.s.reservations.get((account_id, order_id))
        return copy.copy(r) if r else None

    def save_reservation(self, r: Reservation) -> None:
        self.s.reservations[(r.account_id, r.order_id)] = copy.copy(r)
        self.s.reserved_at.setdefault((r.account_id, r.order_id), datetime.now(UTC))

    def event_seen(self, event_id: str) -> bool:
        return event_id in self.s.events

    def record_event(self, event_id: str, account_id: str, order_id: str, event_type: str, outcome: str) -> None:
        self.s.events[event_id] = outcome

    def cost(self, account_id: str, ticker: str) -> Cost:
        return self.s.costs.get((account_id, ticker), Cost(0, 0))

    def save_cost(self, account_id: str, ticker: str, cost: Cost) -> None:
        self.s.costs[(account_id, ticker)] = cost

    def add_settlement(self, item: PendingSettlement) -> None:
        if any(x.source_key == item.source_key for x in self.s.settlements.values()):
            raise ValueError(f"duplicate settlement {item.source_key}")
        new_id = len(self.s.settlements) + 1
        self.s.settlements[new_id] = replace(item, id=new_id)

    def settlement(self, settlement_id: int) -> PendingSettlement | None:
        return self.s.settlements.get(settlement_id)

    def mark_settled(self, settlement_id: int) -> None:
        self.s.settlements[settlement_id] = replace(self.s.settlements[settlement_id], settled=True)

    def unsettled_credit(self, account_id: str, asset: str) -> int:
        open_ = [x for x in self.s.settlements.values() if x.account_id == account_id and not x.settled]
        if asset == BRL:
            return sum(x.value_cents - x.fees_cents for x in open_ if x.side is Side.SELL)
        return sum(x.quantity for x in open_ if x.side is Side.BUY and x.ticker == asset)

    def day_fills(self, account_id: str, ticker: str | None, trade_date: date) -> list[TradeClass]:
        return [x for _, x in sorted(self.s.trade_classes.items()) if x.account_id == account_id
                and (ticker is None or x.ticker == ticker) and x.trade_date == trade_date]

    def add_trade_class(self, item: TradeClass) -> None:
        if any(x.source_key == item.source_key for x in self.s.trade_classes.values()):
            raise ValueError(f"duplicate trade class {item.source_key}")
        new_id = len(self.s.trade_classes) + 1
        self.s.trade_classes[new_id] = replace(item, id=new_id)

    def set_day_trade_quantity(self, trade_class_id: int, day_trade_quantity: int) -> None:
        item = self.s.trade_classes[trade_class_id]
        self.s.trade_classes[trade_class_id] = replace(item, day_trade_quantity=day_trade_quantity)

    def save_withholding(self, item: DayWithholding) -> None:
        old = self.s.withholdings.get((item.account_id, item.trade_date))
        if old is not None and old.withheld_cents:
            item = replace(item, withheld=item.total_cents == old.withheld_cents,
                           withheld_cents=old.withheld_cents, revision=old.revision + 1)
        self.s.withholdings[(item.account_id, item.trade_date)] = item

    def withholding(self, account_id: str, trade_date: date) -> DayWithholding | None:
        return self.s.withholdings.get((account_id, trade_date))

    def mark_withheld(self, account_id: str, trade_date: date, withheld_cents: int) -> None:
        key = (account_id, trade_date)
        self.s.withholdings[key] = replace(self.s.withholdings[key], withheld=True, withheld_cents=withheld_cents)

    def irrf_owed(self, account_id: str) -> int:
        return sum(w.owed_cents for (acc, _), w in self.s.withholdings.items() if acc == account_id)


class MemoryStore:
    def __init__(self) -> None:
        self.s = _State()

    @contextmanager
    def transaction(self) -> Iterator[MemoryTx]:
        snapshot = copy.deepcopy(self.s)
        try:
            yield MemoryTx(self.s)
        except BaseException:
            self.s = snapshot
            raise

    def orphan_candidates(self, older_than: datetime, limit: int) -> list[Reservation]:
        found = [r for k, r in self.s.reservations.items() if not r.confirmed
                 and r.status is ReservationStatus.ACTIVE and self.s.reserved_at[k] < older_than]
        return [copy.copy(r) for r in found[:limit]]

    def due_settlements(self, today: date, limit: int) -> list[tuple[int, str]]:
        due = [(i, x.account_id) for i, x in sorted(self.s.settlements.items())
               if not x.settled and x.settle_date <= today]
        return due[:limit]

    def balances(self, account_id: str) -> dict[tuple[Bucket, str], int]:
        return {(b, a): v for (acc, b, a), v in self.s.balances.items() if acc == account_id and v}

    def costs(self, account_id: str) -> dict[str, Cost]:
        return {t: c for (acc, t), c in self.s.costs.items() if acc == account_id}

    def statement(self, account_id: str, start: datetime | None, end: datetime | None, before_id: int | None,
                  limit: int, asset: str | None) -> list[StatementLine]:
        lines = [StatementLine(pid, e.id, e.created_at, e.kind, e.ref, "", p.bucket, p.asset, p.amount)
                 for pid, e, p in self.s.postings
                 if p.account_id == account_id and (asset is None or p.asset == asset)
                 and (before_id is None or pid < before_id)]
        return sorted(lines, key=lambda x: -x.id)[:limit]

    def reservation(self, account_id: str, order_id: str) -> Reservation | None:
        return self.s.reservations.get((account_id, order_id))

    def pending_settlements(self, account_id: str) -> list[PendingSettlement]:
        return [x for x in self.s.settlements.values() if x.account_id == account_id and not x.settled]

    def ledger_totals(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for _, _, p in self.s.postings:
            out[p.asset] += p.amount
        return dict(out)

    def user_balances(self, account_id: str | None) -> dict[BalanceKey, int]:
        return {k: v for k, v in self.s.balances.items() if account_id is None or k[0] == account_id}

    def user_balances_from_postings(self, account_id: str | None) -> dict[BalanceKey, int]:
        out: dict[BalanceKey, int] = defaultdict(int)
        for _, _, p in self.s.postings:
            if not is_system(p.account_id) and (account_id is None or p.account_id == account_id):
                out[(p.account_id, p.bucket, p.asset)] += p.amount
        return dict(out)

    def held_by_reservations(self, account_id: str | None) -> dict[BalanceKey, int]:
        out: dict[BalanceKey, int] = defaultdict(int)
        for r in self.s.reservations.values():
            if account_id is None or r.account_id == account_id:
                out[(r.account_id, Bucket.RESERVED, BRL)] += r.reserved_cents
                out[(r.account_id, Bucket.RESERVED, r.ticker)] += r.reserved_quantity
        return {k: v for k, v in out.items() if v}

    def trade_classes(self, account_id: str, start: date | None, end: date | None) -> list[TradeClass]:
        return [x for _, x in sorted(self.s.trade_classes.items()) if x.account_id == account_id
                and (start is None or x.trade_date >= start) and (end is None or x.trade_date <= end)]

    def due_withholdings(self, today: date, limit: int) -> list[tuple[str, date]]:
        return [k for k, w in sorted(self.s.withholdings.items())
                if w.owed_cents and w.settle_date <= today][:limit]

    def withholdings(self, account_id: str, start: date | None, end: date | None) -> list[DayWithholding]:
        return [w for (acc, d), w in sorted(self.s.withholdings.items()) if acc == account_id
                and (start is None or d >= start) and (end is None or d <= end)]

    def irrf_owed(self, account_id: str) -> int:
        return sum(w.owed_cents for (acc, _), w in self.s.withholdings.items() if acc == account_id)

"""The ledger invariant, read from the real stores (MariaDB schemas ``wallet`` and ``orders``), for a set of accounts.

For every account (docs/faults.md):
- **cash**: available + reserved + receivable + the payable bucket (cash set aside for unsettled buys), less the
  payables still due (unsettled BUY settlements, value + fees), equals deposits - withdrawals - every buy fill's
  value and fees + every sell fill's value less fees - IRRF withheld, to the cent. Deposits and withdrawals are the
  load generator's own record (each uncertain answer resolved by retrying its idempotency key) and must equal the
  ledger's deposit/withdrawal entries; fills are the **orders** schema's ``fills`` (the exchange's reports as the
  orders service stored them), not the wallet's view of them.
- **shares**: per holding (``PETR4F`` counts in ``PETR4``), available + reserved + receivable = bought - sold in
  ``orders.fills``; the wallet's ``positions.quantity`` and its classified fills (``trade_classes``) agree with them.
- **double entry**: every journal entry touching the accounts sums to zero per asset; every stored balance equals
  the sum of its postings; nothing is negative; the ``reserved`` buckets equal what the reservations hold.
- **holds**: no reservation holds anything for an order that ended or that the orders service never stored, once
  it is older than the sweeper's window (younger ones are reported as pending the sweep).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, text

LIVE = ("PENDING_NEW", "NEW", "PARTIALLY_FILLED")
USER_BUCKETS = ("available", "reserved", "receivable", "payable")


def base_ticker(instrument: str) -> str:
    """``PETR4F`` (the fractional market) is the same holding as ``PETR4``."""
    return instrument[:-1] if instrument.endswith("F") and instrument[-2:-1].isdigit() else instrument


@dataclass
class AccountCheck:
    account_id: str
    cash_actual: int = 0
    cash_expected: int = 0
    shares_actual: dict[str, int] = field(default_factory=dict)
    shares_expected: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    accounts: int = 0
    cents_off: int = 0
    shares_off: int = 0
    orphans: int = 0  # holds without a live order, older than the sweeper's window (a failure)
    orphans_pending: int = 0  # the same, younger than the window: the sweeper has not had its turn yet
    live_orders: int = 0
    problems: list[str] = field(default_factory=list)
    checks: list[AccountCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cents_off == 0 and self.shares_off == 0 and self.orphans == 0 and not self.problems

    def off(self, what: str, cents: int = 0, shares: int = 0) -> None:
        self.cents_off += abs(cents)
        self.shares_off += abs(shares)
        self.problems.append(what)


def _in(sql: str) -> Any:
    return text(sql).bindparams(bindparam("ids", expanding=True))


def check(wallet: Engine, orders: Engine, accounts: Iterable[str], transfers: Mapping[str, int],
          sweep_window: timedelta, now: datetime | None = None) -> Report:
    """``transfers``: per account, deposits - withdrawals as the client knows them (every answer resolved)."""
    ids = sorted(set(accounts))
    report = Report(accounts=len(ids))
    if not ids:
        return report
    now = now or datetime.now(UTC).replace(tzinfo=None)
    p = {"ids": ids}
    with orders.connect() as c:
        order_rows = c.execute(_in("SELECT order_id, account_id, side, status FROM orders WHERE account_id IN :ids"),
                               p).all()
        fill_rows = c.execute(_in(
            "SELECT o.account_id, o.order_id, o.side, f.instrument, f.quantity, f.price_cents, f.fees_cents "
            "FROM fills f JOIN orders o ON o.order_id = f.order_id WHERE o.account_id IN :ids"), p).all()
    with wallet.connect() as c:
        bal_rows = c.execute(_in("SELECT account_id, bucket, asset, amount FROM balances WHERE account_id IN :ids"),
                             p).all()
        posted_rows = c.execute(_in(
            "SELECT account_id, bucket, asset, SUM(amount) FROM postings WHERE account_id IN :ids "
            "GROUP BY account_id, bucket, asset"), p).all()
        unbalanced = c.execute(_in(
            "SELECT e.id, e.kind, p.asset, SUM(p.amount) FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
            "WHERE e.id IN (SELECT entry_id FROM postings WHERE account_id IN :ids) "
            "GROUP BY e.id, e.kind, p.asset HAVING SUM(p.amount) <> 0"), p).all()
        transfer_rows = c.execute(_in(
            "SELECT p.account_id, e.kind, SUM(p.amount) FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
            "WHERE p.account_id IN :ids AND e.kind IN ('deposit', 'withdrawal', 'irrf') AND p.asset = 'BRL' "
            "GROUP BY p.account_id, e.kind"), p).all()
        due_rows = c.execute(_in(
            "SELECT account_id, SUM(value_cents + fees_cents) FROM settlements WHERE account_id IN :ids "
            "AND side = 'BUY' AND settled = 0 GROUP BY account_id"), p).all()
        position_rows = c.execute(_in("SELECT account_id, ticker, quantity FROM positions WHERE account_id IN :ids"),
                                  p).all()
        class_rows = c.execute(_in(
            "SELECT account_id, order_id, SUM(quantity), SUM(fees_cents) FROM trade_classes WHERE account_id IN :ids "
            "GROUP BY account_id, order_id"), p).all()
        holds = c.execute(_in(
            "SELECT account_id, order_id, side, ticker, reserved_cents, reserved_quantity, status, created_at "
            "FROM reservations WHERE account_id IN :ids"), p).all()

    # double entry: every entry balances per asset; stored balances are their postings; nothing negative
    for entry_id, kind, asset, total in unbalanced:
        report.off(f"entry {entry_id} ({kind}) does not balance in {asset}: {total}",
                   cents=int(total) if asset == "BRL" else 0, shares=0 if asset == "BRL" else int(total))
    stored = {(a, b, s): int(v) for a, b, s, v in bal_rows}
    posted = {(a, b, s): int(v) for a, b, s, v in posted_rows}
    for key in set(stored) | set(posted):
        diff = stored.get(key, 0) - posted.get(key, 0)
        if diff:
            report.off(f"balance {key} = {stored.get(key, 0)}, its postings sum to {posted.get(key, 0)}",
                       cents=diff if key[2] == "BRL" else 0, shares=0 if key[2] == "BRL" else diff)
        if stored.get(key, 0) < 0:
            report.off(f"balance {key} is negative: {stored[key]}",
                       cents=stored[key] if key[2] == "BRL" else 0, shares=0 if key[2] == "BRL" else stored[key])

    # the client's transfers against the ledger's
    ledger_transfers: Counter[str] = Counter()
    irrf: Counter[str] = Counter()
    for account, kind, total in transfer_rows:
        if kind == "irrf":
            irrf[account] += int(total)  # negative: withheld from the user's available cash
        else:
            ledger_transfers[account] += int(total)
    for account in ids:
        diff = ledger_transfers[account] - int(transfers.get(account, 0))
        if diff:
            report.off(f"{account}: the ledger's deposits - withdrawals are {ledger_transfers[account]}, "
                       f"the client's {transfers.get(account, 0)}", cents=diff)

    # cash and shares against the orders service's fills
    fills_cash: Counter[str] = Counter()
    fills_shares: dict[str, Counter[str]] = defaultdict(Counter)
    per_order: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for account, order_id, side, instrument, qty, price, fees in fill_rows:
        value = int(qty) * int(price)
        sign = 1 if side == "BUY" else -1
        fills_cash[account] += -(value + int(fees)) if side == "BUY" else value - int(fees)
        fills_shares[account][base_ticker(instrument)] += sign * int(qty)
        per_order[(account, order_id)][0] += int(qty)
        per_order[(account, order_id)][1] += int(fees)
    due = {a: int(v) for a, v in due_rows}
    for account in ids:
        cash = sum(stored.get((account, b, "BRL"), 0) for b in USER_BUCKETS) - due.get(account, 0)
        expected = int(transfers.get(account, 0)) + fills_cash[account] + irrf[account]
        held: Counter[str] = Counter()
        for (a, bucket, asset), amount in stored.items():
            if a == account and asset != "BRL" and bucket in ("available", "reserved", "receivable"):
                held[asset] += amount
        report.checks.append(AccountCheck(account, cash, expected, dict(held), dict(fills_shares[account])))
        if cash != expected:
            report.off(f"{account}: cash + holds + receivables - payables = {cash}, deposits - withdrawals +- "
                       f"trades -+ fees = {expected}", cents=cash - expected)
        if stored.get((account, "payable", "BRL"), 0) != due.get(account, 0):
            report.off(f"{account}: payable bucket {stored.get((account, 'payable', 'BRL'), 0)}, unsettled buys "
                       f"{due.get(account, 0)}", cents=stored.get((account, "payable", "BRL"), 0) - due.get(account, 0))
        for ticker in set(held) | set(fills_shares[account]):
            diff = held[ticker] - fills_shares[account][ticker]
            if diff:
                report.off(f"{account}: {held[ticker]} {ticker} in the wallet, the fills make "
                           f"{fills_shares[account][ticker]}", shares=diff)
    for account, ticker, qty in position_rows:
        diff = int(qty) - fills_shares[account][ticker]
        if diff:
            report.off(f"{account}: position {ticker} says {qty}, the fills make {fills_shares[account][ticker]}",
                       shares=diff)
    classified = {(a, o): (int(q), int(f)) for a, o, q, f in class_rows}
    for order_key in set(classified) | set(per_order):
        mine, theirs = classified.get(order_key, (0, 0)), tuple(per_order.get(order_key, [0, 0]))
        if mine != theirs:
            report.off(f"order {order_key[1]}: the wallet classified {mine[0]} shares (fees {mine[1]}), the orders "
                       f"service filled {theirs[0]} (fees {theirs[1]})", cents=mine[1] - theirs[1],
                       shares=mine[0] - theirs[0])

    # holds: reserved buckets = what reservations hold; no hold without a live order past the sweeper's window
    held_cash: Counter[str] = Counter()
    held_shares: Counter[tuple[str, str]] = Counter()
    status_of = {o: s for o, _, _, s in order_rows}
    report.live_orders = sum(1 for s in status_of.values() if s in LIVE)
    for account, order_id, _side, ticker, cents, qty, _status, created in holds:
        held_cash[account] += int(cents)
        held_shares[(account, ticker)] += int(qty)
        if not (int(cents) or int(qty)) or status_of.get(order_id) in LIVE:
            continue
        if order_id in status_of:  # the order ended: its events end the hold
            report.off(f"order {order_id} is {status_of[order_id]} but still holds {cents} cents / {qty} shares",
                       cents=int(cents), shares=int(qty))
        elif created < now - sweep_window - timedelta(seconds=90):  # the sweeper runs every minute
            report.orphans += 1
            report.off(f"orphan hold of order {order_id} (never stored), {cents} cents / {qty} shares, "
                       f"from {created}", cents=int(cents), shares=int(qty))
        else:
            report.orphans_pending += 1
    for account in ids:
        diff = stored.get((account, "reserved", "BRL"), 0) - held_cash[account]
        if diff:
            report.off(f"{account}: reserved BRL {stored.get((account, 'reserved', 'BRL'), 0)}, the reservations "
                       f"hold {held_cash[account]}", cents=diff)
    for (account, bucket, asset), amount in stored.items():
        if bucket == "reserved" and asset != "BRL" and amount != held_shares[(account, asset)]:
            report.off(f"{account}: reserved {asset} {amount}, the reservations hold "
                       f"{held_shares[(account, asset)]}", shares=amount - held_shares[(account, asset)])
    return report


def caught_up(wallet: Engine, orders: Engine, accounts: Iterable[str]) -> tuple[bool, str]:
    """Whether every event of every order of these accounts reached the wallet (event ids ``<orderId>:<n>``,
    n = 1..event_seq) and every order-side outbox row went out: the point where the invariant must hold."""
    ids = sorted(set(accounts))
    if not ids:
        return True, ""
    with orders.connect() as c:
        seqs = {o: int(n) for o, n in c.execute(_in(
            "SELECT order_id, event_seq FROM orders WHERE account_id IN :ids"), {"ids": ids}).all()}
        unsent = int(c.execute(_in(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND msg_key IN :ids"), {"ids": ids}).scalar() or 0)
    with wallet.connect() as c:
        seen = {o: int(n) for o, n in c.execute(_in(
            "SELECT order_id, COUNT(*) FROM processed_events WHERE account_id IN :ids GROUP BY order_id"),
            {"ids": ids}).all()}
    behind = [o for o, n in seqs.items() if seen.get(o, 0) < n]
    if behind or unsent:
        return False, f"{len(behind)} orders with events the wallet has not applied, {unsent} unsent outbox rows"
    return True, ""

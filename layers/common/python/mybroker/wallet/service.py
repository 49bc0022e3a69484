"""The wallet's use cases: deposits, withdrawals, reservations, order events and settlement. Each runs in one
transaction that first locks the user's account row, so one user's movements are serialised and a journal
entry, its balances and its idempotency record commit together."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from mybroker.b3.calendar import settlement_date
from mybroker.contracts.orders import TERMINAL_STATUSES, OrderEvent, OrderEventType
from mybroker.tax.gains import day_withholding
from mybroker.tax.rules import RULES, AssetKind, TaxRules
from mybroker.wallet import reservations as rsv
from mybroker.wallet.daytrade import TradeClass, classify
from mybroker.wallet.ledger import (
    B3_FEES,
    BRL,
    CLEARING,
    IRRF,
    PIX,
    Bucket,
    FloorBreached,
    JournalEntry,
    Posting,
    Problem,
    move,
    reconcile,
    spendable_cash,
    system,
)
from mybroker.wallet.ports import DayWithholding, PendingSettlement, StoredEntry, WalletStore, WalletTx
from mybroker.wallet.reservations import Change, Reservation, ReservationStatus, Side

MAX_AMOUNT_CENTS = 100_000_000_000  # R$1 billion per transfer
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuyingPower:
    """The broker's policy on projected balances (docs/wallet.md): B3 nets a day's trades at settlement, so a
    buy may use today's unsettled sale proceeds and a sell may deliver shares bought and not yet settled."""

    projected_cash: bool = True
    unsettled_shares: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BuyingPower:
        """``WALLET_PROJECTED_CASH`` / ``WALLET_UNSETTLED_SHARES``: ``false`` turns either off."""
        def on(name: str) -> bool:
            return env.get(name, "true").strip().lower() not in ("false", "0", "no", "off")
        return cls(on("WALLET_PROJECTED_CASH"), on("WALLET_UNSETTLED_SHARES"))


class WalletError(Exception):
    """A refusal the client can act on; ``status`` is the HTTP status the API answers with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def brl(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}R${whole:,}.{frac:02d}".replace(",", "_").replace(".", ",").replace("_", ".")


@dataclass(frozen=True)
class Transfer:
    entry: StoredEntry
    amount_cents: int
    idempotency_key: str


class EventOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # the wallet never reserved it: recorded, no money moves
    IGNORED = "IGNORED"  # an event type that moves nothing (placed, accepted)
    FLOOR_REFUSED = "FLOOR_REFUSED"  # applying it would have taken a balance below zero: refused, alarmed


class Wallet:
    def __init__(self, store: WalletStore, policy: BuyingPower = BuyingPower(), tax_rules: TaxRules = RULES) -> None:
        self.store = store
        self.policy = policy
        self.tax_rules = tax_rules

    # --- cash in and out ---------------------------------------------------------------------------
    def _transfer(self, kind: str, account_id: str, key: str, amount_cents: int) -> tuple[Transfer, bool]:
        if not 0 < amount_cents <= MAX_AMOUNT_CENTS:
            raise WalletError("INVALID_AMOUNT", f"amountCents must be between 1 and {MAX_AMOUNT_CENTS}", 422)
        entry_key = f"{kind}:{account_id}:{key}"
        digest = rsv.request_hash(kind, amount_cents)
        with self.store.transaction() as tx:
            tx.lock_account(account_id, create=True)
            found = tx.find_entry(entry_key)
            if found is not None:
                if found.request_hash != digest:
                    raise WalletError("IDEMPOTENCY_KEY_REUSED",
                                      f"idempotency key {key!r} was already used for a different {kind}", 409)
                return Transfer(found, amount_cents, key), False
            mine = (account_id, Bucket.AVAILABLE)
            if kind == "deposit":
                postings = move(BRL, amount_cents, system(PIX), mine)
                memo = f"PIX deposit {brl(amount_cents)}"
            else:
                settled, _ = spendable_cash(tx.balance(account_id, Bucket.AVAILABLE, BRL),
                                            tx.balance(account_id, Bucket.RECEIVABLE, BRL), tx.irrf_owed(account_id))
                if settled < amount_cents:
                    raise WalletError("INSUFFICIENT_FUNDS", f"available {brl(settled)}, "
                                      f"withdrawal {brl(amount_cents)}", 422)
                postings = move(BRL, amount_cents, mine, system(PIX))
                memo = f"PIX withdrawal {brl(amount_cents)}"
            stored = tx.post(JournalEntry(entry_key, account_id, kind, key, memo, postings, digest))
            return Transfer(stored, amount_cents, key), True

    def deposit(self, account_id: str, key: str, amount_cents: int) -> tuple[Transfer, bool]:
        return self._transfer("deposit", account_id, key, amount_cents)

    def withdraw(self, account_id: str, key: str, amount_cents: int) -> tuple[Transfer, bool]:
        return self._transfer("withdrawal", account_id, key, amount_cents)

    # --- reservations (the synchronous balance check of the orders service) -------------------------
    def _projected_ok(self, asset: str) -> bool:
        return self.policy.projected_cash if asset == BRL else self.policy.unsettled_shares

    def _hold(self, tx: WalletTx, r: Reservation, c: Change) -> list[Posting]:
        """Postings for a change of hold: increases come from settled AVAILABLE first, then (by policy) from
        projected credits in RECEIVABLE, and are refused beyond both; decreases go back where they came from."""
        me, asset = r.account_id, (BRL if r.side is Side.BUY else r.ticker)
        more = c.reserve_cents if r.side is Side.BUY else c.reserve_quantity
        less = c.release_cents if r.side is Side.BUY else c.release_quantity
        a, rcv, res = (me, Bucket.AVAILABLE), (me, Bucket.RECEIVABLE), (me, Bucket.RESERVED)
        out: list[Posting] = []
        if more:
            available, projected = tx.balance(me, Bucket.AVAILABLE, asset), tx.balance(me, Bucket.RECEIVABLE, asset)
            if asset == BRL:
                available, projected = spendable_cash(available, projected, tx.irrf_owed(me))
            projected = projected if self._projected_ok(asset) else 0
            if available + projected < more:
                what = "cash" if asset == BRL else f"{asset} shares"
                need = brl(more) if asset == BRL else str(more)
                have = brl(available) if asset == BRL else str(available)
                extra = (f" + projected {brl(projected) if asset == BRL else projected}" if projected else "")
                raise WalletError("INSUFFICIENT_FUNDS" if asset == BRL else "INSUFFICIENT_POSITION",
                                  f"the order needs {need} more {what}; available {have}{extra}", 422)
            from_available = min(more, available)
            out += move(asset, from_available, a, res)
            out += move(asset, more - from_available, rcv, res)
            r.pledged += more - from_available
        if less:
            back = min(less, r.pledged)
            r.pledged -= back
            out += move(asset, back, res, rcv)
            out += move(asset, less - back, res, a)
        return out

    def _post_hold(self, tx: WalletTx, r: Reservation, c: Change, kind: str, memo: str) -> None:
        postings = self._hold(tx, r, c)
        if postings:
            tx.post(JournalEntry(f"{kind}:{r.order_id}:{uuid.uuid4().hex}", r.account_id, kind, r.order_id,
                                 memo, tuple(postings)))
            if any(p.bucket is Bucket.RECEIVABLE and p.amount > 0 for p in postings):
                self._release_settled_credit(tx, r.account_id, BRL if r.side is Side.BUY else r.ticker)

    def _release_settled_credit(self, tx: WalletTx, account_id: str, asset: str, key: str = "") -> None:
        """RECEIVABLE never holds more than unsettled trades will still credit: the rest is settled, so it
        moves to AVAILABLE (a pledge given back after its credit settled, or a credit settling)."""
        excess = tx.balance(account_id, Bucket.RECEIVABLE, asset) - tx.unsettled_credit(account_id, asset)
        if excess > 0 or key:
            tx.post(JournalEntry(key or f"settled-credit:{account_id}:{uuid.uuid4().hex}", account_id,
                                 "settlement", asset, f"settled {asset}: {brl(excess) if asset == BRL else excess}",
                                 move(asset, max(excess, 0), (account_id, Bucket.RECEIVABLE),
                                      (account_id, Bucket.AVAILABLE))))

    def reserve(self, account_id: str, order_id: str, instrument: str, side: Side, quantity: int,
                price_cents: int, today: date) -> tuple[Reservation, bool]:
        try:
            r, change = rsv.new_reservation(account_id, order_id, instrument, side, quantity, price_cents, today)
        except ValueError as exc:
            raise WalletError("INVALID_TICKER", str(exc), 422) from exc
        with self.store.transaction() as tx:
            tx.lock_account(account_id, create=True)
            existing = tx.reservation(account_id, order_id)
            if existing is not None:
                if existing.request_hash != r.request_hash:
                    raise WalletError("DUPLICATE_RESERVATION",
                                      f"order {order_id} already has a different reservation", 409)
                return existing, False
            self._post_hold(tx, r, change, "reserve", f"{side} {quantity} {r.instrument} @ {brl(price_cents)}")
            tx.save_reservation(r)
            return r, True

    def _owned(self, tx: WalletTx, account_id: str, order_id: str) -> Reservation:
        tx.lock_account(account_id, create=True)
        r = tx.reservation(account_id, order_id)
        if r is None:
            raise WalletError("UNKNOWN_RESERVATION", f"no reservation for order {order_id}", 404)
        return r

    def replace(self, account_id: str, order_id: str, quantity: int, price_cents: int, seq: int) -> Reservation:
        """Before replace ``seq`` is sent: the hold widens to cover the new terms too; it narrows only on the
        engine's answer (``order.replaced`` / ``order.replace_rejected``)."""
        with self.store.transaction() as tx:
            r = self._owned(tx, account_id, order_id)
            if r.status is not ReservationStatus.ACTIVE:
                raise WalletError("RESERVATION_CLOSED", f"the reservation of order {order_id} is {r.status}", 409)
            try:
                change = rsv.widen_for_replace(r, quantity, price_cents, seq)
            except rsv.ReplacePending as exc:
                raise WalletError("REPLACE_PENDING", f"{exc}: try again once it is", 409) from exc
            self._post_hold(tx, r, change, "replace", f"replace pending: {quantity} {r.instrument} @ "
                            f"{brl(price_cents)}")
            tx.save_reservation(r)
            return r

    def release(self, account_id: str, order_id: str) -> Reservation:
        """The saga's compensation: the order never reached the store (so never the exchange). Refused once
        any event of the order was seen: a live order's hold ends only with the order's own events."""
        with self.store.transaction() as tx:
            r = self._owned(tx, account_id, order_id)
            if r.confirmed:
                raise WalletError("RESERVATION_IN_USE", f"order {order_id} is live: its hold ends with the order",
                                  409)
            change = rsv.release_all(r)
            self._post_hold(tx, r, change, "release", "reservation released")
            tx.save_reservation(r)
            return r

    def orphan_candidates(self, older_than: datetime, limit: int = 200) -> list[Reservation]:
        return self.store.orphan_candidates(older_than, limit)

    # --- order events (Kafka ``orders``) ---------------------------------------------------------------
    def apply_order_event(self, ev: OrderEvent) -> EventOutcome:
        try:
            with self.store.transaction() as tx:
                known = tx.lock_account(ev.account_id, create=False)
                if tx.event_seen(ev.event_id):
                    return EventOutcome.DUPLICATE
                r = tx.reservation(ev.account_id, ev.order_id) if known else None
                outcome = EventOutcome.UNKNOWN_ORDER if r is None else self._apply(tx, r, ev)
                tx.record_event(ev.event_id, ev.account_id, ev.order_id, ev.event_type.value, outcome.value)
                return outcome
        except FloorBreached as exc:  # rolled back: nothing moved; recorded so the partition goes on
            log.error("order event %s refused by the floor: %s", ev.event_id, exc)
            with self.store.transaction() as tx:
                tx.lock_account(ev.account_id, create=False)
                if tx.event_seen(ev.event_id):
                    return EventOutcome.DUPLICATE
                tx.record_event(ev.event_id, ev.account_id, ev.order_id, ev.event_type.value,
                                EventOutcome.FLOOR_REFUSED.value)
            return EventOutcome.FLOOR_REFUSED

    def _apply(self, tx: WalletTx, r: Reservation, ev: OrderEvent) -> EventOutcome:
        r.confirmed = True
        terminal = (ev.event_type in (OrderEventType.CANCELED, OrderEventType.EXPIRED, OrderEventType.REJECTED)
                    or ev.status in TERMINAL_STATUSES
                    or (ev.event_type is OrderEventType.FILLED and ev.leaves_quantity == 0))
        final = ev.cum_quantity if terminal else None
        if ev.event_type is OrderEventType.FILLED and ev.fill is not None:
            self._apply_fill(tx, r, ev, final)
        elif final is not None:
            self._post_hold(tx, r, rsv.end(r, final), "release", f"order {ev.event_type.value.split('.')[1]}")
        elif ev.event_type is OrderEventType.REPLACED:
            self._post_hold(tx, r, rsv.replace_accepted(r, ev.quantity, ev.price_cents, ev.replace_seq), "replace",
                            f"replace accepted: {ev.quantity} {r.instrument} @ {brl(ev.price_cents)}")
        elif ev.event_type is OrderEventType.REPLACE_REJECTED:
            self._post_hold(tx, r, rsv.replace_refused(r, ev.quantity, ev.price_cents, ev.replace_seq), "replace",
                            f"replace refused: {ev.reason or 'by the exchange'}")
        else:
            tx.save_reservation(r)
            return EventOutcome.IGNORED
        tx.save_reservation(r)
        return EventOutcome.APPLIED

    def _apply_fill(self, tx: WalletTx, r: Reservation, ev: OrderEvent, final: int | None) -> None:
        assert ev.fill is not None
        f, me = ev.fill, r.account_id
        value = f.quantity * f.price_cents
        effect = rsv.apply_fill(r, f.quantity, f.price_cents, f.fees_cents, final)
        r.pledged = min(r.pledged, r.reserved_cents if r.side is Side.BUY else r.reserved_quantity)
        postings = self._hold(tx, r, effect.release)
        gave_back = any(p.bucket is Bucket.RECEIVABLE and p.amount > 0 for p in postings)
        cost = tx.cost(me, r.ticker)
        if r.side is Side.BUY:
            postings += [Posting(me, Bucket.RESERVED, BRL, -effect.from_reserved),
                         Posting(me, Bucket.AVAILABLE, BRL, -effect.from_available),
                         Posting(me, Bucket.PAYABLE, BRL, value + f.fees_cents)]
            postings += move(r.ticker, f.quantity, system(CLEARING), (me, Bucket.RECEIVABLE))
            tx.save_cost(me, r.ticker, cost.buy(f.quantity, value, f.fees_cents))
        else:
            postings += [Posting(me, Bucket.RESERVED, r.ticker, -effect.from_reserved),
                         Posting(me, Bucket.AVAILABLE, r.ticker, -effect.from_available),
                         Posting(CLEARING, Bucket.MAIN, r.ticker, f.quantity),
                         Posting(CLEARING, Bucket.MAIN, BRL, -value),
                         Posting(B3_FEES, Bucket.MAIN, BRL, f.fees_cents),
                         Posting(me, Bucket.RECEIVABLE, BRL, value - f.fees_cents)]
            tx.save_cost(me, r.ticker, cost.sell(f.quantity))
        memo = f"{r.side} {f.quantity} {ev.instrument} @ {brl(f.price_cents)}, fees {brl(f.fees_cents)}"
        tx.post(JournalEntry(f"fill:{ev.event_id}", me, "fill", r.order_id, memo, tuple(postings)))
        trade_date = date.fromisoformat(ev.trade_date)
        tx.add_settlement(PendingSettlement(ev.event_id, me, r.order_id, r.side, r.ticker, f.quantity, value,
                                            f.fees_cents, trade_date, settlement_date(trade_date)))
        self._classify(tx, TradeClass(ev.event_id, me, r.order_id, r.ticker, trade_date, r.side, f.quantity,
                                      f.price_cents, f.fees_cents, 0, r.instrument))
        if gave_back:
            self._release_settled_credit(tx, me, BRL if r.side is Side.BUY else r.ticker)

    def _classify(self, tx: WalletTx, fill: TradeClass) -> None:
        """Day trade or swing, in the fill's transaction: matched against the investor's earlier fills of the
        same holding and trade date (the earlier ones' day-trade part grows with it). The day's IRRF is
        recomputed from all of that day's fills, to be withheld when they settle."""
        classified, grown = classify(tx.day_fills(fill.account_id, fill.ticker, fill.trade_date), fill)
        tx.add_trade_class(classified)
        for g in grown:
            tx.set_day_trade_quantity(g.id, g.day_trade_quantity)
        day = [t.for_tax(AssetKind.STOCK) for t in tx.day_fills(fill.account_id, None, fill.trade_date)]
        w = day_withholding(fill.trade_date, day, self.tax_rules)  # IRRF does not depend on the kind
        tx.save_withholding(DayWithholding(fill.account_id, fill.trade_date, settlement_date(fill.trade_date),
                                           w.swing_base_cents, w.swing_cents, w.day_trade_base_cents,
                                           w.day_trade_cents))

    def trades(self, account_id: str, start: date | None, end: date | None) -> list[TradeClass]:
        return self.store.trade_classes(account_id, start, end)

    # --- settlement (T+2) ------------------------------------------------------------------------------
    def settle_due(self, today: date, batch: int = 500) -> int:
        """Settle every trade due on or before ``today``: a buy's cash leaves PAYABLE for the clearing house;
        what a trade credits (a sale's cash, a buy's shares) moves from RECEIVABLE to AVAILABLE, less what a
        hold already pledged (delivered or paid with it). Idempotent."""
        done = 0
        while True:
            due = self.store.due_settlements(today, batch)
            for settlement_id, account_id in due:
                with self.store.transaction() as tx:
                    tx.lock_account(account_id, create=False)
                    item = tx.settlement(settlement_id)
                    if item is None or item.settled:
                        continue
                    tx.mark_settled(settlement_id)
                    if item.side is Side.BUY:
                        tx.post(self._payment_entry(item))
                    self._release_settled_credit(tx, account_id, item.ticker if item.side is Side.BUY else BRL,
                                                 key=f"settle:{item.source_key}")
                    done += 1
            if len(due) < batch:
                break
        self.withhold_due(today, batch)
        return done

    def withhold_due(self, today: date, batch: int = 500) -> int:
        """Withhold each trading day's IRRF from settled cash once that day's trades have settled (the sale
        proceeds are then available). Under the floor: if the investor has already spent them, nothing moves
        and the withholding waits for the next run. Idempotent."""
        withheld = 0
        for account_id, trade_date in self.store.due_withholdings(today, batch):
            try:
                with self.store.transaction() as tx:
                    tx.lock_account(account_id, create=False)
                    w = tx.withholding(account_id, trade_date)
                    if w is None or not w.owed_cents or w.settle_date > today:
                        continue
                    memo = (f"IRRF {trade_date.isoformat()}: {brl(w.swing_cents)} on sales of "
                            f"{brl(w.swing_base_cents)}, {brl(w.day_trade_cents)} on a day-trade gain of "
                            f"{brl(w.day_trade_base_cents)}")
                    key = f"irrf:{account_id}:{trade_date.isoformat()}"
                    if w.withheld_cents:  # a fill that arrived after the day was withheld: the difference
                        key, memo = f"{key}:{w.revision}", f"{memo} (adjusted: {brl(w.withheld_cents)} withheld before)"
                    tx.post(JournalEntry(key, account_id, "irrf", trade_date.isoformat(), memo,
                                         (Posting(account_id, Bucket.AVAILABLE, BRL, -w.owed_cents),
                                          Posting(IRRF, Bucket.MAIN, BRL, w.owed_cents))))
                    tx.mark_withheld(account_id, trade_date, w.total_cents)
                    withheld += 1
            except FloorBreached:
                log.warning("IRRF of %s on %s waits: settled cash is short", account_id, trade_date)
        return withheld

    @staticmethod
    def _payment_entry(s: PendingSettlement) -> JournalEntry:
        me = s.account_id
        postings = [Posting(me, Bucket.PAYABLE, BRL, -(s.value_cents + s.fees_cents)),
                    Posting(CLEARING, Bucket.MAIN, BRL, s.value_cents),
                    Posting(B3_FEES, Bucket.MAIN, BRL, s.fees_cents)]
        memo = f"settlement {s.settle_date.isoformat()}: {s.side} {s.quantity} {s.ticker} of {s.trade_date.isoformat()}"
        return JournalEntry(f"pay:{s.source_key}", me, "settlement", s.order_id, memo, tuple(postings))

    # --- invariants ------------------------------------------------------------------------------------
    def reconcile(self, account_id: str | None = None) -> list[Problem]:
        return reconcile(self.store.ledger_totals(), self.store.user_balances(account_id),
                         self.store.user_balances_from_postings(account_id),
                         self.store.held_by_reservations(account_id))

"""Double-entry bookkeeping: accounts, buckets, postings and balanced journal entries.

An *account* is a user (the Cognito ``sub``) or a system account (``system:*``). Each account holds
*buckets* per *asset*: ``BRL`` (cents) or a base ticker (shares). Every movement is a journal entry whose
postings sum to zero per asset, so money and shares are never created, only moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

BRL = "BRL"

# system accounts: the other side of every movement
PIX = "system:pix"  # the outside world: simulated PIX transfers in and out
CLEARING = "system:clearing"  # B3's clearing house: the counterparty of every trade
B3_FEES = "system:b3-fees"  # B3 trading + settlement fees charged to investors
IRRF = "system:irrf"  # income tax withheld at source ("dedo-duro"), owed to Receita Federal
SYSTEM_ACCOUNTS = (PIX, CLEARING, B3_FEES, IRRF)


class Bucket(StrEnum):
    MAIN = "main"  # system accounts have only this one
    AVAILABLE = "available"  # cash or shares free to use
    RESERVED = "reserved"  # held for an open order
    RECEIVABLE = "receivable"  # cash from a sale, or shares from a buy, arriving at settlement (T+2)
    PAYABLE = "payable"  # cash committed to a buy, leaving at settlement (T+2)


class UnbalancedEntry(ValueError):
    pass


class FloorBreached(Exception):
    """A posting would take a user's bucket below zero: the whole transaction is refused (rolled back)."""

    def __init__(self, account_id: str, bucket: Bucket, asset: str, amount: int) -> None:
        super().__init__(f"{account_id} {bucket} {asset}: {amount:+d} would go below zero")
        self.account_id, self.bucket, self.asset, self.amount = account_id, bucket, asset, amount


@dataclass(frozen=True)
class Posting:
    account_id: str
    bucket: Bucket
    asset: str  # BRL or a base ticker
    amount: int  # cents or shares; positive = the account holds more


@dataclass(frozen=True)
class JournalEntry:
    key: str  # unique: the idempotency key of the movement
    account_id: str  # the user the entry concerns (their statement shows it)
    kind: str
    ref: str  # an order id, an idempotency key, a settlement id
    memo: str
    postings: tuple[Posting, ...]
    request_hash: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(p for p in self.postings if p.amount != 0))
        unbalanced = {a: s for a, s in sums_per_asset(self.postings).items() if s != 0}
        if unbalanced:
            raise UnbalancedEntry(f"entry {self.key} does not balance: {unbalanced}")


def sums_per_asset(postings: Iterable[Posting]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for p in postings:
        out[p.asset] += p.amount
    return dict(out)


def move(asset: str, amount: int, src: tuple[str, Bucket], dst: tuple[str, Bucket]) -> tuple[Posting, Posting]:
    """``amount`` of ``asset`` leaves ``src`` and enters ``dst`` (two postings that balance)."""
    return Posting(src[0], src[1], asset, -amount), Posting(dst[0], dst[1], asset, amount)


def system(account: str) -> tuple[str, Bucket]:
    return account, Bucket.MAIN


BalanceKey = tuple[str, Bucket, str]  # (account, bucket, asset)


@dataclass(frozen=True)
class Problem:
    what: str
    detail: str


def reconcile(totals_per_asset: Mapping[str, int], user_balances: Mapping[BalanceKey, int],
              user_balances_from_postings: Mapping[BalanceKey, int],
              held_by_reservations: Mapping[BalanceKey, int]) -> list[Problem]:
    """The ledger's invariants: every asset sums to zero over all accounts; the stored balances equal the
    sum of their postings; no user balance is negative; the reserved buckets hold exactly what the open
    reservations say."""
    problems = [Problem("UNBALANCED_ASSET", f"{asset} sums to {total}")
                for asset, total in sorted(totals_per_asset.items()) if total != 0]
    for key in sorted(set(user_balances) | set(user_balances_from_postings)):
        stored, posted = user_balances.get(key, 0), user_balances_from_postings.get(key, 0)
        if stored != posted:
            problems.append(Problem("BALANCE_MISMATCH", f"{key}: stored {stored}, postings {posted}"))
        if key[1] in (Bucket.AVAILABLE, Bucket.RESERVED, Bucket.PAYABLE, Bucket.RECEIVABLE) and stored < 0:
            problems.append(Problem("NEGATIVE_BALANCE", f"{key}: {stored}"))
    reserved = {k: v for k, v in user_balances.items() if k[1] is Bucket.RESERVED and v}
    for key in sorted(set(reserved) | set(held_by_reservations)):
        if reserved.get(key, 0) != held_by_reservations.get(key, 0):
            problems.append(Problem("RESERVATION_MISMATCH", f"{key}: bucket {reserved.get(key, 0)}, "
                                    f"reservations {held_by_reservations.get(key, 0)}"))
    return problems


def spendable_cash(available: int, receivable: int, irrf_owed: int) -> tuple[int, int]:
    """(settled, projected) cash a withdrawal or a buy may use: the IRRF computed on the investor's trades and
    not withheld yet is taken when they settle, from the credits they bring (RECEIVABLE) and, past those, from
    settled cash; neither part may be spent first, or the withholding would find nothing there."""
    owed = max(0, irrf_owed)
    return max(0, available - max(0, owed - receivable)), receivable - min(owed, receivable)

"""Channels and the isolation rule.

What a client names (``quotes:PETR4``, ``orders``) is not what is stored: the caller's own channels are
stored with the caller's account (``orders:<sub>``), so a connection subscribes only ever to its own user's
events, whatever it sends. A client naming ``orders:<anything>`` or ``wallet:<anything>`` is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from mybroker.contracts.quotes import TICKER_PATTERN

MarketKind = Literal["quotes", "book", "trades"]
MARKET_KINDS: Final[tuple[MarketKind, ...]] = ("quotes", "book", "trades")
PRIVATE_KINDS: Final = ("orders", "wallet")
_TICKER = re.compile(TICKER_PATTERN)
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.@:-]{1,128}$")


class ChannelError(ValueError):
    def __init__(self, code: Literal["INVALID_CHANNEL", "FORBIDDEN_CHANNEL"], channel: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.channel = channel


@dataclass(frozen=True)
class Channel:
    """``name`` is what the client sees; ``key`` is what the store keeps (private channels carry the account)."""

    name: str
    key: str


def resolve(name: str, account_id: str) -> Channel:
    """The channel a caller (``account_id``: the token's ``sub``) means by ``name``, or ``ChannelError``."""
    if not isinstance(name, str) or len(name) > 64:
        raise ChannelError("INVALID_CHANNEL", str(name)[:64], "a channel is a string of at most 64 characters")
    if not _ACCOUNT.match(account_id):
        raise ValueError("not an account id")
    kind, sep, rest = name.partition(":")
    if kind in PRIVATE_KINDS:
        if sep:
            raise ChannelError("FORBIDDEN_CHANNEL", name,
                               f"{kind} is always your own: subscribe to {kind!r}, without an account")
        return Channel(kind, private_key(kind, account_id))
    if kind in MARKET_KINDS:
        if not sep or not _TICKER.match(rest):
            raise ChannelError("INVALID_CHANNEL", name, f"{kind}:<TICKER>, the ticker upper case (e.g. PETR4)")
        return Channel(name, name)
    raise ChannelError("INVALID_CHANNEL", name,
                       "channels: quotes:<TICKER>, book:<TICKER>, trades:<TICKER>, orders, wallet")


def private_key(kind: str, account_id: str) -> str:
    return f"{kind}:{account_id}"


def market_key(kind: MarketKind, ticker: str) -> str:
    return f"{kind}:{ticker}"


def client_name(key: str) -> str:
    """What a client sees for a stored key: ``orders:<sub>`` is shown to its owner as ``orders``."""
    kind = key.partition(":")[0]
    return kind if kind in PRIVATE_KINDS else key

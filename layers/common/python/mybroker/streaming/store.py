"""The connection and subscription store's interface, and an in-memory implementation (tests, one process).

A connection belongs to one account. Subscriptions are kept both ways: channel → connections (what the
pusher reads for every event) and connection → channels (what ``$disconnect`` and a gone connection clear).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Connection:
    connection_id: str
    account_id: str
    connected_at_ms: int


class TooManyChannels(ValueError):
    pass


class SubscriptionStore(Protocol):
    def add_connection(self, connection: Connection) -> None: ...

    def connection(self, connection_id: str) -> Connection | None: ...

    def remove_connection(self, connection_id: str) -> None:
        """Forgets the connection and every subscription it had (idempotent)."""

    def subscribe(self, connection_id: str, keys: Iterable[str], limit: int) -> None:
        """Adds the channels; ``TooManyChannels`` (nothing added) when the connection would pass ``limit``."""

    def unsubscribe(self, connection_id: str, keys: Iterable[str]) -> None: ...

    def channels(self, connection_id: str) -> set[str]: ...

    def subscribers(self, keys: Iterable[str]) -> Mapping[str, set[str]]:
        """Each channel key's connection ids (channels without any are left out)."""


class MemoryStore:
    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self._by_connection: dict[str, set[str]] = {}
        self._by_channel: dict[str, set[str]] = {}

    def add_connection(self, connection: Connection) -> None:
        self._connections[connection.connection_id] = connection
        self._by_connection.setdefault(connection.connection_id, set())

    def connection(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def remove_connection(self, connection_id: str) -> None:
        self.unsubscribe(connection_id, list(self._by_connection.get(connection_id, ())))
        self._connections.pop(connection_id, None)
        self._by_connection.pop(connection_id, None)

    def subscribe(self, connection_id: str, keys: Iterable[str], limit: int) -> None:
        current = self._by_connection.setdefault(connection_id, set())
        wanted = set(keys)
        if len(current | wanted) > limit:
            raise TooManyChannels(f"at most {limit} channels per connection")
        current |= wanted
        for key in wanted:
            self._by_channel.setdefault(key, set()).add(connection_id)

    def unsubscribe(self, connection_id: str, keys: Iterable[str]) -> None:
        current = self._by_connection.get(connection_id, set())
        for key in set(keys):
            current.discard(key)
            members = self._by_channel.get(key)
            if members is not None:
                members.discard(connection_id)
                if not members:
                    del self._by_channel[key]

    def channels(self, connection_id: str) -> set[str]:
        return set(self._by_connection.get(connection_id, ()))

    def subscribers(self, keys: Iterable[str]) -> Mapping[str, set[str]]:
        return {k: set(self._by_channel[k]) for k in set(keys) if self._by_channel.get(k)}

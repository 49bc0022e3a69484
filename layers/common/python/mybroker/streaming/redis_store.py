"""The subscription store in Redis (the host's Redis on AWS, the local one here): fits Free Tier, and the
pusher reads a channel's connections with one round trip per batch.

Keys (prefix ``ws:`` by default): ``conn:<id>`` (hash: account, connected at), ``conn:<id>:ch`` (the
connection's channel keys) and ``ch:<channel key>`` (the channel's connection ids). A connection's own keys
expire 2 h 10 min after it connected (API Gateway closes a connection at 2 h), so one whose ``$disconnect``
never ran does not live on; a channel set loses such a connection when a post to it answers gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mybroker.streaming.store import Connection, TooManyChannels

CONNECTION_TTL_S = 2 * 3600 + 600

# KEYS[1] = the connection's channel set; ARGV = limit, connection id, channel prefix, channel keys...
_SUBSCRIBE = """
local wanted = {}
for i = 4, #ARGV do wanted[#wanted + 1] = ARGV[i] end
local new = 0
for _, key in ipairs(wanted) do
  if redis.call('SISMEMBER', KEYS[1], key) == 0 then new = new + 1 end
end
if redis.call('SCARD', KEYS[1]) + new > tonumber(ARGV[1]) then return 0 end
for _, key in ipairs(wanted) do
  redis.call('SADD', KEYS[1], key)
  redis.call('SADD', ARGV[3] .. key, ARGV[2])
end
return 1
"""


class RedisStore:
    def __init__(self, redis: Any, prefix: str = "ws:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._subscribe = redis.register_script(_SUBSCRIBE)

    def _conn(self, connection_id: str) -> str:
        return f"{self.prefix}conn:{connection_id}"

    def _conn_channels(self, connection_id: str) -> str:
        return f"{self.prefix}conn:{connection_id}:ch"

    def _channel(self, key: str) -> str:
        return f"{self.prefix}ch:{key}"

    def add_connection(self, connection: Connection) -> None:
        pipe = self.redis.pipeline(transaction=True)
        key = self._conn(connection.connection_id)
        pipe.hset(key, mapping={"account_id": connection.account_id,
                                "connected_at_ms": str(connection.connected_at_ms)})
        pipe.expire(key, CONNECTION_TTL_S)
        pipe.execute()

    def connection(self, connection_id: str) -> Connection | None:
        raw = self.redis.hgetall(self._conn(connection_id))
        if not raw:
            return None
        values = {_text(k): _text(v) for k, v in raw.items()}
        return Connection(connection_id, values["account_id"], int(values.get("connected_at_ms", "0")))

    def remove_connection(self, connection_id: str) -> None:
        keys = self.channels(connection_id)
        pipe = self.redis.pipeline(transaction=True)
        for key in keys:
            pipe.srem(self._channel(key), connection_id)
        pipe.delete(self._conn(connection_id), self._conn_channels(connection_id))
        pipe.execute()

    def subscribe(self, connection_id: str, keys: Iterable[str], limit: int) -> None:
        wanted = sorted(set(keys))
        if not wanted:
            return
        ok = self._subscribe(keys=[self._conn_channels(connection_id)],
                             args=[limit, connection_id, f"{self.prefix}ch:", *wanted])
        if not ok:
            raise TooManyChannels(f"at most {limit} channels per connection")
        ttl = self.redis.ttl(self._conn(connection_id))
        self.redis.expire(self._conn_channels(connection_id), ttl if ttl and ttl > 0 else CONNECTION_TTL_S)

    def unsubscribe(self, connection_id: str, keys: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for key in set(keys):
            pipe.srem(self._conn_channels(connection_id), key)
            pipe.srem(self._channel(key), connection_id)
        pipe.execute()

    def channels(self, connection_id: str) -> set[str]:
        return {_text(k) for k in self.redis.smembers(self._conn_channels(connection_id))}

    def subscribers(self, keys: Iterable[str]) -> Mapping[str, set[str]]:
        ordered = sorted(set(keys))
        if not ordered:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for key in ordered:
            pipe.smembers(self._channel(key))
        return {key: {_text(c) for c in members} for key, members in zip(ordered, pipe.execute(), strict=True)
                if members}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

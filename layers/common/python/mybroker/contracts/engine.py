"""Messages between the broker (orders) and the exchange (engine_service) on RabbitMQ. Version 1.

Broker → engine: exchange ``engine.input``, routing key ``order.<INSTRUMENT>`` (so instruments can be
split across engine processes), body = one :class:`EngineCommand` as JSON, ``message_id`` = the command's
``command_id`` (the engine ignores a command id it has already journaled).

Engine → broker: exchange ``engine.output``, routing key ``execution-report.<INSTRUMENT>``, body = one
:class:`ExecutionReportMessage` as JSON, ``message_id`` = ``<instrument>:<exec_id>``. Exec ids are the
instrument's output sequence numbers, the same on every replay, so a report published twice (after an
engine crash) is recognised downstream by ``(instrument, exec_id)``.

Order identity: the broker's order id is the engine's ``client_order_id`` on NEW; a replace carries a new
client order id ``<order_id>~<n>`` (B3 gives every replace a new client order id). :func:`broker_order_id`
recovers the broker's order id from any of them.

Prices are integer cents, quantities integer shares. Unknown fields are ignored; unknown versions refused.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = 1
REPLACE_SEPARATOR = "~"
DEAD_LETTER_EXCHANGE = "dead-letter"  # every queue's poison messages: routing key "<queue>.dlq"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    MARKET_WITH_LEFTOVER_AS_LIMIT = "MARKET_WITH_LEFTOVER_AS_LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
    FOK = "FOK"
    GTC = "GTC"
    GTD = "GTD"
    AT_THE_CLOSE = "AT_THE_CLOSE"
    GOOD_FOR_AUCTION = "GOOD_FOR_AUCTION"


class SelfTradePrevention(StrEnum):
    NONE = "NONE"
    CANCEL_AGGRESSOR = "CANCEL_AGGRESSOR"
    CANCEL_RESTING = "CANCEL_RESTING"
    CANCEL_BOTH = "CANCEL_BOTH"


class ExecType(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    TRIGGERED = "TRIGGERED"


TERMINAL_EXEC_TYPES = frozenset({ExecType.FILLED, ExecType.CANCELED, ExecType.REJECTED, ExecType.EXPIRED})

Cents = Annotated[int, Field(ge=0)]
Shares = Annotated[int, Field(gt=0)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_version: Literal[1] = SCHEMA_VERSION


class NewOrderCommand(_Message):
    type: Literal["NEW_ORDER"] = "NEW_ORDER"
    command_id: str
    instrument: str
    client_order_id: str
    investor_id: str  # the broker account: self-trade prevention is keyed on it
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Shares
    price_cents: Cents = 0  # the limit of LIMIT and STOP_LIMIT
    stop_price_cents: Cents = 0  # the trigger of STOP and STOP_LIMIT (last trade price)
    protection_price_cents: Cents = 0  # bounds MARKET and STOP; 0 = the rejection-tunnel limit
    display_quantity: int = 0  # > 0: an iceberg showing this much
    min_quantity: int = 0
    expire_date: date | None = None  # GTD
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.CANCEL_AGGRESSOR


class CancelOrderCommand(_Message):
    type: Literal["CANCEL_ORDER"] = "CANCEL_ORDER"
    command_id: str
    instrument: str
    client_order_id: str  # the order's current client order id


class ReplaceOrderCommand(_Message):
    type: Literal["REPLACE_ORDER"] = "REPLACE_ORDER"
    command_id: str
    instrument: str
    orig_client_order_id: str
    client_order_id: str  # new: "<order_id>~<n>"
    quantity: Shares  # the new total quantity, filled shares included
    price_cents: Cents = 0  # 0 keeps the limit
    stop_price_cents: Cents = 0  # 0 keeps the stop


EngineCommand = Annotated[NewOrderCommand | CancelOrderCommand | ReplaceOrderCommand, Field(discriminator="type")]


class EngineCommandEnvelope(BaseModel):
    command: EngineCommand


def parse_command(raw: bytes | str) -> NewOrderCommand | CancelOrderCommand | ReplaceOrderCommand:
    """Raises pydantic.ValidationError on anything that is not a v1 command."""
    return EngineCommandEnvelope.model_validate_json(
        b'{"command":' + (raw.encode() if isinstance(raw, str) else raw) + b"}").command


class ExecutionReportMessage(_Message):
    exec_id: int  # the instrument's output sequence number
    instrument: str
    exec_type: ExecType
    engine_order_id: int
    client_order_id: str
    orig_client_order_id: str = ""
    investor_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price_cents: int
    order_quantity: int
    cum_quantity: int
    leaves_quantity: int
    avg_price_cents: int
    last_price_cents: int = 0
    last_quantity: int = 0
    trade_id: int = 0
    reason: str = ""
    transact_time_ns: int

    @property
    def message_id(self) -> str:
        return f"{self.instrument}:{self.exec_id}"

    @property
    def order_id(self) -> str:
        return broker_order_id(self.client_order_id)


def replace_client_order_id(order_id: str, n: int) -> str:
    return f"{order_id}{REPLACE_SEPARATOR}{n}"


def broker_order_id(client_order_id: str) -> str:
    return client_order_id.split(REPLACE_SEPARATOR, 1)[0]


def replace_seq_of(client_order_id: str) -> int:
    """n of ``<order_id>~n`` (the order's n-th replace); 0 for the order's own id."""
    _, sep, n = client_order_id.partition(REPLACE_SEPARATOR)
    return int(n) if sep and n.isdigit() else 0


def command_routing_key(instrument: str) -> str:
    return f"order.{instrument}"


def report_routing_key(instrument: str) -> str:
    return f"execution-report.{instrument}"

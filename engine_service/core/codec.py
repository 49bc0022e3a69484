"""Byte-exact encoding of engine records: compact JSON arrays, no spaces, ASCII only.

Every record is a NamedTuple of str/int fields whose first output field is its kind, so
``encode_outputs(outputs)`` is a pure function of the records: equal records, equal bytes.
Inputs are encoded with their type name first, for journaling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from engine_service.core.records import (
    OUTPUT_TYPES,
    CancelOrder,
    CatalogUpdate,
    ClockTick,
    Halt,
    Input,
    NewOrder,
    Output,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
)

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, check_circular=False)
_encode = _encoder.encode

INPUT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (NewOrder, CancelOrder, ReplaceOrder, ClockTick, SetReferencePrice, Halt, Resume, CatalogUpdate)
}


def encode_output(record: Output) -> bytes:
    return _encode(record).encode()


def encode_outputs(records: Iterable[Output]) -> bytes:
    """One JSON array per line."""
    return "".join([_encode(r) + "\n" for r in records]).encode()


def decode_output(data: bytes | str) -> Output:
    values = json.loads(data)
    record: Output = OUTPUT_TYPES[values[0]](*values)  # type: ignore[assignment]
    return record


def encode_input(msg: Input) -> bytes:
    return _encode([type(msg).__name__, *msg]).encode()


def decode_input(data: bytes | str) -> Input:
    values = json.loads(data)
    msg: Input = INPUT_TYPES[values[0]](*values[1:])
    return msg

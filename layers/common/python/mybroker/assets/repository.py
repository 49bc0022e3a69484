"""The catalog's storage: a small interface, and its MySQL implementation (SQLAlchemy Core). A change and the
outbox rows of its events are written in one transaction (:mod:`mybroker.outbox`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, or_, select, update
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.exc import IntegrityError

from mybroker.assets.catalog import Instrument, InstrumentKind, InstrumentStatus
from mybroker.outbox import OutboxMessage, add_outbox, mark_sent, outbox_table, unsent

DUPLICATE_KEY = 1062  # MySQL ER_DUP_ENTRY

metadata = MetaData()
instruments = Table(
    "instruments", metadata,
    Column("ticker", String(12), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("isin", String(12), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("round_lot", Integer, nullable=False),
    Column("tick_size_cents", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("rejection_tunnel_pct", Integer, nullable=False),
    Column("auction_tunnel_pct", Integer, nullable=False),
)
outbox = outbox_table(metadata)


class DuplicateInstrument(Exception):
    """An instrument with this ticker or ISIN already exists (``field`` says which)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class Catalog(Protocol):
    def get(self, ticker: str) -> Instrument | None: ...

    def search(self, text: str | None, kind: InstrumentKind | None, status: InstrumentStatus | None,
               limit: int, offset: int) -> tuple[list[Instrument], int]: ...

    def upsert(self, instrument: Instrument) -> None:
        """Insert or overwrite, with no event (the demo seed)."""

    def create(self, instrument: Instrument, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """Inserts a new instrument and its outbox rows in one transaction; raises DuplicateInstrument."""
        ...

    def update(self, instrument: Instrument, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """Overwrites an instrument and inserts its outbox rows in one transaction."""
        ...

    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]: ...

    def mark_sent(self, outbox_ids: Sequence[int]) -> None: ...


def _row(r: object) -> Instrument:
    return Instrument.model_validate(r, from_attributes=True)


class MySqlCatalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, ticker: str) -> Instrument | None:
        with self.engine.connect() as c:
            row = c.execute(select(instruments).where(instruments.c.ticker == ticker)).first()
        return _row(row) if row else None

    def search(self, text: str | None, kind: InstrumentKind | None, status: InstrumentStatus | None,
               limit: int, offset: int) -> tuple[list[Instrument], int]:
        q = select(instruments)
        if text:
            like = f"%{text}%"
            q = q.where(or_(instruments.c.ticker.like(like), instruments.c.name.like(like)))
        if kind is not None:
            q = q.where(instruments.c.kind == kind.value)
        if status is not None:
            q = q.where(instruments.c.status == status.value)
        with self.engine.connect() as c:
            total = c.execute(select(func.count()).select_from(q.subquery())).scalar_one()
            rows = c.execute(q.order_by(instruments.c.ticker).limit(limit).offset(offset)).all()
        return [_row(r) for r in rows], int(total)

    def upsert(self, instrument: Instrument) -> None:
        values = instrument.model_dump(mode="json")
        stmt = insert(instruments).values(**values)
        stmt = stmt.on_duplicate_key_update({k: stmt.inserted[k] for k in values if k != "ticker"})
        with self.engine.begin() as c:
            c.execute(stmt)

    def create(self, instrument: Instrument, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        if self.get(instrument.ticker) is not None:
            raise DuplicateInstrument("ticker")
        try:
            with self.engine.begin() as c:
                c.execute(instruments.insert().values(**instrument.model_dump(mode="json")))
                return add_outbox(c, outbox, messages)
        except IntegrityError as exc:
            if exc.orig is None or not exc.orig.args or exc.orig.args[0] != DUPLICATE_KEY:
                raise
            raise DuplicateInstrument("ticker" if self.get(instrument.ticker) is not None else "isin") from None

    def update(self, instrument: Instrument, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        values = instrument.model_dump(mode="json")
        with self.engine.begin() as c:
            c.execute(update(instruments).where(instruments.c.ticker == instrument.ticker).values(
                **{k: v for k, v in values.items() if k != "ticker"}))
            return add_outbox(c, outbox, messages)

    # --- the outbox --------------------------------------------------------------------------------
    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]:
        return unsent(self.engine, outbox, limit, older_than)

    def mark_sent(self, outbox_ids: Sequence[int]) -> None:
        mark_sent(self.engine, outbox, outbox_ids)

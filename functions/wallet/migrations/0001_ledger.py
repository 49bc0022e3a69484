"""The wallet's double-entry ledger: accounts, journal entries and postings, balances per bucket, order
reservations, average cost per position, pending settlements and the processed-event log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

BIG = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(191), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(191), nullable=False),
        sa.Column("memo", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Index("ix_entries_account", "account_id", "id"),
    )
    op.create_table(
        "postings",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("entry_id", BIG, sa.ForeignKey("journal_entries.id"), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("asset", sa.String(12), nullable=False),
        sa.Column("amount", BIG, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Index("ix_postings_account", "account_id", "created_at", "id"),
    )
    op.create_table(
        "balances",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.String(16), primary_key=True),
        sa.Column("asset", sa.String(12), primary_key=True),
        sa.Column("amount", BIG, nullable=False),
    )
    op.create_table(
        "reservations",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("instrument", sa.String(12), nullable=False),
        sa.Column("ticker", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", BIG, nullable=False),
        sa.Column("price_cents", BIG, nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.Column("reserved_cents", BIG, nullable=False),
        sa.Column("reserved_quantity", BIG, nullable=False),
        sa.Column("filled_quantity", BIG, nullable=False),
        sa.Column("final_quantity", BIG, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_table(
        "positions",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("ticker", sa.String(12), primary_key=True),
        sa.Column("quantity", BIG, nullable=False),
        sa.Column("cost_cents", BIG, nullable=False),
    )
    op.create_table(
        "settlements",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("source_key", sa.String(191), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("ticker", sa.String(12), nullable=False),
        sa.Column("quantity", BIG, nullable=False),
        sa.Column("value_cents", BIG, nullable=False),
        sa.Column("fees_cents", BIG, nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.Column("settle_date", sa.Date, nullable=False),
        sa.Column("settled", sa.Boolean, nullable=False),
        sa.Index("ix_settlements_due", "settled", "settle_date"),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(191), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=False), nullable=False),
    )


def downgrade() -> None:
    for t in ("processed_events", "settlements", "positions", "reservations", "balances", "postings",
              "journal_entries", "accounts"):
        op.drop_table(t)

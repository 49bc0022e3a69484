"""Orders, their fills, the execution reports applied (dedupe) and the transactional outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(12), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(32), nullable=False),
        sa.Column("time_in_force", sa.String(20), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("stop_price_cents", sa.BigInteger, nullable=False),
        sa.Column("protection_price_cents", sa.BigInteger, nullable=False),
        sa.Column("display_quantity", sa.BigInteger, nullable=False),
        sa.Column("min_quantity", sa.BigInteger, nullable=False),
        sa.Column("expire_date", sa.Date, nullable=True),
        sa.Column("self_trade_prevention", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cum_quantity", sa.BigInteger, nullable=False),
        sa.Column("leaves_quantity", sa.BigInteger, nullable=False),
        sa.Column("avg_price_cents", sa.BigInteger, nullable=False),
        sa.Column("filled_quantity", sa.BigInteger, nullable=False),
        sa.Column("filled_value_cents", sa.BigInteger, nullable=False),
        sa.Column("engine_client_order_id", sa.String(80), nullable=False),
        sa.Column("replace_seq", sa.Integer, nullable=False),
        sa.Column("event_seq", sa.Integer, nullable=False),
        sa.Column("last_exec_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_account_created", "orders", ["account_id", "created_at"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "execution_reports",
        sa.Column("instrument", sa.String(12), primary_key=True),
        sa.Column("exec_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("exec_type", sa.String(20), nullable=False),
        sa.Column("received_at", mysql.DATETIME(fsp=6), nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("instrument", sa.String(12), primary_key=True),
        sa.Column("exec_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.String(36), nullable=False, index=True),
        sa.Column("trade_id", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("fees_cents", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", mysql.DATETIME(fsp=6), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(10), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("msg_key", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary(length=2**24 - 1), nullable=False),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("sent_at", mysql.DATETIME(fsp=6), nullable=True),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("fills")
    op.drop_table("execution_reports")
    op.drop_table("orders")

"""Day trade or swing per fill: each fill of an investor's holding on a trade date, in arrival order, with how
many of its shares matched the other side the same day (day trade); the rest is swing. Written in the fill's
transaction; fees and the income-tax report read it per fill and per day.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

BIG = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "trade_classes",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("source_key", sa.String(191), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("ticker", sa.String(12), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", BIG, nullable=False),
        sa.Column("price_cents", BIG, nullable=False),
        sa.Column("fees_cents", BIG, nullable=False),
        sa.Column("day_trade_quantity", BIG, nullable=False),
        sa.Index("ix_trade_classes_day", "account_id", "trade_date", "ticker"),
    )


def downgrade() -> None:
    op.drop_table("trade_classes")

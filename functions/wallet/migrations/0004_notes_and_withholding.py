"""Brokerage notes and IRRF: each classified fill keeps the instrument as traded (the note's market: round
lot or fractional); the IRRF of each investor's trading day, recomputed in every fill's transaction and
withheld from settled cash by the settlement run of that day's trades.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

BIG = sa.BigInteger


def upgrade() -> None:
    op.add_column("trade_classes", sa.Column("instrument", sa.String(12), nullable=False, server_default=""))
    op.execute("UPDATE trade_classes SET instrument = ticker WHERE instrument = ''")
    op.create_table(
        "withholdings",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("trade_date", sa.Date, primary_key=True),
        sa.Column("settle_date", sa.Date, nullable=False),
        sa.Column("swing_base_cents", BIG, nullable=False),
        sa.Column("swing_cents", BIG, nullable=False),
        sa.Column("day_trade_base_cents", BIG, nullable=False),
        sa.Column("day_trade_cents", BIG, nullable=False),
        sa.Column("withheld", sa.Boolean, nullable=False),
        sa.Index("ix_withholdings_due", "withheld", "settle_date"),
    )


def downgrade() -> None:
    op.drop_table("withholdings")
    op.drop_column("trade_classes", "instrument")

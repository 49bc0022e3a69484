"""IRRF adjustments: a withholding remembers how much was taken, so a fill that arrives after its day was
withheld owes (or gives back) the difference instead of stopping the order-events partition; ``revision``
keys each adjustment's ledger entry.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("withholdings", sa.Column("withheld_cents", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("withholdings", sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE withholdings SET withheld_cents = swing_cents + day_trade_cents WHERE withheld")


def downgrade() -> None:
    op.drop_column("withholdings", "revision")
    op.drop_column("withholdings", "withheld_cents")

"""Holds follow the exchange: a replace's terms wait on the reservation until the engine answers; a hold
may draw on projected credits (unsettled sale proceeds, unsettled bought shares), and remembers how much;
a reservation whose order produced an event is confirmed (only the order's events may end it).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("reservations", sa.Column("pending_quantity", sa.BigInteger, nullable=True))
    op.add_column("reservations", sa.Column("pending_price_cents", sa.BigInteger, nullable=True))
    op.add_column("reservations", sa.Column("pledged", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("reservations", sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_reservations_orphans", "reservations", ["confirmed", "status", "created_at"])
    op.create_index("ix_settlements_account_open", "settlements", ["account_id", "settled", "ticker"])


def downgrade() -> None:
    op.drop_index("ix_settlements_account_open", "settlements")
    op.drop_index("ix_reservations_orphans", "reservations")
    for column in ("confirmed", "pledged", "pending_price_cents", "pending_quantity"):
        op.drop_column("reservations", column)

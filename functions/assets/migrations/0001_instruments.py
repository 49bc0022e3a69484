"""The instrument catalog.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("ticker", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("isin", sa.String(12), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("round_lot", sa.Integer, nullable=False),
        sa.Column("tick_size_cents", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rejection_tunnel_pct", sa.Integer, nullable=False),
        sa.Column("auction_tunnel_pct", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("instruments")

"""Numbered replaces: a reservation remembers which replace its pending terms and its standing terms belong
to, so the engine's answer to one replace never clears another's hold, and a late answer never overwrites
newer terms.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("reservations", sa.Column("pending_seq", sa.Integer, nullable=False, server_default="0"))
    op.add_column("reservations", sa.Column("replace_seq", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("reservations", "replace_seq")
    op.drop_column("reservations", "pending_seq")

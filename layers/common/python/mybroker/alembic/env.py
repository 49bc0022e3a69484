"""Alembic environment shared by every service; each service keeps only its own versions folder."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

url = context.config.attributes["url"]
connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()

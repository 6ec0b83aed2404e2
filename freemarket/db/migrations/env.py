"""Alembic environment: migrations run on the connection (or URL) that freemarket hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from freemarket.db.models import Base
from freemarket.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    # Batch mode lets ALTER TABLE work on SQLite, which can only recreate tables.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def run_migrations_online() -> None:
    """Run migrations on the given connection, or on a fresh one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `freemarket migrate`")
run_migrations_online()

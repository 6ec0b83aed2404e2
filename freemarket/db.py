"""Database engine and sessions: the one place that opens transactions and commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_connect(dbapi_connection: object, _record: object) -> None:
    # SQLite ignores foreign keys unless asked per connection; WAL lets the worker write while
    # the API reads; busy_timeout turns "database is locked" into a short wait.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; case-insensitive search must work for Cyrillic too.
    dbapi_connection.create_function(  # type: ignore[attr-defined]
        "lower", 1, _unicode_lower, deterministic=True
    )


def _begin_before_savepoint(conn: Connection, _name: object) -> None:
    # pysqlite opens a transaction lazily, before the first write, but not before a SAVEPOINT;
    # an outermost SAVEPOINT would then COMMIT everything on RELEASE. Open it ourselves.
    driver = conn.connection.driver_connection
    if driver is not None and not driver.in_transaction:  # type: ignore[attr-defined]
        driver.execute("BEGIN")  # type: ignore[attr-defined]


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, preparing SQLite's directory and pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine (and pool) per database URL per process."""
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """Run a block in one transaction: commit on success, roll back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    returning: tuple[str, ...] = (),
) -> list[Row[Any]]:
    """Insert rows, skipping any that collide with a unique key; return the inserted ones.

    Two workers may discover the same match (one from the want's side, one from the offer's):
    the database's unique key decides, neither transaction fails, and only the one that really
    inserted a row sees it returned (so only it announces it).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).on_conflict_do_nothing()
    if not returning:
        session.execute(stmt, rows)
        return []
    stmt = stmt.returning(*(table.c[name] for name in returning))
    return list(session.execute(stmt, rows).all())

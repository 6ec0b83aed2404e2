"""Pooled PostgreSQL connections: pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from freemarket.db import session as db_session
from freemarket.db.session import make_engine


@pytest.fixture
def pg_engine(pg_database: str) -> Iterator[Engine]:
    """An engine on the test PostgreSQL database with a pool of one connection."""
    engine = make_engine(pg_database, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _kill(pg_database: str, pid: int) -> None:
    killer = make_engine(pg_database)
    with killer.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_checked_in_a_moment_ago_is_used_without_a_ping(
    pg_engine: Engine, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 3600.0)
    dead = _backend_pid(pg_engine)
    _kill(pg_database, dead)
    # No ping: the one use of the dead connection fails (as a request in flight during a
    # server restart would), and the pool then replaces it.
    with pytest.raises(DBAPIError) as failed:
        _backend_pid(pg_engine)
    assert failed.value.connection_invalidated
    assert _backend_pid(pg_engine) != dead


def test_an_idle_connection_killed_by_the_server_is_replaced(
    pg_engine: Engine, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = _backend_pid(pg_engine)
    _kill(pg_database, dead)
    # The pooled connection now counts as idle long enough to be checked before use.
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 0.0)
    assert _backend_pid(pg_engine) != dead

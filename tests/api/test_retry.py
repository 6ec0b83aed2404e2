"""A request whose transaction the database aborted (deadlock, stale snapshot) is run again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi import Body
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from freemarket.api.app import create_app
from freemarket.api.deps import DbSession
from freemarket.db.models import Category
from freemarket.db.session import ATTEMPTS, is_retryable, make_engine
from freemarket.infra.settings import Settings

# What PostgreSQL raises when it breaks a deadlock, raised for real by the server.
DEADLOCK_SQL = "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"


def _app_losing_races(pg_database: str, tmp_path: Path, losses: int) -> tuple[TestClient, list]:
    settings = Settings(_env_file=None, database_url=pg_database, data_dir=tmp_path)
    engine = make_engine(pg_database)
    app = create_app(settings, engine=engine)
    attempts: list[dict] = []

    @app.post("/test/race")
    def race(db: DbSession, body: dict = Body(...)) -> dict:
        attempts.append(body)
        db.add(Category(slug=f"race_{len(attempts)}", name_ru="x", name_en="x"))
        db.flush()
        if len(attempts) <= losses:
            db.execute(text(DEADLOCK_SQL))
        return {"attempt": len(attempts)}

    return TestClient(app, raise_server_exceptions=False), attempts


def test_a_lost_race_is_replayed_with_its_body(pg_database: str, tmp_path: Path) -> None:
    client, attempts = _app_losing_races(pg_database, tmp_path, losses=2)
    response = client.post("/test/race", json={"n": 1})
    assert response.status_code == 200, response.text
    assert response.json() == {"attempt": 3}
    assert attempts == [{"n": 1}] * 3
    # Only the attempt that succeeded left anything behind.
    engine = make_engine(pg_database)
    with engine.begin() as conn:
        made = set(conn.scalars(select(Category.slug).where(Category.slug.like("race_%"))))
        conn.execute(text("DELETE FROM categories WHERE slug LIKE 'race_%'"))
    engine.dispose()
    assert made == {"race_3"}


def test_a_request_that_always_loses_gets_503_not_500(pg_database: str, tmp_path: Path) -> None:
    client, attempts = _app_losing_races(pg_database, tmp_path, losses=ATTEMPTS)
    response = client.post("/test/race", json={"n": 2})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "busy"
    assert len(attempts) == ATTEMPTS


def test_what_counts_as_a_lost_race(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with pytest.raises(OperationalError) as locked, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert is_retryable(locked.value)
    with pytest.raises(OperationalError) as broken, engine.begin() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_retryable(broken.value)
    assert not is_retryable(ValueError("locked"))
    holder.close()
    engine.dispose()

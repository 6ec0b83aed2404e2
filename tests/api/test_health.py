"""Liveness and readiness probes: up, behind on migrations, and database unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from freemarket.api.app import create_app
from freemarket.db import migrate
from freemarket.infra.settings import Settings


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_at_head(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert migrate.head_revision() in body["detail"]


@pytest.fixture
def behind(engine: Engine) -> Iterator[Engine]:
    """The test database downgraded to base; upgraded back afterwards for the next test."""
    migrate.downgrade(engine, "base")
    try:
        yield engine
    finally:
        migrate.upgrade(engine)


def test_ready_503_when_migrations_pending(client: TestClient, behind: Engine) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "migrations pending" in body["detail"]
    assert migrate.head_revision() in body["detail"]
    # Liveness does not depend on the database.
    assert client.get("/health").status_code == 200


def test_ready_503_when_database_unreachable(tmp_path: Path) -> None:
    # Port 1 on localhost: nothing listens there, so connecting fails at once.
    settings = Settings(
        _env_file=None,
        database_url="postgresql+psycopg2://postgres@127.0.0.1:1/nothing",
        data_dir=tmp_path,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert "database unreachable" in body["detail"]
        assert client.get("/health").status_code == 200

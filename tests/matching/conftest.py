"""Helpers for tests of the matching pipeline against the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from freemarket.db.models import User
from freemarket.infra.settings import Settings
from freemarket.matching.worker import BatchResult, MatchWorker
from tests.conftest import MakeUser

PostItem = Callable[..., dict]
Neighbours = tuple[User, User]


@pytest.fixture
def run_worker(engine: Engine, settings: Settings) -> Callable[[], BatchResult]:
    """Drain the job queue with a fresh worker, as `freemarket worker --once` does."""
    return lambda: MatchWorker(engine, settings).run_until_idle()


@pytest.fixture
def post_item(client: TestClient, auth_headers: Callable[[User], dict[str, str]]) -> PostItem:
    """POST an item as a user through the API; returns the created item's JSON."""

    def _post(user: User, **fields: object) -> dict:
        body = {"category": "bicycles", "description": "", **fields}
        response = client.post("/api/items/", json=body, headers=auth_headers(user))
        assert response.status_code == 201, response.text
        return response.json()

    return _post


@pytest.fixture
def neighbours(make_user: MakeUser) -> Neighbours:
    """Anna and Boris, both in Moscow, so their items may match without delivery."""
    return make_user("anna", city="Москва"), make_user("boris", city="Москва")

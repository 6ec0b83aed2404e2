"""Fixtures for the API tests: ready-made users, their headers, and items made through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from freemarket.db.models import Item, User
from freemarket.domain import items

Headers = dict[str, str]
MakeItem = Callable[..., Item]


@pytest.fixture
def anna(make_user: Callable[..., User]) -> User:
    """A plain user in Moscow with a contact."""
    return make_user("anna", city="Москва", contact="@anna_tg", telegram_id=1001)


@pytest.fixture
def boris(make_user: Callable[..., User]) -> User:
    """Another plain user."""
    return make_user("boris", city="Казань", contact="+7 900 000-00-00", telegram_id=1002)


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    """An operator."""
    return make_user("root_admin", role="admin")


@pytest.fixture
def anna_h(anna: User, auth_headers: Callable[[User], Headers]) -> Headers:
    """Bearer headers for anna."""
    return auth_headers(anna)


@pytest.fixture
def boris_h(boris: User, auth_headers: Callable[[User], Headers]) -> Headers:
    """Bearer headers for boris."""
    return auth_headers(boris)


@pytest.fixture
def admin_h(admin: User, auth_headers: Callable[[User], Headers]) -> Headers:
    """Bearer headers for the admin."""
    return auth_headers(admin)


@pytest.fixture
def make_item(db: Session) -> MakeItem:
    """Create and commit an item directly: make_item(owner, "велосипед", kind="offer")."""

    def _make(owner: User, title: str, **fields: Any) -> Item:
        fields.setdefault("kind", "offer")
        fields.setdefault("category", "other")
        item = items.create_item(db, owner=owner, title=title, **fields)
        db.commit()
        return item

    return _make


def item_body(**overrides: Any) -> dict[str, Any]:
    """A valid item creation body with overrides."""
    body: dict[str, Any] = {
        "kind": "offer",
        "category": "bicycles",
        "title": "Горный велосипед",
        "description": "Почти новый, 21 скорость",
    }
    body.update(overrides)
    return body


def post_item(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    """Create an item through the API and return its body (asserting 201)."""
    response = client.post("/api/items/", json=item_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()

"""Hostile input never produces a 500: huge ids, non-JSON, wrong content types, unicode garbage."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from freemarket.db.models import User
from freemarket.domain.items import encode_cursor
from tests.api.conftest import Headers, item_body

HUGE = [2**63, 2**64 + 1, 10**30, -(2**63) - 1]


def _assert_4xx(response: object, what: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, f"{what}: {status} {response.text}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_paths(client: TestClient, admin_h: Headers, huge: int) -> None:
    for method, url, body in (
        ("GET", f"/api/users/{huge}", None),
        ("GET", f"/api/items/{huge}", None),
        ("GET", f"/api/profiles/{huge}", None),
        ("GET", f"/api/matches/{huge}", None),
        ("PATCH", f"/api/users/{huge}", {"city": "X"}),
        ("PATCH", f"/api/items/{huge}", {"title": "Новое"}),
        ("PATCH", f"/api/profiles/{huge}", {"location": "X"}),
        ("DELETE", f"/api/items/{huge}", None),
    ):
        _assert_4xx(client.request(method, url, json=body, headers=admin_h), f"{method} {url}")


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_bodies_and_queries(
    client: TestClient, anna: User, anna_h: Headers, admin_h: Headers, huge: int
) -> None:
    _assert_4xx(client.get("/api/items", params={"user_id": huge}), "user_id filter")
    _assert_4xx(client.get("/api/items", params={"cursor": encode_cursor(huge)}), "cursor")
    rating = {"to_user_id": huge, "tx_id": huge, "score": 5}
    _assert_4xx(client.post("/api/ratings/", json=rating, headers=anna_h), "rating ids")
    rating = {"to_user_id": anna.id, "tx_id": huge, "score": 5}
    _assert_4xx(client.post("/api/ratings/", json=rating, headers=anna_h), "rating tx")
    profile = {"user_id": huge}
    _assert_4xx(client.post("/api/profiles/", json=profile, headers=admin_h), "profile user")
    user = {"username": "huge_tg", "telegram_id": huge}
    _assert_4xx(client.post("/api/users/", json=user, headers=admin_h), "telegram id")


def test_out_of_range_cursor_values(client: TestClient) -> None:
    for value in (0, -5, 10**400):
        response = client.get("/api/items", params={"cursor": encode_cursor(value)})
        assert response.status_code == 422, (value, response.status_code)


def test_non_json_and_wrong_content_types(client: TestClient, anna_h: Headers) -> None:
    for content, content_type in (
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"kind=offer&title=x", "application/x-www-form-urlencoded"),
        (b"<item/>", "application/xml"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b'"string"', "application/json"),
        (b"1e999999", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (
            b'{"kind": "offer", "category": "books", "title": "ok", "latitude": NaN}',
            "application/json",
        ),
        (
            b'{"kind": "offer", "category": "books", "title": "ok", "metadata": {"x": Infinity}}',
            "application/json",
        ),
        (b'{"title": "\\ud800"}', "application/json"),
    ):
        headers = {**anna_h, "Content-Type": content_type}
        response = client.post("/api/items/", content=content, headers=headers)
        _assert_4xx(response, f"{content[:20]!r} as {content_type}")
        response = client.patch("/api/users/1", content=content, headers=headers)
        _assert_4xx(response, f"PATCH {content[:20]!r} as {content_type}")


def test_unicode_garbage(client: TestClient, anna: User, anna_h: Headers) -> None:
    garbage = "\x00\ud800 \u202e\ufeff🙂" * 3
    for body in (
        item_body(title=garbage),
        item_body(category=garbage),
        item_body(description=garbage),
        item_body(city=garbage),
        item_body(metadata={garbage: garbage}),
        item_body(title="NUL\x00inside"),
        item_body(metadata={"k": "v\x00"}),
    ):
        response = client.post(
            "/api/items/",
            content=json.dumps(body).encode(),
            headers={**anna_h, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (body, response.status_code)
    printable = "\x00 \u202e\ufeff🙂"
    for params in (
        {"q": printable},
        {"city": printable},
        {"kind": printable},
        {"cursor": printable},
    ):
        response = client.get("/api/items", params=params)
        assert response.status_code in (200, 422), (params, response.status_code)
    # A lone surrogate's UTF-8 bytes, raw in the URL.
    for name in ("q", "city", "cursor", "category"):
        response = client.get(f"/api/items?{name}=%ED%A0%80%FF")
        assert response.status_code in (200, 422), (name, response.status_code)
    _assert_4xx(client.get("/api/users/%F0%9F%99%82"), "emoji id")
    _assert_4xx(client.get("/api/items/1.5"), "float id")
    _assert_4xx(client.get("/api/items/-1"), "negative id")
    _assert_4xx(client.post("/api/items", json=item_body(), headers=anna_h), "no slash")

"""The JSON policy: deep or large JSON is refused before validation, never echoed, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, Profile, User
from freemarket.domain import jsonpolicy
from tests.api.conftest import Headers, MakeItem, item_body, post_item


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` deep: {"a": {"a": ... {} }}."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def deep_text(levels: int) -> bytes:
    """JSON text nested `levels` deep, written out (json.dumps itself gives up near 1000)."""
    return b'{"id": 1, "x": ' + b'{"a": ' * (levels - 1) + b"{}" + b"}" * (levels - 1) + b"}"


def test_depth_is_counted_without_parsing() -> None:
    assert jsonpolicy.raw_depth(b"") == 0
    assert jsonpolicy.raw_depth(b"5") == 0
    assert jsonpolicy.raw_depth(b'{"a": [1, {"b": "[[[[ \\" {{"}]}') == 3
    assert jsonpolicy.raw_depth(deep_text(900)) == 901
    assert jsonpolicy.depth(nested(255)) == 255
    assert jsonpolicy.depth({"a": [1, {"b": "[["}]}) == 3
    assert jsonpolicy.depth("x") == 0


def test_deep_metadata_is_refused_and_nothing_is_stored(
    client: TestClient, anna_h: Headers, db: Session
) -> None:
    # Finding 4: 255 levels were accepted, and every match list showing the item answered 500.
    for levels in (255, jsonpolicy.STORED_MAX_DEPTH + 1):
        response = client.post(
            "/api/items/", json=item_body(metadata=nested(levels)), headers=anna_h
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "json_too_deep"
        assert len(response.content) < 500  # the answer does not echo the input
    assert db.query(Item).count() == 0
    fits = nested(jsonpolicy.STORED_MAX_DEPTH)
    assert post_item(client, anna_h, metadata=fits)["metadata"] == fits
    item_id = post_item(client, anna_h)["id"]
    patched = client.patch(f"/api/items/{item_id}", json={"metadata": nested(40)}, headers=anna_h)
    assert patched.status_code == 422
    large = {"k": "x" * jsonpolicy.STORED_MAX_BYTES}
    response = client.post("/api/items/", json=item_body(metadata=large), headers=anna_h)
    assert (response.status_code, response.json()["code"]) == (422, "json_too_large")


def test_profile_data_follows_the_same_policy(
    client: TestClient, anna: User, anna_h: Headers
) -> None:
    for data, code in ((nested(20), "json_too_deep"), ({"bio": "я" * 4000}, "json_too_large")):
        response = client.post("/api/profiles/", json={"data": data}, headers=anna_h)
        assert (response.status_code, response.json()["code"]) == (422, code), response.text
    assert client.post("/api/profiles/", json={"data": {"bio": "ok"}}, headers=anna_h).is_success
    response = client.patch(f"/api/profiles/{anna.id}", json={"data": nested(9)}, headers=anna_h)
    assert (response.status_code, response.json()["params"]["field"]) == (422, "data")


def test_what_was_stored_before_the_policy_is_still_shown(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_item: MakeItem,
    db: Session,
) -> None:
    # Stored by an older version: 255 levels, and NaN where the database took it (SQLite).
    want = make_item(anna, "Ищу велосипед", kind="want", category="bicycles")
    bike = make_item(boris, "Велосипед", kind="offer", category="bicycles")
    legacy = {"deep": nested(255), "n": 1, "s": "ok"}
    if db.get_bind().dialect.name == "sqlite":
        legacy["nan"] = float("nan")
    db.execute(update(Item).where(Item.id == bike.id).values(meta=legacy))
    db.add(Profile(user_id=boris.id, data={"deep": nested(300)}))
    db.add(Match(want_item_id=want.id, offer_item_id=bike.id, score=0.9, computed_by="test"))
    db.commit()
    for user, headers in ((anna, anna_h), (boris, boris_h)):
        response = client.get(f"/api/matches/{user.id}", headers=headers)
        assert response.status_code == 200, response.text
        shown = response.json()[0]["offer_item"]["metadata"]
        assert shown["n"] == 1 and shown["s"] == "ok" and shown.get("nan") is None
        assert jsonpolicy.depth(shown) == jsonpolicy.STORED_MAX_DEPTH
    assert client.get(f"/api/items/{bike.id}").status_code == 200
    assert client.get(f"/api/profiles/{boris.id}").status_code == 200


SIGN_IN_ROUTES = ("/api/auth/telegram", "/api/auth/webapp", "/api/auth/code")


@pytest.mark.parametrize("levels", [40, 500, 900, 5000])
def test_deep_bodies_to_sign_in_get_422_without_echo_or_traceback(
    client: TestClient, levels: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Finding 5: 500-900 levels sent anonymously answered 500 and logged ~300 KB per request.
    caplog.set_level(logging.INFO)
    for route in SIGN_IN_ROUTES:
        response = client.post(
            route, content=deep_text(levels), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (route, response.status_code, response.text[:200])
        assert response.json() == {
            "detail": f"JSON nests deeper than {jsonpolicy.MAX_BODY_DEPTH} levels",
            "code": "json_too_deep",
            "params": {"max_depth": jsonpolicy.MAX_BODY_DEPTH},
        }
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum(len(r.getMessage()) for r in caplog.records) < 2000


def test_validation_errors_never_echo_the_input(client: TestClient, anna_h: Headers) -> None:
    body = {"id": 1, "auth_date": "secret-looking-value-" * 5, "hash": "zz"}
    response = client.post("/api/auth/telegram", json=body)
    assert response.status_code == 422
    assert "secret-looking-value" not in response.text
    assert all("input" not in issue for issue in response.json()["detail"])
    weird = {"kind": "offer", "category": "x", "title": 5, "extra": nested(30)}
    response = client.post("/api/items/", json=weird, headers=anna_h)
    assert response.status_code == 422 and '"a"' not in response.text


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_chunked_body_over_the_limit_is_413(client: TestClient, anna_h: Headers) -> None:
    # Finding 7: without Content-Length, a body over the limit got 400 "error parsing the body".
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    headers = {**anna_h, "Content-Type": "application/json"}
    response = client.post("/api/items/", content=_chunks(limit + 1), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "body_too_large"
    declared = client.post("/api/items/", content=b" " * (limit + 1), headers=headers)
    assert declared.status_code == 413
    # Under the limit a chunked body is read as usual.
    body = json.dumps(item_body()).encode()
    response = client.post("/api/items/", content=iter([body[:10], body[10:]]), headers=headers)
    assert response.status_code == 201, response.text

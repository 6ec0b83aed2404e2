"""Signing in through the Telegram Login Widget and the Mini App, over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import AuthSession, User
from freemarket.domain.telegram_auth import sign_login_widget, sign_webapp_init_data
from tests.domain.conftest import BOT_TOKEN, MakeClient, Person

MAX_AGE = 86_400


def widget(telegram_id: int = 5001, *, age: int = 10, **extra: str) -> dict[str, str]:
    """A widget payload signed with the test bot token, `age` seconds old."""
    fields = {
        "id": str(telegram_id),
        "first_name": "Галя",
        "username": "galya_tg",
        "auth_date": str(int(time.time()) - age),
        **extra,
    }
    return sign_login_widget(fields, bot_token=BOT_TOKEN)


def init_data(telegram_id: int = 6001, *, age: int = 10, **extra: str) -> dict[str, Any]:
    """A Mini App sign-in body signed with the test bot token, `age` seconds old."""
    user = json.dumps({"id": telegram_id, "first_name": "Дима", "username": "dima_tg"})
    fields = {"query_id": "AAE1", "user": user, "auth_date": str(int(time.time()) - age), **extra}
    return {"init_data": urlencode(sign_webapp_init_data(fields, bot_token=BOT_TOKEN))}


def widget_body(payload: dict[str, str]) -> dict[str, Any]:
    """The JSON the web page posts: numbers as numbers, as the widget gives them."""
    body: dict[str, Any] = dict(payload)
    body["id"] = int(body["id"]) if body["id"].isdigit() else body["id"]
    body["auth_date"] = int(body["auth_date"])
    return body


def users_with(db: Session, telegram_id: int) -> list[User]:
    db.expire_all()
    return list(db.scalars(select(User).where(User.telegram_id == telegram_id)))


def test_widget_first_sign_in_creates_the_user(client: TestClient, db: Session) -> None:
    response = client.post("/api/auth/telegram", json=widget_body(widget(5001)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["telegram_id"] == 5001
    assert body["user"]["username"] == "galya_tg"
    assert body["user"]["display_name"] == "Галя"
    [user] = users_with(db, 5001)
    assert user.id == body["user"]["id"]
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["id"] == user.id


def test_widget_second_sign_in_links_the_same_user(client: TestClient, db: Session) -> None:
    first = client.post("/api/auth/telegram", json=widget_body(widget(5001, age=30)))
    second = client.post("/api/auth/telegram", json=widget_body(widget(5001, age=5)))
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert first.json()["token"] != second.json()["token"]
    assert len(users_with(db, 5001)) == 1
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 2


def test_widget_links_an_existing_account_by_telegram_id(
    client: TestClient, world: Any, db: Session
) -> None:
    existing: Person = world.person("olga", telegram_id=5002)
    response = client.post("/api/auth/telegram", json=widget_body(widget(5002)))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == existing.id
    assert response.json()["user"]["username"] == "olga"


def test_widget_username_clash_gets_a_suffix(client: TestClient, world: Any) -> None:
    world.person("galya_tg")
    response = client.post("/api/auth/telegram", json=widget_body(widget(5003)))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "galya_tg_2"


def _forged_wrong_hash() -> dict[str, str]:
    return {**widget(), "hash": "a" * 64}


def _forged_changed_id() -> dict[str, str]:
    return {**widget(5001), "id": "5009"}


def _forged_changed_name() -> dict[str, str]:
    return {**widget(), "first_name": "Админ"}


def _forged_other_token() -> dict[str, str]:
    fields = {k: v for k, v in widget().items() if k != "hash"}
    return sign_login_widget(fields, bot_token="654321:OTHER")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_forged_wrong_hash, id="wrong-hash"),
        pytest.param(_forged_changed_id, id="changed-id"),
        pytest.param(_forged_changed_name, id="changed-field"),
        pytest.param(_forged_other_token, id="other-bot"),
        pytest.param(lambda: widget(age=MAX_AGE + 120), id="stale"),
        pytest.param(lambda: widget(age=-3600), id="future"),
    ],
)
def test_widget_bad_payload_is_401(client: TestClient, db: Session, make: Any) -> None:
    response = client.post("/api/auth/telegram", json=widget_body(make()))
    assert response.status_code == 401, response.text
    assert "token" not in response.json()
    assert response.headers.get("set-cookie") is None
    assert users_with(db, 5001) == [] and users_with(db, 5009) == []


def test_widget_replayed_payload_is_401(client: TestClient, db: Session) -> None:
    payload = widget_body(widget(5001))
    assert client.post("/api/auth/telegram", json=payload).status_code == 200
    again = client.post("/api/auth/telegram", json=payload)
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 1


def test_widget_replay_refused_by_another_replica(
    client: TestClient, make_client: MakeClient
) -> None:
    payload = widget_body(widget(5001))
    assert client.post("/api/auth/telegram", json=payload).status_code == 200
    other = make_client()
    assert other.post("/api/auth/telegram", json=payload).status_code == 401


def test_widget_banned_user_cannot_sign_in(client: TestClient, world: Any, db: Session) -> None:
    person: Person = world.person("banned_tg", telegram_id=5004)
    person.user.is_banned = True
    db.commit()
    response = client.post("/api/auth/telegram", json=widget_body(widget(5004)))
    assert response.status_code in (401, 403)
    assert "token" not in response.json()


def test_widget_without_bot_token_is_a_clear_4xx(make_client: MakeClient) -> None:
    # Not a 5xx: the server works, it has no bot; a retry could only get the same answer.
    client = make_client(telegram_bot_token=None)
    response = client.post("/api/auth/telegram", json=widget_body(widget()))
    assert response.status_code == 409
    assert response.json()["code"] == "telegram_not_configured"
    assert "not configured" in response.json()["detail"]
    webapp = client.post("/api/auth/webapp", json=init_data())
    assert webapp.status_code == 409 and webapp.json()["code"] == "telegram_not_configured"


def test_webapp_first_sign_in_creates_then_links(client: TestClient, db: Session) -> None:
    first = client.post("/api/auth/webapp", json=init_data(6001, age=20))
    assert first.status_code == 200, first.text
    assert first.json()["user"]["telegram_id"] == 6001
    assert first.json()["user"]["username"] == "dima_tg"
    second = client.post("/api/auth/webapp", json=init_data(6001, age=3))
    assert second.status_code == 200, second.text
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert len(users_with(db, 6001)) == 1


def _webapp_tampered(**changes: str) -> dict[str, Any]:
    fields = dict(pair.split("=", 1) for pair in init_data(6001)["init_data"].split("&"))
    fields.update(changes)
    return {"init_data": "&".join(f"{k}={v}" for k, v in fields.items())}


def _webapp_widget_key() -> dict[str, Any]:
    user = json.dumps({"id": 6001, "first_name": "Дима"})
    fields = {"user": user, "auth_date": str(int(time.time()))}
    return {"init_data": urlencode(sign_login_widget(fields, bot_token=BOT_TOKEN))}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _webapp_tampered(hash="b" * 64), id="wrong-hash"),
        pytest.param(lambda: _webapp_tampered(query_id="AAE2"), id="changed-field"),
        pytest.param(_webapp_widget_key, id="widget-key"),
        pytest.param(lambda: init_data(age=MAX_AGE + 120), id="stale"),
        pytest.param(lambda: init_data(age=-3600), id="future"),
        pytest.param(lambda: {"init_data": "user=%7B%7D"}, id="unsigned"),
    ],
)
def test_webapp_bad_init_data_is_401(client: TestClient, db: Session, make: Any) -> None:
    response = client.post("/api/auth/webapp", json=make())
    assert response.status_code == 401, response.text
    assert users_with(db, 6001) == []


def test_webapp_replayed_init_data_is_401(client: TestClient) -> None:
    body = init_data(6001)
    assert client.post("/api/auth/webapp", json=body).status_code == 200
    assert client.post("/api/auth/webapp", json=body).status_code == 401


def test_bot_token_never_in_a_response(client: TestClient) -> None:
    answers = [
        client.post("/api/auth/telegram", json=widget_body(_forged_wrong_hash())),
        client.post("/api/auth/telegram", json=widget_body(widget(age=MAX_AGE * 2))),
        client.post("/api/auth/webapp", json={"init_data": "x"}),
        client.post("/api/auth/telegram", json={"id": "x"}),
        client.post("/api/auth/telegram", json=widget_body(widget(5001))),
    ]
    for response in answers:
        assert BOT_TOKEN not in response.text
        assert "123456" not in response.text
        assert "Traceback" not in response.text


def test_names_as_long_as_telegram_allows_sign_in(client: TestClient, db: Session) -> None:
    # Finding 6: 64 + 64 characters made a 129-character display name: a 500 on PostgreSQL.
    first, last = "Я" * 64, "Ю" * 64
    response = client.post(
        "/api/auth/telegram", json=widget_body(widget(5101, first_name=first, last_name=last))
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["display_name"] == f"{first} {last}"
    response = client.post("/api/auth/webapp", json=init_data_with_user(6101, first, last))
    assert response.status_code == 200, response.text
    [user] = users_with(db, 6101)
    assert user.display_name is not None and len(user.display_name) == 129
    # Our own validation allows the same length, and not one character more.
    token = {"Authorization": f"Bearer {response.json()['token']}"}
    ok = client.patch(f"/api/users/{user.id}", json={"display_name": "ы" * 129}, headers=token)
    assert ok.status_code == 200, ok.text
    long = client.patch(f"/api/users/{user.id}", json={"display_name": "ы" * 130}, headers=token)
    assert long.status_code == 422


def init_data_with_user(telegram_id: int, first_name: object, last_name: object = None,
                        **user_fields: object) -> dict[str, Any]:  # fmt: skip
    """A Mini App body whose signed user object has these (possibly ill-typed) fields."""
    user = {"id": telegram_id, "first_name": first_name, **user_fields}
    if last_name is not None:
        user["last_name"] = last_name
    fields = {"user": json.dumps(user, ensure_ascii=False), "auth_date": str(int(time.time()))}
    return {"init_data": urlencode(sign_webapp_init_data(fields, bot_token=BOT_TOKEN))}


@pytest.mark.parametrize(
    "user_fields",
    [
        {"first_name": "x", "username": 12345},
        {"first_name": ["a", "list"]},
        {"first_name": "x", "last_name": {"an": "object"}},
        {"first_name": "x", "telegram_id_as_float": 1},
    ],
    ids=["numeric-username", "list-first-name", "object-last-name", "extra-field"],
)
def test_signed_but_ill_typed_users_are_refused_not_500(
    client: TestClient, db: Session, user_fields: dict[str, object]
) -> None:
    # Finding 6: a signed numeric username or list first_name was a 500.
    fields = dict(user_fields)
    body = init_data_with_user(6201, fields.pop("first_name"), **fields)
    response = client.post("/api/auth/webapp", json=body)
    if "telegram_id_as_float" in user_fields:  # unknown fields are fine
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "telegram_payload"
    assert users_with(db, 6201) == []


@pytest.mark.parametrize("user_id", [1.5, True, "01", 0])
def test_a_user_id_must_be_an_exact_integer(
    client: TestClient, db: Session, user_id: object
) -> None:
    # Finding 13: user.id 1.5 signed in as user 1.
    response = client.post("/api/auth/webapp", json=init_data_with_user(user_id, "x"))  # type: ignore[arg-type]
    assert response.status_code == 401, response.text
    assert users_with(db, 1) == [] and users_with(db, 0) == []

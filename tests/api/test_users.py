"""Users: admin-only creation (audited), public vs private views, self-service and admin edits."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, User
from tests.api.conftest import Headers

PUBLIC_FIELDS = {
    "id",
    "username",
    "display_name",
    "city",
    "trust_score",
    "rating_count",
    "created_at",
}
PRIVATE_ONLY = {
    "telegram_id",
    "contact",
    "language",
    "role",
    "is_banned",
    "notify_telegram",
    "digest_enabled",
    "quiet_start",
    "quiet_end",
    "time_zone",
}


def _audit(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_create_requires_sign_in(client: TestClient, db: Session) -> None:
    response = client.post("/api/users/", json={"username": "newbie"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert db.scalar(select(User).where(User.username == "newbie")) is None


def test_create_refused_to_plain_user(client: TestClient, anna_h: Headers, db: Session) -> None:
    response = client.post("/api/users/", json={"username": "newbie"}, headers=anna_h)
    assert response.status_code == 403
    assert db.scalar(select(User).where(User.username == "newbie")) is None


def test_admin_creates_user_and_is_audited(
    client: TestClient, admin: User, admin_h: Headers, db: Session
) -> None:
    body = {"username": "newbie", "city": "Тула", "contact": "@newbie", "telegram_id": 77}
    response = client.post("/api/users/", json=body, headers=admin_h)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["username"] == "newbie"
    assert created["contact"] == "@newbie"
    assert created["role"] == "user"
    stored = db.scalar(select(User).where(User.username == "newbie"))
    assert stored is not None and stored.city == "Тула" and stored.telegram_id == 77
    entries = _audit(db, "create_user")
    assert len(entries) == 1
    assert entries[0].actor_id == admin.id
    assert entries[0].target_id == str(created["id"])


def test_duplicate_username_is_409(
    client: TestClient, anna: User, admin_h: Headers, db: Session
) -> None:
    for name in ("anna", "ANNA"):
        response = client.post("/api/users/", json={"username": name}, headers=admin_h)
        assert response.status_code == 409, name
        assert "already exists" in response.json()["detail"]
    assert _audit(db, "create_user") == []


def test_duplicate_telegram_id_is_409(client: TestClient, anna: User, admin_h: Headers) -> None:
    body = {"username": "other", "telegram_id": anna.telegram_id}
    response = client.post("/api/users/", json=body, headers=admin_h)
    assert response.status_code == 409
    assert "telegram_id" in response.json()["detail"]


def test_create_rejects_bad_username_and_extra_fields(client: TestClient, admin_h: Headers) -> None:
    for body in (
        {"username": "a"},
        {"username": "has space"},
        {"username": "x" * 65},
        {"username": "ok_name", "role": "admin"},
        {"username": "ok_name", "telegram_id": 0},
    ):
        response = client.post("/api/users/", json=body, headers=admin_h)
        assert response.status_code == 422, body


def test_public_view_for_anonymous_and_others(
    client: TestClient, anna: User, boris_h: Headers
) -> None:
    for headers in ({}, boris_h):
        response = client.get(f"/api/users/{anna.id}", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == PUBLIC_FIELDS
        assert "contact" not in body and "telegram_id" not in body
        assert body["username"] == "anna"
        assert "@anna_tg" not in response.text


def test_private_view_for_self_and_admin(
    client: TestClient, anna: User, anna_h: Headers, admin_h: Headers
) -> None:
    for headers in (anna_h, admin_h):
        response = client.get(f"/api/users/{anna.id}", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == PUBLIC_FIELDS | PRIVATE_ONLY
        assert body["contact"] == "@anna_tg"
        assert body["telegram_id"] == 1001


def test_unknown_user_is_404(client: TestClient) -> None:
    assert client.get("/api/users/999999").status_code == 404


def test_me(client: TestClient, anna: User, anna_h: Headers) -> None:
    response = client.get("/api/users/me", headers=anna_h)
    assert response.status_code == 200
    assert response.json()["id"] == anna.id
    assert response.json()["contact"] == "@anna_tg"
    anonymous = client.get("/api/users/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_patch_self(client: TestClient, anna: User, anna_h: Headers, db: Session) -> None:
    body = {"display_name": "Анна", "city": "Тверь", "language": "en"}
    response = client.patch(f"/api/users/{anna.id}", json=body, headers=anna_h)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Анна"
    db.expire_all()
    stored = db.get(User, anna.id)
    assert stored is not None
    assert (stored.display_name, stored.city, stored.language) == ("Анна", "Тверь", "en")
    assert _audit(db, "update_user") == []


def test_patch_cannot_escalate(
    client: TestClient, anna: User, anna_h: Headers, db: Session
) -> None:
    for body in ({"role": "admin"}, {"is_banned": False}, {"trust_score": 5}):
        response = client.patch(f"/api/users/{anna.id}", json=body, headers=anna_h)
        assert response.status_code == 422, body
    db.expire_all()
    stored = db.get(User, anna.id)
    assert stored is not None
    assert (stored.role, stored.is_banned) == ("user", False)
    assert (stored.trust_score, stored.rating_count) == (anna.trust_score, 0)


def test_patch_other_is_403(client: TestClient, anna: User, boris_h: Headers, db: Session) -> None:
    response = client.patch(f"/api/users/{anna.id}", json={"city": "Хакер"}, headers=boris_h)
    assert response.status_code == 403
    db.expire_all()
    stored = db.get(User, anna.id)
    assert stored is not None and stored.city == "Москва"


def test_admin_patch_is_audited(
    client: TestClient, anna: User, admin: User, admin_h: Headers, db: Session
) -> None:
    response = client.patch(f"/api/users/{anna.id}", json={"city": "Сочи"}, headers=admin_h)
    assert response.status_code == 200
    db.expire_all()
    stored = db.get(User, anna.id)
    assert stored is not None and stored.city == "Сочи"
    entries = _audit(db, "update_user")
    assert len(entries) == 1
    assert entries[0].actor_id == admin.id
    assert entries[0].target_id == str(anna.id)
    assert entries[0].details == {"fields": ["city"]}

"""Profiles: create once, visibility, admin-on-behalf (audited), updates."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, Profile, User
from tests.api.conftest import Headers


def test_create_and_read(client: TestClient, anna: User, anna_h: Headers, db: Session) -> None:
    body = {"data": {"about": "люблю книги"}, "location": "Москва", "visibility": "public"}
    response = client.post("/api/profiles/", json=body, headers=anna_h)
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == anna.id
    stored = db.scalar(select(Profile).where(Profile.user_id == anna.id))
    assert stored is not None and stored.data == {"about": "люблю книги"}
    public = client.get(f"/api/profiles/{anna.id}")
    assert public.status_code == 200
    assert public.json()["data"] == {"about": "люблю книги"}
    assert public.json()["location"] == "Москва"


def test_create_requires_sign_in(client: TestClient) -> None:
    assert client.post("/api/profiles/", json={}).status_code == 401


def test_duplicate_is_409(client: TestClient, anna_h: Headers) -> None:
    assert client.post("/api/profiles/", json={}, headers=anna_h).status_code == 201
    second = client.post("/api/profiles/", json={"data": {"x": 1}}, headers=anna_h)
    assert second.status_code == 409


def test_missing_profile_is_404(client: TestClient, anna: User) -> None:
    assert client.get(f"/api/profiles/{anna.id}").status_code == 404


def test_private_profile_hidden_from_others(
    client: TestClient, anna: User, anna_h: Headers, boris_h: Headers, admin_h: Headers
) -> None:
    body = {"data": {"secret": "yes"}, "visibility": "private"}
    assert client.post("/api/profiles/", json=body, headers=anna_h).status_code == 201
    for headers in ({}, boris_h):
        response = client.get(f"/api/profiles/{anna.id}", headers=headers)
        assert response.status_code == 404
        assert "secret" not in response.text
    for headers in (anna_h, admin_h):
        response = client.get(f"/api/profiles/{anna.id}", headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == {"secret": "yes"}


def test_bad_visibility_and_coordinates_are_422(client: TestClient, anna_h: Headers) -> None:
    for body in ({"visibility": "everyone"}, {"latitude": 91}, {"longitude": -181}, {"x": 1}):
        assert client.post("/api/profiles/", json=body, headers=anna_h).status_code == 422, body


def test_plain_user_cannot_create_for_another(
    client: TestClient, anna: User, boris_h: Headers, db: Session
) -> None:
    response = client.post("/api/profiles/", json={"user_id": anna.id}, headers=boris_h)
    assert response.status_code == 403
    assert db.scalar(select(Profile)) is None


def test_admin_creates_for_another_audited(
    client: TestClient, anna: User, admin: User, admin_h: Headers, db: Session
) -> None:
    body = {"user_id": anna.id, "data": {"note": "by admin"}}
    response = client.post("/api/profiles/", json=body, headers=admin_h)
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == anna.id
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "create_profile"))
    assert entry is not None
    assert entry.actor_id == admin.id and entry.target_id == str(anna.id)


def test_admin_create_for_unknown_user_is_404(client: TestClient, admin_h: Headers) -> None:
    response = client.post("/api/profiles/", json={"user_id": 987654}, headers=admin_h)
    assert response.status_code == 404


def test_patch_own_other_and_admin(
    client: TestClient,
    anna: User,
    admin: User,
    anna_h: Headers,
    boris_h: Headers,
    admin_h: Headers,
    db: Session,
) -> None:
    assert client.post("/api/profiles/", json={}, headers=anna_h).status_code == 201
    own = client.patch(
        f"/api/profiles/{anna.id}",
        json={"location": "Тверь", "visibility": "matches"},
        headers=anna_h,
    )
    assert own.status_code == 200, own.text
    assert own.json()["location"] == "Тверь" and own.json()["visibility"] == "matches"

    other = client.patch(f"/api/profiles/{anna.id}", json={"location": "X"}, headers=boris_h)
    assert other.status_code == 403
    db.expire_all()
    stored = db.scalar(select(Profile).where(Profile.user_id == anna.id))
    assert stored is not None and stored.location == "Тверь"

    by_admin = client.patch(f"/api/profiles/{anna.id}", json={"data": {"a": 1}}, headers=admin_h)
    assert by_admin.status_code == 200
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "update_profile"))
    assert entry is not None and entry.actor_id == admin.id

    bad = client.patch(f"/api/profiles/{anna.id}", json={"visibility": "nope"}, headers=anna_h)
    assert bad.status_code == 422

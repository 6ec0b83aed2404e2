"""Bearer sessions: missing, garbage, expired, revoked and banned tokens are all 401."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import AuthSession, User, utcnow
from freemarket.domain import sessions, users
from freemarket.domain.actors import OPERATOR
from tests.api.conftest import Headers


def _assert_401(client: TestClient, headers: dict[str, str | bytes]) -> None:
    response = client.get("/api/users/me", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate") == "Bearer"
    assert response.json()["detail"]


def test_valid_token_and_last_used(
    client: TestClient, anna: User, anna_h: Headers, db: Session
) -> None:
    response = client.get("/api/users/me", headers=anna_h)
    assert response.status_code == 200
    assert response.json()["username"] == "anna"
    db.expire_all()
    stored = db.scalar(select(AuthSession).where(AuthSession.user_id == anna.id))
    assert stored is not None and stored.last_used_at is not None
    # Only the hash is stored.
    token = anna_h["Authorization"].removeprefix("Bearer ")
    assert stored.token_hash == sessions.hash_token(token) != token


def test_last_used_is_written_at_most_once_per_resolution(
    client: TestClient, anna: User, anna_h: Headers, db: Session
) -> None:
    """Reads do not write the session row each time; a stale last_used_at is refreshed."""
    assert client.get("/api/users/me", headers=anna_h).status_code == 200
    db.expire_all()
    stored = db.scalar(select(AuthSession).where(AuthSession.user_id == anna.id))
    assert stored is not None and stored.last_used_at is not None
    first = stored.last_used_at
    for _ in range(3):
        assert client.get("/api/users/me", headers=anna_h).status_code == 200
    db.expire_all()
    assert db.get(AuthSession, stored.id).last_used_at == first  # type: ignore[union-attr]
    stale = utcnow() - sessions.LAST_USED_RESOLUTION - timedelta(seconds=1)
    stored.last_used_at = stale
    db.commit()
    assert client.get("/api/users/me", headers=anna_h).status_code == 200
    db.expire_all()
    refreshed = db.get(AuthSession, stored.id).last_used_at  # type: ignore[union-attr]
    assert refreshed is not None and refreshed > stale + sessions.LAST_USED_RESOLUTION


def test_concurrent_requests_of_one_session_do_not_queue_on_its_row(
    client: TestClient, anna: User, anna_h: Headers, db: Session
) -> None:
    """Many requests with one token at once, last_used_at stale: all answer, one writes it."""
    stored = db.scalar(select(AuthSession).where(AuthSession.user_id == anna.id))
    assert stored is not None
    stored.last_used_at = utcnow() - sessions.LAST_USED_RESOLUTION * 2
    db.commit()
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def read() -> None:
        barrier.wait(timeout=10)
        statuses.append(client.get("/api/users/me", headers=anna_h).status_code)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 8
    db.expire_all()
    touched = db.get(AuthSession, stored.id)
    assert touched is not None and touched.last_used_at is not None
    assert utcnow() - touched.last_used_at < timedelta(minutes=1)


def test_missing_and_malformed_headers(client: TestClient, anna_h: Headers) -> None:
    token = anna_h["Authorization"].removeprefix("Bearer ")
    assert client.get("/api/users/me", headers=anna_h).status_code == 200
    _assert_401(client, {})
    _assert_401(client, {"Authorization": "Bearer"})
    _assert_401(client, {"Authorization": "Bearer garbage-token"})
    _assert_401(client, {"Authorization": f"Basic {token}"})
    _assert_401(client, {"Authorization": token})
    _assert_401(client, {"Authorization": ("Bearer " + "я" * 50).encode()})
    _assert_401(client, {"Authorization": "Bearer " + "x" * 5000})


def test_expired_token(client: TestClient, anna: User, db: Session) -> None:
    issued = sessions.issue_token(db, user=anna, ttl=timedelta(hours=1))
    issued.session.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    _assert_401(client, {"Authorization": f"Bearer {issued.token}"})


def test_revoked_token(client: TestClient, anna: User, anna_h: Headers, db: Session) -> None:
    assert client.get("/api/users/me", headers=anna_h).status_code == 200
    assert sessions.revoke_all(db, user=anna) == 1
    db.commit()
    _assert_401(client, dict(anna_h))


def test_banned_users_token(client: TestClient, anna: User, anna_h: Headers, db: Session) -> None:
    users.set_banned(db, actor=OPERATOR, user=anna, banned=True)
    db.commit()
    _assert_401(client, dict(anna_h))
    # Even a session that escaped revocation stops working while banned.
    stored = db.scalar(select(AuthSession).where(AuthSession.user_id == anna.id))
    assert stored is not None
    stored.revoked_at = None
    db.commit()
    _assert_401(client, dict(anna_h))


def test_bad_token_on_public_route_is_401(client: TestClient) -> None:
    # A wrong token is an error even where anonymous access is allowed: no silent downgrade.
    response = client.get("/api/users/1", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401

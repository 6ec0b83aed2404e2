"""Login links from the CLI, bearer and cookie sessions, CSRF, cookie flags, sign-out."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from freemarket.db.models import AuthSession, LoginCode, utcnow
from freemarket.domain import sessions
from freemarket.infra.settings import Settings
from tests.domain.conftest import SECRET_KEY, MakeClient, Person, RunCli, World

ITEM = {"kind": "offer", "category": "books", "title": "Словарь"}


def link_code(cli: RunCli, username: str) -> str:
    """Run `freemarket user login-link USERNAME` and return the code in the printed URL."""
    result = cli("user", "login-link", username)
    assert result.code == 0, result.err
    url = urlparse(result.out.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "market.test", "/login")
    [code] = parse_qs(url.query)["code"]
    return code


def set_cookies(response: Any) -> dict[str, SimpleCookie]:
    """Each Set-Cookie header of a response, parsed, by cookie name."""
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def cookie_attrs(response: Any, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, lower-cased names, raw for flags."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            parts = [p.strip() for p in header.split(";")]
            attrs = {}
            for part in parts[1:]:
                key, _, value = part.partition("=")
                attrs[key.lower()] = value
            return attrs
    raise AssertionError(f"no Set-Cookie for {name}")


def code_for(db: Session, person: Person) -> str:
    code = sessions.issue_login_code(db, user=person.user, ttl=timedelta(minutes=5))
    db.commit()
    return code


def test_login_link_signs_in_once(cli: RunCli, client: TestClient, anna: Person) -> None:
    code = link_code(cli, "anna")
    first = client.post("/api/auth/code", json={"code": code})
    assert first.status_code == 200, first.text
    assert first.json()["user"]["id"] == anna.id
    token = first.json()["token"]
    assert (
        client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()["username"]
        == "anna"
    )
    second = client.post("/api/auth/code", json={"code": code})
    assert second.status_code == 401
    assert "already used" in second.json()["detail"]


def test_expired_login_code_is_401(client: TestClient, anna: Person, db: Session) -> None:
    code = code_for(db, anna)
    db.execute(
        update(LoginCode)
        .where(LoginCode.code_hash == sessions.hash_token(code))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    response = client.post("/api/auth/code", json={"code": code})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_banned_user_login_code_is_401(
    cli: RunCli, client: TestClient, anna: Person, db: Session
) -> None:
    code = code_for(db, anna)
    anna.user.is_banned = True
    db.commit()
    assert client.post("/api/auth/code", json={"code": code}).status_code == 401
    refused = cli("user", "login-link", "anna")
    assert refused.code == 1
    assert "banned" in refused.err and "Traceback" not in refused.err
    assert refused.out.strip() == ""


def test_unknown_login_code_is_401(client: TestClient) -> None:
    assert client.post("/api/auth/code", json={"code": "x" * 32}).status_code == 401


def test_bearer_token_works_and_bad_ones_are_401(
    client: TestClient, anna: Person, db: Session
) -> None:
    assert client.get("/api/users/me", headers=anna.headers).json()["id"] == anna.id
    for header in ("Bearer nope", "Bearer ", "Basic YTpi"):
        response = client.get("/api/users/me", headers={"Authorization": header})
        assert response.status_code == 401, header
    db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    expired = client.get("/api/users/me", headers=anna.headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_cookie_session_reads_and_csrf_guards_writes(
    make_client: MakeClient, anna: Person, db: Session
) -> None:
    browser = make_client()
    signed_in = browser.post("/api/auth/code", json={"code": code_for(db, anna)})
    assert signed_in.status_code == 200
    csrf_body = signed_in.json()["csrf_token"]
    csrf_cookie = browser.cookies.get("fm_csrf")
    assert csrf_cookie == csrf_body
    assert csrf_body == sessions.csrf_token(signed_in.json()["token"], secret_key=SECRET_KEY)
    assert browser.cookies.get("fm_session") == signed_in.json()["token"]

    assert browser.get("/api/users/me").json()["id"] == anna.id
    missing = browser.post("/api/items/", json=ITEM)
    assert missing.status_code == 403
    assert "X-CSRF-Token" in missing.json()["detail"]
    wrong = browser.post("/api/items/", json=ITEM, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    patch = browser.patch(f"/api/users/{anna.id}", json={"city": "Омск"})
    assert patch.status_code == 403
    made = browser.post("/api/items/", json=ITEM, headers={"X-CSRF-Token": csrf_cookie})
    assert made.status_code == 201, made.text
    assert made.json()["user_id"] == anna.id
    deleted = browser.delete(f"/api/items/{made.json()['id']}", headers={"X-CSRF-Token": ""})
    assert deleted.status_code == 403


def test_csrf_of_another_session_is_refused(
    make_client: MakeClient, anna: Person, db: Session
) -> None:
    browser = make_client()
    browser.post("/api/auth/code", json={"code": code_for(db, anna)})
    other = sessions.csrf_token("someone-elses-token", secret_key=SECRET_KEY)
    response = browser.post("/api/items/", json=ITEM, headers={"X-CSRF-Token": other})
    assert response.status_code == 403


@pytest.mark.parametrize("secure", [False, True], ids=["development", "cookie_secure"])
def test_cookie_flags(make_client: MakeClient, anna: Person, db: Session, secure: bool) -> None:
    browser = make_client(cookie_secure=secure, base_url="https://testserver")
    response = browser.post("/api/auth/code", json={"code": code_for(db, anna)})
    assert response.status_code == 200
    session = cookie_attrs(response, "fm_session")
    csrf = cookie_attrs(response, "fm_csrf")
    assert "httponly" in session
    assert "httponly" not in csrf  # our scripts read it to echo it back
    for attrs in (session, csrf):
        assert attrs["samesite"].lower() == "lax"
        assert ("secure" in attrs) is secure
        assert int(attrs["max-age"]) > 0
    assert ("strict-transport-security" in response.headers) is secure


def test_production_defaults_to_secure_cookies() -> None:
    assert Settings(_env_file=None, environment="production").secure_cookies is True
    assert Settings(_env_file=None).secure_cookies is False
    assert (
        Settings(_env_file=None, environment="production", cookie_secure=False).secure_cookies
        is False
    )


def test_logout_revokes_the_bearer_token(client: TestClient, anna: Person, db: Session) -> None:
    other = Person(anna.user, headers=_fresh(db, anna))
    response = client.post("/api/auth/logout", headers=anna.headers)
    assert response.status_code == 200
    assert client.get("/api/users/me", headers=anna.headers).status_code == 401
    assert client.post("/api/auth/logout", headers=anna.headers).status_code == 401
    # Only that session ends: another device stays signed in.
    assert client.get("/api/users/me", headers=other.headers).status_code == 200


def _fresh(db: Session, person: Person) -> dict[str, str]:
    issued = sessions.issue_token(db, user=person.user, ttl=timedelta(hours=1), origin="test")
    db.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def test_logout_of_a_cookie_session(make_client: MakeClient, anna: Person, db: Session) -> None:
    browser = make_client()
    signed_in = browser.post("/api/auth/code", json={"code": code_for(db, anna)})
    token = signed_in.json()["token"]
    assert browser.post("/api/auth/logout").status_code == 403  # no CSRF header
    out = browser.post("/api/auth/logout", headers={"X-CSRF-Token": signed_in.json()["csrf_token"]})
    assert out.status_code == 200
    assert set(set_cookies(out)) >= {"fm_session", "fm_csrf"}
    assert browser.get("/api/users/me").status_code == 401
    stale = make_client()
    stale.cookies.set("fm_session", token)
    assert stale.get("/api/users/me").status_code == 401
    db.expire_all()
    row = db.scalar(select(AuthSession).where(AuthSession.token_hash == sessions.hash_token(token)))
    assert row is not None and row.revoked_at is not None


def test_logout_all_from_the_cli_revokes_every_session(
    cli: RunCli, client: TestClient, world: World, anna: Person, boris: Person, db: Session
) -> None:
    sessions = [anna.headers, _fresh(db, anna), _fresh(db, anna)]
    for headers in sessions:
        assert client.get("/api/users/me", headers=headers).status_code == 200
    result = cli("user", "logout-all", "anna")
    assert result.code == 0, result.err
    assert "revoked 3 session" in result.out
    for headers in sessions:
        assert client.get("/api/users/me", headers=headers).status_code == 401
    assert client.get("/api/users/me", headers=boris.headers).status_code == 200

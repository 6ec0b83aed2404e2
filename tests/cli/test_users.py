"""`freemarket user`: create, list, show, ban/unban, promote/demote and tokens that work."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.db.models import AuditLog, AuthSession, User
from freemarket.domain import sessions
from freemarket.infra.settings import Settings
from tests.cli.conftest import Result, Run


def _one_line_error(result: Result, *fragments: str) -> None:
    assert result.code != 0, result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.err}"
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _stored(db: Session, username: str) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def test_user_lifecycle(run: Run, db: Session, engine: Engine, settings: Settings) -> None:
    created = run("user", "create", "anna", "--city", "Москва", "--contact", "@anna", "--json")
    assert created.code == 0, created.err
    body = created.json()
    assert body["username"] == "anna" and body["city"] == "Москва" and body["role"] == "user"
    assert run("user", "create", "boris", "--admin").code == 0

    listed = run("user", "list", "--json")
    assert listed.code == 0
    assert [(u["username"], u["role"]) for u in listed.json()] == [
        ("anna", "user"),
        ("boris", "admin"),
    ]
    shown = run("user", "show", "ANNA")
    assert shown.code == 0 and "Москва" in shown.out and "@anna" in shown.out

    assert run("user", "promote", "anna").code == 0
    assert _stored(db, "anna").role == "admin"
    assert run("user", "demote", "anna").code == 0
    assert _stored(db, "anna").role == "user"

    token = run("user", "token", "anna")
    assert token.code == 0, token.err
    plain = token.out.strip()
    assert len(plain) > 30 and "\n" not in plain
    stored = db.scalar(
        select(AuthSession).where(AuthSession.token_hash == sessions.hash_token(plain))
    )
    assert stored is not None and stored.origin == "cli"

    app = create_app(settings, engine=engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        bearer = {"Authorization": f"Bearer {plain}"}
        me = client.get("/api/users/me", headers=bearer)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "anna"

        assert run("user", "ban", "anna").code == 0
        assert _stored(db, "anna").is_banned is True
        assert client.get("/api/users/me", headers=bearer).status_code == 401
        _one_line_error(run("user", "token", "anna"), "banned")

        assert run("user", "unban", "anna").code == 0
        assert _stored(db, "anna").is_banned is False
        # The ban revoked the old session for good; a new token works.
        assert client.get("/api/users/me", headers=bearer).status_code == 401
        fresh = run("user", "token", "anna", "--hours", "2", "--json")
        assert fresh.code == 0, fresh.err
        again = client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {fresh.json()['token']}"}
        )
        assert again.status_code == 200

    db.expire_all()
    actions = list(db.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions.count("create_user") == 2
    for action in ("promote_user", "demote_user", "ban_user", "unban_user", "issue_token"):
        assert action in actions


def test_errors_are_one_line(run: Run, db: Session) -> None:
    assert run("user", "create", "anna").code == 0
    _one_line_error(run("user", "create", "ANNA"), "already exists")
    _one_line_error(run("user", "create", "bad name!"), "username")
    _one_line_error(run("user", "show", "ghost"), "ghost", "not found")
    _one_line_error(run("user", "ban", "ghost"), "ghost", "not found")
    db.expire_all()
    assert list(db.scalars(select(User.username))) == ["anna"]

"""Fixtures for the identity, exchange, rating and trust tests: signed-in people and deals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.db.models import Match, Notification, User
from freemarket.domain import sessions
from freemarket.infra.settings import Settings
from tests.domain.cast import Cast, build_cast

BOT_TOKEN = "123456:TEST"
SECRET_KEY = "identity-tests-secret-key-0123456789abcdef"
FREEMARKET = str(Path(sys.executable).with_name("freemarket"))

Headers = dict[str, str]


def base_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for these tests: a bot token, a real secret key, generous rate limits."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path / "data",
        "backup_dir": tmp_path / "backups",
        "max_body_bytes": 64_000,
        "telegram_bot_token": BOT_TOKEN,
        "secret_key": SECRET_KEY,
        "rate_limit_signin_per_minute": 1000,
        "rate_limit_write_per_minute": 1000,
        "rate_limit_search_per_minute": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings with TELEGRAM_BOT_TOKEN and SECRET_KEY set (overrides the suite-wide one)."""
    return base_settings(db_url, tmp_path)


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(db_url: str, tmp_path: Path, engine: Engine) -> Iterator[MakeClient]:
    """A client on a fresh app built from these tests' settings with `overrides`."""
    opened: list[TestClient] = []

    def _make(*, base_url: str = "http://testserver", **overrides: Any) -> TestClient:
        app = create_app(base_settings(db_url, tmp_path, **overrides), engine=engine)
        client = TestClient(app, base_url=base_url, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield _make
    for client in opened:
        client.__exit__(None, None, None)


def bearer(db: Session, user: User) -> Headers:
    """Bearer headers for a fresh session of `user`."""
    issued = sessions.issue_token(db, user=user, ttl=timedelta(hours=1), origin="test")
    db.commit()
    return {"Authorization": f"Bearer {issued.token}"}


@dataclass
class Person:
    """A user with a signed-in session."""

    user: User
    headers: Headers

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id


@dataclass
class World:
    """People and the helpers that drive deals between them through the API."""

    client: TestClient
    db: Session
    people: dict[str, Person] = field(default_factory=dict)

    def person(self, username: str, **fields: Any) -> Person:
        """Create a user with a contact and a session."""
        from freemarket.domain import users

        fields.setdefault("contact", f"@{username}_contact")
        user = users.create_user(self.db, username=username, **fields)
        self.db.commit()
        found = Person(user=user, headers=bearer(self.db, user))
        self.people[username] = found
        return found

    def item(self, owner: Person, kind: str, title: str) -> int:
        """Post an item through the API; returns its id."""
        body = {"kind": kind, "category": "other", "title": title, "description": title}
        response = self.client.post("/api/items/", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def match(self, want_id: int, offer_id: int, score: float = 0.9) -> int:
        """Store a match as the matching worker would; returns its id."""
        row = Match(want_item_id=want_id, offer_item_id=offer_id, score=score, computed_by="test")
        self.db.add(row)
        self.db.commit()
        return row.id

    def gives(self, giver: Person, receiver: Person, title: str) -> int:
        """A match in which `giver` offers `title` and `receiver` wants it."""
        offer = self.item(giver, "offer", title)
        want = self.item(receiver, "want", title)
        return self.match(want, offer)

    def propose(self, proposer: Person, match_ids: list[int]) -> dict[str, Any]:
        """Propose an exchange (asserting 201); returns its body."""
        response = self.client.post(
            "/api/exchanges/", json={"match_ids": match_ids}, headers=proposer.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    def act(self, actor: Person, exchange_id: int, action: str) -> Any:
        """POST an action on an exchange; returns the response."""
        return self.client.post(f"/api/exchanges/{exchange_id}/{action}", headers=actor.headers)

    def do(self, actor: Person, exchange_id: int, action: str) -> dict[str, Any]:
        """An action that must succeed; returns the exchange."""
        response = self.act(actor, exchange_id, action)
        assert response.status_code == 200, response.text
        return response.json()

    def swap(self, a: Person, b: Person, tag: str = "") -> list[int]:
        """The two matches of a swap between a and b (a gives a book, b gives a lamp)."""
        return [self.gives(a, b, f"книга {tag}"), self.gives(b, a, f"лампа {tag}")]

    def accepted_exchange(self, a: Person, b: Person, tag: str = "") -> int:
        """A swap between a and b, proposed by a and accepted by b; returns its id."""
        exchange = self.propose(a, self.swap(a, b, tag))
        assert self.do(b, exchange["id"], "accept")["status"] == "accepted"
        return int(exchange["id"])

    def completed_exchange(self, a: Person, b: Person, tag: str = "") -> int:
        """A swap between a and b taken all the way to completed; returns its id."""
        exchange_id = self.accepted_exchange(a, b, tag)
        self.do(a, exchange_id, "complete")
        assert self.do(b, exchange_id, "complete")["status"] == "completed"
        return exchange_id

    def rate(self, rater: Person, ratee: Person, exchange_id: int, score: int) -> Any:
        """POST a rating; returns the response."""
        body = {"to_user_id": ratee.id, "tx_id": exchange_id, "score": score}
        return self.client.post("/api/ratings/", json=body, headers=rater.headers)

    def notifications(self, user: Person) -> list[Notification]:
        """Every outbox row of `user` (web channel), oldest first."""
        self.db.expire_all()
        stmt = (
            select(Notification)
            .where(Notification.user_id == user.id, Notification.channel == "web")
            .order_by(Notification.id)
        )
        return list(self.db.scalars(stmt))


@pytest.fixture
def world(client: TestClient, db: Session) -> World:
    """An empty world on the test database."""
    return World(client=client, db=db)


@pytest.fixture
def anna(world: World) -> Person:
    """A plain user."""
    return world.person("anna", city="Москва")


@pytest.fixture
def boris(world: World) -> Person:
    """Another plain user."""
    return world.person("boris", city="Казань")


@pytest.fixture
def vera(world: World) -> Person:
    """A third plain user."""
    return world.person("vera", city="Тверь")


@pytest.fixture
def stranger(world: World) -> Person:
    """Someone who takes part in nothing."""
    return world.person("stranger")


@pytest.fixture
def admin(world: World) -> Person:
    """An operator."""
    return world.person("root_admin", role="admin")


@dataclass(frozen=True, slots=True)
class CliResult:
    """What a finished `freemarket` process left behind."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


RunCli = Callable[..., CliResult]


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> RunCli:
    """Run the installed `freemarket` script against the test database."""
    workdir = tmp_path / "cli-cwd"
    workdir.mkdir(exist_ok=True)
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DATABASE_URL=db_url,
        DATA_DIR=str(tmp_path / "data"),
        ENVIRONMENT="development",
        PUBLIC_URL="https://market.test",
        SECRET_KEY=SECRET_KEY,
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        PYTHONIOENCODING="utf-8",
    )

    def _run(*args: str) -> CliResult:
        done = subprocess.run(
            [FREEMARKET, *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=workdir,
            timeout=60,
            check=False,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return _run


@pytest.fixture
def cast(db: Session) -> Cast:
    """People in every role and the owner's items in every state (tests/domain/cast.py)."""
    return build_cast(db)

"""Test harness: every database test runs on SQLite and on the local PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from freemarket.db import migrate
from freemarket.db.models import Base, User
from freemarket.db.session import make_engine, session_factory
from freemarket.domain import sessions, users
from freemarket.infra.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get(
    "FREEMARKET_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
# Tables whose rows come from migrations and must survive the per-test cleanup.
SEEDED_TABLES = {"categories", "alembic_version"}


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means "not reachable" here
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@contextmanager
def private_pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of its own, dropped on exit (skipped if unreachable)."""
    reason = _postgres_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")
    name = f"fm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database private to this test run; dropped at the end."""
    with private_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


def _truncate_all(engine: Engine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database URL: each test gets its own state."""
    if request.param == "sqlite":
        path = tmp_path / "freemarket.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_database")
    yield url
    cleanup = make_engine(url)
    _truncate_all(cleanup)
    cleanup.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging and asserting; commit what the code under test must see."""
    session = session_factory(engine)()
    yield session
    session.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Development settings pointing at the test database."""
    return Settings(
        _env_file=None,
        database_url=db_url,
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
        max_body_bytes=64_000,
    )


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An HTTP client on the app, talking to the test database."""
    from freemarket.api.app import create_app

    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        yield c


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(db: Session) -> MakeUser:
    """Create and commit a user: make_user("anna", role="admin", city="Москва")."""

    def _make(username: str, **fields: object) -> User:
        user = users.create_user(db, username=username, **fields)  # type: ignore[arg-type]
        db.commit()
        return user

    return _make


@pytest.fixture
def auth_headers(db: Session) -> Callable[[User], dict[str, str]]:
    """Bearer headers for a fresh session of a user."""

    def _headers(user: User) -> dict[str, str]:
        issued = sessions.issue_token(db, user=user, ttl=timedelta(hours=1), origin="test")
        db.commit()
        return {"Authorization": f"Bearer {issued.token}"}

    return _headers


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

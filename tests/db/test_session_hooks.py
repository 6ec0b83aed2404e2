"""after_commit / after_rollback: work outside the database follows the transaction's outcome."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import User
from freemarket.db.session import after_commit, after_rollback, unit_of_work
from freemarket.domain import users


def _register(session: Session, ran: list[str], name: str) -> None:
    after_commit(session, lambda: ran.append(f"{name}: committed"))
    after_rollback(session, lambda: ran.append(f"{name}: rolled back"))


def test_a_commit_runs_the_commit_callbacks_only(engine: Engine) -> None:
    ran: list[str] = []
    with unit_of_work(engine) as session:
        users.create_user(session, username="hooked")
        _register(session, ran, "first")
        # A savepoint released inside the transaction is not the commit.
        with session.begin_nested():
            _register(session, ran, "inner")
        assert ran == []
    assert ran == ["first: committed", "inner: committed"]


def test_a_rollback_runs_the_rollback_callbacks_only(engine: Engine, db: Session) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        users.create_user(session, username="hooked")
        _register(session, ran, "work")
        raise RuntimeError("the request failed")
    assert ran == ["work: rolled back"]
    assert db.scalar(select(func.count(User.id))) == 0


def test_callbacks_belong_to_one_transaction(engine: Engine) -> None:
    ran: list[str] = []
    with unit_of_work(engine) as session:
        _register(session, ran, "first")
        session.commit()
        # The next transaction of the same session starts with nothing registered.
        users.create_user(session, username="second")
        _register(session, ran, "second")
        session.rollback()
    assert ran == ["first: committed", "second: rolled back"]


def test_a_failing_callback_is_logged_and_the_commit_stands(
    engine: Engine, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise OSError("storage unreachable")

    with caplog.at_level(logging.ERROR, logger="freemarket.db"), unit_of_work(engine) as session:
        users.create_user(session, username="hooked")
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("next"))
    assert ran == ["next"]
    assert "after-commit callback" in caplog.text and "storage unreachable" in caplog.text
    assert db.scalar(select(func.count(User.id))) == 1

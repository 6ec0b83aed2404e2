"""Bulk inserts that skip rows colliding with a unique key, by INSERT and by COPY."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from freemarket.db import session as db_module
from freemarket.db.models import Notification, User, utcnow
from freemarket.db.session import insert_batches_ignoring_conflicts, insert_ignoring_conflicts
from tests.conftest import MakeUser

AWKWARD = "tab\there, line\nbreak, back\\slash, \\N, кириллица, emoji 🚲, quote \" ' end"


def _rows(user: User, keys: list[str]) -> list[dict[str, object]]:
    now = utcnow()
    return [
        {
            "user_id": user.id,
            "channel": "web",
            "kind": "match",
            "payload": {"text": AWKWARD, "n": i, "nested": [1, None, {"k": AWKWARD}]},
            "match_id": None,
            "status": "sent",
            "attempts": 0,
            "next_attempt_at": now,
            "dedupe_key": key,
            "created_at": now,
            "last_error": AWKWARD if i % 2 else None,
        }
        for i, key in enumerate(keys)
    ]


def _check(
    db: Session, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    monkeypatch.setattr(db_module, "COPY_THRESHOLD", threshold)
    user = make_user("anna")
    table = Notification.__table__
    first = insert_ignoring_conflicts(
        db,
        table,
        _rows(user, ["a", "b", "c"]),
        returning=("id", "dedupe_key"),  # type: ignore[arg-type]
    )
    assert sorted(r.dedupe_key for r in first) == ["a", "b", "c"]
    # "b" exists and "d" appears twice in the batch: each key lands once, no error.
    second = insert_ignoring_conflicts(
        db,
        table,
        _rows(user, ["b", "d", "d", "e"]),
        returning=("dedupe_key",),  # type: ignore[arg-type]
    )
    assert sorted(r.dedupe_key for r in second) == ["d", "e"]
    db.commit()
    stored = db.scalars(select(Notification).order_by(Notification.dedupe_key)).all()
    assert [n.dedupe_key for n in stored] == ["a", "b", "c", "d", "e"]
    assert stored[1].payload["text"] == AWKWARD
    assert stored[1].payload["nested"][2]["k"] == AWKWARD
    assert stored[1].last_error == AWKWARD and stored[0].last_error is None


def test_insert_path(db: Session, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches: one multi-row INSERT ... ON CONFLICT DO NOTHING, on both backends."""
    _check(db, make_user, monkeypatch, threshold=10_000)


def test_copy_path(db: Session, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large batches (PostgreSQL: through COPY) give exactly the same result."""
    _check(db, make_user, monkeypatch, threshold=1)


def test_batches_path(db: Session, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches written one after another (PostgreSQL: encoded while the previous one inserts)."""
    monkeypatch.setattr(db_module, "COPY_THRESHOLD", 1)
    user = make_user("anna")
    table = Notification.__table__
    batches = [_rows(user, ["a", "b"]), [], _rows(user, ["b", "c", "c"]), _rows(user, ["d"])]
    inserted = insert_batches_ignoring_conflicts(
        db,
        table,  # type: ignore[arg-type]
        iter(batches),
        returning=("dedupe_key",),
    )
    # a key met again in a later batch (or twice in one) is skipped, as in one batch
    assert [[r.dedupe_key for r in rows] for rows in inserted] == [["a", "b"], ["c"], ["d"]]
    db.commit()
    stored = db.scalars(select(Notification).order_by(Notification.dedupe_key)).all()
    assert [n.dedupe_key for n in stored] == ["a", "b", "c", "d"]
    assert stored[2].payload["nested"][2]["k"] == AWKWARD
    assert stored[1].last_error == AWKWARD and stored[0].last_error is None


def test_batches_failure_writes_nothing(
    db: Session, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch the database refuses fails the call; rolled back, no batch is left stored."""
    monkeypatch.setattr(db_module, "COPY_THRESHOLD", 1)
    user = make_user("anna")
    db.commit()
    bad = _rows(user, ["c"])
    bad[0]["user_id"] = user.id + 1000  # no such user: the foreign key refuses it
    with pytest.raises(DBAPIError):
        list(
            insert_batches_ignoring_conflicts(
                db,
                Notification.__table__,  # type: ignore[arg-type]
                iter([_rows(user, ["a", "b"]), bad, _rows(user, ["d"])]),
            )
        )
    db.rollback()
    assert db.scalars(select(Notification)).all() == []

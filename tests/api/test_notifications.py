"""The web inbox: listing your notifications and marking them read."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Notification, User
from freemarket.domain import notifications
from freemarket.domain.notifications import OutboxMessage
from tests.conftest import MakeUser


def test_inbox_lists_mine_and_marks_them_read(
    client: TestClient,
    db: Session,
    make_user: MakeUser,
    auth_headers: Callable[[User], dict[str, str]],
) -> None:
    """Anna sees only her notices; marking read touches hers, not Boris's."""
    anna, boris = make_user("anna"), make_user("boris")
    notifications.enqueue(
        db,
        [
            OutboxMessage(user=anna, kind="match", payload={"want_title": "a"}, dedupe_key="a1"),
            OutboxMessage(user=anna, kind="match", payload={"want_title": "b"}, dedupe_key="a2"),
            OutboxMessage(user=boris, kind="match", payload={"want_title": "c"}, dedupe_key="b1"),
        ],
    )
    db.commit()
    headers = auth_headers(anna)
    inbox = client.get("/api/notifications", headers=headers)
    assert inbox.status_code == 200
    assert [n["payload"]["want_title"] for n in inbox.json()] == ["b", "a"]
    assert all(n["read_at"] is None for n in inbox.json())
    marked = client.post("/api/notifications/read", headers=headers)
    assert marked.status_code == 200 and marked.json()["detail"].startswith("marked 2")
    assert all(n["read_at"] for n in client.get("/api/notifications", headers=headers).json())
    db.expire_all()
    unread = db.scalars(select(Notification.user_id).where(Notification.read_at.is_(None)))
    assert list(unread) == [boris.id]
    assert client.post("/api/notifications/read").status_code == 401

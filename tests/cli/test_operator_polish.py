"""The CLI as an operator meets it: choices, empty queues, who is on which side, channels."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from freemarket.db.models import NOTIFICATION_STATUSES, Notification
from tests.cli.conftest import Run
from tests.conftest import MakeUser


def test_enumerated_options_offer_their_choices(run: Run) -> None:
    for args, choices in [
        (("user", "create", "zed", "--language", "de"), "'ru', 'en'"),
        (("report", "list", "--status", "closed"), "'open', 'resolved', 'dismissed', 'all'"),
        (("report", "resolve", "1", "--action", "nuke"), "'dismiss', 'hide-item', 'ban-user'"),
        (("notifications", "list", "--status", "x"), "'pending', 'sending', 'sent', 'failed'"),
        (("notifications", "list", "--channel", "sms"), "'web', 'telegram'"),
        (("notifications", "retry", "--status", "sent"), "'failed', 'dead', 'skipped'"),
        (("notifications", "purge", "--status", "failed"), "'sent', 'dead', 'skipped'"),
    ]:
        result = run(*args)
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1 and choices in result.err, result.err


def test_report_list_says_when_the_queue_is_empty(run: Run) -> None:
    empty = run("report", "list")
    assert empty.code == 0
    assert empty.out.strip() == "No open reports: the moderation queue is empty."


def test_report_list_names_the_item_and_the_people(
    run: Run, db: Session, make_user: MakeUser
) -> None:
    from freemarket.domain import items, reports

    anna, boris = make_user("anna"), make_user("boris")
    item = items.create_item(db, owner=boris, kind="offer", category="books", title="Книги")
    reports.create_report(db, reporter=anna, item_id=item.id, reason="spam")
    db.commit()
    shown = run("report", "list", "--json").json()
    assert [(r["item"], r["reported user"], r["reporter"]) for r in shown] == [
        ("Книги", "boris", "anna")
    ]


def test_stats_tells_web_inbox_and_telegram_apart(
    run: Run, db: Session, make_user: MakeUser
) -> None:
    anna = make_user("anna", telegram_id=42)
    db.add_all(
        [
            Notification(
                user_id=anna.id,
                channel=channel,
                kind="match",
                payload={},
                status=status,
                dedupe_key=f"test:{channel}",
            )
            for channel, status in (("web", "sent"), ("telegram", "pending"))
        ]
    )
    db.commit()
    table = run("stats")
    assert table.code == 0, table.err
    assert "notifications (web inbox) sent" in table.out
    assert "notifications (Telegram) pending" in table.out
    figures = run("stats", "--json").json()
    assert figures["notifications_by_channel"] == {"web": {"sent": 1}, "telegram": {"pending": 1}}


def test_notification_choices_are_the_outbox_statuses() -> None:
    from cli.notifications import PurgeStatus, RetryStatus, Status

    assert tuple(Status) == NOTIFICATION_STATUSES
    assert set(RetryStatus) | set(PurgeStatus) <= set(NOTIFICATION_STATUSES)


def test_notifications_list_filters_by_status_and_channel(
    run: Run, db: Session, make_user: MakeUser
) -> None:
    anna = make_user("anna", telegram_id=42)
    db.add_all(
        Notification(
            user_id=anna.id,
            channel=channel,
            kind="match",
            payload={},
            status=status,
            dedupe_key=f"test:{channel}",
        )
        for channel, status in (("web", "sent"), ("telegram", "pending"))
    )
    db.commit()
    shown = run("notifications", "list", "--status", "pending", "--json").json()
    assert [(r["channel"], r["status"]) for r in shown] == [("telegram", "pending")]
    shown = run("notifications", "list", "--channel", "web", "--json").json()
    assert [(r["channel"], r["status"]) for r in shown] == [("web", "sent")]


def test_deploy_status_table_starts_with_each_container_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The id is what a replica answers in X-Served-By: the text table shows it, not only --json."""
    import cli.deploy
    from freemarket.ops import deploy

    container = {
        "service": "backend",
        "name": "freemarket-backend-1",
        "id": "0123456789ab",
        "state": "running",
        "health": "healthy",
        "tag": "aaa",
    }
    status: dict[str, Any] = {
        "current": "aaa",
        "previous": None,
        "history": [],
        "containers": [container],
        "docker": "ok",
        "maintenance": False,
    }
    monkeypatch.setattr(deploy, "status", lambda options: status)
    monkeypatch.setattr(cli.deploy, "deploy_options", lambda compose_file: None)
    cli.deploy.status(compose_file=None, json_output=False)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "service" in line and "health" in line)
    row = next(line for line in lines if "freemarket-backend-1" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert header.strip("┃ ").split("┃")[0].strip() == "id"
    assert cells[:3] == ["0123456789ab", "backend", "freemarket-backend-1"]

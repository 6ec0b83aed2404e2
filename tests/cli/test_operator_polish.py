"""The CLI as an operator meets it: choices, empty queues, who is on which side, channels."""

from __future__ import annotations

from sqlalchemy.orm import Session

from freemarket.db.models import Notification
from tests.cli.conftest import Run
from tests.conftest import MakeUser


def test_enumerated_options_offer_their_choices(run: Run) -> None:
    for args, choices in [
        (("user", "create", "zed", "--language", "de"), "'ru', 'en'"),
        (("report", "list", "--status", "closed"), "'open', 'resolved', 'dismissed', 'all'"),
        (("report", "resolve", "1", "--action", "nuke"), "'dismiss', 'hide-item', 'ban-user'"),
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

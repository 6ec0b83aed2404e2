"""Delivering the Telegram outbox through a fake Bot API server speaking the real protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.bot import delivery
from freemarket.db.models import Notification, utcnow
from freemarket.domain import notifications
from freemarket.domain.notifications import OutboxMessage
from tests.conftest import MakeUser
from tests.fakes.telegram import FakeTelegram, error, fake_telegram


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server for the test."""
    with fake_telegram() as fake:
        yield fake


def _deliver(engine: Engine, fake: FakeTelegram) -> delivery.DeliveryResult:
    async def run() -> delivery.DeliveryResult:
        bot = delivery.make_bot(fake.token, fake.url)
        try:
            return await delivery.deliver_once(
                engine, delivery.aiogram_sender(bot), public_url="https://market.example"
            )
        finally:
            await bot.session.close()  # type: ignore[attr-defined]

    return asyncio.run(run())


def _notify(db: Session, make_user: MakeUser, *, telegram_id: int | None = 777) -> int:
    user = make_user("anna", telegram_id=telegram_id, language="ru")
    notifications.enqueue(
        db,
        [
            OutboxMessage(
                user=user,
                kind="match",
                payload={
                    "want_title": "велосипед",
                    "offer_title": "Stels",
                    "score": 0.5,
                    "want_item_id": 1,
                    "offer_item_id": 2,
                },
                dedupe_key="match:1:2",
            )
        ],
    )
    db.commit()
    row = db.scalar(select(Notification).where(Notification.channel == "telegram"))
    assert row is not None
    return row.id


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_pending_message_is_sent_once(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """A due notification reaches Telegram once, in the user's language, and is marked sent."""
    notification_id = _notify(db, make_user)
    sent_before = _counter("freemarket_notifications_sent_total")
    assert _deliver(engine, telegram).sent == 1
    assert _deliver(engine, telegram).sent == 0  # nothing due any more: never twice
    messages = telegram.sent_messages()
    assert len(messages) == 1
    assert messages[0].params["chat_id"] == "777"
    assert "велосипед" in messages[0].params["text"]
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None and row.status == "sent" and row.sent_at is not None
    assert _counter("freemarket_notifications_sent_total") == sent_before + 1
    # The web inbox copy was delivered when it was written.
    web = db.scalar(select(Notification).where(Notification.channel == "web"))
    assert web is not None and web.status == "sent"


def test_same_event_is_never_queued_twice(db: Session, make_user: MakeUser) -> None:
    """Enqueuing the same dedupe key again writes nothing."""
    _notify(db, make_user)
    user = db.scalar(select(Notification.user_id))
    assert user is not None
    again = notifications.enqueue(
        db,
        [
            OutboxMessage(
                user=db.get(type(make_user("boris")), user),
                kind="match",  # type: ignore[arg-type]
                payload={},
                dedupe_key="match:1:2",
            )
        ],
    )
    assert again == 0


def test_server_error_is_retried_with_backoff(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """A 500 from Telegram leaves the row failed, with a later attempt scheduled."""
    notification_id = _notify(db, make_user)
    telegram.behaviours["sendMessage"] = lambda *_: error(500, "Internal Server Error")
    failed_before = _counter("freemarket_notifications_failed_total")
    errors_before = _counter("freemarket_telegram_api_errors_total")
    result = _deliver(engine, telegram)
    assert (result.sent, result.failed, result.dead) == (0, 1, 0)
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None and row.status == "failed" and row.attempts == 1
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert "Internal Server Error" in (row.last_error or "")
    assert _counter("freemarket_notifications_failed_total") == failed_before + 1
    total_errors = sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "freemarket_telegram_api_errors"
        for s in metric.samples
        if s.name.endswith("_total")
    )
    assert total_errors >= errors_before + 1
    # Not due yet: a second pass sends nothing.
    assert _deliver(engine, telegram).failed == 0


def test_blocked_bot_is_dead_not_retried(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """403 (the user blocked the bot) is permanent: the row is dead after one attempt."""
    notification_id = _notify(db, make_user)
    telegram.behaviours["sendMessage"] = lambda *_: error(
        403, "Forbidden: bot was blocked by the user"
    )
    assert _deliver(engine, telegram).dead == 1
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None and row.status == "dead" and row.attempts == 1


def test_retry_after_is_respected(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """429 with retry_after schedules the next attempt that far ahead."""
    notification_id = _notify(db, make_user)
    telegram.behaviours["sendMessage"] = lambda *_: error(
        429, "Too Many Requests: retry after 120", retry_after=120
    )
    assert _deliver(engine, telegram).failed == 1
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None
    assert utcnow() + timedelta(seconds=100) < row.next_attempt_at
    assert row.next_attempt_at < utcnow() + timedelta(seconds=140)


def test_gives_up_after_max_attempts(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """After MAX_ATTEMPTS transient failures the row is dead."""
    notification_id = _notify(db, make_user)
    telegram.behaviours["sendMessage"] = lambda *_: error(502, "Bad Gateway")
    for _ in range(delivery.MAX_ATTEMPTS):
        db.expire_all()
        row = db.get(Notification, notification_id)
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.commit()
        _deliver(engine, telegram)
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None and row.status == "dead" and row.attempts == delivery.MAX_ATTEMPTS
    assert len(telegram.sent_messages()) == delivery.MAX_ATTEMPTS


def test_interrupted_send_is_not_repeated(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """A row left `sending` by a dead sender is given up, never sent a second time."""
    notification_id = _notify(db, make_user)
    row = db.get(Notification, notification_id)
    assert row is not None
    row.status = "sending"
    row.next_attempt_at = utcnow() - delivery.STALE_SENDING - timedelta(seconds=1)
    db.commit()
    assert _deliver(engine, telegram).sent == 0
    assert telegram.sent_messages() == []
    db.expire_all()
    row = db.get(Notification, notification_id)
    assert row is not None and row.status == "dead" and "unknown" in (row.last_error or "")


def test_user_without_telegram_is_not_contacted(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """No telegram_id: no Telegram row is written at all (the web inbox has it)."""
    user = make_user("boris")
    written = notifications.enqueue(
        db, [OutboxMessage(user=user, kind="match", payload={}, dedupe_key="m:9")]
    )
    db.commit()
    assert written == 1
    assert db.scalar(select(Notification.channel)) == "web"
    assert _deliver(engine, telegram).sent == 0
    assert telegram.calls == []

"""What each person asked for, applied at delivery: digest of bursts, quiet hours, off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.bot import delivery
from freemarket.db.models import Notification, User, utcnow
from freemarket.domain import notifications, preferences, users
from freemarket.domain.notifications import OutboxMessage
from tests.conftest import MakeUser
from tests.fakes.telegram import FakeTelegram

PUBLIC_URL = "https://market.example"


def _deliver(engine: Engine, fake: FakeTelegram) -> delivery.DeliveryResult:
    async def run() -> delivery.DeliveryResult:
        bot = delivery.make_bot(fake.token, fake.url)
        try:
            return await delivery.deliver_once(
                engine, delivery.aiogram_sender(bot), public_url=PUBLIC_URL
            )
        finally:
            await bot.session.close()  # type: ignore[attr-defined]

    return asyncio.run(run())


def _matches(db: Session, user: User, count: int, *, start: int = 0) -> None:
    notifications.enqueue(
        db,
        [
            OutboxMessage(
                user=user,
                kind="match",
                payload={
                    "want_item_id": 1,
                    "want_title": "велосипед",
                    "offer_item_id": 100 + i,
                    "offer_title": f"Stels {i}",
                    "score": 0.5,
                },
                dedupe_key=f"match:1:{100 + i}",
            )
            for i in range(start, start + count)
        ],
    )
    db.commit()


def _telegram_rows(db: Session) -> list[Notification]:
    db.expire_all()
    return list(
        db.scalars(
            select(Notification).where(Notification.channel == "telegram").order_by(Notification.id)
        )
    )


def test_a_burst_becomes_one_digest(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """Five new matches at once: one message counting them, every row marked sent."""
    anna = make_user("anna", telegram_id=777, language="ru")
    _matches(db, anna, 5)
    result = _deliver(engine, telegram)
    assert (result.sent, result.messages) == (5, 1)
    [message] = telegram.sent_messages()
    assert message.text.startswith("У вас 5 новых совпадений:")
    assert "«велосипед» ← «Stels 4» (50%)" in message.text
    assert message.button("Все мои совпадения")
    assert {row.status for row in _telegram_rows(db)} == {"sent"}
    # Two more within the window still count as the same burst: one more digest.
    _matches(db, anna, 2, start=5)
    assert _deliver(engine, telegram).messages == 1
    assert telegram.sent_messages()[-1].text.startswith("У вас 2 новых совпадения:")


def test_a_few_matches_come_one_by_one_with_buttons(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """At most DIGEST_AFTER matches are single messages, each with its buttons."""
    boris = make_user("boris", telegram_id=778, language="en")
    _matches(db, boris, delivery.DIGEST_AFTER)
    assert _deliver(engine, telegram).messages == delivery.DIGEST_AFTER
    first = telegram.sent_messages()[0]
    assert first.text.startswith("A match for your want “велосипед”: “Stels 0”")


def test_digest_off_sends_every_match(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """A person who turned the digest off gets each match on its own."""
    anna = make_user("anna", telegram_id=777)
    users.update_user(db, user=anna, changes={"digest_enabled": False})
    db.commit()
    _matches(db, anna, 5)
    assert _deliver(engine, telegram).messages == 5


def test_notifications_off_sends_nothing_but_the_web_inbox_has_it(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """Telegram off: rows become `skipped`, nothing is sent, the web inbox still lists them."""
    anna = make_user("anna", telegram_id=777)
    users.update_user(db, user=anna, changes={"notify_telegram": False})
    db.commit()
    _matches(db, anna, 2)
    result = _deliver(engine, telegram)
    assert (result.skipped, result.messages) == (2, 0)
    assert telegram.sent_messages() == []
    assert {row.status for row in _telegram_rows(db)} == {"skipped"}
    assert len(notifications.inbox(db, user_id=anna.id)) == 2


def test_quiet_hours_hold_messages_until_they_end(
    engine: Engine, db: Session, make_user: MakeUser, telegram: FakeTelegram
) -> None:
    """Inside quiet hours nothing goes out; the rows wait, due at the hour the quiet ends."""
    anna = make_user("anna", telegram_id=777, city="Новосибирск")
    zone = preferences.zone_of(time_zone=None, city=anna.city)
    local_hour = utcnow().astimezone(zone).hour
    # Quiet from now until two hours from now, local time.
    users.update_user(
        db,
        user=anna,
        changes={"quiet_start": local_hour, "quiet_end": (local_hour + 2) % 24},
    )
    db.commit()
    _matches(db, anna, 1)
    result = _deliver(engine, telegram)
    assert (result.held, result.messages) == (1, 0)
    [row] = _telegram_rows(db)
    assert row.status == "pending" and row.attempts == 0
    ends = row.next_attempt_at.astimezone(zone)
    assert (ends.hour, ends.minute) == ((local_hour + 2) % 24, 0)
    assert timedelta(hours=1) <= row.next_attempt_at - utcnow() <= timedelta(hours=2)
    # When they end, the message goes.
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    anna_now = db.get(User, anna.id)
    assert anna_now is not None
    anna_now.quiet_start = anna_now.quiet_end = None
    db.commit()
    assert _deliver(engine, telegram).sent == 1


def test_quiet_hours_across_midnight() -> None:
    """22–8 is quiet at 23:30 and at 03:00 (ending 08:00), not at 12:00."""
    zone = preferences.parse_zone("+03:00")

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 1, 10, hour, minute, tzinfo=zone).astimezone(UTC)

    assert preferences.quiet_until(now=at(23, 30), start=22, end=8, zone=zone) == datetime(
        2026, 1, 11, 5, 0, tzinfo=UTC
    )
    assert preferences.quiet_until(now=at(3), start=22, end=8, zone=zone) == at(8)
    assert preferences.quiet_until(now=at(12), start=22, end=8, zone=zone) is None

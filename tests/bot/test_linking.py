"""An account made on the web or the CLI gets its Telegram through `/start link_<code>`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, Item, User
from freemarket.domain import items, telegram_link
from tests.bot.conftest import ANNA, BORIS, RunningBot


def _code(db: Session, user: User, *, minutes: int = 10) -> str:
    link = telegram_link.issue_link_code(db, actor=user, ttl=timedelta(minutes=minutes))
    db.commit()
    return link.start_payload


def _by_telegram(db: Session, telegram_id: int) -> User | None:
    db.expire_all()
    return db.scalar(select(User).where(User.telegram_id == telegram_id))


def test_start_with_a_link_code_links_the_web_account(
    running_bot: RunningBot, db: Session, make_user: Callable[..., User]
) -> None:
    """The web account (no language yet) gets this Telegram, its @name as contact and language."""
    web = make_user("web_boris")
    assert web.language is None
    reply = running_bot.say(BORIS, f"/start {_code(db, web)}")
    assert "this Telegram account is now linked" in reply.text
    linked = _by_telegram(db, BORIS.id)
    assert linked is not None and linked.id == web.id
    assert (linked.contact, linked.language) == ("@boris_tg", "en")
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(
        select(AuditLog).where(AuditLog.action == "link_telegram", AuditLog.actor_id == web.id)
    )
    # From now on the bot acts as that account: /my lists the web account's items.
    items.create_item(
        db, owner=web, kind="offer", category="bicycles", title="Велосипед", city="Казань"
    )
    db.commit()
    assert "Велосипед" in running_bot.say(BORIS, "/my").text
    # Someone with listings needs no hint about linking a website account.
    assert "Profile → Telegram" not in running_bot.say(BORIS, "/start").text


def test_a_code_works_once_and_not_after_it_expires(
    running_bot: RunningBot, db: Session, make_user: Callable[..., User]
) -> None:
    """A spent, unknown or expired code is refused in the person's language; nothing is linked."""
    web = make_user("web_anna", language="ru")
    payload = _code(db, web)
    running_bot.say(ANNA, f"/start {payload}")
    again = running_bot.say(BORIS, f"/start {payload}")
    assert "invalid or was already used" in again.text
    assert _by_telegram(db, BORIS.id) is None
    stale = _code(db, make_user("web_old"), minutes=-1)
    assert "has expired" in running_bot.say(BORIS, f"/start {stale}").text
    unknown = running_bot.say(ANNA, "/start link_" + "x" * 32)
    assert "неверен или уже использован" in unknown.text
    assert _by_telegram(db, ANNA.id).id == web.id  # type: ignore[union-attr]


def test_an_empty_telegram_account_gives_way_but_one_with_listings_does_not(
    running_bot: RunningBot, db: Session, make_user: Callable[..., User]
) -> None:
    """Pressing /start before linking made an empty account: linking replaces it, not merges."""
    first = running_bot.say(ANNA, "/start")
    assert "Профиль → Telegram → «Привязать Telegram»" in first.text  # how to join them
    early = _by_telegram(db, ANNA.id)
    assert early is not None
    early_id = early.id
    web = make_user("web_anna")
    running_bot.say(ANNA, f"/start {_code(db, web)}")
    assert _by_telegram(db, ANNA.id).id == web.id  # type: ignore[union-attr]
    assert db.get(User, early_id) is None
    # Boris posted from the bot: his Telegram account is his marketplace account; not linked.
    running_bot.say(BORIS, "/start")
    own = _by_telegram(db, BORIS.id)
    assert own is not None
    items.create_item(db, owner=own, kind="offer", category="books", title="Lamp", city="Kazan")
    db.commit()
    other = make_user("web_boris")
    refused = running_bot.say(BORIS, f"/start {_code(db, other)}")
    assert "already has its own FreeMarket account with listings (@boris_tg)" in refused.text
    assert _by_telegram(db, BORIS.id).id == own.id  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Item)) == 1

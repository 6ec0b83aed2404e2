"""The buttons the other tests do not press: see, decline, cancel, new description, pages."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, Item, User
from freemarket.domain import items
from freemarket.matching.worker import MatchWorker
from tests.bot.conftest import ANNA, BORIS, RunningBot


def _person(db: Session, telegram_id: int) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


def test_pages_and_a_new_description(running_bot: RunningBot, db: Session) -> None:
    """Six items make two pages; Next and Back redraw the list; the description is replaced."""
    bot = running_bot
    bot.say(ANNA, "/start")
    anna = _person(db, ANNA.id)
    made = [
        items.create_item(db, owner=anna, kind="offer", category="books", title=f"Книга {n}")
        for n in range(6)
    ]
    db.commit()
    first = bot.say(ANNA, "/my")
    assert "страница 1 из 2" in first.text and "Книга 0" not in first.text  # newest first
    second = bot.press(ANNA, first, "Дальше")
    assert second.method == "editMessageText" and "страница 2 из 2" in second.text
    assert "Книга 0" in second.text
    back = bot.press(ANNA, second, "Назад")
    assert "страница 1 из 2" in back.text
    menu = bot.press(ANNA, bot.say(ANNA, "/my"), f"Изменить №{made[5].id}")
    prompt = bot.press(ANNA, menu, "Новое описание")
    assert prompt.text == "Пришлите новое описание для «Книга 5»."
    assert (
        bot.say(ANNA, "Твёрдая обложка").text
        == "Сохранено: Книга 5. Совпадения будут подобраны заново."
    )
    db.expire_all()
    assert db.get(Item, made[5].id).description == "Твёрдая обложка"  # type: ignore[union-attr]


def test_see_decline_and_cancel(running_bot: RunningBot, db: Session) -> None:
    """ "See the match" shows it; a proposal can be declined, and an agreed one cancelled."""
    bot = running_bot
    bot.say(ANNA, "/start")
    bot.say(BORIS, "/start")
    anna, boris = _person(db, ANNA.id), _person(db, BORIS.id)
    items.create_item(
        db,
        owner=anna,
        kind="offer",
        category="bicycles",
        title="Велосипед Stels горный",
        city="Москва",
    )
    items.create_item(
        db,
        owner=boris,
        kind="want",
        category="bicycles",
        title="Горный велосипед Stels",
        city="Москва",
    )
    db.commit()
    mark = bot.telegram.mark()
    MatchWorker(bot.engine, bot.settings).run_until_idle()
    told = bot.telegram.wait_for(lambda c: "A match for" in c.text, after=mark)
    seen = bot.press(BORIS, told, "See the match")
    assert seen.text.startswith("“Горный велосипед Stels” ↔ “Велосипед Stels горный”")
    assert seen.button("Propose exchange") and seen.button("Not interested")

    mark = bot.telegram.mark()
    bot.press(BORIS, seen, "Propose exchange")
    asked = bot.telegram.wait_for(lambda c: "предлагает обмен" in c.text, after=mark)
    mark = bot.telegram.mark()
    declined = bot.press(ANNA, asked, "Отказаться")
    assert "отклонён" in declined.text and not declined.buttons
    bot.telegram.wait_for(lambda c: "Anna declined exchange" in c.text, after=mark)
    # A late press on the old buttons is answered with the state as it is now.
    late = bot.press(ANNA, asked, "Согласиться")
    assert late.text == "Этот обмен так изменить уже нельзя: он отклонён."

    mark = bot.telegram.mark()
    bot.press(BORIS, seen, "Propose exchange")
    asked = bot.telegram.wait_for(lambda c: "предлагает обмен" in c.text, after=mark)
    agreed = bot.press(ANNA, asked, "Согласиться")
    mark = bot.telegram.mark()
    cancelled = bot.press(ANNA, agreed, "Отменить обмен")
    assert "отменён" in cancelled.text
    bot.telegram.wait_for(lambda c: "Anna cancelled exchange" in c.text, after=mark)
    db.expire_all()
    assert sorted(e.status for e in db.scalars(select(Exchange))) == ["cancelled", "declined"]


def test_digest_button_lists_the_matches(running_bot: RunningBot, db: Session) -> None:
    """A digest's "All my matches" opens the /matches list."""
    bot = running_bot
    bot.say(BORIS, "/start")
    bot.say(ANNA, "/start")
    anna, boris = _person(db, ANNA.id), _person(db, BORIS.id)
    # Five wants of Boris that one offer of Anna fits: five loud matches at once.
    items.create_item(
        db,
        owner=anna,
        kind="offer",
        category="bicycles",
        title="Велосипед Stels горный",
        city="Москва",
    )
    for n in range(5):
        items.create_item(
            db,
            owner=boris,
            kind="want",
            category="bicycles",
            title="Горный велосипед Stels",
            description=f"для поездки {n}",
            city="Москва",
        )
    db.commit()
    mark = bot.telegram.mark()
    MatchWorker(bot.engine, bot.settings).run_until_idle()
    digest = bot.telegram.wait_for(lambda c: "new matches for you" in c.text, after=mark)
    # One digest (two when delivery ran while the worker was between two batches).
    assert re.match(r"^[45] new matches for you:", digest.text), digest.text
    listing = bot.press(BORIS, digest, "All my matches")
    assert listing.text.startswith("Your matches (5), page 1 of 1:")

"""/my, /matches, /trades, /exchanges, /settings and deep links, each as a conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, Item, MatchDismissal, User
from freemarket.domain import items
from freemarket.matching.worker import MatchWorker
from tests.bot.conftest import ANNA, BORIS, RunningBot


def _person(db: Session, telegram_id: int) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


def _swap(bot: RunningBot, db: Session) -> tuple[Item, ...]:
    """Anna offers a bike and wants a tent; Boris the other way round; matched by the worker."""
    bot.say(ANNA, "/start")
    bot.say(BORIS, "/start")
    anna, boris = _person(db, ANNA.id), _person(db, BORIS.id)
    made = (
        items.create_item(
            db,
            owner=anna,
            kind="offer",
            category="bicycles",
            title="Велосипед Stels горный",
            city="Москва",
        ),
        items.create_item(
            db,
            owner=anna,
            kind="want",
            category="sports",
            title="Палатка туристическая",
            city="Москва",
        ),
        items.create_item(
            db,
            owner=boris,
            kind="offer",
            category="sports",
            title="Туристическая палатка",
            city="Москва",
        ),
        items.create_item(
            db,
            owner=boris,
            kind="want",
            category="bicycles",
            title="Горный велосипед Stels",
            city="Москва",
        ),
    )
    db.commit()
    mark = bot.telegram.mark()
    MatchWorker(bot.engine, bot.settings).run_until_idle()
    # Let both match notifications arrive first, so they do not interleave with the replies.
    for person, text in ((ANNA, "Совпадение для"), (BORIS, "A match for")):
        bot.telegram.wait_for(
            lambda c, p=person, t=text: c.chat_id == p.id and t in c.text, after=mark
        )
    return made


def test_my_items_hide_show_and_edit(running_bot: RunningBot, db: Session) -> None:
    """/my lists your items; Hide and Show go through the domain; Edit changes the title."""
    bot = running_bot
    assert bot.say(BORIS, "/my").text.startswith("You have no items yet")
    bike, *_ = _swap(bot, db)
    listing = bot.say(ANNA, "/my")
    assert listing.text.startswith("Ваши объявления (2), страница 1 из 1:")
    assert f"предлагаю №{bike.id}: Велосипед Stels горный — видно всем" in listing.text
    hidden = bot.press(ANNA, listing, f"Скрыть №{bike.id}")
    assert hidden.text.startswith("Скрыто: Велосипед Stels горный")
    db.expire_all()
    assert db.get(Item, bike.id).active is False  # type: ignore[union-attr]
    relisted = bot.say(ANNA, "/my")
    bot.press(ANNA, relisted, f"Показать №{bike.id}")
    db.expire_all()
    assert db.get(Item, bike.id).active is True  # type: ignore[union-attr]
    menu = bot.press(ANNA, bot.say(ANNA, "/my"), f"Изменить №{bike.id}")
    prompt = bot.press(ANNA, menu, "Новое название")
    assert prompt.text == "Пришлите новое название для «Велосипед Stels горный»."
    assert bot.say(ANNA, "x").text.startswith("Название — это текст")
    assert bot.say(ANNA, "Велосипед Stels Navigator").text.startswith("Сохранено")
    db.expire_all()
    assert db.get(Item, bike.id).title == "Велосипед Stels Navigator"  # type: ignore[union-attr]


def test_matches_trades_and_not_interested(running_bot: RunningBot, db: Session) -> None:
    """/matches shows scores and shared words; /trades the swap; "Not interested" hides one."""
    bot = running_bot
    assert bot.say(ANNA, "/matches").text.startswith("Совпадений пока нет")
    assert bot.say(ANNA, "/trades").text.startswith("Обменов вдвоём или втроём")
    _swap(bot, db)
    matches = bot.say(BORIS, "/matches")
    assert matches.text.startswith("Your matches (2), page 1 of 1:")
    assert "“Горный велосипед Stels” ↔ “Велосипед Stels горный”" in matches.text
    assert "shared words:" in matches.text
    trades = bot.say(BORIS, "/trades")
    assert trades.text.startswith("Swaps and 3-way trades for you:")
    assert "1. Swap with Anna" in trades.text
    assert "Anna → Boris: Велосипед Stels горный" in trades.text
    proposed = bot.press(BORIS, trades, "Propose #1")
    assert "Proposed: exchange #" in proposed.text and "(swap)" in proposed.text
    exchange = db.scalar(select(Exchange))
    assert exchange is not None and exchange.kind == "swap"
    hidden = bot.press(BORIS, bot.say(BORIS, "/matches"), "Not interested")
    assert hidden.text.startswith("Hidden. I will not show you")
    assert db.scalar(select(MatchDismissal.user_id)) == _person(db, BORIS.id).id
    assert bot.say(BORIS, "/matches").text.startswith("Your matches (1)")


def test_exchanges_list_and_deep_links(running_bot: RunningBot, db: Session) -> None:
    """/exchanges lists yours; /start exchange_<id> and item_<id> open them; others see nothing."""
    bot = running_bot
    assert bot.say(ANNA, "/exchanges").text.startswith("У вас пока нет обменов")
    bike, *_ = _swap(bot, db)
    mark = bot.telegram.mark()
    bot.press(BORIS, bot.say(BORIS, "/trades"), "Propose #1")
    bot.telegram.wait_for(lambda c: "предлагает обмен" in c.text, after=mark)
    exchange = db.scalar(select(Exchange))
    assert exchange is not None
    listing = bot.say(ANNA, "/exchanges")
    assert f"№{exchange.id} вдвоём — предложен, ждём ответов" in listing.text
    card = bot.press(ANNA, listing, f"№{exchange.id}")
    assert card.button("Согласиться") and card.button("Отказаться")
    opened = bot.say(ANNA, f"/start exchange_{exchange.id}")
    assert opened.text.startswith(f"Обмен №{exchange.id} (вдвоём)")
    item = bot.say(BORIS, f"/start item_{bike.id}")
    assert item.text.startswith(f"Offer #{bike.id}: Велосипед Stels горный")
    assert "Bicycles" in item.text
    stranger = bot.say(
        type(ANNA)(id=5999, first_name="Eve", language_code="en"), f"/start exchange_{exchange.id}"
    )
    assert stranger.text == "This exchange does not exist or is not yours."
    login = bot.say(BORIS, "/start login")
    assert "/login?code=" in login.text


def test_settings_toggles_quiet_hours_and_time_zone(running_bot: RunningBot, db: Session) -> None:
    """/settings: notifications and digest toggles, a quiet-hours preset, a typed time zone."""
    bot = running_bot
    panel = bot.say(BORIS, "/settings")
    assert "Notifications in Telegram: on" in panel.text
    assert "Time zone: Europe/Moscow (from your city)" in panel.text
    off = bot.press(BORIS, panel, "Notifications: on")
    assert "Notifications in Telegram: off" in off.text
    assert _person(db, BORIS.id).notify_telegram is False
    digest = bot.press(BORIS, off, "Digest of bursts: on")
    assert "Digest of bursts: off" in digest.text
    quiet_menu = bot.press(BORIS, digest, "Quiet hours")
    assert quiet_menu.text.startswith("When should I keep quiet?")
    quiet = bot.press(BORIS, quiet_menu, "23:00–07:00")
    assert "Quiet hours: 23:00–07:00" in quiet.text
    person = _person(db, BORIS.id)
    assert (person.quiet_start, person.quiet_end, person.digest_enabled) == (23, 7, False)
    ask = bot.press(BORIS, quiet, "Time zone")
    assert ask.text.startswith("Send your time zone")
    assert bot.say(BORIS, "Mars/Olympus").text.startswith("I do not know that time zone")
    saved = bot.say(BORIS, "+5")
    assert "Time zone: +05:00" in saved.text
    assert _person(db, BORIS.id).time_zone == "+05:00"
    no_quiet = bot.press(BORIS, bot.press(BORIS, saved, "Quiet hours"), "No quiet hours")
    assert "Quiet hours: none" in no_quiet.text

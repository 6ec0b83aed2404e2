"""/offer and /want step by step: validation, /cancel, and a bot restart in the middle."""

from __future__ import annotations

import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.bot.dispatcher import make_storage
from freemarket.db.models import Item, Job, User
from freemarket.infra.settings import Settings
from tests.bot.conftest import ANNA, BORIS, PUBLIC_URL, REDIS_URL, RunningBot
from tests.fakes.telegram import FakeTelegram


def _items(db: Session) -> list[Item]:
    db.expire_all()
    return list(db.scalars(select(Item).order_by(Item.id)))


def test_offer_dialogue_posts_through_the_domain(running_bot: RunningBot, db: Session) -> None:
    """Title → category → description → city → delivery → confirm: an item and its job."""
    bot = running_bot
    assert bot.say(ANNA, "/offer").text.startswith("Что вы предлагаете?")
    categories = bot.say(ANNA, "Велосипед Stels, горный")
    assert categories.text == "Выберите категорию:"
    description = bot.press(ANNA, categories, "Велосипеды")
    assert description.text.startswith("Опишите вещь")
    city = bot.say(ANNA, "26 дюймов, 21 скорость")
    assert city.text == "В каком городе?"
    delivery = bot.say(ANNA, "Москва")
    assert delivery.text == "Можете отправить в другой город?"
    confirm = bot.press(ANNA, delivery, "Да")
    assert "Предлагаю: Велосипед Stels, горный" in confirm.text
    assert "Категория: Велосипеды" in confirm.text
    assert "Отправка в другие города: да" in confirm.text
    assert _items(db) == []  # nothing is written before "Post"
    posted = bot.press(ANNA, confirm, "Опубликовать")
    [item] = _items(db)
    assert posted.text.startswith("Опубликовано: Велосипед Stels, горный")
    assert f"{PUBLIC_URL}/items/{item.id}" in posted.text
    assert (item.kind, item.category, item.city, item.delivery) == (
        "offer",
        "bicycles",
        "Москва",
        True,
    )
    assert item.description == "26 дюймов, 21 скорость"
    assert db.scalar(select(Job).where(Job.payload["item_id"].as_integer() == item.id))
    # The city is remembered: the next dialogue offers it as a button.
    owner = db.scalar(select(User).where(User.telegram_id == ANNA.id))
    assert owner is not None and owner.city == "Москва"
    bot.say(ANNA, "/want")
    keyboard = bot.say(ANNA, "Шлем")
    skip = bot.press(ANNA, bot.press(ANNA, keyboard, "Велосипеды"), "Пропустить")
    assert "Нажмите кнопку «Москва»" in skip.text
    confirm = bot.press(ANNA, skip, "Москва")
    assert "Ищу: Шлем" in confirm.text and "Описание: —" in confirm.text
    assert "Отправка" not in confirm.text  # wants have no delivery step
    bot.press(ANNA, confirm, "Опубликовать")
    assert [i.kind for i in _items(db)] == ["offer", "want"]


def test_invalid_input_is_explained_and_cancel_leaves_nothing(
    running_bot: RunningBot, db: Session
) -> None:
    """A too-short title, typed category, too-long city are explained; /cancel ends it."""
    bot = running_bot
    bot.say(BORIS, "/want")
    assert bot.say(BORIS, "x").text.startswith("A title is 2 to 200 characters")
    categories = bot.say(BORIS, "A road bike")
    assert bot.say(BORIS, "bicycles").text.startswith("Please pick a category")
    description = bot.press(BORIS, categories, "Bicycles")
    assert description.text.startswith("Describe it")
    city = bot.press(BORIS, description, "Skip")
    assert bot.say(BORIS, "x" * 101).text.startswith("A city name is 1 to 100 characters")
    assert city.text == "Which city is it in?"
    assert bot.say(BORIS, "/cancel").text == "Cancelled. Nothing was saved."
    assert bot.say(BORIS, "Berlin").text.startswith("I only understand commands")
    assert bot.say(BORIS, "/cancel").text == "There is nothing to cancel."
    assert _items(db) == []
    # The Cancel button at the last step works the same way.
    bot.say(BORIS, "/want")
    description = bot.press(BORIS, bot.say(BORIS, "Helmet"), "Sport")
    assert bot.press(BORIS, description, "Skip").text == "Which city is it in?"
    confirm = bot.say(BORIS, "Berlin")
    assert "Want: Helmet" in confirm.text
    assert bot.press(BORIS, confirm, "Cancel").text == "Cancelled. Nothing was saved."
    assert _items(db) == []


def test_dialogue_survives_a_restart_in_redis(
    engine: Engine,
    db: Session,
    bot_settings: Settings,
    telegram: FakeTelegram,
    redis_prefix: str,
) -> None:
    """The bot stops mid-dialogue and starts again: the answers so far are still there."""
    settings = bot_settings.model_copy(update={"redis_url": REDIS_URL})
    bot = RunningBot(
        engine, settings, telegram, lambda: make_storage(REDIS_URL, prefix=redis_prefix)
    ).start()
    try:
        bot.say(ANNA, "/offer")
        description = bot.press(ANNA, bot.say(ANNA, "Палатка на троих"), "Спорт")
        assert description.text.startswith("Опишите вещь")
    finally:
        bot.shutdown()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k.decode() for k in client.scan_iter(f"{redis_prefix}:*")]
        assert any(k.endswith(":state") for k in keys), keys
        bot = RunningBot(
            engine, settings, telegram, lambda: make_storage(REDIS_URL, prefix=redis_prefix)
        ).start()
        try:
            city = bot.say(ANNA, "Почти новая")
            assert city.text == "В каком городе?"
            delivery = bot.say(ANNA, "Казань")
            posted = bot.press(ANNA, bot.press(ANNA, delivery, "Нет"), "Опубликовать")
            assert posted.text.startswith("Опубликовано: Палатка на троих")
        finally:
            bot.shutdown()
        [item] = _items(db)
        assert (item.title, item.category, item.description, item.city) == (
            "Палатка на троих",
            "sports",
            "Почти новая",
            "Казань",
        )
    finally:
        for key in client.scan_iter(f"{redis_prefix}:*"):
            client.delete(key)
        client.close()

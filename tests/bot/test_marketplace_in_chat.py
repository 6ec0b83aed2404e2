"""Done when: two people who never saw the web UI trade entirely inside Telegram.

Both /start the bot, post an offer and a matching want through the dialogues, the worker
matches them, the one who wants is told once, within seconds, in their language, with
buttons; they agree, complete and rate through buttons, see each other's contact once agreed,
and /login gives a link that signs in to the web UI (checked through the real API).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.db.models import Exchange, Item, Rating, User
from freemarket.matching.worker import MatchWorker
from tests.bot.conftest import ANNA, BORIS, RunningBot
from tests.fakes.telegram import Call, Person

DELIVERY_SECONDS = 5.0


def _post(bot: RunningBot, person: Person, command: str, title: str, category: str) -> None:
    bot.say(person, command)
    description = bot.press(person, bot.say(person, title), category)
    city = bot.say(person, "Горный, 21 скорость, 26 дюймов")
    assert description is not None
    after_city = bot.say(person, "Москва")
    if command == "/offer":
        after_city = bot.press(person, after_city, "Нет" if person is ANNA else "No")
    bot.press(person, after_city, "Опубликовать" if person is ANNA else "Post")
    del city


def _notification(bot: RunningBot, person: Person, text: str, *, after: int) -> Call:
    return bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == person.id and text in c.text,
        after=after,
        timeout=DELIVERY_SECONDS,
    )


def test_two_strangers_trade_without_leaving_telegram(running_bot: RunningBot, db: Session) -> None:
    bot = running_bot
    assert "Здравствуйте, Anna" in bot.say(ANNA, "/start").text
    assert "Hello, Boris" in bot.say(BORIS, "/start").text
    _post(bot, ANNA, "/offer", "Велосипед Stels горный", "Велосипеды")
    _post(bot, BORIS, "/want", "Горный велосипед Stels", "Bicycles")

    # The worker matches them; Boris (who wants) is told, in English, with buttons.
    mark = bot.telegram.mark()
    worker = MatchWorker(bot.engine, bot.settings)
    assert worker.run_until_idle().added == 1
    told = _notification(bot, BORIS, "A match for your want", after=mark)
    assert "“Горный велосипед Stels”: “Велосипед Stels горный” from Anna" in told.text
    for label in ("See the match", "Propose exchange", "Not interested"):
        assert told.button(label)
    # Told once: another pass of the worker and of delivery says nothing new.
    worker.run_until_idle()
    bot.say(BORIS, "/help")
    assert sum("A match for your want" in c.text for c in bot.telegram.messages_to(BORIS.id)) == 1
    assert not any("Совпадение для" in c.text for c in bot.telegram.messages_to(ANNA.id))

    # Boris proposes from the notification; Anna is asked in Russian, with accept/decline.
    mark = bot.telegram.mark()
    proposed = bot.press(BORIS, told, "Propose exchange")
    assert "Proposed: exchange #" in proposed.text
    assert "You get “Велосипед Stels горный” from Anna." in proposed.text
    asked = _notification(bot, ANNA, "предлагает обмен", after=mark)
    assert "Boris предлагает обмен" in asked.text
    assert "Вы отдаёте «Велосипед Stels горный» — Boris." in asked.text
    assert "Ответьте в течение 72 часов." in asked.text
    assert "@boris_tg" not in asked.text  # no contact before everyone agreed

    # Anna accepts: her card now shows Boris's contact; Boris is told, with Anna's.
    mark = bot.telegram.mark()
    accepted = bot.press(ANNA, asked, "Согласиться")
    assert accepted.method == "editMessageText"
    assert "все согласны" in accepted.text
    assert "Контакт Boris: @boris_tg" in accepted.text
    agreed = _notification(bot, BORIS, "agreed by everyone", after=mark)
    assert "Contact of Anna: @anna_tg" in agreed.text

    # Both confirm the exchange happened.
    mark = bot.telegram.mark()
    bot.press(BORIS, agreed, "We exchanged")
    confirm = _notification(bot, ANNA, "подтверждает, что обмен", after=mark)
    mark = bot.telegram.mark()
    done = bot.press(ANNA, confirm, "Мы обменялись")
    assert "завершён" in done.text
    completed = _notification(bot, BORIS, "is completed", after=mark)

    # And rate each other with stars (Boris with a comment, Anna without).
    stars = bot.press(BORIS, completed, "Rate Anna")
    assert stars.text == "How was the exchange with Anna? Choose from 1 to 5 stars."
    ask_comment = bot.press(BORIS, stars, "⭐⭐⭐⭐⭐")
    assert "Add a short comment" in ask_comment.text
    assert bot.say(BORIS, "Great bike, thanks!").text == "Thank you! Your rating of Anna is saved."
    anna_stars = bot.press(ANNA, done, "Оценить Boris")
    skip = bot.press(ANNA, bot.press(ANNA, anna_stars, "⭐⭐⭐⭐"), "Пропустить")
    assert skip.text == "Спасибо! Ваша оценка для Boris сохранена."

    db.expire_all()
    exchange = db.scalar(select(Exchange))
    assert exchange is not None and exchange.status == "completed"
    anna = db.scalar(select(User).where(User.telegram_id == ANNA.id))
    boris = db.scalar(select(User).where(User.telegram_id == BORIS.id))
    assert anna is not None and boris is not None
    given = {(r.from_user_id, r.to_user_id, r.score, r.comment) for r in db.scalars(select(Rating))}
    assert given == {(boris.id, anna.id, 5, "Great bike, thanks!"), (anna.id, boris.id, 4, None)}
    assert not any(item.active for item in db.scalars(select(Item)))

    # /login: the link signs Boris in to the web UI through the real API.
    link = bot.say(BORIS, "/login").button("Open FreeMarket")["url"]
    code = parse_qs(urlparse(link).query)["code"][0]
    app = create_app(bot.settings, engine=bot.engine)
    with TestClient(app) as client:
        session = client.post("/api/auth/code", json={"code": code})
        assert session.status_code == 200, session.text
        token = session.json()["token"]
        me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["id"] == boris.id and me.json()["language"] == "en"
        again = client.post("/api/auth/code", json={"code": code})
        assert again.status_code == 401  # one time only
